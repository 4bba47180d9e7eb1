/*  yamldoc.h - reads one YAML document, such as a Baton configuration file,
 *  into a read-only tree whose every node knows its line and column. The
 *  bytes are hostile: limits bound the file, the depth, the entries of one
 *  collection, the nodes and the strings, and anchors, aliases, tags and
 *  control characters are refused. What a document means is its schema's
 *  business (config.c for the gateway's file).  */
#ifndef BATON_YAMLDOC_H
#define BATON_YAMLDOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

//  The most that baton_yamldoc_limits_t.max_depth may be.
#define BATON_YAMLDOC_MAX_DEPTH 64

typedef struct baton_yamldoc baton_yamldoc_t;

typedef struct {
    size_t max_file;   //  bytes in the file
    size_t max_depth;  //  nested sequences and mappings, 1 to BATON_YAMLDOC_MAX_DEPTH
    size_t max_items;  //  entries in one sequence or mapping
    size_t max_nodes;  //  nodes in the whole document
    size_t max_string; //  bytes in one scalar
} baton_yamldoc_limits_t;

typedef enum {
    BATON_YAMLDOC_SCALAR,
    BATON_YAMLDOC_SEQUENCE,
    BATON_YAMLDOC_MAPPING,
} baton_yamldoc_kind_t;

//  One node of the tree; it lives as long as its document. Every key of a
//  mapping is a scalar; keys are kept as written, duplicates included (the
//  schema knows which keys exist and refuses a second one).
typedef struct baton_yamldoc_node baton_yamldoc_node_t;
struct baton_yamldoc_node {
    baton_yamldoc_kind_t kind;
    bool null;           //  a plain "", "~" or "null": as good as absent
    size_t line, column; //  1-based, where the node starts
    const char *str;     //  scalar: len bytes, NUL-terminated, no control characters
    size_t len;
    const baton_yamldoc_node_t *first; //  first child; a mapping's alternate key, value
    const baton_yamldoc_node_t *next;  //  next sibling
    size_t count;                      //  children: two per entry in a mapping
};

//  Reads the len bytes at data (NUL-terminated or not) as one YAML document
//  within limits. Returns NULL on any error and writes one message into err
//  (errlen bytes, always NUL-terminated when errlen > 0) of the form
//  "name:line:column: what is wrong". Caller owns the result; release it
//  with baton_yamldoc_destroy ().
baton_yamldoc_t *baton_yamldoc_parse (const char *data, size_t len, const char *name,
                                      const baton_yamldoc_limits_t *limits, char *err,
                                      size_t errlen);

//  Like baton_yamldoc_parse () on the file at path, which stands for it in
//  messages. Reads at most limits->max_file + 1 bytes of it.
baton_yamldoc_t *baton_yamldoc_load (const char *path, const baton_yamldoc_limits_t *limits,
                                     char *err, size_t errlen);

//  Safe on NULL; sets *self_p to NULL.
void baton_yamldoc_destroy (baton_yamldoc_t **self_p);

//  The document's top node, or NULL when the file holds no document
//  (nothing, or only comments).
const baton_yamldoc_node_t *baton_yamldoc_root (const baton_yamldoc_t *self);

//  --- messages, for the document's schema ------------------------------------

//  Writes "name:line:column: key: message" into err (errlen bytes,
//  NUL-terminated when errlen > 0); ":line:column" is left out when line is
//  0, and "key: " when key is NULL or "". Returns -1.
int baton_yamldoc_vfail (char *err, size_t errlen, const char *name, size_t line, size_t column,
                         const char *key, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 7, 0)));

//  Writes the len bytes at str into buf (cap >= 16 bytes) double-quoted and
//  escaped, cut with "..." when long: values from a file go into messages
//  only this way. Returns buf.
const char *baton_yamldoc_quote (char *buf, size_t cap, const char *str, size_t len);

#endif
