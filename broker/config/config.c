/*  config.c - reads the gateway's YAML. libyaml's events become a small tree,
 *  bounded in size, depth and counts, with no anchors, aliases or tags; the
 *  tree is then checked against the schema (docs/gateway.md) into a
 *  baton_config_t. Every error names file:line:column and the key.  */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "baton/errors.h"
#include "config/config.h"
#include "edge/routes.h"

#define S_MINUTE_MS    60000u
#define S_MAX_DURATION (24u * 60u * S_MINUTE_MS) //  24h, in ms
#define S_KIB          ((uint64_t) 1024)
#define S_MIB          (S_KIB * 1024)
#define S_GIB          (S_MIB * 1024)
#define S_PATH         256 //  a key path in a message: "routes[12].chain[3]"

//  --------------------------------------------------------------------------
//  Arena: everything a configuration holds (and the parse tree) is allocated
//  from one, and freed at once.

typedef struct s_chunk {
    struct s_chunk *next;
    size_t used;
    size_t cap;
} s_chunk_t;

typedef struct {
    s_chunk_t *head;
} s_arena_t;

#define S_ALIGN ((size_t) _Alignof(max_align_t))
#define S_HDR   ((sizeof (s_chunk_t) + S_ALIGN - 1) / S_ALIGN * S_ALIGN)
#define S_CHUNK ((size_t) 64 * 1024)

static void
s_oom (void)
{
    fputs ("baton: out of memory\n", stderr);
    abort ();
}

//  Returns size zeroed bytes; aborts when out of memory.
static void *
s_alloc (s_arena_t *arena, size_t size)
{
    if (size > SIZE_MAX / 2)
        s_oom ();
    size = size ? (size + S_ALIGN - 1) / S_ALIGN * S_ALIGN : S_ALIGN;
    s_chunk_t *chunk = arena->head;
    if (!chunk || chunk->cap - chunk->used < size) {
        size_t cap = size > S_CHUNK ? size : S_CHUNK;
        chunk = malloc (S_HDR + cap);
        if (!chunk)
            s_oom ();
        chunk->used = 0;
        chunk->cap = cap;
        chunk->next = arena->head;
        arena->head = chunk;
    }
    void *ptr = (char *) chunk + S_HDR + chunk->used;
    chunk->used += size;
    memset (ptr, 0, size);
    return ptr;
}

static char *
s_strndup (s_arena_t *arena, const char *str, size_t len)
{
    char *copy = s_alloc (arena, len + 1);
    memcpy (copy, str, len);
    copy[len] = '\0';
    return copy;
}

static void
s_arena_free (s_arena_t *arena)
{
    while (arena->head) {
        s_chunk_t *next = arena->head->next;
        free (arena->head);
        arena->head = next;
    }
}

//  --------------------------------------------------------------------------
//  The configuration

typedef struct {
    const char *name;
    size_t len;
    const baton_config_function_t *function;
} s_index_t;

struct baton_config {
    s_arena_t arena;
    const char *name;
    baton_config_gateway_t gateway;
    baton_config_limits_t limits;
    baton_config_function_t *functions;
    size_t function_count;
    s_index_t *by_name; //  functions sorted by name, for lookups
    baton_config_route_t *routes;
    size_t route_count;
};

//  --------------------------------------------------------------------------
//  The parse tree

typedef enum { S_SCALAR, S_SEQ, S_MAP } s_kind_t;

typedef struct s_node s_node_t;
struct s_node {
    s_kind_t kind;
    bool null;        //  a plain "", "~" or "null": the key is as good as absent
    size_t line, col; //  1-based
    const char *str;  //  scalar: len bytes, NUL-terminated, no control bytes
    size_t len;
    s_node_t *first; //  children; a mapping's are key, value, key, value...
    s_node_t *last;
    s_node_t *next;
    size_t count; //  children
};

typedef struct {
    const char *name; //  the file, for messages
    char *err;
    size_t errlen;
    s_arena_t tree;
    baton_config_t *cfg;
} s_ctx_t;

//  --------------------------------------------------------------------------
//  Messages

static int s_fail_at (s_ctx_t *ctx, size_t line, size_t col, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
static int s_fail (s_ctx_t *ctx, const s_node_t *at, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_vfail (s_ctx_t *ctx, size_t line, size_t col, const char *key, const char *fmt, va_list ap)
{
    if (ctx->errlen == 0)
        return -1;
    char msg[BATON_CONFIG_MAX_ERROR];
    vsnprintf (msg, sizeof msg, fmt, ap);
    char where[64] = "";
    if (line > 0)
        snprintf (where, sizeof where, ":%zu:%zu", line, col);
    snprintf (ctx->err, ctx->errlen, "%s%s: %s%s%s", ctx->name, where, key ? key : "",
              key && *key ? ": " : "", msg);
    return -1;
}

//  Writes the message for position line:col (0: none) and returns -1.
static int
s_fail_at (s_ctx_t *ctx, size_t line, size_t col, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vfail (ctx, line, col, key, fmt, ap);
    va_end (ap);
    return -1;
}

//  Writes the message for node at and returns -1.
static int
s_fail (s_ctx_t *ctx, const s_node_t *at, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vfail (ctx, at ? at->line : 0, at ? at->col : 0, key, fmt, ap);
    va_end (ap);
    return -1;
}

//  Writes str as a double-quoted, escaped string into buf, cut with "..."
//  when long: values from the file go into messages only this way.
static const char *
s_quote (char *buf, size_t cap, const char *str, size_t len)
{
    assert (cap >= 16);
    size_t n = 0;
    buf[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) str[i];
        if (n + 8 >= cap) {
            memcpy (buf + n, "\"...", 4);
            buf[n + 4] = '\0';
            return buf;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            n +=
                (size_t) snprintf (buf + n, cap - n, c == '"' || c == '\\' ? "\\%c" : "\\x%02X", c);
        else
            buf[n++] = (char) c;
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

#define S_Q(buf, node) s_quote ((buf), sizeof (buf), (node)->str, (node)->len)

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
//  YAML events -> tree

typedef struct {
    s_ctx_t *ctx;
    s_node_t *stack[BATON_CONFIG_MAX_DEPTH];
    size_t depth;
    size_t total;
    size_t documents;
    s_node_t *root;
} s_builder_t;

static int
s_attach (s_builder_t *b, s_node_t *node)
{
    s_ctx_t *ctx = b->ctx;
    if (++b->total > BATON_CONFIG_MAX_NODES)
        return s_fail (ctx, node, NULL, "more than %d YAML nodes in one file",
                       BATON_CONFIG_MAX_NODES);
    if (b->depth == 0)
        b->root = node;
    else {
        s_node_t *parent = b->stack[b->depth - 1];
        bool map = parent->kind == S_MAP;
        if (parent->count >= (map ? 2 : 1) * (size_t) BATON_CONFIG_MAX_ITEMS)
            return s_fail (ctx, node, NULL, "more than %d entries in one %s",
                           BATON_CONFIG_MAX_ITEMS, map ? "mapping" : "sequence");
        if (map && parent->count % 2 == 0 && node->kind != S_SCALAR)
            return s_fail (ctx, node, NULL, "a mapping key must be a plain string");
        if (parent->last)
            parent->last->next = node;
        else
            parent->first = node;
        parent->last = node;
        parent->count++;
    }
    if (node->kind != S_SCALAR) {
        if (b->depth == BATON_CONFIG_MAX_DEPTH)
            return s_fail (ctx, node, NULL, "nested deeper than %d levels", BATON_CONFIG_MAX_DEPTH);
        b->stack[b->depth++] = node;
    }
    return 0;
}

static bool
s_is_null_text (const char *str, size_t len)
{
    return len == 0 || (len == 1 && str[0] == '~') ||
           (len == 4 &&
            (!memcmp (str, "null", 4) || !memcmp (str, "Null", 4) || !memcmp (str, "NULL", 4)));
}

static int
s_on_event (s_builder_t *b, const yaml_event_t *ev)
{
    s_ctx_t *ctx = b->ctx;
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    s_kind_t kind;
    char q[80];
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++ > 0)
            return s_fail_at (ctx, line, col, NULL, "only one YAML document is allowed per file");
        return 0;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *) ev->data.alias.anchor;
        return s_fail_at (ctx, line, col, NULL, "YAML aliases (*%s) are not allowed",
                          s_quote (q, sizeof q, name, strlen (name)));
    }
    case YAML_SCALAR_EVENT:
        kind = S_SCALAR;
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        kind = S_SEQ;
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        kind = S_MAP;
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        assert (b->depth > 0);
        b->depth--;
        return 0;
    default:
        return 0;
    }
    //  Anchors are refused with the aliases that would use them: together
    //  they make the "billion laughs" document.
    if (anchor)
        return s_fail_at (
            ctx, line, col, NULL, "YAML anchors (&%s) are not allowed",
            s_quote (q, sizeof q, (const char *) anchor, strlen ((const char *) anchor)));
    if (tag)
        return s_fail_at (ctx, line, col, NULL, "YAML tags (%s) are not supported",
                          s_quote (q, sizeof q, (const char *) tag, strlen ((const char *) tag)));
    s_node_t *node = s_alloc (&ctx->tree, sizeof *node);
    node->kind = kind;
    node->line = line;
    node->col = col;
    if (kind == S_SCALAR) {
        const char *str = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (len > BATON_CONFIG_MAX_STRING)
            return s_fail_at (ctx, line, col, NULL, "a string longer than %d bytes",
                              BATON_CONFIG_MAX_STRING);
        //  Escapes in quoted strings can make any byte; none of the schema's
        //  values needs a control character, and check prints them all.
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char) str[i];
            if (c < 0x20 || c == 0x7f ||
                (c == 0xc2 && i + 1 < len && (unsigned char) str[i + 1] >= 0x80 &&
                 (unsigned char) str[i + 1] <= 0x9f))
                return s_fail_at (ctx, line, col, NULL,
                                  "control character in a string (strings are one line of text)");
        }
        node->str = s_strndup (&ctx->tree, str, len);
        node->len = len;
        node->null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && s_is_null_text (str, len);
    }
    return s_attach (b, node);
}

//  Reader errors come with a byte offset instead of a mark.
static void
s_offset_to_mark (const char *data, size_t len, size_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char) data[i] & 0xc0) != 0x80)
            (*col)++;
    }
}

static int
s_yaml_error (s_ctx_t *ctx, const yaml_parser_t *parser, const char *data, size_t len)
{
    const char *problem = parser->problem ? parser->problem : "unknown error";
    size_t line, col;
    switch (parser->error) {
    case YAML_MEMORY_ERROR:
        s_oom ();
        return -1;
    case YAML_READER_ERROR:
        s_offset_to_mark (data, len, parser->problem_offset, &line, &col);
        return s_fail_at (ctx, line, col, NULL, "not valid YAML text: %s", problem);
    default:
        line = parser->problem_mark.line + 1;
        col = parser->problem_mark.column + 1;
        if (parser->context)
            return s_fail_at (ctx, line, col, NULL, "YAML syntax: %s (%s at line %zu)", problem,
                              parser->context, parser->context_mark.line + 1);
        return s_fail_at (ctx, line, col, NULL, "YAML syntax: %s", problem);
    }
}

static int
s_build (s_ctx_t *ctx, const char *data, size_t len, s_node_t **root_p)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        s_oom ();
    yaml_parser_set_input_string (&parser, (const unsigned char *) data, len);
    s_builder_t b = {.ctx = ctx};
    int rc = -1;
    while (true) {
        yaml_event_t ev;
        if (!yaml_parser_parse (&parser, &ev)) {
            s_yaml_error (ctx, &parser, data, len);
            goto out;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        int bad = s_on_event (&b, &ev);
        yaml_event_delete (&ev);
        if (bad)
            goto out;
        if (end)
            break;
    }
    *root_p = b.root;
    rc = 0;
out:
    yaml_parser_delete (&parser);
    return rc;
}

//  --------------------------------------------------------------------------
//  Schema helpers

static const char *
s_what (const s_node_t *node)
{
    if (node->kind == S_SEQ)
        return "a sequence";
    if (node->kind == S_MAP)
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
    if (node->kind != S_MAP)
        return s_fail (ctx, node, path, "expected a mapping, found %s", s_what (node));
    for (const s_node_t *key = node->first; key; key = key->next->next) {
        const s_node_t *val = key->next;
        size_t i = 0;
        while (i < nkeys && (strlen (keys[i]) != key->len || memcmp (keys[i], key->str, key->len)))
            i++;
        char q[80];
        if (i == nkeys) {
            char known[160] = "";
            for (size_t k = 0; k < nkeys; k++) {
                strcat (known, k ? ", " : "");
                strcat (known, keys[k]);
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
    if (node->kind != S_SCALAR)
        return s_fail (ctx, node, path, "expected %s, found %s", what, s_what (node));
    return 0;
}

static int
s_seq (s_ctx_t *ctx, const s_node_t *node, const char *path, const char *what)
{
    if (node->kind != S_SEQ)
        return s_fail (ctx, node, path, "expected %s, found %s", what, s_what (node));
    return 0;
}

static bool
s_digits (const char *str, size_t len, size_t *used, uint64_t *value)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < len && str[i] >= '0' && str[i] <= '9') {
        unsigned d = (unsigned) (str[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            v = UINT64_MAX; //  saturate: every caller's maximum is far below
        else
            v = v * 10 + d;
        i++;
    }
    *used = i;
    *value = v;
    return i > 0;
}

static int
s_uint (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min, uint64_t max,
        uint64_t *out)
{
    if (s_scalar (ctx, node, path, "a whole number") < 0)
        return -1;
    size_t used;
    uint64_t v;
    char q[80];
    if (!s_digits (node->str, node->len, &used, &v) || used != node->len)
        return s_fail (ctx, node, path, "%s is not a whole number (digits only)", S_Q (q, node));
    if (v < min || v > max)
        return s_fail (ctx, node, path, "%s is out of range (%" PRIu64 " to %" PRIu64 ")",
                       S_Q (q, node), min, max);
    *out = v;
    return 0;
}

const char *
baton_config_format_duration (uint64_t ms, char *buf, size_t cap)
{
    if (ms == 0)
        snprintf (buf, cap, "0s");
    else if (ms % S_MINUTE_MS == 0)
        snprintf (buf, cap, "%" PRIu64 "m", ms / S_MINUTE_MS);
    else if (ms % 1000 == 0)
        snprintf (buf, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf (buf, cap, "%" PRIu64 "ms", ms);
    return buf;
}

static const char *
s_format_size (uint64_t bytes, char *buf, size_t cap)
{
    if (bytes && bytes % S_GIB == 0)
        snprintf (buf, cap, "%" PRIu64 "GiB", bytes / S_GIB);
    else if (bytes && bytes % S_MIB == 0)
        snprintf (buf, cap, "%" PRIu64 "MiB", bytes / S_MIB);
    else if (bytes && bytes % S_KIB == 0)
        snprintf (buf, cap, "%" PRIu64 "KiB", bytes / S_KIB);
    else
        snprintf (buf, cap, "%" PRIu64 "B", bytes);
    return buf;
}

//  "250ms", "10s", "1m": a whole number and a unit, from min_ms to 24h.
static int
s_duration (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min_ms, uint64_t *out)
{
    if (s_scalar (ctx, node, path, "a duration") < 0)
        return -1;
    size_t used;
    uint64_t v, unit = 0;
    char q[80], a[32];
    if (s_digits (node->str, node->len, &used, &v)) {
        const char *u = node->str + used;
        size_t ulen = node->len - used;
        if (ulen == 2 && !memcmp (u, "ms", 2))
            unit = 1;
        else if (ulen == 1 && *u == 's')
            unit = 1000;
        else if (ulen == 1 && *u == 'm')
            unit = S_MINUTE_MS;
    }
    if (!unit)
        return s_fail (ctx, node, path,
                       "%s is not a duration: a whole number and a unit, ms, s or m "
                       "(250ms, 10s, 1m)",
                       S_Q (q, node));
    if (v > S_MAX_DURATION / unit)
        return s_fail (ctx, node, path, "%s is longer than the maximum, %s", S_Q (q, node),
                       baton_config_format_duration (S_MAX_DURATION, a, sizeof a));
    if (v * unit < min_ms)
        return s_fail (ctx, node, path, "%s is shorter than the minimum, %s", S_Q (q, node),
                       baton_config_format_duration (min_ms, a, sizeof a));
    *out = v * unit;
    return 0;
}

//  "8192", "512B", "8KiB", "1MiB", "1GiB": powers of 1024, from min to max.
static int
s_size (s_ctx_t *ctx, const s_node_t *node, const char *path, uint64_t min, uint64_t max,
        uint64_t *out)
{
    if (s_scalar (ctx, node, path, "a size") < 0)
        return -1;
    size_t used;
    uint64_t v, unit = 0;
    char q[80], a[32];
    bool decimal = false;
    if (s_digits (node->str, node->len, &used, &v)) {
        const char *u = node->str + used;
        size_t ulen = node->len - used;
        static const struct {
            const char *name;
            uint64_t unit;
        } units[] = {{"", 1}, {"B", 1}, {"KiB", S_KIB}, {"MiB", S_MIB}, {"GiB", S_GIB}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen (units[i].name) == ulen && !memcmp (u, units[i].name, ulen))
                unit = units[i].unit;
        //  KB/MB/GB are refused rather than guessed: 1000 or 1024?
        static const char *const ambiguous[] = {"K",  "M",  "G",  "k",  "kB", "KB", "MB",
                                                "GB", "kb", "mb", "gb", "Kb", "Mb", "Gb"};
        for (size_t i = 0; !unit && i < sizeof ambiguous / sizeof ambiguous[0]; i++)
            if (strlen (ambiguous[i]) == ulen && !memcmp (u, ambiguous[i], ulen))
                decimal = true;
    }
    if (decimal)
        return s_fail (ctx, node, path,
                       "%s: write sizes in KiB, MiB or GiB (powers of 1024) or plain bytes",
                       S_Q (q, node));
    if (!unit)
        return s_fail (ctx, node, path,
                       "%s is not a size: a whole number of bytes, or one with B, KiB, MiB or "
                       "GiB (8KiB)",
                       S_Q (q, node));
    if (v > max / unit)
        return s_fail (ctx, node, path, "%s is larger than the maximum, %s", S_Q (q, node),
                       s_format_size (max, a, sizeof a));
    if (v * unit < min)
        return s_fail (ctx, node, path, "%s is smaller than the minimum, %s", S_Q (q, node),
                       s_format_size (min, a, sizeof a));
    *out = v * unit;
    return 0;
}

static bool
s_is_alnum (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

//  RFC 9110 token characters.
static bool
s_is_tchar (unsigned char c)
{
    return s_is_alnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c));
}

//  A DNS name or interface name: labels of letters, digits and '-'.
static bool
s_is_hostname (const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return false;
            label = 0;
        } else if (s_is_alnum ((unsigned char) s[i]) || s[i] == '-')
            label++;
        else
            return false;
    }
    return true;
}

typedef struct {
    size_t host_off, host_len;
    uint32_t port; //  0 stands for "*"
} s_hostport_t;

//  Parses host:port ("[v6]:port" for IPv6). star allows "*" as the host and
//  as the port (ZeroMQ bind endpoints); zero allows port 0 (HTTP listeners:
//  the system picks a free port). Returns NULL, or what is wrong.
static const char *
s_parse_hostport (const char *s, size_t len, bool star, bool zero, s_hostport_t *hp)
{
    size_t colon;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr (s, ']', len);
        if (!close)
            return "missing \"]\" after the IPv6 address";
        size_t hl = (size_t) (close - s) - 1;
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (hl == 0 || hl >= sizeof buf)
            return "not an IPv6 address between the brackets";
        memcpy (buf, s + 1, hl);
        buf[hl] = '\0';
        if (inet_pton (AF_INET6, buf, &a6) != 1)
            return "not an IPv6 address between the brackets";
        hp->host_off = 1;
        hp->host_len = hl;
        colon = hl + 2;
        if (colon >= len || s[colon] != ':')
            return "expected \":port\" after the address";
    } else {
        colon = len;
        for (size_t i = 0; i < len; i++)
            if (s[i] == ':')
                colon = i;
        if (colon == len)
            return "expected host:port";
        if (memchr (s, ':', colon))
            return "an IPv6 address goes in brackets, like [::1]:8080";
        if (colon == 0)
            return "the host is missing (0.0.0.0 means every interface)";
        hp->host_off = 0;
        hp->host_len = colon;
        bool dotted = true;
        for (size_t i = 0; i < colon; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
                dotted = false;
        if (colon == 1 && s[0] == '*') {
            if (!star)
                return "\"*\" is not a host here (0.0.0.0 means every interface)";
        } else if (dotted) {
            char buf[INET_ADDRSTRLEN];
            struct in_addr a4;
            if (colon >= sizeof buf)
                return "not an IPv4 address";
            memcpy (buf, s, colon);
            buf[colon] = '\0';
            if (inet_pton (AF_INET, buf, &a4) != 1)
                return "not an IPv4 address";
        } else if (!s_is_hostname (s, colon))
            return "not a host name or address";
    }
    const char *p = s + colon + 1;
    size_t plen = len - colon - 1;
    const char *range = zero ? "the port must be a number from 0 to 65535"
                             : "the port must be a number from 1 to 65535";
    if (plen == 1 && p[0] == '*') {
        if (!star)
            return range;
        hp->port = 0;
        return NULL;
    }
    size_t used;
    uint64_t port;
    if (!s_digits (p, plen, &used, &port) || used != plen || port < (zero ? 0 : 1) || port > 65535)
        return range;
    hp->port = (uint32_t) port;
    return NULL;
}

static int
s_addr (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_addr_t *out)
{
    if (s_scalar (ctx, node, path, "host:port") < 0)
        return -1;
    s_hostport_t hp;
    char q[80];
    const char *why = s_parse_hostport (node->str, node->len, false, true, &hp);
    if (why)
        return s_fail (ctx, node, path, "%s: %s", S_Q (q, node), why);
    s_arena_t *arena = &ctx->cfg->arena;
    out->text = s_strndup (arena, node->str, node->len);
    out->host = s_strndup (arena, node->str + hp.host_off, hp.host_len);
    out->port = (uint16_t) hp.port;
    return 0;
}

//  tcp://host:port, ipc://path, inproc://name. bind: the gateway binds it,
//  so "*" may stand for the host or the port.
static const char *
s_endpoint_why (const char *s, size_t len, bool bind)
{
    s_hostport_t hp;
    if (len > BATON_CONFIG_MAX_ENDPOINT)
        return "an endpoint is at most 256 bytes";
    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ')
            return "an endpoint has no spaces";
    if (len > 6 && !memcmp (s, "tcp://", 6))
        return s_parse_hostport (s + 6, len - 6, bind, false, &hp);
    if (len >= 6 && !memcmp (s, "ipc://", 6)) {
        //  sun_path holds 108 bytes with the NUL.
        if (len == 6 || len - 6 > 107)
            return "an ipc:// path is 1 to 107 bytes";
        return NULL;
    }
    if (len >= 9 && !memcmp (s, "inproc://", 9))
        return len == 9 ? "an inproc:// name is not empty" : NULL;
    return "a ZeroMQ endpoint starts with tcp://, ipc:// or inproc://";
}

static int
s_endpoint (s_ctx_t *ctx, const s_node_t *node, const char *path, bool bind, const char **out)
{
    if (s_scalar (ctx, node, path, "a ZeroMQ endpoint") < 0)
        return -1;
    char q[80];
    const char *why = s_endpoint_why (node->str, node->len, bind);
    if (why)
        return s_fail (ctx, node, path, "%s: %s", S_Q (q, node), why);
    *out = s_strndup (&ctx->cfg->arena, node->str, node->len);
    return 0;
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
    static const char *const keys[] = {"listen",   "admin",        "reply", "control",
                                       "deadline", "max_inflight", "drain"};
    enum { LISTEN, ADMIN, REPLY, CONTROL, DEADLINE, MAX_INFLIGHT, DRAIN, NKEYS };
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

//  A function name: a letter or '_', then letters, digits, '_' and '-'.
static const char *
s_name_why (const char *s, size_t len)
{
    if (len == 0)
        return "a function name is not empty";
    if (len > BATON_CONFIG_MAX_NAME)
        return "a function name is at most 64 bytes";
    if (!(s_is_alnum ((unsigned char) s[0]) && !(s[0] >= '0' && s[0] <= '9')) && s[0] != '_')
        return "a function name starts with a letter or \"_\"";
    for (size_t i = 1; i < len; i++)
        if (!s_is_alnum ((unsigned char) s[i]) && s[i] != '_' && s[i] != '-')
            return "a function name holds only letters, digits, \"_\" and \"-\"";
    return NULL;
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

static int
s_function (s_ctx_t *ctx, const s_node_t *val, baton_config_function_t *f)
{
    static const char *const keys[] = {"endpoints", "run", "replicas"};
    enum { ENDPOINTS, RUN, REPLICAS, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    s_arena_t *arena = &ctx->cfg->arena;
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
        const char **list = s_alloc (arena, (eps->count ? eps->count : 1) * sizeof *list);
        size_t i = 0;
        for (const s_node_t *e = eps->first; e; e = e->next, i++) {
            s_index (item, sizeof item, sub, i);
            if (s_endpoint (ctx, e, item, false, &list[i]) < 0)
                return -1;
            size_t k = 0;
            for (const s_node_t *prev = eps->first; k < i; prev = prev->next, k++)
                if (!strcmp (list[k], list[i]))
                    return s_fail (ctx, e, item, "%s is listed twice (first at line %zu)",
                                   S_Q (q, e), prev->line);
        }
        f->endpoints = list;
        f->endpoint_count = eps->count;
    }
    if (v[RUN]) {
        s_key (sub, sizeof sub, path, "run");
        if (s_scalar (ctx, v[RUN], sub, "a command") < 0)
            return -1;
        f->run = s_strndup (arena, v[RUN]->str, v[RUN]->len);
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
    return 0;
}

static int
s_functions (s_ctx_t *ctx, const s_node_t *node)
{
    baton_config_t *cfg = ctx->cfg;
    if (!node)
        return 0;
    if (node->kind != S_MAP)
        return s_fail (ctx, node, "functions", "expected a mapping of function names, found %s",
                       s_what (node));
    size_t count = node->count / 2;
    if (count > BATON_CONFIG_MAX_FUNCTIONS)
        return s_fail (ctx, node, "functions", "more than %d functions",
                       BATON_CONFIG_MAX_FUNCTIONS);
    cfg->functions = s_alloc (&cfg->arena, (count ? count : 1) * sizeof *cfg->functions);
    cfg->by_name = s_alloc (&cfg->arena, (count ? count : 1) * sizeof *cfg->by_name);
    size_t i = 0;
    for (const s_node_t *key = node->first; key; key = key->next->next, i++) {
        char q[80];
        const char *why = s_name_why (key->str, key->len);
        if (why)
            return s_fail (ctx, key, "functions", "%s: %s", S_Q (q, key), why);
        for (size_t k = 0; k < i; k++)
            if (!strcmp (cfg->functions[k].name, key->str))
                return s_fail (ctx, key, "functions", "duplicate key %s (first at line %zu)",
                               S_Q (q, key), cfg->functions[k].line);
        baton_config_function_t *f = &cfg->functions[i];
        f->name = s_strndup (&cfg->arena, key->str, key->len);
        f->index = i;
        f->line = key->line;
        cfg->function_count = i + 1;
        if (s_function (ctx, key->next, f) < 0)
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
    char item[S_PATH], q[80];
    if (s_seq (ctx, node, path, "a sequence of HTTP methods") < 0)
        return -1;
    if (node->count == 0)
        return s_fail (ctx, node, path,
                       "an empty list allows nothing; leave methods out to allow every method");
    if (node->count > BATON_CONFIG_MAX_METHODS)
        return s_fail (ctx, node, path, "more than %d methods", BATON_CONFIG_MAX_METHODS);
    const char **list = s_alloc (&ctx->cfg->arena, node->count * sizeof *list);
    size_t i = 0;
    for (const s_node_t *m = node->first; m; m = m->next, i++) {
        s_index (item, sizeof item, path, i);
        if (s_scalar (ctx, m, item, "a method name") < 0)
            return -1;
        if (m->len == 0 || m->len > BATON_CONFIG_MAX_METHOD)
            return s_fail (ctx, m, item, "%s: a method is 1 to %d bytes", S_Q (q, m),
                           BATON_CONFIG_MAX_METHOD);
        bool lower = false;
        for (size_t k = 0; k < m->len; k++) {
            if (!s_is_tchar ((unsigned char) m->str[k]))
                return s_fail (ctx, m, item, "%s is not an HTTP method (RFC 9110 token)",
                               S_Q (q, m));
            if (m->str[k] >= 'a' && m->str[k] <= 'z')
                lower = true;
        }
        //  Methods are case-sensitive; "get" would never match a GET.
        if (lower)
            return s_fail (ctx, m, item, "%s: methods are case-sensitive and written in upper case",
                           S_Q (q, m));
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
        list[i] = s_strndup (&ctx->cfg->arena, m->str, m->len);
    }
    r->methods = list;
    r->method_count = node->count;
    return 0;
}

static int
s_route_chain (s_ctx_t *ctx, const s_node_t *node, const char *path, baton_config_route_t *r)
{
    char item[S_PATH], q[80];
    if (s_seq (ctx, node, path, "a sequence of function names") < 0)
        return -1;
    if (node->count == 0)
        return s_fail (ctx, node, path, "a chain names at least one function");
    if (node->count > BATON_CONFIG_MAX_CHAIN)
        return s_fail (ctx, node, path, "more than %d functions in one chain",
                       BATON_CONFIG_MAX_CHAIN);
    const baton_config_function_t **chain = s_alloc (&ctx->cfg->arena, node->count * sizeof *chain);
    size_t i = 0;
    for (const s_node_t *f = node->first; f; f = f->next, i++) {
        s_index (item, sizeof item, path, i);
        if (s_scalar (ctx, f, item, "a function name") < 0)
            return -1;
        chain[i] = baton_config_function_find (ctx->cfg, f->str, f->len);
        if (!chain[i])
            return s_fail (ctx, f, item, "function %s is not declared under functions", S_Q (q, f));
    }
    r->chain = chain;
    r->chain_len = node->count;
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

static int
s_route (s_ctx_t *ctx, const s_node_t *node, size_t index, s_methods_t *seen,
         baton_config_route_t *r)
{
    static const char *const keys[] = {"path", "methods", "chain", "deadline"};
    enum { PATH, METHODS, CHAIN, DEADLINE, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    char path[S_PATH], sub[S_PATH], q[80];
    s_index (path, sizeof path, "routes", index);
    if (node->kind != S_MAP || node->null)
        return s_fail (ctx, node, path, "expected a mapping with path: and chain:, found %s",
                       node->null ? "nothing" : s_what (node));
    if (s_map (ctx, node, path, keys, NKEYS, v, at) < 0)
        return -1;
    r->index = index;
    r->line = node->line;
    r->column = node->col;

    s_key (sub, sizeof sub, path, "path");
    if (!v[PATH])
        return s_fail (ctx, at[PATH] ? at[PATH] : node, sub, "a route needs a path");
    if (s_scalar (ctx, v[PATH], sub, "a path pattern") < 0)
        return -1;
    char why[160];
    if (baton__routes_check_pattern (v[PATH]->str, v[PATH]->len, why, sizeof why) < 0)
        return s_fail (ctx, v[PATH], sub, "%s: %s", S_Q (q, v[PATH]), why);
    r->path = s_strndup (&ctx->cfg->arena, v[PATH]->str, v[PATH]->len);

    s_key (sub, sizeof sub, path, "methods");
    if (v[METHODS] && s_route_methods (ctx, v[METHODS], sub, seen, r) < 0)
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
    return 0;
}

//  FNV-1a of a valid pattern with each {param} read as "{}", so patterns
//  that baton__routes_same_pattern () calls the same hash the same.
static uint64_t
s_shape_hash (const char *p)
{
    uint64_t h = UINT64_C (14695981039346656037);
    for (size_t i = 0; p[i]; i++) {
        h = (h ^ (unsigned char) p[i]) * UINT64_C (1099511628211);
        if (p[i] == '{')
            while (p[i + 1] != '}')
                i++;
    }
    return h;
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
    cfg->routes = s_alloc (&cfg->arena, node->count * sizeof *cfg->routes);
    s_methods_t seen = {.count = 0};
    size_t i = 0;
    for (const s_node_t *r = node->first; r; r = r->next, i++) {
        if (s_route (ctx, r, i, &seen, &cfg->routes[i]) < 0)
            return -1;
        cfg->route_count = i + 1;
    }
    //  Two routes for the same paths and a common method: the second would
    //  never be used, which is a mistake worth stopping for. A hash of each
    //  pattern's shape keeps the pairwise check cheap for long patterns.
    uint64_t *hash = s_alloc (&ctx->tree, cfg->route_count * sizeof *hash);
    for (size_t k = 0; k < cfg->route_count; k++)
        hash[k] = s_shape_hash (cfg->routes[k].path);
    for (size_t b = 1; b < cfg->route_count; b++)
        for (size_t a = 0; a < b; a++) {
            const baton_config_route_t *ra = &cfg->routes[a], *rb = &cfg->routes[b];
            if (hash[a] == hash[b] && baton__routes_same_pattern (ra->path, rb->path) &&
                s_methods_overlap (ra, rb)) {
                char path[S_PATH], q[80];
                s_index (path, sizeof path, "routes", b);
                return s_fail_at (ctx, rb->line, rb->column, path,
                                  "same path pattern and method as routes[%zu] (line %zu): %s", a,
                                  ra->line, s_quote (q, sizeof q, rb->path, strlen (rb->path)));
            }
        }
    return 0;
}

static int
s_document (s_ctx_t *ctx, const s_node_t *root)
{
    static const char *const keys[] = {"gateway", "limits", "functions", "routes"};
    enum { GATEWAY, LIMITS, FUNCTIONS, ROUTES, NKEYS };
    const s_node_t *v[NKEYS], *at[NKEYS];
    if (!root || root->null)
        return s_fail_at (ctx, 1, 1, "routes", "the file is empty; at least one route is required");
    if (root->kind != S_MAP)
        return s_fail (ctx, root, NULL,
                       "the top level must be a mapping (gateway:, limits:, functions:, routes:)");
    if (s_map (ctx, root, "", keys, NKEYS, v, at) < 0)
        return -1;
    if (s_gateway (ctx, v[GATEWAY]) < 0 || s_limits (ctx, v[LIMITS]) < 0 ||
        s_functions (ctx, v[FUNCTIONS]) < 0 || s_routes (ctx, v[ROUTES], at[ROUTES], root) < 0)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  Public API

baton_config_t *
baton_config_parse (const char *data, size_t len, const char *name, char *err, size_t errlen)
{
    assert (data || len == 0);
    assert (name);
    if (errlen > 0)
        err[0] = '\0';
    baton_config_t *self = calloc (1, sizeof *self);
    if (!self)
        s_oom ();
    self->name = s_strndup (&self->arena, name, strlen (name));
    s_defaults (self);
    s_ctx_t ctx = {.name = self->name, .err = err, .errlen = errlen, .cfg = self};
    s_node_t *root = NULL;
    int rc = -1;
    if (len > BATON_CONFIG_MAX_FILE) {
        s_fail_at (&ctx, 0, 0, NULL, "the file is larger than the limit, %d bytes",
                   BATON_CONFIG_MAX_FILE);
        goto out;
    }
    if (s_build (&ctx, data ? data : "", len, &root) < 0 || s_document (&ctx, root) < 0)
        goto out;
    rc = 0;
out:
    s_arena_free (&ctx.tree);
    if (rc < 0)
        baton_config_destroy (&self);
    return self;
}

baton_config_t *
baton_config_load (const char *path, char *err, size_t errlen)
{
    assert (path);
    if (errlen > 0)
        err[0] = '\0';
    baton_config_t *self = NULL;
    char *buf = NULL;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errlen > 0)
            snprintf (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        goto out;
    }
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > BATON_CONFIG_MAX_FILE)
        goto too_big;
    //  Read one byte past the limit (files that are not regular have no size).
    buf = malloc ((size_t) BATON_CONFIG_MAX_FILE + 1);
    if (!buf)
        s_oom ();
    size_t len = 0;
    while (len <= BATON_CONFIG_MAX_FILE) {
        ssize_t n = read (fd, buf + len, (size_t) BATON_CONFIG_MAX_FILE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errlen > 0)
                snprintf (err, errlen, "%s: cannot read: %s", path, strerror (errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    if (len > BATON_CONFIG_MAX_FILE)
        goto too_big;
    self = baton_config_parse (buf, len, path, err, errlen);
    goto out;
too_big:
    if (errlen > 0)
        snprintf (err, errlen, "%s: the file is larger than the limit, %d bytes", path,
                  BATON_CONFIG_MAX_FILE);
out:
    if (fd >= 0)
        close (fd);
    free (buf);
    return self;
}

void
baton_config_destroy (baton_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_arena_free (&(*self_p)->arena);
    free (*self_p);
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
        if (!eps[i] || s_endpoint_why (eps[i], strlen (eps[i]), false))
            return BATON_EINVAL;
        for (size_t k = 0; k < i; k++)
            if (!strcmp (eps[k], eps[i]))
                return BATON_EINVAL; //  listed twice, as the file may not
    }
    const char **list = s_alloc (&self->arena, (n ? n : 1) * sizeof *list);
    for (size_t i = 0; i < n; i++)
        list[i] = s_strndup (&self->arena, eps[i], strlen (eps[i]));
    self->functions[index].endpoints = list;
    self->functions[index].endpoint_count = n;
    return 0;
}

int
baton_config_gateway_set_reply (baton_config_t *self, const char *endpoint)
{
    assert (self);
    if (!endpoint || s_endpoint_why (endpoint, strlen (endpoint), true))
        return BATON_EINVAL;
    if (self->gateway.control && !strcmp (self->gateway.control, endpoint))
        return BATON_EINVAL;
    self->gateway.reply = s_strndup (&self->arena, endpoint, strlen (endpoint));
    self->gateway.reply_default = false;
    return 0;
}

//  Rewrites addr's text for its host and a new port ("[::1]:0" for IPv6).
static void
s_set_port (s_arena_t *arena, baton_config_addr_t *addr, uint16_t port)
{
    char text[INET6_ADDRSTRLEN + 256];
    bool v6 = strchr (addr->host, ':') != NULL;
    int n = snprintf (text, sizeof text, v6 ? "[%s]:%u" : "%s:%u", addr->host, (unsigned) port);
    addr->text = s_strndup (arena, text, n > 0 ? (size_t) n : 0);
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
        s_set_port (&self->arena, &self->gateway.listen, (uint16_t) listen);
    if (admin >= 0)
        s_set_port (&self->arena, &self->gateway.admin, (uint16_t) admin);
    return 0;
}
