/*  supervisor.h - the child processes of "baton dev": each started through
 *  "baton __child" (so that it dies with us) in a process group of its own,
 *  its output into the stream, restarted with a growing back-off when it
 *  exits, and at the end stopped with SIGTERM, then SIGKILL.  */
#ifndef BATON_DEV_SUPERVISOR_H
#define BATON_DEV_SUPERVISOR_H

#include <stdbool.h>
#include <uv.h>
#include "dev/output.h"
#include "dev/plan.h"

typedef struct baton__dev_supervisor baton__dev_supervisor_t;

//  What the supervisor tells its owner, on loop.
typedef void (baton__dev_supervisor_fn) (void *arg);

//  Supervises the processes of plan on loop, their output into out (both
//  borrowed: they must outlive the result). on_failed (arg): a process
//  cannot start at all (it cannot be spawned before it ever ran, exits 126
//  or 127 from the shell, or exits 5 times in a row within 1 s); the
//  supervisor has said why, dev mode must stop with status 1. on_stopped
//  (arg): after baton__dev_supervisor_terminate (), none runs any more.
//  Starts nothing yet. Caller owns the result.
baton__dev_supervisor_t *baton__dev_supervisor_new (uv_loop_t *loop, const baton__dev_plan_t *plan,
                                                    baton__dev_output_t *out,
                                                    baton__dev_supervisor_fn *on_failed,
                                                    baton__dev_supervisor_fn *on_stopped,
                                                    void *arg);

//  Safe on NULL; sets *self_p to NULL. Call it after baton__dev_supervisor_close ()
//  and the loop's close callbacks.
void baton__dev_supervisor_destroy (baton__dev_supervisor_t **self_p);

//  Starts every process of the plan. Returns 0, or -1 after saying which one
//  could not start and why (those started before it run on).
int baton__dev_supervisor_start (baton__dev_supervisor_t *self);

//  No more restarts: dev mode is stopping. A process that exits from now on
//  stays down; the others run on.
void baton__dev_supervisor_hold (baton__dev_supervisor_t *self);

//  Stops every process: SIGTERM to each one's process group, SIGKILL to the
//  groups still there after 3 s. on_stopped once none runs, at once if none
//  does. Holds first.
void baton__dev_supervisor_terminate (baton__dev_supervisor_t *self);

//  SIGKILL to the process group of every running process, now.
void baton__dev_supervisor_kill (baton__dev_supervisor_t *self);

//  Whether every process has bound its inbox: its ipc:// socket file
//  exists, or it has run 500 ms (tcp://). One that bound counts as started.
bool baton__dev_supervisor_bound (baton__dev_supervisor_t *self);

//  Says which processes have not bound their inbox yet.
void baton__dev_supervisor_say_unbound (const baton__dev_supervisor_t *self);

//  Closes its handles (the processes' own close when they exit). Idempotent.
void baton__dev_supervisor_close (baton__dev_supervisor_t *self);

#endif
