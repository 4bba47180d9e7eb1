/*  drain.h - the clock of a drain (docs/sdk.md, "Shutdown"), which the worker
 *  loop (worker.c) and the host loop (host.c) share: after a stop, envelopes
 *  are still served until the inbox has been idle for a while or a limit passed.  */
#ifndef BATON_DRAIN_H
#define BATON_DRAIN_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include "clock.h"
#include "log.h"

typedef struct {
    uint64_t start_us; //  when the drain began (monotonic)
    uint64_t end_us;   //  the drain limit (monotonic)
    uint64_t idle_us;  //  how long the inbox may stay quiet
    uint64_t quiet_us; //  since when it has been quiet (monotonic)
    uint64_t taken;    //  messages taken during the drain
} baton__drain_t;

//  Starts a drain that ends once no envelope came for idle_ms, or after
//  limit_ms at the latest.
static inline void
baton__drain_start (baton__drain_t *self, int idle_ms, int limit_ms)
{
    uint64_t now = baton__mono_us ();
    self->start_us = now;
    self->end_us = now + (uint64_t) limit_ms * 1000u;
    self->idle_us = (uint64_t) idle_ms * 1000u;
    self->quiet_us = now;
    self->taken = 0;
}

//  n messages came: the quiet time starts over.
static inline void
baton__drain_took (baton__drain_t *self, int n)
{
    self->quiet_us = baton__mono_us ();
    self->taken += (uint64_t) n;
}

//  Whether the drain is over. If not, sets *wait_ms to how long the next wait
//  for an envelope may last: 1 .. tick_ms, and never past the end.
static inline bool
baton__drain_over (const baton__drain_t *self, int tick_ms, int *wait_ms)
{
    uint64_t now = baton__mono_us ();
    uint64_t quiet_end = self->quiet_us + self->idle_us;
    uint64_t end = quiet_end < self->end_us ? quiet_end : self->end_us;
    if (now >= end)
        return true;
    uint64_t left_ms = (end - now + 999u) / 1000u;
    *wait_ms = left_ms < (uint64_t) tick_ms ? (int) left_ms : tick_ms;
    return false;
}

//  Logs how the drain that who (a logfmt pair, e.g. fn="auth") ran ended:
//  what it took, how long it lasted, and what ended it (idle, limit, or a
//  second stop when cut).
static inline void
baton__drain_log (const baton__drain_t *self, const char *who, bool cut)
{
    uint64_t now = baton__mono_us ();
    const char *by = cut ? "second stop" : now >= self->end_us ? "limit" : "idle inbox";
    baton__log (BATON_LOG_INFO, "sdk", "drained",
                "%s taken=%" PRIu64 " ms=%" PRIu64 " ended_by=\"%s\"", who, self->taken,
                (now - self->start_us) / 1000u, by);
}

#endif
