/*  pending.c - the pending table: a hash of exchanges by sequence number,
 *  chained through the exchanges themselves, sized once for the in-flight
 *  cap; and the deadline of each request waiting for its reply.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "clock.h"
#include "edge/pending.h"

//  Bytes taken from getrandom () at once: up to 256, a read that a signal
//  never cuts short.
#define S_POOL 256
//  Attempts superseded by a retry that are remembered, to tell a late reply
//  to one of them from any other.
#define S_RETIRED 256

struct baton_pending {
    baton_exchange_t **slots;
    baton_exchange_t *all; //  every exchange in the table
    size_t mask;
    uint64_t count;
    uint64_t seq;
    uint64_t other_seq; //  of ids that are not requests'
    char tag[9];        //  random per instance: ids are "<tag>-<seq><nonce>"
    baton_metrics_t *metrics;
    unsigned char pool[S_POOL]; //  random bytes not used yet: pool[used..S_POOL)
    size_t used;
    uint64_t retired[S_RETIRED]; //  sequence numbers of superseded attempts (a ring)
    size_t retired_next;
};

baton_pending_t *
baton_pending_new (uint32_t max_inflight, uint32_t tag, baton_metrics_t *metrics)
{
    baton_pending_t *self = (baton_pending_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    size_t slots = 1024;
    while (slots < (size_t) max_inflight * 2 && slots < (1u << 24))
        slots *= 2;
    self->slots = (baton_exchange_t **) calloc (slots, sizeof (baton_exchange_t *));
    if (!self->slots)
        abort ();
    self->mask = slots - 1;
    snprintf (self->tag, sizeof self->tag, "%08" PRIx32, tag);
    self->used = S_POOL;
    self->metrics = metrics;
    return self;
}

void
baton_pending_destroy (baton_pending_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->slots);
    free (*self_p);
    *self_p = NULL;
}

const char *
baton_pending_tag (const baton_pending_t *self)
{
    return self->tag;
}

uint64_t
baton_pending_count (const baton_pending_t *self)
{
    return self->count;
}

static size_t
s_slot (const baton_pending_t *self, uint64_t seq)
{
    return (size_t) (seq * 0x9E3779B97F4A7C15ull >> 20) & self->mask;
}

//  Two uniform random decimal digits as a number below 100, from the
//  kernel's CSPRNG. Bytes of 200 and above are skipped, so each pair is
//  exactly as likely: a byte gives two digits, where one per byte took 30
//  calls and a refill every 8 ids.
static unsigned
s_random_pair (baton_pending_t *self)
{
    for (;;) {
        if (self->used == S_POOL) {
            if (getrandom (self->pool, S_POOL, 0) != S_POOL) {
                //  Only on a kernel without getrandom (), which the gateway
                //  refuses at start: ids would be guessable.
                fputs ("baton: getrandom () failed: no unguessable request ids\n", stderr);
                abort ();
            }
            self->used = 0;
        }
        unsigned char b = self->pool[self->used++];
        if (b < 200)
            return b < 100 ? b : b - 100u;
    }
}

//  Writes "<tag>-<prefix><seq><nonce>" into id; returns its length.
static size_t
s_id (baton_pending_t *self, const char *prefix, uint64_t seq, char *id)
{
    memcpy (id, self->tag, 8);
    id[8] = '-';
    size_t n = 9;
    for (; *prefix; prefix++)
        id[n++] = *prefix;
    char digits[20];
    size_t d = 0;
    for (uint64_t v = seq; v || !d; v /= 10)
        digits[d++] = (char) ('0' + v % 10);
    while (d)
        id[n++] = digits[--d];
    //  "00" to "99", two characters each: no division per digit.
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    for (int i = 0; i + 1 < BATON_PENDING_NONCE_LEN; i += 2, n += 2)
        memcpy (id + n, pairs + 2 * s_random_pair (self), 2);
    if (BATON_PENDING_NONCE_LEN % 2)
        id[n++] = pairs[2 * s_random_pair (self)];
    id[n] = '\0';
    return n;
}

void
baton_pending_assign (baton_pending_t *self, baton_exchange_t *x)
{
    x->seq = ++self->seq;
    x->id_len = s_id (self, "", x->seq, x->id);
}

size_t
baton_pending_other_id (baton_pending_t *self, char id[BATON_PENDING_OTHER_ID_MAX + 1])
{
    return s_id (self, "p", ++self->other_seq, id);
}

void
baton_pending_add (baton_pending_t *self, baton_exchange_t *x)
{
    size_t i = s_slot (self, x->seq);
    x->next = self->slots[i];
    self->slots[i] = x;
    x->all_prev = NULL;
    x->all_next = self->all;
    if (self->all)
        self->all->all_prev = x;
    self->all = x;
    x->state = BATON_EXCHANGE_SENDING;
    self->count++;
}

//  True if seq is an attempt superseded by a retry, not long ago.
static bool
s_retired (const baton_pending_t *self, uint64_t seq)
{
    for (size_t i = 0; i < S_RETIRED; i++)
        if (self->retired[i] == seq)
            return true;
    return false;
}

baton_exchange_t *
baton_pending_find (baton_pending_t *self, baton_slice_t id, baton_pending_miss_t *why)
{
    baton_pending_miss_t miss = BATON_PENDING_UNKNOWN;
    if (!why)
        why = &miss;
    *why = BATON_PENDING_UNKNOWN;
    //  "<tag>-" then the sequence number (1 to 20 digits) then the nonce.
    size_t digits = id.len > 9 ? id.len - 9 : 0;
    if (digits <= BATON_PENDING_NONCE_LEN || digits > 20 + BATON_PENDING_NONCE_LEN ||
        memcmp (id.ptr, self->tag, 8) != 0 || id.ptr[8] != '-')
        return NULL;
    for (size_t i = 9; i < id.len; i++)
        if (id.ptr[i] < '0' || id.ptr[i] > '9')
            return NULL;
    uint64_t seq = 0;
    for (size_t i = 9; i < id.len - BATON_PENDING_NONCE_LEN; i++) {
        unsigned d = (unsigned) (id.ptr[i] - '0');
        if (seq > (UINT64_MAX - d) / 10)
            return NULL;
        seq = seq * 10 + d;
    }
    baton_exchange_t *x = self->slots[s_slot (self, seq)];
    while (x && x->seq != seq)
        x = x->next;
    if (!x) {
        if (seq && s_retired (self, seq))
            *why = BATON_PENDING_RETRIED;
        return NULL;
    }
    //  Every byte compared, whatever the first difference: the time taken
    //  tells a guesser nothing.
    unsigned char diff = (unsigned char) (x->id_len ^ id.len);
    for (size_t i = 0; i < id.len && i < x->id_len; i++)
        diff |= (unsigned char) (x->id[i] ^ id.ptr[i]);
    if (diff == 0)
        return x;
    *why = BATON_PENDING_FORGED;
    return NULL;
}

//  Takes x out of the table (if there) and gives back its replicas.
static void
s_remove (baton_pending_t *self, baton_exchange_t *x)
{
    if (x->state != BATON_EXCHANGE_IDLE) {
        for (baton_exchange_t **p = &self->slots[s_slot (self, x->seq)]; *p; p = &(*p)->next)
            if (*p == x) {
                *p = x->next;
                x->next = NULL;
                self->count--;
                break;
            }
        if (x->all_prev)
            x->all_prev->all_next = x->all_next;
        else
            self->all = x->all_next;
        if (x->all_next)
            x->all_next->all_prev = x->all_prev;
        x->all_prev = x->all_next = NULL;
        x->state = BATON_EXCHANGE_IDLE;
    }
    for (size_t i = 0; i < x->hop_count; i++)
        baton_topology_release (x->hops[i]);
    x->hop_count = 0;
}

void
baton_pending_done (baton_pending_t *self, baton_exchange_t *x)
{
    s_remove (self, x);
    baton_envelope_destroy (&x->env);
}

void
baton_pending_supersede (baton_pending_t *self, baton_exchange_t *x)
{
    s_remove (self, x);
    self->retired[self->retired_next] = x->seq;
    self->retired_next = (self->retired_next + 1) % S_RETIRED;
}

size_t
baton_pending_through (const baton_pending_t *self, const baton_replica_t *r,
                       baton_exchange_t **out, size_t cap)
{
    size_t n = 0;
    for (baton_exchange_t *x = self->all; x && n < cap; x = x->all_next)
        for (size_t i = 0; i < x->hop_count; i++)
            if (x->hops[i] == r) {
                out[n++] = x;
                break;
            }
    return n;
}

void
baton_pending_wait (baton_pending_t *self, baton_exchange_t *x)
{
    (void) self;
    x->state = BATON_EXCHANGE_WAITING;
    uint64_t now = baton_topology_now_ms ();
    baton_conn_timer (x->conn, x->deadline_ms > now ? x->deadline_ms - now : 0);
}

void
baton_pending_expire (baton_pending_t *self, baton_exchange_t *x)
{
    uint64_t now = baton_topology_now_ms ();
    if (now < x->deadline_ms) {
        baton_conn_timer (x->conn, x->deadline_ms - now); //  a 504 never comes before the deadline
        return;
    }
    //  Which hop stalled is unknown: each is probed, and only one whose
    //  probe fails is ejected.
    for (size_t i = 0; i < x->hop_count; i++)
        x->hops[i]->probe_wanted = true;
    baton_pending_done (self, x);
    baton_metrics_timeout (self->metrics);
    char detail[160];
    snprintf (detail, sizeof detail, "no reply from the chain within %" PRIu64 " ms",
              x->route->deadline_ms);
    baton_conn_respond_error (x->conn, 504, detail, false, NULL);
}

void
baton_pending_forget (baton_pending_t *self, baton_exchange_t *x)
{
    if (x->state == BATON_EXCHANGE_IDLE)
        return;
    baton_pending_done (self, x);
    baton_metrics_client_gone (self->metrics);
}
