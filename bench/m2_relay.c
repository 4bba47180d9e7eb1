/*  m2_relay.c - a middle hop of bench/run's three-hop Mongrel2 chain: take a
 *  request frame (m2_proto.h), check that it parses as a handler must, and
 *  PUSH it on unchanged to the next process, which answers the server.
 *      m2_relay PULL-ENDPOINT PUSH-ENDPOINT
 *  PULL connects (to the server's send_spec or the previous relay's PUSH);
 *  PUSH binds. Stops on SIGINT/SIGTERM.  */
#include "m2_proto.h"

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fputs ("usage: m2_relay PULL-ENDPOINT PUSH-ENDPOINT\n", stderr);
        return 2;
    }
    s_signals ();
    void *ctx = zmq_ctx_new ();
    void *in = s_socket (ctx, ZMQ_PULL, argv[1], 1);
    void *out = s_socket (ctx, ZMQ_PUSH, argv[2], 0);
    unsigned long relayed = 0, bad = 0;
    while (!s_stop) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, in, 0) < 0) {
            zmq_msg_close (&msg);
            continue;
        }
        const char *data = (const char *) zmq_msg_data (&msg);
        size_t size = zmq_msg_size (&msg);
        const char *sender, *conn;
        size_t sender_len, conn_len;
        if (s_parse (data, size, &sender, &sender_len, &conn, &conn_len) < 0) {
            bad++;
            zmq_msg_close (&msg);
            continue;
        }
        if (s_is_disconnect (data, size, conn, conn_len)) {
            zmq_msg_close (&msg);
            continue;
        }
        zmq_msg_send (&msg, out, 0); //  zmq takes the frame as it is
        zmq_msg_close (&msg);
        relayed++;
    }
    fprintf (stderr, "m2_relay: relayed %lu, unparsable %lu\n", relayed, bad);
    zmq_close (in);
    zmq_close (out);
    zmq_ctx_term (ctx);
    return 0;
}
