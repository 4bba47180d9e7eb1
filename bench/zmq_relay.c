/*  zmq_relay.c - the raw ZeroMQ hop of bench/run's zmq-N rows: what a hop
 *  costs with nothing but libzmq. PULLs a frame and PUSHes it on unchanged.
 *      zmq_relay PULL-BIND PUSH-CONNECT
 *  With CURVE (the zmq-3-curve row), three Z85 keys in the environment:
 *      RELAY_PUBLIC, RELAY_SECRET  this relay's keypair: its inbox is a
 *                                  CURVE server with it, and it is the
 *                                  client key toward the next one
 *      RELAY_NEXT                  the public key of the next hop's server
 *  The inbox has no ZAP handler, so it takes any CURVE client: a handshake
 *  happens once per connection, so this costs a hop nothing per message.
 *  Sockets are set up as m2_relay's (m2_proto.h). Stops on SIGINT/SIGTERM.  */
#include "m2_proto.h"

static void
s_key (void *s, int option, const char *z85)
{
    if (strlen (z85) != 40 || zmq_setsockopt (s, option, z85, 41) != 0) {
        fprintf (stderr, "zmq_relay: a CURVE key is 40 characters of Z85\n");
        exit (2);
    }
}

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
        fputs ("usage: zmq_relay PULL-BIND PUSH-CONNECT\n"
               "  (CURVE: RELAY_PUBLIC, RELAY_SECRET and RELAY_NEXT in the environment)\n",
               stderr);
        return 2;
    }
    const char *pub = getenv ("RELAY_PUBLIC"), *sec = getenv ("RELAY_SECRET"),
               *next = getenv ("RELAY_NEXT");
    if ((pub || sec || next) && !(pub && sec && next)) {
        fputs ("zmq_relay: CURVE needs RELAY_PUBLIC, RELAY_SECRET and RELAY_NEXT\n", stderr);
        return 2;
    }
    s_signals ();
    void *ctx = zmq_ctx_new ();
    void *in = s_socket_new (ctx, ZMQ_PULL);
    void *out = s_socket_new (ctx, ZMQ_PUSH);
    if (pub) {
        int on = 1;
        zmq_setsockopt (in, ZMQ_CURVE_SERVER, &on, sizeof on);
        s_key (in, ZMQ_CURVE_SECRETKEY, sec);
        s_key (out, ZMQ_CURVE_SERVERKEY, next);
        s_key (out, ZMQ_CURVE_PUBLICKEY, pub);
        s_key (out, ZMQ_CURVE_SECRETKEY, sec);
    }
    s_attach (in, argv[1], 0);
    s_attach (out, argv[2], 1);
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
