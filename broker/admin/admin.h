/*  admin.h - the admin endpoints, on the admin listener only: /-/health,
 *  /-/ready, /-/metrics, /-/routes and /-/topology. GET and HEAD; read-only.  */
#ifndef BATON_ADMIN_H
#define BATON_ADMIN_H

#include "admin/metrics.h"
#include "config/config.h"
#include "edge/pending.h"
#include "edge/routes.h"
#include "edge/topology.h"
#include "http/conn.h"
#include "zap.h"

typedef struct baton_admin baton_admin_t;

//  Creates the admin endpoints over what they show: the config's functions,
//  the route table, the live topology, the metrics (with the requests in
//  pending and the connections of conns as gauges, the handshakes that zap,
//  the ZAP handler, accepted and refused (NULL without CURVE)) and whether
//  conns are draining (/-/ready). Every pointer must outlive the result.
//  Never NULL (aborts when out of memory).
baton_admin_t *baton_admin_new (const baton_config_t *config, const baton_routes_t *routes,
                                baton_topology_t *topo, baton_metrics_t *metrics,
                                const baton_pending_t *pending, const baton_conns_t *conns,
                                const baton_zap_t *zap);

//  Safe on NULL; sets *self_p to NULL.
void baton_admin_destroy (baton_admin_t **self_p);

//  Answers the request on c, whose target's path is path: the endpoint's
//  document, 404 for an unknown path, 405 for a method other than GET/HEAD.
void baton_admin_serve (baton_admin_t *self, baton_conn_t *c, baton_slice_t path);

#endif
