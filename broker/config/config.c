/*  config.c - the gateway's YAML file (docs/gateway.md) read into a
 *  baton_config_t: the document's top level, the accessors and the setters.
 *  Each section is checked in sections.c or route.c.  */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "baton/errors.h"
#include "config/arena.h"
#include "config/config.h"
#include "config/schema_int.h"
#include "config/values.h"
#include "config/yamldoc.h"
#include "seal.h"

//  --------------------------------------------------------------------------
//  The document

static int
s_document (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *root)
{
    static const char *const keys[] = {"gateway", "limits", "functions", "routes", "security"};
    enum { GATEWAY, LIMITS, FUNCTIONS, ROUTES, SECURITY, NKEYS };
    const baton_yamldoc_node_t *v[NKEYS], *at[NKEYS];
    if (!root || root->null)
        return baton__cfg_fail_at (ctx, 1, 1, "routes",
                                   "the file is empty; at least one route is required");
    if (root->kind != BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (
            ctx, root, NULL,
            "the top level must be a mapping (gateway:, limits:, functions:, routes:)");
    if (baton__cfg_map (ctx, root, "", keys, NKEYS, v, at) < 0)
        return -1;
    //  Security before functions: their keys are checked against the store.
    if (baton__cfg_gateway (ctx, v[GATEWAY]) < 0 || baton__cfg_limits (ctx, v[LIMITS]) < 0 ||
        baton__cfg_security (ctx, v[SECURITY]) < 0 ||
        baton__cfg_functions (ctx, v[FUNCTIONS]) < 0 ||
        baton__cfg_routes (ctx, v[ROUTES], at[ROUTES], root) < 0)
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
    baton__cfg_defaults (self);
    baton__cfg_ctx_t ctx = {.name = self->name, .err = err, .errlen = errlen, .cfg = self};
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
    baton__cfg_index_t key = {name, len, NULL};
    const baton__cfg_index_t *hit =
        bsearch (&key, self->by_name, self->function_count, sizeof key, baton__cfg_compare_index);
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
    if (curve && baton__cfg_load_keys (cert, trust, &c, &t, &which, err, errlen) < 0)
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
        if (baton__cfg_function_key (self, &self->functions[f], why, sizeof why) < 0) {
            snprintf (err, errlen, "functions.%s: %s", self->functions[f].name, why);
            self->security = before;
            for (size_t k = 0; k < self->function_count; k++)
                baton__cfg_function_key (self, &self->functions[k], why, sizeof why);
            baton__cert_destroy (&c);
            baton__trust_destroy (&t);
            return BATON_EINVAL;
        }
    baton__cfg_set_security (self, mode, self->security.cert_path, self->security.trust_dir, c, t);
    return 0;
}

int
baton_config_set_mesh_key (baton_config_t *self, const char *path, char *err, size_t errlen)
{
    assert (self && path);
    const char *copy = baton_arena_strndup (self->arena, path, strlen (path));
    return baton__cfg_load_mesh_key (self, copy, err, errlen) < 0 ? BATON_EINVAL : 0;
}

int
baton_config_gateway_set_admin_token_file (baton_config_t *self, const char *path, char *err,
                                           size_t errlen)
{
    assert (self && path);
    if (baton__cfg_check_token_file (path, err, errlen) < 0)
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
    if (baton__cfg_listeners_collide (&g))
        return BATON_EINVAL;
    if (listen >= 0)
        s_set_port (self->arena, &self->gateway.listen, (uint16_t) listen);
    if (admin >= 0)
        s_set_port (self->arena, &self->gateway.admin, (uint16_t) admin);
    return 0;
}
