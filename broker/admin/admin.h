/*  admin.h - the admin API, on the admin listener only. Open to read (GET,
 *  HEAD): /-/health, /-/ready, /-/metrics, /-/routes, /-/topology, /-/config,
 *  /-/overrides. Mutations (POST, DELETE) need the bearer token: /-/reload,
 *  /-/overrides, /-/replicas/ID/drain|undrain. docs/gateway.md.  */
#ifndef BATON_ADMIN_H
#define BATON_ADMIN_H

#include <stdint.h>
#include "admin/metrics.h"
#include "admin/overrides.h"
#include "config/config.h"
#include "edge/pending.h"
#include "edge/routes.h"
#include "edge/topology.h"
#include "http/conn.h"
#include "zap.h"

typedef struct baton_admin baton_admin_t;

//  Creates the admin endpoints over what they show: the live topology, the
//  metrics (with the requests in pending and the connections of conns as
//  gauges, the handshakes that zap, the ZAP handler, accepted and refused
//  (NULL without CURVE)), whether conns are draining (/-/ready), and the
//  overrides they change. owner is given to the hooks below. Every pointer
//  must outlive the result. Serves nothing before baton_admin_configure ().
//  Never NULL (aborts when out of memory).
baton_admin_t *baton_admin_new (baton_topology_t *topo, baton_metrics_t *metrics,
                                const baton_pending_t *pending, const baton_conns_t *conns,
                                const baton_zap_t *zap, baton_overrides_t *overrides, void *owner);

//  Safe on NULL; sets *self_p to NULL.
void baton_admin_destroy (baton_admin_t **self_p);

//  Shows config and its route table routes from now on, and reads config's
//  admin token (gateway.admin_token_file; none: every mutation is refused
//  403): at start, and after each reload. config and routes must outlive
//  their use. Returns 0; or -1 with the reason in err (errlen bytes) if the
//  token file cannot be read: then the token before stays (none at start).
int baton_admin_configure (baton_admin_t *self, const baton_config_t *config,
                           const baton_routes_t *routes, char *err, size_t errlen);

//  Answers the request on c (with its body: baton_conn_body ()), whose
//  target's path is path: the endpoint's document or the mutation's
//  outcome; 404 for an unknown path, 405 for a method the path does not
//  take, 401/403 for a mutation without the token.
void baton_admin_serve (baton_admin_t *self, baton_conn_t *c, baton_slice_t path);

//  --- what the owner implements -------------------------------------------------
//  admin.c calls these by name, as http/conn calls its owner's hooks: the
//  gateway, which admin/ does not include, defines them.

//  POST /-/reload: reloads the config file now. Returns the outcome, with
//  the error ("FILE:LINE:COL: message", or the keys that need a restart) in
//  err (cap bytes) when it is not BATON_RELOAD_OK.
baton_reload_result_t baton__admin_reload (void *owner, char *err, size_t cap);

//  GET /-/config's document, in a new string of *len_p bytes (caller frees).
char *baton__admin_config_json (void *owner, size_t *len_p);

//  The generation in force; its file's sha256 (64 hex digits) in *sha256.
uint64_t baton__admin_generation (void *owner, const char **sha256);

#endif
