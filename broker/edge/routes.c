/*  routes.c - the route table: each pattern is split into segments once
 *  (config/pattern.h) and the routes are sorted by precedence (routes.h); a
 *  match splits the request path into segment offsets on the stack and takes
 *  the first route whose segments and methods fit.  */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edge/routes.h"

typedef struct {
    const baton_config_route_t *route;
    uint64_t methods; //  bit i set: self->method[i] allowed
    bool any;         //  no methods: list, every method allowed
    baton_pattern_t pattern;
} s_route_t;

struct baton_routes {
    s_route_t *routes; //  in match order
    size_t count;
    const char *method[BATON_CONFIG_MAX_METHODS]; //  distinct methods, sorted
    size_t method_len[BATON_CONFIG_MAX_METHODS];
    size_t method_count;
};

//  Precedence (routes.h): non-prefix first; longer prefixes first; from the
//  left, literal before {param}; then file order. Patterns of different
//  lengths without "/*" never match the same path, so ordering them by
//  length only keeps the order total.
static int
s_compare (const void *pa, const void *pb)
{
    const s_route_t *ra = pa, *rb = pb;
    const baton_pattern_t *a = &ra->pattern, *b = &rb->pattern;
    if (a->prefix != b->prefix)
        return a->prefix ? 1 : -1;
    if (a->prefix && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t k = 0; k < n; k++)
        if (a->segment[k].param != b->segment[k].param)
            return a->segment[k].param ? 1 : -1;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    if (ra->route->index != rb->route->index)
        return ra->route->index < rb->route->index ? -1 : 1;
    return 0;
}

static int
s_compare_names (const void *pa, const void *pb)
{
    return strcmp (*(const char *const *) pa, *(const char *const *) pb);
}

baton_routes_t *
baton_routes_new (const baton_config_t *config)
{
    assert (config);
    baton_routes_t *self = calloc (1, sizeof *self);
    size_t count = baton_config_route_count (config);
    if (self)
        self->routes = calloc (count ? count : 1, sizeof *self->routes);
    if (!self || !self->routes) {
        fputs ("baton: out of memory\n", stderr);
        abort ();
    }
    self->count = count;
    //  The distinct methods, sorted, so each route's list becomes a bitmask.
    //  The configuration holds at most BATON_CONFIG_MAX_METHODS of them.
    for (size_t i = 0; i < count; i++) {
        const baton_config_route_t *route = baton_config_route (config, i);
        for (size_t m = 0; m < route->method_count; m++) {
            size_t k = 0;
            while (k < self->method_count && strcmp (self->method[k], route->methods[m]) != 0)
                k++;
            if (k == self->method_count) {
                assert (k < BATON_CONFIG_MAX_METHODS);
                self->method[self->method_count++] = route->methods[m];
            }
        }
    }
    qsort (self->method, self->method_count, sizeof self->method[0], s_compare_names);
    for (size_t k = 0; k < self->method_count; k++)
        self->method_len[k] = strlen (self->method[k]);

    for (size_t i = 0; i < count; i++) {
        s_route_t *r = &self->routes[i];
        r->route = baton_config_route (config, i);
        //  The configuration accepted the pattern, so it parses.
        int rc =
            baton_pattern_parse (r->route->path, strlen (r->route->path), &r->pattern, NULL, 0);
        assert (rc == 0);
        (void) rc;
        r->any = r->route->method_count == 0;
        for (size_t m = 0; m < r->route->method_count; m++)
            for (size_t k = 0; k < self->method_count; k++)
                if (strcmp (self->method[k], r->route->methods[m]) == 0)
                    r->methods |= (uint64_t) 1 << k;
    }
    qsort (self->routes, count, sizeof self->routes[0], s_compare);
    return self;
}

void
baton_routes_destroy (baton_routes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_routes_t *self = *self_p;
    free (self->routes);
    free (self);
    *self_p = NULL;
}

//  Matches r's segments against the path's; returns the number of captures
//  written into params, or -1.
static int
s_match_path (const s_route_t *r, const char *path, size_t path_len, const size_t *start,
              const size_t *end, size_t nseg, baton_route_param_t *params)
{
    const baton_pattern_t *p = &r->pattern;
    if (p->prefix ? nseg <= p->count : nseg != p->count)
        return -1;
    const char *pattern = r->route->path;
    int n = 0;
    for (size_t k = 0; k < p->count; k++) {
        const baton_pattern_segment_t *g = &p->segment[k];
        size_t len = end[k] - start[k];
        if (g->param) {
            if (len == 0)
                return -1;
            params[n].name = (baton_slice_t){pattern + g->off, g->len};
            params[n].value = (baton_slice_t){path + start[k], len};
            n++;
        } else if (len != g->len || memcmp (path + start[k], pattern + g->off, len) != 0)
            return -1;
    }
    if (p->prefix) {
        //  The "*" itself is the pattern's last byte.
        params[n].name = (baton_slice_t){pattern + strlen (pattern) - 1, 1};
        params[n].value = (baton_slice_t){path + start[p->count], path_len - start[p->count]};
        n++;
    }
    return n;
}

baton_route_result_t
baton_routes_match (const baton_routes_t *self, const char *method, size_t method_len,
                    const char *path, size_t path_len, baton_route_match_t *match)
{
    assert (self && match);
    match->route = NULL;
    match->param_count = 0;
    match->allow = 0;
    if (!path || path_len == 0 || path[0] != '/')
        return BATON_ROUTE_NOT_FOUND;

    //  Segment offsets of the path. Patterns have at most MAX_SEGMENTS
    //  segments, so a path with more than that can only match a prefix route,
    //  which needs no more than the first MAX_SEGMENTS; nseg = MAX + 1 stands
    //  for "more".
    size_t start[BATON_PATTERN_MAX_SEGMENTS + 1], end[BATON_PATTERN_MAX_SEGMENTS + 1];
    size_t nseg = 0, i = 1;
    while (true) {
        if (nseg == BATON_PATTERN_MAX_SEGMENTS) {
            start[nseg] = end[nseg] = i;
            nseg++;
            break;
        }
        const char *slash = i < path_len ? memchr (path + i, '/', path_len - i) : NULL;
        start[nseg] = i;
        end[nseg] = slash ? (size_t) (slash - path) : path_len;
        i = end[nseg];
        nseg++;
        if (i >= path_len)
            break;
        i++;
    }

    uint64_t bit = 0;
    for (size_t k = 0; method && k < self->method_count; k++)
        if (self->method_len[k] == method_len && memcmp (self->method[k], method, method_len) == 0)
            bit = (uint64_t) 1 << k;

    bool path_matched = false;
    uint64_t allow = 0;
    for (size_t r = 0; r < self->count; r++) {
        const s_route_t *route = &self->routes[r];
        int n = s_match_path (route, path, path_len, start, end, nseg, match->params);
        if (n < 0)
            continue;
        if (route->any || (route->methods & bit)) {
            match->route = route->route;
            match->param_count = (size_t) n;
            return BATON_ROUTE_FOUND;
        }
        path_matched = true;
        allow |= route->methods;
    }
    if (path_matched) {
        match->allow = allow;
        return BATON_ROUTE_METHOD_NOT_ALLOWED;
    }
    return BATON_ROUTE_NOT_FOUND;
}

size_t
baton_routes_allow (const baton_routes_t *self, uint64_t allow, char *buf, size_t cap)
{
    assert (self);
    size_t need = 0;
    for (size_t k = 0; k < self->method_count; k++) {
        if (!(allow & ((uint64_t) 1 << k)))
            continue;
        const char *parts[2] = {need ? ", " : "", self->method[k]};
        size_t lens[2] = {need ? 2 : 0, self->method_len[k]};
        for (int p = 0; p < 2; p++) {
            if (cap > 0 && need < cap - 1) {
                size_t room = cap - 1 - need;
                memcpy (buf + need, parts[p], lens[p] < room ? lens[p] : room);
            }
            need += lens[p];
        }
    }
    if (cap > 0)
        buf[need < cap - 1 ? need : cap - 1] = '\0';
    return need;
}

size_t
baton_routes_count (const baton_routes_t *self)
{
    assert (self);
    return self->count;
}

const baton_config_route_t *
baton_routes_at (const baton_routes_t *self, size_t index)
{
    assert (self);
    return index < self->count ? self->routes[index].route : NULL;
}
