/*  topology.h - the live replicas of each function, as the gateway sees them:
 *  static ones from the config, and ones that announce themselves on the
 *  control channel; every one that heartbeats is watched by its heartbeats,
 *  and probes (edge/probes) eject and bring back the others. Picks one replica
 *  per hop: of the request's version when the function's replicas carry
 *  versions, in the gateway's zone unless every local one is saturated or
 *  gone, least outstanding requests per weight first, round robin among
 *  equals. A reload remaps it to the next config by function name.
 *  Single-threaded (the gateway's loop).  */
#ifndef BATON_TOPOLOGY_H
#define BATON_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "clock.h"
#include "config/config.h"
#include "control.h"
#include "log.h"

//  Replicas one function may have at once (static + announced).
#define BATON_TOPOLOGY_MAX_REPLICAS 64
//  A replica's weight unless an override says otherwise (0..1000; 0: never picked).
#define BATON_TOPOLOGY_WEIGHT     100
#define BATON_TOPOLOGY_MAX_WEIGHT 1000
//  The function of a replica whose function a reload removed.
#define BATON_TOPOLOGY_NO_FUNCTION ((size_t) -1)

typedef struct baton_topology baton_topology_t;

typedef enum {
    BATON_REPLICA_ALIVE = 0,
    BATON_REPLICA_EJECTED,  //  a probe failed: out of rotation until a probe answers
    BATON_REPLICA_DEAD,     //  missed its heartbeats
    BATON_REPLICA_DRAINING, //  said goodbye: finishes what it holds, takes nothing new
    BATON_REPLICA__STATES
} baton_replica_state_t;

//  The longest probe id: "<tag>-p<seq><nonce>", as edge/pending makes them.
#define BATON_TOPOLOGY_PROBE_ID_MAX 64

//  One replica. Read-only for callers except `user`, which the gateway uses
//  for the socket it keeps per replica, and `weight` and `held`, which the
//  admin API's overrides and drains set (read at every pick). Never moves in
//  memory while it is in the topology, nor, after a reload removed it,
//  while requests hold it (outstanding > 0).
typedef struct {
    //  Index in the functions of the config in force (baton_topology_config),
    //  or BATON_TOPOLOGY_NO_FUNCTION once a reload removed its function.
    size_t function;
    char function_name[BATON_CONFIG_MAX_NAME + 1];
    char endpoint[257];
    char instance[65]; //  "" for a static replica
    char version[65];  //  announced, or declared by its static entry; "" if neither
    char zone[65];     //  the same, of its zone
    char host[256];
    uint64_t pid;
    bool is_static;
    baton_replica_state_t state;
    uint64_t outstanding;  //  requests routed through it and not yet answered
    uint64_t last_seen_ms; //  last announce or heartbeat (monotonic ms)
    //  Its heartbeat interval; 0 while it is not watched by heartbeats (a
    //  static replica that never heartbeated, or came back by a probe).
    uint64_t interval_ms;
    uint64_t ejections;
    uint64_t routed; //  requests routed through it, in total
    //  Probes (edge/probes): at most one in flight, with its id.
    bool probe_in_flight;
    bool probe_wanted; //  a request through it timed out: probe it soon
    //  The probe in flight only watches an alive replica that sends no
    //  heartbeats: not taking it fails it, being late does not (a busy
    //  replica answers it after the envelope in hand).
    bool probe_watch;
    bool probe_late;        //  a watch probe went unanswered in time: its answer is dropped
    uint64_t probe_sent_ms; //  when the one in flight left
    uint64_t probe_due_ms;  //  the next probe of an ejected or dead static replica
    char probe_id[BATON_TOPOLOGY_PROBE_ID_MAX + 1];
    uint64_t probes_ok, probes_failed;
    uint64_t last_probe_ms; //  when the last probe ended (0: never)
    bool last_probe_ok;
    //  With CURVE, its inbox's server key: the key its announce came from,
    //  or for a static replica that has not announced, the config's.
    uint8_t key[BATON_KEY_SIZE];
    bool has_key;
    //  Picked in proportion to weight (BATON_TOPOLOGY_WEIGHT by default; 0:
    //  never); held (an admin drain): never picked, whatever its state.
    uint32_t weight;
    bool held;
    void *user;
} baton_replica_t;

typedef struct {
    uint32_t heartbeat_misses; //  dead after this many intervals without a word (default 3)
} baton_topology_opts_t;

//  Told that r's state changed, from before (r->state is the new one).
typedef void (*baton_replica_change_fn) (baton_replica_t *r, baton_replica_state_t before,
                                         void *arg);

//  One change of state, to tell once every change of a tick is made.
typedef struct {
    baton_replica_t *replica;
    baton_replica_state_t before;
} baton_replica_change_t;

//  Now, in the milliseconds of the monotonic clock every *_ms time of the
//  topology (and of the gateway's deadlines) is counted in.
static inline uint64_t
baton_topology_now_ms (void)
{
    return baton__mono_us () / 1000u;
}

//  Creates the topology with config's static endpoints as alive replicas.
//  opts may be NULL (defaults). config must outlive the topology, or the
//  next baton_topology_reconfigure (). Aborts when out of memory.
baton_topology_t *baton_topology_new (const baton_config_t *config,
                                      const baton_topology_opts_t *opts);
//  Frees every replica, removed ones held by requests too. Safe on NULL;
//  sets *self_p to NULL.
void baton_topology_destroy (baton_topology_t **self_p);

//  Puts config (a reload's) in force, remapped by function name: a kept
//  function keeps its replicas (state, counters, weight, held, user) under
//  its new index; a static endpoint the file dropped leaves (unless it
//  announced itself: then it stays, as announced), a new one joins alive
//  with user NULL (to connect); a new function gets its static replicas. A
//  removed function's replicas, and dropped static ones, leave the tables:
//  never picked, shown or ticked again, freed by a tick once no request
//  holds them. opts as in baton_topology_new (). config must outlive the
//  topology or the next reconfigure. Aborts when out of memory.
void baton_topology_reconfigure (baton_topology_t *self, const baton_config_t *config,
                                 const baton_topology_opts_t *opts);

//  The config in force.
const baton_config_t *baton_topology_config (const baton_topology_t *self);

//  The index in the config in force of fn, a function of that config or of
//  an older one (a request in flight across a reload): found by name, and
//  BATON_TOPOLOGY_NO_FUNCTION if the reload removed it. O(1) for the config
//  in force.
size_t baton_topology_function (const baton_topology_t *self, const baton_config_function_t *fn);

//  Replicas that left the tables at a reload and that requests still hold.
size_t baton_topology_removed (const baton_topology_t *self);

//  What a control message changed, for logs and for the gateway's sockets.
typedef enum {
    BATON_TOPO_IGNORED = 0, //  unknown function, or nothing changed
    BATON_TOPO_ADDED,       //  a replica the gateway did not know
    BATON_TOPO_REVIVED,     //  a known replica alive again
    BATON_TOPO_REFRESHED,   //  a heartbeat of a live replica
    BATON_TOPO_REMOVED,     //  goodbye
    BATON_TOPO_FULL,        //  no room for another replica of that function
    BATON_TOPO_REFUSED,     //  for an instance that another key announced: nothing changed
} baton_topo_event_t;

//  Applies one control message received at now_ms (monotonic), sent with
//  the CURVE public key key (NULL in plaintext, where anyone may speak for
//  any replica). With a key, a heartbeat or goodbye for an instance, or an
//  announce that repeats it, is taken only from the key that announced it
//  (REFUSED otherwise); a new instance brings its own key. A static replica's
//  first heartbeat maps it to its entry by endpoint, watched from then on. A
//  replica back from the dead or restarted is alive at once, whatever
//  ejection it had; a goodbye makes it draining. *replica_p (if not NULL) is
//  set to the replica concerned, or NULL.
baton_topo_event_t baton_topology_apply (baton_topology_t *self, const baton_control_msg_t *msg,
                                         const uint8_t *key, uint64_t now_ms,
                                         baton_replica_t **replica_p);

//  Frees the replicas a reload removed that no request holds any more. Then
//  marks dead the replicas watched by heartbeats (announced ones, and static
//  ones that heartbeat) not heard from in heartbeat_misses of their
//  intervals; then calls on_change (may be NULL) for each, once all are
//  marked. Returns how many changed.
size_t baton_topology_tick (baton_topology_t *self, uint64_t now_ms,
                            baton_replica_change_fn on_change, void *arg);

//  Sets r's state to state; if that changed it, writes the change into
//  *change (to tell with baton_topology_tell ()) and returns true. Ejecting
//  counts in r->ejections. A dead replica that comes back this way (a probe
//  answered) is not watched by heartbeats until it sends one.
bool baton_topology_set_state (baton_replica_t *r, baton_replica_state_t state,
                               baton_replica_change_t *change);

//  Calls on_change (may be NULL) for each of the n changes, in order.
void baton_topology_tell (const baton_replica_change_t *changes, size_t n,
                          baton_replica_change_fn on_change, void *arg);

//  The most replicas the topology can ever hold, whatever a reload brings:
//  as many changes as one tick can make.
size_t baton_topology_capacity (const baton_topology_t *self);

//  True if function fn (an index in the config in force) is versioned: a
//  replica of it that is not dead carries a version. Then a request of a
//  version is served only by replicas of that version; a function that is
//  not serves any request.
bool baton_topology_versioned (const baton_topology_t *self, size_t fn);

//  True if function fn (an index in the config in force) has an alive
//  replica that is not held, weighs more than 0 and may serve a request of
//  version (NULL: any; see baton_topology_versioned ()). Changes nothing.
bool baton_topology_has_alive (const baton_topology_t *self, size_t fn, const char *version);

//  Picks the replica of function fn (an index in the config in force) for
//  the next request: alive, not held, weight > 0, the lowest
//  (outstanding + 1) * 1000 / weight, round robin among equals (with every
//  weight the default: the fewest outstanding). With gateway.zone, one in
//  that zone, unless none is pickable, or every one has at least
//  gateway.zone_spill_at outstanding and one elsewhere has fewer than the
//  least of them: then the pick among the others. NULL if there is none.
baton_replica_t *baton_topology_pick (baton_topology_t *self, size_t fn);
//  The same for a request of version (NULL: any), never returning one of
//  the n replicas in skip (tried already).
baton_replica_t *baton_topology_pick_except (baton_topology_t *self, size_t fn, const char *version,
                                             baton_replica_t *const *skip, size_t n);

//  The pick for a request of version (NULL: any) sent again because failed
//  (may be NULL) failed: never failed, and a replica on another host than
//  failed's (as it announced it) if there is one: a host that went away
//  took all its replicas, most of them not yet found dead.
baton_replica_t *baton_topology_pick_away (baton_topology_t *self, size_t fn, const char *version,
                                           baton_replica_t *failed);

//  A hop was routed through r: counted as crossing zones if r's zone and
//  the gateway's are both known and differ.
void baton_topology_count_hop (baton_topology_t *self, const baton_replica_t *r);
//  Hops routed to function fn's replicas in another zone, in total (kept
//  across reloads while fn is).
uint64_t baton_topology_cross_zone_hops (const baton_topology_t *self, size_t fn);

//  A request was routed through r / its outcome is known (answered, timed
//  out, forgotten or retried elsewhere): r's outstanding count goes down.
//  Neither judges r: probes do.
void baton_topology_acquire (baton_replica_t *r);
void baton_topology_release (baton_replica_t *r);
//  A request acquired on r never reached it (r did not take it): gives it
//  back without counting it as routed.
void baton_topology_abandon (baton_replica_t *r);

//  Replicas of function fn, all states.
size_t baton_topology_count (const baton_topology_t *self, size_t fn);
baton_replica_t *baton_topology_at (baton_topology_t *self, size_t fn, size_t i);

//  "alive", "ejected", "dead", "draining".
const char *baton_replica_state_name (baton_replica_state_t state);

//  Logs what happened to r at level, in the gateway's log: one line with
//  its function, endpoint, instance, pid and host.
void baton_topology_log (const baton_replica_t *r, const char *what, baton_log_level_t level);

#endif
