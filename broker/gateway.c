/*  gateway.c - the edge: owns the loop, the listeners, the ZeroMQ context
 *  and the control socket, and wires the modules that do the work:
 *    gateway -> http/conn (connections), edge/dispatch (envelope out),
 *               edge/replies (reply in), edge/pending, admin/admin;
 *    dispatch, replies -> pending -> http/conn; admin -> pending, http/conn.
 *  A request: conn parses the head -> baton__conn_on_head routes it -> dispatch
 *  builds the envelope -> conn reads the body -> dispatch queues it -> sent
 *  before the loop blocks -> replies match the reply in pending -> conn
 *  writes it. Replicas: the control socket's heartbeats and edge/probes say
 *  which are alive (replicas.c); hot reload swaps the config in force
 *  (reload.c). Here: the lifecycle: start, signals, graceful drain.  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "gateway_int.h"

static void s_maybe_finish (baton_gateway_t *gw);

//  --- a request, as the connections hand it over -----------------------------------

//  The path of the target, without query; absolute-form keeps what follows
//  the authority.
static baton_slice_t
s_target_path (const baton_http_request_t *req)
{
    const char *p = req->target.ptr, *end = p + req->target.len;
    if (req->form == BATON_HTTP_FORM_ABSOLUTE) {
        const char *scheme = memchr (p, ':', (size_t) (end - p));
        p = scheme ? scheme + 3 : end;
        while (p < end && *p != '/' && *p != '?')
            p++;
        if (p == end || *p == '?')
            return (baton_slice_t){"/", 1};
    }
    const char *q = memchr (p, '?', (size_t) (end - p));
    return (baton_slice_t){p, (size_t) ((q ? q : end) - p)};
}

void
baton__conn_on_head (void *owner, baton_conn_t *c, void *user)
{
    baton_gateway_t *gw = (baton_gateway_t *) owner;
    const baton_http_request_t *req = baton_conn_request (c);
    baton_slice_t path = s_target_path (req);
    if (baton_conn_is_admin (c)) {
        baton_admin_serve (gw->admin_api, c, path);
        return;
    }
    //  The request is routed by the config in force: the connection holds it
    //  until its next request (or its end), however long this one takes.
    baton__slot_t *slot = (baton__slot_t *) user;
    if (slot->gen != gw->gen) {
        baton__gw_gen_release (gw, &slot->gen);
        slot->gen = gw->gen;
        slot->gen->refs++;
    }
    if (baton_conns_draining (gw->conns)) {
        baton_conn_respond_error (c, 503, "the gateway is shutting down", true,
                                  "Retry-After: 1\r\n");
        return;
    }
    baton_route_match_t match;
    baton_route_request_t view = baton_routes_request (req, path);
    baton_route_result_t res = baton_routes_match (gw->routes, &view, &match);
    if (res != BATON_ROUTE_FOUND) {
        char detail[300];
        snprintf (detail, sizeof detail, "no route for %.*s %.*s", (int) req->method.len,
                  req->method.ptr, (int) (path.len > 200 ? 200 : path.len), path.ptr);
        if (res == BATON_ROUTE_NOT_FOUND) {
            baton_metrics_reject (gw->metrics, BATON_REJECT_NO_ROUTE);
            baton_conn_respond_error (c, 404, detail, false, NULL);
        } else {
            baton_metrics_reject (gw->metrics, BATON_REJECT_METHOD);
            char allow[BATON_ROUTES_ALLOW_MAX + 16];
            char value[BATON_ROUTES_ALLOW_MAX];
            baton_routes_allow (gw->routes, match.allow, value, sizeof value);
            snprintf (allow, sizeof allow, "Allow: %s\r\n", value);
            baton_conn_respond_error (c, 405, detail, false, allow);
        }
        return;
    }
    baton_conn_set_route (c, match.route);
    //  An operator's override: another chain for the route, or an answer of
    //  their choosing. One branch while none is set.
    const baton_config_route_t *route = match.route;
    if (baton_overrides_active (gw->overrides)) {
        const baton_override_fail_t *fail;
        route = baton_overrides_route (gw->overrides, route, req->method.ptr, req->method.len,
                                       baton_topology_now_ms (), &fail);
        if (fail) {
            baton_conn_respond_text (c, fail->status, fail->content_type, fail->body,
                                     fail->body_len);
            return;
        }
    }
    if (baton_pending_count (gw->pending) >= gw->gcfg->max_inflight) {
        baton_metrics_reject (gw->metrics, BATON_REJECT_OVERLOAD);
        baton_conn_respond_error (c, 503, "too many requests in flight", false,
                                  "Retry-After: 1\r\n");
        return;
    }
    baton_dispatch_begin (gw->dispatch, (baton_exchange_t *) user, c, route);
}

void
baton__conn_on_request (void *owner, baton_conn_t *c, void *user, const char *body, size_t len)
{
    (void) c;
    baton_dispatch_submit (((baton_gateway_t *) owner)->dispatch, (baton_exchange_t *) user, body,
                           len);
}

void
baton__conn_on_timer (void *owner, baton_conn_t *c, void *user)
{
    (void) c;
    baton_gateway_t *gw = (baton_gateway_t *) owner;
    baton_exchange_t *x = (baton_exchange_t *) user;
    if (x->state == BATON_EXCHANGE_SENDING)
        baton_dispatch_send (gw->dispatch, x);
    else if (x->state == BATON_EXCHANGE_WAITING)
        baton_pending_expire (gw->pending, x);
}

void
baton__conn_on_gone (void *owner, baton_conn_t *c, void *user)
{
    (void) c;
    baton_gateway_t *gw = (baton_gateway_t *) owner;
    baton_exchange_t *x = (baton_exchange_t *) user;
    baton_pending_forget (gw->pending, x);
    baton_dispatch_cancel (gw->dispatch, x);
}

void
baton__conn_on_free (void *owner, baton_conn_t *c, void *user)
{
    (void) c;
    baton_gateway_t *gw = (baton_gateway_t *) owner;
    baton_dispatch_clear ((baton_exchange_t *) user);
    baton__gw_gen_release (gw, &((baton__slot_t *) user)->gen);
    s_maybe_finish (gw);
}

//  Runs before the loop blocks for I/O, while work is owed: the envelopes
//  this turn made, to their first hops; the completions of responses that
//  went out at once; then the drain owed since the last send. Each can owe
//  more of the others (a completion serves a pipelined request, whose
//  envelope is queued; a reply is written at once); it loops, never recurses,
//  until nothing is owed, so no send is ever followed by a wait undrained.
static void
s_on_before_poll (uv_prepare_t *p)
{
    baton_gateway_t *gw = (baton_gateway_t *) p->data;
    baton_turn_t *turn = &gw->turn;
    while (turn->sends.head || turn->written.head || turn->drain_owed) {
        baton_dispatch_flush (gw->dispatch);
        baton_conns_flush (gw->conns);
        if (turn->drain_owed)
            baton_replies_drain (gw->replies);
    }
    uv_prepare_stop (p);
}

//  --- listeners -----------------------------------------------------------------------

static void
s_on_connection (uv_stream_t *server, int status)
{
    baton_gateway_t *gw = (baton_gateway_t *) server->data;
    bool admin = server == (uv_stream_t *) &gw->admin;
    //  While draining, the public listener is closed but the admin one still
    //  accepts, so /-/ready can answer 503. (A connection left unaccepted would
    //  also make libuv stop watching the listener: every later probe hangs.)
    if (status < 0 || (baton_conns_draining (gw->conns) && !admin))
        return;
    baton_conns_accept (gw->conns, server, admin);
}

static int
s_bind (baton_gateway_t *gw, uv_tcp_t *tcp, const baton_config_addr_t *addr, int *port, char *err,
        size_t errlen)
{
    struct sockaddr_storage ss;
    const char *host = strcmp (addr->host, "localhost") == 0 ? "127.0.0.1" : addr->host;
    if (uv_ip4_addr (host, addr->port, (struct sockaddr_in *) &ss) != 0 &&
        uv_ip6_addr (host, addr->port, (struct sockaddr_in6 *) &ss) != 0) {
        snprintf (err, errlen, "%s: not an IP address (use a numeric address)", addr->text);
        return -1;
    }
    uv_tcp_init (gw->loop, tcp);
    tcp->data = gw;
    int rc = uv_tcp_bind (tcp, (const struct sockaddr *) &ss, 0);
    if (rc == 0)
        rc = uv_listen ((uv_stream_t *) tcp, 1024, s_on_connection);
    if (rc != 0) {
        snprintf (err, errlen, "cannot listen on %s: %s", addr->text, uv_strerror (rc));
        return -1;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname (tcp, (struct sockaddr *) &bound, &len);
    *port = ntohs (bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &bound)->sin6_port
                                               : ((struct sockaddr_in *) &bound)->sin_port);
    return 0;
}

//  --- lifecycle ---------------------------------------------------------------------------

//  The reply socket, the peers of the static replicas, the control socket.
static int
s_setup_zmq (baton_gateway_t *gw, const uint64_t seed[2], char *err, size_t errlen)
{
    const baton_cert_t *cert = baton_config_security (gw->config)->cert;
    gw->replies = baton_replies_new (gw->zctx, gw->loop, gw->config, gw->pending, gw->metrics,
                                     &gw->turn, gw->zap, err, errlen);
    if (!gw->replies)
        return -1;
    gw->dispatch = baton_dispatch_new (gw->zctx, gw->topo, gw->pending, gw->metrics, &gw->turn,
                                       baton_replies_endpoint (gw->replies), cert, seed);
    gw->probes = baton_probes_new (gw->topo, gw->dispatch, gw->pending, gw->metrics,
                                   baton__gw_on_replica_change, gw);
    baton_replies_attach (gw->replies, gw->dispatch, gw->probes);
    if (baton__gw_connect_replicas (gw, err, errlen) < 0)
        return -1;
    if (gw->gcfg->control) {
        gw->control_sock = zmq_socket (gw->zctx, ZMQ_PULL);
        int zero = 0;
        int64_t max_control = BATON_CONTROL_MAX_SIZE;
        zmq_setsockopt (gw->control_sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt (gw->control_sock, ZMQ_MAXMSGSIZE, &max_control, sizeof max_control);
        if (baton__zmq_bind (gw->control_sock, gw->gcfg->control, cert, gw->zap, "control", err,
                             errlen) != 0)
            return -1;
        int fd;
        size_t fdlen = sizeof fd;
        zmq_getsockopt (gw->control_sock, ZMQ_FD, &fd, &fdlen);
        uv_poll_init (gw->loop, &gw->control_poll, fd);
        gw->control_poll.data = gw;
        uv_poll_start (&gw->control_poll, UV_READABLE, baton__gw_on_control_ready);
    }
    uv_timer_start (&gw->topo_timer, baton__gw_on_topo_tick, 50, 50);
    return 0;
}

int
baton__gw_connect_replicas (baton_gateway_t *gw, char *err, size_t errlen)
{
    for (size_t f = 0; f < baton_config_function_count (gw->config); f++)
        for (size_t i = 0; i < baton_topology_count (gw->topo, f); i++) {
            baton_replica_t *r = baton_topology_at (gw->topo, f, i);
            if (r->user || baton_dispatch_connect (gw->dispatch, r) == 0)
                continue;
            if (err) {
                snprintf (err, errlen, "function %s: cannot connect to %s: %s", r->function_name,
                          r->endpoint, zmq_strerror (errno));
                return -1;
            }
            r->state = BATON_REPLICA_DEAD;
            baton_topology_log (r, "static endpoint does not connect", BATON_LOG_WARN);
        }
    return 0;
}

//  --- the admin API's way in -------------------------------------------------------

//  After a reload: the overrides end; the admin API shows the new config and
//  reads its token file again (one that cannot be read now, a race with
//  its check at load, leaves the token before in force: logged).
static void
s_on_reload (void *arg, const baton_config_t *config)
{
    baton_gateway_t *gw = (baton_gateway_t *) arg;
    char err[BATON_CONFIG_MAX_ERROR], quoted[2 * BATON_CONFIG_MAX_ERROR];
    baton_overrides_clear (gw->overrides);
    if (baton_admin_configure (gw->admin_api, config, gw->routes, err, sizeof err) != 0)
        baton__log (BATON_LOG_WARN, S_COMP, "admin token not read again: the one before stays",
                    "error=%s", baton__log_quote (quoted, sizeof quoted, err, strlen (err)));
}

baton_reload_result_t
baton__admin_reload (void *owner, char *err, size_t cap)
{
    return baton_gateway_reload ((baton_gateway_t *) owner, err, cap);
}

char *
baton__admin_config_json (void *owner, size_t *len_p)
{
    return baton_gateway_config_json ((const baton_gateway_t *) owner, len_p);
}

uint64_t
baton__admin_generation (void *owner, const char **sha256)
{
    *sha256 = baton_gateway_sha256 ((const baton_gateway_t *) owner);
    return baton_gateway_generation ((const baton_gateway_t *) owner);
}

baton_gateway_t *
baton_gateway_new (const baton_config_t *config, uv_loop_t *loop, char *err, size_t errlen)
{
    //  libuv writes to sockets with write (2), not send (MSG_NOSIGNAL): a
    //  client that resets while its response is being written would kill the
    //  process with SIGPIPE. Ignored, the write fails with EPIPE instead.
    signal (SIGPIPE, SIG_IGN);
    if (baton__gw_check_config (config, true, err, errlen) < 0)
        return NULL;
    //  Seeds the trace ids and the tag. Request ids take their nonces from
    //  getrandom () too: without it they would be guessable.
    uint64_t seed[2];
    if (getrandom (seed, sizeof seed, 0) != (ssize_t) sizeof seed) {
        snprintf (err, errlen, "getrandom (): %s: no unguessable request ids", strerror (errno));
        return NULL;
    }
    baton_gateway_t *gw = (baton_gateway_t *) calloc (1, sizeof *gw);
    if (!gw)
        abort ();
    gw->config = config;
    gw->loop = loop ? loop : uv_default_loop ();
    gw->gcfg = baton_config_gateway (config);
    uint32_t tag = (uint32_t) ((seed[0] ^ seed[1]) * 0x9E3779B97F4A7C15ull >> 32);
    //  The first generation: the caller's config, and the file it came from
    //  as it reads now (for its sha256; reloads read it again).
    snprintf (gw->path, sizeof gw->path, "%s", baton_config_name (config));
    size_t len = 0;
    char *data = baton__gw_read_file (gw->path, &len);
    gw->gen = baton__gw_gen_new (gw, config, NULL, data, len);
    free (data);
    gw->routes = gw->gen->routes;
    gw->metrics = baton_metrics_new (config);
    baton_topology_opts_t topo_opts = {gw->gcfg->heartbeat_misses};
    gw->topo = baton_topology_new (config, &topo_opts);
    gw->pending = baton_pending_new (gw->gcfg->max_inflight, tag, gw->metrics);
    gw->conns =
        baton_conns_new (gw->loop, config, gw->metrics, &gw->turn, gw, sizeof (baton__slot_t));
    //  One ZAP handler for the context: every socket the gateway binds.
    gw->zctx = zmq_ctx_new ();
    const baton_config_security_t *sec = baton_config_security (config);
    if (sec->mode == BATON_SECURITY_CURVE)
        gw->zap = baton__zap_new (gw->zctx, sec->trust, err, errlen);
    gw->overrides = baton_overrides_new (gw->topo);
    gw->admin_api =
        baton_admin_new (gw->topo, gw->metrics, gw->pending, gw->conns, gw->zap, gw->overrides, gw);
    baton_gateway_on_reload (gw, s_on_reload, gw);
    uv_timer_init (gw->loop, &gw->topo_timer);
    gw->topo_timer.data = gw;
    uv_timer_init (gw->loop, &gw->drain_timer);
    gw->drain_timer.data = gw;
    uv_prepare_init (gw->loop, &gw->turn.prepare);
    gw->turn.prepare.data = gw;
    gw->turn.run = s_on_before_poll;
    if ((sec->mode == BATON_SECURITY_CURVE && !gw->zap) ||
        baton_admin_configure (gw->admin_api, config, gw->routes, err, errlen) < 0 ||
        s_setup_zmq (gw, seed, err, errlen) < 0 ||
        s_bind (gw, &gw->listener, &gw->gcfg->listen, &gw->port, err, errlen) < 0 ||
        s_bind (gw, &gw->admin, &gw->gcfg->admin, &gw->admin_port, err, errlen) < 0) {
        baton_gateway_shutdown (gw);
        uv_run (gw->loop, UV_RUN_DEFAULT);
        baton_gateway_destroy (&gw);
        return NULL;
    }
    baton__log (BATON_LOG_INFO, S_COMP, "listening",
                "http=%s:%d admin=%s:%d reply=%s control=%s id=%s security=%s%s%s",
                gw->gcfg->listen.host, gw->port, gw->gcfg->admin.host, gw->admin_port,
                baton_replies_endpoint (gw->replies), gw->gcfg->control ? gw->gcfg->control : "-",
                baton_pending_tag (gw->pending), baton_config_security_mode_name (sec->mode),
                gw->zap ? " key=" : "", gw->zap ? baton__cert_public_z85 (sec->cert) : "");
    return gw;
}

int
baton_gateway_port (const baton_gateway_t *self)
{
    return self->port;
}

int
baton_gateway_admin_port (const baton_gateway_t *self)
{
    return self->admin_port;
}

static void
s_close_handle (uv_handle_t *h)
{
    if (h->loop && !uv_is_closing (h) && h->type != UV_UNKNOWN_HANDLE)
        uv_close (h, NULL);
}

//  Closes everything once nothing is left to wait for.
static void
s_maybe_finish (baton_gateway_t *gw)
{
    if (!baton_conns_draining (gw->conns) || gw->closed)
        return;
    //  Connections not waiting on a chain have nothing in flight: close them.
    baton_conns_close (gw->conns, false);
    if (baton_pending_count (gw->pending) > 0 || baton_conns_count (gw->conns) > 0)
        return;
    gw->closed = true;
    uv_timer_stop (&gw->drain_timer);
    s_close_handle ((uv_handle_t *) &gw->drain_timer);
    s_close_handle ((uv_handle_t *) &gw->turn.prepare);
    s_close_handle ((uv_handle_t *) &gw->admin);
    if (gw->replies)
        baton_replies_close (gw->replies);
    s_close_handle ((uv_handle_t *) &gw->control_poll);
    uv_timer_stop (&gw->topo_timer);
    s_close_handle ((uv_handle_t *) &gw->topo_timer);
    if (gw->signals) {
        s_close_handle ((uv_handle_t *) &gw->sigint);
        s_close_handle ((uv_handle_t *) &gw->sigterm);
        s_close_handle ((uv_handle_t *) &gw->sighup);
    }
    baton__log (BATON_LOG_INFO, S_COMP, "stopped", NULL);
}

static void
s_on_drain_timeout (uv_timer_t *t)
{
    baton_gateway_t *gw = (baton_gateway_t *) t->data;
    baton__log (BATON_LOG_WARN, S_COMP, "drain time is up: closing what is left",
                "inflight=%" PRIu64, baton_pending_count (gw->pending));
    baton_conns_close (gw->conns, true);
    s_maybe_finish (gw);
}

void
baton_gateway_shutdown (baton_gateway_t *self)
{
    if (baton_conns_draining (self->conns))
        return;
    baton_conns_drain (self->conns);
    baton__log (BATON_LOG_INFO, S_COMP, "draining", "inflight=%" PRIu64 " connections=%" PRIu64,
                baton_pending_count (self->pending), baton_conns_count (self->conns));
    s_close_handle ((uv_handle_t *) &self->listener);
    uv_timer_start (&self->drain_timer, s_on_drain_timeout, self->gcfg->drain_ms, 0);
    s_maybe_finish (self);
}

static void
s_on_signal (uv_signal_t *s, int signum)
{
    baton__log (BATON_LOG_INFO, S_COMP, "signal", "signal=%s",
                signum == SIGTERM  ? "SIGTERM"
                : signum == SIGHUP ? "SIGHUP"
                                   : "SIGINT");
    baton_gateway_t *gw = (baton_gateway_t *) s->data;
    if (signum != SIGHUP) {
        baton_gateway_shutdown (gw);
        return;
    }
    //  The outcome is logged (and counted) by the reload itself.
    char err[BATON_CONFIG_MAX_ERROR];
    baton_gateway_reload (gw, err, sizeof err);
}

int
baton_gateway_handle_signals (baton_gateway_t *self)
{
    uv_signal_init (self->loop, &self->sigint);
    uv_signal_init (self->loop, &self->sigterm);
    uv_signal_init (self->loop, &self->sighup);
    self->sigint.data = self->sigterm.data = self->sighup.data = self;
    uv_signal_start (&self->sigint, s_on_signal, SIGINT);
    uv_signal_start (&self->sigterm, s_on_signal, SIGTERM);
    uv_signal_start (&self->sighup, s_on_signal, SIGHUP);
    self->signals = true;
    return 0;
}

void
baton_gateway_destroy (baton_gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_gateway_t *gw = *self_p;
    baton_probes_destroy (&gw->probes);
    baton_dispatch_destroy (&gw->dispatch);
    baton_replies_destroy (&gw->replies);
    if (gw->control_sock)
        zmq_close (gw->control_sock);
    //  After the sockets it watches, before the context.
    baton__zap_destroy (&gw->zap);
    if (gw->zctx)
        zmq_ctx_term (gw->zctx);
    baton_admin_destroy (&gw->admin_api);
    baton_overrides_destroy (&gw->overrides);
    baton_conns_destroy (&gw->conns);
    baton_pending_destroy (&gw->pending);
    baton_topology_destroy (&gw->topo);
    baton_metrics_destroy (&gw->metrics);
    //  Every generation left, held by the gateway or by connections that
    //  never closed.
    while (gw->gen) {
        baton__gen_t *g = gw->gen;
        gw->gen = g->next;
        baton__gw_gen_destroy (&g);
    }
    free (gw);
    *self_p = NULL;
}

//  --- the command ----------------------------------------------------------------------------

static void
s_gateway_usage (FILE *out)
{
    fputs ("usage: baton gateway -c FILE\n"
           "\n"
           "Runs the edge gateway described by FILE (YAML, see docs/gateway.md) until\n"
           "SIGINT or SIGTERM, then stops accepting, lets in-flight requests finish\n"
           "(gateway.drain) and exits 0. SIGHUP reloads FILE (docs/gateway.md,\n"
           "\"Reloading\").\n"
           "\n"
           "  -c, --config FILE   the configuration (required)\n"
           "  -h, --help          this text\n"
           "\n"
           "Logs are logfmt lines on stderr; BATON_LOG=debug|info|warn|error sets the level.\n",
           out);
}

int
baton__cmd_gateway (int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0) {
            s_gateway_usage (stdout);
            return 0;
        }
        if ((strcmp (argv[i], "-c") == 0 || strcmp (argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else {
            fprintf (stderr, "baton gateway: unexpected argument '%s'\n\n", argv[i]);
            s_gateway_usage (stderr);
            return 2;
        }
    }
    if (!path) {
        fputs ("baton gateway: missing -c FILE\n\n", stderr);
        s_gateway_usage (stderr);
        return 2;
    }
    char err[BATON_CONFIG_MAX_ERROR];
    baton_config_t *config = baton_config_load (path, err, sizeof err);
    if (!config) {
        fprintf (stderr, "baton gateway: %s\n", err);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init (&loop);
    baton_gateway_t *gw = baton_gateway_new (config, &loop, err, sizeof err);
    if (!gw) {
        fprintf (stderr, "baton gateway: %s\n", err);
        uv_loop_close (&loop);
        baton_config_destroy (&config);
        return 1;
    }
    baton_gateway_handle_signals (gw);
    uv_run (&loop, UV_RUN_DEFAULT);
    baton_gateway_destroy (&gw);
    uv_loop_close (&loop);
    baton_config_destroy (&config);
    return 0;
}
