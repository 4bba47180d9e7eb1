/*  sockcache.c - a small LRU of connected PUSH sockets, one per endpoint and
 *  server key. Entries are kept in most-recently-used order, so the steady
 *  state (one successor, one reply-to) is a hit on the first entry; a miss
 *  scans at most `cap` hashed entries.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "sockcache.h"
#include "zap.h"

//  Longer endpoints are refused: nothing legitimate needs more.
#define S_MAX_ENDPOINT 1024

typedef struct {
    uint64_t hash;
    size_t len;
    char *endpoint;              //  NUL-terminated copy
    uint8_t key[BATON_KEY_SIZE]; //  the server's, when the cache has a cert
    void *sock;
} s_entry_t;

struct baton__sockcache {
    void *zctx;
    baton__sockopts_t opts;
    size_t cap;
    size_t count;
    s_entry_t *entries; //  [0] is the most recently used
};

//  FNV-1a of s[0..len), continued from h.
static uint64_t
s_hash (uint64_t h, const void *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= ((const unsigned char *) s)[i];
        h *= 1099511628211ull;
    }
    return h;
}

baton__sockcache_t *
baton__sockcache_new (void *zctx, size_t cap, const baton__sockopts_t *opts)
{
    baton__sockcache_t *self = (baton__sockcache_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->entries = (s_entry_t *) calloc (cap ? cap : 1, sizeof (s_entry_t));
    if (!self->entries) {
        free (self);
        return NULL;
    }
    self->zctx = zctx;
    self->cap = cap ? cap : 1;
    self->opts = *opts;
    return self;
}

static void
s_entry_close (s_entry_t *e)
{
    zmq_close (e->sock);
    free (e->endpoint);
    memset (e, 0, sizeof *e);
}

void
baton__sockcache_destroy (baton__sockcache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton__sockcache_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_entry_close (&self->entries[i]);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

//  Creates a PUSH socket with the cache's options, a CURVE client of the
//  server holding key if there is one, and connects it.
static void *
s_connect (baton__sockcache_t *self, const char *endpoint, const uint8_t *key)
{
    void *sock = zmq_socket (self->zctx, ZMQ_PUSH);
    if (!sock)
        return NULL;
    if (key && baton__curve_client (sock, self->opts.cert, key) != 0) {
        zmq_close (sock);
        return NULL;
    }
    //  IMMEDIATE (successors): queue only to a peer that is connected, so a
    //  send to an absent successor times out (503) instead of waiting in a
    //  pipe forever. Reply-to sockets go without: a reply queues while the
    //  connection is made, rather than being lost to the handshake.
    int immediate = self->opts.immediate ? 1 : 0;
    if (zmq_setsockopt (sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate) ||
        zmq_setsockopt (sock, ZMQ_SNDTIMEO, &self->opts.send_timeout_ms, sizeof (int)) ||
        zmq_setsockopt (sock, ZMQ_SNDHWM, &self->opts.send_hwm, sizeof (int)) ||
        zmq_setsockopt (sock, ZMQ_LINGER, &self->opts.linger_ms, sizeof (int)) ||
        zmq_connect (sock, endpoint)) {
        zmq_close (sock);
        return NULL;
    }
    return sock;
}

void *
baton__sockcache_get (baton__sockcache_t *self, const char *endpoint, size_t len,
                      const uint8_t *key, bool *fresh)
{
    if (fresh)
        *fresh = false;
    if (!endpoint || len == 0 || len > S_MAX_ENDPOINT || memchr (endpoint, '\0', len) ||
        (key != NULL) != (self->opts.cert != NULL))
        return NULL;
    uint64_t hash = s_hash (14695981039346656037ull, endpoint, len);
    if (key)
        hash = s_hash (hash, key, BATON_KEY_SIZE);
    size_t i = 0;
    for (; i < self->count; i++) {
        s_entry_t *e = &self->entries[i];
        if (e->hash == hash && e->len == len && memcmp (e->endpoint, endpoint, len) == 0 &&
            (!key || memcmp (e->key, key, BATON_KEY_SIZE) == 0))
            break;
    }
    s_entry_t hit;
    if (i < self->count)
        hit = self->entries[i];
    else {
        char *copy = (char *) malloc (len + 1);
        if (!copy)
            return NULL;
        memcpy (copy, endpoint, len);
        copy[len] = '\0';
        void *sock = s_connect (self, copy, key);
        if (!sock) {
            free (copy);
            return NULL;
        }
        if (fresh)
            *fresh = true;
        if (self->count == self->cap) //  evict the least recently used
            s_entry_close (&self->entries[--self->count]);
        hit.hash = hash;
        hit.len = len;
        hit.endpoint = copy;
        if (key)
            memcpy (hit.key, key, BATON_KEY_SIZE);
        hit.sock = sock;
        i = self->count++;
    }
    //  Move to the front, keeping the others in order.
    if (i > 0)
        memmove (&self->entries[1], &self->entries[0], i * sizeof (s_entry_t));
    self->entries[0] = hit;
    return hit.sock;
}

size_t
baton__sockcache_count (const baton__sockcache_t *self)
{
    return self->count;
}
