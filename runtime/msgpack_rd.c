/*  msgpack_rd.c - bounded msgpack reading. msgpack-c 4.0 allocates from the
 *  counts a document declares, so 7 hostile bytes can ask it for gigabytes;
 *  this reader checks each count against limits and remaining bytes first.  */
#include <string.h>
#include "msgpack_rd.h"

//  Defaults of baton_limits_t (documented in envelope.h and wire-format.md).
#define S_MAX_SIZE  (8u * 1024 * 1024)
#define S_MAX_DEPTH 16u
#define S_MAX_ITEMS 1024u
#define S_MAX_TOTAL 16384u
#define S_MAX_STR   (64u * 1024)
#define S_MAX_BIN   (8u * 1024 * 1024)
#define S_MAX_HOPS  64u

baton_limits_t
baton_limits_default (void)
{
    baton_limits_t l = {S_MAX_SIZE, S_MAX_DEPTH, S_MAX_ITEMS, S_MAX_TOTAL,
                        S_MAX_STR,  S_MAX_BIN,   S_MAX_HOPS};
    return l;
}

void
baton__limits_resolve (const baton_limits_t *in, baton_limits_t *out)
{
    *out = baton_limits_default ();
    if (!in)
        return;
    if (in->max_size)
        out->max_size = in->max_size;
    if (in->max_depth)
        out->max_depth = in->max_depth;
    if (in->max_items)
        out->max_items = in->max_items;
    if (in->max_total)
        out->max_total = in->max_total;
    if (in->max_str)
        out->max_str = in->max_str;
    if (in->max_bin)
        out->max_bin = in->max_bin;
    if (in->max_hops)
        out->max_hops = in->max_hops;
    if (out->max_depth > BATON__MP_MAX_DEPTH)
        out->max_depth = BATON__MP_MAX_DEPTH;
}

static inline uint64_t
s_be (const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

//  What one tag (type byte plus its length bytes) declares.
typedef enum { S_SCALAR, S_STR, S_BIN, S_ARRAY, S_MAP } s_kind_t;

typedef struct {
    s_kind_t kind;
    size_t head;     //  bytes of the tag; for scalars, the whole value
    uint64_t length; //  str/bin payload bytes, or element count of array/map
} s_tag_t;

//  Decodes the tag at p. Returns 0, BATON_ETRUNCATED or BATON_EMALFORMED.
static inline int
s_tag (const uint8_t *p, const uint8_t *end, s_tag_t *t)
{
    if (p >= end)
        return BATON_ETRUNCATED;
    uint8_t b = *p;
    t->length = 0;
    t->head = 1;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        t->kind = S_SCALAR;
        return 0;
    }
    if (b >= 0x80 && b <= 0xbf) {
        t->kind = b >= 0xa0 ? S_STR : b >= 0x90 ? S_ARRAY : S_MAP;
        t->length = b & (b >= 0xa0 ? 0x1f : 0x0f);
        return 0;
    }
    int lenbytes = 0;
    switch (b) {
    case 0xcc:
    case 0xd0:
        t->kind = S_SCALAR;
        t->head = 2;
        break;
    case 0xcd:
    case 0xd1:
        t->kind = S_SCALAR;
        t->head = 3;
        break;
    case 0xca:
    case 0xce:
    case 0xd2:
        t->kind = S_SCALAR;
        t->head = 5;
        break;
    case 0xcb:
    case 0xcf:
    case 0xd3:
        t->kind = S_SCALAR;
        t->head = 9;
        break;
    case 0xd9:
        t->kind = S_STR;
        lenbytes = 1;
        break;
    case 0xda:
        t->kind = S_STR;
        lenbytes = 2;
        break;
    case 0xdb:
        t->kind = S_STR;
        lenbytes = 4;
        break;
    case 0xc4:
        t->kind = S_BIN;
        lenbytes = 1;
        break;
    case 0xc5:
        t->kind = S_BIN;
        lenbytes = 2;
        break;
    case 0xc6:
        t->kind = S_BIN;
        lenbytes = 4;
        break;
    case 0xdc:
        t->kind = S_ARRAY;
        lenbytes = 2;
        break;
    case 0xdd:
        t->kind = S_ARRAY;
        lenbytes = 4;
        break;
    case 0xde:
        t->kind = S_MAP;
        lenbytes = 2;
        break;
    case 0xdf:
        t->kind = S_MAP;
        lenbytes = 4;
        break;
    default: //  ext types (0xc7-0xc9, 0xd4-0xd8) and the never-used 0xc1
        return BATON_EMALFORMED;
    }
    if ((size_t) (end - p) < t->head + (size_t) lenbytes)
        return BATON_ETRUNCATED;
    if (lenbytes) {
        t->length = s_be (p + 1, lenbytes);
        t->head = 1 + (size_t) lenbytes;
    }
    return 0;
}

//  Applies the checks every container gets, whatever its type.
static inline int
s_check_container (baton__mp_rd_t *rd, const s_tag_t *t, size_t depth)
{
    return baton__mp_check_container (rd, t->length, t->kind == S_MAP, t->head, depth);
}

//  Checks a str or bin payload length.
static inline int
s_check_blob (baton__mp_rd_t *rd, const s_tag_t *t)
{
    if (t->kind == S_STR && t->length > rd->lim->max_str)
        return BATON_ESTRLEN;
    if (t->kind == S_BIN && t->length > rd->lim->max_bin)
        return BATON_EBINLEN;
    if (t->length > (uint64_t) (rd->end - rd->p) - t->head)
        return BATON_ETRUNCATED;
    return 0;
}

static int
s_read_container (baton__mp_rd_t *rd, s_kind_t want, size_t depth, uint32_t *count)
{
    s_tag_t t;
    int rc = s_tag (rd->p, rd->end, &t);
    if (rc)
        return rc;
    if (t.kind == S_ARRAY || t.kind == S_MAP) {
        if ((rc = s_check_container (rd, &t, depth)))
            return rc;
    }
    if (t.kind != want)
        return BATON_ETYPE;
    rd->p += t.head;
    *count = (uint32_t) t.length; //  fits: at most max_items
    return 0;
}

int
baton__mp_read_map_any (baton__mp_rd_t *rd, size_t depth, uint32_t *count)
{
    return s_read_container (rd, S_MAP, depth, count);
}

int
baton__mp_read_array_any (baton__mp_rd_t *rd, size_t depth, uint32_t *count)
{
    return s_read_container (rd, S_ARRAY, depth, count);
}

static inline int
s_read_blob (baton__mp_rd_t *rd, baton_slice_t *out, bool allow_bin)
{
    s_tag_t t;
    int rc = s_tag (rd->p, rd->end, &t);
    if (rc)
        return rc;
    if (t.kind != S_STR && !(allow_bin && t.kind == S_BIN))
        return BATON_ETYPE;
    if ((rc = s_check_blob (rd, &t)))
        return rc;
    out->ptr = (const char *) rd->p + t.head;
    out->len = (size_t) t.length;
    rd->p += t.head + t.length;
    return 0;
}

int
baton__mp_read_str_any (baton__mp_rd_t *rd, baton_slice_t *out)
{
    return s_read_blob (rd, out, false);
}

int
baton__mp_read_bytes (baton__mp_rd_t *rd, baton_slice_t *out)
{
    return s_read_blob (rd, out, true);
}

int
baton__mp_read_uint_any (baton__mp_rd_t *rd, uint64_t *out)
{
    if (rd->p >= rd->end)
        return BATON_ETRUNCATED;
    uint8_t b = *rd->p;
    int n;
    if (b <= 0x7f) {
        *out = b;
        rd->p++;
        return 0;
    }
    switch (b) {
    case 0xcc:
        n = 1;
        break;
    case 0xcd:
        n = 2;
        break;
    case 0xce:
        n = 4;
        break;
    case 0xcf:
        n = 8;
        break;
    default:
        return BATON_ETYPE;
    }
    if ((size_t) (rd->end - rd->p) < 1 + (size_t) n)
        return BATON_ETRUNCATED;
    *out = s_be (rd->p + 1, n);
    rd->p += 1 + n;
    return 0;
}

int
baton__mp_skip (baton__mp_rd_t *rd, size_t depth)
{
    //  left[d] = values still to read in the container open at level d,
    //  counted from the level of the value being skipped.
    uint64_t left[BATON__MP_MAX_DEPTH + 2];
    size_t level = 0;
    left[0] = 1;
    while (true) {
        while (level > 0 && left[level] == 0)
            level--;
        if (left[level] == 0)
            return 0;
        left[level]--;
        s_tag_t t;
        int rc = s_tag (rd->p, rd->end, &t);
        if (rc)
            return rc;
        switch (t.kind) {
        case S_STR:
        case S_BIN:
            if ((rc = s_check_blob (rd, &t)))
                return rc;
            rd->p += t.head + t.length;
            break;
        case S_ARRAY:
        case S_MAP:
            //  depth + level + 1 is at most max_depth + 1 <= 65 here.
            if ((rc = s_check_container (rd, &t, depth + level + 1)))
                return rc;
            rd->p += t.head;
            left[++level] = t.kind == S_MAP ? t.length * 2 : t.length;
            break;
        default:
            rd->p += t.head;
            break;
        }
    }
}

int
baton__mp_validate (const uint8_t *data, size_t len, const baton_limits_t *lim)
{
    if (len > lim->max_size)
        return BATON_ETOOBIG;
    baton__mp_rd_t rd = {data, data + len, lim, 0};
    int rc = baton__mp_skip (&rd, 0);
    if (rc)
        return rc;
    return rd.p == rd.end ? 0 : BATON_EMALFORMED;
}

int
baton_msgpack_validate (const void *data, size_t len, const baton_limits_t *limits)
{
    if (!data && len)
        return BATON_EINVAL;
    baton_limits_t lim;
    baton__limits_resolve (limits, &lim);
    return baton__mp_validate ((const uint8_t *) data, len, &lim);
}
