/*  msgpack_rd.h - a bounded msgpack reader. Every count and length a document
 *  declares is checked against explicit limits and against the bytes that
 *  remain before the caller can act on it, so no read ever reserves memory
 *  from a number it has not checked. Results point into the input.  */
#ifndef BATON_MSGPACK_RD_H
#define BATON_MSGPACK_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "baton/envelope.h"

//  Hard ceiling on nesting whatever the limits say: the skipper keeps one
//  counter per level on the stack.
#define BATON__MP_MAX_DEPTH 64

//  Fills *out from in (NULL: all defaults); zero fields take the default.
void baton__limits_resolve (const baton_limits_t *in, baton_limits_t *out);

//  A read cursor over p..end, bound to resolved limits. `total` counts the
//  elements and pairs of every container opened so far.
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    const baton_limits_t *lim;
    uint64_t total;
} baton__mp_rd_t;

//  The checks every container gets, whatever its type, n its items (pairs
//  of a map), head the bytes of its tag: items limit, bytes remaining (every
//  value takes at least one byte: a count larger than what remains can only
//  be a lie), total limit, depth limit.
static inline int
baton__mp_check_container (baton__mp_rd_t *rd, uint64_t n, bool map, size_t head, size_t depth)
{
    const baton_limits_t *lim = rd->lim;
    if (n > lim->max_items)
        return BATON_ECOUNT;
    if ((map ? n * 2 : n) > (uint64_t) (rd->end - rd->p) - head)
        return BATON_ETRUNCATED;
    rd->total += n;
    if (rd->total > lim->max_total)
        return BATON_ETOTAL;
    if (depth > lim->max_depth)
        return BATON_EDEPTH;
    return 0;
}

//  The readers below take their most common form (fixmap, fixarray, fixstr,
//  positive fixint) inline, every other one in the _any function, which
//  reads every form.

//  Opens a map (pairs) or array (elements) at nesting level `depth` (the
//  document itself is level 1). Checks, in this order: items limit, bytes
//  remaining (every value takes at least one byte), total limit, depth limit,
//  then the type. Returns 0 or a BATON_E... code; on error the cursor is
//  unspecified and must not be used again.
int baton__mp_read_map_any (baton__mp_rd_t *rd, size_t depth, uint32_t *count);
int baton__mp_read_array_any (baton__mp_rd_t *rd, size_t depth, uint32_t *count);

//  A fixmap (fixarray, array) opened at depth, in place of a tag decode.
static inline int
baton__mp_read_fix (baton__mp_rd_t *rd, bool map, size_t depth, uint32_t *count)
{
    uint32_t n = *rd->p & 0x0fu;
    int rc = baton__mp_check_container (rd, n, map, 1, depth);
    if (rc)
        return rc;
    rd->p++;
    *count = n;
    return 0;
}

static inline int
baton__mp_read_map (baton__mp_rd_t *rd, size_t depth, uint32_t *count)
{
    if (rd->p < rd->end && (*rd->p & 0xf0) == 0x80)
        return baton__mp_read_fix (rd, true, depth, count);
    return baton__mp_read_map_any (rd, depth, count);
}

static inline int
baton__mp_read_array (baton__mp_rd_t *rd, size_t depth, uint32_t *count)
{
    if (rd->p < rd->end && (*rd->p & 0xf0) == 0x90)
        return baton__mp_read_fix (rd, false, depth, count);
    return baton__mp_read_array_any (rd, depth, count);
}

//  Reads a str (checked against max_str).
int baton__mp_read_str_any (baton__mp_rd_t *rd, baton_slice_t *out);

static inline int
baton__mp_read_str (baton__mp_rd_t *rd, baton_slice_t *out)
{
    //  A fixstr: under 32 bytes, below any sane max_str.
    if (rd->p < rd->end && (*rd->p & 0xe0) == 0xa0) {
        size_t len = *rd->p & 0x1fu;
        if (len > (size_t) (rd->end - rd->p) - 1)
            return BATON_ETRUNCATED;
        if (len > rd->lim->max_str)
            return BATON_ESTRLEN;
        out->ptr = (const char *) rd->p + 1;
        out->len = len;
        rd->p += 1 + len;
        return 0;
    }
    return baton__mp_read_str_any (rd, out);
}

//  Reads a bin (checked against max_bin), or a str (max_str) for writers
//  without bin.
int baton__mp_read_bytes (baton__mp_rd_t *rd, baton_slice_t *out);

//  Reads a non-negative integer.
int baton__mp_read_uint_any (baton__mp_rd_t *rd, uint64_t *out);

static inline int
baton__mp_read_uint (baton__mp_rd_t *rd, uint64_t *out)
{
    if (rd->p < rd->end && *rd->p <= 0x7f) {
        *out = *rd->p++;
        return 0;
    }
    return baton__mp_read_uint_any (rd, out);
}
//  Skips one complete value whose container is at level `depth` (0 for a
//  whole document), checking every limit on the way; iterative, no
//  recursion. Ext types and the never-used byte 0xc1 are malformed.
int baton__mp_skip (baton__mp_rd_t *rd, size_t depth);

//  Bytes of the smallest msgpack forms, the ones Baton writes: the tag before
//  n bytes of str, or of bin; the tag of an array or map of n items; an
//  unsigned integer v.
static inline size_t
baton__mp_str_tag (size_t n)
{
    return n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

static inline size_t
baton__mp_bin_tag (size_t n)
{
    return n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

static inline size_t
baton__mp_container_tag (size_t n)
{
    return n < 16 ? 1 : n <= UINT16_MAX ? 3 : 5;
}

static inline size_t
baton__mp_uint_size (uint64_t v)
{
    return v < 128 ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 : v <= UINT32_MAX ? 5 : 9;
}

//  Checks that data is exactly one well-formed document within lim.
int baton__mp_validate (const uint8_t *data, size_t len, const baton_limits_t *lim);

#endif
