/*  admin.c - the admin endpoints: each renders its document into a new
 *  buffer that the connection frees once written.  */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "admin/admin.h"
#include "http/text.h"

struct baton_admin {
    const baton_config_t *config;
    const baton_routes_t *routes;
    baton_topology_t *topo;
    baton_metrics_t *metrics;
    const baton_pending_t *pending;
    const baton_conns_t *conns;
    const baton_zap_t *zap;
};

baton_admin_t *
baton_admin_new (const baton_config_t *config, const baton_routes_t *routes, baton_topology_t *topo,
                 baton_metrics_t *metrics, const baton_pending_t *pending,
                 const baton_conns_t *conns, const baton_zap_t *zap)
{
    baton_admin_t *self = (baton_admin_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->config = config;
    self->routes = routes;
    self->topo = topo;
    self->metrics = metrics;
    self->pending = pending;
    self->conns = conns;
    self->zap = zap;
    return self;
}

void
baton_admin_destroy (baton_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

static void
s_json_str (baton_text_t *t, const char *s)
{
    baton_text_lit (t, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch == '"' || ch == '\\')
            baton_text_fmt (t, "\\%c", ch);
        else if (ch < 0x20)
            baton_text_fmt (t, "\\u%04x", ch);
        else
            baton_text_put (t, (const char *) &ch, 1);
    }
    baton_text_lit (t, "\"");
}

//  /-/topology: every function's replicas and their state, as JSON.
static void
s_topology_json (baton_admin_t *self, baton_text_t *t)
{
    uint64_t now = baton_topology_now_ms ();
    baton_text_lit (t, "{\"functions\":[");
    for (size_t f = 0; f < baton_config_function_count (self->config); f++) {
        baton_text_str (t, f ? ",{\"name\":" : "{\"name\":");
        s_json_str (t, baton_config_function (self->config, f)->name);
        baton_text_lit (t, ",\"replicas\":[");
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++) {
            const baton_replica_t *r = baton_topology_at (self->topo, f, i);
            baton_text_str (t, i ? ",{\"endpoint\":" : "{\"endpoint\":");
            s_json_str (t, r->endpoint);
            baton_text_lit (t, ",\"state\":");
            s_json_str (t, baton_replica_state_name (r->state));
            baton_text_lit (t, ",\"source\":");
            s_json_str (t, r->is_static ? "config" : "announce");
            baton_text_lit (t, ",\"instance\":");
            s_json_str (t, r->instance);
            baton_text_lit (t, ",\"version\":");
            s_json_str (t, r->version);
            baton_text_lit (t, ",\"host\":");
            s_json_str (t, r->host);
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
            by_state[baton_topology_at (self->topo, f, i)->state]++;
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
}

//  /-/routes: the route table in match order, as JSON.
static void
s_routes_json (baton_admin_t *self, baton_text_t *t)
{
    baton_text_lit (t, "{\"routes\":[");
    for (size_t i = 0; i < baton_routes_count (self->routes); i++) {
        const baton_config_route_t *r = baton_routes_at (self->routes, i);
        baton_text_str (t, i ? ",{\"path\":" : "{\"path\":");
        s_json_str (t, r->path);
        baton_text_lit (t, ",\"methods\":[");
        for (size_t m = 0; m < r->method_count; m++) {
            if (m)
                baton_text_lit (t, ",");
            s_json_str (t, r->methods[m]);
        }
        baton_text_lit (t, "],\"chain\":[");
        for (size_t f = 0; f < r->chain_len; f++) {
            if (f)
                baton_text_lit (t, ",");
            s_json_str (t, r->chain[f]->name);
        }
        baton_text_fmt (t, "],\"deadline_ms\":%" PRIu64 "}", r->deadline_ms);
    }
    baton_text_lit (t, "]}\n");
}

void
baton_admin_serve (baton_admin_t *self, baton_conn_t *c, baton_slice_t path)
{
    baton_slice_t method = baton_conn_request (c)->method;
    if (!baton__slice_is (method, "GET") && !baton__slice_is (method, "HEAD")) {
        baton_conn_respond_error (c, 405, "the admin endpoints answer GET and HEAD", false,
                                  "Allow: GET, HEAD\r\n");
        return;
    }
    const char *text = "text/plain; charset=utf-8";
    baton_text_t t = {NULL, 0, 0};
    if (baton__slice_is (path, "/-/health")) {
        baton_text_lit (&t, "ok\n");
        baton_conn_respond (c, 200, text, t.data, t.len);
    } else if (baton__slice_is (path, "/-/ready")) {
        bool draining = baton_conns_draining (self->conns);
        baton_text_str (&t, draining ? "draining\n" : "ready\n");
        baton_conn_respond (c, draining ? 503 : 200, text, t.data, t.len);
    } else if (baton__slice_is (path, "/-/metrics")) {
        size_t len;
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
    } else if (baton__slice_is (path, "/-/topology")) {
        s_topology_json (self, &t);
        baton_conn_respond (c, 200, "application/json", t.data, t.len);
    } else if (baton__slice_is (path, "/-/routes")) {
        s_routes_json (self, &t);
        baton_conn_respond (c, 200, "application/json", t.data, t.len);
    } else
        baton_conn_respond_error (c, 404,
                                  "admin endpoints: /-/health /-/ready /-/metrics /-/routes "
                                  "/-/topology",
                                  false, NULL);
}
