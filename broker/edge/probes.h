/*  probes.h - health by the data path: the gateway sends a replica an OAM
 *  probe (a 1-hop envelope flagged BATON_OAM_PROBE that the SDK answers
 *  without running user code) when a request through it timed out, and
 *  every interval while it is ejected, or static and not watched by
 *  heartbeats. A probe not answered in time ejects that replica only; an
 *  answer brings it back.  */
#ifndef BATON_EDGE_PROBES_H
#define BATON_EDGE_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include "admin/metrics.h"
#include "config/config.h"
#include "edge/dispatch.h"
#include "edge/pending.h"
#include "edge/topology.h"
#include "zap.h"

typedef struct baton_probes baton_probes_t;

//  Creates the prober of topo's replicas, by gateway.probe_timeout and
//  gateway.probe_interval of topo's config in force (a reload may change
//  them, and the replicas): probes go out through dispatch, with ids from
//  pending, counted in metrics; on_change (with arg) hears of every state a
//  probe changes. Every pointer must outlive the result. Never NULL (aborts
//  when out of memory).
baton_probes_t *baton_probes_new (baton_topology_t *topo, baton_dispatch_t *dispatch,
                                  baton_pending_t *pending, baton_metrics_t *metrics,
                                  baton_replica_change_fn on_change, void *arg);

//  Safe on NULL; sets *self_p to NULL.
void baton_probes_destroy (baton_probes_t **self_p);

//  At now_ms (monotonic): a probe out for longer than the probe timeout has
//  failed; a probe goes to each replica that wants one (a request through it
//  timed out) and, when its interval is up, to each ejected replica and each
//  static one not watched by heartbeats. One probe per replica in flight at
//  most.
void baton_probes_tick (baton_probes_t *self, uint64_t now_ms);

//  A reply whose id matched no request, with its status: if it answers a
//  probe in flight (or a routine probe that was late: dropped), and (with
//  CURVE: peer not NULL) comes from a key of the probed replica's function,
//  records the outcome (a 5xx fails the probe) and returns true. Returns
//  false otherwise.
bool baton_probes_reply (baton_probes_t *self, baton_slice_t id, unsigned status,
                         const baton_peer_t *peer, uint64_t now_ms);

#endif
