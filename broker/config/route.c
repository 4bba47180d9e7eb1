/*  route.c - the routes: section of the gateway's file: path, methods,
 *  match conditions, chain and branches, retry, version or split; and the
 *  checks across routes that refuse one the table could never pick.  */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "config/arena.h"
#include "config/config.h"
#include "config/pattern.h"
#include "config/schema_int.h"
#include "config/values.h"
#include "config/yamldoc.h"

//  --------------------------------------------------------------------------
//  Routes

typedef struct {
    const char *name[BATON_CONFIG_MAX_METHODS];
    size_t count;
} s_methods_t;

static int
s_route_methods (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                 s_methods_t *seen, baton_config_route_t *r)
{
    char item[BATON__CFG_PATH], q[80], why[BATON__CFG_WHY];
    if (baton__cfg_seq (ctx, node, path, "a sequence of HTTP methods") < 0)
        return -1;
    if (node->count == 0)
        return baton__cfg_fail (
            ctx, node, path,
            "an empty list allows nothing; leave methods out to allow every method");
    if (node->count > BATON_CONFIG_MAX_METHODS)
        return baton__cfg_fail (ctx, node, path, "more than %d methods", BATON_CONFIG_MAX_METHODS);
    const char **list = baton_arena_alloc (ctx->cfg->arena, node->count * sizeof *list);
    size_t i = 0;
    for (const baton_yamldoc_node_t *m = node->first; m; m = m->next, i++) {
        baton__cfg_index (item, sizeof item, path, i);
        if (baton__cfg_scalar (ctx, m, item, "a method name") < 0)
            return -1;
        if (baton_value_method (m->str, m->len, why, sizeof why) < 0)
            return baton__cfg_fail (ctx, m, item, "%s", why);
        for (size_t k = 0; k < i; k++)
            if (!strcmp (list[k], m->str))
                return baton__cfg_fail (ctx, m, item, "%s is listed twice", BATON__CFG_Q (q, m));
        size_t k = 0;
        while (k < seen->count && strcmp (seen->name[k], m->str))
            k++;
        if (k == seen->count) {
            if (seen->count == BATON_CONFIG_MAX_METHODS)
                return baton__cfg_fail (ctx, m, item,
                                        "more than %d distinct methods across all routes",
                                        BATON_CONFIG_MAX_METHODS);
            seen->name[seen->count++] = m->str;
        }
        list[i] = baton_arena_strndup (ctx->cfg->arena, m->str, m->len);
    }
    r->methods = list;
    r->method_count = node->count;
    return 0;
}

//  The functions that count nodes from first name (items of path), in a
//  new array; NULL after a message.
static const baton_config_function_t **
s_chain_functions (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *first, size_t count,
                   const char *path)
{
    char item[BATON__CFG_PATH], q[80];
    const baton_config_function_t **chain =
        baton_arena_alloc (ctx->cfg->arena, (count ? count : 1) * sizeof *chain);
    const baton_yamldoc_node_t *f = first;
    for (size_t i = 0; i < count; f = f->next, i++) {
        baton__cfg_index (item, sizeof item, path, i);
        if (f->kind == BATON_YAMLDOC_MAPPING) {
            baton__cfg_fail (
                ctx, f, item,
                "a branch is the last element of a route's chain, never inside a branch");
            return NULL;
        }
        if (baton__cfg_scalar (ctx, f, item, "a function name") < 0)
            return NULL;
        chain[i] = baton_config_function_find (ctx->cfg, f->str, f->len);
        if (!chain[i]) {
            baton__cfg_fail (ctx, f, item, "function %s is not declared under functions",
                             BATON__CFG_Q (q, f));
            return NULL;
        }
    }
    return chain;
}

//  The last element of a chain, {branch: {NAME: [function, ...], ...}}:
//  into r's branches; *longest gets the longest branch's length.
static int
s_route_branches (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                  baton_config_route_t *r, size_t *longest)
{
    static const char *const keys[] = {"branch"};
    const baton_yamldoc_node_t *v[1], *at[1];
    char sub[BATON__CFG_PATH], bpath[BATON__CFG_PATH], q[80], why[BATON__CFG_WHY];
    if (baton__cfg_map (ctx, node, path, keys, 1, v, at) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "branch");
    if (!v[0] || v[0]->kind != BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (
            ctx,
            v[0]    ? v[0]
            : at[0] ? at[0]
                    : node,
            sub,
            "expected a mapping of branch names to chains ({ok: [render], review: "
            "[fraud, render]}), found %s",
            v[0] ? baton__cfg_what (v[0]) : "nothing");
    const baton_yamldoc_node_t *map = v[0];
    size_t n = map->count / 2;
    if (n < 2 || n > BATON_CONFIG_MAX_BRANCHES)
        return baton__cfg_fail (ctx, map, sub, "%zu branch%s: a route branches 2 to %d ways", n,
                                n == 1 ? "" : "es", BATON_CONFIG_MAX_BRANCHES);
    //  A branch without a mesh key could be taken by any hop, or changed:
    //  in a CURVE mesh that is refused rather than left unsealed.
    if (ctx->cfg->security.mode == BATON_SECURITY_CURVE && !ctx->cfg->security.mesh_key)
        return baton__cfg_fail (
            ctx, map, sub,
            "branches in a CURVE mesh are sealed: set security.mesh_key (make one "
            "with: baton keys mesh FILE)");
    baton_config_branch_t *list = baton_arena_alloc (ctx->cfg->arena, n * sizeof *list);
    size_t i = 0;
    *longest = 0;
    for (const baton_yamldoc_node_t *key = map->first; key; key = key->next->next, i++) {
        const baton_yamldoc_node_t *val = key->next;
        if (baton_value_label (key->str, key->len, "a branch name", why, sizeof why) < 0)
            return baton__cfg_fail (ctx, key, sub, "%s", why);
        for (size_t k = 0; k < i; k++)
            if (strlen (list[k].name) == key->len && !memcmp (list[k].name, key->str, key->len))
                return baton__cfg_fail (ctx, key, sub, "duplicate branch %s",
                                        BATON__CFG_Q (q, key));
        baton__cfg_key (bpath, sizeof bpath, sub, key->str);
        if (val->null || baton__cfg_seq (ctx, val, bpath, "a sequence of function names") < 0)
            return val->null
                       ? baton__cfg_fail (ctx, key, bpath, "a branch names at least one function")
                       : -1;
        if (val->count == 0)
            return baton__cfg_fail (ctx, val, bpath, "a branch names at least one function");
        list[i].name = baton_arena_strndup (ctx->cfg->arena, key->str, key->len);
        list[i].chain_len = val->count;
        if (val->count > BATON_CONFIG_MAX_CHAIN)
            return baton__cfg_fail (ctx, val, bpath, "more than %d functions in one branch",
                                    BATON_CONFIG_MAX_CHAIN);
        list[i].chain = s_chain_functions (ctx, val->first, val->count, bpath);
        if (!list[i].chain)
            return -1;
        *longest = val->count > *longest ? val->count : *longest;
    }
    r->branches = list;
    r->branch_count = n;
    return 0;
}

//  chain: [function, ...], its last element possibly {branch: {...}}.
static int
s_route_chain (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
               baton_config_route_t *r)
{
    if (baton__cfg_seq (ctx, node, path, "a sequence of function names") < 0)
        return -1;
    const baton_yamldoc_node_t *last = node->first;
    while (last && last->next)
        last = last->next;
    bool branches = last && last->kind == BATON_YAMLDOC_MAPPING;
    size_t count = node->count - (branches ? 1 : 0), longest = 0;
    if (count == 0)
        return baton__cfg_fail (ctx, node, path,
                                branches
                                    ? "a chain names at least one function before its branch: the "
                                      "last one chooses the branch"
                                    : "a chain names at least one function");
    if (count > BATON_CONFIG_MAX_CHAIN)
        return baton__cfg_fail (ctx, node, path, "more than %d functions in one chain",
                                BATON_CONFIG_MAX_CHAIN);
    r->chain = s_chain_functions (ctx, node->first, count, path);
    if (!r->chain)
        return -1;
    r->chain_len = count;
    if (branches) {
        char item[BATON__CFG_PATH];
        baton__cfg_index (item, sizeof item, path, count);
        if (s_route_branches (ctx, last, item, r, &longest) < 0)
            return -1;
    }
    //  The budget the gateway writes: the chain and its longest branch.
    if (count + longest > ctx->cfg->gateway.max_budget)
        return baton__cfg_fail (
            ctx, node, path,
            "%zu functions%s need a hop budget of %zu, above gateway.max_budget (%u)",
            count + longest, branches ? " (the chain and its longest branch)" : "", count + longest,
            (unsigned) ctx->cfg->gateway.max_budget);
    return 0;
}

static bool
s_methods_overlap (const baton_config_route_t *a, const baton_config_route_t *b)
{
    if (a->method_count == 0 || b->method_count == 0)
        return true;
    for (size_t i = 0; i < a->method_count; i++)
        for (size_t k = 0; k < b->method_count; k++)
            if (!strcmp (a->methods[i], b->methods[k]))
                return true;
    return false;
}

//  The value of one header or query condition of a route's match: present,
//  a value, or a list of values. header: the values are header values.
static int
s_condition_values (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *val, const char *path,
                    bool header, baton_config_condition_t *c)
{
    char item[BATON__CFG_PATH], q[80], why[BATON__CFG_WHY];
    if (val->null || val->kind == BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (ctx, val, path,
                                "expected present, a value or a list of values, found %s",
                                val->null ? "nothing" : baton__cfg_what (val));
    if (val->kind == BATON_YAMLDOC_SCALAR && val->len == 7 && !memcmp (val->str, "present", 7)) {
        c->kind = BATON_CONFIG_MATCH_PRESENT;
        return 0;
    }
    bool list = val->kind == BATON_YAMLDOC_SEQUENCE;
    size_t n = list ? val->count : 1;
    if (n == 0)
        return baton__cfg_fail (ctx, val, path, "an empty list matches nothing");
    if (n > BATON_CONFIG_MAX_VALUES)
        return baton__cfg_fail (ctx, val, path, "more than %d values", BATON_CONFIG_MAX_VALUES);
    const char **values = baton_arena_alloc (ctx->cfg->arena, n * sizeof *values);
    size_t *lens = baton_arena_alloc (ctx->cfg->arena, n * sizeof *lens);
    size_t i = 0;
    for (const baton_yamldoc_node_t *v = list ? val->first : val; i < n; v = v->next, i++) {
        const char *at = path;
        if (list)
            at = baton__cfg_index (item, sizeof item, path, i);
        if (baton__cfg_scalar (ctx, v, at, "a value") < 0)
            return -1;
        if (header && baton_value_header_value (v->str, v->len, why, sizeof why) < 0)
            return baton__cfg_fail (ctx, v, at, "%s", why);
        for (size_t k = 0; k < i; k++)
            if (lens[k] == v->len && !memcmp (values[k], v->str, v->len))
                return baton__cfg_fail (ctx, v, at, "%s is listed twice", BATON__CFG_Q (q, v));
        values[i] = baton_arena_strndup (ctx->cfg->arena, v->str, v->len);
        lens[i] = v->len;
    }
    c->kind = BATON_CONFIG_MATCH_ONE_OF;
    c->values = values;
    c->value_lens = lens;
    c->value_count = n;
    return 0;
}

//  match.headers (header) or match.query: a mapping from names to conditions.
static int
s_conditions (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
              bool header, const baton_config_condition_t **out, size_t *count)
{
    char sub[BATON__CFG_PATH], q[80], why[BATON__CFG_WHY];
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (ctx, node, path, "expected a mapping of %s to conditions, found %s",
                                header ? "header names" : "query parameter names",
                                baton__cfg_what (node));
    size_t n = node->count / 2;
    if (n > BATON_CONFIG_MAX_CONDITIONS)
        return baton__cfg_fail (ctx, node, path, "more than %d conditions",
                                BATON_CONFIG_MAX_CONDITIONS);
    baton_config_condition_t *list =
        baton_arena_alloc (ctx->cfg->arena, (n ? n : 1) * sizeof *list);
    size_t i = 0;
    for (const baton_yamldoc_node_t *key = node->first; key; key = key->next->next, i++) {
        baton_config_condition_t *c = &list[i];
        if (header && baton_value_header_name (key->str, key->len, why, sizeof why) < 0)
            return baton__cfg_fail (ctx, key, path, "%s", why);
        if (!header && key->len == 0)
            return baton__cfg_fail (ctx, key, path, "a query parameter has a name");
        char *name = baton_arena_strndup (ctx->cfg->arena, key->str, key->len);
        for (size_t k = 0; header && k < key->len; k++)
            if (name[k] >= 'A' && name[k] <= 'Z')
                name[k] = (char) (name[k] - 'A' + 'a');
        if (header && !strcmp (name, "host"))
            return baton__cfg_fail (ctx, key, path, "match the host with match.host, not a header");
        //  Header names are case-insensitive: "X-A" and "x-a" are one name.
        for (size_t k = 0; k < i; k++)
            if (list[k].name_len == key->len && !memcmp (list[k].name, name, key->len))
                return baton__cfg_fail (ctx, key, path, "%s is listed twice (first at line %zu)",
                                        BATON__CFG_Q (q, key), list[k].line);
        *c = (baton_config_condition_t){
            .name = name, .name_len = key->len, .line = key->line, .column = key->column};
        baton__cfg_key (sub, sizeof sub, path, name);
        if (s_condition_values (ctx, key->next, sub, header, c) < 0)
            return -1;
    }
    *out = list;
    *count = n;
    return 0;
}

//  match: {host: ..., headers: {...}, query: {...}}.
static int
s_route_match (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
               baton_config_route_t *r)
{
    static const char *const keys[] = {"host", "headers", "query"};
    enum { HOST, HEADERS, QUERY, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    char sub[BATON__CFG_PATH], why[BATON__CFG_WHY];
    baton_config_match_t *m = &r->match;
    if (baton__cfg_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    if (v[HOST]) {
        baton_value_host_t h;
        baton__cfg_key (sub, sizeof sub, path, "host");
        if (baton__cfg_scalar (ctx, v[HOST], sub, "a host") < 0)
            return -1;
        if (baton_value_match_host (v[HOST]->str, v[HOST]->len, &h, why, sizeof why) < 0)
            return baton__cfg_fail (ctx, v[HOST], sub, "%s", why);
        char *host = baton_arena_strndup (ctx->cfg->arena, v[HOST]->str, v[HOST]->len);
        for (char *c = host; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char) (*c - 'A' + 'a');
        m->host = host;
        m->host_name = baton_arena_strndup (ctx->cfg->arena, host + h.name_off, h.name_len);
        m->host_name_len = h.name_len;
        m->host_wildcard = h.wildcard;
        m->host_port = h.port;
        m->count++;
    }
    baton__cfg_key (sub, sizeof sub, path, "headers");
    if (v[HEADERS] && s_conditions (ctx, v[HEADERS], sub, true, &m->headers, &m->header_count) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "query");
    if (v[QUERY] && s_conditions (ctx, v[QUERY], sub, false, &m->query, &m->query_count) < 0)
        return -1;
    m->count += m->header_count + m->query_count;
    return 0;
}

//  True if condition a (on the same name as b) holds whenever b does.
static bool
s_condition_covers (const baton_config_condition_t *a, const baton_config_condition_t *b)
{
    if (a->kind == BATON_CONFIG_MATCH_PRESENT)
        return true;
    if (b->kind == BATON_CONFIG_MATCH_PRESENT)
        return false;
    for (size_t i = 0; i < b->value_count; i++) {
        size_t k = 0;
        while (k < a->value_count && (a->value_lens[k] != b->value_lens[i] ||
                                      memcmp (a->values[k], b->values[i], b->value_lens[i])))
            k++;
        if (k == a->value_count)
            return false;
    }
    return true;
}

//  True if every condition of a (na of them) holds whenever b's (nb) do:
//  each is on a name b has a condition on, and holds whenever that one does.
static bool
s_conditions_cover (const baton_config_condition_t *a, size_t na, const baton_config_condition_t *b,
                    size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        size_t k = 0;
        while (k < nb &&
               (b[k].name_len != a[i].name_len || memcmp (b[k].name, a[i].name, a[i].name_len)))
            k++;
        if (k == nb || !s_condition_covers (&a[i], &b[k]))
            return false;
    }
    return true;
}

//  True if a's host condition holds for every host b's holds for.
static bool
s_host_covers (const baton_config_match_t *a, const baton_config_match_t *b)
{
    if (!a->host)
        return true;
    if (!b->host || (a->host_port && a->host_port != b->host_port))
        return false;
    size_t al = a->host_name_len, bl = b->host_name_len;
    if (!a->host_wildcard)
        return !b->host_wildcard && al == bl && !memcmp (a->host_name, b->host_name, al);
    //  "*.s" holds for "*.s", and for names and wildcards under s.
    if (b->host_wildcard && al == bl && !memcmp (a->host_name, b->host_name, al))
        return true;
    return bl > al && b->host_name[bl - al - 1] == '.' &&
           !memcmp (b->host_name + bl - al, a->host_name, al);
}

//  True if a's match holds for every request b's holds for.
static bool
s_match_covers (const baton_config_match_t *a, const baton_config_match_t *b)
{
    return s_host_covers (a, b) &&
           s_conditions_cover (a->headers, a->header_count, b->headers, b->header_count) &&
           s_conditions_cover (a->query, a->query_count, b->query, b->query_count);
}

//  retry: {attempts: N}.
static int
s_route_retry (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
               baton_config_route_t *r)
{
    static const char *const keys[] = {"attempts"};
    const baton_yamldoc_node_t *v[1], *at[1];
    char sub[BATON__CFG_PATH];
    uint64_t n;
    if (baton__cfg_map (ctx, node, path, keys, 1, v, at) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "attempts");
    if (!v[0])
        return baton__cfg_fail (ctx, at[0] ? at[0] : node, sub,
                                "retry needs attempts: N (1 to %d sends again)",
                                BATON_CONFIG_MAX_RETRIES);
    if (baton__cfg_uint (ctx, v[0], sub, 1, BATON_CONFIG_MAX_RETRIES, &n) < 0)
        return -1;
    r->retry_attempts = (uint32_t) n;
    return 0;
}

//  split.weights: {VERSION: WEIGHT, ...}, 1 to BATON_CONFIG_MAX_SPLIT
//  versions whose weights add up to more than 0.
static int
s_split_weights (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                 baton_config_split_t *sp)
{
    char sub[BATON__CFG_PATH], q[80];
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (ctx, node, path,
                                "expected a mapping of versions to weights, found %s",
                                baton__cfg_what (node));
    size_t n = node->count / 2;
    if (n == 0 || n > BATON_CONFIG_MAX_SPLIT)
        return baton__cfg_fail (ctx, node, path, "a split has 1 to %d versions",
                                BATON_CONFIG_MAX_SPLIT);
    const char **versions = baton_arena_alloc (ctx->cfg->arena, n * sizeof *versions);
    uint32_t *weights = baton_arena_alloc (ctx->cfg->arena, n * sizeof *weights);
    size_t i = 0;
    sp->total = 0;
    for (const baton_yamldoc_node_t *key = node->first; key; key = key->next->next, i++) {
        uint64_t w;
        if (baton__cfg_label (ctx, key, path, "a version", &versions[i]) < 0)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp (versions[k], versions[i]))
                return baton__cfg_fail (ctx, key, path, "%s is listed twice",
                                        BATON__CFG_Q (q, key));
        baton__cfg_key (sub, sizeof sub, path, versions[i]);
        if (key->next->null)
            return baton__cfg_fail (ctx, key, sub,
                                    "expected a weight (a whole number), found nothing");
        if (baton__cfg_uint (ctx, key->next, sub, 0, 1000000, &w) < 0)
            return -1;
        weights[i] = (uint32_t) w;
        sp->total += w;
    }
    if (sp->total == 0)
        return baton__cfg_fail (ctx, node, path,
                                "the weights add up to 0: no version could be chosen");
    sp->versions = versions;
    sp->weights = weights;
    sp->count = n;
    return 0;
}

//  split: {by: "header:NAME" | "cookie:NAME", weights: {...}}.
static int
s_route_split (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
               baton_config_route_t *r)
{
    static const char *const keys[] = {"by", "weights"};
    enum { BY, WEIGHTS, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    char sub[BATON__CFG_PATH], q[80], why[BATON__CFG_WHY];
    baton_config_split_t *sp = &r->split;
    if (baton__cfg_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "by");
    if (!v[BY])
        return baton__cfg_fail (ctx, at[BY] ? at[BY] : node, sub,
                                "a split needs by: \"header:NAME\" or by: \"cookie:NAME\"");
    if (baton__cfg_scalar (ctx, v[BY], sub, "header:NAME or cookie:NAME") < 0)
        return -1;
    const char *by = v[BY]->str;
    size_t len = v[BY]->len, off;
    if (len > 7 && !memcmp (by, "header:", 7)) {
        sp->by = BATON_CONFIG_SPLIT_HEADER;
        off = 7;
    } else if (len > 7 && !memcmp (by, "cookie:", 7)) {
        sp->by = BATON_CONFIG_SPLIT_COOKIE;
        off = 7;
    } else
        return baton__cfg_fail (ctx, v[BY], sub, "%s: expected header:NAME or cookie:NAME",
                                BATON__CFG_Q (q, v[BY]));
    //  A cookie's name is a token too (RFC 6265).
    if (baton_value_header_name (by + off, len - off, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, v[BY], sub, "%s", why);
    char *key = baton_arena_strndup (ctx->cfg->arena, by + off, len - off);
    for (char *c = key; sp->by == BATON_CONFIG_SPLIT_HEADER && *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char) (*c - 'A' + 'a');
    sp->key = key;
    sp->key_len = len - off;
    baton__cfg_key (sub, sizeof sub, path, "weights");
    if (!v[WEIGHTS])
        return baton__cfg_fail (ctx, at[WEIGHTS] ? at[WEIGHTS] : node, sub,
                                "a split needs weights: {VERSION: WEIGHT, ...}");
    return s_split_weights (ctx, v[WEIGHTS], sub, sp);
}

static int
s_route (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, size_t index, s_methods_t *seen,
         baton_config_route_t *r)
{
    static const char *const keys[] = {"path",     "methods", "match",   "chain",
                                       "deadline", "retry",   "version", "split"};
    enum { PATH, METHODS, MATCH, CHAIN, DEADLINE, RETRY, VERSION, SPLIT, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    char path[BATON__CFG_PATH], sub[BATON__CFG_PATH], q[80];
    baton__cfg_index (path, sizeof path, "routes", index);
    if (node->kind != BATON_YAMLDOC_MAPPING || node->null)
        return baton__cfg_fail (ctx, node, path,
                                "expected a mapping with path: and chain:, found %s",
                                node->null ? "nothing" : baton__cfg_what (node));
    if (baton__cfg_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    r->index = index;
    r->line = node->line;
    r->column = node->column;

    baton__cfg_key (sub, sizeof sub, path, "path");
    if (!v[PATH])
        return baton__cfg_fail (ctx, at[PATH] ? at[PATH] : node, sub, "a route needs a path");
    if (baton__cfg_scalar (ctx, v[PATH], sub, "a path pattern") < 0)
        return -1;
    char why[160];
    if (baton_pattern_parse (v[PATH]->str, v[PATH]->len, NULL, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, v[PATH], sub, "%s: %s", BATON__CFG_Q (q, v[PATH]), why);
    r->path = baton_arena_strndup (ctx->cfg->arena, v[PATH]->str, v[PATH]->len);

    baton__cfg_key (sub, sizeof sub, path, "methods");
    if (v[METHODS] && s_route_methods (ctx, v[METHODS], sub, seen, r) < 0)
        return -1;

    baton__cfg_key (sub, sizeof sub, path, "match");
    if (v[MATCH] && s_route_match (ctx, v[MATCH], sub, r) < 0)
        return -1;

    baton__cfg_key (sub, sizeof sub, path, "chain");
    if (!v[CHAIN])
        return baton__cfg_fail (ctx, at[CHAIN] ? at[CHAIN] : node, sub,
                                "a route needs a chain of functions");
    if (s_route_chain (ctx, v[CHAIN], sub, r) < 0)
        return -1;

    r->deadline_ms = ctx->cfg->gateway.deadline_ms;
    r->deadline_default = true;
    baton__cfg_key (sub, sizeof sub, path, "deadline");
    if (v[DEADLINE]) {
        if (baton__cfg_duration (ctx, v[DEADLINE], sub, 1, &r->deadline_ms) < 0)
            return -1;
        r->deadline_default = false;
    }
    baton__cfg_key (sub, sizeof sub, path, "retry");
    if (v[RETRY] && s_route_retry (ctx, v[RETRY], sub, r) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "version");
    if (v[VERSION] && v[SPLIT])
        return baton__cfg_fail (ctx, at[SPLIT], sub,
                                "a route pins a version or splits between versions, not both");
    if (v[VERSION] && baton__cfg_label (ctx, v[VERSION], sub, "a version", &r->version) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "split");
    if (v[SPLIT] && s_route_split (ctx, v[SPLIT], sub, r) < 0)
        return -1;
    return 0;
}

int
baton__cfg_routes (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node,
                   const baton_yamldoc_node_t *key, const baton_yamldoc_node_t *root)
{
    baton_config_t *cfg = ctx->cfg;
    if (!node)
        return baton__cfg_fail (ctx, key ? key : root, "routes", "at least one route is required");
    if (baton__cfg_seq (ctx, node, "routes", "a sequence of routes") < 0)
        return -1;
    if (node->count == 0)
        return baton__cfg_fail (ctx, node, "routes", "at least one route is required");
    if (node->count > BATON_CONFIG_MAX_ROUTES)
        return baton__cfg_fail (ctx, node, "routes", "more than %d routes",
                                BATON_CONFIG_MAX_ROUTES);
    cfg->routes = baton_arena_alloc (cfg->arena, node->count * sizeof *cfg->routes);
    s_methods_t seen = {.count = 0};
    size_t i = 0;
    for (const baton_yamldoc_node_t *r = node->first; r; r = r->next, i++) {
        if (s_route (ctx, r, i, &seen, &cfg->routes[i]) < 0)
            return -1;
        cfg->route_count = i + 1;
    }
    //  A route the table could never pick is a mistake worth stopping for:
    //  one of the same paths and a common method whose match holds for every
    //  request this one's does, and that comes first (routes.h: more
    //  conditions first, then file order). Holding for all of b's requests
    //  needs conditions on no more names than b has, so a comes first when it
    //  has as many as b and an earlier line. A hash of each pattern's shape
    //  keeps the pairwise check cheap for long patterns.
    uint64_t hash[BATON_CONFIG_MAX_ROUTES];
    for (size_t k = 0; k < cfg->route_count; k++)
        hash[k] = baton_pattern_hash (cfg->routes[k].path);
    for (size_t b = 1; b < cfg->route_count; b++)
        for (size_t a = 0; a < b; a++) {
            const baton_config_route_t *ra = &cfg->routes[a], *rb = &cfg->routes[b];
            if (hash[a] != hash[b] || !baton_pattern_same (ra->path, rb->path) ||
                !s_methods_overlap (ra, rb) || ra->match.count < rb->match.count ||
                !s_match_covers (&ra->match, &rb->match))
                continue;
            char path[BATON__CFG_PATH], q[80];
            baton__cfg_index (path, sizeof path, "routes", b);
            baton_yamldoc_quote (q, sizeof q, rb->path, strlen (rb->path));
            if (s_match_covers (&rb->match, &ra->match))
                return baton__cfg_fail_at (
                    ctx, rb->line, rb->column, path,
                    "same path pattern%s as routes[%zu] (line %zu): %s",
                    rb->match.count ? ", method and conditions" : " and method", a, ra->line, q);
            return baton__cfg_fail_at (
                ctx, rb->line, rb->column, path,
                "can never match: routes[%zu] (line %zu) comes first with the same "
                "path pattern and method, and its match holds for every request "
                "this one's does (put this route before it): %s",
                a, ra->line, q);
        }
    return 0;
}

//  --------------------------------------------------------------------------
//  A route's chain as text

//  Appends the functions chain[0..len) to buf at *at, " -> " between them.
static void
s_chain_text (const baton_config_function_t *const *chain, size_t len, char *buf, size_t cap,
              size_t *at)
{
    for (size_t i = 0; i < len && *at < cap; i++) {
        int n = snprintf (buf + *at, cap - *at, "%s%s", i ? " -> " : "", chain[i]->name);
        *at += n > 0 ? (size_t) n : 0;
    }
}

const char *
baton_config_chain_text (const baton_config_route_t *route, char *buf, size_t cap)
{
    assert (route && buf && cap > 0);
    size_t at = 0;
    buf[0] = '\0';
    s_chain_text (route->chain, route->chain_len, buf, cap, &at);
    for (size_t i = 0; i < route->branch_count && at < cap; i++) {
        const baton_config_branch_t *b = &route->branches[i];
        int n = snprintf (buf + at, cap - at, "%s%s: ", i ? " | " : " -> {", b->name);
        at += n > 0 ? (size_t) n : 0;
        if (at < cap)
            s_chain_text (b->chain, b->chain_len, buf, cap, &at);
    }
    if (route->branch_count && at < cap)
        snprintf (buf + at, cap - at, "}");
    return buf;
}
