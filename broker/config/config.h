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
} baton_config_gateway_t;

//  What the "security:" section says of the mesh's sockets.
typedef enum {
    BATON_SECURITY_NONE = 0, //  no section: plaintext, loopback/ipc/inproc only
    BATON_SECURITY_CURVE,    //  CURVE with cert and trust
    BATON_SECURITY_INSECURE, //  plaintext on any address, chosen explicitly
} baton_security_mode_t;

//  The "security:" section. With CURVE, cert (role gateway, with its secret
//  key) and trust are loaded and checked; otherwise every pointer is NULL.
typedef struct {
    baton_security_mode_t mode;
    const char *cert_path; //  as resolved against the file's folder
    const char *trust_dir;
    const baton_cert_t *cert;
    const baton_trust_t *trust;
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

//  One entry of "functions:".
typedef struct {
    const char *name;
    const char *const *endpoints; //  endpoint_count static replicas (may be 0)
    size_t endpoint_count;
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

//  One entry of "routes:".
typedef struct {
    const char *path;           //  the pattern as written ("/orders/{id}")
    const char *const *methods; //  method_count names; 0 means any method
    size_t method_count;
    const baton_config_function_t *const *chain; //  chain_len >= 1 functions
    size_t chain_len;
    uint64_t deadline_ms;  //  the route's own deadline, or gateway.deadline
    bool deadline_default; //  true when deadline_ms came from gateway.deadline
    //  retry: {attempts: N}: times a request may be sent again, whatever its
    //  method; 0 when not set (then only idempotent methods, once).
    uint32_t retry_attempts;
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

//  Replaces the port of gateway.listen (listen >= 0) and of gateway.admin
//  (admin >= 0), hosts kept; -1 keeps a port. Returns 0, or BATON_EINVAL if a
//  port is above 65535 or the two listeners would be the same.
int baton_config_gateway_set_ports (baton_config_t *self, int listen, int admin);

#endif
