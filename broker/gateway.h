/*  gateway.h - the edge: strict HTTP/1.1 in, an envelope PUSHed to the first
 *  hop, the reply PULLed back and written as the response. One libuv loop,
 *  one thread; ZeroMQ joins the loop through ZMQ_FD. docs/gateway.md.  */
#ifndef BATON_GATEWAY_H
#define BATON_GATEWAY_H

#include <uv.h>
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

//  If set, SIGINT and SIGTERM call baton_gateway_shutdown (). Returns 0.
int baton_gateway_handle_signals (baton_gateway_t *self);

//  The ports actually bound (useful with port 0 in the config).
int baton_gateway_port (const baton_gateway_t *self);
int baton_gateway_admin_port (const baton_gateway_t *self);

//  "baton gateway -c FILE": runs a gateway until SIGINT/SIGTERM, then drains
//  and exits 0. argv[0] is the command name.
int baton__cmd_gateway (int argc, char **argv);

#endif
