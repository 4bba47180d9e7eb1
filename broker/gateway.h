/*  gateway.h - the edge: strict HTTP/1.1 in, an envelope PUSHed to the first
 *  hop, the reply PULLed back and written as the response. One libuv loop,
 *  one thread; ZeroMQ joins the loop through ZMQ_FD. docs/gateway.md.  */
#ifndef BATON_GATEWAY_H
#define BATON_GATEWAY_H

#include <uv.h>
#include "admin/metrics.h"
#include "config/config.h"

typedef struct baton_gateway baton_gateway_t;

//  Creates a gateway for config on loop: binds the public and admin
//  listeners and the reply socket, connects to every declared endpoint.
//  Returns NULL and writes why into err (errlen bytes) on failure. config
//  must outlive the gateway. Caller owns the result.
baton_gateway_t *baton_gateway_new (const baton_config_t *config, uv_loop_t *loop, char *err,
                                    size_t errlen);

//  Safe on NULL; sets *self_p to NULL. The loop must have finished running.
void baton_gateway_destroy (baton_gateway_t **self_p);

//  Starts a graceful stop: no new connections, /-/ready answers 503, in-flight
//  requests finish (at most gateway.drain), then every handle closes and the
//  loop runs out. Safe to call more than once.
void baton_gateway_shutdown (baton_gateway_t *self);

//  If set, SIGINT and SIGTERM call baton_gateway_shutdown (), and SIGHUP
//  baton_gateway_reload () (its outcome logged). Returns 0.
int baton_gateway_handle_signals (baton_gateway_t *self);

//  The ports actually bound (useful with port 0 in the config).
int baton_gateway_port (const baton_gateway_t *self);
int baton_gateway_admin_port (const baton_gateway_t *self);

//  --- hot reload (docs/gateway.md, "Reloading") ------------------------------------

//  Re-reads the file the gateway's config was loaded from, with the checks
//  of `baton check`. A valid file is swapped in now (new route table,
//  functions, gateway keys; the topology remapped by function name);
//  requests in flight finish on the route they were given. Returns
//  BATON_RELOAD_OK;
//  BATON_RELOAD_INVALID with "FILE:LINE:COL: message" in err, or
//  BATON_RELOAD_RESTART_REQUIRED with the keys that need a restart named in
//  err (cap bytes): then nothing changed. Logs and counts every outcome.
//  Call it from the loop's thread, between two loop turns (a callback).
baton_reload_result_t baton_gateway_reload (baton_gateway_t *self, char *err, size_t cap);

//  Told after every successful reload, once the new config is in force
//  (e.g. to clear the overrides, re-read the admin token). config is the
//  gateway's config from now on.
typedef void (*baton_gateway_reload_fn) (void *arg, const baton_config_t *config);

//  Sets the one function told of successful reloads (NULL: none).
void baton_gateway_on_reload (baton_gateway_t *self, baton_gateway_reload_fn fn, void *arg);

//  GET /-/config's document: {"generation":N,"sha256":"...","path":"...",
//  "loaded_at":"RFC3339","reloads":{"ok":N,"invalid":N,"restart_required":N},
//  "routes":N,"functions":N,"held_generations":N,"last_error":"..." or
//  null}, in a new string of *len_p bytes. Caller frees it with free ().
char *baton_gateway_config_json (const baton_gateway_t *self, size_t *len_p);

//  The generation in force (1 at start, one more per successful reload) and
//  the sha256 of its file's bytes, 64 hex digits ("" if the file the first
//  config came from could not be read at start).
uint64_t baton_gateway_generation (const baton_gateway_t *self);
const char *baton_gateway_sha256 (const baton_gateway_t *self);

//  "baton gateway -c FILE": runs a gateway until SIGINT/SIGTERM, then drains
//  and exits 0. argv[0] is the command name.
int baton__cmd_gateway (int argc, char **argv);

#endif
