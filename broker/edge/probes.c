/*  probes.c - one probe in flight per replica at most, its id kept in the
 *  replica; the tick of the gateway's topology timer sends and times them
 *  out, the reply socket hands their answers back.  */
#include <stdlib.h>
#include <string.h>
#include "edge/probes.h"

struct baton_probes {
    baton_topology_t *topo;
    baton_dispatch_t *dispatch;
    baton_pending_t *pending;
    baton_metrics_t *metrics;
    baton_replica_change_fn on_change;
    void *arg;
    baton_replica_change_t *changes; //  a tick's, told once all are made
    size_t nchanges;
};

baton_probes_t *
baton_probes_new (baton_topology_t *topo, baton_dispatch_t *dispatch, baton_pending_t *pending,
                  baton_metrics_t *metrics, baton_replica_change_fn on_change, void *arg)
{
    baton_probes_t *self = (baton_probes_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->topo = topo;
    self->dispatch = dispatch;
    self->pending = pending;
    self->metrics = metrics;
    self->on_change = on_change;
    self->arg = arg;
    self->changes = (baton_replica_change_t *) calloc (baton_topology_capacity (topo),
                                                       sizeof (baton_replica_change_t));
    if (!self->changes)
        abort ();
    return self;
}

void
baton_probes_destroy (baton_probes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->changes);
    free (*self_p);
    *self_p = NULL;
}

//  The probe of r ended at now_ms: answered (ok) or not. A failure ejects
//  an alive replica; an answer brings an ejected or dead one back. The
//  change is told by s_tell ().
static void
s_outcome (baton_probes_t *self, baton_replica_t *r, bool ok, uint64_t now_ms)
{
    r->probe_in_flight = false;
    r->last_probe_ms = now_ms;
    r->last_probe_ok = ok;
    if (ok)
        r->probes_ok++;
    else
        r->probes_failed++;
    baton_metrics_probe (self->metrics, ok);
    baton_replica_change_t *change = &self->changes[self->nchanges];
    if (ok && (r->state == BATON_REPLICA_EJECTED || r->state == BATON_REPLICA_DEAD))
        self->nchanges += baton_topology_set_state (r, BATON_REPLICA_ALIVE, change);
    else if (!ok && r->state == BATON_REPLICA_ALIVE)
        self->nchanges += baton_topology_set_state (r, BATON_REPLICA_EJECTED, change);
}

//  Tells the changes made since the last time: all at once, so a request
//  sent again because of one never goes to another just taken out.
static void
s_tell (baton_probes_t *self)
{
    size_t n = self->nchanges;
    self->nchanges = 0;
    baton_topology_tell (self->changes, n, self->on_change, self->arg);
}

static void
s_send (baton_probes_t *self, baton_replica_t *r, uint64_t now_ms)
{
    char id[BATON_PENDING_OTHER_ID_MAX + 1];
    size_t len = baton_pending_other_id (self->pending, id);
    r->probe_watch = !r->probe_wanted && r->state == BATON_REPLICA_ALIVE;
    r->probe_wanted = false;
    const baton_config_gateway_t *g = baton_config_gateway (baton_topology_config (self->topo));
    r->probe_due_ms = now_ms + g->probe_interval_ms;
    int rc = len > BATON_TOPOLOGY_PROBE_ID_MAX
                 ? -1
                 : baton_dispatch_probe (self->dispatch, r, id, len, g->probe_timeout_ms);
    if (rc > 0)
        return; //  still connecting: no verdict yet
    if (rc < 0) {
        s_outcome (self, r, false, now_ms);
        return;
    }
    memcpy (r->probe_id, id, len + 1);
    r->probe_in_flight = true;
    r->probe_late = false;
    r->probe_sent_ms = now_ms;
}

void
baton_probes_tick (baton_probes_t *self, uint64_t now_ms)
{
    //  The config in force: a reload may have added or moved functions.
    const baton_config_t *config = baton_topology_config (self->topo);
    for (size_t f = 0; f < baton_config_function_count (config); f++)
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++) {
            baton_replica_t *r = baton_topology_at (self->topo, f, i);
            if (r->probe_in_flight) {
                if (now_ms - r->probe_sent_ms < baton_config_gateway (config)->probe_timeout_ms)
                    continue;
                if (r->probe_watch) {
                    r->probe_in_flight = false; //  late, not failed
                    r->probe_late = true;
                } else
                    s_outcome (self, r, false, now_ms);
                //  A replica that a request through it timed out on is
                //  probed again at once, whatever this probe was for.
                if (!r->probe_wanted)
                    continue;
            }
            //  Probed every interval: an ejected replica, and a static one
            //  not watched by heartbeats (it sends none, or they stopped),
            //  alive or dead, so its death or return is known within a
            //  second. A dead announced replica comes back by its heartbeats.
            bool periodic =
                r->state == BATON_REPLICA_EJECTED ||
                (r->is_static && (r->state == BATON_REPLICA_DEAD ||
                                  (r->state == BATON_REPLICA_ALIVE && !r->interval_ms)));
            if ((r->probe_wanted && r->state == BATON_REPLICA_ALIVE) ||
                (periodic && now_ms >= r->probe_due_ms))
                s_send (self, r, now_ms);
        }
    s_tell (self);
}

bool
baton_probes_reply (baton_probes_t *self, baton_slice_t id, unsigned status,
                    const baton_peer_t *peer, uint64_t now_ms)
{
    if (id.len == 0 || id.len > BATON_TOPOLOGY_PROBE_ID_MAX)
        return false;
    const baton_config_t *config = baton_topology_config (self->topo);
    for (size_t f = 0; f < baton_config_function_count (config); f++)
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++) {
            baton_replica_t *r = baton_topology_at (self->topo, f, i);
            if (!(r->probe_in_flight || r->probe_late) || strlen (r->probe_id) != id.len ||
                memcmp (r->probe_id, id.ptr, id.len) != 0)
                continue;
            const char *name = baton_config_function (config, f)->name;
            if (peer && (peer->role != BATON_ROLE_FUNCTION || strlen (name) != peer->name_len ||
                         memcmp (name, peer->name, peer->name_len) != 0))
                return false;
            if (r->probe_late) {
                r->probe_late = false; //  the answer to a routine probe, after its time
                return true;
            }
            //  A hop answers 504 to a probe that reached it past its
            //  deadline: a routine probe that waited behind a long request.
            //  Late, as if the tick had timed it out first; which of the two
            //  comes first is a race a loaded machine loses.
            if (status == 504 && r->probe_watch) {
                r->probe_in_flight = false;
                return true;
            }
            s_outcome (self, r, status < 500, now_ms);
            s_tell (self);
            return true;
        }
    return false;
}
