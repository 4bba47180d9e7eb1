/*  replies.c - drains the reply socket and turns each reply envelope into
 *  the response of the request waiting for it: status, the hop's headers
 *  (only well-formed ones, never framing), Server-Timing from the record,
 *  traceparent, X-Request-Id, body.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edge/replies.h"
#include "http/text.h"
#include "log.h"

#define S_COMP "gateway"

struct baton_replies {
    void *sock;
    bool curve; //  replies carry their sender's identity: check it
    uv_poll_t poll;
    bool polling;
    const baton_config_t *config;
    baton_pending_t *pending;
    baton_metrics_t *metrics;
    baton_turn_t *turn;
    baton_dispatch_t *dispatch;
    baton_probes_t *probes;
    char endpoint[300];
};

//  --- checking what a hop sends back ------------------------------------------------

static bool
s_is_tchar (unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr ("!#$%&'*+-.^_`|~", ch));
}

static bool
s_is_token (baton_slice_t s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!s_is_tchar ((unsigned char) s.ptr[i]))
            return false;
    return true;
}

//  A field value a hop may send back: no CR, LF, NUL or other CTL but HTAB.
static bool
s_is_field_value (baton_slice_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char) s.ptr[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

static bool
s_slice_eq (baton_slice_t s, const char *str)
{
    size_t n = strlen (str);
    return s.len == n && memcmp (s.ptr, str, n) == 0;
}

//  Headers the gateway writes itself or that only mean something per hop.
static bool
s_is_framing_header (baton_slice_t name)
{
    static const char *const drop[] = {"content-length", "transfer-encoding", "connection",
                                       "keep-alive",     "upgrade",           "te",
                                       "trailer",        "proxy-connection",  "server-timing",
                                       "x-request-id",   "traceparent",       "date"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        if (baton__slice_is (name, drop[i]))
            return true;
    return false;
}

static void
s_text_header (baton_text_t *t, baton_slice_t name, baton_slice_t value)
{
    baton_text_reserve (t, name.len + value.len + 5);
    baton_text_put (t, name.ptr, name.len);
    baton_text_lit (t, ": ");
    baton_text_put (t, value.ptr, value.len);
    baton_text_lit (t, "\r\n");
}

//  --- the response ------------------------------------------------------------------

//  Server-Timing from the record: one entry per hop, in order; each hop's
//  time counts in its function's metrics.
static void
s_server_timing (baton_replies_t *self, const baton_exchange_t *x, const baton_envelope_t *env,
                 baton_text_t *head, size_t hops)
{
    const baton_config_route_t *route = x->route;
    baton_text_lit (head, "Server-Timing: ");
    for (size_t i = 0; i < hops; i++) {
        baton_record_t r = baton_envelope_record (env, i);
        uint64_t dur = r.t_out_us >= r.t_in_us ? r.t_out_us - r.t_in_us : 0;
        char name[65];
        size_t n = 0;
        for (size_t k = 0; k < r.name.len && n < 64; k++)
            name[n++] = s_is_tchar ((unsigned char) r.name.ptr[k]) ? r.name.ptr[k] : '_';
        name[n] = '\0';
        if (i)
            baton_text_lit (head, ", ");
        if (n)
            baton_text_put (head, name, n);
        else
            baton_text_lit (head, "hop");
        //  Milliseconds with three decimals, from integer microseconds.
        baton_text_lit (head, ";dur=");
        baton_text_uint (head, dur / 1000);
        char frac[4] = {'.', (char) ('0' + dur / 100 % 10), (char) ('0' + dur / 10 % 10),
                        (char) ('0' + dur % 10)};
        baton_text_put (head, frac, 4);
        //  Entry i is normally hop i of the route: no lookup by name then.
        const baton_config_function_t *fn =
            i < route->chain_len && s_slice_eq (r.name, route->chain[i]->name)
                ? route->chain[i]
                : baton_config_function_find (self->config, r.name.ptr, r.name.len);
        if (fn)
            baton_metrics_hop (self->metrics, fn->index, dur);
    }
    //  The version the request ran: tokens only, which a quoted string
    //  holds as they are.
    const char *v = baton_envelope_version_pin (env);
    bool token = v[0] != '\0';
    for (const char *p = v; token && *p; p++)
        token = s_is_tchar ((unsigned char) *p);
    if (token) {
        baton_text_lit (head, ", baton;desc=\"version=");
        baton_text_put (head, v, strlen (v));
        baton_text_lit (head, "\"");
    }
    baton_text_lit (head, "\r\n");
}

//  Turns the reply env (consumed) into the response of x.
static void
s_respond (baton_replies_t *self, baton_exchange_t *x, baton_envelope_t *env)
{
    baton_conn_t *c = x->conn;
    unsigned status = baton_envelope_status (env);
    if (status < 200 || status > 599) {
        baton__log (BATON_LOG_WARN, S_COMP, "reply with an invalid status", "status=%u id=%s",
                    status, x->id);
        baton_envelope_destroy (&env);
        baton_conn_respond_error (c, 502, "a hop replied with an invalid status", false, NULL);
        return;
    }
    baton_text_t head = {NULL, 0, 0};
    baton_conn_head_begin (c, &head, status);
    size_t dropped = 0;
    for (size_t i = 0; i < baton_envelope_header_count (env); i++) {
        baton_header_t h = baton_envelope_header (env, i);
        if (!s_is_token (h.name) || !s_is_field_value (h.value)) {
            dropped++; //  a hop's bytes never split our response
            continue;
        }
        if (!s_is_framing_header (h.name))
            s_text_header (&head, h.name, h.value);
    }
    if (dropped)
        baton__log (BATON_LOG_WARN, S_COMP, "dropped invalid reply headers", "count=%zu", dropped);
    size_t hops = baton_envelope_record_count (env);
    if (hops)
        s_server_timing (self, x, env, &head, hops);
    baton_slice_t tp = baton_envelope_traceparent (env);
    if (tp.len == 55 && s_is_field_value (tp))
        s_text_header (&head, (baton_slice_t){"traceparent", 11}, tp);
    baton_text_lit (&head, "X-Request-Id: ");
    baton_text_put (&head, x->id, x->id_len);
    baton_text_lit (&head, "\r\n");
    baton_slice_t body = baton_envelope_body (env);
    bool no_body = status == 204 || status == 304;
    if (!no_body) {
        baton_text_lit (&head, "Content-Length: ");
        baton_text_uint (&head, body.len);
        baton_text_lit (&head, "\r\n");
    }
    baton_text_lit (&head, "\r\n");
    baton_conn_respond_envelope (c, status, hops, &head, no_body ? NULL : body.ptr,
                                 no_body ? 0 : body.len, &env);
}

//  True if peer is one of the n functions of chain.
static bool
s_in_chain (const baton_config_function_t *const *chain, size_t n, const baton_peer_t *peer)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = chain[i]->name;
        if (strlen (name) == peer->name_len && memcmp (name, peer->name, peer->name_len) == 0)
            return true;
    }
    return false;
}

//  True if peer, the sender of a reply, is a function on x's route or on
//  one of its branches: only they may answer it (a hop that replies early,
//  fails, or ends the chain).
static bool
s_on_route (const baton_exchange_t *x, const baton_peer_t *peer)
{
    if (peer->role != BATON_ROLE_FUNCTION)
        return false;
    if (s_in_chain (x->route->chain, x->route->chain_len, peer))
        return true;
    for (size_t b = 0; b < x->route->branch_count; b++)
        if (s_in_chain (x->route->branches[b].chain, x->route->branches[b].chain_len, peer))
            return true;
    return false;
}

//  Counts and logs (rate-limited) a reply not delivered, with what is known
//  of its sender: address, identity, key.
static void
s_refuse (baton_replies_t *self, const zmq_msg_t *msg, baton_slice_t id, baton_reply_refusal_t why)
{
    static baton_ratelimit_t rl = BATON_RATELIMIT_INIT (5, 1000);
    baton_metrics_reply_refused (self->metrics, why);
    if (!baton__ratelimit_allow (&rl))
        return;
    char qid[160], who[300];
    baton__log (BATON_LOG_WARN, S_COMP,
                why == BATON_REPLY_REFUSED_ID
                    ? "reply refused: the id names a request with another nonce"
                    : "reply refused: the sender is not a function on the request's route",
                "id=%s %s", baton__log_quote (qid, sizeof qid, id.ptr, id.len),
                baton__zap_describe (msg, who, sizeof who));
}

//  x's reply env says the hop it names did not take the envelope (503 from
//  the hop before it): that replica is probed, and x is sent again avoiding
//  it if it may be. The fault is the link between the two, so when nothing
//  else can take the next hop (its only live replica, or the others on its
//  host) the retry avoids the sender instead: the next replica may well be
//  reachable from another one. Returns true if it was sent again.
static bool
s_retry (baton_replies_t *self, baton_exchange_t *x, const baton_envelope_t *env)
{
    //  Such a 503 comes with the route advanced past the hop that sent it:
    //  its index names the next hop, its record ends with the sender's entry.
    size_t at = baton_envelope_index (env);
    if (baton_envelope_status (env) != 503 || at == 0 || at >= x->hop_count ||
        baton_envelope_record_count (env) != at)
        return false;
    baton_replica_t *failed = x->hops[at], *sender = x->hops[at - 1];
    failed->probe_wanted = true;
    return baton_dispatch_retry (self->dispatch, x, failed) ||
           baton_dispatch_retry (self->dispatch, x, sender);
}

static void
s_on_reply (void *arg, zmq_msg_t *msg)
{
    baton_replies_t *self = (baton_replies_t *) arg;
    int err;
    baton_envelope_t *env =
        baton_envelope_decode (zmq_msg_data (msg), zmq_msg_size (msg), NULL, &err);
    if (!env) {
        static baton_ratelimit_t rl = BATON_RATELIMIT_INIT (5, 1000);
        baton_metrics_bad_reply (self->metrics);
        if (baton__ratelimit_allow (&rl))
            baton__log (BATON_LOG_WARN, S_COMP, "reply dropped: does not decode", "error=%s",
                        baton_errname (err));
        return;
    }
    baton_slice_t id = baton_envelope_id (env);
    baton_pending_miss_t miss;
    baton_exchange_t *x = baton_pending_find (self->pending, id, &miss);
    baton_peer_t peer;
    bool known = !self->curve || baton__zap_peer (msg, &peer) == 0;
    baton_reply_refusal_t why = BATON_REPLY_REFUSED__COUNT;
    if (miss == BATON_PENDING_FORGED)
        why = BATON_REPLY_REFUSED_ID;
    else if (x && (!known || (self->curve && !s_on_route (x, &peer))))
        why = BATON_REPLY_REFUSED_ROUTE;
    //  The real reply still comes, and is delivered.
    if (why != BATON_REPLY_REFUSED__COUNT) {
        s_refuse (self, msg, id, why);
        baton_envelope_destroy (&env);
        return;
    }
    if (!x && miss == BATON_PENDING_UNKNOWN && known && self->probes &&
        baton_probes_reply (self->probes, id, baton_envelope_status (env),
                            self->curve ? &peer : NULL, baton_topology_now_ms ())) {
        baton_envelope_destroy (&env);
        return;
    }
    if (!x || x->state != BATON_EXCHANGE_WAITING) {
        baton__log (BATON_LOG_DEBUG, S_COMP, "late reply", "id=%.*s found=%d state=%d retried=%d",
                    (int) id.len, id.ptr, x != NULL, x ? (int) x->state : -1,
                    miss == BATON_PENDING_RETRIED);
        if (miss == BATON_PENDING_RETRIED)
            baton_metrics_late_retried (self->metrics);
        else
            baton_metrics_late_reply (self->metrics);
        baton_envelope_destroy (&env);
        return;
    }
    if (self->dispatch && s_retry (self, x, env)) {
        baton_envelope_destroy (&env);
        return;
    }
    baton_pending_done (self->pending, x);
    s_respond (self, x, env);
}

void
baton_replies_drain (baton_replies_t *self)
{
    self->turn->drain_owed = false; //  this drain comes after every send so far
    baton__zmq_drain (self->sock, s_on_reply, self);
}

static void
s_on_ready (uv_poll_t *p, int status, int events)
{
    (void) status;
    (void) events;
    baton_replies_drain ((baton_replies_t *) p->data);
}

//  --- the socket ---------------------------------------------------------------------

baton_replies_t *
baton_replies_new (void *zctx, uv_loop_t *loop, const baton_config_t *config,
                   baton_pending_t *pending, baton_metrics_t *metrics, baton_turn_t *turn,
                   baton_zap_t *zap, char *err, size_t errlen)
{
    baton_replies_t *self = (baton_replies_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->config = config;
    self->pending = pending;
    self->metrics = metrics;
    self->turn = turn;
    const char *reply = baton_config_gateway (config)->reply;
    self->sock = zmq_socket (zctx, ZMQ_PULL);
    int zero = 0, hwm = 100000;
    int64_t maxsize = (int64_t) baton_config_limits (config)->body + (1 << 20);
    zmq_setsockopt (self->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (self->sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    self->curve = zap != NULL;
    if (baton__zmq_bind (self->sock, reply, baton_config_security (config)->cert, zap, "reply", err,
                         errlen) != 0) {
        baton_replies_destroy (&self);
        return NULL;
    }
    //  What we bound, with a wildcard port filled in; a wildcard host is no
    //  address to send to, so it is written as loopback (set gateway.reply
    //  to a routable address when hops run on other hosts).
    char bound[256];
    size_t blen = sizeof bound;
    if (zmq_getsockopt (self->sock, ZMQ_LAST_ENDPOINT, bound, &blen) != 0 || blen < 2)
        snprintf (bound, sizeof bound, "%s", reply);
    const char *any = strstr (bound, "0.0.0.0");
    if (any)
        snprintf (self->endpoint, sizeof self->endpoint, "%.*s127.0.0.1%s", (int) (any - bound),
                  bound, any + 7);
    else
        snprintf (self->endpoint, sizeof self->endpoint, "%s", bound);
    int fd;
    size_t fdlen = sizeof fd;
    zmq_getsockopt (self->sock, ZMQ_FD, &fd, &fdlen);
    uv_poll_init (loop, &self->poll, fd);
    self->poll.data = self;
    self->polling = true;
    uv_poll_start (&self->poll, UV_READABLE, s_on_ready);
    return self;
}

void
baton_replies_attach (baton_replies_t *self, baton_dispatch_t *dispatch, baton_probes_t *probes)
{
    self->dispatch = dispatch;
    self->probes = probes;
}

int
baton__zmq_bind (void *sock, const char *endpoint, const baton_cert_t *cert, baton_zap_t *zap,
                 const char *what, char *err, size_t errlen)
{
    if (zap && baton__curve_server (sock, cert, NULL) != 0) {
        snprintf (err, errlen, "cannot make the %s socket a CURVE server: %s", what,
                  zmq_strerror (errno));
        return -1;
    }
    if (zmq_bind (sock, endpoint) != 0) {
        snprintf (err, errlen, "cannot bind the %s socket at %s: %s", what, endpoint,
                  zmq_strerror (errno));
        return -1;
    }
    if (zap && baton__zap_watch (zap, sock) != 0) {
        snprintf (err, errlen, "cannot watch the %s socket's handshakes", what);
        return -1;
    }
    return 0;
}

void
baton_replies_close (baton_replies_t *self)
{
    if (!self->polling)
        return;
    self->polling = false;
    uv_close ((uv_handle_t *) &self->poll, NULL);
}

void
baton_replies_destroy (baton_replies_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->sock)
        zmq_close ((*self_p)->sock);
    free (*self_p);
    *self_p = NULL;
}

const char *
baton_replies_endpoint (const baton_replies_t *self)
{
    return self->endpoint;
}
