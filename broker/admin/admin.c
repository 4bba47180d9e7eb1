/*  admin.c - the admin API: each read renders its document into a new
 *  buffer that the connection frees once written; each mutation is
 *  authorised by the bearer token, decoded from its form, applied, audited
 *  in the log, and answered in JSON (problem+json when refused).  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin/admin.h"
#include "admin/auth.h"
#include "admin/form.h"
#include "admin/json.h"
#include "http/text.h"
#include "log.h"

#define S_COMP "admin"

_Static_assert(BATON_CONN_ADMIN_MAX_BODY == BATON_FORM_MAX_BODY,
               "the connection reads the bodies the form decoder takes");

struct baton_admin {
    const baton_config_t *config;
    const baton_routes_t *routes;
    baton_topology_t *topo;
    baton_metrics_t *metrics;
    const baton_pending_t *pending;
    const baton_conns_t *conns;
    const baton_zap_t *zap;
    baton_overrides_t *overrides;
    baton_auth_t *auth;
    void *owner;
};

//  Refused mutations are logged, but a client may send them at will.
static baton_ratelimit_t s_refused_rl = BATON_RATELIMIT_INIT (10, 1000);

baton_admin_t *
baton_admin_new (baton_topology_t *topo, baton_metrics_t *metrics, const baton_pending_t *pending,
                 const baton_conns_t *conns, const baton_zap_t *zap, baton_overrides_t *overrides,
                 void *owner)
{
    baton_admin_t *self = (baton_admin_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->topo = topo;
    self->metrics = metrics;
    self->pending = pending;
    self->conns = conns;
    self->zap = zap;
    self->overrides = overrides;
    self->auth = baton_auth_new ();
    self->owner = owner;
    return self;
}

void
baton_admin_destroy (baton_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_auth_destroy (&(*self_p)->auth);
    free (*self_p);
    *self_p = NULL;
}

int
baton_admin_configure (baton_admin_t *self, const baton_config_t *config,
                       const baton_routes_t *routes, char *err, size_t errlen)
{
    self->config = config;
    self->routes = routes;
    return baton_auth_load (self->auth, config, err, errlen);
}

//  The state /-/topology shows: an admin drain shows as draining (but for
//  a dead replica: nothing to drain).
static baton_replica_state_t
s_shown_state (const baton_replica_t *r)
{
    return r->held && r->state != BATON_REPLICA_DEAD ? BATON_REPLICA_DRAINING : r->state;
}

//  One replica of /-/topology.
static void
s_replica_json (baton_text_t *t, const baton_replica_t *r, uint64_t now)
{
    baton_text_lit (t, "{\"endpoint\":");
    baton_json_str (t, r->endpoint);
    baton_text_lit (t, ",\"state\":");
    baton_json_str (t, baton_replica_state_name (s_shown_state (r)));
    baton_text_lit (t, ",\"drained_by\":");
    baton_text_str (t, r->held                              ? "\"admin\""
                       : r->state == BATON_REPLICA_DRAINING ? "\"goodbye\""
                                                            : "null");
    baton_text_fmt (t, ",\"weight\":%" PRIu32 ",\"source\":", r->weight);
    baton_json_str (t, r->is_static ? "config" : "announce");
    baton_text_lit (t, ",\"instance\":");
    baton_json_str (t, r->instance);
    baton_text_lit (t, ",\"version\":");
    baton_json_str (t, r->version);
    baton_text_lit (t, ",\"zone\":");
    baton_json_str (t, r->zone);
    baton_text_lit (t, ",\"host\":");
    baton_json_str (t, r->host);
    baton_text_fmt (t,
                    ",\"pid\":%" PRIu64 ",\"outstanding\":%" PRIu64 ",\"routed\":%" PRIu64
                    ",\"heartbeat_interval_ms\":%" PRIu64,
                    r->pid, r->outstanding, r->routed, r->interval_ms);
    //  null: not watched by heartbeats (a static replica that sends none).
    if (r->interval_ms)
        baton_text_fmt (t, ",\"last_heartbeat_ms_ago\":%" PRIu64, now - r->last_seen_ms);
    else
        baton_text_lit (t, ",\"last_heartbeat_ms_ago\":null");
    baton_text_fmt (t,
                    ",\"ejections\":%" PRIu64 ",\"probe\":{\"in_flight\":%s,\"ok\":%" PRIu64
                    ",\"failed\":%" PRIu64,
                    r->ejections, r->probe_in_flight ? "true" : "false", r->probes_ok,
                    r->probes_failed);
    if (r->last_probe_ms)
        baton_text_fmt (t, ",\"last\":\"%s\",\"last_ms_ago\":%" PRIu64 "}}",
                        r->last_probe_ok ? "ok" : "failed", now - r->last_probe_ms);
    else
        baton_text_lit (t, ",\"last\":null,\"last_ms_ago\":null}}");
}

//  /-/topology: every function's replicas and their state, as JSON.
static void
s_topology_json (baton_admin_t *self, baton_text_t *t)
{
    uint64_t now = baton_topology_now_ms ();
    baton_text_lit (t, "{\"functions\":[");
    for (size_t f = 0; f < baton_config_function_count (self->config); f++) {
        baton_text_str (t, f ? ",{\"name\":" : "{\"name\":");
        baton_json_str (t, baton_config_function (self->config, f)->name);
        baton_text_lit (t, ",\"replicas\":[");
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++) {
            if (i)
                baton_text_lit (t, ",");
            s_replica_json (t, baton_topology_at (self->topo, f, i), now);
        }
        baton_text_lit (t, "]}");
    }
    baton_text_lit (t, "]}\n");
}

//  Topology gauges appended to /-/metrics.
static void
s_topology_metrics (baton_admin_t *self, baton_text_t *t)
{
    baton_text_lit (t, "# HELP baton_replicas Replicas per function and state.\n"
                       "# TYPE baton_replicas gauge\n");
    for (size_t f = 0; f < baton_config_function_count (self->config); f++) {
        uint64_t by_state[BATON_REPLICA__STATES] = {0};
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++)
            by_state[s_shown_state (baton_topology_at (self->topo, f, i))]++;
        for (int st = 0; st < BATON_REPLICA__STATES; st++)
            baton_text_fmt (t, "baton_replicas{function=\"%s\",state=\"%s\"} %" PRIu64 "\n",
                            baton_config_function (self->config, f)->name,
                            baton_replica_state_name ((baton_replica_state_t) st), by_state[st]);
    }
    baton_text_lit (
        t, "# HELP baton_replica_outstanding Requests routed through a replica and not yet "
           "answered.\n# TYPE baton_replica_outstanding gauge\n");
    for (size_t f = 0; f < baton_config_function_count (self->config); f++)
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++) {
            const baton_replica_t *r = baton_topology_at (self->topo, f, i);
            baton_text_fmt (t, "baton_replica_outstanding{function=\"%s\",endpoint=\"",
                            baton_config_function (self->config, f)->name);
            //  Endpoints come from announcements: keep label values clean.
            for (const char *p = r->endpoint; *p; p++)
                if (*p != '"' && *p != '\\' && *p != '\n')
                    baton_text_put (t, p, 1);
            baton_text_fmt (t, "\"} %" PRIu64 "\n", r->outstanding);
        }
    baton_text_lit (t, "# HELP baton_cross_zone_hops_total Hops routed to a replica in another "
                       "zone than the gateway's.\n# TYPE baton_cross_zone_hops_total counter\n");
    for (size_t f = 0; f < baton_config_function_count (self->config); f++)
        baton_text_fmt (t, "baton_cross_zone_hops_total{function=\"%s\"} %" PRIu64 "\n",
                        baton_config_function (self->config, f)->name,
                        baton_topology_cross_zone_hops (self->topo, f));
}

//  /-/routes: the route table in match order, as JSON.
static void
s_routes_json (baton_admin_t *self, baton_text_t *t)
{
    baton_text_lit (t, "{\"routes\":[");
    for (size_t i = 0; i < baton_routes_count (self->routes); i++) {
        const baton_config_route_t *r = baton_routes_at (self->routes, i);
        baton_text_str (t, i ? ",{\"path\":" : "{\"path\":");
        baton_json_str (t, r->path);
        baton_text_lit (t, ",\"methods\":[");
        for (size_t m = 0; m < r->method_count; m++) {
            if (m)
                baton_text_lit (t, ",");
            baton_json_str (t, r->methods[m]);
        }
        baton_text_lit (t, "],\"chain\":[");
        for (size_t f = 0; f < r->chain_len; f++) {
            if (f)
                baton_text_lit (t, ",");
            baton_json_str (t, r->chain[f]->name);
        }
        baton_text_fmt (t, "],\"deadline_ms\":%" PRIu64 "}", r->deadline_ms);
    }
    baton_text_lit (t, "]}\n");
}

//  --- the paths ----------------------------------------------------------------------

//  The admin API's paths; the read-only ones first.
typedef enum {
    S_HEALTH = 0,
    S_READY,
    S_METRICS,
    S_ROUTES,
    S_TOPOLOGY,
    S_CONFIG,
    S_OVERRIDES, //  the last one GET reads
    S_OVERRIDE,  //  /-/overrides/ID
    S_RELOAD,
    S_DRAIN, //  /-/replicas/ID/drain
    S_UNDRAIN,
    S_UNKNOWN
} s_path_t;

static const char *const s_exact[] = {"/-/health",   "/-/ready",  "/-/metrics",  "/-/routes",
                                      "/-/topology", "/-/config", "/-/overrides"};

//  The methods each path takes, as an Allow value.
static const char *const s_allow[] = {
    "GET, HEAD",       "GET, HEAD", "GET, HEAD", "GET, HEAD", "GET, HEAD", "GET, HEAD",
    "GET, HEAD, POST", "DELETE",    "POST",      "POST",      "POST"};

static bool
s_prefix (baton_slice_t s, const char *lit, baton_slice_t *rest)
{
    size_t n = strlen (lit);
    if (s.len < n || memcmp (s.ptr, lit, n) != 0)
        return false;
    *rest = (baton_slice_t){s.ptr + n, s.len - n};
    return true;
}

//  Which path this is; the ID of /-/overrides/ID and /-/replicas/ID/... in
//  *id (still percent-encoded: one segment, never empty).
static s_path_t
s_classify (baton_slice_t path, baton_slice_t *id)
{
    for (size_t i = 0; i < sizeof s_exact / sizeof s_exact[0]; i++)
        if (baton__slice_is (path, s_exact[i]))
            return (s_path_t) i;
    if (baton__slice_is (path, "/-/reload"))
        return S_RELOAD;
    baton_slice_t rest;
    if (s_prefix (path, "/-/overrides/", &rest) && rest.len && !memchr (rest.ptr, '/', rest.len)) {
        *id = rest;
        return S_OVERRIDE;
    }
    if (!s_prefix (path, "/-/replicas/", &rest))
        return S_UNKNOWN;
    const char *slash = (const char *) memchr (rest.ptr, '/', rest.len);
    if (!slash || slash == rest.ptr)
        return S_UNKNOWN;
    *id = (baton_slice_t){rest.ptr, (size_t) (slash - rest.ptr)};
    baton_slice_t verb = {slash + 1, (size_t) (rest.ptr + rest.len - slash - 1)};
    return baton__slice_is (verb, "drain")     ? S_DRAIN
           : baton__slice_is (verb, "undrain") ? S_UNDRAIN
                                               : S_UNKNOWN;
}

//  --- reads --------------------------------------------------------------------------

static void
s_read (baton_admin_t *self, baton_conn_t *c, s_path_t what)
{
    const char *text = "text/plain; charset=utf-8";
    baton_text_t t = {NULL, 0, 0};
    size_t len;
    switch (what) {
    case S_HEALTH:
        baton_text_lit (&t, "ok\n");
        baton_conn_respond (c, 200, text, t.data, t.len);
        break;
    case S_READY: {
        bool draining = baton_conns_draining (self->conns);
        baton_text_str (&t, draining ? "draining\n" : "ready\n");
        baton_conn_respond (c, draining ? 503 : 200, text, t.data, t.len);
        break;
    }
    case S_METRICS: {
        baton_metrics_zap_t zap = {0, 0, 0, 0};
        if (self->zap) {
            baton_zap_stats_t st = baton__zap_stats (self->zap);
            zap = (baton_metrics_zap_t){st.accepted, st.refused_key, st.refused_mechanism,
                                        st.refused_handshake};
        }
        t.data = baton_metrics_render (self->metrics, baton_pending_count (self->pending),
                                       baton_conns_count (self->conns), &zap, &len);
        t.len = t.cap = len;
        s_topology_metrics (self, &t);
        baton_conn_respond (c, 200, "text/plain; version=0.0.4; charset=utf-8", t.data, t.len);
        break;
    }
    case S_ROUTES:
        s_routes_json (self, &t);
        baton_conn_respond (c, 200, "application/json", t.data, t.len);
        break;
    case S_TOPOLOGY:
        s_topology_json (self, &t);
        baton_conn_respond (c, 200, "application/json", t.data, t.len);
        break;
    case S_CONFIG:
        t.data = baton__admin_config_json (self->owner, &len);
        baton_conn_respond (c, 200, "application/json", t.data, len);
        break;
    default: {
        uint64_t now = baton_topology_now_ms ();
        baton_overrides_tick (self->overrides, now);
        baton_overrides_json (self->overrides, now, &t);
        baton_conn_respond (c, 200, "application/json", t.data, t.len);
        break;
    }
    }
}

//  --- mutations ----------------------------------------------------------------------

//  One accepted mutation, in the audit log: who, what, on what, before, after.
static void
s_audit (baton_conn_t *c, const char *action, const char *target, const char *before,
         const char *after)
{
    char peer[80], qt[300], qb[600], qa[600];
    baton__log (BATON_LOG_INFO, S_COMP, "audit", "peer=%s action=%s target=%s before=%s after=%s",
                baton_conn_peer (c, peer, sizeof peer), action,
                baton__log_quote (qt, sizeof qt, target, strlen (target)),
                baton__log_quote (qb, sizeof qb, before, strlen (before)),
                baton__log_quote (qa, sizeof qa, after, strlen (after)));
}

//  True if c carries the admin token. Otherwise answers 403 (no token
//  configured) or 401, logs the refusal (rate-limited: clients send these at
//  will) and returns false.
static bool
s_authorised (baton_admin_t *self, baton_conn_t *c, baton_slice_t path)
{
    const baton_http_request_t *req = baton_conn_request (c);
    baton_auth_result_t res = baton_auth_check (self->auth, req);
    if (res == BATON_AUTH_OK)
        return true;
    if (baton__ratelimit_allow (&s_refused_rl)) {
        char peer[80], qm[64], qp[300];
        baton__log (BATON_LOG_WARN, S_COMP, "admin mutation refused",
                    "peer=%s method=%s path=%s reason=%s", baton_conn_peer (c, peer, sizeof peer),
                    baton__log_quote (qm, sizeof qm, req->method.ptr, req->method.len),
                    baton__log_quote (qp, sizeof qp, path.ptr, path.len),
                    res == BATON_AUTH_DISABLED  ? "no_token_file"
                    : res == BATON_AUTH_MISSING ? "no_token"
                                                : "wrong_token");
    }
    if (res == BATON_AUTH_DISABLED)
        baton_conn_respond_error (c, 403,
                                  "admin mutations are off: set gateway.admin_token_file "
                                  "(docs/gateway.md, \"Admin API security\")",
                                  false, NULL);
    else
        baton_conn_respond_error (c, 401,
                                  res == BATON_AUTH_MISSING
                                      ? "send Authorization: Bearer <the token of "
                                        "gateway.admin_token_file>"
                                      : "the bearer token is not the admin token",
                                  false, "WWW-Authenticate: Bearer realm=\"baton-admin\"\r\n");
    return false;
}

//  Decodes c's body as a form into *form (an empty body is an empty form);
//  answers 415 or 400 and returns false if it is not one.
static bool
s_form (baton_conn_t *c, baton_form_t *form)
{
    baton_slice_t body = baton_conn_body (c);
    const baton_http_request_t *req = baton_conn_request (c);
    if (body.len) {
        baton_slice_t ctype = {"", 0};
        for (size_t i = 0; i < req->header_count; i++)
            if (baton__slice_is (req->headers[i].name, "Content-Type"))
                ctype = req->headers[i].value;
        const char *semi = (const char *) memchr (ctype.ptr, ';', ctype.len);
        if (semi)
            ctype.len = (size_t) (semi - ctype.ptr);
        while (ctype.len && ctype.ptr[ctype.len - 1] == ' ')
            ctype.len--;
        if (!baton__slice_is (ctype, "application/x-www-form-urlencoded")) {
            baton_conn_respond_error (c, 415,
                                      "send the fields as application/x-www-form-urlencoded "
                                      "(curl --data-urlencode name=value)",
                                      false, NULL);
            return false;
        }
    }
    char why[200];
    if (baton_form_decode (form, body.ptr, body.len, why, sizeof why) != 0) {
        baton_conn_respond_error (c, 400, why, false, NULL);
        return false;
    }
    return true;
}

//  True if c's request has no body; answers 400 otherwise.
static bool
s_no_body (baton_conn_t *c)
{
    if (baton_conn_body (c).len == 0)
        return true;
    baton_conn_respond_error (c, 400, "this takes no body", false, NULL);
    return false;
}

//  POST /-/reload.
static void
s_reload (baton_admin_t *self, baton_conn_t *c)
{
    const char *sha;
    char before[128], after[128], err[BATON_CONFIG_MAX_ERROR];
    uint64_t gen = baton__admin_generation (self->owner, &sha);
    snprintf (before, sizeof before, "generation=%" PRIu64 " sha256=%s", gen, sha);
    baton_reload_result_t res = baton__admin_reload (self->owner, err, sizeof err);
    if (res != BATON_RELOAD_OK) {
        baton_conn_respond_error (c, res == BATON_RELOAD_INVALID ? 422 : 409, err, false, NULL);
        return;
    }
    gen = baton__admin_generation (self->owner, &sha);
    snprintf (after, sizeof after, "generation=%" PRIu64 " sha256=%s", gen, sha);
    s_audit (c, "reload", baton_config_name (self->config), before, after);
    baton_text_t t = {NULL, 0, 0};
    baton_text_fmt (&t, "{\"result\":\"ok\",\"generation\":%" PRIu64 ",\"sha256\":\"%s\"}\n", gen,
                    sha);
    baton_conn_respond (c, 200, "application/json", t.data, t.len);
}

//  POST /-/overrides.
static void
s_override_add (baton_admin_t *self, baton_conn_t *c)
{
    baton_form_t form;
    if (!s_form (c, &form))
        return;
    char id[BATON_OVERRIDES_ID_MAX], peer[80], why[400];
    char replaced[BATON_OVERRIDES_DESCRIBE_MAX], added[BATON_OVERRIDES_DESCRIBE_MAX];
    uint64_t now = baton_topology_now_ms ();
    int rc = baton_overrides_add (self->overrides, &form, baton_conn_peer (c, peer, sizeof peer),
                                  now, id, replaced, sizeof replaced, why, sizeof why);
    if (rc != 0) {
        baton_conn_respond_error (c, rc == BATON_OVERRIDES_FULL ? 409 : 400, why, false, NULL);
        return;
    }
    baton_overrides_describe (self->overrides, id, added, sizeof added);
    s_audit (c, "override.add", id, replaced, added);
    baton_text_t t = {NULL, 0, 0};
    baton_overrides_json_one (self->overrides, id, now, &t);
    baton_conn_respond (c, 201, "application/json", t.data, t.len);
}

//  DELETE /-/overrides/ID.
static void
s_override_delete (baton_admin_t *self, baton_conn_t *c, baton_slice_t id_s)
{
    char id[BATON_OVERRIDES_ID_MAX], removed[BATON_OVERRIDES_DESCRIBE_MAX];
    bool found = id_s.len < sizeof id;
    if (found) {
        memcpy (id, id_s.ptr, id_s.len);
        id[id_s.len] = '\0';
        found = baton_overrides_remove (self->overrides, id, removed, sizeof removed) == 0;
    }
    if (!found) {
        baton_conn_respond_error (c, 404, "no such override (GET /-/overrides lists them)", false,
                                  NULL);
        return;
    }
    s_audit (c, "override.delete", id, removed, "-");
    baton_text_t t = {NULL, 0, 0};
    baton_text_fmt (&t, "{\"removed\":\"%s\"}\n", id);
    baton_conn_respond (c, 200, "application/json", t.data, t.len);
}

//  POST /-/replicas/ID/drain (drain) or /undrain.
static void
s_drain (baton_admin_t *self, baton_conn_t *c, baton_slice_t id_s, bool drain)
{
    char id[BATON_CONFIG_MAX_ENDPOINT + 1];
    baton_replica_t *r = baton_form_unescape (id_s.ptr, id_s.len, id, sizeof id) < 0
                             ? NULL
                             : baton_overrides_find_replica (self->overrides, id);
    if (!r) {
        baton_conn_respond_error (c, 404,
                                  "no such replica: give its instance id, or its endpoint "
                                  "percent-encoded, as GET /-/topology shows them",
                                  false, NULL);
        return;
    }
    const char *before = baton_replica_state_name (s_shown_state (r));
    r->held = drain;
    s_audit (c, drain ? "replica.drain" : "replica.undrain", id, before,
             baton_replica_state_name (s_shown_state (r)));
    baton_text_t t = {NULL, 0, 0};
    s_replica_json (&t, r, baton_topology_now_ms ());
    baton_text_lit (&t, "\n");
    baton_conn_respond (c, 200, "application/json", t.data, t.len);
}

void
baton_admin_serve (baton_admin_t *self, baton_conn_t *c, baton_slice_t path)
{
    baton_slice_t method = baton_conn_request (c)->method;
    baton_slice_t id = {NULL, 0};
    s_path_t what = s_classify (path, &id);
    if (what == S_UNKNOWN) {
        baton_conn_respond_error (
            c, 404,
            "admin endpoints: /-/health /-/ready /-/metrics /-/routes "
            "/-/topology /-/config /-/overrides /-/reload /-/replicas/ID/drain",
            false, NULL);
        return;
    }
    bool read = baton__slice_is (method, "GET") || baton__slice_is (method, "HEAD");
    bool post = baton__slice_is (method, "POST");
    if (read && what <= S_OVERRIDES) {
        s_read (self, c, what);
        return;
    }
    bool mutation = (post && (what == S_OVERRIDES || what >= S_RELOAD)) ||
                    (baton__slice_is (method, "DELETE") && what == S_OVERRIDE);
    if (!mutation) {
        char allow[64];
        snprintf (allow, sizeof allow, "Allow: %s\r\n", s_allow[what]);
        baton_conn_respond_error (c, 405, "method not allowed on this admin path", false, allow);
        return;
    }
    if (!s_authorised (self, c, path))
        return;
    if (what == S_OVERRIDES)
        s_override_add (self, c);
    else if (!s_no_body (c))
        return;
    else if (what == S_RELOAD)
        s_reload (self, c);
    else if (what == S_OVERRIDE)
        s_override_delete (self, c, id);
    else
        s_drain (self, c, id, what == S_DRAIN);
}
