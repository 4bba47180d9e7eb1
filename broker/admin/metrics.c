/*  metrics.c - fixed arrays of counters and histograms, indexed by route and
 *  function, and their Prometheus text rendering.  */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin/metrics.h"

//  Upper bounds of the duration buckets, in microseconds (+Inf is implicit).
static const uint64_t s_bounds_us[] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                       100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define S_BUCKETS (sizeof s_bounds_us / sizeof s_bounds_us[0])

//  Status codes are counted by class of 100 and exactly for the common ones.
#define S_STATUSES 600

typedef struct {
    uint64_t buckets[S_BUCKETS + 1];
    uint64_t count;
    uint64_t sum_us;
} s_histogram_t;

typedef struct {
    uint64_t *by_status; //  S_STATUSES counters
    s_histogram_t duration;
    uint64_t retries;
} s_route_t;

struct baton_metrics {
    const baton_config_t *config;
    s_route_t *routes;
    s_histogram_t *hops;
    uint64_t rejects[BATON_REJECT__COUNT];
    uint64_t timeouts, late, bad, gone;
    uint64_t fail_fast, late_retried;
    uint64_t probes[2]; //  failed, ok
    uint64_t replies_refused[BATON_REPLY_REFUSED__COUNT];
    uint64_t control_refused[BATON_CONTROL_REFUSED__COUNT];
    uint64_t reloads[BATON_RELOAD__COUNT];
    uint64_t generation;
};

static const char *s_reject_names[BATON_REJECT__COUNT] = {
    "bad_request", "uri_too_long", "headers_too_big", "body_too_big",   "not_implemented",
    "version",     "expectation",  "overload",        "header_timeout", "body_timeout",
    "no_route",    "method",       "unreachable"};

static const char *s_reply_refusal_names[BATON_REPLY_REFUSED__COUNT] = {"id", "route"};
static const char *s_control_refusal_names[BATON_CONTROL_REFUSED__COUNT] = {"malformed", "identity",
                                                                            "key", "endpoint"};
static const char *s_reload_names[BATON_RELOAD__COUNT] = {"ok", "invalid", "restart_required"};

static void *
s_calloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size);
    if (!p)
        abort ();
    return p;
}

//  The series of config's routes and functions, all at 0.
static void
s_series_new (const baton_config_t *config, s_route_t **routes_p, s_histogram_t **hops_p)
{
    size_t routes = baton_config_route_count (config);
    *routes_p = (s_route_t *) s_calloc (routes, sizeof (s_route_t));
    for (size_t i = 0; i < routes; i++)
        (*routes_p)[i].by_status = (uint64_t *) s_calloc (S_STATUSES, sizeof (uint64_t));
    *hops_p =
        (s_histogram_t *) s_calloc (baton_config_function_count (config), sizeof (s_histogram_t));
}

static void
s_series_free (const baton_config_t *config, s_route_t *routes, s_histogram_t *hops)
{
    for (size_t i = 0; i < baton_config_route_count (config); i++)
        free (routes[i].by_status);
    free (routes);
    free (hops);
}

baton_metrics_t *
baton_metrics_new (const baton_config_t *config)
{
    baton_metrics_t *self = (baton_metrics_t *) s_calloc (1, sizeof *self);
    self->config = config;
    self->generation = 1;
    s_series_new (config, &self->routes, &self->hops);
    return self;
}

void
baton_metrics_destroy (baton_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_metrics_t *self = *self_p;
    s_series_free (self->config, self->routes, self->hops);
    free (self);
    *self_p = NULL;
}

void
baton_metrics_config_reload (baton_metrics_t *self, baton_reload_result_t result)
{
    if (result < BATON_RELOAD__COUNT)
        self->reloads[result]++;
}

uint64_t
baton_metrics_reloads (const baton_metrics_t *self, baton_reload_result_t result)
{
    return result < BATON_RELOAD__COUNT ? self->reloads[result] : 0;
}

//  True if a and b are the same route to its series: same path and methods.
static bool
s_same_route (const baton_config_route_t *a, const baton_config_route_t *b)
{
    if (strcmp (a->path, b->path) != 0 || a->method_count != b->method_count)
        return false;
    for (size_t m = 0; m < a->method_count; m++)
        if (strcmp (a->methods[m], b->methods[m]) != 0)
            return false;
    return true;
}

void
baton_metrics_reconfigure (baton_metrics_t *self, const baton_config_t *config, uint64_t generation)
{
    s_route_t *routes;
    s_histogram_t *hops;
    s_series_new (config, &routes, &hops);
    for (size_t i = 0; i < baton_config_route_count (config); i++) {
        const baton_config_route_t *r = baton_config_route (config, i);
        for (size_t o = 0; o < baton_config_route_count (self->config); o++)
            if (s_same_route (r, baton_config_route (self->config, o))) {
                memcpy (routes[i].by_status, self->routes[o].by_status,
                        S_STATUSES * sizeof (uint64_t));
                routes[i].duration = self->routes[o].duration;
                routes[i].retries = self->routes[o].retries;
                break;
            }
    }
    for (size_t f = 0; f < baton_config_function_count (config); f++) {
        const baton_config_function_t *fn = baton_config_function (config, f);
        const baton_config_function_t *old =
            baton_config_function_find (self->config, fn->name, strlen (fn->name));
        if (old)
            hops[f] = self->hops[old->index];
    }
    s_series_free (self->config, self->routes, self->hops);
    self->config = config;
    self->routes = routes;
    self->hops = hops;
    self->generation = generation;
}

static void
s_observe (s_histogram_t *h, uint64_t us)
{
    size_t b = 0;
    while (b < S_BUCKETS && us > s_bounds_us[b])
        b++;
    h->buckets[b]++;
    h->count++;
    h->sum_us += us;
}

void
baton_metrics_request (baton_metrics_t *self, size_t route, unsigned status, uint64_t duration_us)
{
    if (route >= baton_config_route_count (self->config))
        return;
    s_route_t *r = &self->routes[route];
    r->by_status[status < S_STATUSES ? status : 0]++;
    s_observe (&r->duration, duration_us);
}

void
baton_metrics_hop (baton_metrics_t *self, size_t function, uint64_t dur_us)
{
    if (function < baton_config_function_count (self->config))
        s_observe (&self->hops[function], dur_us);
}

baton_reject_t
baton_metrics_reject_reason (int status)
{
    switch (status) {
    case 413:
        return BATON_REJECT_BODY_TOO_BIG;
    case 414:
        return BATON_REJECT_URI_TOO_LONG;
    case 417:
        return BATON_REJECT_EXPECTATION;
    case 431:
        return BATON_REJECT_HEADERS_TOO_BIG;
    case 501:
        return BATON_REJECT_NOT_IMPLEMENTED;
    case 505:
        return BATON_REJECT_VERSION;
    default:
        return BATON_REJECT_BAD_REQUEST;
    }
}

void
baton_metrics_reject (baton_metrics_t *self, baton_reject_t why)
{
    if (why < BATON_REJECT__COUNT)
        self->rejects[why]++;
}

void
baton_metrics_timeout (baton_metrics_t *self)
{
    self->timeouts++;
}

void
baton_metrics_late_reply (baton_metrics_t *self)
{
    self->late++;
}

void
baton_metrics_bad_reply (baton_metrics_t *self)
{
    self->bad++;
}

void
baton_metrics_client_gone (baton_metrics_t *self)
{
    self->gone++;
}

void
baton_metrics_retry (baton_metrics_t *self, size_t route)
{
    if (route < baton_config_route_count (self->config))
        self->routes[route].retries++;
}

void
baton_metrics_fail_fast (baton_metrics_t *self)
{
    self->fail_fast++;
}

void
baton_metrics_probe (baton_metrics_t *self, bool ok)
{
    self->probes[ok]++;
}

void
baton_metrics_late_retried (baton_metrics_t *self)
{
    self->late_retried++;
}

void
baton_metrics_reply_refused (baton_metrics_t *self, baton_reply_refusal_t why)
{
    if (why < BATON_REPLY_REFUSED__COUNT)
        self->replies_refused[why]++;
}

void
baton_metrics_control_refused (baton_metrics_t *self, baton_control_refusal_t why)
{
    if (why < BATON_CONTROL_REFUSED__COUNT)
        self->control_refused[why]++;
}

//  A growing text buffer; aborts when out of memory.
typedef struct {
    char *data;
    size_t len, cap;
} s_text_t;

static void s_printf (s_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_printf (s_text_t *t, const char *fmt, ...)
{
    while (true) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (t->data + t->len, t->cap - t->len, fmt, ap);
        va_end (ap);
        if (n < 0)
            abort ();
        if ((size_t) n < t->cap - t->len) {
            t->len += (size_t) n;
            return;
        }
        t->cap = t->cap * 2 + (size_t) n;
        t->data = (char *) realloc (t->data, t->cap);
        if (!t->data)
            abort ();
    }
}

//  Label values come from the config file: escape what the format requires.
static const char *
s_label (char *buf, size_t cap, const char *value)
{
    size_t o = 0;
    for (const char *p = value; *p && o + 3 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = *p;
        } else if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else
            buf[o++] = *p;
    }
    buf[o] = '\0';
    return buf;
}

static void
s_histogram (s_text_t *t, const char *name, const char *label, const char *value,
             const s_histogram_t *h)
{
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= S_BUCKETS; b++) {
        cumulative += h->buckets[b];
        if (b < S_BUCKETS)
            s_printf (t, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label, value,
                      (double) s_bounds_us[b] / 1e6, (unsigned long long) cumulative);
        else
            s_printf (t, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, value,
                      (unsigned long long) cumulative);
    }
    s_printf (t, "%s_sum{%s=\"%s\"} %.6f\n", name, label, value, (double) h->sum_us / 1e6);
    s_printf (t, "%s_count{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long) h->count);
}

char *
baton_metrics_render (const baton_metrics_t *self, uint64_t inflight, uint64_t connections,
                      const baton_metrics_zap_t *zap, size_t *len_p)
{
    s_text_t t = {(char *) malloc (8192), 0, 8192};
    if (!t.data)
        abort ();
    char label[2 * BATON_CONFIG_MAX_STRING + 1];
    size_t routes = baton_config_route_count (self->config);
    s_printf (&t, "# HELP baton_requests_total Responses sent, by route and status.\n"
                  "# TYPE baton_requests_total counter\n");
    for (size_t i = 0; i < routes; i++) {
        const baton_config_route_t *r = baton_config_route (self->config, i);
        s_label (label, sizeof label, r->path);
        for (unsigned s = 0; s < S_STATUSES; s++)
            if (self->routes[i].by_status[s])
                s_printf (&t, "baton_requests_total{route=\"%s\",status=\"%u\"} %llu\n", label, s,
                          (unsigned long long) self->routes[i].by_status[s]);
    }
    s_printf (&t, "# HELP baton_request_duration_seconds Time from request head to response, by "
                  "route.\n# TYPE baton_request_duration_seconds histogram\n");
    for (size_t i = 0; i < routes; i++) {
        const baton_config_route_t *r = baton_config_route (self->config, i);
        s_histogram (&t, "baton_request_duration_seconds", "route",
                     s_label (label, sizeof label, r->path), &self->routes[i].duration);
    }
    s_printf (&t, "# HELP baton_hop_duration_seconds Time each function held the envelope "
                  "(from the records).\n# TYPE baton_hop_duration_seconds histogram\n");
    for (size_t i = 0; i < baton_config_function_count (self->config); i++) {
        const baton_config_function_t *f = baton_config_function (self->config, i);
        s_histogram (&t, "baton_hop_duration_seconds", "function",
                     s_label (label, sizeof label, f->name), &self->hops[i]);
    }
    s_printf (&t,
              "# HELP baton_inflight_requests Requests waiting for their chain.\n"
              "# TYPE baton_inflight_requests gauge\nbaton_inflight_requests %llu\n"
              "# HELP baton_connections Open client connections.\n"
              "# TYPE baton_connections gauge\nbaton_connections %llu\n"
              "# HELP baton_timeouts_total Requests answered 504 because no reply came in time.\n"
              "# TYPE baton_timeouts_total counter\nbaton_timeouts_total %llu\n"
              "# HELP baton_late_replies_total Replies for requests already answered or "
              "forgotten.\n# TYPE baton_late_replies_total counter\nbaton_late_replies_total "
              "%llu\n"
              "# HELP baton_bad_replies_total Replies that did not decode.\n"
              "# TYPE baton_bad_replies_total counter\nbaton_bad_replies_total %llu\n"
              "# HELP baton_clients_gone_total Clients that left while their request was "
              "pending.\n# TYPE baton_clients_gone_total counter\nbaton_clients_gone_total %llu\n",
              (unsigned long long) inflight, (unsigned long long) connections,
              (unsigned long long) self->timeouts, (unsigned long long) self->late,
              (unsigned long long) self->bad, (unsigned long long) self->gone);
    s_printf (&t, "# HELP baton_retries_total Requests sent again on a route that avoids a failed "
                  "replica, by route.\n# TYPE baton_retries_total counter\n");
    for (size_t i = 0; i < routes; i++)
        s_printf (&t, "baton_retries_total{route=\"%s\"} %llu\n",
                  s_label (label, sizeof label, baton_config_route (self->config, i)->path),
                  (unsigned long long) self->routes[i].retries);
    s_printf (&t,
              "# HELP baton_fail_fast_total Requests answered 502 at once because a replica of "
              "their route died or was ejected.\n# TYPE baton_fail_fast_total counter\n"
              "baton_fail_fast_total %llu\n"
              "# HELP baton_probes_total Probes of replicas, by result.\n"
              "# TYPE baton_probes_total counter\nbaton_probes_total{result=\"ok\"} %llu\n"
              "baton_probes_total{result=\"failed\"} %llu\n"
              "# HELP baton_replies_late_total Replies dropped because their request was sent "
              "again under a new id.\n# TYPE baton_replies_late_total counter\n"
              "baton_replies_late_total{reason=\"retried\"} %llu\n",
              (unsigned long long) self->fail_fast, (unsigned long long) self->probes[1],
              (unsigned long long) self->probes[0], (unsigned long long) self->late_retried);
    s_printf (&t, "# HELP baton_rejects_total Requests turned away before a chain, by reason.\n"
                  "# TYPE baton_rejects_total counter\n");
    for (int i = 0; i < BATON_REJECT__COUNT; i++)
        s_printf (&t, "baton_rejects_total{reason=\"%s\"} %llu\n", s_reject_names[i],
                  (unsigned long long) self->rejects[i]);
    s_printf (&t,
              "# HELP baton_zap_accepted_total Peers admitted at the CURVE handshake: one per "
              "connection, never per message.\n"
              "# TYPE baton_zap_accepted_total counter\nbaton_zap_accepted_total %llu\n"
              "# HELP baton_zap_refused_total Peers refused at the CURVE handshake, by reason.\n"
              "# TYPE baton_zap_refused_total counter\n"
              "baton_zap_refused_total{reason=\"key\"} %llu\n"
              "baton_zap_refused_total{reason=\"mechanism\"} %llu\n"
              "baton_zap_refused_total{reason=\"handshake\"} %llu\n",
              (unsigned long long) zap->accepted, (unsigned long long) zap->key,
              (unsigned long long) zap->mechanism, (unsigned long long) zap->handshake);
    s_printf (&t, "# HELP baton_replies_refused_total Replies not delivered to a client, by "
                  "reason.\n# TYPE baton_replies_refused_total counter\n");
    for (int i = 0; i < BATON_REPLY_REFUSED__COUNT; i++)
        s_printf (&t, "baton_replies_refused_total{reason=\"%s\"} %llu\n", s_reply_refusal_names[i],
                  (unsigned long long) self->replies_refused[i]);
    s_printf (&t, "# HELP baton_control_refused_total Control messages not applied, by reason.\n"
                  "# TYPE baton_control_refused_total counter\n");
    for (int i = 0; i < BATON_CONTROL_REFUSED__COUNT; i++)
        s_printf (&t, "baton_control_refused_total{reason=\"%s\"} %llu\n",
                  s_control_refusal_names[i], (unsigned long long) self->control_refused[i]);
    s_printf (&t, "# HELP baton_config_reloads_total Reloads of the config file, by result.\n"
                  "# TYPE baton_config_reloads_total counter\n");
    for (int i = 0; i < BATON_RELOAD__COUNT; i++)
        s_printf (&t, "baton_config_reloads_total{result=\"%s\"} %llu\n", s_reload_names[i],
                  (unsigned long long) self->reloads[i]);
    s_printf (&t,
              "# HELP baton_config_generation The config in force: 1 at start, one more per "
              "reload that took effect.\n# TYPE baton_config_generation gauge\n"
              "baton_config_generation %llu\n",
              (unsigned long long) self->generation);
    *len_p = t.len;
    return t.data;
}
