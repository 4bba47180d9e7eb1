/*  m2_handler.c - the Mongrel2 handler bench/run measures Baton against, in C
 *  on libzmq alone: parse each request frame (m2_proto.h), answer "hello".
 *      m2_handler PULL-ENDPOINT PUB-ENDPOINT
 *  PULL connects to the server's send_spec (one hop) or to the last relay's
 *  PUSH (three hops); PUB connects to the server's recv_spec. A frame a relay
 *  passed on is the server's own, so the last hop of a chain is this same
 *  program. Stops on SIGINT/SIGTERM.  */
#include "m2_proto.h"

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fputs ("usage: m2_handler PULL-ENDPOINT PUB-ENDPOINT\n", stderr);
        return 2;
    }
    s_signals ();
    void *ctx = zmq_ctx_new ();
    void *in = s_socket (ctx, ZMQ_PULL, argv[1], 1);
    void *out = s_socket (ctx, ZMQ_PUB, argv[2], 1);
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 5\r\n\r\nhello";
    char head[512];
    unsigned long served = 0, bad = 0;
    while (!s_stop) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, in, 0) < 0) {
            zmq_msg_close (&msg);
            continue; //  timeout (100 ms) or signal: look at s_stop
        }
        const char *data = (const char *) zmq_msg_data (&msg);
        size_t size = zmq_msg_size (&msg);
        const char *sender, *conn;
        size_t sender_len, conn_len;
        if (s_parse (data, size, &sender, &sender_len, &conn, &conn_len) < 0 ||
            sender_len + conn_len + 32 > sizeof head) {
            bad++;
            zmq_msg_close (&msg);
            continue;
        }
        if (s_is_disconnect (data, size, conn, conn_len)) {
            zmq_msg_close (&msg);
            continue;
        }
        int n = snprintf (head, sizeof head, "%.*s %zu:%.*s, ", (int) sender_len, sender, conn_len,
                          (int) conn_len, conn);
        zmq_msg_t rep;
        zmq_msg_init_size (&rep, (size_t) n + sizeof resp - 1);
        memcpy (zmq_msg_data (&rep), head, (size_t) n);
        memcpy ((char *) zmq_msg_data (&rep) + n, resp, sizeof resp - 1);
        zmq_msg_close (&msg);
        zmq_msg_send (&rep, out, 0);
        zmq_msg_close (&rep);
        served++;
    }
    fprintf (stderr, "m2_handler: served %lu, unparsable %lu\n", served, bad);
    zmq_close (in);
    zmq_close (out);
    zmq_ctx_term (ctx);
    return 0;
}
