/*  config.h - the gateway's configuration: one YAML file (gateway, limits,
 *  functions, routes), read strictly and treated as hostile input. The schema,
 *  defaults and limits are written down in docs/gateway.md, "Configuration
 *  reference". A loaded configuration is immutable; everything it hands out
 *  stays valid until baton_config_destroy ().  */
#ifndef BATON_CONFIG_H
#define BATON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cert.h"
#include "trust.h"

//  Limits on the file itself and on what it may declare.
#define BATON_CONFIG_MAX_FILE      (1024 * 1024) //  bytes in the file
#define BATON_CONFIG_MAX_DEPTH     8             //  nested sequences and mappings
#define BATON_CONFIG_MAX_ITEMS     2048          //  entries in one sequence or mapping
#define BATON_CONFIG_MAX_NODES     100000        //  YAML nodes in the whole file
#define BATON_CONFIG_MAX_STRING    4096          //  bytes in one string
#define BATON_CONFIG_MAX_ROUTES    1024
#define BATON_CONFIG_MAX_FUNCTIONS 256
#define BATON_CONFIG_MAX_ENDPOINTS 64  //  static endpoints of one function
#define BATON_CONFIG_MAX_REPLICAS  64  //  functions.<name>.replicas
#define BATON_CONFIG_MAX_CHAIN     64  //  functions in one route's chain
#define BATON_CONFIG_MAX_METHODS   64  //  distinct methods across all routes
#define BATON_CONFIG_MAX_NAME      64  //  bytes in a function name
#define BATON_CONFIG_MAX_METHOD    32  //  bytes in a method name
#define BATON_CONFIG_MAX_ENDPOINT  256 //  bytes in a ZeroMQ endpoint
#define BATON_CONFIG_MAX_BUDGET    64  //  gateway.max_budget
#define BATON_CONFIG_MAX_RETRIES   3   //  routes[].retry.attempts
//  A chain's last element {branch: {NAME: [fn, ...], ...}}: names in it
//  (at least 2); and the size of security.mesh_key.
#define BATON_CONFIG_MAX_BRANCHES  8
#define BATON_CONFIG_MESH_KEY_SIZE 32
//  routes[].match: header and query conditions of one route (each), values
//  in one condition's list, and bytes in a header name.
#define BATON_CONFIG_MAX_CONDITIONS  16
#define BATON_CONFIG_MAX_VALUES      64
#define BATON_CONFIG_MAX_HEADER_NAME 64
//  gateway.admin_token_file: bytes in the file, and in the token it holds.
#define BATON_CONFIG_MAX_TOKEN_FILE 4096
#define BATON_CONFIG_MIN_TOKEN      16
//  A version or a zone: bytes in one (letters, digits, ".", "_", "-", "+"),
//  and versions in one route's split.
#define BATON_CONFIG_MAX_LABEL 64
#define BATON_CONFIG_MAX_SPLIT 8
//  Messages are cut to fit the err buffer given; one this big holds any of
//  them whole when the file's name is shorter than 256 bytes.
#define BATON_CONFIG_MAX_ERROR 1024

typedef struct baton_config baton_config_t;

//  A host:port the gateway listens on. text is the value as written
//  ("[::1]:8080"); host has no brackets ("::1").
typedef struct {
    const char *text;
    const char *host;
    uint16_t port;
} baton_config_addr_t;

//  The "gateway:" section. Durations are in milliseconds.
typedef struct {
    baton_config_addr_t listen; //  public HTTP listener
    baton_config_addr_t admin;  //  admin HTTP listener
    const char *reply;          //  ZeroMQ endpoint the reply PULL binds
    bool reply_default;         //  true when reply is the default, not from the file
    const char *control;        //  ZeroMQ endpoint for announcements; NULL if none
    uint64_t deadline_ms;       //  default per-request deadline
    uint32_t max_inflight;      //  requests in flight before a fast 503
    uint64_t drain_ms;          //  time SIGTERM gives in-flight work
    uint32_t max_budget;        //  cap on the hop budget; no chain is longer
    uint32_t heartbeat_misses;  //  intervals without a heartbeat that make a replica dead
    uint64_t probe_timeout_ms;  //  how long a probe may take before it fails
    uint64_t probe_interval_ms; //  how often ejected (and silent static) replicas are probed
    //  The file holding the admin API's bearer token, resolved against the
    //  configuration's folder and checked when loaded; NULL if not set.
    const char *admin_token_file;
    //  The gateway's zone (its replicas there are preferred); NULL if not set.
    const char *zone;
    //  Outstanding requests at which every local replica counts as saturated:
    //  then a remote one with fewer takes the hop (default 16).
    uint32_t zone_spill_at;
} baton_config_gateway_t;

//  What the "security:" section says of the mesh's sockets.
typedef enum {
    BATON_SECURITY_NONE = 0, //  no section: plaintext, loopback/ipc/inproc only
    BATON_SECURITY_CURVE,    //  CURVE with cert and trust
    BATON_SECURITY_INSECURE, //  plaintext on any address, chosen explicitly
} baton_security_mode_t;

//  The "security:" section. With CURVE, cert (role gateway, with its secret
//  key) and trust are loaded and checked; otherwise those pointers are NULL.
//  mesh_key (any mode) seals every envelope's route (docs/security.md).
typedef struct {
    baton_security_mode_t mode;
    const char *cert_path; //  as resolved against the file's folder
    const char *trust_dir;
    const baton_cert_t *cert;
    const baton_trust_t *trust;
    const char *mesh_key_path; //  security.mesh_key, resolved; NULL if not set
    const uint8_t *mesh_key;   //  its BATON_CONFIG_MESH_KEY_SIZE bytes; NULL if not set
} baton_config_security_t;

//  The "limits:" section: sizes in bytes, durations in milliseconds.
typedef struct {
    size_t request_line;
    size_t header_block;
    size_t header_count;
    size_t body;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
    uint32_t requests_per_connection;
} baton_config_limits_t;

//  What a static endpoint written as a mapping ({endpoint, version, zone})
//  says of its replica: "" for what it leaves out.
typedef struct {
    const char *version;
    const char *zone;
} baton_config_placement_t;

//  One entry of "functions:".
typedef struct {
    const char *name;
    const char *const *endpoints; //  endpoint_count static replicas (may be 0)
    size_t endpoint_count;
    //  endpoint_count entries beside endpoints; NULL when every endpoint is
    //  a plain string.
    const baton_config_placement_t *placements;
    const char *run;   //  command baton dev starts; NULL if not set
    uint32_t replicas; //  how many baton dev starts (default 1)
    //  With CURVE, the server key of the static endpoints: key: if set, else
    //  the only key the trust store holds for the function; NULL if unknown
    //  (then the function has no static endpoints). Always NULL without CURVE.
    const uint8_t *key;
    const char *key_z85; //  key: as written; NULL if not set
    size_t index;        //  position in functions:, 0-based
    size_t line;         //  1-based line of the name in the file
} baton_config_function_t;

//  How a header or query condition of a route's match holds.
typedef enum {
    BATON_CONFIG_MATCH_PRESENT = 0, //  the field is there, whatever its value
    BATON_CONFIG_MATCH_ONE_OF,      //  its value is one of values (one value: equal)
} baton_config_match_kind_t;

//  One condition on a request header or query parameter. Strings are
//  NUL-terminated; a header's name is lower-cased; a query parameter's name
//  and values are as written, to compare with percent-decoded ones.
typedef struct {
    const char *name;
    size_t name_len;
    baton_config_match_kind_t kind;
    const char *const *values; //  ONE_OF: value_count distinct values
    const size_t *value_lens;
    size_t value_count;
    size_t line; //  1-based position of the name in the file
    size_t column;
} baton_config_condition_t;

//  A route's "match:": conditions besides path and method, all of which
//  must hold. count is how many there are (host one, each header and query
//  condition one): among routes of the same pattern, more come first.
typedef struct {
    const char *host;      //  as written, lower-cased; NULL: any host
    const char *host_name; //  host without "*." and ":port", NUL-terminated
    size_t host_name_len;
    bool host_wildcard; //  "*.example.com": any name under host_name
    uint16_t host_port; //  0: any port
    const baton_config_condition_t *headers;
    size_t header_count;
    const baton_config_condition_t *query;
    size_t query_count;
    size_t count;
} baton_config_match_t;

//  What a route's split is keyed by.
typedef enum {
    BATON_CONFIG_SPLIT_NONE = 0,
    BATON_CONFIG_SPLIT_HEADER, //  by: "header:NAME"
    BATON_CONFIG_SPLIT_COOKIE, //  by: "cookie:NAME"
} baton_config_split_by_t;

//  A route's "split:": the version of each request, chosen by weight from a
//  stable hash of a header's or a cookie's value (edge/dispatch).
typedef struct {
    baton_config_split_by_t by;
    const char *key; //  the header's name (lower-cased) or the cookie's, NUL-terminated
    size_t key_len;
    const char *const *versions; //  count distinct versions, in file order
    const uint32_t *weights;     //  beside versions; each may be 0
    size_t count;                //  0: no split
    uint64_t total;              //  the weights' sum, > 0
} baton_config_split_t;

//  One branch of a route: the functions its requests go through after the
//  chain when the chain's last hop takes it (baton_ctx_branch).
typedef struct {
    const char *name; //  a label, as a version is (letters, digits, ".", "_", "-", "+")
    const baton_config_function_t *const *chain; //  chain_len >= 1 functions
    size_t chain_len;
} baton_config_branch_t;

//  One entry of "routes:".
typedef struct {
    const char *path;           //  the pattern as written ("/orders/{id}")
    const char *const *methods; //  method_count names; 0 means any method
    size_t method_count;
    const baton_config_function_t *const *chain; //  chain_len >= 1 functions
    size_t chain_len;
    //  The branches after the chain (the last element of chain: in the file),
    //  in file order; branch_count is 0 or 2..BATON_CONFIG_MAX_BRANCHES. The
    //  chain and its longest branch fit in gateway.max_budget.
    const baton_config_branch_t *branches;
    size_t branch_count;
    uint64_t deadline_ms;  //  the route's own deadline, or gateway.deadline
    bool deadline_default; //  true when deadline_ms came from gateway.deadline
    //  retry: {attempts: N}: times a request may be sent again, whatever its
    //  method; 0 when not set (then only idempotent methods, once).
    uint32_t retry_attempts;
    baton_config_match_t match; //  conditions on host, headers and query
    //  version: the one version every hop of its requests runs; NULL if not
    //  set. At most one of version and split is set.
    const char *version;
    baton_config_split_t split;
    size_t index;  //  position in routes:, 0-based
    size_t line;   //  1-based line where the route starts
    size_t column; //  1-based column where the route starts
} baton_config_route_t;

//  Reads and validates the YAML file at path. Returns NULL on any error and
//  writes one message into err (errlen bytes, always NUL-terminated when
//  errlen > 0) of the form "path:line:column: key: what is wrong".
//  Caller owns the result; release it with baton_config_destroy ().
baton_config_t *baton_config_load (const char *path, char *err, size_t errlen);

//  Like baton_config_load () on len bytes already in memory; name stands for
//  the file in error messages. data need not be NUL-terminated.
baton_config_t *baton_config_parse (const char *data, size_t len, const char *name, char *err,
                                    size_t errlen);

//  Safe on NULL; sets *self_p to NULL.
void baton_config_destroy (baton_config_t **self_p);

//  The name the configuration was loaded under (its path). Never NULL.
const char *baton_config_name (const baton_config_t *self);

//  The gateway and limits sections, defaults filled in. Never NULL.
const baton_config_gateway_t *baton_config_gateway (const baton_config_t *self);
const baton_config_limits_t *baton_config_limits (const baton_config_t *self);

//  The security section, its files loaded. Never NULL.
const baton_config_security_t *baton_config_security (const baton_config_t *self);

//  Reads the admin token in the file at path into buf (cap bytes, at least
//  BATON_CONFIG_MAX_TOKEN_FILE + 1): the file's bytes without trailing
//  whitespace, NUL-terminated. Returns the token's length, or -1 with why
//  (whylen bytes) naming path and what is wrong: not a readable regular file,
//  empty, over BATON_CONFIG_MAX_TOKEN_FILE bytes, a token under
//  BATON_CONFIG_MIN_TOKEN bytes, or a byte that is not visible ASCII.
int baton_config_read_token (const char *path, char *buf, size_t cap, char *why, size_t whylen);

//  "curve", "insecure", or "none" (no section).
const char *baton_config_security_mode_name (baton_security_mode_t mode);

//  Refuses a plaintext mesh on a network: without a security section, an
//  endpoint the gateway binds or connects (gateway.reply, gateway.control,
//  the functions' endpoints) on tcp to a host that is not loopback ("*"
//  included). Returns 0 (CURVE, mode insecure, or everything loopback, ipc
//  or inproc), or -1 with the message, naming the endpoint, in err.
int baton_config_check_plaintext (const baton_config_t *self, char *err, size_t errlen);

//  The declared functions, in file order.
size_t baton_config_function_count (const baton_config_t *self);
//  Returns NULL if index >= baton_config_function_count ().
const baton_config_function_t *baton_config_function (const baton_config_t *self, size_t index);
//  Returns the function called name (len bytes), or NULL.
const baton_config_function_t *baton_config_function_find (const baton_config_t *self,
                                                           const char *name, size_t len);

//  The routes, in file order (baton_routes_at () gives them in match order).
size_t baton_config_route_count (const baton_config_t *self);
//  Returns NULL if index >= baton_config_route_count ().
const baton_config_route_t *baton_config_route (const baton_config_t *self, size_t index);

//  --- for baton dev, before a gateway is created -------------------------------
//  These change a loaded configuration in place: nothing may be using it
//  yet. What they store lives until baton_config_destroy ().

//  Replaces the endpoints of function index with copies of eps[0..n).
//  Returns 0, or BATON_EINVAL if index is out of range, n is above
//  BATON_CONFIG_MAX_ENDPOINTS, or an endpoint is not one to connect to.
int baton_config_function_set_endpoints (baton_config_t *self, size_t index, const char *const *eps,
                                         size_t n);

//  Replaces gateway.reply with a copy of endpoint. Returns 0, or BATON_EINVAL
//  if it is not an endpoint to bind or equals gateway.control.
int baton_config_gateway_set_reply (baton_config_t *self, const char *endpoint);

//  Replaces gateway.control with a copy of endpoint (baton dev gives one).
//  Returns 0, or BATON_EINVAL if it is not an endpoint to bind or equals
//  gateway.reply.
int baton_config_gateway_set_control (baton_config_t *self, const char *endpoint);

//  Sets the security section as the file would (mode, then cert and trust
//  paths, used as given; both NULL unless mode is CURVE), loading and
//  checking the files, and resolves the key of every function with static
//  endpoints: call it after baton_config_function_set_endpoints (). Returns
//  0, or BATON_EINVAL with the reason in err (errlen bytes); then the
//  configuration is unchanged.
int baton_config_set_security (baton_config_t *self, baton_security_mode_t mode, const char *cert,
                               const char *trust, char *err, size_t errlen);

//  Sets gateway.admin_token_file to a copy of path (used as given) once
//  baton_config_read_token () accepts the file. Returns 0, or BATON_EINVAL
//  with the reason in err (errlen bytes); then nothing changed.
int baton_config_gateway_set_admin_token_file (baton_config_t *self, const char *path, char *err,
                                               size_t errlen);

//  Writes route's chain into buf (cap bytes, always NUL-terminated, cut to
//  fit) as people read it: "a -> b", then its branches, if any, as
//  " -> {ok: c | review: d -> c}". Returns buf.
const char *baton_config_chain_text (const baton_config_route_t *route, char *buf, size_t cap);

//  Sets security.mesh_key to a copy of path (used as given) once the key in
//  it loads (baton__mesh_key_load). Returns 0, or BATON_EINVAL with the
//  reason in err (errlen bytes); then nothing changed.
int baton_config_set_mesh_key (baton_config_t *self, const char *path, char *err, size_t errlen);

//  Replaces the port of gateway.listen (listen >= 0) and of gateway.admin
//  (admin >= 0), hosts kept; -1 keeps a port. Returns 0, or BATON_EINVAL if a
//  port is above 65535 or the two listeners would be the same.
int baton_config_gateway_set_ports (baton_config_t *self, int listen, int admin);

#endif
