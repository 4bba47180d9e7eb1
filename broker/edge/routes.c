/*  routes.c - the route table: each pattern is split into segments once
 *  (config/pattern.h), the routes are sorted by precedence (routes.h) and
 *  indexed by their leading literal segments; a match splits the request path
 *  into segment offsets on the stack and walks, in precedence order, only the
 *  routes whose index key fits the path, taking the first whose segments,
 *  conditions and methods fit.  */
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

//  The routes whose pattern starts with the literal segments key ("api", or
//  "api/v1" for two): they can match only a path that starts with them.
typedef struct {
    const char *key; //  into a pattern; NULL: a free slot
    size_t len;
    uint64_t hash;
    uint32_t first; //  their ranks: self->lists[first .. first + count)
    uint32_t count;
} s_bucket_t;

struct baton_routes {
    s_route_t *routes; //  in match order: a route's rank is its index here
    size_t count;
    s_bucket_t *buckets; //  open addressing, bucket_mask + 1 slots
    size_t bucket_mask;
    uint32_t *lists;       //  ranks, ascending within each bucket's run
    const uint32_t *loose; //  ranks of the routes without a leading literal
    size_t loose_count;
    const char *method[BATON_CONFIG_MAX_METHODS]; //  distinct methods, sorted
    size_t method_len[BATON_CONFIG_MAX_METHODS];
    size_t method_count;
};

//  Precedence (routes.h): non-prefix first; longer prefixes first; from the
//  left, literal before {param}; more conditions first; then file order.
//  Patterns of different lengths without "/*" never match the same path, so
//  ordering them by length only keeps the order total.
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
    if (ra->route->match.count != rb->route->match.count)
        return ra->route->match.count > rb->route->match.count ? -1 : 1;
    if (ra->route->index != rb->route->index)
        return ra->route->index < rb->route->index ? -1 : 1;
    return 0;
}

static int
s_compare_names (const void *pa, const void *pb)
{
    return strcmp (*(const char *const *) pa, *(const char *const *) pb);
}

static void *
s_calloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size);
    if (!p) {
        fputs ("baton: out of memory\n", stderr);
        abort ();
    }
    return p;
}

//  FNV-1a.
static uint64_t
s_hash (const char *s, size_t len)
{
    uint64_t h = UINT64_C (14695981039346656037);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) s[i]) * UINT64_C (1099511628211);
    return h;
}

//  The index key of r: its first one or two segments when they are
//  literals, without the leading "/". Returns false when the first is not.
static bool
s_key_of (const s_route_t *r, const char **key, size_t *len)
{
    const baton_pattern_t *p = &r->pattern;
    if (p->count == 0 || p->segment[0].param)
        return false;
    size_t last = p->count >= 2 && !p->segment[1].param ? 1 : 0;
    *key = r->route->path + 1;
    *len = (size_t) p->segment[last].off + p->segment[last].len - 1;
    return true;
}

//  The slot of key: its bucket, or the free slot where it would go.
static s_bucket_t *
s_slot (const baton_routes_t *self, const char *key, size_t len, uint64_t hash)
{
    size_t i = (size_t) hash & self->bucket_mask;
    while (self->buckets[i].key && (self->buckets[i].hash != hash || self->buckets[i].len != len ||
                                    memcmp (self->buckets[i].key, key, len) != 0))
        i = (i + 1) & self->bucket_mask;
    return &self->buckets[i];
}

//  Builds the index of the routes, already in match order.
static void
s_index (baton_routes_t *self)
{
    size_t cap = 1;
    while (cap < 2 * self->count)
        cap *= 2;
    self->buckets = s_calloc (cap, sizeof *self->buckets);
    self->bucket_mask = cap - 1;
    self->lists = s_calloc (self->count, sizeof *self->lists);
    s_bucket_t **of = s_calloc (self->count, sizeof *of); //  each route's bucket, or NULL
    for (size_t r = 0; r < self->count; r++) {
        const char *key;
        size_t len;
        if (!s_key_of (&self->routes[r], &key, &len))
            continue;
        uint64_t hash = s_hash (key, len);
        s_bucket_t *b = s_slot (self, key, len, hash);
        if (!b->key)
            *b = (s_bucket_t){key, len, hash, 0, 0};
        b->count++;
        of[r] = b;
    }
    //  Each bucket's run of ranks, then the loose ones, filled in rank order.
    uint32_t next = 0;
    for (size_t i = 0; i < cap; i++)
        if (self->buckets[i].key) {
            self->buckets[i].first = next;
            next += self->buckets[i].count;
            self->buckets[i].count = 0;
        }
    self->loose = self->lists + next;
    for (size_t r = 0; r < self->count; r++) {
        if (of[r])
            self->lists[of[r]->first + of[r]->count++] = (uint32_t) r;
        else
            self->lists[next + self->loose_count++] = (uint32_t) r;
    }
    free (of);
}

baton_routes_t *
baton_routes_new (const baton_config_t *config)
{
    assert (config);
    baton_routes_t *self = s_calloc (1, sizeof *self);
    size_t count = baton_config_route_count (config);
    self->routes = s_calloc (count, sizeof *self->routes);
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
    s_index (self);
    return self;
}

void
baton_routes_destroy (baton_routes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_routes_t *self = *self_p;
    free (self->routes);
    free (self->buckets);
    free (self->lists);
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

//  --------------------------------------------------------------------------
//  Conditions

static char
s_lower (char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

//  True if the len bytes at a equal the lower-case bytes at b, without case.
static bool
s_ieq (const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s_lower (a[i]) != b[i])
            return false;
    return true;
}

//  True if the request's host[:port] meets m's host condition.
static bool
s_host_holds (const baton_config_match_t *m, baton_slice_t host)
{
    const char *h = host.ptr;
    size_t len = host.len, name = len;
    //  The port follows the last ':' after an IPv6 literal's "]".
    const char *close = len > 0 && h[0] == '[' ? memchr (h, ']', len) : NULL;
    for (size_t i = close ? (size_t) (close - h) : 0; i < len; i++)
        if (h[i] == ':')
            name = i;
    if (m->host_port) {
        uint32_t port = 0;
        size_t digits = len - (name < len ? name + 1 : len);
        if (name == len || digits == 0 || digits > 5)
            return false;
        for (size_t i = name + 1; i < len; i++) {
            if (h[i] < '0' || h[i] > '9')
                return false;
            port = port * 10 + (uint32_t) (h[i] - '0');
        }
        if (port != m->host_port)
            return false;
    }
    //  "example.com." is "example.com".
    if (name > 1 && h[name - 1] == '.')
        name--;
    size_t want = m->host_name_len;
    if (!m->host_wildcard)
        return name == want && s_ieq (h, m->host_name, want);
    //  "*.s": at least one label, then ".s".
    return name > want + 1 && h[name - want - 1] == '.' &&
           s_ieq (h + name - want, m->host_name, want);
}

//  True if some field line of the request meets header condition c.
static bool
s_header_holds (const baton_config_condition_t *c, const baton_route_request_t *req)
{
    for (size_t i = 0; i < req->header_count; i++) {
        const baton_header_t *f = &req->headers[i];
        if (f->name.len != c->name_len || !s_ieq (f->name.ptr, c->name, c->name_len))
            continue;
        if (c->kind == BATON_CONFIG_MATCH_PRESENT)
            return true;
        for (size_t k = 0; k < c->value_count; k++)
            if (f->value.len == c->value_lens[k] &&
                memcmp (f->value.ptr, c->values[k], c->value_lens[k]) == 0)
                return true;
    }
    return false;
}

static int
s_hex (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = s_lower (c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

//  True if the len raw bytes at s, percent-decoded ("+" a space, a "%"
//  without two hex digits itself), are the want_len bytes at want. Reads
//  each byte once and stops at the first that differs.
static bool
s_decoded_eq (const char *s, size_t len, const char *want, size_t want_len)
{
    size_t j = 0;
    for (size_t i = 0; i < len; i++, j++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < len && s_hex (s[i + 1]) >= 0 && s_hex (s[i + 2]) >= 0) {
            c = (char) (s_hex (s[i + 1]) * 16 + s_hex (s[i + 2]));
            i += 2;
        }
        if (j == want_len || c != want[j])
            return false;
    }
    return j == want_len;
}

//  True if some parameter of the raw query meets condition c.
static bool
s_query_holds (const baton_config_condition_t *c, baton_slice_t query)
{
    const char *q = query.ptr, *end = q + query.len;
    while (q < end) {
        const char *amp = memchr (q, '&', (size_t) (end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr (q, '=', (size_t) (stop - q));
        const char *name_end = eq ? eq : stop;
        const char *value = eq ? eq + 1 : stop;
        if (s_decoded_eq (q, (size_t) (name_end - q), c->name, c->name_len)) {
            if (c->kind == BATON_CONFIG_MATCH_PRESENT)
                return true;
            for (size_t k = 0; k < c->value_count; k++)
                if (s_decoded_eq (value, (size_t) (stop - value), c->values[k], c->value_lens[k]))
                    return true;
        }
        q = stop + 1;
    }
    return false;
}

//  True if every condition of m holds for req.
static bool
s_conditions_hold (const baton_config_match_t *m, const baton_route_request_t *req)
{
    if (m->host && !s_host_holds (m, req->host))
        return false;
    for (size_t i = 0; i < m->header_count; i++)
        if (!s_header_holds (&m->headers[i], req))
            return false;
    for (size_t i = 0; i < m->query_count; i++)
        if (!s_query_holds (&m->query[i], req->query))
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  Matching

baton_route_request_t
baton_routes_request (const baton_http_request_t *req, baton_slice_t path)
{
    assert (req);
    const char *t = req->target.ptr, *end = t + req->target.len;
    const char *q = memchr (t, '?', req->target.len);
    baton_slice_t host = req->host;
    if (req->form == BATON_HTTP_FORM_ABSOLUTE) {
        //  RFC 9112 section 3.2.2: the target's authority, not Host.
        const char *a = memchr (t, ':', req->target.len);
        a = a && end - a >= 3 ? a + 3 : end;
        const char *e = a;
        while (e < end && *e != '/' && *e != '?')
            e++;
        host = (baton_slice_t){a, (size_t) (e - a)};
    }
    return (baton_route_request_t){
        .method = req->method,
        .path = path,
        .query = q ? (baton_slice_t){q + 1, (size_t) (end - q - 1)} : (baton_slice_t){end, 0},
        .host = host,
        .headers = req->headers,
        .header_count = req->header_count,
    };
}

//  The ranks of the routes indexed under the len bytes at key (none: 0).
static const uint32_t *
s_lookup (const baton_routes_t *self, const char *key, size_t len, size_t *count)
{
    const s_bucket_t *b = s_slot (self, key, len, s_hash (key, len));
    *count = b->key ? b->count : 0;
    return b->key ? self->lists + b->first : NULL;
}

baton_route_result_t
baton_routes_match (const baton_routes_t *self, const baton_route_request_t *req,
                    baton_route_match_t *match)
{
    assert (self && req && match);
    match->route = NULL;
    match->param_count = 0;
    match->allow = 0;
    const char *path = req->path.ptr;
    size_t path_len = req->path.len;
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
    for (size_t k = 0; req->method.ptr && k < self->method_count; k++)
        if (self->method_len[k] == req->method.len &&
            memcmp (self->method[k], req->method.ptr, req->method.len) == 0)
            bit = (uint64_t) 1 << k;

    //  The candidates: routes without a leading literal, those keyed by the
    //  path's first segment, and by its first two; merged by rank, so they
    //  are tried in match order.
    const uint32_t *list[3] = {self->loose, NULL, NULL};
    size_t n[3] = {self->loose_count, 0, 0}, at[3] = {0, 0, 0};
    list[1] = s_lookup (self, path + 1, end[0] - 1, &n[1]);
    if (nseg >= 2)
        list[2] = s_lookup (self, path + 1, end[1] - 1, &n[2]);

    bool path_matched = false;
    uint64_t allow = 0;
    while (true) {
        size_t best = 3;
        for (size_t l = 0; l < 3; l++)
            if (at[l] < n[l] && (best == 3 || list[l][at[l]] < list[best][at[best]]))
                best = l;
        if (best == 3)
            break;
        const s_route_t *route = &self->routes[list[best][at[best]++]];
        int got = s_match_path (route, path, path_len, start, end, nseg, match->params);
        if (got < 0)
            continue;
        const baton_config_match_t *m = &route->route->match;
        if (m->count > 0 && !s_conditions_hold (m, req))
            continue;
        if (route->any || (route->methods & bit)) {
            match->route = route->route;
            match->param_count = (size_t) got;
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
