/*  replies.h - the reply socket: the PULL socket every chain's last hop (or
 *  any hop replying early) pushes to; with CURVE a server that only trusted
 *  keys reach. Drains it on the loop, matches each reply to its pending
 *  request by id (or to a probe), takes it only from a function on that
 *  request's route, and writes it as the HTTP response, unless the request
 *  is sent again.  */
#ifndef BATON_EDGE_REPLIES_H
#define BATON_EDGE_REPLIES_H

#include <errno.h>
#include <stddef.h>
#include <uv.h>
#include <zmq.h>
#include "admin/metrics.h"
#include "config/config.h"
#include "edge/dispatch.h"
#include "edge/pending.h"
#include "edge/probes.h"
#include "http/turn.h"
#include "zap.h"

typedef struct baton_replies baton_replies_t;

//  Binds the reply socket (gateway.reply of config) in zctx and watches it
//  on loop. With zap (zctx's ZAP handler; NULL in plaintext) it is a CURVE
//  server with the config's certificate, its failed handshakes watched by
//  zap. Replies are matched in pending; turn->drain_owed asks for a drain
//  before the loop blocks. Every pointer must outlive the result. Returns
//  NULL and writes why into err (errlen bytes) if it cannot bind.
baton_replies_t *baton_replies_new (void *zctx, uv_loop_t *loop, const baton_config_t *config,
                                    baton_pending_t *pending, baton_metrics_t *metrics,
                                    baton_turn_t *turn, baton_zap_t *zap, char *err, size_t errlen);

//  What replies need that is made after the socket: dispatch sends a request
//  again when a hop answers that the next one did not take it (503), probes
//  take the answers to probes. Both must outlive the result.
void baton_replies_attach (baton_replies_t *self, baton_dispatch_t *dispatch,
                           baton_probes_t *probes);

//  Stops watching the socket (closes its loop handle). Safe to call more
//  than once.
void baton_replies_close (baton_replies_t *self);

//  Closes the socket. The loop must have run since baton_replies_close ().
//  Safe on NULL; sets *self_p to NULL.
void baton_replies_destroy (baton_replies_t **self_p);

//  The endpoint hops must push replies to: what was bound, with a wildcard
//  port filled in and a wildcard host written as loopback.
const char *baton_replies_endpoint (const baton_replies_t *self);

//  Takes every reply waiting and answers its request; clears
//  turn->drain_owed (this drain comes after every send so far).
void baton_replies_drain (baton_replies_t *self);

//  Binds sock (one of the gateway's PULL sockets, called what in messages)
//  at endpoint; with zap (else NULL) as a CURVE server with cert whose failed
//  handshakes zap watches. Returns 0, or -1 with the reason in err.
int baton__zmq_bind (void *sock, const char *endpoint, const baton_cert_t *cert, baton_zap_t *zap,
                     const char *what, char *err, size_t errlen);

//  Takes every message waiting on sock and hands each to on_msg. ZMQ_FD is
//  edge-triggered: after a wake-up (or a send) everything must be drained,
//  or no wake-up comes for what is left. The receive that fails with EAGAIN
//  ends it: it has first processed the socket's pending commands and left
//  its pipes and mailbox asleep, so the next message signals the fd again.
//  (No ZMQ_EVENTS check per message: each costs a poll and a getpid.)
//  Inline: the reply socket's drain is the hot path, the control socket's
//  the other user.
static inline void
baton__zmq_drain (void *sock, void (*on_msg) (void *arg, zmq_msg_t *msg), void *arg)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (sock) {
        if (zmq_msg_recv (&msg, sock, ZMQ_DONTWAIT) < 0) {
            if (errno == EINTR)
                continue; //  a signal during the mailbox check: not the end
            break;
        }
        on_msg (arg, &msg);
    }
    zmq_msg_close (&msg);
}

#endif
