/*  test_routes.c - the route table: exact, {param} and prefix patterns, their
 *  precedence, 404 against 405 and its Allow list, captures, trailing slashes,
 *  percent-encoding kept as is, paths of any length read within bounds, the
 *  index by leading segments, and host, header and query conditions.  */
//  MAP_ANONYMOUS, for the guard page.
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config/config.h"
#include "edge/routes.h"

static baton_config_t *s_cfg;
static baton_routes_t *s_routes;

//  Matches method and path (method_len and path_len bytes) alone: no host,
//  header or query.
static baton_route_result_t
s_match (const baton_routes_t *routes, const char *method, size_t method_len, const char *path,
         size_t path_len, baton_route_match_t *m)
{
    baton_route_request_t req = {.method = {method, method_len}, .path = {path, path_len}};
    return baton_routes_match (routes, &req, m);
}

//  Every route's chain is one function named after the route, so a match is
//  easy to name.
static const char *s_table = "functions:\n"
                             "  me:\n  user:\n  post:\n  users_any:\n  tab:\n  profile:\n"
                             "  static:\n  css:\n  root:\n  hello:\n  hello_slash:\n  cafe:\n"
                             "  items_get:\n  items_post:\n  x_get:\n  y_post:\n"
                             "routes:\n"
                             "  - {path: /users/me, methods: [GET], chain: [me]}\n"
                             "  - {path: '/users/{id}', methods: [GET, PUT], chain: [user]}\n"
                             "  - {path: '/users/{id}/posts/{post}', chain: [post]}\n"
                             "  - {path: '/users/{id}/profile', chain: [profile]}\n"
                             "  - {path: '/users/me/{tab}', chain: [tab]}\n"
                             "  - {path: /users/*, chain: [users_any]}\n"
                             "  - {path: /static/*, methods: [GET, HEAD], chain: [static]}\n"
                             "  - {path: /static/css/*, methods: [GET], chain: [css]}\n"
                             "  - {path: /, chain: [root]}\n"
                             "  - {path: /hello, methods: [GET], chain: [hello]}\n"
                             "  - {path: /hello/, methods: [POST], chain: [hello_slash]}\n"
                             "  - {path: /caf%C3%A9, chain: [cafe]}\n"
                             "  - {path: /items, methods: [POST], chain: [items_post]}\n"
                             "  - {path: /items, methods: [GET, OPTIONS], chain: [items_get]}\n"
                             "  - {path: '/pair/{x}', methods: [GET], chain: [x_get]}\n"
                             "  - {path: '/pair/{y}', methods: [POST], chain: [y_post]}\n";

static baton_routes_t *
build (const char *yaml, baton_config_t **cfg_p)
{
    char err[BATON_CONFIG_MAX_ERROR];
    *cfg_p = baton_config_parse (yaml, strlen (yaml), "routes.yaml", err, sizeof err);
    cr_assert_not_null (*cfg_p, "%s", err);
    return baton_routes_new (*cfg_p);
}

static void
setup (void)
{
    s_routes = build (s_table, &s_cfg);
}

static void
teardown (void)
{
    baton_routes_destroy (&s_routes);
    cr_assert_null (s_routes);
    baton_routes_destroy (&s_routes);
    baton_config_destroy (&s_cfg);
}

TestSuite (routes, .init = setup, .fini = teardown);

static baton_route_result_t
match (const char *method, const char *path, baton_route_match_t *m)
{
    return s_match (s_routes, method, strlen (method), path, strlen (path), m);
}

//  Asserts that method path is served by the route whose chain is want.
static baton_route_match_t
found (const char *method, const char *path, const char *want)
{
    baton_route_match_t m;
    baton_route_result_t rc = match (method, path, &m);
    cr_assert_eq (rc, BATON_ROUTE_FOUND, "%s %s: result %d, want FOUND (%s)", method, path, rc,
                  want);
    cr_assert_str_eq (m.route->chain[0]->name, want, "%s %s", method, path);
    return m;
}

static void
not_found (const char *method, const char *path)
{
    baton_route_match_t m;
    baton_route_result_t rc = match (method, path, &m);
    cr_assert_eq (rc, BATON_ROUTE_NOT_FOUND, "%s %s: result %d, want NOT_FOUND", method, path, rc);
    cr_assert_null (m.route);
    cr_assert_eq (m.param_count, 0);
}

//  Asserts a 405 whose Allow value is want.
static void
not_allowed (const char *method, const char *path, const char *want)
{
    baton_route_match_t m;
    baton_route_result_t rc = match (method, path, &m);
    cr_assert_eq (rc, BATON_ROUTE_METHOD_NOT_ALLOWED, "%s %s: result %d, want 405", method, path,
                  rc);
    cr_assert_null (m.route);
    char allow[BATON_ROUTES_ALLOW_MAX];
    size_t n = baton_routes_allow (s_routes, m.allow, allow, sizeof allow);
    cr_assert_str_eq (allow, want, "%s %s", method, path);
    cr_assert_eq (n, strlen (want));
}

static void
param (const baton_route_match_t *m, size_t i, const char *name, const char *value)
{
    cr_assert_lt (i, m->param_count);
    const baton_route_param_t *p = &m->params[i];
    cr_assert (p->name.len == strlen (name) && !memcmp (p->name.ptr, name, p->name.len),
               "param %zu is named \"%.*s\", want \"%s\"", i, (int) p->name.len, p->name.ptr, name);
    cr_assert (p->value.len == strlen (value) && !memcmp (p->value.ptr, value, p->value.len),
               "param %zu is \"%.*s\", want \"%s\"", i, (int) p->value.len, p->value.ptr, value);
}

Test (routes, matches_exact_paths)
{
    baton_route_match_t m = found ("GET", "/hello", "hello");
    cr_assert_eq (m.param_count, 0);
    found ("GET", "/", "root");
    found ("DELETE", "/", "root");
}

Test (routes, captures_params_as_slices_of_the_path)
{
    const char *path = "/users/42/posts/7";
    baton_route_match_t m;
    cr_assert_eq (s_match (s_routes, "GET", 3, path, strlen (path), &m), BATON_ROUTE_FOUND);
    cr_assert_str_eq (m.route->chain[0]->name, "post");
    cr_assert_eq (m.param_count, 2);
    param (&m, 0, "id", "42");
    param (&m, 1, "post", "7");
    cr_assert_eq (m.params[0].value.ptr, path + 7, "points into the path");
    cr_assert_eq (m.params[1].value.ptr, path + 16);
}

Test (routes, prefers_exact_then_param_then_prefix)
{
    found ("GET", "/users/me", "me");
    baton_route_match_t m = found ("GET", "/users/42", "user");
    param (&m, 0, "id", "42");
    m = found ("GET", "/users/42/x", "users_any");
    cr_assert_eq (m.param_count, 1);
    param (&m, 0, "*", "42/x");
}

Test (routes, prefers_a_literal_segment_from_the_left)
{
    //  "/users/me/{tab}" and "/users/{id}/profile" both match; "me" is the
    //  first segment where they differ, and a literal beats a {param}.
    baton_route_match_t m = found ("GET", "/users/me/profile", "tab");
    param (&m, 0, "tab", "profile");
    m = found ("GET", "/users/you/profile", "profile");
    param (&m, 0, "id", "you");
}

Test (routes, prefers_the_longer_prefix)
{
    baton_route_match_t m = found ("GET", "/static/css/site.css", "css");
    param (&m, 0, "*", "site.css");
    m = found ("GET", "/static/js/app.js", "static");
    param (&m, 0, "*", "js/app.js");
}

Test (routes, falls_through_to_a_route_that_allows_the_method)
{
    //  PUT is not allowed on "/users/me" but is on "/users/{id}".
    baton_route_match_t m = found ("PUT", "/users/me", "user");
    param (&m, 0, "id", "me");
    //  HEAD is not allowed on "/static/css/*" but is on "/static/*".
    found ("HEAD", "/static/css/site.css", "static");
    //  A method no route lists still matches routes that allow any.
    found ("PATCH", "/users/me", "users_any");
    found ("GET", "/pair/1", "x_get");
    m = found ("POST", "/pair/1", "y_post");
    param (&m, 0, "y", "1");
}

Test (routes, answers_405_with_the_allowed_methods_sorted)
{
    not_allowed ("POST", "/hello", "GET");
    not_allowed ("DELETE", "/static/css/a.css", "GET, HEAD");
    not_allowed ("DELETE", "/items", "GET, OPTIONS, POST");
    not_allowed ("PUT", "/pair/1", "GET, POST");
    //  Methods are case-sensitive.
    not_allowed ("get", "/hello", "GET");
    not_allowed ("", "/hello", "GET");
}

Test (routes, answers_404_when_no_pattern_matches)
{
    not_found ("GET", "/nope");
    not_found ("GET", "/users");
    not_found ("GET", "/static");
    not_found ("GET", "/hello/there");
    not_found ("GET", "*");
    not_found ("GET", "hello");
    not_found ("GET", "");
    //  The caller strips the query; here it is part of the last segment.
    not_found ("GET", "/hello?x=1");
}

Test (routes, keeps_trailing_slashes_significant)
{
    found ("POST", "/hello/", "hello_slash");
    not_allowed ("GET", "/hello/", "POST");
    not_allowed ("POST", "/hello", "GET");
    //  "/users/{id}" needs exactly two segments; "/users/42/" has three.
    baton_route_match_t m = found ("GET", "/users/42/", "users_any");
    param (&m, 0, "*", "42/");
    //  A prefix route matches its directory with nothing after it.
    m = found ("GET", "/users/", "users_any");
    param (&m, 0, "*", "");
}

Test (routes, never_lets_a_param_match_an_empty_segment)
{
    baton_route_match_t m = found ("GET", "/users//posts/7", "users_any");
    param (&m, 0, "*", "/posts/7");
}

Test (routes, matches_percent_encoding_byte_for_byte)
{
    found ("GET", "/caf%C3%A9", "cafe");
    not_found ("GET", "/caf%c3%a9");
    not_found ("GET", "/caf\xc3\xa9");
    //  An encoded slash is not a separator, and a capture stays encoded.
    baton_route_match_t m = found ("GET", "/users/a%2Fb", "user");
    param (&m, 0, "id", "a%2Fb");
    //  No dot-segment removal: "/users/me/../42" has four segments.
    found ("GET", "/users/me/../42", "users_any");
}

//  Copies s right before a page the process may not read, so that any read
//  past the end of the path faults.
static char *
guarded (const char *s, size_t len, void **map, size_t *maplen)
{
    size_t page = (size_t) sysconf (_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;
    *maplen = pages * page;
    char *base = mmap (NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq (base, MAP_FAILED);
    cr_assert_eq (mprotect (base + (pages - 1) * page, page, PROT_NONE), 0);
    char *p = base + (pages - 1) * page - len;
    memcpy (p, s, len);
    *map = base;
    return p;
}

Test (routes, reads_paths_of_any_length_within_bounds)
{
    //  A megabyte of path in 300000 segments: only a prefix route can match.
    size_t len = 1024 * 1024;
    char *buf = malloc (len);
    memcpy (buf, "/users/", 7);
    for (size_t i = 7; i < len; i++)
        buf[i] = (i % 3 == 0) ? '/' : 'x';
    void *map;
    size_t maplen;
    char *path = guarded (buf, len, &map, &maplen);
    baton_route_match_t m;
    cr_assert_eq (s_match (s_routes, "GET", 3, path, len, &m), BATON_ROUTE_FOUND);
    cr_assert_str_eq (m.route->chain[0]->name, "users_any");
    cr_assert_eq (m.params[0].value.ptr, path + 7);
    cr_assert_eq (m.params[0].value.len, len - 7);
    //  One long segment: nothing matches.
    memset (path + 1, 'y', len - 1);
    cr_assert_eq (s_match (s_routes, "GET", 3, path, len, &m), BATON_ROUTE_NOT_FOUND);
    //  Every exact pattern compared against a path ending at the guard page.
    memcpy (path + len - 6, "/hello", 6);
    cr_assert_eq (s_match (s_routes, "GET", 3, path + len - 6, 6, &m), BATON_ROUTE_FOUND);
    memcpy (path + len - 7, "/hello/", 7);
    cr_assert_eq (s_match (s_routes, "POST", 4, path + len - 7, 7, &m), BATON_ROUTE_FOUND);
    cr_assert_eq (s_match (s_routes, "GET", 3, path + len - 1, 1, &m), BATON_ROUTE_FOUND);
    munmap (map, maplen);
    free (buf);
}

Test (routes, lists_routes_in_match_order)
{
    cr_assert_eq (baton_routes_count (s_routes), 16);
    cr_assert_null (baton_routes_at (s_routes, baton_routes_count (s_routes)));
    //  Patterns that can never match the same path may come in any order;
    //  what is fixed is the order of each pair that can.
    size_t at_me = 99, at_tab = 99, at_id = 99, at_profile = 99, at_css = 99, at_static = 99,
           at_users = 99, at_post = 99, at_items_post = 99, at_items_get = 99;
    for (size_t i = 0; i < baton_routes_count (s_routes); i++) {
        const baton_config_route_t *r = baton_routes_at (s_routes, i);
        const char *name = r->chain[0]->name;
        if (!strcmp (name, "me"))
            at_me = i;
        if (!strcmp (name, "tab"))
            at_tab = i;
        if (!strcmp (name, "user"))
            at_id = i;
        if (!strcmp (name, "profile"))
            at_profile = i;
        if (!strcmp (name, "css"))
            at_css = i;
        if (!strcmp (name, "static"))
            at_static = i;
        if (!strcmp (name, "users_any"))
            at_users = i;
        if (!strcmp (name, "post"))
            at_post = i;
        if (!strcmp (name, "items_post"))
            at_items_post = i;
        if (!strcmp (name, "items_get"))
            at_items_get = i;
    }
    cr_assert_lt (at_me, at_id);
    cr_assert_lt (at_tab, at_profile);
    cr_assert_lt (at_id, at_users);
    cr_assert_lt (at_post, at_users);
    cr_assert_lt (at_css, at_static);
    cr_assert_lt (at_css, at_users, "more segments first among prefixes");
    cr_assert_lt (at_users, at_static, "same length: file order");
    cr_assert_lt (at_items_post, at_items_get, "file order");
    //  Every prefix route comes after every other route.
    for (size_t i = 0; i < baton_routes_count (s_routes); i++) {
        const char *p = baton_routes_at (s_routes, i)->path;
        bool prefix = p[strlen (p) - 1] == '*';
        cr_assert (prefix == (i >= baton_routes_count (s_routes) - 3), "%zu: %s", i, p);
    }
}

Test (routes, writes_allow_values_like_snprintf)
{
    baton_route_match_t m;
    cr_assert_eq (match ("DELETE", "/items", &m), BATON_ROUTE_METHOD_NOT_ALLOWED);
    char buf[8];
    cr_assert_eq (baton_routes_allow (s_routes, m.allow, buf, sizeof buf), 18);
    cr_assert_str_eq (buf, "GET, OP");
    cr_assert_eq (baton_routes_allow (s_routes, m.allow, buf, 1), 18);
    cr_assert_str_eq (buf, "");
    cr_assert_eq (baton_routes_allow (s_routes, m.allow, NULL, 0), 18);
    cr_assert_eq (baton_routes_allow (s_routes, 0, buf, sizeof buf), 0);
    cr_assert_str_eq (buf, "");
}

Test (routes_limits, captures_every_param_of_the_largest_pattern)
{
    char yaml[1024], path[256], url[256];
    strcpy (path, "");
    strcpy (url, "");
    for (int i = 0; i < BATON_PATTERN_MAX_PARAMS; i++) {
        sprintf (path + strlen (path), "/{p%d}", i);
        sprintf (url + strlen (url), "/v%d", i);
    }
    strcat (path, "/*");
    strcat (url, "/rest/of/it");
    snprintf (yaml, sizeof yaml, "functions:\n  f:\nroutes:\n  - path: '%s'\n    chain: [f]\n",
              path);
    baton_config_t *cfg;
    baton_routes_t *routes = build (yaml, &cfg);
    baton_route_match_t m;
    cr_assert_eq (s_match (routes, "GET", 3, url, strlen (url), &m), BATON_ROUTE_FOUND);
    cr_assert_eq (m.param_count, BATON_ROUTES_MAX_CAPTURES);
    for (int i = 0; i < BATON_PATTERN_MAX_PARAMS; i++) {
        char name[8], value[8];
        sprintf (name, "p%d", i);
        sprintf (value, "v%d", i);
        param (&m, (size_t) i, name, value);
    }
    param (&m, BATON_PATTERN_MAX_PARAMS, "*", "rest/of/it");
    baton_routes_destroy (&routes);
    baton_config_destroy (&cfg);
}

Test (routes_limits, matches_patterns_of_the_most_segments)
{
    char yaml[1024], pattern[256] = "", url[256] = "";
    for (int i = 0; i < BATON_PATTERN_MAX_SEGMENTS; i++) {
        strcat (pattern, "/s");
        strcat (url, "/s");
    }
    snprintf (yaml, sizeof yaml,
              "functions:\n  f:\n  g:\nroutes:\n  - path: '%s'\n    chain: [f]\n"
              "  - path: '%.*s*'\n    chain: [g]\n",
              pattern, (int) strlen (pattern) - 1, pattern);
    baton_config_t *cfg;
    baton_routes_t *routes = build (yaml, &cfg);
    baton_route_match_t m;
    cr_assert_eq (s_match (routes, "GET", 3, url, strlen (url), &m), BATON_ROUTE_FOUND);
    cr_assert_str_eq (m.route->chain[0]->name, "f");
    //  One segment more: only the prefix route, which takes the last two.
    strcat (url, "/t");
    cr_assert_eq (s_match (routes, "GET", 3, url, strlen (url), &m), BATON_ROUTE_FOUND);
    cr_assert_str_eq (m.route->chain[0]->name, "g");
    param (&m, 0, "*", "s/t");
    //  One fewer: nothing.
    url[strlen (url) - 4] = '\0';
    cr_assert_eq (s_match (routes, "GET", 3, url, strlen (url), &m), BATON_ROUTE_NOT_FOUND);
    baton_routes_destroy (&routes);
    baton_config_destroy (&cfg);
}

Test (routes_limits, catch_all_matches_every_path)
{
    baton_config_t *cfg;
    baton_routes_t *routes = build ("functions:\n  f:\n  g:\nroutes:\n  - {path: /*, chain: [f]}\n"
                                    "  - {path: /a, chain: [g]}\n",
                                    &cfg);
    baton_route_match_t m;
    cr_assert_eq (s_match (routes, "GET", 3, "/", 1, &m), BATON_ROUTE_FOUND);
    cr_assert_eq (m.params[0].value.len, 0);
    cr_assert_eq (s_match (routes, "X", 1, "/a/b", 4, &m), BATON_ROUTE_FOUND);
    cr_assert_str_eq (m.route->chain[0]->name, "f");
    cr_assert_eq (m.params[0].value.len, 3);
    cr_assert_eq (s_match (routes, "X", 1, "/a", 2, &m), BATON_ROUTE_FOUND);
    cr_assert_str_eq (m.route->chain[0]->name, "g");
    baton_routes_destroy (&routes);
    baton_config_destroy (&cfg);
}

//  --------------------------------------------------------------------------
//  Intent: host, headers and query

static baton_config_t *s_icfg;
static baton_routes_t *s_iroutes;

static const char *s_intent = "functions:\n"
                              "  plain:\n  intent:\n  both:\n  wild:\n  port:\n  search:\n"
                              "  search2:\n  admin:\n  v6:\n"
                              "routes:\n"
                              "  - {path: '/orders/{id}', methods: [GET], chain: [plain]}\n"
                              "  - path: '/orders/{id}'\n"
                              "    methods: [GET]\n"
                              "    match: {headers: {x-intent: [checkout, quote]}}\n"
                              "    chain: [intent]\n"
                              "  - path: '/orders/{id}'\n"
                              "    methods: [GET]\n"
                              "    match: {host: api.example.com, headers: {X-Debug: present}}\n"
                              "    chain: [both]\n"
                              "  - {path: '/orders/{id}', methods: [GET], match: {host: "
                              "'*.example.com'}, chain: [wild]}\n"
                              "  - {path: /search, chain: [search]}\n"
                              "  - {path: /search, match: {query: {v: '2', q: present, 'a b': "
                              "'c&d'}}, chain: [search2]}\n"
                              "  - {path: /admin, methods: [POST], match: {headers: {x-role: "
                              "admin}}, chain: [admin]}\n"
                              "  - {path: /p, match: {host: 'localhost:8080'}, chain: [port]}\n"
                              "  - {path: /p, match: {host: '[::1]'}, chain: [v6]}\n";

static void
intent_setup (void)
{
    s_iroutes = build (s_intent, &s_icfg);
}

static void
intent_teardown (void)
{
    baton_routes_destroy (&s_iroutes);
    baton_config_destroy (&s_icfg);
}

TestSuite (intent, .init = intent_setup, .fini = intent_teardown);

//  Matches method target (path and query) with host and the headers, given
//  as "Name: value" strings (at most 8), and returns what serves it: the
//  chain's name, "404" or "405".
static const char *
classify (const char *method, const char *host, const char *target, const char *const *headers)
{
    baton_header_t fields[8];
    size_t n = 0;
    for (; headers && headers[n]; n++) {
        const char *colon = strchr (headers[n], ':');
        fields[n].name = (baton_slice_t){headers[n], (size_t) (colon - headers[n])};
        fields[n].value = (baton_slice_t){colon + 2, strlen (colon + 2)};
    }
    const char *q = strchr (target, '?');
    size_t path_len = q ? (size_t) (q - target) : strlen (target);
    baton_route_request_t req = {
        .method = {method, strlen (method)},
        .path = {target, path_len},
        .query = q ? (baton_slice_t){q + 1, strlen (q + 1)} : (baton_slice_t){"", 0},
        .host = {host, strlen (host)},
        .headers = fields,
        .header_count = n,
    };
    baton_route_match_t m;
    switch (baton_routes_match (s_iroutes, &req, &m)) {
    case BATON_ROUTE_FOUND:
        return m.route->chain[0]->name;
    case BATON_ROUTE_NOT_FOUND:
        return "404";
    default:
        return "405";
    }
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

Test (intent, matches_headers_by_name_without_case_and_values_exactly)
{
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", NULL), "plain");
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", H ("x-intent: checkout")), "intent");
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", H ("X-INTENT: quote")), "intent");
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", H ("x-intent: Checkout")), "plain");
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", H ("x-intent: checkout, quote")), "plain");
    //  Any field line of the name counts.
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", H ("x-intent: no", "x-intent: quote")),
                      "intent");
    cr_assert_str_eq (classify ("GET", "h", "/orders/1", H ("x-intents: quote")), "plain");
}

Test (intent, more_conditions_come_first)
{
    //  both (host and a header) beats intent and wild (one each).
    cr_assert_str_eq (
        classify ("GET", "api.example.com", "/orders/1", H ("x-intent: quote", "x-debug: 1")),
        "both");
    cr_assert_str_eq (classify ("GET", "api.example.com", "/orders/1", H ("x-intent: quote")),
                      "intent", "same count: file order");
    cr_assert_str_eq (classify ("GET", "api.example.com", "/orders/1", NULL), "wild");
    size_t at_both = 99, at_intent = 99, at_plain = 99;
    for (size_t i = 0; i < baton_routes_count (s_iroutes); i++) {
        const char *name = baton_routes_at (s_iroutes, i)->chain[0]->name;
        at_both = strcmp (name, "both") ? at_both : i;
        at_intent = strcmp (name, "intent") ? at_intent : i;
        at_plain = strcmp (name, "plain") ? at_plain : i;
    }
    cr_assert (at_both < at_intent && at_intent < at_plain);
}

Test (intent, matches_hosts_without_case_port_or_final_dot)
{
    const char *const *debug = H ("X-Debug: yes");
    cr_assert_str_eq (classify ("GET", "api.example.com", "/orders/1", debug), "both");
    cr_assert_str_eq (classify ("GET", "API.Example.COM:8443", "/orders/1", debug), "both");
    cr_assert_str_eq (classify ("GET", "api.example.com.", "/orders/1", debug), "both");
    cr_assert_str_eq (classify ("GET", "api.example.co", "/orders/1", debug), "plain");
    cr_assert_str_eq (classify ("GET", "xapi.example.com", "/orders/1", debug), "wild");
    //  "*.example.com": one label or more under it, not the name itself.
    cr_assert_str_eq (classify ("GET", "a.b.example.com:1", "/orders/1", NULL), "wild");
    cr_assert_str_eq (classify ("GET", "example.com", "/orders/1", NULL), "plain");
    cr_assert_str_eq (classify ("GET", ".example.com", "/orders/1", NULL), "plain");
    cr_assert_str_eq (classify ("GET", "aexample.com", "/orders/1", NULL), "plain");
    //  A port written in the route must be the request's.
    cr_assert_str_eq (classify ("GET", "localhost:8080", "/p", NULL), "port");
    cr_assert_str_eq (classify ("GET", "LOCALHOST:8080", "/p", NULL), "port");
    cr_assert_str_eq (classify ("GET", "localhost", "/p", NULL), "404");
    cr_assert_str_eq (classify ("GET", "localhost:80", "/p", NULL), "404");
    cr_assert_str_eq (classify ("GET", "localhost:08080", "/p", NULL), "port", "a number");
    cr_assert_str_eq (classify ("GET", "localhost:", "/p", NULL), "404");
    cr_assert_str_eq (classify ("GET", "localhost:80800", "/p", NULL), "404");
    cr_assert_str_eq (classify ("GET", "[::1]:8080", "/p", NULL), "v6");
    cr_assert_str_eq (classify ("GET", "[::1]", "/p", NULL), "v6");
    cr_assert_str_eq (classify ("GET", "", "/p", NULL), "404");
}

Test (intent, matches_query_parameters_percent_decoded)
{
    cr_assert_str_eq (classify ("GET", "h", "/search", NULL), "search");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=2&q=x&a+b=c%26d", NULL), "search2");
    cr_assert_str_eq (classify ("GET", "h", "/search?q&%76=%32&a%20b=c%26d", NULL), "search2");
    cr_assert_str_eq (classify ("GET", "h", "/search?&&q=&v=1&v=2&&a%20b=c%26d&", NULL), "search2");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=2&q=x&a+b=c&d", NULL), "search",
                      "a raw & splits");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=22&q&a+b=c%26d", NULL), "search");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=2&a+b=c%26d", NULL), "search");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=%2&q&a+b=c%26d", NULL), "search");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=2&q&a+b=c%26d%", NULL), "search");
    cr_assert_str_eq (classify ("GET", "h", "/search?v=2&q&a+b=c%2", NULL), "search");
}

Test (intent, a_route_whose_conditions_fail_is_as_if_absent)
{
    cr_assert_str_eq (classify ("POST", "h", "/admin", NULL), "404");
    cr_assert_str_eq (classify ("POST", "h", "/admin", H ("x-role: admin")), "admin");
    cr_assert_str_eq (classify ("GET", "h", "/admin", H ("x-role: admin")), "405");
    cr_assert_str_eq (classify ("GET", "h", "/admin", H ("x-role: user")), "404");
}

Test (intent, views_a_parsed_request)
{
    baton_header_t fields[1] = {{{"Host", 4}, {"h.example", 9}}};
    baton_http_request_t req = {.method = {"GET", 3},
                                .target = {"/a/b?x=1&y", 10},
                                .form = BATON_HTTP_FORM_ORIGIN,
                                .headers = fields,
                                .header_count = 1,
                                .host = {"h.example", 9}};
    baton_route_request_t v = baton_routes_request (&req, (baton_slice_t){"/a/b", 4});
    cr_assert (v.query.len == 5 && !memcmp (v.query.ptr, "x=1&y", 5));
    cr_assert (v.host.len == 9 && !memcmp (v.host.ptr, "h.example", 9));
    cr_assert_eq (v.headers, fields);
    cr_assert_eq (v.header_count, 1);
    cr_assert_eq (v.path.len, 4);
    //  Absolute form: the target's authority, not Host (RFC 9112 section 3.2.2).
    req.target = (baton_slice_t){"http://API.example:81?v=2", 25};
    req.form = BATON_HTTP_FORM_ABSOLUTE;
    v = baton_routes_request (&req, (baton_slice_t){"/", 1});
    cr_assert (v.host.len == 14 && !memcmp (v.host.ptr, "API.example:81", 14));
    cr_assert (v.query.len == 3 && !memcmp (v.query.ptr, "v=2", 3));
    req.target = (baton_slice_t){"https://a.b/c", 13};
    v = baton_routes_request (&req, (baton_slice_t){"/c", 2});
    cr_assert (v.host.len == 3 && !memcmp (v.host.ptr, "a.b", 3));
    cr_assert_eq (v.query.len, 0);
}

//  The index by leading literal segments keeps precedence across its lists.
Test (routes_limits, the_index_keeps_match_order)
{
    baton_config_t *cfg;
    baton_routes_t *routes = build ("functions:\n  ab:\n  ax:\n  xb:\n  pre:\n  any:\n  a2:\n"
                                    "routes:\n"
                                    "  - {path: /*, chain: [any]}\n"
                                    "  - {path: /a/*, chain: [pre]}\n"
                                    "  - {path: '/{x}/b', chain: [xb]}\n"
                                    "  - {path: '/a/{x}', chain: [ax]}\n"
                                    "  - {path: /a/b, chain: [ab]}\n"
                                    "  - {path: /a/b/c/d, chain: [a2]}\n",
                                    &cfg);
    const char *want[][2] = {
        {"/a/b", "ab"}, {"/a/c", "ax"},      {"/z/b", "xb"}, {"/a/b/c", "pre"},
        {"/a", "any"},  {"/a/", "pre"},      {"/", "any"},   {"/a/b/c/d", "a2"},
        {"/b/b", "xb"}, {"/a/b/c/e", "pre"}, {"/ab", "any"}, {"//b", "any"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        baton_route_match_t m;
        cr_assert_eq (s_match (routes, "GET", 3, want[i][0], strlen (want[i][0]), &m),
                      BATON_ROUTE_FOUND, "%s", want[i][0]);
        cr_assert_str_eq (m.route->chain[0]->name, want[i][1], "%s", want[i][0]);
    }
    baton_routes_destroy (&routes);
    baton_config_destroy (&cfg);
}
