/*  bench_classify.c - the route table with 1,000 routes (literal, {param},
 *  prefix, host-, header- and query-matched) classifying hits and misses, in
 *  ns per request. Goal: under 1 us per hit. Bounded: fixed counts, best of
 *  runs. Run alone: build/bench/bench_classify [iterations]  */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config/config.h"
#include "edge/routes.h"

#define S_SERVICES 39 //  25 routes each, and 25 under a {tenant}: 1,000
#define S_LOOSE    25

static double
now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

//  Appends the formatted text to the growing buffer *buf (*len bytes used).
static void __attribute__ ((format (printf, 3, 4)))
s_add (char **buf, size_t *len, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    *buf = realloc (*buf, *len + (size_t) n + 1);
    if (!*buf)
        abort ();
    memcpy (*buf + *len, line, (size_t) n + 1);
    *len += (size_t) n;
}

//  The configuration: per service, the routes an API of some size has.
static char *
s_config (size_t *len)
{
    char *y = NULL;
    *len = 0;
    s_add (&y, len, "functions:\n  f:\n  g:\nroutes:\n");
    for (int s = 0; s < S_SERVICES; s++) {
        s_add (&y, len, "  - {path: /svc%d/items, methods: [GET], chain: [f]}\n", s);
        s_add (&y, len, "  - {path: /svc%d/items, methods: [POST], chain: [g]}\n", s);
        s_add (&y, len, "  - {path: '/svc%d/items/{id}', methods: [GET], chain: [f]}\n", s);
        s_add (&y, len,
               "  - {path: '/svc%d/items/{id}', methods: [GET], match: {headers: "
               "{x-intent: [checkout, quote]}}, chain: [g]}\n",
               s);
        s_add (&y, len,
               "  - {path: '/svc%d/items/{id}', methods: [GET], match: {host: "
               "api.example.com}, chain: [g]}\n",
               s);
        s_add (&y, len, "  - {path: '/svc%d/items/{id}/parts/{part}', chain: [f]}\n", s);
        s_add (&y, len, "  - {path: '/svc%d/static/*', chain: [f]}\n", s);
        s_add (&y, len, "  - {path: '/svc%d/v1/orders/{id}', chain: [f]}\n", s);
        s_add (&y, len,
               "  - {path: '/svc%d/v1/orders/{id}', match: {query: {v: '2'}}, chain: [g]}\n", s);
        for (int k = 0; k < 16; k++)
            s_add (&y, len, "  - {path: /svc%d/r%d, chain: [f]}\n", s, k);
    }
    for (int k = 0; k < S_LOOSE; k++)
        s_add (&y, len, "  - {path: '/{tenant}/h%d', chain: [f]}\n", k);
    return y;
}

typedef struct {
    const char *method, *host, *target;
    const char *header_name, *header_value; //  one header beside the usual ones
    baton_route_result_t want;
} s_case_t;

static const s_case_t s_hits[] = {
    {"GET", "gw.local", "/svc17/items/42", "x-intent", "quote", BATON_ROUTE_FOUND},
    {"GET", "api.example.com:8080", "/svc3/items/42", "x-other", "1", BATON_ROUTE_FOUND},
    {"GET", "gw.local", "/svc30/r7", "x-other", "1", BATON_ROUTE_FOUND},
    {"GET", "gw.local", "/svc12/static/css/site.css", "x-other", "1", BATON_ROUTE_FOUND},
    {"GET", "gw.local", "/svc5/v1/orders/9?a=1&v=2", "x-other", "1", BATON_ROUTE_FOUND},
    {"PUT", "gw.local", "/svc22/items/7/parts/3", "x-other", "1", BATON_ROUTE_FOUND},
    {"GET", "gw.local", "/acme/h5", "x-other", "1", BATON_ROUTE_FOUND},
    {"POST", "gw.local", "/svc38/items", "x-intent", "checkout", BATON_ROUTE_FOUND},
};

static const s_case_t s_misses[] = {
    {"GET", "gw.local", "/nope/x", "x-other", "1", BATON_ROUTE_NOT_FOUND},
    {"GET", "gw.local", "/svc10/unknown/a/b", "x-other", "1", BATON_ROUTE_NOT_FOUND},
    {"DELETE", "gw.local", "/svc10/items/1", "x-intent", "quote", BATON_ROUTE_METHOD_NOT_ALLOWED},
    {"GET", "gw.local", "/svc10/r99", "x-other", "1", BATON_ROUTE_NOT_FOUND},
};

#define S_MAX_CASES 8

typedef struct {
    baton_header_t headers[5];
    baton_route_request_t req;
} s_request_t;

static void
s_request (const s_case_t *c, s_request_t *r)
{
    const char *q = strchr (c->target, '?');
    size_t path_len = q ? (size_t) (q - c->target) : strlen (c->target);
    r->headers[0] = (baton_header_t){{"Host", 4}, {c->host, strlen (c->host)}};
    r->headers[1] = (baton_header_t){{"User-Agent", 10}, {"curl/7.88.1", 11}};
    r->headers[2] = (baton_header_t){{"Accept", 6}, {"*/*", 3}};
    r->headers[3] = (baton_header_t){{"Content-Type", 12}, {"application/json", 16}};
    r->headers[4] = (baton_header_t){{c->header_name, strlen (c->header_name)},
                                     {c->header_value, strlen (c->header_value)}};
    r->req = (baton_route_request_t){
        .method = {c->method, strlen (c->method)},
        .path = {c->target, path_len},
        .query = q ? (baton_slice_t){q + 1, strlen (q + 1)} : (baton_slice_t){"", 0},
        .host = {c->host, strlen (c->host)},
        .headers = r->headers,
        .header_count = 5,
    };
}

static volatile size_t s_sink;

//  Best of 5 runs of iters passes over the n cases, in ns per request.
//  Returns -1 if a case does not classify as it should.
static double
s_time (const baton_routes_t *routes, const s_case_t *cases, size_t n, long iters)
{
    s_request_t reqs[S_MAX_CASES];
    baton_route_match_t m;
    for (size_t i = 0; i < n; i++) {
        s_request (&cases[i], &reqs[i]);
        if (baton_routes_match (routes, &reqs[i].req, &m) != cases[i].want) {
            fprintf (stderr, "bench_classify: %s %s classified wrong\n", cases[i].method,
                     cases[i].target);
            return -1;
        }
    }
    double best = 0;
    for (int run = 0; run < 5; run++) {
        double t0 = now_ns ();
        for (long it = 0; it < iters; it++)
            for (size_t i = 0; i < n; i++)
                s_sink += (size_t) baton_routes_match (routes, &reqs[i].req, &m);
        double per = (now_ns () - t0) / ((double) iters * (double) n);
        best = run == 0 || per < best ? per : best;
    }
    return best;
}

int
main (int argc, char **argv)
{
    long iters = argc > 1 ? atol (argv[1]) : 200000;
    if (iters <= 0) {
        fprintf (stderr, "usage: bench_classify [iterations]\n");
        return 2;
    }
    size_t len;
    char *yaml = s_config (&len);
    char err[BATON_CONFIG_MAX_ERROR];
    baton_config_t *cfg = baton_config_parse (yaml, len, "bench.yaml", err, sizeof err);
    free (yaml);
    if (!cfg) {
        fprintf (stderr, "bench_classify: %s\n", err);
        return 1;
    }
    baton_routes_t *routes = baton_routes_new (cfg);
    double hit = s_time (routes, s_hits, sizeof s_hits / sizeof s_hits[0], iters);
    double miss = s_time (routes, s_misses, sizeof s_misses / sizeof s_misses[0], iters);
    if (hit >= 0 && miss >= 0)
        printf ("classify, %zu routes: hit %.0f ns/request, miss %.0f ns/request (goal: hit "
                "< 1000)\n",
                baton_routes_count (routes), hit, miss);
    baton_routes_destroy (&routes);
    baton_config_destroy (&cfg);
    return hit >= 0 && miss >= 0 ? 0 : 1;
}
