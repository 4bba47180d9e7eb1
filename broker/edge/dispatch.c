/*  dispatch.c - picks the replicas of a request's chain, builds its
 *  envelope, and hands it to the first hop's PUSH socket: queued during the
 *  loop turn, sent together before the loop blocks.  */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "clock.h"
#include "edge/dispatch.h"
#include "zap.h"

//  How long the first hop may take to accept an envelope (ZMQ_IMMEDIATE: only
//  a connected peer counts), and how often we retry within that time.
#define S_SEND_TIMEOUT_MS 100
//  Within this long after the gateway connected to a peer, the handshake may
//  still be under way (at start, or just after a replica announced itself):
//  the send window reaches to its end.
#define S_SEND_FIRST_TIMEOUT_MS 1000
#define S_SEND_RETRY_MS         2

//  One ZeroMQ PUSH socket per replica endpoint (and server key) a chain may
//  start at, kept while the gateway runs (a dead replica may come back on
//  the same one).
typedef struct baton_peer {
    struct baton_peer *next;
    void *sock;
    uint64_t connected_ms;       //  when the connect began (monotonic)
    uint8_t key[BATON_KEY_SIZE]; //  the server key, with CURVE (else zeros)
    char endpoint[];
} s_peer_t;

struct baton_dispatch {
    void *zctx;
    const baton_config_t *config;
    baton_topology_t *topo;
    baton_pending_t *pending;
    baton_metrics_t *metrics;
    baton_turn_t *turn;
    char reply_to[300]; //  the reply endpoint as hops must connect to it
    size_t reply_to_len;
    const baton_cert_t *cert; //  the gateway's, with CURVE; NULL in plaintext
    s_peer_t *peers;
    uint64_t rng[2];
};

static uint64_t
s_rand (baton_dispatch_t *self)
{
    //  xorshift128+, seeded from getrandom (): ids and span ids need to be
    //  unique, not secret.
    uint64_t s1 = self->rng[0];
    const uint64_t s0 = self->rng[1];
    self->rng[0] = s0;
    s1 ^= s1 << 23;
    self->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return self->rng[1] + s0;
}

baton_dispatch_t *
baton_dispatch_new (void *zctx, const baton_config_t *config, baton_topology_t *topo,
                    baton_pending_t *pending, baton_metrics_t *metrics, baton_turn_t *turn,
                    const char *reply_to, const baton_cert_t *cert, const uint64_t seed[2])
{
    baton_dispatch_t *self = (baton_dispatch_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->zctx = zctx;
    self->config = config;
    self->topo = topo;
    self->pending = pending;
    self->metrics = metrics;
    self->turn = turn;
    snprintf (self->reply_to, sizeof self->reply_to, "%s", reply_to);
    self->reply_to_len = strlen (self->reply_to);
    self->cert = cert;
    self->rng[0] = seed[0] | 1;
    self->rng[1] = seed[1];
    return self;
}

void
baton_dispatch_destroy (baton_dispatch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_dispatch_t *self = *self_p;
    for (s_peer_t *p = self->peers, *next; p; p = next) {
        next = p->next;
        zmq_close (p->sock);
        free (p);
    }
    free (self);
    *self_p = NULL;
}

//  --- the peer sockets -----------------------------------------------------------

//  A PUSH socket connected to endpoint; with CURVE, a client of the server
//  that holds key.
static void *
s_push_socket (baton_dispatch_t *self, const char *endpoint, const uint8_t *key)
{
    void *sock = zmq_socket (self->zctx, ZMQ_PUSH);
    if (!sock)
        return NULL;
    if (self->cert && baton__curve_client (sock, self->cert, key) != 0) {
        zmq_close (sock);
        return NULL;
    }
    int one = 1, zero = 0, hwm = 10000;
    zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    //  A replica that restarts on its endpoint is reconnected within 10 ms,
    //  backing off to 1 s while it stays away.
    int ivl = 10, ivl_max = 1000;
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    if (zmq_connect (sock, endpoint) != 0) {
        zmq_close (sock);
        return NULL;
    }
    return sock;
}

int
baton_dispatch_connect (baton_dispatch_t *self, baton_replica_t *r)
{
    static const uint8_t none[BATON_KEY_SIZE];
    if (self->cert && !r->has_key) {
        errno = EINVAL;
        return -1;
    }
    const uint8_t *key = self->cert ? r->key : none;
    s_peer_t *p = self->peers;
    while (p && (strcmp (p->endpoint, r->endpoint) != 0 || memcmp (p->key, key, BATON_KEY_SIZE)))
        p = p->next;
    if (!p) {
        void *sock = s_push_socket (self, r->endpoint, key);
        if (!sock)
            return -1;
        size_t n = strlen (r->endpoint);
        p = (s_peer_t *) malloc (sizeof (s_peer_t) + n + 1);
        if (!p) {
            fputs ("baton: out of memory\n", stderr);
            abort ();
        }
        memcpy (p->endpoint, r->endpoint, n + 1);
        memcpy (p->key, key, BATON_KEY_SIZE);
        p->sock = sock;
        p->connected_ms = baton_topology_now_ms ();
        p->next = self->peers;
        self->peers = p;
    }
    r->user = p;
    return 0;
}

//  --- building the envelope --------------------------------------------------------

//  Starts a W3C traceparent for this request: the caller's trace id and
//  flags when its traceparent is valid, a new trace otherwise; our own span.
static void
s_traceparent (baton_dispatch_t *self, const baton_http_request_t *req, char out[56])
{
    static const char hex[] = "0123456789abcdef";
    char trace[33] = {0}, flags[3] = "01";
    for (size_t i = 0; i < req->header_count; i++) {
        const baton_header_t *h = &req->headers[i];
        if (!baton__slice_is (h->name, "traceparent") || h->value.len != 55)
            continue;
        const char *v = h->value.ptr;
        bool ok = v[0] == '0' && v[1] == '0' && v[2] == '-' && v[35] == '-' && v[52] == '-';
        bool zero = true;
        for (int k = 3; k < 55 && ok; k++) {
            if (k == 35 || k == 52)
                continue;
            ok = (v[k] >= '0' && v[k] <= '9') || (v[k] >= 'a' && v[k] <= 'f');
            if (k < 35 && v[k] != '0')
                zero = false;
        }
        if (ok && !zero) {
            memcpy (trace, v + 3, 32);
            memcpy (flags, v + 53, 2);
        }
        break;
    }
    if (!trace[0])
        for (int k = 0; k < 32; k += 16) {
            uint64_t r = s_rand (self);
            for (int b = 0; b < 16; b++, r >>= 4)
                trace[k + b] = hex[r & 15];
        }
    char span[17];
    uint64_t r = s_rand (self) | 1; //  never all zeros
    for (int b = 0; b < 16; b++, r >>= 4)
        span[b] = hex[r & 15];
    span[16] = '\0';
    memcpy (out, "00-", 3);
    memcpy (out + 3, trace, 32);
    out[35] = '-';
    memcpy (out + 36, span, 16);
    out[52] = '-';
    memcpy (out + 53, flags, 2);
    out[55] = '\0';
}

int
baton_dispatch_begin (baton_dispatch_t *self, baton_exchange_t *x, baton_conn_t *c,
                      const baton_config_route_t *route)
{
    const baton_http_request_t *req = baton_conn_request (c);
    x->conn = c;
    x->route = route;
    baton_envelope_t *e = baton_envelope_new ();
    if (!e) {
        baton_conn_respond_error (c, 500, "out of memory", true, NULL);
        return -1;
    }
    baton_pending_assign (self->pending, x);
    baton_conn_set_id (c, x->id);
    baton_envelope_set_id (e, x->id, x->id_len);
    baton_envelope_set_reply_to (e, self->reply_to, self->reply_to_len);
    //  With CURVE, each hop learns whom it may answer and whom it forwards
    //  to from the envelope: the keys the gateway trusts for them.
    if (self->cert)
        baton_envelope_set_reply_key (e, baton__cert_public_key (self->cert), BATON_KEY_LEN);
    //  One live replica per hop, least outstanding first: the route the
    //  envelope carries is concrete, so no hop has to look anything up.
    x->hop_count = 0;
    for (size_t i = 0; i < route->chain_len; i++) {
        const baton_config_function_t *fn = route->chain[i];
        baton_replica_t *rep = baton_topology_pick (self->topo, fn->index);
        if (!rep) {
            baton_pending_done (self->pending, x, false);
            baton_envelope_destroy (&e);
            baton_metrics_reject (self->metrics, BATON_REJECT_UNREACHABLE);
            char detail[160];
            snprintf (detail, sizeof detail, "function %s has no live replica", fn->name);
            baton_conn_respond_error (c, 503, detail, false, "Retry-After: 1\r\n");
            return -1;
        }
        baton_topology_acquire (rep);
        x->hops[x->hop_count++] = rep;
        if (i == 0)
            x->peer = (s_peer_t *) rep->user;
        baton_envelope_route_append (e, fn->name, strlen (fn->name), rep->endpoint,
                                     strlen (rep->endpoint));
        if (self->cert)
            baton_envelope_set_route_key (e, i, rep->key, BATON_KEY_LEN);
    }
    //  The chain's length: the config refuses a chain over gateway.max_budget.
    baton_envelope_set_budget (e, route->chain_len);
    x->deadline_ms = (baton__mono_us () + 999) / 1000 + route->deadline_ms; //  never before it
    baton_envelope_set_deadline_ms (e, baton__wall_ms () + route->deadline_ms);
    char tp[56];
    s_traceparent (self, req, tp);
    baton_envelope_set_traceparent (e, tp, 55);
    baton_envelope_set_request (e, req->method.ptr, req->method.len, req->target.ptr,
                                req->target.len);
    for (size_t i = 0; i < req->header_count; i++) {
        const baton_header_t *h = &req->headers[i];
        baton_envelope_request_add_header (e, h->name.ptr, h->name.len, h->value.ptr, h->value.len);
    }
    x->env = e;
    return 0;
}

//  --- sending it --------------------------------------------------------------------

static void
s_free_buf (void *data, void *hint)
{
    (void) hint;
    free (data);
}

//  Encodes env in one pass into a buffer that msg then owns (zero copy).
static int
s_encode_msg (const baton_envelope_t *env, zmq_msg_t *msg)
{
    void *buf;
    size_t len;
    if (baton_envelope_encode (env, &buf, &len) != 0)
        return -1;
    if (zmq_msg_init_data (msg, buf, len, s_free_buf, NULL) != 0) {
        free (buf);
        return -1;
    }
    return 0;
}

//  When to stop trying to hand an envelope to peer and answer 503.
static uint64_t
s_give_up_ms (const s_peer_t *peer)
{
    uint64_t now = baton_topology_now_ms ();
    uint64_t handshake_end = peer->connected_ms + S_SEND_FIRST_TIMEOUT_MS;
    return now + S_SEND_TIMEOUT_MS > handshake_end ? now + S_SEND_TIMEOUT_MS : handshake_end;
}

void
baton_dispatch_clear (baton_exchange_t *x)
{
    baton_envelope_destroy (&x->env);
    if (x->out_live) {
        zmq_msg_close (&x->out);
        x->out_live = false;
    }
}

//  The first hop's replica did not take the envelope at once (gone, not yet
//  connected, or full): if another replica of that function is alive, route
//  the envelope to it instead and send again. Returns true if it did.
static bool
s_failover (baton_dispatch_t *self, baton_exchange_t *x)
{
    if (!x->env || x->tried_count >= sizeof x->tried / sizeof x->tried[0])
        return false;
    baton_replica_t *failed = x->hops[0];
    x->tried[x->tried_count++] = failed;
    baton_replica_t *alt =
        baton_topology_pick_except (self->topo, failed->function, x->tried, x->tried_count);
    if (!alt)
        return false;
    //  Not taking a message is no verdict on a replica (it may be reconnecting
    //  after a restart); a dead one is found by its missing heartbeats.
    baton_topology_abandon (failed);
    baton_topology_acquire (alt);
    x->hops[0] = alt;
    x->peer = (s_peer_t *) alt->user;
    baton_envelope_route_set_endpoint (x->env, 0, alt->endpoint, strlen (alt->endpoint));
    if (self->cert)
        baton_envelope_set_route_key (x->env, 0, alt->key, BATON_KEY_LEN);
    zmq_msg_close (&x->out);
    x->out_live = s_encode_msg (x->env, &x->out) == 0;
    if (!x->out_live)
        return false;
    x->give_up_ms = s_give_up_ms (x->peer);
    baton_dispatch_send (self, x);
    return true;
}

void
baton_dispatch_send (baton_dispatch_t *self, baton_exchange_t *x)
{
    baton_turn_remove (&self->turn->sends, &x->send_link); //  a timer may send it before its turn
    int rc = zmq_msg_send (&x->out, x->peer->sock, ZMQ_DONTWAIT);
    int why = errno;
    if (rc < 0 && why == EAGAIN && s_failover (self, x))
        return;
    if (rc >= 0) {
        x->out_live = false; //  zmq owns it now
        baton_envelope_destroy (&x->env);
        baton_pending_wait (self->pending, x);
    } else if (why == EAGAIN && baton_topology_now_ms () < x->give_up_ms) {
        baton_conn_timer (x->conn, S_SEND_RETRY_MS);
    } else {
        baton_pending_done (self->pending, x, true);
        baton_dispatch_clear (x);
        baton_metrics_reject (self->metrics, BATON_REJECT_UNREACHABLE);
        char detail[160];
        snprintf (detail, sizeof detail, "function %s did not take the request (no live replica)",
                  x->route->chain[0]->name);
        baton_conn_respond_error (x->conn, 503, detail, false, "Retry-After: 1\r\n");
    }
    //  The reply socket is drained after every send (ZMQ_FD is edge-triggered):
    //  once, before the loop blocks, however many sends this turn made.
    self->turn->drain_owed = true;
    baton_turn_owe (self->turn);
}

void
baton_dispatch_submit (baton_dispatch_t *self, baton_exchange_t *x, const char *body, size_t len)
{
    baton_envelope_t *e = x->env;
    if (len)
        baton_envelope_set_body (e, body, len);
    if ((len && baton_envelope_body (e).len != len) || s_encode_msg (e, &x->out) != 0) {
        baton_pending_done (self->pending, x, false);
        baton_dispatch_clear (x);
        baton_conn_respond_error (x->conn, 500, "out of memory", true, NULL);
        return;
    }
    x->out_live = true;
    //  The envelope is kept until the first hop takes it: another replica
    //  may have to be written into its route.
    x->tried_count = 0;
    baton_pending_add (self->pending, x);
    x->give_up_ms = s_give_up_ms (x->peer);
    //  Sent before the loop blocks, with every other envelope this loop turn
    //  made: libzmq's I/O thread, woken by the first, then finds the others
    //  already queued and writes them in one system call, instead of being
    //  woken again for each (a wake-up costs more than the send).
    baton_turn_push (self->turn, &self->turn->sends, &x->send_link);
}

void
baton_dispatch_flush (baton_dispatch_t *self)
{
    baton_turn_link_t *l;
    while ((l = baton_turn_pop (&self->turn->sends)))
        baton_dispatch_send (
            self, (baton_exchange_t *) ((char *) l - offsetof (baton_exchange_t, send_link)));
}

void
baton_dispatch_cancel (baton_dispatch_t *self, baton_exchange_t *x)
{
    baton_turn_remove (&self->turn->sends, &x->send_link);
}
