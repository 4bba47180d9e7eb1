/*  hop_send.h - for tests that play a hop by hand: an inbox bound in the
 *  test's directory, its envelopes decoded, and an envelope encoded and
 *  pushed to an endpoint (the next hop's, or reply_to), as a hop does.  */
#ifndef BATON_TEST_HOP_SEND_H
#define BATON_TEST_HOP_SEND_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>
#include "baton/envelope.h"
#include "baton/errors.h"
#include "harness.h"

//  Encodes *env_p, destroys it, and sends it to endpoint ep on a PUSH socket
//  of zctx made for it (which lingers up to 1 s to deliver).
static inline void
h_hop_send (void *zctx, const char *ep, baton_envelope_t **env_p)
{
    void *data;
    size_t len;
    cr_assert_eq (baton_envelope_encode (*env_p, &data, &len), 0);
    baton_envelope_destroy (env_p);
    void *push = zmq_socket (zctx, ZMQ_PUSH);
    int linger = 1000;
    zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq (zmq_connect (push, ep), 0);
    cr_assert_geq (zmq_send (push, data, len, 0), 0);
    free (data);
    zmq_close (push);
}

//  A PULL socket of zctx bound at ipc://<test dir>/name, whose receives
//  wait at most rcvtimeo_ms: the inbox of a hop played by hand.
static inline void *
h_hop_inbox (void *zctx, const char *name, int rcvtimeo_ms)
{
    void *pull = zmq_socket (zctx, ZMQ_PULL);
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &rcvtimeo_ms, sizeof rcvtimeo_ms);
    char inbox[300];
    snprintf (inbox, sizeof inbox, "ipc://%s/%s", h_dir (), name);
    cr_assert_eq (zmq_bind (pull, inbox), 0);
    return pull;
}

//  The next envelope pull receives, decoded (the test fails on one that
//  does not decode), or NULL when none came within its timeout.
static inline baton_envelope_t *
h_hop_recv (void *pull)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    if (zmq_msg_recv (&msg, pull, 0) < 0) {
        zmq_msg_close (&msg);
        return NULL;
    }
    int err = 0;
    baton_envelope_t *env =
        baton_envelope_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), NULL, &err);
    zmq_msg_close (&msg);
    cr_assert_not_null (env, "%s", baton_errname (err));
    return env;
}

//  Sends *env_p to its reply_to, as the last hop does, and destroys it.
static inline void
h_hop_reply (void *zctx, baton_envelope_t **env_p)
{
    baton_slice_t to = baton_envelope_reply_to (*env_p);
    char ep[300];
    snprintf (ep, sizeof ep, "%.*s", (int) to.len, to.ptr);
    h_hop_send (zctx, ep, env_p);
}

#endif
