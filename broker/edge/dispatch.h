/*  dispatch.h - from a routed request to an envelope on its first hop: picks
 *  one live replica per hop (edge/topology), builds the envelope, keeps the
 *  PUSH socket of every replica endpoint and key (the peers: CURVE clients
 *  when the mesh has keys), and sends the envelopes of a loop turn together
 *  before the loop blocks, retrying and failing over while the first hop does
 *  not take one.  */
#ifndef BATON_EDGE_DISPATCH_H
#define BATON_EDGE_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "admin/metrics.h"
#include "cert.h"
#include "config/config.h"
#include "edge/pending.h"
#include "edge/topology.h"
#include "http/conn.h"
#include "http/turn.h"

typedef struct baton_dispatch baton_dispatch_t;

//  Creates the dispatcher: replicas picked in topo (a route's functions,
//  even of a config a reload replaced since, found by name), peer sockets
//  in zctx (a ZeroMQ context), requests into pending, envelopes that name
//  reply_to as the endpoint replies go to, sends queued in turn->sends. seed
//  starts the random trace and span ids. cert, the gateway's (NULL in
//  plaintext), makes every peer socket a CURVE client and every envelope
//  carry reply_key and route_keys. Every pointer must outlive the
//  dispatcher. Never NULL (aborts when out of memory).
baton_dispatch_t *baton_dispatch_new (void *zctx, baton_topology_t *topo, baton_pending_t *pending,
                                      baton_metrics_t *metrics, baton_turn_t *turn,
                                      const char *reply_to, const baton_cert_t *cert,
                                      const uint64_t seed[2]);

//  Closes every peer socket. Safe on NULL; sets *self_p to NULL.
void baton_dispatch_destroy (baton_dispatch_t **self_p);

//  Gives replica r its peer socket (r->user): one per distinct endpoint and
//  server key (r->key, with CURVE), created on first use and connected at
//  once, so the first request does not wait for the handshake. Returns 0, or
//  -1 with errno set if the endpoint does not connect (EINVAL: with CURVE, r
//  has no key).
int baton_dispatch_connect (baton_dispatch_t *self, baton_replica_t *r);

//  Starts the exchange x for the request on c, which matched route: assigns
//  its id, picks a replica per hop and builds the envelope from the head
//  (copying what it needs: the head's bytes may go). Returns 0; or, when no
//  replica of a function is alive (503) or memory ran out (500), answers c
//  itself and returns -1.
int baton_dispatch_begin (baton_dispatch_t *self, baton_exchange_t *x, baton_conn_t *c,
                          const baton_config_route_t *route);

//  The request of x is complete with body (len bytes, copied): picks one
//  live replica per hop (503 when a function has none left), finishes the
//  envelope, puts x in the pending table and queues it for the first hop,
//  sent by baton_dispatch_flush (). An idempotent method may be sent once
//  more, any method as often as the route's retry.attempts says. Answers
//  500 itself when out of memory.
void baton_dispatch_submit (baton_dispatch_t *self, baton_exchange_t *x, const char *body,
                            size_t len);

//  Sends x's envelope to its first hop now (its retry timer fired). Once
//  taken, x waits for its reply; while not, it retries within the send
//  window, fails over to another replica, and finally answers 503.
void baton_dispatch_send (baton_dispatch_t *self, baton_exchange_t *x);

//  Sends every envelope queued in turn->sends, oldest first.
void baton_dispatch_flush (baton_dispatch_t *self);

//  Sends x again, under a new id, on a route that avoids failed (whose
//  function still needs another live replica), within its deadline, if it
//  may be retried. Returns true if it did; false leaves x as it was.
bool baton_dispatch_retry (baton_dispatch_t *self, baton_exchange_t *x, baton_replica_t *failed);

//  r became dead or ejected: every request in the table whose route holds
//  it is retried, or else answered 502 at once (Retry-After: 1); but for
//  those that r, their first hop, has not taken yet (they fail over).
void baton_dispatch_replica_down (baton_dispatch_t *self, baton_replica_t *r);

//  Sends r a probe now: a 1-hop envelope flagged BATON_OAM_PROBE under id,
//  due within timeout_ms, answered to our reply endpoint. Returns 0; -1
//  when r's socket does not take it at once (not connected); 1 when it does
//  not but was connected less than a second ago (a handshake may be under
//  way: no verdict).
int baton_dispatch_probe (baton_dispatch_t *self, baton_replica_t *r, const char *id, size_t id_len,
                          uint64_t timeout_ms);

//  x's client went away: its envelope is not sent.
void baton_dispatch_cancel (baton_dispatch_t *self, baton_exchange_t *x);

//  Frees the envelope x still holds, if any (its connection is going).
void baton_dispatch_clear (baton_exchange_t *x);

#endif
