/*  msgpack_rd.h - a bounded msgpack reader: a validating pass that walks a
 *  whole document against explicit limits without allocating, and a cursor
 *  that reads values in place (results point into the input).  */
#ifndef BATON_MSGPACK_RD_H
#define BATON_MSGPACK_RD_H

#include <stddef.h>
#include <stdint.h>
#include "baton/envelope.h"

//  Hard ceiling on nesting whatever the limits say: the validator keeps one
//  counter per level on the stack.
#define BATON__MP_MAX_DEPTH 64

//  Fills zero fields of *out from the defaults.
void baton__limits_resolve(const baton_limits_t *in, baton_limits_t *out);

//  Walks one msgpack document in data[0..len) and checks every limit in lim
//  (resolved, not NULL): size, depth, items per container, items in total,
//  string and binary lengths. Every declared count and length is checked
//  against the bytes that remain before the walk goes on. Trailing bytes and
//  ext types are rejected. Returns 0 or a BATON_E... code.
int baton__mp_validate(const uint8_t *data, size_t len, const baton_limits_t *lim);

//  A read cursor. Every read checks bounds and type; on error the cursor is
//  left where it was.
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} baton__mp_rd_t;

int baton__mp_read_map(baton__mp_rd_t *rd, uint32_t *count);
int baton__mp_read_array(baton__mp_rd_t *rd, uint32_t *count);
int baton__mp_read_str(baton__mp_rd_t *rd, baton_slice_t *out);
//  Reads bin, or str (accepted for bodies written by str-only encoders).
int baton__mp_read_bytes(baton__mp_rd_t *rd, baton_slice_t *out);
int baton__mp_read_uint(baton__mp_rd_t *rd, uint64_t *out);
//  True if the next value is nil; consumes it.
int baton__mp_read_nil(baton__mp_rd_t *rd);
//  Skips one complete value of any type (iterative, depth-bounded).
int baton__mp_skip(baton__mp_rd_t *rd);

#endif
