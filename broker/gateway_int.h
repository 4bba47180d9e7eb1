/*  gateway_int.h - the gateway's insides, shared by the files that make it:
 *  gateway.c (the loop, the listeners, the lifecycle), replicas.c (the
 *  control channel and the replicas' tick) and reload.c (config generations
 *  and hot reload). Nothing outside broker/gateway*.c, replicas.c and
 *  reload.c includes it.  */
#ifndef BATON_GATEWAY_INT_H
#define BATON_GATEWAY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "admin/admin.h"
#include "admin/metrics.h"
#include "admin/overrides.h"
#include "config/config.h"
#include "edge/dispatch.h"
#include "edge/pending.h"
#include "edge/probes.h"
#include "edge/replies.h"
#include "edge/routes.h"
#include "edge/topology.h"
#include "gateway.h"
#include "http/conn.h"
#include "log.h"
#include "zap.h"

#define S_COMP "gateway"

//  One generation of the config: the file as loaded, its route table, and
//  who holds it: the gateway while it is in force, and every connection
//  whose last request it routed (that request, or its route, may still be
//  in use). Freed when nobody does.
typedef struct baton__gen {
    baton_config_t *owned; //  NULL for the first: the caller's
    const baton_config_t *config;
    baton_routes_t *routes;
    uint64_t number;
    char sha256[65];
    char loaded_at[32]; //  RFC 3339, UTC
    uint64_t refs;
    struct baton__gen *prev, *next; //  every generation alive
} baton__gen_t;

//  What a connection carries for the gateway: its exchange first (the other
//  modules see only that), then the generation that routed its last request.
typedef struct {
    baton_exchange_t x;
    baton__gen_t *gen;
} baton__slot_t;

struct baton_gateway {
    const baton_config_t *config; //  the one in force: gen->config
    const baton_config_gateway_t *gcfg;
    uv_loop_t *loop;
    baton__gen_t *gen; //  in force; older ones follow while held
    char path[4096];   //  the file reloads read
    char last_error[BATON_CONFIG_MAX_ERROR];
    baton_gateway_reload_fn on_reload;
    void *on_reload_arg;
    baton_routes_t *routes; //  gen->routes
    baton_metrics_t *metrics;
    baton_topology_t *topo;
    baton_pending_t *pending;
    baton_conns_t *conns;
    baton_replies_t *replies;
    baton_dispatch_t *dispatch;
    baton_probes_t *probes;
    baton_admin_t *admin_api;
    baton_overrides_t *overrides; //  the operators' overrides (admin/overrides)
    uv_tcp_t listener;
    uv_tcp_t admin;
    int port, admin_port;
    void *zctx;
    baton_zap_t *zap; //  the ZAP handler of zctx, with CURVE; NULL in plaintext
    void *control_sock;
    uv_poll_t control_poll;
    uv_timer_t topo_timer;
    uv_timer_t drain_timer;
    //  Work owed before the loop next blocks for I/O, done by s_on_before_poll.
    baton_turn_t turn;
    uv_signal_t sigint, sigterm, sighup;
    bool signals;
    bool closed;
};

//  --- reload.c ---------------------------------------------------------------------------

//  The bytes of the file at path (at most BATON_CONFIG_MAX_FILE), into a new
//  buffer of *len_p bytes; NULL if it cannot be read whole.
char *baton__gw_read_file (const char *path, size_t *len_p);
//  A generation for config (owned: the gateway's to destroy, or NULL) read
//  from len bytes of data (NULL: not known), held by the gateway, first in
//  the list of generations. Aborts when out of memory.
baton__gen_t *baton__gw_gen_new (baton_gateway_t *gw, const baton_config_t *config,
                                 baton_config_t *owned, const char *data, size_t len);
//  Frees a generation nobody holds (its config too, if owned).
void baton__gw_gen_destroy (baton__gen_t **gen_p);
//  Lets go of *gen_p (NULL: nothing), freeing it if nobody holds it and it
//  is no longer in force.
void baton__gw_gen_release (baton_gateway_t *gw, baton__gen_t **gen_p);
//  The checks the gateway makes beyond `baton check`: without a control
//  endpoint every routed function has static endpoints; a plaintext mesh
//  stays on this machine unless insecure; with CURVE every static replica
//  has a key. With say (at start), logs the mesh's mode when it is not
//  CURVE. Returns 0, or -1 with why in err.
int baton__gw_check_config (const baton_config_t *config, bool say, char *err, size_t errlen);

//  --- replicas.c -------------------------------------------------------------------------

void baton__gw_on_control_ready (uv_poll_t *p, int status, int events);
//  r went from before to its state: logged; one that died or was ejected
//  takes the requests routed through it (retried or answered at once).
void baton__gw_on_replica_change (baton_replica_t *r, baton_replica_state_t before, void *arg);
//  Every 50 ms: heartbeats missed, probes, overrides' expiry.
void baton__gw_on_topo_tick (uv_timer_t *t);

//  --- gateway.c --------------------------------------------------------------------------

//  Connects the replicas without a socket yet: at start (err not NULL) the
//  static ones, and one that does not connect fails the start (-1, why in
//  err); after a reload, the static ones it brought: one that does not
//  connect is dead, and logged.
int baton__gw_connect_replicas (baton_gateway_t *gw, char *err, size_t errlen);

#endif
