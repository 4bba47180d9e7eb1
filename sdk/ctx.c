/*  ctx.c - what a handler sees of its envelope: the request, the flowing
 *  message, meta, its place in the route, and the three ways to end a hop.
 *  Also the application/problem+json bodies of every error the SDK sends.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "status.h"
#include "clock.h"
#include "ctx.h"

//  --- request ------------------------------------------------------------------

baton_slice_t
baton_ctx_method (const baton_ctx_t *ctx)
{
    return baton_envelope_request_method (ctx->env);
}

baton_slice_t
baton_ctx_target (const baton_ctx_t *ctx)
{
    return baton_envelope_request_target (ctx->env);
}

//  Splits the target into path and query. Origin-form ("/p?q") is what the
//  gateway sends; absolute-form ("http://h/p?q") has its scheme and authority
//  skipped.
static void
s_split_target (const baton_ctx_t *ctx, baton_slice_t *path, baton_slice_t *query)
{
    baton_slice_t t = baton_envelope_request_target (ctx->env);
    const char *end = t.ptr + t.len;
    const char *p = t.ptr;
    if (t.len && *p != '/') {
        const char *scheme = NULL;
        for (const char *s = p; s + 2 < end; s++)
            if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
                scheme = s + 3;
                break;
            }
        if (scheme) {
            p = scheme;
            while (p < end && *p != '/' && *p != '?')
                p++;
        }
    }
    const char *q = (const char *) memchr (p, '?', (size_t) (end - p));
    path->ptr = p;
    path->len = (size_t) ((q ? q : end) - p);
    query->ptr = q ? q + 1 : end;
    query->len = q ? (size_t) (end - q - 1) : 0;
}

baton_slice_t
baton_ctx_path (const baton_ctx_t *ctx)
{
    baton_slice_t path, query;
    s_split_target (ctx, &path, &query);
    return path;
}

baton_slice_t
baton_ctx_query (const baton_ctx_t *ctx)
{
    baton_slice_t path, query;
    s_split_target (ctx, &path, &query);
    return query;
}

bool
baton_ctx_request_header_find (const baton_ctx_t *ctx, const char *name, baton_slice_t *value)
{
    return name && baton_envelope_request_header_find (ctx->env, name, strlen (name), value);
}

size_t
baton_ctx_request_header_count (const baton_ctx_t *ctx)
{
    return baton_envelope_request_header_count (ctx->env);
}

baton_header_t
baton_ctx_request_header (const baton_ctx_t *ctx, size_t i)
{
    return baton_envelope_request_header (ctx->env, i);
}

//  --- message ------------------------------------------------------------------

unsigned
baton_ctx_status (const baton_ctx_t *ctx)
{
    return baton_envelope_status (ctx->env);
}

int
baton_ctx_set_status (baton_ctx_t *ctx, unsigned status)
{
    if (status < 100 || status > 999)
        return BATON_EINVAL;
    baton_envelope_set_status (ctx->env, status);
    return 0;
}

baton_slice_t
baton_ctx_body (const baton_ctx_t *ctx)
{
    return baton_envelope_body (ctx->env);
}

int
baton_ctx_set_body (baton_ctx_t *ctx, const void *body, size_t len)
{
    return baton_envelope_set_body (ctx->env, body, len);
}

int
baton_ctx_set_body_str (baton_ctx_t *ctx, const char *body)
{
    return baton_envelope_set_body (ctx->env, body, body ? strlen (body) : 0);
}

size_t
baton_ctx_header_count (const baton_ctx_t *ctx)
{
    return baton_envelope_header_count (ctx->env);
}

baton_header_t
baton_ctx_header (const baton_ctx_t *ctx, size_t i)
{
    return baton_envelope_header (ctx->env, i);
}

bool
baton_ctx_header_find (const baton_ctx_t *ctx, const char *name, baton_slice_t *value)
{
    return name && baton_envelope_header_find (ctx->env, name, strlen (name), value);
}

int
baton_ctx_set_header (baton_ctx_t *ctx, const char *name, const char *value)
{
    if (!name || !*name || !value)
        return BATON_EINVAL;
    return baton_envelope_set_header (ctx->env, name, strlen (name), value, strlen (value));
}

int
baton_ctx_add_header (baton_ctx_t *ctx, const char *name, const char *value)
{
    if (!name || !*name || !value)
        return BATON_EINVAL;
    return baton_envelope_add_header (ctx->env, name, strlen (name), value, strlen (value));
}

size_t
baton_ctx_remove_header (baton_ctx_t *ctx, const char *name)
{
    return name ? baton_envelope_remove_header (ctx->env, name, strlen (name)) : 0;
}

//  --- meta ----------------------------------------------------------------------

bool
baton_ctx_meta_get (const baton_ctx_t *ctx, const char *key, baton_slice_t *value)
{
    return key && baton_envelope_meta_get (ctx->env, key, strlen (key), value);
}

int
baton_ctx_meta_set (baton_ctx_t *ctx, const char *key, const void *value, size_t len)
{
    if (!key || !*key || (len && !value))
        return BATON_EINVAL;
    return baton_envelope_meta_set (ctx->env, key, strlen (key), value, len);
}

bool
baton_ctx_meta_remove (baton_ctx_t *ctx, const char *key)
{
    return key && baton_envelope_meta_remove (ctx->env, key, strlen (key));
}

//  --- place in the route ----------------------------------------------------------

int64_t
baton_ctx_deadline_left_ms (const baton_ctx_t *ctx)
{
    uint64_t deadline = baton_envelope_deadline_ms (ctx->env);
    if (deadline == 0)
        return BATON_NO_DEADLINE;
    uint64_t now = baton__wall_ms ();
    if (deadline >= now)
        return deadline - now > (uint64_t) INT64_MAX - 1 ? INT64_MAX - 1
                                                         : (int64_t) (deadline - now);
    return now - deadline > (uint64_t) INT64_MAX ? INT64_MIN : -(int64_t) (now - deadline);
}

baton_slice_t
baton_ctx_hop_name (const baton_ctx_t *ctx)
{
    return ctx->hop_name;
}

size_t
baton_ctx_hop_index (const baton_ctx_t *ctx)
{
    return baton_envelope_index (ctx->env);
}

size_t
baton_ctx_hop_count (const baton_ctx_t *ctx)
{
    return baton_envelope_route_count (ctx->env);
}

const char *
baton_ctx_version (const baton_ctx_t *ctx)
{
    return baton_envelope_version_pin (ctx->env);
}

int
baton_ctx_branch (baton_ctx_t *ctx, const char *name)
{
    if (!name)
        return BATON_EINVAL;
    if (ctx->ending != BATON__END_NONE)
        return BATON_ESTATE;
    int rc = baton_envelope_take_branch (ctx->env, name, strlen (name));
    return rc == BATON_EROUTE ? BATON_ESTATE : rc;
}

baton_envelope_t *
baton_ctx_envelope (baton_ctx_t *ctx)
{
    return ctx->env;
}

//  --- endings ---------------------------------------------------------------------

int
baton_ctx_next (baton_ctx_t *ctx)
{
    if (ctx->ending != BATON__END_NONE)
        return BATON_ESTATE;
    ctx->ending = BATON__END_NEXT;
    return 0;
}

int
baton_ctx_reply (baton_ctx_t *ctx, unsigned status)
{
    if (ctx->ending != BATON__END_NONE)
        return BATON_ESTATE;
    if (status != 0 && (status < 100 || status > 999))
        return BATON_EINVAL;
    if (status)
        baton_envelope_set_status (ctx->env, status);
    ctx->ending = BATON__END_REPLY;
    return 0;
}

int
baton_ctx_fail (baton_ctx_t *ctx, unsigned status, const char *reason)
{
    if (ctx->ending != BATON__END_NONE)
        return BATON_ESTATE;
    if (status == 0)
        status = 502;
    if (status < 400 || status > 599)
        return BATON_EINVAL;
    if (!reason)
        reason = "";
    //  If memory runs out the hop still fails: the worker sees the ending and
    //  sends what it has, with the status set.
    if (baton__problem_apply (ctx->env, status, reason, strlen (reason), ctx->hop_name))
        baton_envelope_set_status (ctx->env, status);
    ctx->ending = BATON__END_FAIL;
    return 0;
}

bool
baton_slice_eq_str (baton_slice_t s, const char *str)
{
    if (!str)
        return false;
    size_t len = strlen (str);
    return s.len == len && (len == 0 || memcmp (s.ptr, str, len) == 0);
}

//  --- problem+json -------------------------------------------------------------------

//  Length of the valid UTF-8 sequence at p (n bytes available), or 0.
static size_t
s_utf8_len (const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; //  range of the second byte
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f; //  no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

typedef struct {
    char *dst; //  NULL: only count
    size_t len;
} s_json_t;

static void
s_put (s_json_t *o, const char *s, size_t n)
{
    if (o->dst)
        memcpy (o->dst + o->len, s, n);
    o->len += n;
}

#define S_PUT_LIT(o, lit) s_put (o, lit, sizeof (lit) - 1)

//  Writes src as the inside of a JSON string: quotes, backslashes and control
//  bytes escaped, invalid UTF-8 replaced by U+FFFD.
static void
s_put_escaped (s_json_t *o, const char *src, size_t len)
{
    const unsigned char *p = (const unsigned char *) src;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t n = s_utf8_len (p + i, len - i);
        if (n == 0) {
            S_PUT_LIT (o, "\\ufffd");
            i++;
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char) c};
            s_put (o, esc, 2);
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            char esc[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
            s_put (o, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            snprintf (esc, sizeof esc, "\\u%04x", c);
            s_put (o, esc, 6);
            i++;
        } else {
            s_put (o, src + i, n);
            i += n;
        }
    }
}

static void
s_problem (s_json_t *o, unsigned status, const char *detail, size_t detail_len, baton_slice_t hop)
{
    char num[16];
    int n = snprintf (num, sizeof num, "%u", status);
    const char *title = baton__http_reason (status);
    S_PUT_LIT (o, "{\"type\":\"about:blank\",\"title\":\"");
    s_put (o, title, strlen (title));
    S_PUT_LIT (o, "\",\"status\":");
    s_put (o, num, (size_t) n);
    S_PUT_LIT (o, ",\"detail\":\"");
    s_put_escaped (o, detail, detail_len);
    S_PUT_LIT (o, "\",\"hop\":\"");
    s_put_escaped (o, hop.ptr, hop.len);
    S_PUT_LIT (o, "\"}");
}

int
baton__problem_apply (baton_envelope_t *env, unsigned status, const char *detail, size_t detail_len,
                      baton_slice_t hop)
{
    s_json_t o = {NULL, 0};
    s_problem (&o, status, detail, detail_len, hop);
    char *body = (char *) malloc (o.len);
    if (!body)
        return BATON_ENOMEM;
    o.dst = body;
    o.len = 0;
    s_problem (&o, status, detail, detail_len, hop);
    static const char ctype[] = "application/problem+json";
    baton_envelope_set_status (env, status);
    baton_envelope_clear_headers (env);
    int rc = baton_envelope_set_error (env, status, detail, detail_len, hop.ptr, hop.len);
    if (!rc)
        rc = baton_envelope_add_header (env, "Content-Type", 12, ctype, sizeof ctype - 1);
    if (!rc)
        rc = baton_envelope_set_body (env, body, o.len);
    free (body);
    return rc;
}
