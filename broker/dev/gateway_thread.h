/*  gateway_thread.h - the gateway of "baton dev", on a loop of its own in a
 *  thread of its own: nothing dev mode does (a slow terminal, a restart)
 *  holds up a request, and "the gateway has drained" is simply "its loop
 *  returned". Its log (our fd 2) is piped into the output stream.  */
#ifndef BATON_DEV_GATEWAY_THREAD_H
#define BATON_DEV_GATEWAY_THREAD_H

#include <uv.h>
#include "config/config.h"
#include "dev/output.h"

typedef struct baton__dev_gateway baton__dev_gateway_t;

//  Called on dev mode's loop once the gateway's loop has returned, its
//  thread is joined and fd 2 is ours again.
typedef void (baton__dev_gateway_done_fn) (void *arg);

//  Makes fd 2 a pipe whose lines out writes under "gateway" (the label
//  column widened for it), then creates the gateway of config
//  (borrowed: it must outlive the result), listening but not yet running.
//  on_done (arg) is called on loop. Returns NULL after saying why on stderr.
//  Caller owns the result; release it with baton__dev_gateway_destroy ().
baton__dev_gateway_t *baton__dev_gateway_new (const baton_config_t *config, uv_loop_t *loop,
                                              baton__dev_output_t *out,
                                              baton__dev_gateway_done_fn *on_done, void *arg);

//  Runs the gateway's loop in a new thread. Returns 0, or -1 after saying
//  why on stderr.
int baton__dev_gateway_start (baton__dev_gateway_t *self);

//  Asks the running gateway to shut down: it stops accepting and finishes
//  the requests in flight, then on_done is called. Safe from loop's thread.
void baton__dev_gateway_stop (baton__dev_gateway_t *self);

//  The ports it listens on, public and admin (the real ones, for port 0).
int baton__dev_gateway_port (const baton__dev_gateway_t *self);
int baton__dev_gateway_admin_port (const baton__dev_gateway_t *self);

//  Gives fd 2 back to what it was; the log pipe's last writer is gone, so
//  its stream ends. Idempotent.
void baton__dev_gateway_restore_stderr (baton__dev_gateway_t *self);

//  Closes its handle on dev mode's loop (on_done is not called after).
//  Idempotent; run loop afterwards to finish the close.
void baton__dev_gateway_close (baton__dev_gateway_t *self);

//  Shuts down a gateway whose loop never ran, destroys it and gives fd 2
//  back. Call it only after baton__dev_gateway_close () and a turn of loop,
//  and not while the gateway's thread runs. Safe on NULL; sets *self_p to NULL.
void baton__dev_gateway_destroy (baton__dev_gateway_t **self_p);

#endif
