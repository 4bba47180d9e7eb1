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

struct baton_pending {
    baton_exchange_t **slots;
    size_t mask;
    uint64_t count;
    uint64_t seq;
    char tag[9]; //  random per instance: ids are "<tag>-<seq><nonce>"
    baton_topology_t *topo;
    baton_metrics_t *metrics;
    unsigned char pool[S_POOL]; //  random bytes not used yet: pool[used..S_POOL)
    size_t used;
};

baton_pending_t *
baton_pending_new (uint32_t max_inflight, uint32_t tag, baton_topology_t *topo,
                   baton_metrics_t *metrics)
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
    self->topo = topo;
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

//  One uniform random decimal digit, from the kernel's CSPRNG. Bytes of 250
//  and above are skipped, so each digit is exactly as likely.
static char
s_random_digit (baton_pending_t *self)
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
        if (b < 250)
            return (char) ('0' + b % 10);
    }
}

void
baton_pending_assign (baton_pending_t *self, baton_exchange_t *x)
{
    x->seq = ++self->seq;
    memcpy (x->id, self->tag, 8);
    x->id[8] = '-';
    size_t n = 9;
    char digits[20];
    size_t d = 0;
    for (uint64_t v = x->seq; v || !d; v /= 10)
        digits[d++] = (char) ('0' + v % 10);
    while (d)
        x->id[n++] = digits[--d];
    for (int i = 0; i < BATON_PENDING_NONCE_LEN; i++)
        x->id[n++] = s_random_digit (self);
    x->id[n] = '\0';
    x->id_len = n;
}

void
baton_pending_add (baton_pending_t *self, baton_exchange_t *x)
{
    size_t i = s_slot (self, x->seq);
    x->next = self->slots[i];
    self->slots[i] = x;
    x->state = BATON_EXCHANGE_SENDING;
    self->count++;
}

baton_exchange_t *
baton_pending_find (baton_pending_t *self, baton_slice_t id, bool *forged)
{
    if (forged)
        *forged = false;
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
    if (!x)
        return NULL;
    //  Every byte compared, whatever the first difference: the time taken
    //  tells a guesser nothing.
    unsigned char diff = (unsigned char) (x->id_len ^ id.len);
    for (size_t i = 0; i < id.len && i < x->id_len; i++)
        diff |= (unsigned char) (x->id[i] ^ id.ptr[i]);
    if (diff == 0)
        return x;
    if (forged)
        *forged = true;
    return NULL;
}

void
baton_pending_done (baton_pending_t *self, baton_exchange_t *x, bool timed_out)
{
    if (x->state != BATON_EXCHANGE_IDLE) {
        for (baton_exchange_t **p = &self->slots[s_slot (self, x->seq)]; *p; p = &(*p)->next)
            if (*p == x) {
                *p = x->next;
                x->next = NULL;
                self->count--;
                break;
            }
        x->state = BATON_EXCHANGE_IDLE;
    }
    uint64_t now = baton_topology_now_ms ();
    for (size_t i = 0; i < x->hop_count; i++) {
        baton_replica_t *r = x->hops[i];
        baton_replica_state_t before = r->state;
        baton_topology_release (self->topo, r, timed_out, now);
        if (before != BATON_REPLICA_EJECTED && r->state == BATON_REPLICA_EJECTED)
            baton_topology_log (self->topo, r, "replica ejected (requests through it time out)",
                                BATON_LOG_WARN);
    }
    x->hop_count = 0;
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
    baton_pending_done (self, x, true);
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
    baton_pending_done (self, x, false);
    baton_metrics_client_gone (self->metrics);
}
