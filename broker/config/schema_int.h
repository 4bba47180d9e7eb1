/*  schema_int.h - what the files of the gateway's schema share (config.c,
 *  sections.c, route.c): the configuration's layout, the parse context, and
 *  the helpers that check one node and name file:line:column on failure.  */
#ifndef BATON_CONFIG_SCHEMA_INT_H
#define BATON_CONFIG_SCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/arena.h"
#include "config/config.h"
#include "config/yamldoc.h"

#define BATON__CFG_PATH 256 //  a key path in a message: "routes[12].chain[3]"
#define BATON__CFG_WHY  256 //  a value parser's message

//  A function's name, for lookups by name.
typedef struct {
    const char *name;
    size_t len;
    const baton_config_function_t *function;
} baton__cfg_index_t;

struct baton_config {
    baton_arena_t *arena; //  the configuration and all it holds
    const char *name;
    baton_config_gateway_t gateway;
    baton_config_limits_t limits;
    baton_config_security_t security;
    baton_cert_t *cert; //  owned: security.cert, security.trust
    baton_trust_t *trust;
    const char *mesh_key_path; //  security.mesh_key, and the key it holds
    uint8_t mesh_key[BATON_CONFIG_MESH_KEY_SIZE];
    baton_config_function_t *functions;
    size_t function_count;
    baton__cfg_index_t *by_name; //  functions sorted by name, for lookups
    baton_config_route_t *routes;
    size_t route_count;
};

//  The parse of one file: its name for messages, where the message goes,
//  and the configuration being filled in.
typedef struct {
    const char *name;
    char *err;
    size_t errlen;
    baton_config_t *cfg;
} baton__cfg_ctx_t;

//  --------------------------------------------------------------------------
//  Messages: each writes "file:line:column: key: ..." into ctx->err and
//  returns -1, so a check reads `return baton__cfg_fail (...)`.

//  The message for position line:col (0: none).
int baton__cfg_fail_at (baton__cfg_ctx_t *ctx, size_t line, size_t col, const char *key,
                        const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

//  The message for node at (NULL: no position).
int baton__cfg_fail (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *at, const char *key,
                     const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

//  A node's text quoted for a message, into the array buf.
#define BATON__CFG_Q(buf, node) baton_yamldoc_quote ((buf), sizeof (buf), (node)->str, (node)->len)

//  Writes "parent.key" (or "key" at the top) into buf, truncated to cap;
//  returns buf.
const char *baton__cfg_key (char *buf, size_t cap, const char *parent, const char *key);

//  Writes "parent[index]" into buf, truncated to cap; returns buf.
const char *baton__cfg_index (char *buf, size_t cap, const char *parent, size_t index);

//  --------------------------------------------------------------------------
//  Nodes: each returns 0, or -1 after a message naming path.

//  "a sequence", "a mapping" or "a string": what node is, for a message.
const char *baton__cfg_what (const baton_yamldoc_node_t *node);

//  Checks that node is a mapping (null counts as empty) with no keys outside
//  keys[] and none twice. vals[i] gets the value of keys[i], NULL when the
//  key is absent or null; at[i] gets the key's node, NULL when absent.
int baton__cfg_map (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                    const char *const *keys, size_t nkeys, const baton_yamldoc_node_t **vals,
                    const baton_yamldoc_node_t **at);

//  Checks that node is a scalar; what names the expected value.
int baton__cfg_scalar (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                       const char *what);

//  Checks that node is a sequence; what names the expected value.
int baton__cfg_seq (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                    const char *what);

//  --------------------------------------------------------------------------
//  Values: the node's kind is checked here, its text by values.c. Strings
//  kept are copied into the configuration's arena.

//  A whole number between min and max, into *out.
int baton__cfg_uint (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                     uint64_t min, uint64_t max, uint64_t *out);

//  A duration of at least min_ms, in milliseconds into *out.
int baton__cfg_duration (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                         uint64_t min_ms, uint64_t *out);

//  A duration between min_ms and max_ms, in milliseconds into *out.
int baton__cfg_duration_in (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node,
                            const char *path, uint64_t min_ms, uint64_t max_ms, uint64_t *out);

//  A size in bytes between min and max, into *out.
int baton__cfg_size (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                     uint64_t min, uint64_t max, uint64_t *out);

//  host:port, into *out.
int baton__cfg_addr (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                     baton_config_addr_t *out);

//  A ZeroMQ endpoint the gateway binds (bind) or connects to, into *out.
int baton__cfg_endpoint (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                         bool bind, const char **out);

//  A version or a zone (what says which, for the message), into *out.
int baton__cfg_label (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                      const char *what, const char **out);

//  --------------------------------------------------------------------------
//  Sections (sections.c, route.c): each checks its part of the document into
//  ctx->cfg and returns 0, or -1 after a message. node is NULL when the key
//  is absent or null.

//  Sets the defaults of gateway: and limits: in cfg.
void baton__cfg_defaults (baton_config_t *cfg);

//  gateway:
int baton__cfg_gateway (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node);

//  limits:
int baton__cfg_limits (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node);

//  security: loads the certificate, trust store and mesh key it names, so it
//  comes before functions:, whose keys are checked against the store.
int baton__cfg_security (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node);

//  functions: also builds cfg->by_name.
int baton__cfg_functions (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node);

//  routes: after functions:, whose names its chains use. key is the routes:
//  key's node and root the document's, where a missing section is reported.
//  Refuses two routes the table could not tell apart, and a route it could
//  never pick.
int baton__cfg_routes (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node,
                       const baton_yamldoc_node_t *key, const baton_yamldoc_node_t *root);

//  --------------------------------------------------------------------------
//  What the setters of config.c share with the sections (sections.c)

//  True if the public and admin listeners of g would bind the same address.
//  Port 0 asks the system for a free port, which never collides.
bool baton__cfg_listeners_collide (const baton_config_gateway_t *g);

//  Loads the gateway's certificate at path and the trust store at dir into
//  *cert_p and *trust_p (the caller's to destroy on success). Returns 0, or
//  -1 with what is wrong in why; which is 0 when the certificate is at
//  fault, 1 when the trust store is.
int baton__cfg_load_keys (const char *path, const char *dir, baton_cert_t **cert_p,
                          baton_trust_t **trust_p, int *which, char *why, size_t whylen);

//  Installs mode, the loaded files (consumed) and their paths (borrowed;
//  they must live in cfg's arena).
void baton__cfg_set_security (baton_config_t *cfg, baton_security_mode_t mode,
                              const char *cert_path, const char *trust_dir, baton_cert_t *cert,
                              baton_trust_t *trust);

//  Loads the mesh key at path (resolved, in cfg's arena) into cfg. Returns 0,
//  or -1 with the reason in why.
int baton__cfg_load_mesh_key (baton_config_t *cfg, const char *path, char *why, size_t whylen);

//  Sets f->key from f->key_z85 and the trust store (CURVE only). Returns 0,
//  or -1 with what is wrong in why: a key that is not function f's, or a
//  function with static endpoints whose key is unknown or ambiguous.
int baton__cfg_function_key (baton_config_t *cfg, baton_config_function_t *f, char *why,
                             size_t whylen);

//  Checks the admin token file at path as baton_config_read_token does; the
//  token itself is not kept. Returns 0, or -1 with the reason in why.
int baton__cfg_check_token_file (const char *path, char *why, size_t whylen);

//  Orders two baton__cfg_index_t by name (qsort, bsearch).
int baton__cfg_compare_index (const void *pa, const void *pb);

#endif
