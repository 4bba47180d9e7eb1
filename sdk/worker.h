/*  worker.h - what the host (host.c) needs of a worker beyond the public
 *  API: one step of the worker loop, its heartbeat, and the in-memory
 *  hand-over of hops (local.h) the host installs.  */
#ifndef BATON_WORKER_H
#define BATON_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include "baton/baton.h"
#include "local.h"
#include "mesh.h"

//  baton_worker_new_config for a worker whose ZeroMQ context others share:
//  with CURVE it uses *shared, the trust store and ZAP handler of that
//  context (there is one per context), or makes it into *shared if NULL; the
//  caller then owns it and destroys it after the workers. shared NULL: the
//  worker makes and owns its own.
baton_worker_t *baton__worker_new (const baton_worker_config_t *config, baton__mesh_t **shared);

//  Takes at most one message from the inbox (waiting at most timeout_ms) and
//  handles it, with every hop that follows it in memory on the same host.
//  Returns 1, 0 if none came, or BATON_ESYS. A hosted worker does not
//  heartbeat here: its host calls baton__worker_beat.
int baton__worker_process (baton_worker_t *self, int timeout_ms);

//  Announces the worker and starts its heartbeats, from a thread of their
//  own that user code cannot block, if that is not done yet. Cheap when it is.
void baton__worker_beat (baton_worker_t *self);

//  Begins the worker's drain (docs/sdk.md, "Shutdown"): says goodbye to
//  every gateway, and gives how long its inbox may stay idle before the drain
//  ends (2 heartbeat intervals) and the drain limit (drain_ms).
void baton__worker_goodbye (baton_worker_t *self, int *idle_ms, int *limit_ms);

//  Makes the worker hosted (local->find not NULL; the struct is copied):
//  hops it forwards to an endpoint local finds go there in memory, and
//  baton_worker_run and baton_worker_process_one refuse to run it alone.
void baton__worker_set_local (baton_worker_t *self, const baton__local_t *local);

//  Whether endpoint is the worker's inbox: the bound or the advertised one.
bool baton__worker_serves (const baton_worker_t *self, baton_slice_t endpoint);

#endif
