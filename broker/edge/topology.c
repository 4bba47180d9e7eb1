/*  topology.c - fixed tables of replicas per function, the least-outstanding
 *  pick, heartbeat expiry and the states replicas go through.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edge/topology.h"

typedef struct {
    baton_replica_t replicas[BATON_TOPOLOGY_MAX_REPLICAS];
    size_t count;
    size_t next; //  round-robin start
} s_pool_t;

struct baton_topology {
    const baton_config_t *config;
    baton_topology_opts_t opts;
    s_pool_t *pools;
    size_t fn_count;
    baton_replica_change_t *changes; //  a tick's changes, told after all are made
};

const char *
baton_replica_state_name (baton_replica_state_t state)
{
    switch (state) {
    case BATON_REPLICA_ALIVE:
        return "alive";
    case BATON_REPLICA_EJECTED:
        return "ejected";
    case BATON_REPLICA_DEAD:
        return "dead";
    case BATON_REPLICA_DRAINING:
        return "draining";
    case BATON_REPLICA__STATES:
        break;
    }
    return "?";
}

baton_topology_t *
baton_topology_new (const baton_config_t *config, const baton_topology_opts_t *opts)
{
    baton_topology_t *self = (baton_topology_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->config = config;
    self->opts.heartbeat_misses = opts && opts->heartbeat_misses ? opts->heartbeat_misses : 3;
    self->fn_count = baton_config_function_count (config);
    self->pools = (s_pool_t *) calloc (self->fn_count ? self->fn_count : 1, sizeof (s_pool_t));
    self->changes = (baton_replica_change_t *) calloc ((self->fn_count ? self->fn_count : 1) *
                                                           BATON_TOPOLOGY_MAX_REPLICAS,
                                                       sizeof (baton_replica_change_t));
    if (!self->pools || !self->changes)
        abort ();
    for (size_t f = 0; f < self->fn_count; f++) {
        const baton_config_function_t *fn = baton_config_function (config, f);
        s_pool_t *pool = &self->pools[f];
        //  The config allows at most BATON_CONFIG_MAX_ENDPOINTS (= 64) statics.
        for (size_t e = 0; e < fn->endpoint_count && pool->count < BATON_TOPOLOGY_MAX_REPLICAS;
             e++) {
            baton_replica_t *r = &pool->replicas[pool->count++];
            r->function = f;
            snprintf (r->endpoint, sizeof r->endpoint, "%s", fn->endpoints[e]);
            r->is_static = true;
            r->state = BATON_REPLICA_ALIVE;
            if (fn->key) {
                memcpy (r->key, fn->key, BATON_KEY_SIZE);
                r->has_key = true;
            }
        }
    }
    return self;
}

void
baton_topology_destroy (baton_topology_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->pools);
    free ((*self_p)->changes);
    free (*self_p);
    *self_p = NULL;
}

static baton_replica_t *
s_find_endpoint (s_pool_t *pool, const char *endpoint)
{
    for (size_t i = 0; i < pool->count; i++)
        if (strcmp (pool->replicas[i].endpoint, endpoint) == 0)
            return &pool->replicas[i];
    return NULL;
}

//  True if a message for r's instance (msg's) comes from another key than
//  the one that announced it.
static bool
s_other_key (const baton_replica_t *r, const baton_control_msg_t *msg, const uint8_t *key)
{
    return key && r->has_key && strcmp (r->instance, msg->instance) == 0 &&
           memcmp (r->key, key, BATON_KEY_SIZE) != 0;
}

baton_topo_event_t
baton_topology_apply (baton_topology_t *self, const baton_control_msg_t *msg, const uint8_t *key,
                      uint64_t now_ms, baton_replica_t **replica_p)
{
    if (replica_p)
        *replica_p = NULL;
    const baton_config_function_t *fn =
        baton_config_function_find (self->config, msg->function, strlen (msg->function));
    if (!fn)
        return BATON_TOPO_IGNORED;
    s_pool_t *pool = &self->pools[fn->index];
    //  A replica is its endpoint: a restart on the same endpoint (new
    //  instance id) is the same place to send work to.
    baton_replica_t *r = s_find_endpoint (pool, msg->endpoint);
    if (msg->type == BATON_CONTROL_GOODBYE) {
        if (!r || r->state == BATON_REPLICA_DEAD || r->state == BATON_REPLICA_DRAINING ||
            strcmp (r->instance, msg->instance) != 0)
            return BATON_TOPO_IGNORED; //  an old instance's goodbye must not stop a new one
        if (s_other_key (r, msg, key))
            return BATON_TOPO_REFUSED;
        //  It still finishes (and forwards) what it holds: no request through
        //  it is lost, so none is failed; it just takes nothing new.
        r->state = BATON_REPLICA_DRAINING;
        if (replica_p)
            *replica_p = r;
        return BATON_TOPO_REMOVED;
    }
    if (r && s_other_key (r, msg, key))
        return BATON_TOPO_REFUSED;
    baton_topo_event_t ev;
    if (!r) {
        //  Reuse the slot of a dead announced replica if the pool is full.
        if (pool->count < BATON_TOPOLOGY_MAX_REPLICAS)
            r = &pool->replicas[pool->count++];
        else {
            for (size_t i = 0; i < pool->count && !r; i++)
                if (pool->replicas[i].state == BATON_REPLICA_DEAD && !pool->replicas[i].is_static &&
                    pool->replicas[i].outstanding == 0)
                    r = &pool->replicas[i];
            if (!r)
                return BATON_TOPO_FULL;
        }
        memset (r, 0, sizeof *r);
        r->function = fn->index;
        snprintf (r->endpoint, sizeof r->endpoint, "%s", msg->endpoint);
        ev = BATON_TOPO_ADDED;
    } else if (r->state == BATON_REPLICA_DEAD || strcmp (r->instance, msg->instance) != 0) {
        //  Back from the dead, or restarted (a static replica's first word
        //  too): a clean slate, whatever ejection it had.
        ev = BATON_TOPO_REVIVED;
    } else
        ev = BATON_TOPO_REFRESHED;
    if (ev != BATON_TOPO_REFRESHED)
        r->state = BATON_REPLICA_ALIVE;
    snprintf (r->instance, sizeof r->instance, "%s", msg->instance);
    snprintf (r->version, sizeof r->version, "%s", msg->version);
    snprintf (r->host, sizeof r->host, "%s", msg->host);
    r->pid = msg->pid;
    r->interval_ms = msg->interval_ms;
    r->last_seen_ms = now_ms;
    if (key) {
        memcpy (r->key, key, BATON_KEY_SIZE);
        r->has_key = true;
    }
    if (replica_p)
        *replica_p = r;
    return ev;
}

size_t
baton_topology_tick (baton_topology_t *self, uint64_t now_ms, baton_replica_change_fn on_change,
                     void *arg)
{
    //  Every replica found dead is marked before any is told: a request sent
    //  again because of one never goes to another this tick takes out (a
    //  host that goes away takes all its replicas at once).
    size_t changed = 0;
    for (size_t f = 0; f < self->fn_count; f++) {
        s_pool_t *pool = &self->pools[f];
        for (size_t i = 0; i < pool->count; i++) {
            baton_replica_t *r = &pool->replicas[i];
            if (r->state != BATON_REPLICA_DEAD && r->interval_ms &&
                now_ms - r->last_seen_ms > r->interval_ms * self->opts.heartbeat_misses)
                baton_topology_set_state (r, BATON_REPLICA_DEAD, &self->changes[changed++]);
        }
    }
    baton_topology_tell (self->changes, changed, on_change, arg);
    return changed;
}

void
baton_topology_tell (const baton_replica_change_t *changes, size_t n,
                     baton_replica_change_fn on_change, void *arg)
{
    for (size_t i = 0; on_change && i < n; i++)
        on_change (changes[i].replica, changes[i].before, arg);
}

size_t
baton_topology_capacity (const baton_topology_t *self)
{
    return (self->fn_count ? self->fn_count : 1) * BATON_TOPOLOGY_MAX_REPLICAS;
}

bool
baton_topology_set_state (baton_replica_t *r, baton_replica_state_t state,
                          baton_replica_change_t *change)
{
    baton_replica_state_t before = r->state;
    if (before == state)
        return false;
    r->state = state;
    if (state == BATON_REPLICA_EJECTED)
        r->ejections++;
    //  Only a static replica is probed while dead: answering a probe, it is
    //  watched by its heartbeats again once it sends one.
    if (state == BATON_REPLICA_ALIVE && before == BATON_REPLICA_DEAD)
        r->interval_ms = 0;
    *change = (baton_replica_change_t){r, before};
    return true;
}

bool
baton_topology_has_alive (const baton_topology_t *self, size_t fn)
{
    for (size_t i = 0; fn < self->fn_count && i < self->pools[fn].count; i++)
        if (self->pools[fn].replicas[i].state == BATON_REPLICA_ALIVE)
            return true;
    return false;
}

baton_replica_t *
baton_topology_pick (baton_topology_t *self, size_t fn)
{
    return baton_topology_pick_except (self, fn, NULL, 0);
}

static bool
s_skipped (const baton_replica_t *r, baton_replica_t *const *skip, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (skip[i] == r)
            return true;
    return false;
}

//  The pick among fn's alive replicas not in skip and, with host, not on
//  that host.
static baton_replica_t *
s_pick (baton_topology_t *self, size_t fn, baton_replica_t *const *skip, size_t n, const char *host)
{
    if (fn >= self->fn_count)
        return NULL;
    s_pool_t *pool = &self->pools[fn];
    baton_replica_t *best = NULL;
    size_t best_at = 0;
    for (size_t k = 0; k < pool->count; k++) {
        size_t i = (pool->next + k) % pool->count;
        baton_replica_t *r = &pool->replicas[i];
        if (r->state != BATON_REPLICA_ALIVE || s_skipped (r, skip, n) ||
            (host && strcmp (r->host, host) == 0))
            continue;
        if (!best || r->outstanding < best->outstanding) {
            best = r;
            best_at = i;
        }
    }
    if (best)
        pool->next = (best_at + 1) % pool->count;
    return best;
}

baton_replica_t *
baton_topology_pick_except (baton_topology_t *self, size_t fn, baton_replica_t *const *skip,
                            size_t n)
{
    return s_pick (self, fn, skip, n, NULL);
}

baton_replica_t *
baton_topology_pick_away (baton_topology_t *self, size_t fn, baton_replica_t *failed)
{
    baton_replica_t *r = NULL;
    if (failed && failed->host[0])
        r = s_pick (self, fn, &failed, 1, failed->host);
    return r ? r : s_pick (self, fn, &failed, failed ? 1 : 0, NULL);
}

void
baton_topology_acquire (baton_replica_t *r)
{
    r->outstanding++;
    r->routed++;
}

void
baton_topology_abandon (baton_replica_t *r)
{
    baton_topology_release (r);
    if (r->routed)
        r->routed--;
}

void
baton_topology_release (baton_replica_t *r)
{
    if (r->outstanding)
        r->outstanding--;
}

size_t
baton_topology_count (const baton_topology_t *self, size_t fn)
{
    return fn < self->fn_count ? self->pools[fn].count : 0;
}

baton_replica_t *
baton_topology_at (baton_topology_t *self, size_t fn, size_t i)
{
    if (fn >= self->fn_count || i >= self->pools[fn].count)
        return NULL;
    return &self->pools[fn].replicas[i];
}

void
baton_topology_log (const baton_topology_t *self, const baton_replica_t *r, const char *what,
                    baton_log_level_t level)
{
    const baton_config_function_t *fn = baton_config_function (self->config, r->function);
    char ep[300];
    baton__log (level, "gateway", what, "fn=%s endpoint=%s instance=%s pid=%" PRIu64 " host=%s",
                fn->name, baton__log_quote (ep, sizeof ep, r->endpoint, strlen (r->endpoint)),
                r->instance[0] ? r->instance : "static", r->pid, r->host[0] ? r->host : "-");
}
