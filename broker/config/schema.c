/*  schema.c - the helpers every section of the gateway's schema checks its
 *  nodes with: messages that name file:line:column and the key, the node's
 *  kind, and one value's text through values.c (schema_int.h).  */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config/arena.h"
#include "config/schema_int.h"
#include "config/values.h"
#include "config/yamldoc.h"

//  --------------------------------------------------------------------------
//  Messages

int
baton__cfg_fail_at (baton__cfg_ctx_t *ctx, size_t line, size_t col, const char *key,
                    const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    baton_yamldoc_vfail (ctx->err, ctx->errlen, ctx->name, line, col, key, fmt, ap);
    va_end (ap);
    return -1;
}

int
baton__cfg_fail (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *at, const char *key,
                 const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    baton_yamldoc_vfail (ctx->err, ctx->errlen, ctx->name, at ? at->line : 0, at ? at->column : 0,
                         key, fmt, ap);
    va_end (ap);
    return -1;
}

const char *
baton__cfg_key (char *buf, size_t cap, const char *parent, const char *key)
{
    if (snprintf (buf, cap, "%s%s%s", parent, *parent ? "." : "", key) >= (int) cap)
        buf[cap - 1] = '\0';
    return buf;
}

const char *
baton__cfg_index (char *buf, size_t cap, const char *parent, size_t index)
{
    if (snprintf (buf, cap, "%s[%zu]", parent, index) >= (int) cap)
        buf[cap - 1] = '\0';
    return buf;
}

//  --------------------------------------------------------------------------
//  Schema helpers

const char *
baton__cfg_what (const baton_yamldoc_node_t *node)
{
    if (node->kind == BATON_YAMLDOC_SEQUENCE)
        return "a sequence";
    if (node->kind == BATON_YAMLDOC_MAPPING)
        return "a mapping";
    return "a string";
}

int
baton__cfg_map (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                const char *const *keys, size_t nkeys, const baton_yamldoc_node_t **vals,
                const baton_yamldoc_node_t **at)
{
    for (size_t i = 0; i < nkeys; i++)
        vals[i] = at[i] = NULL;
    if (!node || node->null)
        return 0;
    if (node->kind != BATON_YAMLDOC_MAPPING)
        return baton__cfg_fail (ctx, node, path, "expected a mapping, found %s",
                                baton__cfg_what (node));
    for (const baton_yamldoc_node_t *key = node->first; key; key = key->next->next) {
        const baton_yamldoc_node_t *val = key->next;
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
            return baton__cfg_fail (ctx, key, path, "unknown key %s (known keys: %s)",
                                    BATON__CFG_Q (q, key), known);
        }
        if (at[i])
            return baton__cfg_fail (ctx, key, path, "duplicate key %s (first at line %zu)",
                                    BATON__CFG_Q (q, key), at[i]->line);
        at[i] = key;
        vals[i] = val->null ? NULL : val;
    }
    return 0;
}

int
baton__cfg_scalar (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                   const char *what)
{
    if (node->kind != BATON_YAMLDOC_SCALAR)
        return baton__cfg_fail (ctx, node, path, "expected %s, found %s", what,
                                baton__cfg_what (node));
    return 0;
}

int
baton__cfg_seq (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                const char *what)
{
    if (node->kind != BATON_YAMLDOC_SEQUENCE)
        return baton__cfg_fail (ctx, node, path, "expected %s, found %s", what,
                                baton__cfg_what (node));
    return 0;
}

//  --------------------------------------------------------------------------
//  Values: the node's kind here, its text in values.c

int
baton__cfg_uint (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                 uint64_t min, uint64_t max, uint64_t *out)
{
    char why[BATON__CFG_WHY];
    if (baton__cfg_scalar (ctx, node, path, "a whole number") < 0)
        return -1;
    if (baton_value_uint (node->str, node->len, min, max, out, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, node, path, "%s", why);
    return 0;
}

int
baton__cfg_duration (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                     uint64_t min_ms, uint64_t *out)
{
    char why[BATON__CFG_WHY];
    if (baton__cfg_scalar (ctx, node, path, "a duration") < 0)
        return -1;
    if (baton_value_duration (node->str, node->len, min_ms, out, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, node, path, "%s", why);
    return 0;
}

int
baton__cfg_duration_in (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                        uint64_t min_ms, uint64_t max_ms, uint64_t *out)
{
    char q[80], a[32];
    if (baton__cfg_duration (ctx, node, path, min_ms, out) < 0)
        return -1;
    if (*out > max_ms)
        return baton__cfg_fail (ctx, node, path, "%s is longer than the maximum, %s",
                                BATON__CFG_Q (q, node),
                                baton_value_format_duration (max_ms, a, sizeof a));
    return 0;
}

int
baton__cfg_size (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                 uint64_t min, uint64_t max, uint64_t *out)
{
    char why[BATON__CFG_WHY];
    if (baton__cfg_scalar (ctx, node, path, "a size") < 0)
        return -1;
    if (baton_value_size (node->str, node->len, min, max, out, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, node, path, "%s", why);
    return 0;
}

int
baton__cfg_addr (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                 baton_config_addr_t *out)
{
    char why[BATON__CFG_WHY];
    size_t host_off, host_len;
    uint16_t port;
    if (baton__cfg_scalar (ctx, node, path, "host:port") < 0)
        return -1;
    if (baton_value_address (node->str, node->len, &host_off, &host_len, &port, why, sizeof why) <
        0)
        return baton__cfg_fail (ctx, node, path, "%s", why);
    baton_arena_t *arena = ctx->cfg->arena;
    out->text = baton_arena_strndup (arena, node->str, node->len);
    out->host = baton_arena_strndup (arena, node->str + host_off, host_len);
    out->port = port;
    return 0;
}

int
baton__cfg_endpoint (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                     bool bind, const char **out)
{
    char why[BATON__CFG_WHY];
    if (baton__cfg_scalar (ctx, node, path, "a ZeroMQ endpoint") < 0)
        return -1;
    if (baton_value_endpoint (node->str, node->len, bind, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, node, path, "%s", why);
    *out = baton_arena_strndup (ctx->cfg->arena, node->str, node->len);
    return 0;
}

int
baton__cfg_label (baton__cfg_ctx_t *ctx, const baton_yamldoc_node_t *node, const char *path,
                  const char *what, const char **out)
{
    char why[BATON__CFG_WHY];
    if (baton__cfg_scalar (ctx, node, path, what) < 0)
        return -1;
    if (baton_value_label (node->str, node->len, what, why, sizeof why) < 0)
        return baton__cfg_fail (ctx, node, path, "%s", why);
    *out = baton_arena_strndup (ctx->cfg->arena, node->str, node->len);
    return 0;
}
