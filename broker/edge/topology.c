/*  topology.c - tables of replicas per function, the weighted
 *  least-outstanding pick (by version and zone when they apply), heartbeat
 *  expiry, the states replicas go through, and the remap to a reloaded
 *  config.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edge/topology.h"

typedef struct {
    const baton_config_function_t *fn; //  its entry in the config in force
    baton_replica_t *replicas[BATON_TOPOLOGY_MAX_REPLICAS];
    size_t count;
    size_t next;              //  round-robin start
    uint64_t cross_zone_hops; //  baton_topology_cross_zone_hops ()
} s_pool_t;

struct baton_topology {
    const baton_config_t *config;
    baton_topology_opts_t opts;
    s_pool_t **pools; //  one per function of config, by index
    size_t fn_count;
    char zone[BATON_CONFIG_MAX_LABEL + 1]; //  gateway.zone; "" if none
    uint64_t spill_at;                     //  gateway.zone_spill_at
    baton_replica_change_t *changes;       //  a tick's changes, told after all are made
    //  Replicas a reload took out of the pools, freed once none is held.
    baton_replica_t **removed;
    size_t removed_count, removed_cap;
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

//  p, or an abort when memory ran out.
static void *
s_must (void *p)
{
    if (!p)
        abort ();
    return p;
}

//  A new replica of pool's function, in its next place (the caller checked
//  there is one), zeroed but for its function and weight.
static baton_replica_t *
s_add (s_pool_t *pool)
{
    baton_replica_t *r = (baton_replica_t *) s_must (calloc (1, sizeof *r));
    r->function = pool->fn->index;
    snprintf (r->function_name, sizeof r->function_name, "%s", pool->fn->name);
    r->weight = BATON_TOPOLOGY_WEIGHT;
    pool->replicas[pool->count++] = r;
    return r;
}

//  What fn's static entry for endpoint declares, or NULL.
static const baton_config_placement_t *
s_placement (const baton_config_function_t *fn, const char *endpoint)
{
    for (size_t e = 0; fn->placements && e < fn->endpoint_count; e++)
        if (strcmp (fn->endpoints[e], endpoint) == 0)
            return &fn->placements[e];
    return NULL;
}

//  Sets r's version and zone: what it announced (NULL, or "": nothing),
//  else what its static entry of fn declares (fn NULL: none).
static void
s_place (baton_replica_t *r, const char *version, const char *zone,
         const baton_config_function_t *fn)
{
    const baton_config_placement_t *p = fn ? s_placement (fn, r->endpoint) : NULL;
    snprintf (r->version, sizeof r->version, "%s",
              version && version[0] ? version
              : p                   ? p->version
                                    : "");
    snprintf (r->zone, sizeof r->zone, "%s", zone && zone[0] ? zone : p ? p->zone : "");
}

//  Makes r a static replica of its function as fn (its entry) declares it.
static void
s_make_static (baton_replica_t *r, const baton_config_function_t *fn)
{
    r->is_static = true;
    if (fn->key) {
        memcpy (r->key, fn->key, BATON_KEY_SIZE);
        r->has_key = true;
    }
}

//  A pool for fn with its static endpoints as alive replicas.
static s_pool_t *
s_pool_new (const baton_config_function_t *fn)
{
    s_pool_t *pool = (s_pool_t *) s_must (calloc (1, sizeof *pool));
    pool->fn = fn;
    //  The config allows at most BATON_CONFIG_MAX_ENDPOINTS (= 64) statics.
    for (size_t e = 0; e < fn->endpoint_count && pool->count < BATON_TOPOLOGY_MAX_REPLICAS; e++) {
        baton_replica_t *r = s_add (pool);
        snprintf (r->endpoint, sizeof r->endpoint, "%s", fn->endpoints[e]);
        s_make_static (r, fn);
        s_place (r, NULL, NULL, fn);
        r->state = BATON_REPLICA_ALIVE;
    }
    return pool;
}

//  Takes opts, and the zone settings of config.
static void
s_set_opts (baton_topology_t *self, const baton_config_t *config, const baton_topology_opts_t *opts)
{
    const baton_config_gateway_t *g = baton_config_gateway (config);
    self->opts.heartbeat_misses = opts && opts->heartbeat_misses ? opts->heartbeat_misses : 3;
    snprintf (self->zone, sizeof self->zone, "%s", g->zone ? g->zone : "");
    self->spill_at = g->zone_spill_at;
}

baton_topology_t *
baton_topology_new (const baton_config_t *config, const baton_topology_opts_t *opts)
{
    baton_topology_t *self = (baton_topology_t *) s_must (calloc (1, sizeof *self));
    self->config = config;
    s_set_opts (self, config, opts);
    self->fn_count = baton_config_function_count (config);
    self->pools =
        (s_pool_t **) s_must (calloc (self->fn_count ? self->fn_count : 1, sizeof (s_pool_t *)));
    for (size_t f = 0; f < self->fn_count; f++)
        self->pools[f] = s_pool_new (baton_config_function (config, f));
    self->changes = (baton_replica_change_t *) s_must (
        calloc (baton_topology_capacity (self), sizeof (baton_replica_change_t)));
    return self;
}

static void
s_pool_destroy (s_pool_t **pool_p)
{
    for (size_t i = 0; i < (*pool_p)->count; i++)
        free ((*pool_p)->replicas[i]);
    free (*pool_p);
    *pool_p = NULL;
}

void
baton_topology_destroy (baton_topology_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_topology_t *self = *self_p;
    for (size_t f = 0; f < self->fn_count; f++)
        s_pool_destroy (&self->pools[f]);
    for (size_t i = 0; i < self->removed_count; i++)
        free (self->removed[i]);
    free (self->removed);
    free (self->pools);
    free (self->changes);
    free (self);
    *self_p = NULL;
}

//  --- reload ---------------------------------------------------------------------------

//  Takes r out of the tables: kept (never picked again) until no request
//  holds it.
static void
s_remove (baton_topology_t *self, baton_replica_t *r)
{
    if (self->removed_count == self->removed_cap) {
        self->removed_cap = self->removed_cap ? self->removed_cap * 2 : 16;
        self->removed =
            (baton_replica_t **) realloc (self->removed, self->removed_cap * sizeof *self->removed);
        if (!self->removed)
            abort ();
    }
    r->function = BATON_TOPOLOGY_NO_FUNCTION;
    self->removed[self->removed_count++] = r;
}

static bool
s_declares (const baton_config_function_t *fn, const char *endpoint)
{
    for (size_t e = 0; e < fn->endpoint_count; e++)
        if (strcmp (fn->endpoints[e], endpoint) == 0)
            return true;
    return false;
}

static baton_replica_t *s_find_endpoint (s_pool_t *pool, const char *endpoint);

//  pool (a kept function's) as fn, its new entry, declares it: same
//  replicas, static endpoints added and dropped.
static void
s_pool_remap (baton_topology_t *self, s_pool_t *pool, const baton_config_function_t *fn)
{
    pool->fn = fn;
    size_t kept = 0;
    for (size_t i = 0; i < pool->count; i++) {
        baton_replica_t *r = pool->replicas[i];
        if (r->is_static && !s_declares (fn, r->endpoint)) {
            //  One that announced itself stays, as announced.
            if (!r->instance[0]) {
                s_remove (self, r);
                continue;
            }
            r->is_static = false;
        } else if (r->is_static && !r->instance[0]) {
            //  Not announced: its key is the config's, which may have changed
            //  (then its socket, keyed by it, must be made again).
            bool same =
                fn->key ? r->has_key && memcmp (r->key, fn->key, BATON_KEY_SIZE) == 0 : !r->has_key;
            if (!same) {
                r->has_key = false;
                memset (r->key, 0, sizeof r->key);
                s_make_static (r, fn);
                r->user = NULL;
            }
            s_place (r, NULL, NULL, fn); //  as the file declares it now
        }
        r->function = fn->index;
        pool->replicas[kept++] = r;
    }
    pool->count = kept;
    pool->next = 0;
    for (size_t e = 0; e < fn->endpoint_count; e++) {
        baton_replica_t *r = s_find_endpoint (pool, fn->endpoints[e]);
        if (r)
            s_make_static (r, fn);
        else if (pool->count < BATON_TOPOLOGY_MAX_REPLICAS) {
            r = s_add (pool);
            snprintf (r->endpoint, sizeof r->endpoint, "%s", fn->endpoints[e]);
            s_make_static (r, fn);
            s_place (r, NULL, NULL, fn);
            r->state = BATON_REPLICA_ALIVE;
        }
    }
}

void
baton_topology_reconfigure (baton_topology_t *self, const baton_config_t *config,
                            const baton_topology_opts_t *opts)
{
    size_t count = baton_config_function_count (config);
    s_pool_t **pools = (s_pool_t **) s_must (calloc (count ? count : 1, sizeof (s_pool_t *)));
    for (size_t f = 0; f < count; f++) {
        const baton_config_function_t *fn = baton_config_function (config, f);
        for (size_t o = 0; o < self->fn_count && !pools[f]; o++)
            if (self->pools[o] && strcmp (self->pools[o]->fn->name, fn->name) == 0) {
                pools[f] = self->pools[o];
                self->pools[o] = NULL;
                s_pool_remap (self, pools[f], fn);
            }
        if (!pools[f])
            pools[f] = s_pool_new (fn);
    }
    //  What is left belongs to removed functions.
    for (size_t o = 0; o < self->fn_count; o++)
        if (self->pools[o]) {
            for (size_t i = 0; i < self->pools[o]->count; i++)
                s_remove (self, self->pools[o]->replicas[i]);
            free (self->pools[o]);
        }
    free (self->pools);
    self->pools = pools;
    self->fn_count = count;
    self->config = config;
    s_set_opts (self, config, opts);
}

const baton_config_t *
baton_topology_config (const baton_topology_t *self)
{
    return self->config;
}

size_t
baton_topology_function (const baton_topology_t *self, const baton_config_function_t *fn)
{
    if (fn->index < self->fn_count && self->pools[fn->index]->fn == fn)
        return fn->index;
    for (size_t f = 0; f < self->fn_count; f++)
        if (strcmp (self->pools[f]->fn->name, fn->name) == 0)
            return f;
    return BATON_TOPOLOGY_NO_FUNCTION;
}

size_t
baton_topology_removed (const baton_topology_t *self)
{
    return self->removed_count;
}

//  Frees the removed replicas no request holds any more.
static void
s_sweep (baton_topology_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->removed_count; i++) {
        if (self->removed[i]->outstanding == 0)
            free (self->removed[i]);
        else
            self->removed[kept++] = self->removed[i];
    }
    self->removed_count = kept;
}

//  --- control messages -----------------------------------------------------------------

static baton_replica_t *
s_find_endpoint (s_pool_t *pool, const char *endpoint)
{
    for (size_t i = 0; i < pool->count; i++)
        if (strcmp (pool->replicas[i]->endpoint, endpoint) == 0)
            return pool->replicas[i];
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
    s_pool_t *pool = self->pools[fn->index];
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
        //  Reuse the place of a dead announced replica if the pool is full.
        if (pool->count < BATON_TOPOLOGY_MAX_REPLICAS)
            r = s_add (pool);
        else {
            for (size_t i = 0; i < pool->count && !r; i++)
                if (pool->replicas[i]->state == BATON_REPLICA_DEAD &&
                    !pool->replicas[i]->is_static && pool->replicas[i]->outstanding == 0)
                    r = pool->replicas[i];
            if (!r)
                return BATON_TOPO_FULL;
            memset (r, 0, sizeof *r);
            r->function = fn->index;
            snprintf (r->function_name, sizeof r->function_name, "%s", fn->name);
            r->weight = BATON_TOPOLOGY_WEIGHT;
        }
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
    //  A static replica keeps what its entry declares unless it says otherwise.
    s_place (r, msg->version, msg->zone, r->is_static ? fn : NULL);
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
    s_sweep (self);
    //  Every replica found dead is marked before any is told: a request sent
    //  again because of one never goes to another this tick takes out (a
    //  host that goes away takes all its replicas at once).
    size_t changed = 0;
    for (size_t f = 0; f < self->fn_count; f++) {
        s_pool_t *pool = self->pools[f];
        for (size_t i = 0; i < pool->count; i++) {
            baton_replica_t *r = pool->replicas[i];
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
    (void) self;
    return (size_t) BATON_CONFIG_MAX_FUNCTIONS * BATON_TOPOLOGY_MAX_REPLICAS;
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

//  True if r may take a new request.
static inline bool
s_pickable (const baton_replica_t *r)
{
    return r->state == BATON_REPLICA_ALIVE && !r->held && r->weight;
}

//  True if a replica of pool that is not dead carries a version.
static bool
s_versioned (const s_pool_t *pool)
{
    for (size_t i = 0; i < pool->count; i++)
        if (pool->replicas[i]->version[0] && pool->replicas[i]->state != BATON_REPLICA_DEAD)
            return true;
    return false;
}

bool
baton_topology_versioned (const baton_topology_t *self, size_t fn)
{
    return fn < self->fn_count && s_versioned (self->pools[fn]);
}

//  The version a request of version must be served by in pool: NULL (any)
//  when it has none or pool is not versioned.
static const char *
s_version_for (const s_pool_t *pool, const char *version)
{
    return version && s_versioned (pool) ? version : NULL;
}

bool
baton_topology_has_alive (const baton_topology_t *self, size_t fn, const char *version)
{
    if (fn >= self->fn_count)
        return false;
    const s_pool_t *pool = self->pools[fn];
    version = s_version_for (pool, version);
    for (size_t i = 0; i < pool->count; i++)
        if (s_pickable (pool->replicas[i]) &&
            (!version || strcmp (pool->replicas[i]->version, version) == 0))
            return true;
    return false;
}

baton_replica_t *
baton_topology_pick (baton_topology_t *self, size_t fn)
{
    return baton_topology_pick_except (self, fn, NULL, NULL, 0);
}

static bool
s_skipped (const baton_replica_t *r, baton_replica_t *const *skip, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (skip[i] == r)
            return true;
    return false;
}

//  (outstanding + 1) * 1000 / weight: the load of r for its weight. With
//  the default weight, 10 * (outstanding + 1), which orders replicas as
//  outstanding does, without a division.
static inline uint64_t
s_load (const baton_replica_t *r)
{
    uint64_t n = r->outstanding + 1;
    return r->weight == BATON_TOPOLOGY_WEIGHT ? n * (1000 / BATON_TOPOLOGY_WEIGHT)
                                              : n * 1000 / r->weight;
}

//  The best candidate of a pick so far: the lowest load, the first in
//  rotation among equals; and the fewest outstanding among all considered.
typedef struct {
    baton_replica_t *r;
    uint64_t load;
    size_t at; //  its place in the pool
    uint64_t least_outstanding;
} s_best_t;

static inline void
s_consider (s_best_t *best, baton_replica_t *r, size_t at)
{
    uint64_t load = s_load (r);
    if (!best->r || load < best->load) {
        best->r = r;
        best->load = load;
        best->at = at;
    }
    if (r->outstanding < best->least_outstanding)
        best->least_outstanding = r->outstanding;
}

//  True if r is none of the n replicas in skip, nor on host (NULL: any).
static inline bool
s_allowed (const baton_replica_t *r, baton_replica_t *const *skip, size_t n, const char *host)
{
    return s_pickable (r) && !s_skipped (r, skip, n) && !(host && strcmp (r->host, host) == 0);
}

//  The pick with a version (NULL: any) or a gateway zone: among replicas of
//  that version, the local ones unless they are all gone or saturated.
static s_best_t
s_pick_placed (const baton_topology_t *self, const s_pool_t *pool, const char *version,
               baton_replica_t *const *skip, size_t n, const char *host)
{
    s_best_t local = {NULL, 0, 0, UINT64_MAX}, remote = {NULL, 0, 0, UINT64_MAX};
    version = s_version_for (pool, version);
    for (size_t k = 0; k < pool->count; k++) {
        size_t i = (pool->next + k) % pool->count;
        baton_replica_t *r = pool->replicas[i];
        if (!s_allowed (r, skip, n, host) || (version && strcmp (r->version, version) != 0))
            continue;
        //  Without a gateway zone every replica is local: today's pick.
        if (!self->zone[0] || strcmp (r->zone, self->zone) == 0)
            s_consider (&local, r, i);
        else
            s_consider (&remote, r, i);
    }
    if (remote.r && (!local.r || (local.least_outstanding >= self->spill_at &&
                                  remote.least_outstanding < local.least_outstanding)))
        return remote;
    return local;
}

//  The pick among fn's pickable replicas of version (NULL: any) not in skip
//  and, with host, not on that host.
static baton_replica_t *
s_pick (baton_topology_t *self, size_t fn, const char *version, baton_replica_t *const *skip,
        size_t n, const char *host)
{
    if (fn >= self->fn_count)
        return NULL;
    s_pool_t *pool = self->pools[fn];
    s_best_t best = {NULL, 0, 0, UINT64_MAX};
    //  No version and no zone (the common case): the plain pick.
    if (version || self->zone[0])
        best = s_pick_placed (self, pool, version, skip, n, host);
    else
        for (size_t k = 0; k < pool->count; k++) {
            size_t i = (pool->next + k) % pool->count;
            if (s_allowed (pool->replicas[i], skip, n, host))
                s_consider (&best, pool->replicas[i], i);
        }
    if (best.r)
        pool->next = (best.at + 1) % pool->count;
    return best.r;
}

baton_replica_t *
baton_topology_pick_except (baton_topology_t *self, size_t fn, const char *version,
                            baton_replica_t *const *skip, size_t n)
{
    return s_pick (self, fn, version, skip, n, NULL);
}

baton_replica_t *
baton_topology_pick_away (baton_topology_t *self, size_t fn, const char *version,
                          baton_replica_t *failed)
{
    baton_replica_t *r = NULL;
    if (failed && failed->host[0])
        r = s_pick (self, fn, version, &failed, 1, failed->host);
    return r ? r : s_pick (self, fn, version, &failed, failed ? 1 : 0, NULL);
}

void
baton_topology_count_hop (baton_topology_t *self, const baton_replica_t *r)
{
    if (self->zone[0] && r->zone[0] && r->function < self->fn_count &&
        strcmp (r->zone, self->zone) != 0)
        self->pools[r->function]->cross_zone_hops++;
}

uint64_t
baton_topology_cross_zone_hops (const baton_topology_t *self, size_t fn)
{
    return fn < self->fn_count ? self->pools[fn]->cross_zone_hops : 0;
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
    return fn < self->fn_count ? self->pools[fn]->count : 0;
}

baton_replica_t *
baton_topology_at (baton_topology_t *self, size_t fn, size_t i)
{
    if (fn >= self->fn_count || i >= self->pools[fn]->count)
        return NULL;
    return self->pools[fn]->replicas[i];
}

void
baton_topology_log (const baton_replica_t *r, const char *what, baton_log_level_t level)
{
    char ep[300];
    baton__log (level, "gateway", what, "fn=%s endpoint=%s instance=%s pid=%" PRIu64 " host=%s",
                r->function_name,
                baton__log_quote (ep, sizeof ep, r->endpoint, strlen (r->endpoint)),
                r->instance[0] ? r->instance : "static", r->pid, r->host[0] ? r->host : "-");
}
