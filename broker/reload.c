/*  reload.c - hot reload: the config generations (each kept while requests
 *  hold it), what only a restart changes, the swap between two loop turns,
 *  and /-/config. Plus the checks the gateway makes of a config beyond
 *  `baton check`, at start and at every reload. Rules: docs/gateway.md,
 *  "Reloading".  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "admin/json.h"
#include "gateway_int.h"

//  SHA-256 of the len bytes at data, as 64 hex digits.
static void
s_sha256_hex (const unsigned char *data, size_t len, char hex[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, data, len);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
}

//  The bytes of the file at path (at most BATON_CONFIG_MAX_FILE), into a new
//  buffer of *len_p bytes; NULL if it cannot be read whole.
char *
baton__gw_read_file (const char *path, size_t *len_p)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = (char *) malloc (BATON_CONFIG_MAX_FILE + 1);
    size_t len = 0;
    while (buf && len <= BATON_CONFIG_MAX_FILE) {
        ssize_t n = read (fd, buf + len, BATON_CONFIG_MAX_FILE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                len = BATON_CONFIG_MAX_FILE + 1;
            break;
        }
        len += (size_t) n;
    }
    close (fd);
    if (len > BATON_CONFIG_MAX_FILE) {
        free (buf);
        return NULL;
    }
    *len_p = len;
    return buf;
}

//  A generation for config (owned: the gateway's to destroy, or NULL) read
//  from len bytes of data (NULL: not known), held by the gateway, first in
//  the list of generations. Aborts when out of memory.
baton__gen_t *
baton__gw_gen_new (baton_gateway_t *gw, const baton_config_t *config, baton_config_t *owned,
                   const char *data, size_t len)
{
    baton__gen_t *g = (baton__gen_t *) calloc (1, sizeof *g);
    if (!g)
        abort ();
    g->owned = owned;
    g->config = config;
    g->routes = baton_routes_new (config);
    g->number = gw->gen ? gw->gen->number + 1 : 1;
    if (data)
        s_sha256_hex ((const unsigned char *) data, len, g->sha256);
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (g->loaded_at, sizeof g->loaded_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    g->refs = 1;
    g->next = gw->gen;
    if (gw->gen)
        gw->gen->prev = g;
    return g;
}

void
baton__gw_gen_destroy (baton__gen_t **gen_p)
{
    baton_routes_destroy (&(*gen_p)->routes);
    baton_config_destroy (&(*gen_p)->owned);
    free (*gen_p);
    *gen_p = NULL;
}

//  Lets go of *gen_p (may be NULL), which is then NULL: the generation goes
//  when nobody holds it.
void
baton__gw_gen_release (baton_gateway_t *gw, baton__gen_t **gen_p)
{
    baton__gen_t *g = *gen_p;
    *gen_p = NULL;
    if (!g || --g->refs > 0)
        return;
    if (g->prev)
        g->prev->next = g->next;
    if (g->next)
        g->next->prev = g->prev;
    if (gw->gen == g)
        gw->gen = g->next;
    baton__gw_gen_destroy (&g);
}

static bool
s_same_str (const char *a, const char *b)
{
    return a == b || (a && b && strcmp (a, b) == 0);
}

static bool
s_same_addr (const baton_config_addr_t *a, const baton_config_addr_t *b)
{
    return a->port == b->port && strcmp (a->host, b->host) == 0;
}

//  Names in err (cap bytes) the keys whose value differs between a (in
//  force) and b that only a restart can change: the listeners and sockets
//  bound at start, the mesh's security, the limits the connections and the
//  reply socket are sized by, the probes' timing. Returns how many.
static size_t
s_restart_keys (const baton_config_t *a, const baton_config_t *b, char *err, size_t cap)
{
    const baton_config_gateway_t *ga = baton_config_gateway (a), *gb = baton_config_gateway (b);
    const baton_config_limits_t *la = baton_config_limits (a), *lb = baton_config_limits (b);
    const baton_config_security_t *sa = baton_config_security (a), *sb = baton_config_security (b);
    const struct {
        const char *key;
        bool changed;
    } keys[] = {
        {"gateway.listen", !s_same_addr (&ga->listen, &gb->listen)},
        {"gateway.admin", !s_same_addr (&ga->admin, &gb->admin)},
        {"gateway.reply", !s_same_str (ga->reply, gb->reply)},
        {"gateway.control", !s_same_str (ga->control, gb->control)},
        {"security.mode", sa->mode != sb->mode},
        {"security.cert", !s_same_str (sa->cert_path, sb->cert_path)},
        {"security.trust", !s_same_str (sa->trust_dir, sb->trust_dir)},
        //  The functions hold the mesh key from their start: a new one would
        //  break every seal they check.
        {"security.mesh_key",
         !s_same_str (sa->mesh_key_path, sb->mesh_key_path) ||
             (sa->mesh_key && sb->mesh_key &&
              memcmp (sa->mesh_key, sb->mesh_key, BATON_CONFIG_MESH_KEY_SIZE) != 0)},
        //  The reply socket is sized by it (the other limits reload: they
        //  hold for the connections accepted after).
        {"limits.body", la->body != lb->body},
    };
    char list[sizeof keys / sizeof keys[0] * 32] = "";
    size_t n = 0, at = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].changed) {
            int w = snprintf (list + at, sizeof list - at, "%s%s", n++ ? ", " : "", keys[i].key);
            at += w > 0 ? (size_t) w : 0;
        }
    if (n)
        snprintf (err, cap, "%.300s: only a restart changes %s: nothing changed",
                  baton_config_name (b), list);
    return n;
}

//  Puts config (loaded from len bytes of data) in force: a new generation;
//  the one before stays while requests hold it.
static void
s_swap (baton_gateway_t *gw, baton_config_t *config, const char *data, size_t len)
{
    baton__gen_t *old = gw->gen;
    gw->gen = baton__gw_gen_new (gw, config, config, data, len);
    gw->config = config;
    gw->gcfg = baton_config_gateway (config);
    gw->routes = gw->gen->routes;
    baton_topology_opts_t topo_opts = {gw->gcfg->heartbeat_misses};
    baton_topology_reconfigure (gw->topo, config, &topo_opts);
    baton_conns_set_limits (gw->conns, baton_config_limits (config));
    baton__gw_connect_replicas (gw, NULL, 0);
    baton_metrics_reconfigure (gw->metrics, config, gw->gen->number);
    baton__gw_gen_release (gw, &old);
    gw->last_error[0] = '\0';
    if (gw->on_reload)
        gw->on_reload (gw->on_reload_arg, config);
}

baton_reload_result_t
baton_gateway_reload (baton_gateway_t *self, char *err, size_t cap)
{
    char why[BATON_CONFIG_MAX_ERROR];
    size_t len = 0;
    //  The bytes are read once: what is checked is what is hashed. A file
    //  that cannot be read is left to the loader, for `baton check`'s words.
    char *data = baton__gw_read_file (self->path, &len);
    baton_config_t *config = data ? baton_config_parse (data, len, self->path, why, sizeof why)
                                  : baton_config_load (self->path, why, sizeof why);
    if (config && !data) {
        baton_config_destroy (&config);
        snprintf (why, sizeof why, "%.900s: changed while it was read: reload again", self->path);
    }
    baton_reload_result_t result = BATON_RELOAD_OK;
    if (!config || baton__gw_check_config (config, false, why, sizeof why) < 0)
        result = BATON_RELOAD_INVALID;
    else if (s_restart_keys (self->config, config, why, sizeof why) > 0)
        result = BATON_RELOAD_RESTART_REQUIRED;
    baton_metrics_config_reload (self->metrics, result);
    if (result == BATON_RELOAD_OK) {
        s_swap (self, config, data, len);
        baton__log (BATON_LOG_INFO, S_COMP, "config reloaded",
                    "generation=%" PRIu64 " sha256=%s routes=%zu functions=%zu", self->gen->number,
                    self->gen->sha256, baton_config_route_count (config),
                    baton_config_function_count (config));
        if (cap)
            err[0] = '\0';
    } else {
        baton_config_destroy (&config);
        snprintf (self->last_error, sizeof self->last_error, "%s", why);
        char quoted[2 * BATON_CONFIG_MAX_ERROR];
        baton__log (BATON_LOG_WARN, S_COMP,
                    result == BATON_RELOAD_INVALID ? "reload refused: invalid config"
                                                   : "reload refused: restart required",
                    "error=%s", baton__log_quote (quoted, sizeof quoted, why, strlen (why)));
        snprintf (err, cap, "%s", why);
    }
    free (data);
    return result;
}

void
baton_gateway_on_reload (baton_gateway_t *self, baton_gateway_reload_fn fn, void *arg)
{
    self->on_reload = fn;
    self->on_reload_arg = arg;
}

uint64_t
baton_gateway_generation (const baton_gateway_t *self)
{
    return self->gen->number;
}

const char *
baton_gateway_sha256 (const baton_gateway_t *self)
{
    return self->gen->sha256;
}

char *
baton_gateway_config_json (const baton_gateway_t *self, size_t *len_p)
{
    const baton__gen_t *g = self->gen;
    size_t held = 0;
    for (const baton__gen_t *o = g->next; o; o = o->next)
        held++;
    baton_text_t t = {NULL, 0, 0};
    baton_text_fmt (&t, "{\"generation\":%" PRIu64 ",\"sha256\":", g->number);
    if (g->sha256[0])
        baton_json_str (&t, g->sha256);
    else
        baton_text_lit (&t, "null");
    baton_text_lit (&t, ",\"path\":");
    baton_json_str (&t, self->path);
    baton_text_lit (&t, ",\"loaded_at\":");
    baton_json_str (&t, g->loaded_at);
    baton_text_fmt (&t,
                    ",\"reloads\":{\"ok\":%" PRIu64 ",\"invalid\":%" PRIu64
                    ",\"restart_required\":%" PRIu64 "},\"routes\":%zu,\"functions\":%zu"
                    ",\"held_generations\":%zu,\"last_error\":",
                    baton_metrics_reloads (self->metrics, BATON_RELOAD_OK),
                    baton_metrics_reloads (self->metrics, BATON_RELOAD_INVALID),
                    baton_metrics_reloads (self->metrics, BATON_RELOAD_RESTART_REQUIRED),
                    baton_config_route_count (self->config),
                    baton_config_function_count (self->config), held);
    if (self->last_error[0])
        baton_json_str (&t, self->last_error);
    else
        baton_text_lit (&t, "null");
    baton_text_lit (&t, "}\n");
    *len_p = t.len;
    return t.data;
}

//  --- checks the gateway makes beyond `baton check` --------------------------------

//  Without a control endpoint no replica can announce itself: a route whose
//  function has no static endpoint could only ever answer 503.
static int
s_check_endpoints (const baton_config_t *config, char *err, size_t errlen)
{
    for (size_t i = 0;
         !baton_config_gateway (config)->control && i < baton_config_route_count (config); i++) {
        const baton_config_route_t *r = baton_config_route (config, i);
        for (size_t k = 0; k < r->chain_len; k++)
            if (r->chain[k]->endpoint_count == 0) {
                snprintf (
                    err, errlen,
                    "%s:%zu: route %s: function %s has no endpoints (set functions.%s.endpoints, "
                    "or gateway.control for replicas to announce themselves)",
                    baton_config_name (config), r->line, r->path, r->chain[k]->name,
                    r->chain[k]->name);
                return -1;
            }
    }
    return 0;
}

//  Who may speak on the mesh: a plaintext mesh only on this machine, unless
//  the config says insecure; with CURVE, a key for every static replica.
//  With say (at start), logs which it is when it is not CURVE.
static int
s_check_security (const baton_config_t *config, bool say, char *err, size_t errlen)
{
    const baton_config_security_t *sec = baton_config_security (config);
    if (baton_config_check_plaintext (config, err, errlen) < 0)
        return -1;
    for (size_t f = 0;
         sec->mode == BATON_SECURITY_CURVE && f < baton_config_function_count (config); f++) {
        const baton_config_function_t *fn = baton_config_function (config, f);
        if (fn->endpoint_count > 0 && !fn->key) {
            snprintf (err, errlen,
                      "%s: function %s: no key for its static endpoints in the trust store %s "
                      "(one %s.key, or functions.%s.key)",
                      baton_config_name (config), fn->name, sec->trust_dir, fn->name, fn->name);
            return -1;
        }
    }
    if (!say)
        return 0;
    if (sec->mode == BATON_SECURITY_INSECURE)
        baton__log (BATON_LOG_WARN, S_COMP,
                    "security: mode insecure: the mesh is plaintext, on any address: anyone who "
                    "reaches its endpoints can read, forge and join",
                    NULL);
    else if (sec->mode == BATON_SECURITY_NONE)
        baton__log (BATON_LOG_WARN, S_COMP,
                    "no security section: the mesh is plaintext, on this machine only (set "
                    "security: {mode: curve, ...})",
                    NULL);
    return 0;
}

int
baton__gw_check_config (const baton_config_t *config, bool say, char *err, size_t errlen)
{
    if (s_check_endpoints (config, err, errlen) < 0 ||
        s_check_security (config, say, err, errlen) < 0)
        return -1;
    return 0;
}
