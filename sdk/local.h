/*  local.h - in-memory hand-over of hops between workers of one process.
 *  A worker asks this interface where its next hop's endpoint is served; a
 *  host (host.c) implements it and installs it in each worker it runs.  */
#ifndef BATON_LOCAL_H
#define BATON_LOCAL_H

#include "baton/baton.h"

//  Returns the worker of this process whose inbox is endpoint (the bound or
//  the advertised one), which then runs the envelope in memory, or NULL to
//  send it. Called on every forward: must not allocate nor block.
typedef baton_worker_t *(baton__local_find_fn) (void *arg, baton_slice_t endpoint);

//  The interface: find, and the implementation's own arg it is called with.
typedef struct {
    baton__local_find_fn *find;
    void *arg;
} baton__local_t;

#endif
