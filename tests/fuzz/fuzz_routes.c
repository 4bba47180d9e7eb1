/*  fuzz_routes.c - libFuzzer target for the route table's matcher, with
 *  hostile requests: the input's lines are the method, the host, the target
 *  (path and query) and "name: value" header lines, each in a buffer of its
 *  own exact size, so a read past any of them is caught. Every result must
 *  be one of the three, with captures inside the path.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "edge/routes.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_MAX_HEADERS 16

static const char s_table[] =
    "functions:\n  f:\n  g:\nroutes:\n"
    "  - {path: '/orders/{id}', methods: [GET], chain: [f]}\n"
    "  - {path: '/orders/{id}', methods: [GET, PUT], match: {headers: {x-intent: [a, b], "
    "x-debug: present}}, chain: [g]}\n"
    "  - {path: '/orders/{id}', match: {host: '*.example.com:8080'}, chain: [g]}\n"
    "  - {path: '/orders/{id}', match: {host: '[::1]'}, chain: [f]}\n"
    "  - {path: /search, match: {query: {v: '2', q: present, 'a b': ['c&d', '%']}}, chain: [f]}\n"
    "  - {path: /search, match: {host: api.example.com, query: {v: present}}, chain: [g]}\n"
    "  - {path: '/{t}/x/*', chain: [f]}\n"
    "  - {path: /a/b/c, methods: [POST], chain: [g]}\n"
    "  - {path: /*, methods: [OPTIONS], chain: [f]}\n";

static baton_config_t *s_cfg;
static baton_routes_t *s_routes;

//  A copy of the len bytes at p in a buffer of exactly that size.
static char *
s_copy (const uint8_t *p, size_t len)
{
    char *c = malloc (len ? len : 1);
    if (!c)
        abort ();
    memcpy (c, p, len);
    return c;
}

//  The next line of data (up to '\n' or the end), copied; advances *at.
static char *
s_line (const uint8_t *data, size_t size, size_t *at, size_t *len)
{
    const uint8_t *p = data + *at;
    const uint8_t *nl = memchr (p, '\n', size - *at);
    *len = nl ? (size_t) (nl - p) : size - *at;
    *at += *len + (nl ? 1 : 0);
    return s_copy (p, *len);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_routes) {
        char err[BATON_CONFIG_MAX_ERROR];
        s_cfg = baton_config_parse (s_table, sizeof s_table - 1, "fuzz.yaml", err, sizeof err);
        if (!s_cfg)
            abort ();
        s_routes = baton_routes_new (s_cfg);
    }
    size_t at = 0, mlen, hlen, tlen;
    char *method = s_line (data, size, &at, &mlen);
    char *host = s_line (data, size, &at, &hlen);
    char *target = s_line (data, size, &at, &tlen);
    baton_header_t headers[S_MAX_HEADERS];
    char *lines[S_MAX_HEADERS];
    size_t n = 0;
    while (at < size && n < S_MAX_HEADERS) {
        size_t len;
        lines[n] = s_line (data, size, &at, &len);
        const char *colon = memchr (lines[n], ':', len);
        size_t name = colon ? (size_t) (colon - lines[n]) : len;
        //  The name and the value each in a buffer of its own size.
        char *value = s_copy ((const uint8_t *) lines[n] + (colon ? name + 1 : len),
                              colon ? len - name - 1 : 0);
        headers[n].name = (baton_slice_t){lines[n], name};
        headers[n].value = (baton_slice_t){value, colon ? len - name - 1 : 0};
        n++;
    }
    const char *q = memchr (target, '?', tlen);
    size_t path_len = q ? (size_t) (q - target) : tlen;
    baton_route_request_t req = {
        .method = {method, mlen},
        .path = {target, path_len},
        .query = {q ? q + 1 : target + tlen, q ? tlen - path_len - 1 : 0},
        .host = {host, hlen},
        .headers = headers,
        .header_count = n,
    };
    baton_route_match_t m;
    switch (baton_routes_match (s_routes, &req, &m)) {
    case BATON_ROUTE_FOUND:
        if (!m.route || m.param_count > BATON_ROUTES_MAX_CAPTURES)
            abort ();
        for (size_t i = 0; i < m.param_count; i++)
            if (m.params[i].value.ptr < target ||
                m.params[i].value.ptr + m.params[i].value.len > target + path_len)
                abort ();
        break;
    case BATON_ROUTE_NOT_FOUND:
        if (m.route)
            abort ();
        break;
    case BATON_ROUTE_METHOD_NOT_ALLOWED:
        if (m.route || m.allow == 0)
            abort ();
        break;
    default:
        abort ();
    }
    for (size_t i = 0; i < n; i++) {
        free (lines[i]);
        free ((char *) headers[i].value.ptr);
    }
    free (method);
    free (host);
    free (target);
    return 0;
}
