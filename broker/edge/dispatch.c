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
#include "route_seal.h"
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
baton_dispatch_new (void *zctx, baton_topology_t *topo, baton_pending_t *pending,
                    baton_metrics_t *metrics, baton_turn_t *turn, const char *reply_to,
                    const baton_cert_t *cert, const uint64_t seed[2])
{
    baton_dispatch_t *self = (baton_dispatch_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->zctx = zctx;
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
    //  backing off to 250 ms while it stays away: a restart is seen (by a
    //  probe or a request) well within a second.
    int ivl = 10, ivl_max = 250;
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    //  A connection whose host went away (a cut link resets nothing) is
    //  found dead by ZMTP heartbeats and dropped, and connects are tried
    //  afresh: once the link is back, a new connection is up at once instead
    //  of waiting for TCP's retransmission backoff on the old one.
    int beat = 250, beat_timeout = 1000, connect_timeout = 500;
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_IVL, &beat, sizeof beat);
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_TIMEOUT, &beat_timeout, sizeof beat_timeout);
    zmq_setsockopt (sock, ZMQ_CONNECT_TIMEOUT, &connect_timeout, sizeof connect_timeout);
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

//  No replica of fn is alive (of version, when fn is versioned and version
//  is not NULL): answers x 503 at once.
static void
s_unreachable (baton_dispatch_t *self, baton_exchange_t *x, const baton_config_function_t *fn,
               const char *version)
{
    baton_metrics_reject (self->metrics, BATON_REJECT_UNREACHABLE);
    char detail[240];
    if (version && baton_topology_versioned (self->topo, baton_topology_function (self->topo, fn)))
        snprintf (detail, sizeof detail, "function %s has no live replica of version %s", fn->name,
                  version);
    else
        snprintf (detail, sizeof detail, "function %s has no live replica", fn->name);
    baton_conn_respond_error (x->conn, 503, detail, false, "Retry-After: 1\r\n");
}

//  --- the request's version -------------------------------------------------------

//  FNV-1a, 64 bits: the stable hash of a split's key (docs/gateway.md,
//  "Versions and splits").
static uint64_t
s_fnv1a (const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char) p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

//  True if name is lower (len bytes, lower case) without case.
static bool
s_name_is (baton_slice_t name, const char *lower, size_t len)
{
    if (name.len != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name.ptr[i];
        if ((c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c) != lower[i])
            return false;
    }
    return true;
}

//  The value of the cookie called name (len bytes) in the Cookie header
//  value v ("a=1; b=2"), into *out. False if v has none.
static bool
s_cookie (baton_slice_t v, const char *name, size_t len, baton_slice_t *out)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        const char *pair = p;
        while (p < end && *p != ';')
            p++;
        const char *eq = (const char *) memchr (pair, '=', (size_t) (p - pair));
        if (eq && (size_t) (eq - pair) == len && memcmp (pair, name, len) == 0) {
            const char *stop = p;
            while (stop > eq + 1 && (stop[-1] == ' ' || stop[-1] == '\t'))
                stop--;
            *out = (baton_slice_t){eq + 1, (size_t) (stop - eq - 1)};
            return true;
        }
    }
    return false;
}

//  The value sp is keyed by in req: the first header of its name, or its
//  cookie in the first Cookie header that has it, into *out. False if none.
static bool
s_split_key (const baton_config_split_t *sp, const baton_http_request_t *req, baton_slice_t *out)
{
    bool cookie = sp->by == BATON_CONFIG_SPLIT_COOKIE;
    for (size_t i = 0; i < req->header_count; i++) {
        const baton_header_t *h = &req->headers[i];
        if (cookie && s_name_is (h->name, "cookie", 6) &&
            s_cookie (h->value, sp->key, sp->key_len, out))
            return true;
        if (!cookie && s_name_is (h->name, sp->key, sp->key_len)) {
            *out = h->value;
            return true;
        }
    }
    return false;
}

//  The version every hop of req, on route, runs: the route's own, its
//  split's (the key's bucket; without a key, a random one), or NULL (any).
static const char *
s_choose_version (baton_dispatch_t *self, const baton_config_route_t *route,
                  const baton_http_request_t *req)
{
    const baton_config_split_t *sp = &route->split;
    if (!sp->count)
        return route->version;
    baton_slice_t key;
    uint64_t bucket = s_split_key (sp, req, &key) ? s_fnv1a (key.ptr, key.len) : s_rand (self);
    bucket %= sp->total;
    size_t i = 0;
    //  The weights add up to total, which bucket is below: i stays in range.
    while (bucket >= sp->weights[i])
        bucket -= sp->weights[i++];
    return sp->versions[i];
}

//  The version x runs, as its envelope carries it (written by begin), in
//  its route's own string; NULL (any) without one.
static const char *
s_version (const baton_exchange_t *x)
{
    const baton_config_route_t *route = x->route;
    if (route->version || !route->split.count || !x->env)
        return route->version;
    const char *v = baton_envelope_version_pin (x->env);
    for (size_t i = 0; i < route->split.count; i++)
        if (strcmp (route->split.versions[i], v) == 0)
            return route->split.versions[i];
    return NULL;
}

int
baton_dispatch_begin (baton_dispatch_t *self, baton_exchange_t *x, baton_conn_t *c,
                      const baton_config_route_t *route)
{
    const baton_http_request_t *req = baton_conn_request (c);
    baton_dispatch_clear (x);
    x->conn = c;
    x->route = route;
    x->hop_count = 0;
    //  Every function needs a live replica (of the request's version); they
    //  are picked once the body is in (baton_dispatch_submit): a body that
    //  never comes holds none. The route may be of the config before a
    //  reload: functions go by name.
    const char *version = s_choose_version (self, route, req);
    for (size_t i = 0; i < route->chain_len; i++)
        if (!baton_topology_has_alive (
                self->topo, baton_topology_function (self->topo, route->chain[i]), version)) {
            s_unreachable (self, x, route->chain[i], version);
            return -1;
        }
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
    //  The chain and its longest branch: the config refuses a route over
    //  gateway.max_budget.
    size_t longest = 0;
    for (size_t b = 0; b < route->branch_count; b++)
        if (route->branches[b].chain_len > longest)
            longest = route->branches[b].chain_len;
    baton_envelope_set_budget (e, route->chain_len + longest);
    x->deadline_ms = (baton__mono_us () + 999) / 1000 + route->deadline_ms; //  never before it
    baton_envelope_set_deadline_ms (e, baton__wall_ms () + route->deadline_ms);
    char tp[56];
    s_traceparent (self, req, tp);
    baton_envelope_set_traceparent (e, tp, 55);
    if (version)
        baton_envelope_set_version_pin (e, version, strlen (version));
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

static void s_hop_down (baton_dispatch_t *self, baton_exchange_t *x, baton_replica_t *r);

static void
s_free_buf (void *data, void *hint)
{
    (void) hint;
    free (data);
}

//  Seals env's route with the mesh key of the config in force, if it has
//  one (docs/security.md, "Sealed routes"), then encodes it in one pass into
//  a buffer that msg then owns (zero copy). Called before every send: the
//  seal covers the id and the endpoints, which a retry or a failover change.
static int
s_encode_msg (baton_dispatch_t *self, baton_envelope_t *env, zmq_msg_t *msg)
{
    const uint8_t *key = baton_config_security (baton_topology_config (self->topo))->mesh_key;
    if (key && baton__route_seal_set (env, key) != 0)
        return -1;
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

//  Moves hop i of x's route from its replica to to.
static void
s_reroute (baton_dispatch_t *self, baton_exchange_t *x, size_t i, baton_replica_t *to)
{
    baton_topology_abandon (x->hops[i]);
    baton_topology_acquire (to);
    baton_topology_count_hop (self->topo, to);
    x->hops[i] = to;
    baton_envelope_route_set_endpoint (x->env, i, to->endpoint, strlen (to->endpoint));
    if (self->cert)
        baton_envelope_set_route_key (x->env, i, to->key, BATON_KEY_LEN);
}

//  The first hop's replica did not take the envelope at once (gone, not yet
//  connected, or full): if another replica of that function is alive, route
//  the envelope to it instead and send again. The later hops that were on
//  the failed replica's host move off it too where they can: a host the
//  gateway cannot reach now is likely one the others cannot reach either
//  (its link just came back, say), and a retry that chose that host for the
//  whole route would otherwise cross to it from the new first hop. Nothing
//  has run yet, so this costs no retry. Returns true if it sent again.
static bool
s_failover (baton_dispatch_t *self, baton_exchange_t *x)
{
    if (!x->env || x->tried_count >= sizeof x->tried / sizeof x->tried[0])
        return false;
    baton_replica_t *failed = x->hops[0];
    x->tried[x->tried_count++] = failed;
    baton_replica_t *alt = baton_topology_pick_except (self->topo, failed->function, s_version (x),
                                                       x->tried, x->tried_count);
    if (!alt)
        return false;
    //  Not taking a message is no verdict on a replica (it may be reconnecting
    //  after a restart); a dead one is found by its missing heartbeats.
    s_reroute (self, x, 0, alt);
    x->peer = (s_peer_t *) alt->user;
    if (failed->host[0] && strcmp (alt->host, failed->host) != 0)
        for (size_t i = 1; i < x->hop_count; i++) {
            if (strcmp (x->hops[i]->host, failed->host) != 0)
                continue;
            baton_replica_t *away =
                baton_topology_pick_away (self->topo, x->hops[i]->function, s_version (x), failed);
            if (away && strcmp (away->host, failed->host) != 0)
                s_reroute (self, x, i, away);
        }
    zmq_msg_close (&x->out);
    x->out_live = s_encode_msg (self, x->env, &x->out) == 0;
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
        if (!x->retries_left)
            baton_envelope_destroy (&x->env);
        baton_pending_wait (self->pending, x);
        //  A replica of its route found dead while it waited to be sent
        //  (fail fast passed it by) fails it now.
        for (size_t i = 0; i < x->hop_count; i++)
            if (x->hops[i]->state == BATON_REPLICA_DEAD ||
                x->hops[i]->state == BATON_REPLICA_EJECTED) {
                s_hop_down (self, x, x->hops[i]);
                break;
            }
    } else if (why == EAGAIN && baton_topology_now_ms () < x->give_up_ms) {
        baton_conn_timer (x->conn, S_SEND_RETRY_MS);
    } else {
        baton_pending_done (self->pending, x);
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

//  Methods RFC 9110 calls idempotent: sending one twice does what once does.
static bool
s_idempotent (baton_slice_t method)
{
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof idempotent / sizeof idempotent[0]; i++)
        if (baton__slice_is (method, idempotent[i]))
            return true;
    return false;
}

//  Picks one live replica per hop of x's route, of its version, least
//  outstanding first, never avoid (and off its host if possible): into
//  picks. Returns the function with none, or NULL.
static const baton_config_function_t *
s_pick (baton_dispatch_t *self, const baton_exchange_t *x, baton_replica_t *avoid,
        baton_replica_t **picks)
{
    const char *version = s_version (x);
    for (size_t i = 0; i < x->route->chain_len; i++) {
        const baton_config_function_t *fn = x->route->chain[i];
        picks[i] = baton_topology_pick_away (self->topo, baton_topology_function (self->topo, fn),
                                             version, avoid);
        if (!picks[i])
            return fn;
    }
    return NULL;
}

//  Writes the branches of x's route into its envelope, a replica picked for
//  each of their hops as for the chain's (of its version, never avoid) but
//  not acquired: a branch not taken holds nothing. Returns the function with
//  no live replica, or NULL.
static const baton_config_function_t *
s_branches (baton_dispatch_t *self, baton_exchange_t *x, baton_replica_t *avoid)
{
    const char *version = s_version (x);
    baton_envelope_clear_branches (x->env);
    for (size_t b = 0; b < x->route->branch_count; b++) {
        const baton_config_branch_t *br = &x->route->branches[b];
        baton_envelope_branch_add (x->env, br->name, strlen (br->name));
        for (size_t i = 0; i < br->chain_len; i++) {
            const baton_config_function_t *fn = br->chain[i];
            baton_replica_t *rep = baton_topology_pick_away (
                self->topo, baton_topology_function (self->topo, fn), version, avoid);
            if (!rep)
                return fn;
            baton_envelope_branch_append (x->env, b, fn->name, strlen (fn->name), rep->endpoint,
                                          strlen (rep->endpoint));
            if (self->cert)
                baton_envelope_set_branch_key (x->env, b, i, rep->key, BATON_KEY_LEN);
        }
    }
    return NULL;
}

//  Holds picks as x's route, written into its envelope: concrete, so no hop
//  has to look anything up.
static void
s_route (baton_dispatch_t *self, baton_exchange_t *x, baton_replica_t *const *picks)
{
    bool append = baton_envelope_route_count (x->env) == 0;
    x->hop_count = 0;
    for (size_t i = 0; i < x->route->chain_len; i++) {
        baton_replica_t *rep = picks[i];
        const char *name = x->route->chain[i]->name;
        baton_topology_acquire (rep);
        baton_topology_count_hop (self->topo, rep);
        x->hops[x->hop_count++] = rep;
        if (append)
            baton_envelope_route_append (x->env, name, strlen (name), rep->endpoint,
                                         strlen (rep->endpoint));
        else
            baton_envelope_route_set_endpoint (x->env, i, rep->endpoint, strlen (rep->endpoint));
        if (self->cert)
            baton_envelope_set_route_key (x->env, i, rep->key, BATON_KEY_LEN);
    }
    x->peer = (s_peer_t *) x->hops[0]->user;
}

//  Queues x (IDLE, its envelope complete in x->env) for its first hop: in
//  the table, its envelope encoded, sent before the loop blocks. Answers
//  500 itself when out of memory.
static void
s_queue (baton_dispatch_t *self, baton_exchange_t *x)
{
    if (x->out_live) {
        zmq_msg_close (&x->out);
        x->out_live = false;
    }
    if (s_encode_msg (self, x->env, &x->out) != 0) {
        baton_pending_done (self->pending, x);
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
baton_dispatch_submit (baton_dispatch_t *self, baton_exchange_t *x, const char *body, size_t len)
{
    baton_envelope_t *e = x->env;
    if (len)
        baton_envelope_set_body (e, body, len);
    if (len && baton_envelope_body (e).len != len) {
        baton_dispatch_clear (x);
        baton_conn_respond_error (x->conn, 500, "out of memory", true, NULL);
        return;
    }
    baton_replica_t *picks[BATON_CONFIG_MAX_CHAIN];
    const baton_config_function_t *none = s_pick (self, x, NULL, picks);
    if (!none)
        none = s_branches (self, x, NULL);
    if (none) {
        const char *version = s_version (x);
        baton_dispatch_clear (x);
        s_unreachable (self, x, none, version);
        return;
    }
    s_route (self, x, picks);
    x->retries_left = x->route->retry_attempts                           ? x->route->retry_attempts
                      : s_idempotent (baton_envelope_request_method (e)) ? 1
                                                                         : 0;
    s_queue (self, x);
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

//  --- when a replica on a route fails ------------------------------------------------

bool
baton_dispatch_retry (baton_dispatch_t *self, baton_exchange_t *x, baton_replica_t *failed)
{
    if (!x->env || !x->retries_left || x->state == BATON_EXCHANGE_IDLE ||
        baton_topology_now_ms () >= x->deadline_ms)
        return false;
    baton_replica_t *picks[BATON_CONFIG_MAX_CHAIN];
    if (s_pick (self, x, failed, picks) || s_branches (self, x, failed))
        return false; //  nowhere else to go: no retry can avoid it
    x->retries_left--;
    baton_turn_remove (&self->turn->sends, &x->send_link);
    //  A new id: a late reply to the attempt that failed matches nothing. The
    //  envelope keeps its deadline, budget and trace context.
    baton_pending_supersede (self->pending, x);
    baton_pending_assign (self->pending, x);
    baton_envelope_set_id (x->env, x->id, x->id_len);
    s_route (self, x, picks);
    baton_metrics_retry (self->metrics, x->route->index);
    s_queue (self, x);
    return true;
}

//  x's route holds r, which is dead or ejected: x is retried on a route that
//  avoids r if it may be, else answered 502 at once, naming the hop.
static void
s_hop_down (baton_dispatch_t *self, baton_exchange_t *x, baton_replica_t *r)
{
    if (baton_dispatch_retry (self, x, r))
        return;
    baton_turn_remove (&self->turn->sends, &x->send_link);
    baton_pending_done (self->pending, x);
    baton_dispatch_clear (x);
    baton_metrics_fail_fast (self->metrics);
    char detail[400];
    snprintf (detail, sizeof detail,
              "function %s: replica %.256s is %s: the request was lost with it", r->function_name,
              r->endpoint,
              r->state == BATON_REPLICA_EJECTED ? "ejected (its probe failed)" : "dead");
    baton_conn_respond_error (x->conn, 502, detail, false, "Retry-After: 1\r\n");
}

void
baton_dispatch_replica_down (baton_dispatch_t *self, baton_replica_t *r)
{
    uint64_t n = baton_pending_count (self->pending);
    if (n == 0)
        return;
    //  Collected first: a retry or an answer changes the table.
    baton_exchange_t **through = (baton_exchange_t **) malloc (n * sizeof *through);
    if (!through) {
        fputs ("baton: out of memory\n", stderr);
        abort ();
    }
    size_t count = baton_pending_through (self->pending, r, through, n);
    //  One whose first hop has not taken it yet is not lost: its send fails
    //  over to another replica, or answers 503.
    for (size_t i = 0; i < count; i++)
        if (through[i]->state == BATON_EXCHANGE_WAITING || through[i]->hops[0] != r)
            s_hop_down (self, through[i], r);
    free (through);
}

//  --- probes ---------------------------------------------------------------------------

int
baton_dispatch_probe (baton_dispatch_t *self, baton_replica_t *r, const char *id, size_t id_len,
                      uint64_t timeout_ms)
{
    s_peer_t *peer = (s_peer_t *) r->user;
    baton_envelope_t *e = peer ? baton_envelope_new () : NULL;
    if (!e)
        return -1;
    const char *name = r->function_name;
    baton_envelope_set_id (e, id, id_len);
    baton_envelope_set_reply_to (e, self->reply_to, self->reply_to_len);
    baton_envelope_route_append (e, name, strlen (name), r->endpoint, strlen (r->endpoint));
    if (self->cert) {
        baton_envelope_set_reply_key (e, baton__cert_public_key (self->cert), BATON_KEY_LEN);
        baton_envelope_set_route_key (e, 0, r->key, BATON_KEY_LEN);
    }
    baton_envelope_set_budget (e, 1);
    baton_envelope_set_deadline_ms (e, baton__wall_ms () + timeout_ms);
    baton_envelope_set_oam (e, BATON_OAM_PROBE);
    //  An SDK that does not know probes runs its handler on this: an empty
    //  request that changes nothing.
    baton_envelope_set_request (e, "GET", 3, "/", 1);
    zmq_msg_t msg;
    int rc = s_encode_msg (self, e, &msg);
    baton_envelope_destroy (&e);
    if (rc != 0)
        return -1;
    //  Not taken at once (ZMQ_IMMEDIATE: no connection to it) is a failed
    //  probe: a replica that is not there cannot answer. Unless the
    //  connection is new: its handshake may still be under way.
    rc = zmq_msg_send (&msg, peer->sock, ZMQ_DONTWAIT);
    if (rc < 0) {
        zmq_msg_close (&msg);
        return baton_topology_now_ms () < peer->connected_ms + S_SEND_FIRST_TIMEOUT_MS ? 1 : -1;
    }
    self->turn->drain_owed = true;
    baton_turn_owe (self->turn);
    return 0;
}
