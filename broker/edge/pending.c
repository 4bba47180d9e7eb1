/*  pending.c - the pending table: a hash of exchanges by sequence number,
 *  chained through the exchanges themselves, sized once for the in-flight
 *  cap; and the deadline of each request waiting for its reply.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "edge/pending.h"

struct baton_pending {
    baton_exchange_t **slots;
    size_t mask;
    uint64_t count;
    uint64_t seq;
    char tag[9]; //  random per instance: ids are "<tag>-<seq>"
    baton_topology_t *topo;
    baton_metrics_t *metrics;
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

size_t
baton_pending_assign (baton_pending_t *self, baton_exchange_t *x, char id[32])
{
    x->seq = ++self->seq;
    memcpy (id, self->tag, 8);
    id[8] = '-';
    size_t n = 9;
    char digits[20];
    size_t d = 0;
    for (uint64_t v = x->seq; v || !d; v /= 10)
        digits[d++] = (char) ('0' + v % 10);
    while (d)
        id[n++] = digits[--d];
    return n;
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
baton_pending_find (baton_pending_t *self, baton_slice_t id)
{
    uint64_t seq = 0;
    bool ok = id.len > 9 && id.len < 30 && memcmp (id.ptr, self->tag, 8) == 0 && id.ptr[8] == '-';
    for (size_t i = 9; ok && i < id.len; i++) {
        ok = id.ptr[i] >= '0' && id.ptr[i] <= '9';
        seq = seq * 10 + (uint64_t) (id.ptr[i] - '0');
    }
    if (!ok)
        return NULL;
    for (baton_exchange_t *x = self->slots[s_slot (self, seq)]; x; x = x->next)
        if (x->seq == seq)
            return x;
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
