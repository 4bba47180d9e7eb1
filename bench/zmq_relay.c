/*  zmq_relay.c - the raw ZeroMQ hop of bench/run's zmq-N rows: what a hop
 *  costs with nothing but libzmq. PULLs a frame and PUSHes it on unchanged.
 *      zmq_relay PULL-BIND PUSH-CONNECT
 *  Sockets are set up as m2_relay's (m2_proto.h). Stops on SIGINT/SIGTERM.  */
#include "m2_proto.h"

//  The last relay of a chain PUSHes to the gateway's reply endpoint with no
//  patching at all: broker/edge/replies.c reads only id, message, record
//  and traceparent from a reply, and takes an index that was not advanced
//  and an empty record (as from a hop that replies early). The gateway's
//  own envelope back is a 200 with an empty body, fn_echo's answer, less
//  the Server-Timing entries that no record entry asks for.
int
main (int argc, char **argv)
{
    if (argc != 3) {
        fputs ("usage: zmq_relay PULL-BIND PUSH-CONNECT\n", stderr);
        return 2;
    }
    s_signals ();
    void *ctx = zmq_ctx_new ();
    void *in = s_socket (ctx, ZMQ_PULL, argv[1], 0);
    void *out = s_socket (ctx, ZMQ_PUSH, argv[2], 1);
    unsigned long relayed = 0;
    while (!s_stop) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, in, 0) >= 0 && zmq_msg_send (&msg, out, 0) >= 0)
            relayed++;
        zmq_msg_close (&msg);
    }
    fprintf (stderr, "zmq_relay: relayed %lu\n", relayed);
    zmq_close (in);
    zmq_close (out);
    zmq_ctx_term (ctx);
    return 0;
}
