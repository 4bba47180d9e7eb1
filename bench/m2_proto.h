/*  m2_proto.h - what bench/m2_handler.c and bench/m2_relay.c share (and the
 *  sockets bench/zmq_relay.c sets up alike): Mongrel2's handler protocol.
 *  Requests arrive on a PULL socket connected to the server's send_spec,
 *  one frame each:
 *      SENDER CONN_ID PATH LEN:HEADERS,LEN:BODY,
 *  a handler answers on a PUB socket connected to recv_spec with
 *      SENDER LEN:CONN_ID, <raw HTTP response>
 *  (netstrings; the server subscribes to its SENDER uuid). Mongrel2 running as
 *  root chroots into its config directory, so endpoints are tcp://.  */
#ifndef M2_PROTO_H
#define M2_PROTO_H
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

//  Parses "LEN:" at p (end excluded) and checks the ',' after LEN bytes.
//  Returns a pointer to the payload, or NULL; *len gets LEN.
static inline const char *
s_netstring (const char *p, const char *end, size_t *len, const char **next)
{
    size_t n = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9' && q - p < 10)
        n = n * 10 + (size_t) (*q++ - '0');
    if (q == p || q >= end || *q != ':')
        return NULL;
    q++;
    if ((size_t) (end - q) < n + 1 || q[n] != ',')
        return NULL;
    *len = n;
    *next = q + n + 1;
    return q;
}

//  Splits a request frame. Returns 0 and the sender and connection id, or -1.
static inline int
s_parse (const char *data, size_t size, const char **sender, size_t *sender_len, const char **conn,
         size_t *conn_len)
{
    const char *end = data + size;
    const char *sp1 = memchr (data, ' ', size);
    if (!sp1)
        return -1;
    const char *sp2 = memchr (sp1 + 1, ' ', (size_t) (end - sp1 - 1));
    if (!sp2)
        return -1;
    const char *sp3 = memchr (sp2 + 1, ' ', (size_t) (end - sp2 - 1));
    if (!sp3)
        return -1;
    size_t hlen, blen;
    const char *next;
    if (!s_netstring (sp3 + 1, end, &hlen, &next) || !s_netstring (next, end, &blen, &next))
        return -1;
    *sender = data;
    *sender_len = (size_t) (sp1 - data);
    *conn = sp1 + 1;
    *conn_len = (size_t) (sp2 - sp1 - 1);
    return 0;
}

//  A socket with the bench's options, not yet bound or connected (options
//  such as CURVE's must come before that).
static inline void *
s_socket_new (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, hwm = 10000;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    int timeout = 100;
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    return s;
}

static inline void *
s_attach (void *s, const char *ep, int connect)
{
    if ((connect ? zmq_connect (s, ep) : zmq_bind (s, ep)) != 0) {
        fprintf (stderr, "m2: cannot %s %s: %s\n", connect ? "connect" : "bind", ep,
                 zmq_strerror (errno));
        exit (1);
    }
    return s;
}

static inline void *
s_socket (void *ctx, int type, const char *ep, int connect)
{
    return s_attach (s_socket_new (ctx, type), ep, connect);
}

//  Mongrel2 tells handlers about a closed client with a request whose path is
//  "@*" (a JSON "disconnect" message): no answer is due.
static inline int
s_is_disconnect (const char *data, size_t size, const char *conn, size_t conn_len)
{
    const char *path = conn + conn_len + 1;
    return (size_t) (path - data) + 3 <= size && memcmp (path, "@* ", 3) == 0;
}

static void
s_signals (void)
{
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
}

#endif
