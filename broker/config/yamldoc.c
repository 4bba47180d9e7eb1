/*  yamldoc.c - libyaml's events become a tree of nodes allocated from one
 *  arena. Each limit is checked as its node arrives, so a hostile file
 *  stops the parse at the first node past a limit.  */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "config/arena.h"
#include "config/yamldoc.h"

//  A message's text, before the file name and position go in front of it.
#define S_MESSAGE 1024

struct baton_yamldoc {
    baton_arena_t *arena; //  the document, its nodes and their strings
    const baton_yamldoc_node_t *root;
};

typedef struct {
    const char *name; //  the file, for messages
    char *err;
    size_t errlen;
    const baton_yamldoc_limits_t *limits;
    baton_arena_t *arena;
    baton_yamldoc_node_t *open[BATON_YAMLDOC_MAX_DEPTH]; //  sequences and mappings being read
    baton_yamldoc_node_t *last[BATON_YAMLDOC_MAX_DEPTH]; //  the last child of each
    size_t depth;
    size_t total; //  nodes so far
    size_t documents;
    baton_yamldoc_node_t *root;
} s_reader_t;

//  --------------------------------------------------------------------------
//  Messages

int
baton_yamldoc_vfail (char *err, size_t errlen, const char *name, size_t line, size_t column,
                     const char *key, const char *fmt, va_list ap)
{
    if (errlen == 0)
        return -1;
    char msg[S_MESSAGE];
    vsnprintf (msg, sizeof msg, fmt, ap);
    char where[64] = "";
    if (line > 0)
        snprintf (where, sizeof where, ":%zu:%zu", line, column);
    snprintf (err, errlen, "%s%s: %s%s%s", name, where, key ? key : "", key && *key ? ": " : "",
              msg);
    return -1;
}

static int s_fail_at (s_reader_t *rd, size_t line, size_t column, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Writes the message for position line:column (0: none) and returns -1.
static int
s_fail_at (s_reader_t *rd, size_t line, size_t column, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    baton_yamldoc_vfail (rd->err, rd->errlen, rd->name, line, column, NULL, fmt, ap);
    va_end (ap);
    return -1;
}

const char *
baton_yamldoc_quote (char *buf, size_t cap, const char *str, size_t len)
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

//  --------------------------------------------------------------------------
//  Events -> tree

//  Links node under the innermost open collection (or makes it the root),
//  and opens it when it is a collection.
static int
s_attach (s_reader_t *rd, baton_yamldoc_node_t *node)
{
    const baton_yamldoc_limits_t *lim = rd->limits;
    if (++rd->total > lim->max_nodes)
        return s_fail_at (rd, node->line, node->column, "more than %zu YAML nodes in one file",
                          lim->max_nodes);
    if (rd->depth == 0)
        rd->root = node;
    else {
        baton_yamldoc_node_t *parent = rd->open[rd->depth - 1];
        bool map = parent->kind == BATON_YAMLDOC_MAPPING;
        if (parent->count >= (map ? 2 : 1) * lim->max_items)
            return s_fail_at (rd, node->line, node->column, "more than %zu entries in one %s",
                              lim->max_items, map ? "mapping" : "sequence");
        if (map && parent->count % 2 == 0 && node->kind != BATON_YAMLDOC_SCALAR)
            return s_fail_at (rd, node->line, node->column, "a mapping key must be a plain string");
        if (rd->last[rd->depth - 1])
            rd->last[rd->depth - 1]->next = node;
        else
            parent->first = node;
        rd->last[rd->depth - 1] = node;
        parent->count++;
    }
    if (node->kind != BATON_YAMLDOC_SCALAR) {
        if (rd->depth == lim->max_depth)
            return s_fail_at (rd, node->line, node->column, "nested deeper than %zu levels",
                              lim->max_depth);
        rd->open[rd->depth] = node;
        rd->last[rd->depth] = NULL;
        rd->depth++;
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
s_on_event (s_reader_t *rd, const yaml_event_t *ev)
{
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    baton_yamldoc_kind_t kind;
    char q[80];
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (rd->documents++ > 0)
            return s_fail_at (rd, line, col, "only one YAML document is allowed per file");
        return 0;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *) ev->data.alias.anchor;
        return s_fail_at (rd, line, col, "YAML aliases (*%s) are not allowed",
                          baton_yamldoc_quote (q, sizeof q, name, strlen (name)));
    }
    case YAML_SCALAR_EVENT:
        kind = BATON_YAMLDOC_SCALAR;
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        kind = BATON_YAMLDOC_SEQUENCE;
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        kind = BATON_YAMLDOC_MAPPING;
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        assert (rd->depth > 0);
        rd->depth--;
        return 0;
    default:
        return 0;
    }
    //  Anchors are refused with the aliases that would use them: together
    //  they make the "billion laughs" document.
    if (anchor)
        return s_fail_at (rd, line, col, "YAML anchors (&%s) are not allowed",
                          baton_yamldoc_quote (q, sizeof q, (const char *) anchor,
                                               strlen ((const char *) anchor)));
    if (tag)
        return s_fail_at (
            rd, line, col, "YAML tags (%s) are not supported",
            baton_yamldoc_quote (q, sizeof q, (const char *) tag, strlen ((const char *) tag)));
    baton_yamldoc_node_t *node = baton_arena_alloc (rd->arena, sizeof *node);
    node->kind = kind;
    node->line = line;
    node->column = col;
    if (kind == BATON_YAMLDOC_SCALAR) {
        const char *str = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (len > rd->limits->max_string)
            return s_fail_at (rd, line, col, "a string longer than %zu bytes",
                              rd->limits->max_string);
        //  Escapes in quoted strings can make any byte; a configuration's
        //  values need no control character, and messages print them all.
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char) str[i];
            if (c < 0x20 || c == 0x7f ||
                (c == 0xc2 && i + 1 < len && (unsigned char) str[i + 1] >= 0x80 &&
                 (unsigned char) str[i + 1] <= 0x9f))
                return s_fail_at (rd, line, col,
                                  "control character in a string (strings are one line of text)");
        }
        node->str = baton_arena_strndup (rd->arena, str, len);
        node->len = len;
        node->null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && s_is_null_text (str, len);
    }
    return s_attach (rd, node);
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
s_yaml_error (s_reader_t *rd, const yaml_parser_t *parser, const char *data, size_t len)
{
    const char *problem = parser->problem ? parser->problem : "unknown error";
    size_t line, col;
    switch (parser->error) {
    case YAML_MEMORY_ERROR:
        baton_arena_oom ();
    case YAML_READER_ERROR:
        s_offset_to_mark (data, len, parser->problem_offset, &line, &col);
        return s_fail_at (rd, line, col, "not valid YAML text: %s", problem);
    default:
        line = parser->problem_mark.line + 1;
        col = parser->problem_mark.column + 1;
        if (parser->context)
            return s_fail_at (rd, line, col, "YAML syntax: %s (%s at line %zu)", problem,
                              parser->context, parser->context_mark.line + 1);
        return s_fail_at (rd, line, col, "YAML syntax: %s", problem);
    }
}

//  Feeds the events of data to the reader until the stream ends or a node
//  is refused.
static int
s_read (s_reader_t *rd, const char *data, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        baton_arena_oom ();
    yaml_parser_set_input_string (&parser, (const unsigned char *) data, len);
    int rc = -1;
    while (true) {
        yaml_event_t ev;
        if (!yaml_parser_parse (&parser, &ev)) {
            s_yaml_error (rd, &parser, data, len);
            goto out;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        int bad = s_on_event (rd, &ev);
        yaml_event_delete (&ev);
        if (bad)
            goto out;
        if (end)
            break;
    }
    rc = 0;
out:
    yaml_parser_delete (&parser);
    return rc;
}

//  --------------------------------------------------------------------------
//  Public API

baton_yamldoc_t *
baton_yamldoc_parse (const char *data, size_t len, const char *name,
                     const baton_yamldoc_limits_t *limits, char *err, size_t errlen)
{
    assert (data || len == 0);
    assert (name && limits);
    assert (limits->max_depth >= 1 && limits->max_depth <= BATON_YAMLDOC_MAX_DEPTH);
    if (errlen > 0)
        err[0] = '\0';
    s_reader_t rd = {.name = name, .err = err, .errlen = errlen, .limits = limits};
    if (len > limits->max_file) {
        s_fail_at (&rd, 0, 0, "the file is larger than the limit, %zu bytes", limits->max_file);
        return NULL;
    }
    rd.arena = baton_arena_new ();
    baton_yamldoc_t *self = baton_arena_alloc (rd.arena, sizeof *self);
    self->arena = rd.arena;
    if (s_read (&rd, data ? data : "", len) < 0) {
        baton_yamldoc_destroy (&self);
        return NULL;
    }
    self->root = rd.root;
    return self;
}

baton_yamldoc_t *
baton_yamldoc_load (const char *path, const baton_yamldoc_limits_t *limits, char *err,
                    size_t errlen)
{
    assert (path && limits);
    if (errlen > 0)
        err[0] = '\0';
    s_reader_t rd = {.name = path, .err = err, .errlen = errlen, .limits = limits};
    baton_yamldoc_t *self = NULL;
    char *buf = NULL;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_fail_at (&rd, 0, 0, "cannot open: %s", strerror (errno));
        goto out;
    }
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && (uintmax_t) st.st_size > limits->max_file)
        goto too_big;
    //  Read one byte past the limit (files that are not regular have no size).
    buf = malloc (limits->max_file + 1);
    if (!buf)
        baton_arena_oom ();
    size_t len = 0;
    while (len <= limits->max_file) {
        ssize_t n = read (fd, buf + len, limits->max_file + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s_fail_at (&rd, 0, 0, "cannot read: %s", strerror (errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    if (len > limits->max_file)
        goto too_big;
    self = baton_yamldoc_parse (buf, len, path, limits, err, errlen);
    goto out;
too_big:
    s_fail_at (&rd, 0, 0, "the file is larger than the limit, %zu bytes", limits->max_file);
out:
    if (fd >= 0)
        close (fd);
    free (buf);
    return self;
}

void
baton_yamldoc_destroy (baton_yamldoc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    //  The document lives in its own arena.
    baton_arena_t *arena = (*self_p)->arena;
    baton_arena_destroy (&arena);
    *self_p = NULL;
}

const baton_yamldoc_node_t *
baton_yamldoc_root (const baton_yamldoc_t *self)
{
    assert (self);
    return self->root;
}
