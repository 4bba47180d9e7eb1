/*  sockcache.c - a small LRU of connected PUSH sockets, one per endpoint and
 *  server key, each with what its last send said of its peer. Entries are
 *  kept in most-recently-used order, so the steady state (one successor, one
 *  reply-to) is a hit on the first entry; a miss scans at most `cap` hashed
 *  entries.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "clock.h"
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
    uint64_t down_until_us; //  monotonic; 0: not down
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

//  The hash of an entry for endpoint and key (NULL: none).
static uint64_t
s_entry_hash (const char *endpoint, size_t len, const uint8_t *key)
{
    uint64_t hash = s_hash (14695981039346656037ull, endpoint, len);
    return key ? s_hash (hash, key, BATON_KEY_SIZE) : hash;
}

//  True if e is the entry for endpoint and key (NULL: none).
static inline bool
s_is (const s_entry_t *e, const char *endpoint, size_t len, const uint8_t *key)
{
    return e->len == len && memcmp (e->endpoint, endpoint, len) == 0 &&
           (!key || memcmp (e->key, key, BATON_KEY_SIZE) == 0);
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

void
baton__sockcache_watch (void *sock)
{
    //  A PING every 250 ms; no traffic for a second drops the connection.
    //  A connect that does not complete in 500 ms is tried again.
    int beat = 250, beat_timeout = 1000, connect_timeout = 500;
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_IVL, &beat, sizeof beat);
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_TIMEOUT, &beat_timeout, sizeof beat_timeout);
    zmq_setsockopt (sock, ZMQ_CONNECT_TIMEOUT, &connect_timeout, sizeof connect_timeout);
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
        zmq_setsockopt (sock, ZMQ_LINGER, &self->opts.linger_ms, sizeof (int))) {
        zmq_close (sock);
        return NULL;
    }
    baton__sockcache_watch (sock);
    if (zmq_connect (sock, endpoint)) {
        zmq_close (sock);
        return NULL;
    }
    return sock;
}

void *
baton__sockcache_get (baton__sockcache_t *self, const char *endpoint, size_t len,
                      const uint8_t *key, baton__peer_state_t *state)
{
    *state = BATON__PEER_UP;
    if (!endpoint || len == 0 || len > S_MAX_ENDPOINT || (key != NULL) != (self->opts.cert != NULL))
        return NULL;
    //  The steady state: the same peer as the last send, found without
    //  hashing. A stored endpoint has no NUL, so neither has one it equals.
    size_t i = 0;
    uint64_t hash = 0;
    if (!(self->count && s_is (&self->entries[0], endpoint, len, key))) {
        if (memchr (endpoint, '\0', len))
            return NULL;
        hash = s_entry_hash (endpoint, len, key);
        for (i = 1; i < self->count; i++)
            if (self->entries[i].hash == hash && s_is (&self->entries[i], endpoint, len, key))
                break;
    }
    s_entry_t hit;
    if (i < self->count) {
        hit = self->entries[i];
        if (hit.down_until_us && baton__mono_us () < hit.down_until_us)
            *state = BATON__PEER_DOWN;
        if (i == 0)
            return hit.sock;
    } else {
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
        *state = BATON__PEER_FRESH;
        if (self->count == self->cap) //  evict the least recently used
            s_entry_close (&self->entries[--self->count]);
        hit.hash = hash;
        hit.len = len;
        hit.endpoint = copy;
        if (key)
            memcpy (hit.key, key, BATON_KEY_SIZE);
        hit.sock = sock;
        hit.down_until_us = 0;
        i = self->count++;
    }
    //  Move to the front, keeping the others in order.
    if (i > 0)
        memmove (&self->entries[1], &self->entries[0], i * sizeof (s_entry_t));
    self->entries[0] = hit;
    return hit.sock;
}

void
baton__sockcache_mark (baton__sockcache_t *self, bool down)
{
    if (self->count)
        self->entries[0].down_until_us = down ? baton__mono_us () + BATON__PEER_DOWN_MS * 1000u : 0;
}

size_t
baton__sockcache_count (const baton__sockcache_t *self)
{
    return self->count;
}
