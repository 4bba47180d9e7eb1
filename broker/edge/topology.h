/*  topology.h - the live replicas of each function, as the gateway sees them:
 *  static ones from the config, and ones that announce themselves on the
 *  control channel and heartbeat. Picks one replica per hop: least
 *  outstanding requests first, round robin among equals. Single-threaded
 *  (the gateway's loop); never allocates after creation.  */
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

typedef struct baton_topology baton_topology_t;

typedef enum {
    BATON_REPLICA_ALIVE = 0,
    BATON_REPLICA_EJECTED, //  answers too slowly: out of rotation for a while
    BATON_REPLICA_DEAD,    //  missed heartbeats or said goodbye
} baton_replica_state_t;

//  One replica. Read-only for callers except `user`, which the gateway uses
//  for the socket it keeps per replica.
typedef struct {
    size_t function; //  index in the config's functions
    char endpoint[257];
    char instance[65]; //  "" for a static replica
    char version[65];
    char host[256];
    uint64_t pid;
    bool is_static;
    baton_replica_state_t state;
    uint64_t outstanding;  //  requests routed through it and not yet answered
    uint64_t last_seen_ms; //  last announce or heartbeat (monotonic ms; 0 for static)
    uint64_t interval_ms;  //  its heartbeat interval
    uint64_t ejected_until_ms;
    uint32_t timeouts_in_row; //  requests through it that timed out, since its last success
    uint64_t ejections;
    uint64_t routed; //  requests routed through it, in total
    //  With CURVE, its inbox's server key: the key its announce came from,
    //  or for a static replica that has not announced, the config's.
    uint8_t key[BATON_KEY_SIZE];
    bool has_key;
    void *user;
} baton_replica_t;

typedef struct {
    uint32_t heartbeat_misses; //  dead after this many intervals without a word (default 3)
    uint32_t eject_after;      //  timeouts in a row that eject a replica (default 3)
    uint64_t eject_for_ms;     //  how long an ejection lasts (default 10 s)
} baton_topology_opts_t;

//  Now, in the milliseconds of the monotonic clock every *_ms time of the
//  topology (and of the gateway's deadlines) is counted in.
static inline uint64_t
baton_topology_now_ms (void)
{
    return baton__mono_us () / 1000u;
}

//  Creates the topology with config's static endpoints as alive replicas.
//  opts may be NULL (defaults). Aborts when out of memory.
baton_topology_t *baton_topology_new (const baton_config_t *config,
                                      const baton_topology_opts_t *opts);
void baton_topology_destroy (baton_topology_t **self_p);

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
//  (REFUSED otherwise); a new instance brings its own key. *replica_p (if
//  not NULL) is set to the replica concerned, or NULL.
baton_topo_event_t baton_topology_apply (baton_topology_t *self, const baton_control_msg_t *msg,
                                         const uint8_t *key, uint64_t now_ms,
                                         baton_replica_t **replica_p);

//  Marks dead the announced replicas not heard from in heartbeat_misses
//  intervals, and ends ejections that are over. Calls on_change for each
//  replica whose state it changed (may be NULL). Returns how many changed.
size_t baton_topology_tick (baton_topology_t *self, uint64_t now_ms,
                            void (*on_change) (baton_replica_t *r, void *arg), void *arg);

//  Picks the replica of function fn for the next request: alive, fewest
//  outstanding, round robin among equals. NULL if none is alive.
baton_replica_t *baton_topology_pick (baton_topology_t *self, size_t fn);
//  The same, never returning one of the n replicas in skip (tried already).
baton_replica_t *baton_topology_pick_except (baton_topology_t *self, size_t fn,
                                             baton_replica_t *const *skip, size_t n);

//  A request was routed through r / its outcome is known.
void baton_topology_acquire (baton_replica_t *r);
//  A request acquired on r never reached it (r did not take it): gives it
//  back without counting anything for or against r.
void baton_topology_abandon (baton_replica_t *r);
void baton_topology_release (baton_topology_t *self, baton_replica_t *r, bool timed_out,
                             uint64_t now_ms);

//  Replicas of function fn, all states.
size_t baton_topology_count (const baton_topology_t *self, size_t fn);
baton_replica_t *baton_topology_at (baton_topology_t *self, size_t fn, size_t i);

//  "alive", "ejected", "dead".
const char *baton_replica_state_name (baton_replica_state_t state);

//  Logs what happened to r at level, in the gateway's log: one line with
//  its function, endpoint, instance, pid and host.
void baton_topology_log (const baton_topology_t *self, const baton_replica_t *r, const char *what,
                         baton_log_level_t level);

#endif
