/*  json.h - a small, bounded JSON reader for what `baton ctl` gets from a
 *  gateway's admin listener: hostile bytes, read strictly (RFC 8259, UTF-8
 *  only) into a read-only tree, without recursion, within limits on size,
 *  depth, nodes and string length. Its names say jsonr (reader): admin/json.h
 *  is the gateway's writer, and both link into the baton binary.  */
#ifndef BATON_CTL_JSON_H
#define BATON_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The most that baton_jsonr_limits_t.max_depth may be.
#define BATON_JSONR_MAX_DEPTH 64

typedef struct {
    size_t max_size;   //  bytes of input
    size_t max_depth;  //  nested arrays and objects, 1 to BATON_JSONR_MAX_DEPTH
    size_t max_nodes;  //  values in the whole document (members' keys not counted)
    size_t max_string; //  bytes of one decoded string or key
} baton_jsonr_limits_t;

//  What an admin answer may be: 8 MiB, 32 deep, 1M values, 64 KiB strings.
extern const baton_jsonr_limits_t baton_jsonr_default_limits;

typedef enum {
    BATON_JSONR_NULL,
    BATON_JSONR_FALSE,
    BATON_JSONR_TRUE,
    BATON_JSONR_NUMBER,
    BATON_JSONR_STRING,
    BATON_JSONR_ARRAY,
    BATON_JSONR_OBJECT,
} baton_jsonr_type_t;

//  One value of the tree; it lives as long as its document.
typedef struct baton_jsonr_value baton_jsonr_value_t;
struct baton_jsonr_value {
    baton_jsonr_type_t type;
    //  STRING: the decoded bytes (len, NUL-terminated, valid UTF-8, which may
    //  hold "\u0000" as a NUL); NUMBER: its text as written. NULL otherwise.
    const char *str;
    size_t len;
    double num;                       //  NUMBER: its value (may be +-inf when huge)
    const char *key;                  //  a member of an object: its decoded name; else NULL
    size_t key_len;                   //
    const baton_jsonr_value_t *first; //  ARRAY, OBJECT: first element or member
    const baton_jsonr_value_t *next;  //  next element or member of the parent
    size_t count;                     //  ARRAY, OBJECT: how many
};

typedef struct baton_json baton_jsonr_t;

//  Reads the len bytes at data (NUL-terminated or not) as one JSON text
//  within limits (NULL: the defaults). Never reads past len. Returns NULL on
//  any error with "at byte N: what is wrong" in err (errlen bytes, always
//  NUL-terminated when errlen > 0). Caller owns the result; release it with
//  baton_jsonr_destroy ().
baton_jsonr_t *baton_jsonr_parse (const char *data, size_t len, const baton_jsonr_limits_t *limits,
                                  char *err, size_t errlen);

//  Safe on NULL; sets *self_p to NULL.
void baton_jsonr_destroy (baton_jsonr_t **self_p);

//  The top value. Never NULL.
const baton_jsonr_value_t *baton_jsonr_root (const baton_jsonr_t *self);

//  --- reading values: each is safe on NULL and on a value of another type -------

//  The member called key of object v (the first one when the text repeats a
//  name), or NULL.
const baton_jsonr_value_t *baton_jsonr_get (const baton_jsonr_value_t *v, const char *key);

//  v's string, or NULL when v is not a string.
const char *baton_jsonr_str (const baton_jsonr_value_t *v);

//  True and *out set when v is a number written as a whole number
//  (no fraction, no exponent) within int64_t.
bool baton_jsonr_int (const baton_jsonr_value_t *v, int64_t *out);

//  True when v is true; false for anything else.
bool baton_jsonr_is_true (const baton_jsonr_value_t *v);

//  True when v is an array (of count elements).
bool baton_jsonr_is_array (const baton_jsonr_value_t *v);

//  The length of the valid UTF-8 sequence of 2 to 4 bytes at s (avail > 0
//  bytes there), or 0 when there is none (an ASCII byte, overlong, a
//  surrogate, above U+10FFFF, cut short).
size_t baton_jsonr_utf8_len (const char *s, size_t avail);

#endif
