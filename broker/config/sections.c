/*  sections.c - the sections gateway:, limits:, security: and functions: of
 *  the gateway's file (docs/gateway.md), their defaults, and the files they
 *  name: certificates, the mesh key, the admin token.  */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config/arena.h"
#include "config/config.h"
#include "config/schema_int.h"
#include "config/values.h"
#include "config/yamldoc.h"
#include "seal.h"

#define S_MIB ((uint64_t) 1024 * 1024)
#define S_GIB (S_MIB * 1024)

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

int
baton__cfg_check_token_file (const char *path, char *why, size_t whylen)
{
    char token[BATON_CONFIG_MAX_TOKEN_FILE + 1];
    int rc = baton_config_read_token (path, token, sizeof token, why, whylen);
    s_wipe (token, sizeof token);
    return rc < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Sections

void
baton__cfg_defaults (baton_config_t *cfg)
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

bool
baton__cfg_listeners_collide (const baton_config_gateway_t *g)
{
    return g->listen.port == g->admin.port && g->listen.port != 0 &&
           (!strcmp (g->listen.host, g->admin.host) || s_wildcard_host (g->listen.host) ||
            s_wildcard_host (g->admin.host));
}

int
baton__cfg_gateway (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node)
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
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    baton_config_gateway_t *g = &ctx->cfg->gateway;
    uint64_t n;
    if (baton__cfg_map (ctx, node, "gateway", keys, NKEYS, v, at) < 0)
        return -1;
    if (v[LISTEN] && baton__cfg_addr (ctx, v[LISTEN], "gateway.listen", &g->listen) < 0)
        return -1;
    if (v[ADMIN] && baton__cfg_addr (ctx, v[ADMIN], "gateway.admin", &g->admin) < 0)
        return -1;
    if (v[REPLY] && baton__cfg_endpoint (ctx, v[REPLY], "gateway.reply", true, &g->reply) < 0)
        return -1;
    if (v[REPLY])
        g->reply_default = false;
    if (v[CONTROL] &&
        baton__cfg_endpoint (ctx, v[CONTROL], "gateway.control", true, &g->control) < 0)
        return -1;
    if (v[DEADLINE] &&
        baton__cfg_duration (ctx, v[DEADLINE], "gateway.deadline", 1, &g->deadline_ms) < 0)
        return -1;
    if (v[MAX_INFLIGHT]) {
        if (baton__cfg_uint (ctx, v[MAX_INFLIGHT], "gateway.max_inflight", 1, 1000000, &n) < 0)
            return -1;
        g->max_inflight = (uint32_t) n;
    }
    if (v[DRAIN] && baton__cfg_duration (ctx, v[DRAIN], "gateway.drain", 0, &g->drain_ms) < 0)
        return -1;
    if (v[MAX_BUDGET]) {
        if (baton__cfg_uint (ctx, v[MAX_BUDGET], "gateway.max_budget", 1, BATON_CONFIG_MAX_BUDGET,
                             &n) < 0)
            return -1;
        g->max_budget = (uint32_t) n;
    }
    if (v[HEARTBEAT_MISSES]) {
        if (baton__cfg_uint (ctx, v[HEARTBEAT_MISSES], "gateway.heartbeat_misses", 1, 100, &n) < 0)
            return -1;
        g->heartbeat_misses = (uint32_t) n;
    }
    if (v[PROBE_TIMEOUT] && baton__cfg_duration_in (ctx, v[PROBE_TIMEOUT], "gateway.probe_timeout",
                                                    1, 60000, &g->probe_timeout_ms) < 0)
        return -1;
    //  At most a second: an ejected replica is back within a second of healing.
    if (v[PROBE_INTERVAL] &&
        baton__cfg_duration_in (ctx, v[PROBE_INTERVAL], "gateway.probe_interval", 10, 1000,
                                &g->probe_interval_ms) < 0)
        return -1;
    if (v[ADMIN_TOKEN_FILE]) {
        char why[BATON_CONFIG_MAX_ERROR];
        const baton_yamldoc_node_t *file = v[ADMIN_TOKEN_FILE];
        if (baton__cfg_scalar (ctx, file, "gateway.admin_token_file", "a path") < 0)
            return -1;
        g->admin_token_file = s_resolve_path (ctx->cfg, file->str, file->len);
        if (baton__cfg_check_token_file (g->admin_token_file, why, sizeof why) < 0)
            return baton__cfg_fail (ctx, file, "gateway.admin_token_file", "%s", why);
    }
    if (v[ZONE] && baton__cfg_label (ctx, v[ZONE], "gateway.zone", "a zone", &g->zone) < 0)
        return -1;
    if (v[ZONE_SPILL_AT]) {
        if (baton__cfg_uint (ctx, v[ZONE_SPILL_AT], "gateway.zone_spill_at", 1, 1000000, &n) < 0)
            return -1;
        g->zone_spill_at = (uint32_t) n;
    }

    if (baton__cfg_listeners_collide (g)) {
        const baton_yamldoc_node_t *at_node = v[ADMIN] ? v[ADMIN] : v[LISTEN];
        return baton__cfg_fail (ctx, at_node, v[ADMIN] ? "gateway.admin" : "gateway.listen",
                                "the admin listener (%s) must differ from the public one (%s)",
                                g->admin.text, g->listen.text);
    }
    if (g->control && !strcmp (g->control, g->reply)) {
        return baton__cfg_fail (ctx, v[CONTROL], "gateway.control",
                                "the control endpoint must differ from gateway.reply (%s)",
                                g->reply);
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

int
baton__cfg_load_keys (const char *path, const char *dir, baton_cert_t **cert_p,
                      baton_trust_t **trust_p, int *which, char *why, size_t whylen)
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

void
baton__cfg_set_security (baton_config_t *cfg, baton_security_mode_t mode, const char *cert_path,
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

int
baton__cfg_load_mesh_key (baton_config_t *cfg, const char *path, char *why, size_t whylen)
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

int
baton__cfg_security (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node)
{
    static const char *const keys[] = {"mode", "cert", "trust", "mesh_key"};
    enum { MODE, CERT, TRUST, MESH_KEY, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    char q[80], why[BATON_CERT_ERROR_MAX];
    if (!node)
        return 0;
    if (baton__cfg_map (ctx, node, "security", keys, NKEYS, v, at) < 0)
        return -1;
    if (v[MESH_KEY]) {
        const baton_yamldoc_node_t *file = v[MESH_KEY];
        if (baton__cfg_scalar (ctx, file, "security.mesh_key", "a path") < 0)
            return -1;
        if (baton__cfg_load_mesh_key (ctx->cfg, s_resolve_path (ctx->cfg, file->str, file->len),
                                      why, sizeof why) < 0)
            return baton__cfg_fail (ctx, file, "security.mesh_key", "%s", why);
    }
    if (!v[MODE])
        return baton__cfg_fail (ctx, at[MODE] ? at[MODE] : node, "security.mode",
                                "set mode: curve (or mode: insecure for plaintext on the network)");
    if (baton__cfg_scalar (ctx, v[MODE], "security.mode", "curve or insecure") < 0)
        return -1;
    bool curve = v[MODE]->len == 5 && !memcmp (v[MODE]->str, "curve", 5);
    if (!curve && !(v[MODE]->len == 8 && !memcmp (v[MODE]->str, "insecure", 8)))
        return baton__cfg_fail (ctx, v[MODE], "security.mode", "%s: expected curve or insecure",
                                BATON__CFG_Q (q, v[MODE]));
    if (!curve) {
        if (v[CERT] || v[TRUST])
            return baton__cfg_fail (ctx, v[CERT] ? at[CERT] : at[TRUST],
                                    v[CERT] ? "security.cert" : "security.trust",
                                    "keys are only for mode: curve");
        baton__cfg_set_security (ctx->cfg, BATON_SECURITY_INSECURE, NULL, NULL, NULL, NULL);
        return 0;
    }
    for (int k = CERT; k <= TRUST; k++) {
        const char *key = k == CERT ? "security.cert" : "security.trust";
        if (!v[k])
            return baton__cfg_fail (
                ctx, at[k] ? at[k] : node, key,
                k == CERT ? "mode: curve needs the gateway's secret certificate "
                            "(cert: NAME.key_secret)"
                          : "mode: curve needs the trust store's directory (trust: DIR)");
        if (baton__cfg_scalar (ctx, v[k], key, "a path") < 0)
            return -1;
    }
    const char *cert_path = s_resolve_path (ctx->cfg, v[CERT]->str, v[CERT]->len);
    const char *trust_dir = s_resolve_path (ctx->cfg, v[TRUST]->str, v[TRUST]->len);
    baton_cert_t *cert;
    baton_trust_t *trust;
    int which;
    if (baton__cfg_load_keys (cert_path, trust_dir, &cert, &trust, &which, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, which ? v[TRUST] : v[CERT],
                                which ? "security.trust" : "security.cert", "%s", why);
    baton__cfg_set_security (ctx->cfg, BATON_SECURITY_CURVE, cert_path, trust_dir, cert, trust);
    return 0;
}

int
baton__cfg_function_key (baton_config_t *cfg, baton_config_function_t *f, char *why, size_t whylen)
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

int
baton__cfg_limits (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node)
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
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    baton_config_limits_t *l = &ctx->cfg->limits;
    uint64_t n;
    if (baton__cfg_map (ctx, node, "limits", keys, NKEYS, v, at) < 0)
        return -1;
    if (v[REQUEST_LINE]) {
        if (baton__cfg_size (ctx, v[REQUEST_LINE], "limits.request_line", 64, S_MIB, &n) < 0)
            return -1;
        l->request_line = (size_t) n;
    }
    if (v[HEADER_BLOCK]) {
        if (baton__cfg_size (ctx, v[HEADER_BLOCK], "limits.header_block", 64, S_MIB, &n) < 0)
            return -1;
        l->header_block = (size_t) n;
    }
    if (v[HEADER_COUNT]) {
        if (baton__cfg_uint (ctx, v[HEADER_COUNT], "limits.header_count", 1, 10000, &n) < 0)
            return -1;
        l->header_count = (size_t) n;
    }
    if (v[BODY]) {
        if (baton__cfg_size (ctx, v[BODY], "limits.body", 0, S_GIB, &n) < 0)
            return -1;
        l->body = (size_t) n;
    }
    if (v[HEADER_TIMEOUT] && baton__cfg_duration (ctx, v[HEADER_TIMEOUT], "limits.header_timeout",
                                                  1, &l->header_timeout_ms) < 0)
        return -1;
    if (v[BODY_TIMEOUT] && baton__cfg_duration (ctx, v[BODY_TIMEOUT], "limits.body_timeout", 1,
                                                &l->body_timeout_ms) < 0)
        return -1;
    if (v[IDLE_TIMEOUT] && baton__cfg_duration (ctx, v[IDLE_TIMEOUT], "limits.idle_timeout", 1,
                                                &l->idle_timeout_ms) < 0)
        return -1;
    if (v[REQUESTS]) {
        if (baton__cfg_uint (ctx, v[REQUESTS], "limits.requests_per_connection", 1, 1000000000,
                             &n) < 0)
            return -1;
        l->requests_per_connection = (uint32_t) n;
    }
    return 0;
}

int
baton__cfg_compare_index (const void *pa, const void *pb)
{
    const baton__cfg_index_t *a = pa, *b = pb;
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
s_endpoint_entry (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *e, const char *path,
                  const char **ep, const baton_yamldoc_node_t **ep_node,
                  baton_config_placement_t *place, bool *mapped)
{
    static const char *const keys[] = {"endpoint", "version", "zone"};
    enum { ENDPOINT, VERSION, ZONE, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    char sub[BATON__CFG_PATH];
    *place = (baton_config_placement_t){"", ""};
    *ep_node = e;
    if (e->kind != BATON_YAMLDOC_MAPPING || e->null)
        return baton__cfg_endpoint (ctx, e, path, false, ep);
    *mapped = true;
    if (baton__cfg_map (ctx, e, path, keys, NKEYS, v, at) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "endpoint");
    if (!v[ENDPOINT])
        return baton__cfg_fail (ctx, at[ENDPOINT] ? at[ENDPOINT] : e, sub,
                                "an endpoint written as a mapping needs endpoint: tcp://host:port");
    *ep_node = v[ENDPOINT];
    if (baton__cfg_endpoint (ctx, v[ENDPOINT], sub, false, ep) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "version");
    if (v[VERSION] && baton__cfg_label (ctx, v[VERSION], sub, "a version", &place->version) < 0)
        return -1;
    baton__cfg_key (sub, sizeof sub, path, "zone");
    if (v[ZONE] && baton__cfg_label (ctx, v[ZONE], sub, "a zone", &place->zone) < 0)
        return -1;
    return 0;
}

static int
s_function (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *at_name,
            const baton_yamldoc_node_t *val, baton_config_function_t *f)
{
    static const char *const keys[] = {"endpoints", "run", "replicas", "key"};
    enum { ENDPOINTS, RUN, REPLICAS, KEY, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    baton_arena_t *arena = ctx->cfg->arena;
    char path[BATON__CFG_PATH], sub[BATON__CFG_PATH], item[BATON__CFG_PATH], q[80];
    baton__cfg_key (path, sizeof path, "functions", f->name);
    if (baton__cfg_map (ctx, val, path, keys, NKEYS, v, at) < 0)
        return -1;
    f->replicas = 1;
    if (v[ENDPOINTS]) {
        const baton_yamldoc_node_t *eps = v[ENDPOINTS];
        baton__cfg_key (sub, sizeof sub, path, "endpoints");
        if (baton__cfg_seq (ctx, eps, sub, "a sequence of ZeroMQ endpoints") < 0)
            return -1;
        if (eps->count > BATON_CONFIG_MAX_ENDPOINTS)
            return baton__cfg_fail (ctx, eps, sub, "more than %d endpoints",
                                    BATON_CONFIG_MAX_ENDPOINTS);
        size_t n = eps->count ? eps->count : 1;
        const char **list = baton_arena_alloc (arena, n * sizeof *list);
        baton_config_placement_t *places = baton_arena_alloc (arena, n * sizeof *places);
        bool mapped = false;
        size_t i = 0;
        for (const baton_yamldoc_node_t *e = eps->first; e; e = e->next, i++) {
            const baton_yamldoc_node_t *ep;
            baton__cfg_index (item, sizeof item, sub, i);
            if (s_endpoint_entry (ctx, e, item, &list[i], &ep, &places[i], &mapped) < 0)
                return -1;
            size_t k = 0;
            for (const baton_yamldoc_node_t *prev = eps->first; k < i; prev = prev->next, k++)
                if (!strcmp (list[k], list[i]))
                    return baton__cfg_fail (ctx, ep, item, "%s is listed twice (first at line %zu)",
                                            BATON__CFG_Q (q, ep), prev->line);
        }
        f->endpoints = list;
        f->endpoint_count = eps->count;
        f->placements = mapped ? places : NULL;
    }
    if (v[RUN]) {
        baton__cfg_key (sub, sizeof sub, path, "run");
        if (baton__cfg_scalar (ctx, v[RUN], sub, "a command") < 0)
            return -1;
        f->run = baton_arena_strndup (arena, v[RUN]->str, v[RUN]->len);
    }
    if (v[REPLICAS]) {
        uint64_t n;
        baton__cfg_key (sub, sizeof sub, path, "replicas");
        if (baton__cfg_uint (ctx, v[REPLICAS], sub, 1, BATON_CONFIG_MAX_REPLICAS, &n) < 0)
            return -1;
        if (!v[RUN])
            return baton__cfg_fail (ctx, v[REPLICAS], sub,
                                    "replicas only counts what baton dev starts; it needs run:");
        f->replicas = (uint32_t) n;
    }
    char why[BATON_CONFIG_MAX_ERROR];
    if (v[KEY]) {
        baton__cfg_key (sub, sizeof sub, path, "key");
        if (baton__cfg_scalar (ctx, v[KEY], sub, "a CURVE public key") < 0)
            return -1;
        if (baton__key_from_z85 (v[KEY]->str, v[KEY]->len, NULL) != 0)
            return baton__cfg_fail (ctx, v[KEY], sub,
                                    "%s: not a CURVE public key (40 characters of Z85)",
                                    BATON__CFG_Q (q, v[KEY]));
        f->key_z85 = baton_arena_strndup (arena, v[KEY]->str, v[KEY]->len);
    }
    if (baton__cfg_function_key (ctx->cfg, f, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, v[KEY] ? v[KEY] : at_name, v[KEY] ? sub : path, "%s", why);
    return 0;
}

int
baton__cfg_functions (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node)
{
    baton_config_t *cfg = ctx->cfg;
    if (!node)
        return 0;
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (ctx, node, "functions",
                                "expected a mapping of function names, found %s",
                                baton__cfg_what (node));
    size_t count = node->count / 2;
    if (count > BATON_CONFIG_MAX_FUNCTIONS)
        return baton__cfg_fail (ctx, node, "functions", "more than %d functions",
                                BATON_CONFIG_MAX_FUNCTIONS);
    cfg->functions = baton_arena_alloc (cfg->arena, (count ? count : 1) * sizeof *cfg->functions);
    cfg->by_name = baton_arena_alloc (cfg->arena, (count ? count : 1) * sizeof *cfg->by_name);
    size_t i = 0;
    for (const baton_yamldoc_node_t *key = node->first; key; key = key->next->next, i++) {
        char q[80], why[BATON__CFG_WHY];
        if (baton_value_function_name (key->str, key->len, why, sizeof why) < 0)
            return baton__cfg_fail (ctx, key, "functions", "%s", why);
        for (size_t k = 0; k < i; k++)
            if (!strcmp (cfg->functions[k].name, key->str))
                return baton__cfg_fail (ctx, key, "functions",
                                        "duplicate key %s (first at line %zu)",
                                        BATON__CFG_Q (q, key), cfg->functions[k].line);
        baton_config_function_t *f = &cfg->functions[i];
        f->name = baton_arena_strndup (cfg->arena, key->str, key->len);
        f->index = i;
        f->line = key->line;
        cfg->function_count = i + 1;
        if (s_function (ctx, key, key->next, f) < 0)
            return -1;
    }
    for (size_t k = 0; k < count; k++)
        cfg->by_name[k] = (baton__cfg_index_t){cfg->functions[k].name,
                                               strlen (cfg->functions[k].name), &cfg->functions[k]};
    qsort (cfg->by_name, count, sizeof *cfg->by_name, baton__cfg_compare_index);
    return 0;
}
