/*  routes.c - the route table: each pattern is split into segments once and
 *  the routes are sorted by precedence (routes.h); a match splits the request
 *  path into segment offsets on the stack and takes the first route whose
 *  segments and methods fit.  */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edge/routes.h"

typedef struct {
    uint16_t off; //  literal, or the name of a {param}, in the pattern
    uint16_t len;
    bool param;
} s_seg_t;

typedef struct {
    const baton_config_route_t *route;
    uint64_t methods; //  bit i set: self->method[i] allowed
    bool any;         //  no methods: list, every method allowed
    bool prefix;      //  pattern ends in "/*"
    size_t nseg;      //  segments, not counting a final "*"
    s_seg_t seg[BATON_ROUTES_MAX_SEGMENTS];
} s_route_t;

struct baton_routes {
    s_route_t *routes; //  in match order
    size_t count;
    const char *method[BATON_CONFIG_MAX_METHODS]; //  distinct methods, sorted
    size_t method_len[BATON_CONFIG_MAX_METHODS];
    size_t method_count;
};

static int s_why (char *why, size_t whylen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_why (char *why, size_t whylen, const char *fmt, ...)
{
    if (whylen > 0) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (why, whylen, fmt, ap);
        va_end (ap);
    }
    return -1;
}

static bool
s_is_alpha (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
s_is_digit (unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_is_hex (unsigned char c)
{
    return s_is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

//  RFC 3986 pchar without pct-encoded, '*' and the ':' '@' kept: unreserved,
//  sub-delims (less '*', which only makes prefix patterns), ':' and '@'.
static bool
s_is_pchar (unsigned char c)
{
    return s_is_alpha (c) || s_is_digit (c) || (c != '\0' && strchr ("-._~!$&'()+,;=:@", c));
}

int
baton__routes_check_pattern (const char *p, size_t len, char *why, size_t whylen)
{
    if (len == 0 || p[0] != '/')
        return s_why (why, whylen, "a path must start with \"/\"");
    if (len > BATON_ROUTES_MAX_PATTERN)
        return s_why (why, whylen, "a path pattern is at most %d bytes", BATON_ROUTES_MAX_PATTERN);
    const char *names[BATON_ROUTES_MAX_PARAMS];
    size_t name_len[BATON_ROUTES_MAX_PARAMS];
    size_t nparams = 0, nseg = 0, i = 1;
    while (true) {
        size_t s = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - s;
        if (++nseg > BATON_ROUTES_MAX_SEGMENTS)
            return s_why (why, whylen, "more than %d segments", BATON_ROUTES_MAX_SEGMENTS);
        if (n == 0) {
            if (i < len)
                return s_why (why, whylen, "empty segment (\"//\")");
        } else if (n == 1 && p[s] == '*') {
            if (i < len)
                return s_why (why, whylen,
                              "\"*\" is only allowed as the whole last segment (\"/static/*\")");
        } else if (p[s] == '{') {
            if (p[i - 1] != '}')
                return s_why (why, whylen, "a parameter is a whole segment, like {id}");
            const char *name = p + s + 1;
            size_t nl = n - 2;
            if (nl == 0)
                return s_why (why, whylen, "empty parameter name \"{}\"");
            if (nl > 32)
                return s_why (why, whylen, "a parameter name is at most 32 bytes");
            if (!(s_is_alpha ((unsigned char) name[0]) || name[0] == '_'))
                return s_why (why, whylen,
                              "parameter name \"%.*s\" must start with a letter or \"_\"", (int) nl,
                              name);
            for (size_t k = 1; k < nl; k++)
                if (!(s_is_alpha ((unsigned char) name[k]) ||
                      s_is_digit ((unsigned char) name[k]) || name[k] == '_'))
                    return s_why (why, whylen,
                                  "parameter name \"%.*s\" may hold only letters, digits and \"_\"",
                                  (int) nl, name);
            for (size_t k = 0; k < nparams; k++)
                if (name_len[k] == nl && memcmp (names[k], name, nl) == 0)
                    return s_why (why, whylen, "parameter {%.*s} appears twice", (int) nl, name);
            if (nparams == BATON_ROUTES_MAX_PARAMS)
                return s_why (why, whylen, "more than %d parameters", BATON_ROUTES_MAX_PARAMS);
            names[nparams] = name;
            name_len[nparams] = nl;
            nparams++;
        } else {
            if ((n == 1 && p[s] == '.') || (n == 2 && p[s] == '.' && p[s + 1] == '.'))
                return s_why (why, whylen, "dot segments (\".\" and \"..\") are not allowed");
            for (size_t k = s; k < i; k++) {
                unsigned char c = (unsigned char) p[k];
                if (c == '%') {
                    if (k + 2 >= i || !s_is_hex ((unsigned char) p[k + 1]) ||
                        !s_is_hex ((unsigned char) p[k + 2]))
                        return s_why (why, whylen, "\"%%\" must be followed by two hex digits");
                    k += 2;
                } else if (c == '*')
                    return s_why (
                        why, whylen,
                        "\"*\" is only allowed as the whole last segment (\"/static/*\")");
                else if (c == '{' || c == '}')
                    return s_why (why, whylen, "a parameter is a whole segment, like {id}");
                else if (c == '?' || c == '#')
                    return s_why (why, whylen, "\"%c\" does not belong in a path pattern", c);
                else if (!s_is_pchar (c))
                    return s_why (why, whylen,
                                  "byte 0x%02X is not allowed in a path; percent-encode it", c);
            }
        }
        if (i >= len)
            break;
        i++;
    }
    return 0;
}

bool
baton__routes_same_pattern (const char *a, const char *b)
{
    //  A '{' only ever opens a whole-segment parameter, so skipping from '{'
    //  to '}' on both sides compares the shapes and the literals.
    size_t i = 0, j = 0;
    while (a[i] && b[j]) {
        if (a[i] == '{' && b[j] == '{') {
            while (a[i] != '}')
                i++;
            while (b[j] != '}')
                j++;
        } else if (a[i] != b[j])
            return false;
        i++;
        j++;
    }
    return a[i] == b[j];
}

//  Splits a pattern already accepted by baton__routes_check_pattern ().
static void
s_split (const char *p, s_route_t *r)
{
    size_t len = strlen (p), i = 1;
    r->nseg = 0;
    r->prefix = false;
    while (true) {
        size_t s = i;
        while (i < len && p[i] != '/')
            i++;
        if (i - s == 1 && p[s] == '*' && i == len) {
            r->prefix = true;
            break;
        }
        assert (r->nseg < BATON_ROUTES_MAX_SEGMENTS);
        s_seg_t *g = &r->seg[r->nseg++];
        if (i > s && p[s] == '{') {
            g->param = true;
            g->off = (uint16_t) (s + 1);
            g->len = (uint16_t) (i - s - 2);
        } else {
            g->param = false;
            g->off = (uint16_t) s;
            g->len = (uint16_t) (i - s);
        }
        if (i >= len)
            break;
        i++;
    }
}

//  Precedence (routes.h): non-prefix first; longer prefixes first; from the
//  left, literal before {param}; then file order. Patterns of different
//  lengths without "/*" never match the same path, so ordering them by
//  length only keeps the order total.
static int
s_compare (const void *pa, const void *pb)
{
    const s_route_t *a = pa, *b = pb;
    if (a->prefix != b->prefix)
        return a->prefix ? 1 : -1;
    if (a->prefix && a->nseg != b->nseg)
        return a->nseg > b->nseg ? -1 : 1;
    size_t n = a->nseg < b->nseg ? a->nseg : b->nseg;
    for (size_t k = 0; k < n; k++)
        if (a->seg[k].param != b->seg[k].param)
            return a->seg[k].param ? 1 : -1;
    if (a->nseg != b->nseg)
        return a->nseg < b->nseg ? -1 : 1;
    if (a->route->index != b->route->index)
        return a->route->index < b->route->index ? -1 : 1;
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
        s_split (r->route->path, r);
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
    if (r->prefix ? nseg <= r->nseg : nseg != r->nseg)
        return -1;
    const char *pattern = r->route->path;
    int n = 0;
    for (size_t k = 0; k < r->nseg; k++) {
        const s_seg_t *g = &r->seg[k];
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
    if (r->prefix) {
        //  The "*" itself is the pattern's last byte.
        params[n].name = (baton_slice_t){pattern + strlen (pattern) - 1, 1};
        params[n].value = (baton_slice_t){path + start[r->nseg], path_len - start[r->nseg]};
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
    size_t start[BATON_ROUTES_MAX_SEGMENTS + 1], end[BATON_ROUTES_MAX_SEGMENTS + 1];
    size_t nseg = 0, i = 1;
    while (true) {
        if (nseg == BATON_ROUTES_MAX_SEGMENTS) {
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
