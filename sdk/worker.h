/*  worker.h - what the host (host.c) needs of a worker beyond the public
 *  API: one step of the worker loop, its heartbeat, and the process-wide
 *  SIGINT/SIGTERM handling both loops share.  */
#ifndef BATON_WORKER_H
#define BATON_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include "baton/baton.h"

//  Takes at most one message from the inbox (waiting at most timeout_ms) and
//  handles it, with every hop that follows it in memory on the same host.
//  Returns 1, 0 if none came, or BATON_ESYS. A hosted worker does not
//  heartbeat here: its host calls baton__worker_beat.
int baton__worker_process (baton_worker_t *self, int timeout_ms);

//  Announces or heartbeats if it is time (now_ms: baton__wall_ms ()).
//  Cheap when it is not.
void baton__worker_beat (baton_worker_t *self, uint64_t now_ms);

//  Makes host the worker's host: hops it forwards to another worker of host
//  go there in memory, and baton_worker_run refuses to run it alone.
void baton__worker_set_host (baton_worker_t *self, baton_host_t *host);

//  Whether endpoint is the worker's inbox: the bound or the advertised one.
bool baton__worker_serves (const baton_worker_t *self, baton_slice_t endpoint);

//  The worker of host whose inbox is endpoint, or NULL.
baton_worker_t *baton__host_find (const baton_host_t *host, baton_slice_t endpoint);

//  SIGINT and SIGTERM handlers, installed while at least one loop holds them;
//  each signal bumps a generation counter the loops watch.
void baton__signals_hold (void);
void baton__signals_release (void);
unsigned baton__signals_gen (void);

#endif
