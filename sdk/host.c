/*  host.c - several workers on one thread and one ZeroMQ context. A hop
 *  whose endpoint is another worker of the host is run in memory by the
 *  worker (worker.c), which finds it through the local.h interface the host
 *  installs; the host multiplexes the inboxes: it polls their ZMQ_FDs and
 *  empties each one that woke, a bounded batch at a time. On a stop every
 *  worker says goodbye and the host drains them all together (drain.h). With
 *  CURVE the workers share the context's one trust store and ZAP handler (mesh.h).  */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "clock.h"
#include "drain.h"
#include "log.h"
#include "signals.h"
#include "worker.h"

//  Longest wait between two looks at the stop flags while idle.
#define S_TICK_MS 100
//  Messages taken from one inbox before the others get their turn.
#define S_BATCH 64

struct baton_host {
    void *zctx;
    baton__mesh_t *mesh; //  CURVE: made by the first worker that uses it
    baton_worker_t **workers;
    struct pollfd *fds;
    bool *owed; //  the inbox woke (or a batch stopped short): drain it
    size_t count;
    size_t cap;
    bool running;
    atomic_uint stop; //  stop calls since the run began
};

baton_host_t *
baton_host_new (void)
{
    baton_host_t *self = (baton_host_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->zctx = zmq_ctx_new ();
    if (!self->zctx) {
        baton__log (BATON_LOG_ERROR, "sdk", "cannot create a ZeroMQ context", "err=\"%s\"",
                    zmq_strerror (errno));
        free (self);
        return NULL;
    }
    return self;
}

void
baton_host_destroy (baton_host_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_host_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        baton_worker_destroy (&self->workers[i]);
    //  After the inboxes it watches, before the context.
    baton__mesh_destroy (&self->mesh);
    //  Term waits (at most each socket's linger) for messages still queued.
    while (zmq_ctx_term (self->zctx) == -1 && errno == EINTR) {
    }
    free (self->workers);
    free (self->fds);
    free (self->owed);
    free (self);
    *self_p = NULL;
}

//  Makes room for one more worker in each per-worker array.
static int
s_grow (baton_host_t *self)
{
    if (self->count < self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : 4;
    baton_worker_t **workers =
        (baton_worker_t **) realloc (self->workers, cap * sizeof *self->workers);
    if (!workers)
        return BATON_ENOMEM;
    self->workers = workers;
    struct pollfd *fds = (struct pollfd *) realloc (self->fds, cap * sizeof *self->fds);
    if (!fds)
        return BATON_ENOMEM;
    self->fds = fds;
    bool *owed = (bool *) realloc (self->owed, cap * sizeof *self->owed);
    if (!owed)
        return BATON_ENOMEM;
    self->owed = owed;
    self->cap = cap;
    return 0;
}

//  The local.h interface: the worker of the host whose inbox is endpoint.
static baton_worker_t *
s_find (void *arg, baton_slice_t endpoint)
{
    const baton_host_t *self = (const baton_host_t *) arg;
    for (size_t i = 0; i < self->count; i++)
        if (baton__worker_serves (self->workers[i], endpoint))
            return self->workers[i];
    return NULL;
}

baton_worker_t *
baton_host_add (baton_host_t *self, const baton_worker_config_t *config, baton_handler_fn *handler,
                void *arg)
{
    if (!self || !handler) {
        baton__log (BATON_LOG_ERROR, "sdk", "baton_host_add needs a host and a handler", "need=%s",
                    self ? "handler" : "host");
        return NULL;
    }
    if (self->running) {
        baton__log (BATON_LOG_ERROR, "sdk", "cannot add a worker while the host runs",
                    "workers=%zu", self->count);
        return NULL;
    }
    if (s_grow (self)) {
        baton__log (BATON_LOG_ERROR, "sdk", "out of memory adding a worker to the host",
                    "workers=%zu", self->count);
        return NULL;
    }
    baton_worker_config_t c;
    if (config)
        c = *config;
    else
        memset (&c, 0, sizeof c);
    c.zmq_context = self->zctx;
    c.no_signals = true;
    baton_worker_t *worker = baton__worker_new (&c, &self->mesh);
    if (!worker)
        return NULL;
    baton_worker_set_handler (worker, handler, arg);
    baton__local_t local = {s_find, self};
    baton__worker_set_local (worker, &local);
    self->workers[self->count++] = worker;
    return worker;
}

void
baton_host_stop (baton_host_t *self)
{
    atomic_fetch_add (&self->stop, 1u);
}

//  True while baton_host_stop and the signals since gen asked to stop at most
//  stops times: 0 while serving, 1 while draining.
static bool
s_going (baton_host_t *self, unsigned gen, unsigned stops)
{
    return baton__signals_stops (&self->stop, true, gen) <= stops;
}

//  Takes up to S_BATCH messages from inbox i. Returns how many, or BATON_ESYS.
static int
s_batch (baton_host_t *self, size_t i, unsigned gen, unsigned stops)
{
    int n = 0;
    while (n < S_BATCH && s_going (self, gen, stops)) {
        int rc = baton__worker_process (self->workers[i], 0);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        n++;
    }
    return n;
}

//  Serves every inbox until a stop (drain NULL), or while draining until the
//  drain is over or a second stop. Returns 0 or BATON_ESYS.
static int
s_serve (baton_host_t *self, unsigned gen, baton__drain_t *drain)
{
    unsigned stops = drain ? 1 : 0;
    int rc = 0, wait_ms = S_TICK_MS;
    while (rc == 0 && s_going (self, gen, stops) &&
           !(drain && baton__drain_over (drain, S_TICK_MS, &wait_ms))) {
        bool busy = false;
        for (size_t i = 0; i < self->count && rc == 0; i++) {
            //  Workers that said goodbye beat no more.
            if (!drain)
                baton__worker_beat (self->workers[i]);
            if (!self->owed[i])
                continue;
            int n = s_batch (self, i, gen, stops);
            if (n < 0)
                rc = n;
            if (n > 0 && drain)
                baton__drain_took (drain, n);
            //  Only an inbox emptied re-arms its edge-triggered fd.
            self->owed[i] = n == S_BATCH;
            busy = busy || self->owed[i];
        }
        if (busy || rc)
            continue;
        int ready = poll (self->fds, (nfds_t) self->count, wait_ms);
        if (ready < 0 && errno != EINTR)
            rc = BATON_ESYS;
        //  After a quiet tick or a signal, look at every inbox anyway: a
        //  receive cut short by a signal ends a batch early, and the edge it
        //  left unconsumed must not wait for the next message.
        for (size_t i = 0; i < self->count; i++)
            self->owed[i] = ready <= 0 || self->fds[i].revents != 0;
    }
    return rc;
}

//  Every worker says goodbye, then the inboxes are served until all have
//  been idle for the longest idle time of the workers, or the longest drain
//  limit passed, or a second stop. Returns 0 or BATON_ESYS.
static int
s_drain (baton_host_t *self, unsigned gen)
{
    int idle_max = 0, limit_max = 0;
    for (size_t i = 0; i < self->count; i++) {
        int idle_ms, limit_ms;
        baton__worker_goodbye (self->workers[i], &idle_ms, &limit_ms);
        idle_max = idle_ms > idle_max ? idle_ms : idle_max;
        limit_max = limit_ms > limit_max ? limit_ms : limit_max;
        //  The stop may have cut a batch short, with no edge to come for the rest.
        self->owed[i] = true;
    }
    baton__drain_t drain;
    baton__drain_start (&drain, idle_max, limit_max);
    int rc = s_serve (self, gen, &drain);
    if (rc == 0) {
        char who[32];
        snprintf (who, sizeof who, "host_workers=%zu", self->count);
        baton__drain_log (&drain, who, !s_going (self, gen, 1));
    }
    return rc;
}

int
baton_host_run (baton_host_t *self)
{
    if (!self->count)
        return BATON_ESTATE;
    for (size_t i = 0; i < self->count; i++) {
        self->fds[i].fd = baton_worker_fd (self->workers[i]);
        self->fds[i].events = POLLIN;
        if (self->fds[i].fd < 0)
            return BATON_ESYS;
        self->owed[i] = true; //  ZMQ_FD is edge-triggered: look before the first wait
    }
    self->running = true;
    baton__signals_hold ();
    unsigned gen = baton__signals_gen ();
    int rc = s_serve (self, gen, NULL);
    if (rc == 0)
        rc = s_drain (self, gen);
    baton__signals_release ();
    atomic_store (&self->stop, 0u);
    self->running = false;
    if (rc)
        baton__log (BATON_LOG_ERROR, "sdk", "host stopped on an error", "err=\"%s\"",
                    zmq_strerror (errno));
    return rc;
}
