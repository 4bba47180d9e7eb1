/*  routes.h - the gateway's route table: maps a request's method, path,
 *  host, headers and query to the route (and so the chain) that serves it.
 *  Built once from a loaded configuration; matching never allocates. Rules:
 *  docs/gateway.md, "How a request finds its route".  */

//  Precedence, highest first, when several routes match a path:
//    1. patterns without a final "*" segment before prefix patterns;
//    2. among prefix patterns, the one with more segments before the "*";
//    3. segment by segment from the left, a literal segment before a {param};
//    4. more match conditions first (match.host counts one, each header and
//       query condition one);
//    5. file order.
//  So "/users/me" beats "/users/{id}", which beats "/users/" + "*". The first
//  route in that order whose pattern matches the path, whose conditions all
//  hold and whose methods include the request's method wins; a route whose
//  conditions do not hold is as if absent (it adds nothing to a 405's Allow).
//  Paths are compared byte for byte: case-sensitive, percent-encoding not
//  decoded, no dot-segment removal, and a trailing slash matters ("/a/" is
//  not "/a"). Hosts are compared without case and without a final "."; a
//  port is compared only when the route writes one. Header names are
//  compared without case, their values byte for byte, any field line of the
//  name counting. Query parameters are split on "&" and "=", and names and
//  values compared percent-decoded ("+" is a space; a "%" without two hex
//  digits stands for itself), any occurrence of the name counting.
#ifndef BATON_ROUTES_H
#define BATON_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "baton/envelope.h"
#include "config/config.h"
#include "config/pattern.h"
#include "http/parser.h"

//  Bytes in a route's path pattern (its syntax: config/pattern.h).
#define BATON_ROUTES_MAX_PATTERN BATON_PATTERN_MAX_LEN
//  Captures in a match: the {params}, plus "*" for the rest of a prefix route.
#define BATON_ROUTES_MAX_CAPTURES (BATON_PATTERN_MAX_PARAMS + 1)
//  A buffer this big holds any Allow value baton_routes_allow () writes.
#define BATON_ROUTES_ALLOW_MAX (BATON_CONFIG_MAX_METHODS * (BATON_CONFIG_MAX_METHOD + 2) + 1)

typedef struct baton_routes baton_routes_t;

typedef enum {
    BATON_ROUTE_FOUND = 0,              //  match->route serves the request
    BATON_ROUTE_NOT_FOUND = 1,          //  no pattern matches the path: 404
    BATON_ROUTE_METHOD_NOT_ALLOWED = 2, //  patterns match, methods don't: 405
} baton_route_result_t;

//  One captured part of the path. name points into the route's pattern
//  ("id" for {id}, "*" for a prefix route's rest); value points into the path
//  passed to baton_routes_match () and is still percent-encoded.
typedef struct {
    baton_slice_t name;
    baton_slice_t value;
} baton_route_param_t;

//  What matching reads of a request: views into the caller's buffers.
typedef struct {
    baton_slice_t method;
    baton_slice_t path;  //  the target's path, without the query
    baton_slice_t query; //  the raw query, after "?"; empty if none
    baton_slice_t host;  //  host[:port]: the target's authority in absolute form, else Host
    const baton_header_t *headers; //  header_count field lines, as received
    size_t header_count;
} baton_route_request_t;

//  What baton_routes_match () found. Lives on the caller's stack.
typedef struct {
    const baton_config_route_t *route; //  FOUND: the route; otherwise NULL
    size_t param_count;                //  FOUND: captures in params, in path order
    baton_route_param_t params[BATON_ROUTES_MAX_CAPTURES];
    uint64_t allow; //  METHOD_NOT_ALLOWED: the allowed methods, for baton_routes_allow ()
} baton_route_match_t;

//  Builds the table for config's routes. config must outlive the table.
//  Caller owns the result; release it with baton_routes_destroy (). Aborts
//  only when out of memory.
baton_routes_t *baton_routes_new (const baton_config_t *config);

//  Safe on NULL; sets *self_p to NULL.
void baton_routes_destroy (baton_routes_t **self_p);

//  The view of req that matching reads; path is its target's path without
//  the query (the gateway reads it from the target's form). Points into req's
//  buffers.
baton_route_request_t baton_routes_request (const baton_http_request_t *req, baton_slice_t path);

//  Matches a request. A path not starting with "/" (e.g. "*") is NOT_FOUND.
//  Looks only at the routes whose first one or two path segments fit the
//  path's (an index by literal segments), never allocates, never reads past
//  the lengths given, whatever the bytes. Fills *match as described above.
baton_route_result_t baton_routes_match (const baton_routes_t *self,
                                         const baton_route_request_t *req,
                                         baton_route_match_t *match);

//  Writes the methods in allow (from a METHOD_NOT_ALLOWED match) as an Allow
//  header value, "GET, POST" sorted by name, into buf (cap bytes,
//  NUL-terminated when cap > 0). Returns the length the full value needs, like
//  snprintf; BATON_ROUTES_ALLOW_MAX bytes always suffice.
size_t baton_routes_allow (const baton_routes_t *self, uint64_t allow, char *buf, size_t cap);

//  The routes in match order (precedence above).
size_t baton_routes_count (const baton_routes_t *self);
//  Returns NULL if index >= baton_routes_count ().
const baton_config_route_t *baton_routes_at (const baton_routes_t *self, size_t index);

#endif
