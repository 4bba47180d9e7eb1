/*  config.c - the schema of the gateway's YAML file (docs/gateway.md): the
 *  tree yamldoc.c reads is checked key by key into a baton_config_t, with
 *  defaults for what is left out. Every error names file:line:column and
 *  the key.  */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "baton/errors.h"
#include "config/arena.h"
#include "config/config.h"
#include "config/pattern.h"
#include "config/values.h"
#include "config/yamldoc.h"
#include "seal.h"

#define S_MIB  ((uint64_t) 1024 * 1024)
#define S_GIB  (S_MIB * 1024)
#define S_PATH 256 //  a key path in a message: "routes[12].chain[3]"
#define S_WHY  256 //  a value parser's message

//  A node of the tree yamldoc.c reads.
typedef baton_yamldoc_node_t s_node_t;

//  --------------------------------------------------------------------------
//  The configuration

typedef struct {
    const char *name;
    size_t len;
    const baton_config_function_t *function;
} s_index_t;

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
    s_index_t *by_name; //  functions sorted by name, for lookups
    baton_config_route_t *routes;
    size_t route_count;
};

typedef struct {
    const char *name; //  the file, for messages
    char *err;
    size_t errlen;
    baton_config_t *cfg;
} s_ctx_t;

//  --------------------------------------------------------------------------
//  Messages

static int s_fail_at (s_ctx_t *ctx, size_t line, size_t col, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
static int s_fail (s_ctx_t *ctx, const s_node_t *at, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Writes the message for position line:col (0: none) and returns -1.
static int
s_fail_at (s_ctx_t *ctx, size_t line, size_t col, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    baton_yamldoc_vfail (ctx->err, ctx->errlen, ctx->name, line, col, key, fmt, ap);
    va_end (ap);
    return -1;
}

//  Writes the message for node at and returns -1.
static int
s_fail (s_ctx_t *ctx, const s_node_t *at, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    baton_yamldoc_vfail (ctx->err, ctx->errlen, ctx->name, at ? at->line : 0, at ? at->column : 0,
                         key, fmt, ap);
    va_end (ap);
    return -1;
}

#define S_Q(buf, node) baton_yamldoc_quote ((buf), sizeof (buf), (node)->str, (node)->len)

//  Writes "parent.key" (or "key" at the top) into buf.
static const char *
s_key (char *buf, size_t cap, const char *parent, const char *key)
{
    if (snprintf (buf, cap, "%s%s%s", parent, *parent ? "." : "", key) >= (int) cap)
        buf[cap - 1] = '\0';
    return buf;
}

//  Writes "parent[index]" into buf.
static const char *
s_index (char *buf, size_t cap, const char *parent, size_t index)
{
    if (snprintf (buf, cap, "%s[%zu]", parent, index) >= (int) cap)
        buf[cap - 1] = '\0';
    return buf;
}

//  --------------------------------------------------------------------------
//  Schema helpers

static const char *
s_what (const s_node_t *node)
{
    if (node->kind == BATON_YAMLDOC_SEQUENCE)
        return "a sequence";
    if (node->kind == BATON_YAMLDOC_MAPPING)
        return "a mapping";
    return "a string";
}

//  Checks that node is a mapping (null counts as empty) with no keys outside
//  keys[] and none twice. vals[i] gets the value of keys[i], NULL when the
//  key is absent or null; at[i] gets the key's node, NULL when absent.
static int
s_map (s_ctx_t *ctx, const s_node_t *node, const char *path, const char *const *keys, size_t nkeys,
       const s_node_t **vals, const s_node_t **at)
{
    for (size_t i = 0; i < nkeys; i++)
        vals[i] = at[i] = NULL;
    if (!node || node->null)
        return 0;
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return s_fail (ctx, node, path, "expected a mapping, found %s", s_what (node));
    for (const s_node_t *key = node->first; key; key = key->next->next) {
        const s_node_t *val = key->next;
        size_t i = 0;
        while (i < nkeys && (strlen (keys[i]) != key->len || memcmp (keys[i], key->str, key->len)))
            i++;
        char q[80];
        if (i == nkeys) {
            char known[320] = "";
            size_t n = 0;
            for (size_t k = 0; k < nkeys && n < sizeof known; k++) {
                int w = snprintf (known + n, sizeof known - n, "%s%s", k ? ", " : "", keys[k]);
                n += w > 0 ? (size_t) w : 0;
            }
            return s_fail (ctx, key, path, "unknown key %s (known keys: %s)", S_Q (q, key), known);
        }
        if (at[i])
            return s_fail (ctx, key, path, "duplicate key %s (first at line %zu)", S_Q (q, key),
                           at[i]->line);
        at[i] = key;
        vals[i] = val->null ? NULL : val;
    }
    return 0;
}

static int
s_scalar (s_ctx_t *ctx, const s_node_t *node, const char *path, const char *what)
{
    if (node->kind != BATON_YAMLDOC_SCALAR)
        return s_fail (ctx, node, path, "expected %s, found %s", what, s_what (node));
    return 0;
}

static int
s_seq (s_ctx_t *ctx, const s_node_t *node, const char *path, const char *what)
{
    if (node->kind != BATON_YAMLDOC_SEQUENCE)
        return s_fail (ctx, node, path, "expected %s, found %s", what, s_what (node));
    return 0;
}

//  --------------------------------------------------------------------------
//  Values: the node's kind here, its text in values.c

static int
s_uint (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min, uint64_t max,
        uint64_t *out)
{
    char why[S_WHY];
    if (s_scalar (ctx, node, path, "a whole number") < 0)
        return -1;
    if (baton_value_uint (node->str, node->len, min, max, out, why, sizeof why) < 0)
        return s_fail (ctx, node, path, "%s", why);
    return 0;
}

static int
s_duration (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min_ms, uint64_t *out)
{
    char why[S_WHY];
    if (s_scalar (ctx, node, path, "a duration") < 0)
        return -1;
    if (baton_value_duration (node->str, node->len, min_ms, out, why, sizeof why) < 0)
        return s_fail (ctx, node, path, "%s", why);
    return 0;
}

//  A duration between min_ms and max_ms.
static int
s_duration_in (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min_ms,
               uint64_t max_ms, uint64_t *out)
{
    char q[80], a[32];
    if (s_duration (ctx, node, path, min_ms, out) < 0)
        return -1;
    if (*out > max_ms)
        return s_fail (ctx, node, path, "%s is longer than the maximum, %s", S_Q (q, node),
                       baton_value_format_duration (max_ms, a, sizeof a));
    return 0;
}

static int
s_size (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min, uint64_t max,
        uint64_t *out)
{
    char why[S_WHY];
    if (s_scalar (ctx, node, path, "a size") < 0)
        return -1;
    if (baton_value_size (node->str, node->len, min, max, out, why, sizeof why) < 0)
        return s_fail (ctx, node, path, "%s", why);
    return 0;
}

static int
s_addr (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_addr_t *out)
{
    char why[S_WHY];
    size_t host_off, host_len;
    uint16_t port;
    if (s_scalar (ctx, node, path, "host:port") < 0)
        return -1;
    if (baton_value_address (node->str, node->len, &host_off, &host_len, &port, why, sizeof why) <
        0)
        return s_fail (ctx, node, path, "%s", why);
    baton_arena_t *arena = ctx->cfg->arena;
    out->text = baton_arena_strndup (arena, node->str, node->len);
    out->host = baton_arena_strndup (arena, node->str + host_off, host_len);
    out->port = port;
    return 0;
}

static int
s_endpoint (s_ctx_t *ctx, const s_node_t *node, const char *path, bool bind, const char **out)
{
    char why[S_WHY];
    if (s_scalar (ctx, node, path, "a ZeroMQ endpoint") < 0)
        return -1;
    if (baton_value_endpoint (node->str, node->len, bind, why, sizeof why) < 0)
        return s_fail (ctx, node, path, "%s", why);
    *out = baton_arena_strndup (ctx->cfg->arena, node->str, node->len);
    return 0;
}

//  A version or a zone (what says which, for the message), into *out.
static int
s_label (s_ctx_t *ctx, const s_node_t *node, const char *path, const char *what, const char **out)
{
    char why[S_WHY];
    if (s_scalar (ctx, node, path, what) < 0)
        return -1;
    if (baton_value_label (node->str, node->len, what, why, sizeof why) < 0)
        return s_fail (ctx, node, path, "%s", why);
    *out = baton_arena_strndup (ctx->cfg->arena, node->str, node->len);
    return 0;
}

//  --------------------------------------------------------------------------
//  Files the configuration names

//  path made relative to the folder of the configuration file, in the arena.
static const char *
s_resolve_path (baton_config_t *cfg, const char *path, size_t len)
{
    if (len > 0 && path[0] == '/')
        return baton_arena_strndup (cfg->arena, path, len);
    char name[BATON_CONFIG_MAX_STRING + 1];
    snprintf (name, sizeof name, "%s", cfg->name);
    const char *dir = dirname (name);
    size_t dlen = strlen (dir);
    char *out = baton_arena_alloc (cfg->arena, dlen + len + 2);
    memcpy (out, dir, dlen);
    out[dlen] = '/';
    memcpy (out + dlen + 1, path, len);
    out[dlen + len + 1] = '\0';
    return out;
}

//  Overwrites n bytes at p in a way the compiler keeps: they held a secret.
static void
s_wipe (void *p, size_t n)
{
    volatile unsigned char *b = p;
    while (n--)
        *b++ = 0;
}

static bool
s_is_space (char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int
baton_config_read_token (const char *path, char *buf, size_t cap, char *why, size_t whylen)
{
    assert (path && buf && cap > BATON_CONFIG_MAX_TOKEN_FILE);
    (void) cap; //  only the assert reads it
    int rc = -1;
    size_t len = 0;
    //  O_NONBLOCK: a FIFO is refused below instead of waiting for a writer.
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf (why, whylen, "%s: cannot open: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        snprintf (why, whylen, "%s: not a regular file", path);
        goto out;
    }
    //  One byte past the limit, to notice a file that grew since fstat.
    while (len <= BATON_CONFIG_MAX_TOKEN_FILE) {
        ssize_t n = read (fd, buf + len, BATON_CONFIG_MAX_TOKEN_FILE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf (why, whylen, "%s: cannot read: %s", path, strerror (errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    if (len > BATON_CONFIG_MAX_TOKEN_FILE) {
        snprintf (why, whylen, "%s: the file is larger than the limit, %d bytes", path,
                  BATON_CONFIG_MAX_TOKEN_FILE);
        goto out;
    }
    size_t end = len;
    while (end > 0 && s_is_space (buf[end - 1]))
        end--;
    if (end == 0) {
        snprintf (why, whylen,
                  "%s: the file holds no token; write one of at least %d bytes into it (e.g. "
                  "openssl rand -hex 32 > %s)",
                  path, BATON_CONFIG_MIN_TOKEN, path);
        goto out;
    }
    //  The token travels in an Authorization header as a bearer token.
    for (size_t i = 0; i < end; i++)
        if ((unsigned char) buf[i] < 0x21 || (unsigned char) buf[i] > 0x7e) {
            snprintf (why, whylen,
                      "%s: byte %zu of the token is not visible ASCII; a bearer token has no "
                      "spaces, control characters or non-ASCII bytes",
                      path, i + 1);
            goto out;
        }
    if (end < BATON_CONFIG_MIN_TOKEN) {
        snprintf (why, whylen,
                  "%s: the token is %zu bytes long; it needs at least %d (e.g. openssl rand "
                  "-hex 32 > %s)",
                  path, end, BATON_CONFIG_MIN_TOKEN, path);
        goto out;
    }
    s_wipe (buf + end, len - end);
    buf[end] = '\0';
    rc = (int) end;
out:
    if (rc < 0)
        s_wipe (buf, len);
    close (fd);
    return rc;
}

//  Checks the admin token file at path; the token itself is not kept.
static int
s_check_token_file (const char *path, char *why, size_t whylen)
{
    char token[BATON_CONFIG_MAX_TOKEN_FILE + 1];
    int rc = baton_config_read_token (path, token, sizeof token, why, whylen);
    s_wipe (token, sizeof token);
    return rc < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Sections

static void
s_defaults (baton_config_t *cfg)
{
    cfg->gateway = (baton_config_gateway_t){
        .listen = {"127.0.0.1:8080", "127.0.0.1", 8080},
        .admin = {"127.0.0.1:9090", "127.0.0.1", 9090},
        .reply = "tcp://127.0.0.1:5600",
        .reply_default = true,
        .control = NULL,
        .deadline_ms = 5000,
        .max_inflight = 10000,
        .drain_ms = 10000,
        .max_budget = 32,
        .heartbeat_misses = 3,
        .probe_timeout_ms = 250,
        .probe_interval_ms = 500,
        .zone_spill_at = 16,
    };
    cfg->limits = (baton_config_limits_t){
        .request_line = 8 * 1024,
        .header_block = 16 * 1024,
        .header_count = 100,
        .body = 1024 * 1024,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 30000,
        .idle_timeout_ms = 60000,
        .requests_per_connection = 1000,
    };
}

static bool
s_wildcard_host (const char *host)
{
    return !strcmp (host, "0.0.0.0") || !strcmp (host, "::") || !strcmp (host, "0:0:0:0:0:0:0:0");
}

//  Port 0 asks the system for a free port, which never collides.
static bool
s_listeners_collide (const baton_config_gateway_t *g)
{
    return g->listen.port == g->admin.port && g->listen.port != 0 &&
           (!strcmp (g->listen.host, g->admin.host) || s_wildcard_host (g->listen.host) ||
            s_wildcard_host (g->admin.host));
}

static int
s_gateway (s_ctx_t *ctx, const s_node_t *node)
{
    static const char *const keys[] = {"listen",        "admin",          "reply",
                                       "control",       "deadline",       "max_inflight",
                                       "drain",         "max_budget",     "heartbeat_misses",
                                       "probe_timeout", "probe_interval", "admin_token_file",
                                       "zone",          "zone_spill_at"};
    enum {
        LISTEN,
        ADMIN,
        REPLY,
        CONTROL,
        DEADLINE,
        MAX_INFLIGHT,
        DRAIN,
        MAX_BUDGET,
        HEARTBEAT_MISSES,
        PROBE_TIMEOUT,
        PROBE_INTERVAL,
        ADMIN_TOKEN_FILE,
        ZONE,
        ZONE_SPILL_AT,
        NKEYS
    };
    const s_node_t *v[NKEYS], *at[NKEYS];
    baton_config_gateway_t *g = &ctx->cfg->gateway;
    uint64_t n;
    if (s_map (ctx, node, "gateway", keys, NKEYS, v, at) < 0)
        return -1;
    if (v[LISTEN] && s_addr (ctx, v[LISTEN], "gateway.listen", &g->listen) < 0)
        return -1;
    if (v[ADMIN] && s_addr (ctx, v[ADMIN], "gateway.admin", &g->admin) < 0)
        return -1;
    if (v[REPLY] && s_endpoint (ctx, v[REPLY], "gateway.reply", true, &g->reply) < 0)
        return -1;
    if (v[REPLY])
        g->reply_default = false;
    if (v[CONTROL] && s_endpoint (ctx, v[CONTROL], "gateway.control", true, &g->control) < 0)
        return -1;
    if (v[DEADLINE] && s_duration (ctx, v[DEADLINE], "gateway.deadline", 1, &g->deadline_ms) < 0)
        return -1;
    if (v[MAX_INFLIGHT]) {
        if (s_uint (ctx, v[MAX_INFLIGHT], "gateway.max_inflight", 1, 1000000, &n) < 0)
            return -1;
        g->max_inflight = (uint32_t) n;
    }
    if (v[DRAIN] && s_duration (ctx, v[DRAIN], "gateway.drain", 0, &g->drain_ms) < 0)
        return -1;
    if (v[MAX_BUDGET]) {
        if (s_uint (ctx, v[MAX_BUDGET], "gateway.max_budget", 1, BATON_CONFIG_MAX_BUDGET, &n) < 0)
            return -1;
        g->max_budget = (uint32_t) n;
    }
    if (v[HEARTBEAT_MISSES]) {
        if (s_uint (ctx, v[HEARTBEAT_MISSES], "gateway.heartbeat_misses", 1, 100, &n) < 0)
            return -1;
        g->heartbeat_misses = (uint32_t) n;
    }
    if (v[PROBE_TIMEOUT] && s_duration_in (ctx, v[PROBE_TIMEOUT], "gateway.probe_timeout", 1, 60000,
                                           &g->probe_timeout_ms) < 0)
        return -1;
    //  At most a second: an ejected replica is back within a second of healing.
    if (v[PROBE_INTERVAL] && s_duration_in (ctx, v[PROBE_INTERVAL], "gateway.probe_interval", 10,
                                            1000, &g->probe_interval_ms) < 0)
        return -1;
    if (v[ADMIN_TOKEN_FILE]) {
        char why[BATON_CONFIG_MAX_ERROR];
        const s_node_t *file = v[ADMIN_TOKEN_FILE];
        if (s_scalar (ctx, file, "gateway.admin_token_file", "a path") < 0)
            return -1;
        g->admin_token_file = s_resolve_path (ctx->cfg, file->str, file->len);
        if (s_check_token_file (g->admin_token_file, why, sizeof why) < 0)
            return s_fail (ctx, file, "gateway.admin_token_file", "%s", why);
    }
    if (v[ZONE] && s_label (ctx, v[ZONE], "gateway.zone", "a zone", &g->zone) < 0)
        return -1;
    if (v[ZONE_SPILL_AT]) {
        if (s_uint (ctx, v[ZONE_SPILL_AT], "gateway.zone_spill_at", 1, 1000000, &n) < 0)
            return -1;
        g->zone_spill_at = (uint32_t) n;
    }

    if (s_listeners_collide (g)) {
        const s_node_t *at_node = v[ADMIN] ? v[ADMIN] : v[LISTEN];
        return s_fail (ctx, at_node, v[ADMIN] ? "gateway.admin" : "gateway.listen",
                       "the admin listener (%s) must differ from the public one (%s)",
                       g->admin.text, g->listen.text);
    }
    if (g->control && !strcmp (g->control, g->reply)) {
        return s_fail (ctx, v[CONTROL], "gateway.control",
                       "the control endpoint must differ from gateway.reply (%s)", g->reply);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Security: the files are loaded here, so a bad key stops the load (and
//  baton check) at the line that names it.

const char *
baton_config_security_mode_name (baton_security_mode_t mode)
{
    return mode == BATON_SECURITY_CURVE      ? "curve"
           : mode == BATON_SECURITY_INSECURE ? "insecure"
                                             : "none";
}

//  Loads the gateway's certificate at path and the trust store at dir into
//  *cert_p and *trust_p (the caller's to destroy on success). Returns 0, or
//  -1 with what is wrong in why; which is 0 when the certificate is at
//  fault, 1 when the trust store is.
static int
s_load_keys (const char *path, const char *dir, baton_cert_t **cert_p, baton_trust_t **trust_p,
             int *which, char *why, size_t whylen)
{
    *which = 0;
    baton_cert_t *cert = baton__cert_load (path, why, whylen);
    if (!cert)
        return -1;
    if (baton__cert_role (cert) != BATON_ROLE_GATEWAY || !baton__cert_secret_key (cert)) {
        snprintf (why, whylen, "%s: %s", path,
                  !baton__cert_secret_key (cert)
                      ? "holds no secret key (give the NAME.key_secret file)"
                      : "is not a gateway certificate (make one with: baton keys new NAME "
                        "--role gateway)");
        baton__cert_destroy (&cert);
        return -1;
    }
    *which = 1;
    baton_trust_t *trust = baton__trust_load (dir, why, whylen);
    if (!trust) {
        baton__cert_destroy (&cert);
        return -1;
    }
    *cert_p = cert;
    *trust_p = trust;
    return 0;
}

//  Installs mode, the loaded files (consumed) and their paths.
static void
s_set_security (baton_config_t *cfg, baton_security_mode_t mode, const char *cert_path,
                const char *trust_dir, baton_cert_t *cert, baton_trust_t *trust)
{
    baton__cert_destroy (&cfg->cert);
    baton__trust_destroy (&cfg->trust);
    cfg->cert = cert;
    cfg->trust = trust;
    cfg->security = (baton_config_security_t){mode,
                                              cert_path,
                                              trust_dir,
                                              cert,
                                              trust,
                                              cfg->mesh_key_path,
                                              cfg->mesh_key_path ? cfg->mesh_key : NULL};
}

//  Loads the mesh key at path (resolved) into cfg. Returns 0, or -1 with
//  the reason in why.
static int
s_load_mesh_key (baton_config_t *cfg, const char *path, char *why, size_t whylen)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    if (baton__mesh_key_load (path, key, why, whylen) < 0)
        return -1;
    memcpy (cfg->mesh_key, key, sizeof key);
    sodium_memzero (key, sizeof key);
    cfg->mesh_key_path = path;
    cfg->security.mesh_key_path = path;
    cfg->security.mesh_key = cfg->mesh_key;
    return 0;
}

static int
s_security (s_ctx_t *ctx, const s_node_t *node)
{
    static const char *const keys[] = {"mode", "cert", "trust", "mesh_key"};
    enum { MODE, CERT, TRUST, MESH_KEY, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    char q[80], why[BATON_CERT_ERROR_MAX];
    if (!node)
        return 0;
    if (s_map (ctx, node, "security", keys, NKEYS, v, at) < 0)
        return -1;
    if (v[MESH_KEY]) {
        const s_node_t *file = v[MESH_KEY];
        if (s_scalar (ctx, file, "security.mesh_key", "a path") < 0)
            return -1;
        if (s_load_mesh_key (ctx->cfg, s_resolve_path (ctx->cfg, file->str, file->len), why,
                             sizeof why) < 0)
            return s_fail (ctx, file, "security.mesh_key", "%s", why);
    }
    if (!v[MODE])
        return s_fail (ctx, at[MODE] ? at[MODE] : node, "security.mode",
                       "set mode: curve (or mode: insecure for plaintext on the network)");
    if (s_scalar (ctx, v[MODE], "security.mode", "curve or insecure") < 0)
        return -1;
    bool curve = v[MODE]->len == 5 && !memcmp (v[MODE]->str, "curve", 5);
    if (!curve && !(v[MODE]->len == 8 && !memcmp (v[MODE]->str, "insecure", 8)))
        return s_fail (ctx, v[MODE], "security.mode", "%s: expected curve or insecure",
                       S_Q (q, v[MODE]));
    if (!curve) {
        if (v[CERT] || v[TRUST])
            return s_fail (ctx, v[CERT] ? at[CERT] : at[TRUST],
                           v[CERT] ? "security.cert" : "security.trust",
                           "keys are only for mode: curve");
        s_set_security (ctx->cfg, BATON_SECURITY_INSECURE, NULL, NULL, NULL, NULL);
        return 0;
    }
    for (int k = CERT; k <= TRUST; k++) {
        const char *key = k == CERT ? "security.cert" : "security.trust";
        if (!v[k])
            return s_fail (ctx, at[k] ? at[k] : node, key,
                           k == CERT
                               ? "mode: curve needs the gateway's secret certificate "
                                 "(cert: NAME.key_secret)"
                               : "mode: curve needs the trust store's directory (trust: DIR)");
        if (s_scalar (ctx, v[k], key, "a path") < 0)
            return -1;
    }
    const char *cert_path = s_resolve_path (ctx->cfg, v[CERT]->str, v[CERT]->len);
    const char *trust_dir = s_resolve_path (ctx->cfg, v[TRUST]->str, v[TRUST]->len);
    baton_cert_t *cert;
    baton_trust_t *trust;
    int which;
    if (s_load_keys (cert_path, trust_dir, &cert, &trust, &which, why, sizeof why) < 0)
        return s_fail (ctx, which ? v[TRUST] : v[CERT], which ? "security.trust" : "security.cert",
                       "%s", why);
    s_set_security (ctx->cfg, BATON_SECURITY_CURVE, cert_path, trust_dir, cert, trust);
    return 0;
}

//  Sets f->key from f->key_z85 and the trust store (CURVE only). Returns 0,
//  or -1 with what is wrong in why: a key that is not function f's, or a
//  function with static endpoints whose key is unknown or ambiguous.
static int
s_function_key (baton_config_t *cfg, baton_config_function_t *f, char *why, size_t whylen)
{
    f->key = NULL;
    const baton_trust_t *trust = cfg->security.trust;
    if (cfg->security.mode != BATON_SECURITY_CURVE)
        return 0;
    const char *dir = baton__trust_dir (trust);
    if (f->key_z85) {
        uint8_t key[BATON_KEY_SIZE];
        baton__key_from_z85 (f->key_z85, strlen (f->key_z85), key); //  checked when read
        const baton_trust_entry_t *e = baton__trust_find (trust, key);
        if (!e || e->role != BATON_ROLE_FUNCTION || strcmp (e->name, f->name) != 0) {
            snprintf (why, whylen, "key %s is not a key of function %s in the trust store %s",
                      f->key_z85, f->name, dir);
            return -1;
        }
        f->key = e->key;
        return 0;
    }
    const baton_trust_entry_t *found[1];
    size_t n = baton__trust_find_name (trust, BATON_ROLE_FUNCTION, f->name, found, 1);
    if (n == 1)
        f->key = found[0]->key;
    else if (f->endpoint_count > 0 && n == 0) {
        snprintf (why, whylen,
                  "the trust store %s holds no key of function %s, so its static endpoints cannot "
                  "be reached (add %s.key: baton keys new %s --role function)",
                  dir, f->name, f->name, f->name);
        return -1;
    } else if (f->endpoint_count > 0) {
        snprintf (why, whylen,
                  "the trust store %s holds %zu keys of function %s: name the one its static "
                  "endpoints use with key:",
                  dir, n, f->name);
        return -1;
    }
    return 0;
}

static int
s_limits (s_ctx_t *ctx, const s_node_t *node)
{
    static const char *const keys[] = {"request_line", "header_block",           "header_count",
                                       "body",         "header_timeout",         "body_timeout",
                                       "idle_timeout", "requests_per_connection"};
    enum {
        REQUEST_LINE,
        HEADER_BLOCK,
        HEADER_COUNT,
        BODY,
        HEADER_TIMEOUT,
        BODY_TIMEOUT,
        IDLE_TIMEOUT,
        REQUESTS,
        NKEYS
    };
    const s_node_t *v[NKEYS], *at[NKEYS];
    baton_config_limits_t *l = &ctx->cfg->limits;
    uint64_t n;
    if (s_map (ctx, node, "limits", keys, NKEYS, v, at) < 0)
        return -1;
    if (v[REQUEST_LINE]) {
        if (s_size (ctx, v[REQUEST_LINE], "limits.request_line", 64, S_MIB, &n) < 0)
            return -1;
        l->request_line = (size_t) n;
    }
    if (v[HEADER_BLOCK]) {
        if (s_size (ctx, v[HEADER_BLOCK], "limits.header_block", 64, S_MIB, &n) < 0)
            return -1;
        l->header_block = (size_t) n;
    }
    if (v[HEADER_COUNT]) {
        if (s_uint (ctx, v[HEADER_COUNT], "limits.header_count", 1, 10000, &n) < 0)
            return -1;
        l->header_count = (size_t) n;
    }
    if (v[BODY]) {
        if (s_size (ctx, v[BODY], "limits.body", 0, S_GIB, &n) < 0)
            return -1;
        l->body = (size_t) n;
    }
    if (v[HEADER_TIMEOUT] &&
        s_duration (ctx, v[HEADER_TIMEOUT], "limits.header_timeout", 1, &l->header_timeout_ms) < 0)
        return -1;
    if (v[BODY_TIMEOUT] &&
        s_duration (ctx, v[BODY_TIMEOUT], "limits.body_timeout", 1, &l->body_timeout_ms) < 0)
        return -1;
    if (v[IDLE_TIMEOUT] &&
        s_duration (ctx, v[IDLE_TIMEOUT], "limits.idle_timeout", 1, &l->idle_timeout_ms) < 0)
        return -1;
    if (v[REQUESTS]) {
        if (s_uint (ctx, v[REQUESTS], "limits.requests_per_connection", 1, 1000000000, &n) < 0)
            return -1;
        l->requests_per_connection = (uint32_t) n;
    }
    return 0;
}

static int
s_compare_index (const void *pa, const void *pb)
{
    const s_index_t *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp (a->name, b->name, n);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

//  One entry of functions.NAME.endpoints: an endpoint, or a mapping
//  {endpoint, version, zone}; the endpoint's node into *ep_node. *place gets
//  what the mapping declares ("" for the rest); *mapped is set if it is one.
static int
s_endpoint_entry (s_ctx_t *ctx, const s_node_t *e, const char *path, const char **ep,
                  const s_node_t **ep_node, baton_config_placement_t *place, bool *mapped)
{
    static const char *const keys[] = {"endpoint", "version", "zone"};
    enum { ENDPOINT, VERSION, ZONE, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    char sub[S_PATH];
    *place = (baton_config_placement_t){"", ""};
    *ep_node = e;
    if (e->kind != BATON_YAMLDOC_MAPPING || e->null)
        return s_endpoint (ctx, e, path, false, ep);
    *mapped = true;
    if (s_map (ctx, e, path, keys, NKEYS, v, at) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "endpoint");
    if (!v[ENDPOINT])
        return s_fail (ctx, at[ENDPOINT] ? at[ENDPOINT] : e, sub,
                       "an endpoint written as a mapping needs endpoint: tcp://host:port");
    *ep_node = v[ENDPOINT];
    if (s_endpoint (ctx, v[ENDPOINT], sub, false, ep) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "version");
    if (v[VERSION] && s_label (ctx, v[VERSION], sub, "a version", &place->version) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "zone");
    if (v[ZONE] && s_label (ctx, v[ZONE], sub, "a zone", &place->zone) < 0)
        return -1;
    return 0;
}

static int
s_function (s_ctx_t *ctx, const s_node_t *at_name, const s_node_t *val, baton_config_function_t *f)
{
    static const char *const keys[] = {"endpoints", "run", "replicas", "key"};
    enum { ENDPOINTS, RUN, REPLICAS, KEY, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    baton_arena_t *arena = ctx->cfg->arena;
    char path[S_PATH], sub[S_PATH], item[S_PATH], q[80];
    s_key (path, sizeof path, "functions", f->name);
    if (s_map (ctx, val, path, keys, NKEYS, v, at) < 0)
        return -1;
    f->replicas = 1;
    if (v[ENDPOINTS]) {
        const s_node_t *eps = v[ENDPOINTS];
        s_key (sub, sizeof sub, path, "endpoints");
        if (s_seq (ctx, eps, sub, "a sequence of ZeroMQ endpoints") < 0)
            return -1;
        if (eps->count > BATON_CONFIG_MAX_ENDPOINTS)
            return s_fail (ctx, eps, sub, "more than %d endpoints", BATON_CONFIG_MAX_ENDPOINTS);
        size_t n = eps->count ? eps->count : 1;
        const char **list = baton_arena_alloc (arena, n * sizeof *list);
        baton_config_placement_t *places = baton_arena_alloc (arena, n * sizeof *places);
        bool mapped = false;
        size_t i = 0;
        for (const s_node_t *e = eps->first; e; e = e->next, i++) {
            const s_node_t *ep;
            s_index (item, sizeof item, sub, i);
            if (s_endpoint_entry (ctx, e, item, &list[i], &ep, &places[i], &mapped) < 0)
                return -1;
            size_t k = 0;
            for (const s_node_t *prev = eps->first; k < i; prev = prev->next, k++)
                if (!strcmp (list[k], list[i]))
                    return s_fail (ctx, ep, item, "%s is listed twice (first at line %zu)",
                                   S_Q (q, ep), prev->line);
        }
        f->endpoints = list;
        f->endpoint_count = eps->count;
        f->placements = mapped ? places : NULL;
    }
    if (v[RUN]) {
        s_key (sub, sizeof sub, path, "run");
        if (s_scalar (ctx, v[RUN], sub, "a command") < 0)
            return -1;
        f->run = baton_arena_strndup (arena, v[RUN]->str, v[RUN]->len);
    }
    if (v[REPLICAS]) {
        uint64_t n;
        s_key (sub, sizeof sub, path, "replicas");
        if (s_uint (ctx, v[REPLICAS], sub, 1, BATON_CONFIG_MAX_REPLICAS, &n) < 0)
            return -1;
        if (!v[RUN])
            return s_fail (ctx, v[REPLICAS], sub,
                           "replicas only counts what baton dev starts; it needs run:");
        f->replicas = (uint32_t) n;
    }
    char why[BATON_CONFIG_MAX_ERROR];
    if (v[KEY]) {
        s_key (sub, sizeof sub, path, "key");
        if (s_scalar (ctx, v[KEY], sub, "a CURVE public key") < 0)
            return -1;
        if (baton__key_from_z85 (v[KEY]->str, v[KEY]->len, NULL) != 0)
            return s_fail (ctx, v[KEY], sub, "%s: not a CURVE public key (40 characters of Z85)",
                           S_Q (q, v[KEY]));
        f->key_z85 = baton_arena_strndup (arena, v[KEY]->str, v[KEY]->len);
    }
    if (s_function_key (ctx->cfg, f, why, sizeof why) < 0)
        return s_fail (ctx, v[KEY] ? v[KEY] : at_name, v[KEY] ? sub : path, "%s", why);
    return 0;
}

static int
s_functions (s_ctx_t *ctx, const s_node_t *node)
{
    baton_config_t *cfg = ctx->cfg;
    if (!node)
        return 0;
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return s_fail (ctx, node, "functions", "expected a mapping of function names, found %s",
                       s_what (node));
    size_t count = node->count / 2;
    if (count > BATON_CONFIG_MAX_FUNCTIONS)
        return s_fail (ctx, node, "functions", "more than %d functions",
                       BATON_CONFIG_MAX_FUNCTIONS);
    cfg->functions = baton_arena_alloc (cfg->arena, (count ? count : 1) * sizeof *cfg->functions);
    cfg->by_name = baton_arena_alloc (cfg->arena, (count ? count : 1) * sizeof *cfg->by_name);
    size_t i = 0;
    for (const s_node_t *key = node->first; key; key = key->next->next, i++) {
        char q[80], why[S_WHY];
        if (baton_value_function_name (key->str, key->len, why, sizeof why) < 0)
            return s_fail (ctx, key, "functions", "%s", why);
        for (size_t k = 0; k < i; k++)
            if (!strcmp (cfg->functions[k].name, key->str))
                return s_fail (ctx, key, "functions", "duplicate key %s (first at line %zu)",
                               S_Q (q, key), cfg->functions[k].line);
        baton_config_function_t *f = &cfg->functions[i];
        f->name = baton_arena_strndup (cfg->arena, key->str, key->len);
        f->index = i;
        f->line = key->line;
        cfg->function_count = i + 1;
        if (s_function (ctx, key, key->next, f) < 0)
            return -1;
    }
    for (size_t k = 0; k < count; k++)
        cfg->by_name[k] = (s_index_t){cfg->functions[k].name, strlen (cfg->functions[k].name),
                                      &cfg->functions[k]};
    qsort (cfg->by_name, count, sizeof *cfg->by_name, s_compare_index);
    return 0;
}

typedef struct {
    const char *name[BATON_CONFIG_MAX_METHODS];
    size_t count;
} s_methods_t;

static int
s_route_methods (s_ctx_t *ctx, const s_node_t *node, const char *path, s_methods_t *seen,
                 baton_config_route_t *r)
{
    char item[S_PATH], q[80], why[S_WHY];
    if (s_seq (ctx, node, path, "a sequence of HTTP methods") < 0)
        return -1;
    if (node->count == 0)
        return s_fail (ctx, node, path,
                       "an empty list allows nothing; leave methods out to allow every method");
    if (node->count > BATON_CONFIG_MAX_METHODS)
        return s_fail (ctx, node, path, "more than %d methods", BATON_CONFIG_MAX_METHODS);
    const char **list = baton_arena_alloc (ctx->cfg->arena, node->count * sizeof *list);
    size_t i = 0;
    for (const s_node_t *m = node->first; m; m = m->next, i++) {
        s_index (item, sizeof item, path, i);
        if (s_scalar (ctx, m, item, "a method name") < 0)
            return -1;
        if (baton_value_method (m->str, m->len, why, sizeof why) < 0)
            return s_fail (ctx, m, item, "%s", why);
        for (size_t k = 0; k < i; k++)
            if (!strcmp (list[k], m->str))
                return s_fail (ctx, m, item, "%s is listed twice", S_Q (q, m));
        size_t k = 0;
        while (k < seen->count && strcmp (seen->name[k], m->str))
            k++;
        if (k == seen->count) {
            if (seen->count == BATON_CONFIG_MAX_METHODS)
                return s_fail (ctx, m, item, "more than %d distinct methods across all routes",
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
s_chain_functions (s_ctx_t *ctx, const s_node_t *first, size_t count, const char *path)
{
    char item[S_PATH], q[80];
    const baton_config_function_t **chain =
        baton_arena_alloc (ctx->cfg->arena, (count ? count : 1) * sizeof *chain);
    const s_node_t *f = first;
    for (size_t i = 0; i < count; f = f->next, i++) {
        s_index (item, sizeof item, path, i);
        if (f->kind == BATON_YAMLDOC_MAPPING) {
            s_fail (ctx, f, item,
                    "a branch is the last element of a route's chain, never inside a branch");
            return NULL;
        }
        if (s_scalar (ctx, f, item, "a function name") < 0)
            return NULL;
        chain[i] = baton_config_function_find (ctx->cfg, f->str, f->len);
        if (!chain[i]) {
            s_fail (ctx, f, item, "function %s is not declared under functions", S_Q (q, f));
            return NULL;
        }
    }
    return chain;
}

//  The last element of a chain, {branch: {NAME: [function, ...], ...}}:
//  into r's branches; *longest gets the longest branch's length.
static int
s_route_branches (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_route_t *r,
                  size_t *longest)
{
    static const char *const keys[] = {"branch"};
    const s_node_t *v[1], *at[1];
    char sub[S_PATH], bpath[S_PATH], q[80], why[S_WHY];
    if (s_map (ctx, node, path, keys, 1, v, at) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "branch");
    if (!v[0] || v[0]->kind != BATON_YAMLDOC_MAPPING)
        return s_fail (ctx,
                       v[0]    ? v[0]
                       : at[0] ? at[0]
                               : node,
                       sub,
                       "expected a mapping of branch names to chains ({ok: [render], review: "
                       "[fraud, render]}), found %s",
                       v[0] ? s_what (v[0]) : "nothing");
    const s_node_t *map = v[0];
    size_t n = map->count / 2;
    if (n < 2 || n > BATON_CONFIG_MAX_BRANCHES)
        return s_fail (ctx, map, sub, "%zu branch%s: a route branches 2 to %d ways", n,
                       n == 1 ? "" : "es", BATON_CONFIG_MAX_BRANCHES);
    //  A branch without a mesh key could be taken by any hop, or changed:
    //  in a CURVE mesh that is refused rather than left unsealed.
    if (ctx->cfg->security.mode == BATON_SECURITY_CURVE && !ctx->cfg->security.mesh_key)
        return s_fail (ctx, map, sub,
                       "branches in a CURVE mesh are sealed: set security.mesh_key (make one "
                       "with: baton keys mesh FILE)");
    baton_config_branch_t *list = baton_arena_alloc (ctx->cfg->arena, n * sizeof *list);
    size_t i = 0;
    *longest = 0;
    for (const s_node_t *key = map->first; key; key = key->next->next, i++) {
        const s_node_t *val = key->next;
        if (baton_value_label (key->str, key->len, "a branch name", why, sizeof why) < 0)
            return s_fail (ctx, key, sub, "%s", why);
        for (size_t k = 0; k < i; k++)
            if (strlen (list[k].name) == key->len && !memcmp (list[k].name, key->str, key->len))
                return s_fail (ctx, key, sub, "duplicate branch %s", S_Q (q, key));
        s_key (bpath, sizeof bpath, sub, key->str);
        if (val->null || s_seq (ctx, val, bpath, "a sequence of function names") < 0)
            return val->null ? s_fail (ctx, key, bpath, "a branch names at least one function")
                             : -1;
        if (val->count == 0)
            return s_fail (ctx, val, bpath, "a branch names at least one function");
        list[i].name = baton_arena_strndup (ctx->cfg->arena, key->str, key->len);
        list[i].chain_len = val->count;
        if (val->count > BATON_CONFIG_MAX_CHAIN)
            return s_fail (ctx, val, bpath, "more than %d functions in one branch",
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
s_route_chain (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_route_t *r)
{
    if (s_seq (ctx, node, path, "a sequence of function names") < 0)
        return -1;
    const s_node_t *last = node->first;
    while (last && last->next)
        last = last->next;
    bool branches = last && last->kind == BATON_YAMLDOC_MAPPING;
    size_t count = node->count - (branches ? 1 : 0), longest = 0;
    if (count == 0)
        return s_fail (ctx, node, path,
                       branches ? "a chain names at least one function before its branch: the "
                                  "last one chooses the branch"
                                : "a chain names at least one function");
    if (count > BATON_CONFIG_MAX_CHAIN)
        return s_fail (ctx, node, path, "more than %d functions in one chain",
                       BATON_CONFIG_MAX_CHAIN);
    r->chain = s_chain_functions (ctx, node->first, count, path);
    if (!r->chain)
        return -1;
    r->chain_len = count;
    if (branches) {
        char item[S_PATH];
        s_index (item, sizeof item, path, count);
        if (s_route_branches (ctx, last, item, r, &longest) < 0)
            return -1;
    }
    //  The budget the gateway writes: the chain and its longest branch.
    if (count + longest > ctx->cfg->gateway.max_budget)
        return s_fail (ctx, node, path,
                       "%zu functions%s need a hop budget of %zu, above gateway.max_budget (%u)",
                       count + longest, branches ? " (the chain and its longest branch)" : "",
                       count + longest, (unsigned) ctx->cfg->gateway.max_budget);
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
s_condition_values (s_ctx_t *ctx, const s_node_t *val, const char *path, bool header,
                    baton_config_condition_t *c)
{
    char item[S_PATH], q[80], why[S_WHY];
    if (val->null || val->kind == BATON_YAMLDOC_MAPPING)
        return s_fail (ctx, val, path, "expected present, a value or a list of values, found %s",
                       val->null ? "nothing" : s_what (val));
    if (val->kind == BATON_YAMLDOC_SCALAR && val->len == 7 && !memcmp (val->str, "present", 7)) {
        c->kind = BATON_CONFIG_MATCH_PRESENT;
        return 0;
    }
    bool list = val->kind == BATON_YAMLDOC_SEQUENCE;
    size_t n = list ? val->count : 1;
    if (n == 0)
        return s_fail (ctx, val, path, "an empty list matches nothing");
    if (n > BATON_CONFIG_MAX_VALUES)
        return s_fail (ctx, val, path, "more than %d values", BATON_CONFIG_MAX_VALUES);
    const char **values = baton_arena_alloc (ctx->cfg->arena, n * sizeof *values);
    size_t *lens = baton_arena_alloc (ctx->cfg->arena, n * sizeof *lens);
    size_t i = 0;
    for (const s_node_t *v = list ? val->first : val; i < n; v = v->next, i++) {
        const char *at = path;
        if (list)
            at = s_index (item, sizeof item, path, i);
        if (s_scalar (ctx, v, at, "a value") < 0)
            return -1;
        if (header && baton_value_header_value (v->str, v->len, why, sizeof why) < 0)
            return s_fail (ctx, v, at, "%s", why);
        for (size_t k = 0; k < i; k++)
            if (lens[k] == v->len && !memcmp (values[k], v->str, v->len))
                return s_fail (ctx, v, at, "%s is listed twice", S_Q (q, v));
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
s_conditions (s_ctx_t *ctx, const s_node_t *node, const char *path, bool header,
              const baton_config_condition_t **out, size_t *count)
{
    char sub[S_PATH], q[80], why[S_WHY];
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return s_fail (ctx, node, path, "expected a mapping of %s to conditions, found %s",
                       header ? "header names" : "query parameter names", s_what (node));
    size_t n = node->count / 2;
    if (n > BATON_CONFIG_MAX_CONDITIONS)
        return s_fail (ctx, node, path, "more than %d conditions", BATON_CONFIG_MAX_CONDITIONS);
    baton_config_condition_t *list =
        baton_arena_alloc (ctx->cfg->arena, (n ? n : 1) * sizeof *list);
    size_t i = 0;
    for (const s_node_t *key = node->first; key; key = key->next->next, i++) {
        baton_config_condition_t *c = &list[i];
        if (header && baton_value_header_name (key->str, key->len, why, sizeof why) < 0)
            return s_fail (ctx, key, path, "%s", why);
        if (!header && key->len == 0)
            return s_fail (ctx, key, path, "a query parameter has a name");
        char *name = baton_arena_strndup (ctx->cfg->arena, key->str, key->len);
        for (size_t k = 0; header && k < key->len; k++)
            if (name[k] >= 'A' && name[k] <= 'Z')
                name[k] = (char) (name[k] - 'A' + 'a');
        if (header && !strcmp (name, "host"))
            return s_fail (ctx, key, path, "match the host with match.host, not a header");
        //  Header names are case-insensitive: "X-A" and "x-a" are one name.
        for (size_t k = 0; k < i; k++)
            if (list[k].name_len == key->len && !memcmp (list[k].name, name, key->len))
                return s_fail (ctx, key, path, "%s is listed twice (first at line %zu)",
                               S_Q (q, key), list[k].line);
        *c = (baton_config_condition_t){
            .name = name, .name_len = key->len, .line = key->line, .column = key->column};
        s_key (sub, sizeof sub, path, name);
        if (s_condition_values (ctx, key->next, sub, header, c) < 0)
            return -1;
    }
    *out = list;
    *count = n;
    return 0;
}

//  match: {host: ..., headers: {...}, query: {...}}.
static int
s_route_match (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_route_t *r)
{
    static const char *const keys[] = {"host", "headers", "query"};
    enum { HOST, HEADERS, QUERY, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    char sub[S_PATH], why[S_WHY];
    baton_config_match_t *m = &r->match;
    if (s_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    if (v[HOST]) {
        baton_value_host_t h;
        s_key (sub, sizeof sub, path, "host");
        if (s_scalar (ctx, v[HOST], sub, "a host") < 0)
            return -1;
        if (baton_value_match_host (v[HOST]->str, v[HOST]->len, &h, why, sizeof why) < 0)
            return s_fail (ctx, v[HOST], sub, "%s", why);
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
    s_key (sub, sizeof sub, path, "headers");
    if (v[HEADERS] && s_conditions (ctx, v[HEADERS], sub, true, &m->headers, &m->header_count) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "query");
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
s_route_retry (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_route_t *r)
{
    static const char *const keys[] = {"attempts"};
    const s_node_t *v[1], *at[1];
    char sub[S_PATH];
    uint64_t n;
    if (s_map (ctx, node, path, keys, 1, v, at) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "attempts");
    if (!v[0])
        return s_fail (ctx, at[0] ? at[0] : node, sub,
                       "retry needs attempts: N (1 to %d sends again)", BATON_CONFIG_MAX_RETRIES);
    if (s_uint (ctx, v[0], sub, 1, BATON_CONFIG_MAX_RETRIES, &n) < 0)
        return -1;
    r->retry_attempts = (uint32_t) n;
    return 0;
}

//  split.weights: {VERSION: WEIGHT, ...}, 1 to BATON_CONFIG_MAX_SPLIT
//  versions whose weights add up to more than 0.
static int
s_split_weights (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_split_t *sp)
{
    char sub[S_PATH], q[80];
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return s_fail (ctx, node, path, "expected a mapping of versions to weights, found %s",
                       s_what (node));
    size_t n = node->count / 2;
    if (n == 0 || n > BATON_CONFIG_MAX_SPLIT)
        return s_fail (ctx, node, path, "a split has 1 to %d versions", BATON_CONFIG_MAX_SPLIT);
    const char **versions = baton_arena_alloc (ctx->cfg->arena, n * sizeof *versions);
    uint32_t *weights = baton_arena_alloc (ctx->cfg->arena, n * sizeof *weights);
    size_t i = 0;
    sp->total = 0;
    for (const s_node_t *key = node->first; key; key = key->next->next, i++) {
        uint64_t w;
        if (s_label (ctx, key, path, "a version", &versions[i]) < 0)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp (versions[k], versions[i]))
                return s_fail (ctx, key, path, "%s is listed twice", S_Q (q, key));
        s_key (sub, sizeof sub, path, versions[i]);
        if (key->next->null)
            return s_fail (ctx, key, sub, "expected a weight (a whole number), found nothing");
        if (s_uint (ctx, key->next, sub, 0, 1000000, &w) < 0)
            return -1;
        weights[i] = (uint32_t) w;
        sp->total += w;
    }
    if (sp->total == 0)
        return s_fail (ctx, node, path, "the weights add up to 0: no version could be chosen");
    sp->versions = versions;
    sp->weights = weights;
    sp->count = n;
    return 0;
}

//  split: {by: "header:NAME" | "cookie:NAME", weights: {...}}.
static int
s_route_split (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_route_t *r)
{
    static const char *const keys[] = {"by", "weights"};
    enum { BY, WEIGHTS, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    char sub[S_PATH], q[80], why[S_WHY];
    baton_config_split_t *sp = &r->split;
    if (s_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "by");
    if (!v[BY])
        return s_fail (ctx, at[BY] ? at[BY] : node, sub,
                       "a split needs by: \"header:NAME\" or by: \"cookie:NAME\"");
    if (s_scalar (ctx, v[BY], sub, "header:NAME or cookie:NAME") < 0)
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
        return s_fail (ctx, v[BY], sub, "%s: expected header:NAME or cookie:NAME", S_Q (q, v[BY]));
    //  A cookie's name is a token too (RFC 6265).
    if (baton_value_header_name (by + off, len - off, why, sizeof why) < 0)
        return s_fail (ctx, v[BY], sub, "%s", why);
    char *key = baton_arena_strndup (ctx->cfg->arena, by + off, len - off);
    for (char *c = key; sp->by == BATON_CONFIG_SPLIT_HEADER && *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char) (*c - 'A' + 'a');
    sp->key = key;
    sp->key_len = len - off;
    s_key (sub, sizeof sub, path, "weights");
    if (!v[WEIGHTS])
        return s_fail (ctx, at[WEIGHTS] ? at[WEIGHTS] : node, sub,
                       "a split needs weights: {VERSION: WEIGHT, ...}");
    return s_split_weights (ctx, v[WEIGHTS], sub, sp);
}

static int
s_route (s_ctx_t *ctx, const s_node_t *node, size_t index, s_methods_t *seen,
         baton_config_route_t *r)
{
    static const char *const keys[] = {"path",     "methods", "match",   "chain",
                                       "deadline", "retry",   "version", "split"};
    enum { PATH, METHODS, MATCH, CHAIN, DEADLINE, RETRY, VERSION, SPLIT, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    char path[S_PATH], sub[S_PATH], q[80];
    s_index (path, sizeof path, "routes", index);
    if (node->kind != BATON_YAMLDOC_MAPPING || node->null)
        return s_fail (ctx, node, path, "expected a mapping with path: and chain:, found %s",
                       node->null ? "nothing" : s_what (node));
    if (s_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    r->index = index;
    r->line = node->line;
    r->column = node->column;

    s_key (sub, sizeof sub, path, "path");
    if (!v[PATH])
        return s_fail (ctx, at[PATH] ? at[PATH] : node, sub, "a route needs a path");
    if (s_scalar (ctx, v[PATH], sub, "a path pattern") < 0)
        return -1;
    char why[160];
    if (baton_pattern_parse (v[PATH]->str, v[PATH]->len, NULL, why, sizeof why) < 0)
        return s_fail (ctx, v[PATH], sub, "%s: %s", S_Q (q, v[PATH]), why);
    r->path = baton_arena_strndup (ctx->cfg->arena, v[PATH]->str, v[PATH]->len);

    s_key (sub, sizeof sub, path, "methods");
    if (v[METHODS] && s_route_methods (ctx, v[METHODS], sub, seen, r) < 0)
        return -1;

    s_key (sub, sizeof sub, path, "match");
    if (v[MATCH] && s_route_match (ctx, v[MATCH], sub, r) < 0)
        return -1;

    s_key (sub, sizeof sub, path, "chain");
    if (!v[CHAIN])
        return s_fail (ctx, at[CHAIN] ? at[CHAIN] : node, sub,
                       "a route needs a chain of functions");
    if (s_route_chain (ctx, v[CHAIN], sub, r) < 0)
        return -1;

    r->deadline_ms = ctx->cfg->gateway.deadline_ms;
    r->deadline_default = true;
    s_key (sub, sizeof sub, path, "deadline");
    if (v[DEADLINE]) {
        if (s_duration (ctx, v[DEADLINE], sub, 1, &r->deadline_ms) < 0)
            return -1;
        r->deadline_default = false;
    }
    s_key (sub, sizeof sub, path, "retry");
    if (v[RETRY] && s_route_retry (ctx, v[RETRY], sub, r) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "version");
    if (v[VERSION] && v[SPLIT])
        return s_fail (ctx, at[SPLIT], sub,
                       "a route pins a version or splits between versions, not both");
    if (v[VERSION] && s_label (ctx, v[VERSION], sub, "a version", &r->version) < 0)
        return -1;
    s_key (sub, sizeof sub, path, "split");
    if (v[SPLIT] && s_route_split (ctx, v[SPLIT], sub, r) < 0)
        return -1;
    return 0;
}

static int
s_routes (s_ctx_t *ctx, const s_node_t *node, const s_node_t *key, const s_node_t *root)
{
    baton_config_t *cfg = ctx->cfg;
    if (!node)
        return s_fail (ctx, key ? key : root, "routes", "at least one route is required");
    if (s_seq (ctx, node, "routes", "a sequence of routes") < 0)
        return -1;
    if (node->count == 0)
        return s_fail (ctx, node, "routes", "at least one route is required");
    if (node->count > BATON_CONFIG_MAX_ROUTES)
        return s_fail (ctx, node, "routes", "more than %d routes", BATON_CONFIG_MAX_ROUTES);
    cfg->routes = baton_arena_alloc (cfg->arena, node->count * sizeof *cfg->routes);
    s_methods_t seen = {.count = 0};
    size_t i = 0;
    for (const s_node_t *r = node->first; r; r = r->next, i++) {
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
            char path[S_PATH], q[80];
            s_index (path, sizeof path, "routes", b);
            baton_yamldoc_quote (q, sizeof q, rb->path, strlen (rb->path));
            if (s_match_covers (&rb->match, &ra->match))
                return s_fail_at (ctx, rb->line, rb->column, path,
                                  "same path pattern%s as routes[%zu] (line %zu): %s",
                                  rb->match.count ? ", method and conditions" : " and method", a,
                                  ra->line, q);
            return s_fail_at (ctx, rb->line, rb->column, path,
                              "can never match: routes[%zu] (line %zu) comes first with the same "
                              "path pattern and method, and its match holds for every request "
                              "this one's does (put this route before it): %s",
                              a, ra->line, q);
        }
    return 0;
}

static int
s_document (s_ctx_t *ctx, const s_node_t *root)
{
    static const char *const keys[] = {"gateway", "limits", "functions", "routes", "security"};
    enum { GATEWAY, LIMITS, FUNCTIONS, ROUTES, SECURITY, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    if (!root || root->null)
        return s_fail_at (ctx, 1, 1, "routes", "the file is empty; at least one route is required");
    if (root->kind != BATON_YAMLDOC_MAPPING)
        return s_fail (ctx, root, NULL,
                       "the top level must be a mapping (gateway:, limits:, functions:, routes:)");
    if (s_map (ctx, root, "", keys, NKEYS, v, at) < 0)
        return -1;
    //  Security before functions: their keys are checked against the store.
    if (s_gateway (ctx, v[GATEWAY]) < 0 || s_limits (ctx, v[LIMITS]) < 0 ||
        s_security (ctx, v[SECURITY]) < 0 || s_functions (ctx, v[FUNCTIONS]) < 0 ||
        s_routes (ctx, v[ROUTES], at[ROUTES], root) < 0)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  Public API

//  What a configuration file may hold at most, before its schema is checked.
static const baton_yamldoc_limits_t s_file_limits = {
    .max_file = BATON_CONFIG_MAX_FILE,
    .max_depth = BATON_CONFIG_MAX_DEPTH,
    .max_items = BATON_CONFIG_MAX_ITEMS,
    .max_nodes = BATON_CONFIG_MAX_NODES,
    .max_string = BATON_CONFIG_MAX_STRING,
};

//  Checks the document in *doc_p (consumed; NULL when it could not be read)
//  into a new configuration called name.
static baton_config_t *
s_config_new (baton_yamldoc_t **doc_p, const char *name, char *err, size_t errlen)
{
    if (!*doc_p)
        return NULL;
    baton_arena_t *arena = baton_arena_new ();
    baton_config_t *self = baton_arena_alloc (arena, sizeof *self);
    self->arena = arena;
    self->name = baton_arena_strndup (arena, name, strlen (name));
    s_defaults (self);
    s_ctx_t ctx = {.name = self->name, .err = err, .errlen = errlen, .cfg = self};
    if (s_document (&ctx, baton_yamldoc_root (*doc_p)) < 0)
        baton_config_destroy (&self);
    baton_yamldoc_destroy (doc_p);
    return self;
}

baton_config_t *
baton_config_parse (const char *data, size_t len, const char *name, char *err, size_t errlen)
{
    assert (data || len == 0);
    assert (name);
    baton_yamldoc_t *doc = baton_yamldoc_parse (data, len, name, &s_file_limits, err, errlen);
    return s_config_new (&doc, name, err, errlen);
}

baton_config_t *
baton_config_load (const char *path, char *err, size_t errlen)
{
    assert (path);
    baton_yamldoc_t *doc = baton_yamldoc_load (path, &s_file_limits, err, errlen);
    return s_config_new (&doc, path, err, errlen);
}

void
baton_config_destroy (baton_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    //  The configuration lives in its own arena, but for the keys.
    sodium_memzero ((*self_p)->mesh_key, sizeof (*self_p)->mesh_key);
    baton__cert_destroy (&(*self_p)->cert);
    baton__trust_destroy (&(*self_p)->trust);
    baton_arena_t *arena = (*self_p)->arena;
    baton_arena_destroy (&arena);
    *self_p = NULL;
}

const char *
baton_config_name (const baton_config_t *self)
{
    assert (self);
    return self->name;
}

const baton_config_gateway_t *
baton_config_gateway (const baton_config_t *self)
{
    assert (self);
    return &self->gateway;
}

const baton_config_limits_t *
baton_config_limits (const baton_config_t *self)
{
    assert (self);
    return &self->limits;
}

const baton_config_security_t *
baton_config_security (const baton_config_t *self)
{
    assert (self);
    return &self->security;
}

//  The first endpoint the gateway would bind or connect in plaintext on a
//  network, or NULL.
static const char *
s_exposed_endpoint (const baton_config_t *self)
{
    if (self->security.mode != BATON_SECURITY_NONE)
        return NULL;
    if (!baton_value_endpoint_is_local (self->gateway.reply))
        return self->gateway.reply;
    if (self->gateway.control && !baton_value_endpoint_is_local (self->gateway.control))
        return self->gateway.control;
    for (size_t f = 0; f < self->function_count; f++)
        for (size_t i = 0; i < self->functions[f].endpoint_count; i++)
            if (!baton_value_endpoint_is_local (self->functions[f].endpoints[i]))
                return self->functions[f].endpoints[i];
    return NULL;
}

int
baton_config_check_plaintext (const baton_config_t *self, char *err, size_t errlen)
{
    assert (self);
    const char *exposed = s_exposed_endpoint (self);
    if (!exposed)
        return 0;
    snprintf (err, errlen,
              "%s: %s is not on this machine and the mesh is plaintext: set security: {mode: "
              "curve, cert: ..., trust: ...}, or security: {mode: insecure} to accept plaintext "
              "on the network",
              self->name, exposed);
    return -1;
}

size_t
baton_config_function_count (const baton_config_t *self)
{
    assert (self);
    return self->function_count;
}

const baton_config_function_t *
baton_config_function (const baton_config_t *self, size_t index)
{
    assert (self);
    return index < self->function_count ? &self->functions[index] : NULL;
}

const baton_config_function_t *
baton_config_function_find (const baton_config_t *self, const char *name, size_t len)
{
    assert (self);
    if (!name || self->function_count == 0)
        return NULL;
    s_index_t key = {name, len, NULL};
    const s_index_t *hit =
        bsearch (&key, self->by_name, self->function_count, sizeof key, s_compare_index);
    return hit ? hit->function : NULL;
}

size_t
baton_config_route_count (const baton_config_t *self)
{
    assert (self);
    return self->route_count;
}

const baton_config_route_t *
baton_config_route (const baton_config_t *self, size_t index)
{
    assert (self);
    return index < self->route_count ? &self->routes[index] : NULL;
}

int
baton_config_function_set_endpoints (baton_config_t *self, size_t index, const char *const *eps,
                                     size_t n)
{
    assert (self);
    assert (eps || n == 0);
    if (index >= self->function_count || n > BATON_CONFIG_MAX_ENDPOINTS)
        return BATON_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!eps[i] || baton_value_endpoint (eps[i], strlen (eps[i]), false, NULL, 0) < 0)
            return BATON_EINVAL;
        for (size_t k = 0; k < i; k++)
            if (!strcmp (eps[k], eps[i]))
                return BATON_EINVAL; //  listed twice, as the file may not
    }
    const char **list = baton_arena_alloc (self->arena, (n ? n : 1) * sizeof *list);
    for (size_t i = 0; i < n; i++)
        list[i] = baton_arena_strndup (self->arena, eps[i], strlen (eps[i]));
    self->functions[index].endpoints = list;
    self->functions[index].endpoint_count = n;
    self->functions[index].placements = NULL;
    return 0;
}

int
baton_config_gateway_set_reply (baton_config_t *self, const char *endpoint)
{
    assert (self);
    if (!endpoint || baton_value_endpoint (endpoint, strlen (endpoint), true, NULL, 0) < 0)
        return BATON_EINVAL;
    if (self->gateway.control && !strcmp (self->gateway.control, endpoint))
        return BATON_EINVAL;
    self->gateway.reply = baton_arena_strndup (self->arena, endpoint, strlen (endpoint));
    self->gateway.reply_default = false;
    return 0;
}

int
baton_config_gateway_set_control (baton_config_t *self, const char *endpoint)
{
    assert (self);
    if (!endpoint || baton_value_endpoint (endpoint, strlen (endpoint), true, NULL, 0) < 0 ||
        !strcmp (self->gateway.reply, endpoint))
        return BATON_EINVAL;
    self->gateway.control = baton_arena_strndup (self->arena, endpoint, strlen (endpoint));
    return 0;
}

int
baton_config_set_security (baton_config_t *self, baton_security_mode_t mode, const char *cert,
                           const char *trust, char *err, size_t errlen)
{
    assert (self);
    bool curve = mode == BATON_SECURITY_CURVE;
    if (mode > BATON_SECURITY_INSECURE || curve != (cert && trust) || (!curve && (cert || trust))) {
        snprintf (err, errlen,
                  "security: mode curve takes a certificate and a trust store, and "
                  "only it does");
        return BATON_EINVAL;
    }
    baton_config_security_t before = self->security;
    baton_cert_t *c = NULL;
    baton_trust_t *t = NULL;
    int which;
    if (curve && s_load_keys (cert, trust, &c, &t, &which, err, errlen) < 0)
        return BATON_EINVAL;
    //  Keys are resolved against the new store; on failure the old one stays.
    self->security = (baton_config_security_t){
        mode,
        curve ? baton_arena_strndup (self->arena, cert, strlen (cert)) : NULL,
        curve ? baton_arena_strndup (self->arena, trust, strlen (trust)) : NULL,
        c,
        t,
        before.mesh_key_path,
        before.mesh_key};
    char why[BATON_CONFIG_MAX_ERROR];
    for (size_t f = 0; f < self->function_count; f++)
        if (s_function_key (self, &self->functions[f], why, sizeof why) < 0) {
            snprintf (err, errlen, "functions.%s: %s", self->functions[f].name, why);
            self->security = before;
            for (size_t k = 0; k < self->function_count; k++)
                s_function_key (self, &self->functions[k], why, sizeof why);
            baton__cert_destroy (&c);
            baton__trust_destroy (&t);
            return BATON_EINVAL;
        }
    s_set_security (self, mode, self->security.cert_path, self->security.trust_dir, c, t);
    return 0;
}

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

int
baton_config_set_mesh_key (baton_config_t *self, const char *path, char *err, size_t errlen)
{
    assert (self && path);
    const char *copy = baton_arena_strndup (self->arena, path, strlen (path));
    return s_load_mesh_key (self, copy, err, errlen) < 0 ? BATON_EINVAL : 0;
}

int
baton_config_gateway_set_admin_token_file (baton_config_t *self, const char *path, char *err,
                                           size_t errlen)
{
    assert (self && path);
    if (s_check_token_file (path, err, errlen) < 0)
        return BATON_EINVAL;
    self->gateway.admin_token_file = baton_arena_strndup (self->arena, path, strlen (path));
    return 0;
}

//  Rewrites addr's text for its host and a new port ("[::1]:0" for IPv6).
static void
s_set_port (baton_arena_t *arena, baton_config_addr_t *addr, uint16_t port)
{
    char text[INET6_ADDRSTRLEN + 256];
    bool v6 = strchr (addr->host, ':') != NULL;
    int n = snprintf (text, sizeof text, v6 ? "[%s]:%u" : "%s:%u", addr->host, (unsigned) port);
    addr->text = baton_arena_strndup (arena, text, n > 0 ? (size_t) n : 0);
    addr->port = port;
}

int
baton_config_gateway_set_ports (baton_config_t *self, int listen, int admin)
{
    assert (self);
    if (listen < -1 || listen > 65535 || admin < -1 || admin > 65535)
        return BATON_EINVAL;
    baton_config_gateway_t g = self->gateway;
    if (listen >= 0)
        g.listen.port = (uint16_t) listen;
    if (admin >= 0)
        g.admin.port = (uint16_t) admin;
    if (s_listeners_collide (&g))
        return BATON_EINVAL;
    if (listen >= 0)
        s_set_port (self->arena, &self->gateway.listen, (uint16_t) listen);
    if (admin >= 0)
        s_set_port (self->arena, &self->gateway.admin, (uint16_t) admin);
    return 0;
}
