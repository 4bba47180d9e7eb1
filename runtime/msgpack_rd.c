/*  msgpack_rd.c - bounded msgpack reading. msgpack-c 4.0 allocates from the
 *  counts a document declares, so 7 hostile bytes can ask it for gigabytes;
 *  this walker checks each count against limits and remaining bytes first.  */
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
baton_limits_default(void)
{
    baton_limits_t l = {S_MAX_SIZE, S_MAX_DEPTH, S_MAX_ITEMS, S_MAX_TOTAL,
                        S_MAX_STR,  S_MAX_BIN,   S_MAX_HOPS};
    return l;
}

void
baton__limits_resolve(const baton_limits_t *in, baton_limits_t *out)
{
    *out = baton_limits_default();
    if (!in) return;
    if (in->max_size) out->max_size = in->max_size;
    if (in->max_depth) out->max_depth = in->max_depth;
    if (out->max_depth > BATON__MP_MAX_DEPTH) out->max_depth = BATON__MP_MAX_DEPTH;
    if (in->max_items) out->max_items = in->max_items;
    if (in->max_total) out->max_total = in->max_total;
    if (in->max_str) out->max_str = in->max_str;
    if (in->max_bin) out->max_bin = in->max_bin;
    if (in->max_hops) out->max_hops = in->max_hops;
}

static inline uint64_t
s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

//  What one header byte (plus its length bytes) declares.
typedef enum { S_SCALAR, S_STR, S_BIN, S_ARRAY, S_MAP, S_EXT, S_BAD } s_kind_t;

typedef struct {
    s_kind_t kind;
    size_t head;     //  bytes of the header (type byte + length/payload bytes for scalars)
    uint64_t length; //  str/bin/ext payload bytes, or element count of array/map
} s_tag_t;

//  Decodes the tag at p. Returns 0, BATON_ETRUNCATED, or BATON_EMALFORMED.
static int
s_tag(const uint8_t *p, const uint8_t *end, s_tag_t *t)
{
    if (p >= end) return BATON_ETRUNCATED;
    uint8_t b = *p;
    size_t avail = (size_t)(end - p);
    t->length = 0;
    t->head = 1;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        t->kind = S_SCALAR;
        return 0;
    }
    if ((b & 0xe0) == 0xa0) {
        t->kind = S_STR;
        t->length = b & 0x1f;
        return 0;
    }
    if ((b & 0xf0) == 0x90) {
        t->kind = S_ARRAY;
        t->length = b & 0x0f;
        return 0;
    }
    if ((b & 0xf0) == 0x80) {
        t->kind = S_MAP;
        t->length = b & 0x0f;
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
    case 0xc7:
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        t->kind = S_EXT;
        return BATON_EMALFORMED;
    default: //  0xc1 is never used
        t->kind = S_BAD;
        return BATON_EMALFORMED;
    }
    if (lenbytes) {
        if (avail < (size_t)1 + (size_t)lenbytes) return BATON_ETRUNCATED;
        t->length = s_be(p + 1, lenbytes);
        t->head = 1 + (size_t)lenbytes;
    } else if (avail < t->head)
        return BATON_ETRUNCATED;
    return 0;
}

int
baton__mp_validate(const uint8_t *data, size_t len, const baton_limits_t *lim)
{
    if (len > lim->max_size) return BATON_ETOOBIG;
    //  left[d] = values still to read in the container open at depth d.
    uint64_t left[BATON__MP_MAX_DEPTH + 1];
    size_t depth = 0;
    uint64_t total = 0;
    left[0] = 1; //  the document itself is one value
    const uint8_t *p = data, *end = data + len;
    while (true) {
        while (depth > 0 && left[depth] == 0)
            depth--;
        if (left[depth] == 0) break; //  depth 0 done: the one document value is read
        left[depth]--;
        s_tag_t t;
        int rc = s_tag(p, end, &t);
        if (rc) return rc;
        size_t remain = (size_t)(end - p) - t.head;
        p += t.head;
        switch (t.kind) {
        case S_STR:
        case S_BIN:
            if (t.kind == S_STR && t.length > lim->max_str) return BATON_ESTRLEN;
            if (t.kind == S_BIN && t.length > lim->max_bin) return BATON_EBINLEN;
            if (t.length > remain) return BATON_ETRUNCATED;
            p += t.length;
            break;
        case S_ARRAY:
        case S_MAP: {
            if (t.length > lim->max_items) return BATON_ECOUNT;
            uint64_t values = t.kind == S_MAP ? t.length * 2 : t.length;
            //  Every value takes at least one byte: a count larger than what
            //  remains can only be a lie.
            if (values > remain) return BATON_ETRUNCATED;
            total += t.length;
            if (total > lim->max_total) return BATON_ETOTAL;
            if (depth + 1 > lim->max_depth) return BATON_EDEPTH;
            left[++depth] = values;
            break;
        }
        default:
            break;
        }
    }
    return p == end ? 0 : BATON_EMALFORMED;
}

int
baton_msgpack_validate(const void *data, size_t len, const baton_limits_t *limits)
{
    if (!data && len) return BATON_EINVAL;
    baton_limits_t lim;
    baton__limits_resolve(limits, &lim);
    return baton__mp_validate((const uint8_t *)data, len, &lim);
}

static int
s_read_container(baton__mp_rd_t *rd, s_kind_t want, uint32_t *count)
{
    s_tag_t t;
    int rc = s_tag(rd->p, rd->end, &t);
    if (rc) return rc;
    if (t.kind != want) return BATON_ETYPE;
    if (t.length > UINT32_MAX) return BATON_ECOUNT;
    rd->p += t.head;
    *count = (uint32_t)t.length;
    return 0;
}

int
baton__mp_read_map(baton__mp_rd_t *rd, uint32_t *count)
{
    return s_read_container(rd, S_MAP, count);
}

int
baton__mp_read_array(baton__mp_rd_t *rd, uint32_t *count)
{
    return s_read_container(rd, S_ARRAY, count);
}

static int
s_read_blob(baton__mp_rd_t *rd, baton_slice_t *out, bool allow_bin)
{
    s_tag_t t;
    int rc = s_tag(rd->p, rd->end, &t);
    if (rc) return rc;
    if (t.kind != S_STR && !(allow_bin && t.kind == S_BIN)) return BATON_ETYPE;
    if (t.length > (uint64_t)(rd->end - rd->p) - t.head) return BATON_ETRUNCATED;
    out->ptr = (const char *)rd->p + t.head;
    out->len = (size_t)t.length;
    rd->p += t.head + t.length;
    return 0;
}

int
baton__mp_read_str(baton__mp_rd_t *rd, baton_slice_t *out)
{
    return s_read_blob(rd, out, false);
}

int
baton__mp_read_bytes(baton__mp_rd_t *rd, baton_slice_t *out)
{
    return s_read_blob(rd, out, true);
}

int
baton__mp_read_uint(baton__mp_rd_t *rd, uint64_t *out)
{
    if (rd->p >= rd->end) return BATON_ETRUNCATED;
    uint8_t b = *rd->p;
    size_t n;
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
    if ((size_t)(rd->end - rd->p) < 1 + n) return BATON_ETRUNCATED;
    *out = s_be(rd->p + 1, (int)n);
    rd->p += 1 + n;
    return 0;
}

int
baton__mp_read_nil(baton__mp_rd_t *rd)
{
    if (rd->p < rd->end && *rd->p == 0xc0) {
        rd->p++;
        return 1;
    }
    return 0;
}

int
baton__mp_skip(baton__mp_rd_t *rd)
{
    uint64_t left[BATON__MP_MAX_DEPTH + 1];
    size_t depth = 0;
    left[0] = 1;
    const uint8_t *p = rd->p;
    while (true) {
        while (depth > 0 && left[depth] == 0)
            depth--;
        if (left[depth] == 0) break;
        left[depth]--;
        s_tag_t t;
        int rc = s_tag(p, rd->end, &t);
        if (rc) return rc;
        size_t remain = (size_t)(rd->end - p) - t.head;
        p += t.head;
        if (t.kind == S_STR || t.kind == S_BIN) {
            if (t.length > remain) return BATON_ETRUNCATED;
            p += t.length;
        } else if (t.kind == S_ARRAY || t.kind == S_MAP) {
            uint64_t values = t.kind == S_MAP ? t.length * 2 : t.length;
            if (values > remain) return BATON_ETRUNCATED;
            if (depth + 1 > BATON__MP_MAX_DEPTH) return BATON_EDEPTH;
            left[++depth] = values;
        }
    }
    rd->p = p;
    return 0;
}
