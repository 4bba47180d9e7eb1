/*  driver.c - plays the gateway for one installed-library check: pushes one
 *  envelope to a hello function and checks the response it sends back.
 *      driver <function inbox> <reply-to endpoint> <function name>
 *  Built out of tree with `pkg-config --cflags --libs baton libzmq`.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include <baton/baton.h>

static int
s_fail (const char *what)
{
    fprintf (stderr, "driver: %s\n", what);
    return 1;
}

int
main (int argc, char **argv)
{
    if (argc != 4)
        return s_fail ("usage: driver <inbox> <reply-to> <name>");
    const char *inbox = argv[1], *reply_to = argv[2], *name = argv[3];
    void *zctx = zmq_ctx_new ();
    void *pull = zmq_socket (zctx, ZMQ_PULL);
    void *push = zmq_socket (zctx, ZMQ_PUSH);
    int linger = 0;
    zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind (pull, reply_to) || zmq_connect (push, inbox))
        return s_fail ("cannot bind or connect");

    baton_envelope_t *env = baton_envelope_new ();
    baton_envelope_set_id (env, "oot-1", 5);
    baton_envelope_set_reply_to (env, reply_to, strlen (reply_to));
    baton_envelope_route_append (env, name, strlen (name), inbox, strlen (inbox));
    baton_envelope_set_budget (env, 4);
    baton_envelope_set_request (env, "GET", 3, "/hello", 6);
    void *data;
    size_t len;
    if (baton_envelope_encode (env, &data, &len) || zmq_send (push, data, len, 0) != (int) len)
        return s_fail ("cannot send the envelope");
    free (data);
    baton_envelope_destroy (&env);

    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, 10000) != 1)
        return s_fail ("no response within 10 s");
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    zmq_msg_recv (&msg, pull, 0);
    int err = 0;
    baton_envelope_t *rep =
        baton_envelope_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), NULL, &err);
    zmq_msg_close (&msg);
    if (!rep)
        return s_fail (baton_strerror (err));
    baton_slice_t ct = {"", 0};
    baton_envelope_header_find (rep, "content-type", 12, &ct);
    int ok = baton_envelope_status (rep) == 200 &&
             baton_slice_eq_str (baton_envelope_body (rep), "hello, world\n") &&
             baton_slice_eq_str (ct, "text/plain") && baton_envelope_record_count (rep) == 1 &&
             baton_slice_eq_str (baton_envelope_record (rep, 0).name, name) &&
             baton_slice_eq_str (baton_envelope_id (rep), "oot-1") &&
             baton_envelope_route_done (rep);
    baton_envelope_destroy (&rep);
    zmq_close (pull);
    zmq_close (push);
    zmq_ctx_term (zctx);
    if (!ok)
        return s_fail ("unexpected response");
    printf ("driver: %s answered 200 \"hello, world\"\n", name);
    return 0;
}
