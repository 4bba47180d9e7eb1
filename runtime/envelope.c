/*  envelope.c - the envelope model and its msgpack codec. Decoding is one
 *  bounded, validating read (msgpack_rd.h: every limit checked before anything
 *  is reserved) in place: strings, headers and bodies point into a private
 *  copy of the input, so a decode costs one allocation. Encoding sizes first,
 *  then writes in one pass.  */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "msgpack_rd.h"
#include "baton/envelope.h"

//  --- a bump arena for strings and arrays owned by one envelope ---------------

typedef struct s_chunk {
    struct s_chunk *next;
    size_t cap;
    size_t used;
    max_align_t data[]; //  aligned storage
} s_chunk_t;

#define S_INLINE_ARENA 768

typedef struct {
    s_chunk_t *chunks;
    size_t used;                                      //  of the inline block
    _Alignas(max_align_t) char block[S_INLINE_ARENA]; //  first block, no malloc
} s_arena_t;

static void *
s_arena_alloc (s_arena_t *a, size_t size)
{
    size = (size + 15u) & ~(size_t) 15u;
    if (size <= S_INLINE_ARENA - a->used) {
        void *p = a->block + a->used;
        a->used += size;
        return p;
    }
    s_chunk_t *c = a->chunks;
    if (c && size <= c->cap - c->used) {
        void *p = (char *) c->data + c->used;
        c->used += size;
        return p;
    }
    size_t cap = size > 4096 ? size : 4096;
    c = (s_chunk_t *) malloc (sizeof (s_chunk_t) + cap);
    if (!c)
        return NULL;
    c->cap = cap;
    c->used = size;
    c->next = a->chunks;
    a->chunks = c;
    return c->data;
}

static void
s_arena_free (s_arena_t *a)
{
    while (a->chunks) {
        s_chunk_t *next = a->chunks->next;
        free (a->chunks);
        a->chunks = next;
    }
    a->used = 0;
}

static int
s_dup (s_arena_t *a, baton_slice_t *dst, const char *src, size_t len)
{
    if (len == 0) {
        dst->ptr = "";
        dst->len = 0;
        return 0;
    }
    if (!src)
        return BATON_EINVAL;
    char *p = (char *) s_arena_alloc (a, len);
    if (!p)
        return BATON_ENOMEM;
    memcpy (p, src, len);
    dst->ptr = p;
    dst->len = len;
    return 0;
}

//  --- growable arrays in the arena ------------------------------------------------

typedef struct {
    void *items;
    uint32_t count;
    uint32_t cap;
} s_vec_t;

//  Makes room for one more item of size isz; returns it or NULL.
static void *
s_vec_push (s_arena_t *a, s_vec_t *v, size_t isz)
{
    if (v->count == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 4;
        void *items = s_arena_alloc (a, cap * isz);
        if (!items)
            return NULL;
        if (v->count)
            memcpy (items, v->items, v->count * isz);
        v->items = items;
        v->cap = cap;
    }
    return (char *) v->items + isz * v->count++;
}

static int
s_vec_reserve (s_arena_t *a, s_vec_t *v, uint32_t n, size_t isz)
{
    if (n <= v->cap)
        return 0;
    void *items = s_arena_alloc (a, n * isz);
    if (!items)
        return BATON_ENOMEM;
    v->items = items;
    v->cap = n;
    return 0;
}

//  --- the model --------------------------------------------------------------------

//  A body is either borrowed (points into the input copy) or owned (malloc).
typedef struct {
    baton_slice_t bytes;
    char *owned;
} s_body_t;

//  The sections that may carry keys this reader does not know.
enum { S_TOP, S_REQ, S_MSG, S_ERR, S_SECTIONS };

struct baton_envelope {
    uint64_t version;
    baton_slice_t id;
    baton_slice_t reply_to;
    s_vec_t route; //  baton_hop_t
    uint64_t index;
    uint64_t budget;
    uint64_t deadline_ms;
    baton_slice_t traceparent;
    s_vec_t record; //  baton_record_t
    s_vec_t meta;   //  baton_header_t (name = key)
    baton_slice_t method;
    baton_slice_t target;
    s_vec_t req_headers; //  baton_header_t
    s_body_t req_body;
    uint64_t status;
    s_vec_t headers; //  baton_header_t
    s_body_t body;
    bool has_error;
    uint64_t error_code;
    baton_slice_t error_text;
    baton_slice_t error_hop;
    s_vec_t unknown[S_SECTIONS]; //  baton_slice_t: raw bytes of key and value
    size_t max_hops;
    s_arena_t arena;
    size_t raw_len;
    _Alignas(max_align_t) char raw[]; //  copy of the decoded bytes
};

static baton_envelope_t *
s_alloc (size_t raw_len)
{
    baton_envelope_t *self = (baton_envelope_t *) malloc (sizeof (baton_envelope_t) + raw_len);
    if (!self)
        return NULL;
    //  Only the fields before the arena block need zeroing.
    memset (self, 0, offsetof (baton_envelope_t, arena));
    self->arena.chunks = NULL;
    self->arena.used = 0;
    self->raw_len = raw_len;
    self->version = BATON_ENVELOPE_VERSION;
    self->status = 200;
    self->max_hops = baton_limits_default ().max_hops;
    static const baton_slice_t empty = {"", 0};
    self->id = self->reply_to = self->traceparent = empty;
    self->method = self->target = self->error_text = self->error_hop = empty;
    self->req_body.bytes = self->body.bytes = empty;
    return self;
}

baton_envelope_t *
baton_envelope_new (void)
{
    return s_alloc (0);
}

void
baton_envelope_destroy (baton_envelope_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_envelope_t *self = *self_p;
    free (self->req_body.owned);
    free (self->body.owned);
    s_arena_free (&self->arena);
    free (self);
    *self_p = NULL;
}

//  --- decoding -------------------------------------------------------------------

//  Key names on the wire (docs/wire-format.md).
#define S_KEY(s) s, sizeof (s) - 1

static bool
s_key_is (baton_slice_t k, const char *name, size_t len)
{
    return k.len == len && memcmp (k.ptr, name, len) == 0;
}

typedef struct {
    baton_envelope_t *env;
    baton__mp_rd_t rd;
} s_dec_t;

//  Reads an array of [str, str] pairs into v (baton_header_t or baton_hop_t,
//  which share the layout of two slices).
static int
s_read_pairs (s_dec_t *d, s_vec_t *v, size_t max, size_t depth)
{
    uint32_t n;
    int rc = baton__mp_read_array (&d->rd, depth, &n);
    if (rc)
        return rc;
    if (n > max)
        return BATON_EROUTE;
    if ((rc = s_vec_reserve (&d->env->arena, v, n, sizeof (baton_header_t))))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t two;
        if ((rc = baton__mp_read_array (&d->rd, depth + 1, &two)))
            return rc;
        if (two != 2)
            return BATON_ETYPE;
        baton_header_t *h = (baton_header_t *) v->items + i;
        if ((rc = baton__mp_read_str (&d->rd, &h->name)) ||
            (rc = baton__mp_read_str (&d->rd, &h->value)))
            return rc;
    }
    v->count = n;
    return 0;
}

static int
s_read_record (s_dec_t *d)
{
    uint32_t n;
    int rc = baton__mp_read_array (&d->rd, 2, &n);
    if (rc)
        return rc;
    if (n > d->env->max_hops)
        return BATON_EROUTE;
    s_vec_t *v = &d->env->record;
    if ((rc = s_vec_reserve (&d->env->arena, v, n, sizeof (baton_record_t))))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        if ((rc = baton__mp_read_array (&d->rd, 3, &three)))
            return rc;
        if (three != 3)
            return BATON_ETYPE;
        baton_record_t *r = (baton_record_t *) v->items + i;
        if ((rc = baton__mp_read_str (&d->rd, &r->name)) ||
            (rc = baton__mp_read_uint (&d->rd, &r->t_in_us)) ||
            (rc = baton__mp_read_uint (&d->rd, &r->t_out_us)))
            return rc;
    }
    v->count = n;
    return 0;
}

static int
s_read_meta (s_dec_t *d)
{
    uint32_t n;
    int rc = baton__mp_read_map (&d->rd, 2, &n);
    if (rc)
        return rc;
    s_vec_t *v = &d->env->meta;
    if ((rc = s_vec_reserve (&d->env->arena, v, n, sizeof (baton_header_t))))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        baton_header_t *m = (baton_header_t *) v->items + i;
        if ((rc = baton__mp_read_str (&d->rd, &m->name)) ||
            (rc = baton__mp_read_bytes (&d->rd, &m->value)))
            return rc;
        for (uint32_t j = 0; j < i; j++) {
            baton_header_t *o = (baton_header_t *) v->items + j;
            if (o->name.len == m->name.len && memcmp (o->name.ptr, m->name.ptr, m->name.len) == 0)
                return BATON_EDUPKEY;
        }
    }
    v->count = n;
    return 0;
}

//  Keeps the key at key_start and the value after it verbatim.
static int
s_keep_unknown (s_dec_t *d, int section, const uint8_t *key_start)
{
    //  The value's container is the top map (level 1) or a section (level 2).
    int rc = baton__mp_skip (&d->rd, section == S_TOP ? 1 : 2);
    if (rc)
        return rc;
    baton_slice_t *raw = (baton_slice_t *) s_vec_push (&d->env->arena, &d->env->unknown[section],
                                                       sizeof (baton_slice_t));
    if (!raw)
        return BATON_ENOMEM;
    raw->ptr = (const char *) key_start;
    raw->len = (size_t) (d->rd.p - key_start);
    return 0;
}

//  Marks a key seen; a second sighting is an error.
#define S_ONCE(bit)                                                                                \
    do {                                                                                           \
        if (seen & (1u << (bit)))                                                                  \
            return BATON_EDUPKEY;                                                                  \
        seen |= 1u << (bit);                                                                       \
    } while (0)

static int
s_read_request (s_dec_t *d)
{
    baton_envelope_t *e = d->env;
    uint32_t n, seen = 0;
    int rc = baton__mp_read_map (&d->rd, 2, &n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *key_start = d->rd.p;
        baton_slice_t k;
        if ((rc = baton__mp_read_str (&d->rd, &k)))
            break;
        if (s_key_is (k, S_KEY ("method"))) {
            S_ONCE (0);
            rc = baton__mp_read_str (&d->rd, &e->method);
        } else if (s_key_is (k, S_KEY ("target"))) {
            S_ONCE (1);
            rc = baton__mp_read_str (&d->rd, &e->target);
        } else if (s_key_is (k, S_KEY ("headers"))) {
            S_ONCE (2);
            rc = s_read_pairs (d, &e->req_headers, UINT32_MAX, 3);
        } else if (s_key_is (k, S_KEY ("body"))) {
            S_ONCE (3);
            rc = baton__mp_read_bytes (&d->rd, &e->req_body.bytes);
        } else
            rc = s_keep_unknown (d, S_REQ, key_start);
    }
    return rc;
}

static int
s_read_message (s_dec_t *d)
{
    baton_envelope_t *e = d->env;
    uint32_t n, seen = 0;
    int rc = baton__mp_read_map (&d->rd, 2, &n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *key_start = d->rd.p;
        baton_slice_t k;
        if ((rc = baton__mp_read_str (&d->rd, &k)))
            break;
        if (s_key_is (k, S_KEY ("status"))) {
            S_ONCE (0);
            rc = baton__mp_read_uint (&d->rd, &e->status);
            if (!rc && (e->status < 100 || e->status > 999))
                rc = BATON_ETYPE;
        } else if (s_key_is (k, S_KEY ("headers"))) {
            S_ONCE (1);
            rc = s_read_pairs (d, &e->headers, UINT32_MAX, 3);
        } else if (s_key_is (k, S_KEY ("body"))) {
            S_ONCE (2);
            rc = baton__mp_read_bytes (&d->rd, &e->body.bytes);
        } else
            rc = s_keep_unknown (d, S_MSG, key_start);
    }
    return rc;
}

static int
s_read_error (s_dec_t *d)
{
    baton_envelope_t *e = d->env;
    uint32_t n, seen = 0;
    int rc = baton__mp_read_map (&d->rd, 2, &n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *key_start = d->rd.p;
        baton_slice_t k;
        if ((rc = baton__mp_read_str (&d->rd, &k)))
            break;
        if (s_key_is (k, S_KEY ("code"))) {
            S_ONCE (0);
            rc = baton__mp_read_uint (&d->rd, &e->error_code);
        } else if (s_key_is (k, S_KEY ("text"))) {
            S_ONCE (1);
            rc = baton__mp_read_str (&d->rd, &e->error_text);
        } else if (s_key_is (k, S_KEY ("hop"))) {
            S_ONCE (2);
            rc = baton__mp_read_str (&d->rd, &e->error_hop);
        } else
            rc = s_keep_unknown (d, S_ERR, key_start);
    }
    if (!rc && !(seen & 1u))
        rc = BATON_EMISSING;
    e->has_error = rc == 0;
    return rc;
}

//  Bits of the top-level keys, for duplicate and required checks.
enum {
    K_V,
    K_ID,
    K_REPLY,
    K_ROUTE,
    K_INDEX,
    K_BUDGET,
    K_DEADLINE,
    K_TRACE,
    K_RECORD,
    K_META,
    K_REQUEST,
    K_MESSAGE,
    K_ERROR
};
#define S_REQUIRED                                                                                 \
    ((1u << K_V) | (1u << K_ID) | (1u << K_REPLY) | (1u << K_ROUTE) | (1u << K_INDEX) |            \
     (1u << K_BUDGET) | (1u << K_DEADLINE))

static int
s_read_top (s_dec_t *d)
{
    baton_envelope_t *e = d->env;
    uint32_t n, seen = 0;
    int rc = baton__mp_read_map (&d->rd, 1, &n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *key_start = d->rd.p;
        baton_slice_t k;
        if ((rc = baton__mp_read_str (&d->rd, &k)))
            break;
        //  Dispatch on length first: most keys differ there already.
        if (s_key_is (k, S_KEY ("v"))) {
            S_ONCE (K_V);
            rc = baton__mp_read_uint (&d->rd, &e->version);
            if (!rc && e->version != BATON_ENVELOPE_VERSION)
                rc = BATON_EVERSION;
        } else if (s_key_is (k, S_KEY ("id"))) {
            S_ONCE (K_ID);
            rc = baton__mp_read_str (&d->rd, &e->id);
        } else if (s_key_is (k, S_KEY ("reply_to"))) {
            S_ONCE (K_REPLY);
            rc = baton__mp_read_str (&d->rd, &e->reply_to);
        } else if (s_key_is (k, S_KEY ("route"))) {
            S_ONCE (K_ROUTE);
            rc = s_read_pairs (d, &e->route, e->max_hops, 2);
        } else if (s_key_is (k, S_KEY ("index"))) {
            S_ONCE (K_INDEX);
            rc = baton__mp_read_uint (&d->rd, &e->index);
        } else if (s_key_is (k, S_KEY ("budget"))) {
            S_ONCE (K_BUDGET);
            rc = baton__mp_read_uint (&d->rd, &e->budget);
        } else if (s_key_is (k, S_KEY ("deadline"))) {
            S_ONCE (K_DEADLINE);
            rc = baton__mp_read_uint (&d->rd, &e->deadline_ms);
        } else if (s_key_is (k, S_KEY ("traceparent"))) {
            S_ONCE (K_TRACE);
            rc = baton__mp_read_str (&d->rd, &e->traceparent);
        } else if (s_key_is (k, S_KEY ("record"))) {
            S_ONCE (K_RECORD);
            rc = s_read_record (d);
        } else if (s_key_is (k, S_KEY ("meta"))) {
            S_ONCE (K_META);
            rc = s_read_meta (d);
        } else if (s_key_is (k, S_KEY ("request"))) {
            S_ONCE (K_REQUEST);
            rc = s_read_request (d);
        } else if (s_key_is (k, S_KEY ("message"))) {
            S_ONCE (K_MESSAGE);
            rc = s_read_message (d);
        } else if (s_key_is (k, S_KEY ("error"))) {
            S_ONCE (K_ERROR);
            rc = s_read_error (d);
        } else
            rc = s_keep_unknown (d, S_TOP, key_start);
    }
    if (rc)
        return rc;
    //  The version is checked first so a newer writer gets EVERSION, not EMISSING.
    if (!(seen & (1u << K_V)))
        return BATON_EMISSING;
    if ((seen & S_REQUIRED) != S_REQUIRED)
        return BATON_EMISSING;
    if (e->index > e->route.count)
        return BATON_EROUTE;
    return 0;
}

baton_envelope_t *
baton_envelope_decode (const void *data, size_t len, const baton_limits_t *limits, int *err)
{
    int rc;
    baton_envelope_t *self = NULL;
    baton_limits_t lim;
    baton__limits_resolve (limits, &lim);
    if (!data && len) {
        rc = BATON_EINVAL;
        goto out;
    }
    if (len > lim.max_size) {
        rc = BATON_ETOOBIG;
        goto out;
    }
    uint8_t first = len ? *(const uint8_t *) data : 0;
    if (len == 0 || !((first & 0xf0) == 0x80 || first == 0xde || first == 0xdf)) {
        //  Not a map: say precisely what is wrong with it, else that it is
        //  the wrong type of document.
        rc = baton__mp_validate ((const uint8_t *) data, len, &lim);
        if (rc == 0)
            rc = BATON_ETYPE;
        goto out;
    }
    self = s_alloc (len);
    if (!self) {
        rc = BATON_ENOMEM;
        goto out;
    }
    self->max_hops = lim.max_hops;
    memcpy (self->raw, data, len);
    //  One pass: the reader checks every count and length against the limits
    //  and the bytes left before anything is reserved for it.
    s_dec_t d = {self, {(const uint8_t *) self->raw, (const uint8_t *) self->raw + len, &lim, 0}};
    rc = s_read_top (&d);
    if (!rc && d.rd.p != d.rd.end)
        rc = BATON_EMALFORMED; //  bytes after the document
out:
    if (rc)
        baton_envelope_destroy (&self);
    if (err)
        *err = rc;
    return self;
}

//  --- encoding ---------------------------------------------------------------------

//  The writer behind encoding: counts only (dst NULL), writes into a fixed
//  buffer (sets failed when it runs out), or grows a malloc'd one. Written
//  here rather than through msgpack-c's packer, whose callback per item cost
//  more than the whole decode (bench/bench_envelope.c).
typedef struct {
    uint8_t *dst;
    size_t len;
    size_t cap;
    bool grow;
    bool failed;
} s_out_t;

//  Makes room for n more bytes; false if it cannot (the put is then skipped).
static bool
s_grow (s_out_t *o, size_t n)
{
    if (!o->grow || o->failed)
        return false;
    size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n;
    uint8_t *bigger = (uint8_t *) realloc (o->dst, cap);
    if (!bigger)
        return false;
    o->dst = bigger;
    o->cap = cap;
    return true;
}

static inline uint8_t *
s_room (s_out_t *o, size_t n)
{
    if (n > o->cap - o->len && !s_grow (o, n)) {
        o->failed = true;
        o->len += n;
        return NULL;
    }
    uint8_t *p = o->dst ? o->dst + o->len : NULL;
    o->len += n;
    return p;
}

static inline void
s_put (s_out_t *o, const void *src, size_t n)
{
    uint8_t *p = s_room (o, n);
    if (p && n)
        memcpy (p, src, n);
}

//  A type byte followed by an n-byte big-endian value.
static inline void
s_put_head (s_out_t *o, uint8_t type, uint64_t v, int n)
{
    uint8_t *p = s_room (o, 1 + (size_t) n);
    if (p) {
        p[0] = type;
        for (int i = n; i > 0; i--, v >>= 8)
            p[i] = (uint8_t) v;
    }
}

static void
s_put_uint (s_out_t *o, uint64_t v)
{
    if (v < 128)
        s_put_head (o, (uint8_t) v, 0, 0);
    else if (v <= UINT8_MAX)
        s_put_head (o, 0xcc, v, 1);
    else if (v <= UINT16_MAX)
        s_put_head (o, 0xcd, v, 2);
    else if (v <= UINT32_MAX)
        s_put_head (o, 0xce, v, 4);
    else
        s_put_head (o, 0xcf, v, 8);
}

static void
s_put_str (s_out_t *o, const char *ptr, size_t len)
{
    if (len < 32)
        s_put_head (o, (uint8_t) (0xa0 | len), 0, 0);
    else if (len <= UINT8_MAX)
        s_put_head (o, 0xd9, len, 1);
    else if (len <= UINT16_MAX)
        s_put_head (o, 0xda, len, 2);
    else
        s_put_head (o, 0xdb, len, 4);
    s_put (o, ptr, len);
}

static void
s_put_bin (s_out_t *o, baton_slice_t s)
{
    if (s.len <= UINT8_MAX)
        s_put_head (o, 0xc4, s.len, 1);
    else if (s.len <= UINT16_MAX)
        s_put_head (o, 0xc5, s.len, 2);
    else
        s_put_head (o, 0xc6, s.len, 4);
    s_put (o, s.ptr, s.len);
}

static void
s_put_container (s_out_t *o, bool map, size_t n)
{
    if (n < 16)
        s_put_head (o, (uint8_t) ((map ? 0x80 : 0x90) | n), 0, 0);
    else if (n <= UINT16_MAX)
        s_put_head (o, map ? 0xde : 0xdc, n, 2);
    else
        s_put_head (o, map ? 0xdf : 0xdd, n, 4);
}

#define s_put_key(o, k) s_put_str ((o), S_KEY (k))

static void
s_pack_pairs (s_out_t *o, const s_vec_t *v)
{
    s_put_container (o, false, v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        const baton_header_t *h = (const baton_header_t *) v->items + i;
        s_put_container (o, false, 2);
        s_put_str (o, h->name.ptr, h->name.len);
        s_put_str (o, h->value.ptr, h->value.len);
    }
}

static void
s_pack_unknown (s_out_t *o, const s_vec_t *v)
{
    for (uint32_t i = 0; i < v->count; i++) {
        const baton_slice_t *raw = (const baton_slice_t *) v->items + i;
        s_put (o, raw->ptr, raw->len);
    }
}

static void
s_pack (const baton_envelope_t *e, s_out_t *o)
{
    size_t top = 9 + (e->traceparent.len > 0) + (e->record.count > 0) + (e->meta.count > 0) +
                 e->has_error + e->unknown[S_TOP].count;
    s_put_container (o, true, top);
    s_put_key (o, "v");
    s_put_uint (o, e->version);
    s_put_key (o, "id");
    s_put_str (o, e->id.ptr, e->id.len);
    s_put_key (o, "reply_to");
    s_put_str (o, e->reply_to.ptr, e->reply_to.len);
    s_put_key (o, "route");
    s_pack_pairs (o, &e->route);
    s_put_key (o, "index");
    s_put_uint (o, e->index);
    s_put_key (o, "budget");
    s_put_uint (o, e->budget);
    s_put_key (o, "deadline");
    s_put_uint (o, e->deadline_ms);
    if (e->traceparent.len) {
        s_put_key (o, "traceparent");
        s_put_str (o, e->traceparent.ptr, e->traceparent.len);
    }
    if (e->record.count) {
        s_put_key (o, "record");
        s_put_container (o, false, e->record.count);
        for (uint32_t i = 0; i < e->record.count; i++) {
            const baton_record_t *r = (const baton_record_t *) e->record.items + i;
            s_put_container (o, false, 3);
            s_put_str (o, r->name.ptr, r->name.len);
            s_put_uint (o, r->t_in_us);
            s_put_uint (o, r->t_out_us);
        }
    }
    if (e->meta.count) {
        s_put_key (o, "meta");
        s_put_container (o, true, e->meta.count);
        for (uint32_t i = 0; i < e->meta.count; i++) {
            const baton_header_t *m = (const baton_header_t *) e->meta.items + i;
            s_put_str (o, m->name.ptr, m->name.len);
            s_put_bin (o, m->value);
        }
    }
    s_put_key (o, "request");
    s_put_container (o, true, 3 + (e->req_body.bytes.len > 0) + e->unknown[S_REQ].count);
    s_put_key (o, "method");
    s_put_str (o, e->method.ptr, e->method.len);
    s_put_key (o, "target");
    s_put_str (o, e->target.ptr, e->target.len);
    s_put_key (o, "headers");
    s_pack_pairs (o, &e->req_headers);
    if (e->req_body.bytes.len) {
        s_put_key (o, "body");
        s_put_bin (o, e->req_body.bytes);
    }
    s_pack_unknown (o, &e->unknown[S_REQ]);
    s_put_key (o, "message");
    s_put_container (o, true, 3 + e->unknown[S_MSG].count);
    s_put_key (o, "status");
    s_put_uint (o, e->status);
    s_put_key (o, "headers");
    s_pack_pairs (o, &e->headers);
    s_put_key (o, "body");
    s_put_bin (o, e->body.bytes);
    s_pack_unknown (o, &e->unknown[S_MSG]);
    if (e->has_error) {
        s_put_key (o, "error");
        s_put_container (o, true, 3 + e->unknown[S_ERR].count);
        s_put_key (o, "code");
        s_put_uint (o, e->error_code);
        s_put_key (o, "text");
        s_put_str (o, e->error_text.ptr, e->error_text.len);
        s_put_key (o, "hop");
        s_put_str (o, e->error_hop.ptr, e->error_hop.len);
        s_pack_unknown (o, &e->unknown[S_ERR]);
    }
    s_pack_unknown (o, &e->unknown[S_TOP]);
}

size_t
baton_envelope_encoded_size (const baton_envelope_t *self)
{
    s_out_t o = {NULL, 0, SIZE_MAX, false, false};
    s_pack (self, &o);
    return o.len;
}

size_t
baton_envelope_encode_into (const baton_envelope_t *self, void *dst, size_t cap)
{
    if (!dst)
        return 0;
    s_out_t o = {(uint8_t *) dst, 0, cap, false, false};
    s_pack (self, &o);
    return o.failed ? 0 : o.len;
}

int
baton_envelope_encode (const baton_envelope_t *self, void **data_p, size_t *len_p)
{
    //  One pass into a buffer sized from what was decoded plus the bodies;
    //  it grows if setters added more than that.
    size_t guess = self->raw_len + self->body.bytes.len + self->req_body.bytes.len + 512;
    s_out_t o = {(uint8_t *) malloc (guess), 0, guess, true, false};
    if (!o.dst)
        return BATON_ENOMEM;
    s_pack (self, &o);
    if (o.failed) {
        free (o.dst);
        return BATON_ENOMEM;
    }
    *data_p = o.dst;
    *len_p = o.len;
    return 0;
}

//  --- accessors -------------------------------------------------------------------

static const baton_slice_t s_empty = {"", 0};

uint64_t
baton_envelope_version (const baton_envelope_t *self)
{
    return self->version;
}

baton_slice_t
baton_envelope_id (const baton_envelope_t *self)
{
    return self->id;
}

int
baton_envelope_set_id (baton_envelope_t *self, const char *id, size_t len)
{
    return s_dup (&self->arena, &self->id, id, len);
}

baton_slice_t
baton_envelope_reply_to (const baton_envelope_t *self)
{
    return self->reply_to;
}

int
baton_envelope_set_reply_to (baton_envelope_t *self, const char *ep, size_t len)
{
    return s_dup (&self->arena, &self->reply_to, ep, len);
}

size_t
baton_envelope_route_count (const baton_envelope_t *self)
{
    return self->route.count;
}

baton_hop_t
baton_envelope_route_hop (const baton_envelope_t *self, size_t i)
{
    if (i >= self->route.count) {
        baton_hop_t none = {s_empty, s_empty};
        return none;
    }
    //  Hops are stored as header pairs (one layout for every pair vector).
    const baton_header_t *h = (const baton_header_t *) self->route.items + i;
    baton_hop_t hop = {h->name, h->value};
    return hop;
}

//  Appends a pair of copied strings to v (headers, hops and meta share it).
static int
s_push_pair (baton_envelope_t *self, s_vec_t *v, const char *a, size_t alen, const char *b,
             size_t blen)
{
    baton_header_t h;
    int rc = s_dup (&self->arena, &h.name, a, alen);
    if (!rc)
        rc = s_dup (&self->arena, &h.value, b, blen);
    if (rc)
        return rc;
    baton_header_t *slot = (baton_header_t *) s_vec_push (&self->arena, v, sizeof h);
    if (!slot)
        return BATON_ENOMEM;
    *slot = h;
    return 0;
}

int
baton_envelope_route_append (baton_envelope_t *self, const char *name, size_t name_len,
                             const char *endpoint, size_t endpoint_len)
{
    if (self->route.count >= self->max_hops)
        return BATON_EROUTE;
    return s_push_pair (self, &self->route, name, name_len, endpoint, endpoint_len);
}

int
baton_envelope_route_set_endpoint (baton_envelope_t *self, size_t i, const char *endpoint,
                                   size_t endpoint_len)
{
    if (i >= self->route.count)
        return BATON_EROUTE;
    baton_header_t *h = (baton_header_t *) self->route.items + i;
    return s_dup (&self->arena, &h->value, endpoint, endpoint_len);
}

size_t
baton_envelope_index (const baton_envelope_t *self)
{
    return (size_t) self->index;
}

int
baton_envelope_set_index (baton_envelope_t *self, size_t index)
{
    if (index > self->route.count)
        return BATON_EROUTE;
    self->index = index;
    return 0;
}

uint64_t
baton_envelope_budget (const baton_envelope_t *self)
{
    return self->budget;
}

void
baton_envelope_set_budget (baton_envelope_t *self, uint64_t budget)
{
    self->budget = budget;
}

uint64_t
baton_envelope_deadline_ms (const baton_envelope_t *self)
{
    return self->deadline_ms;
}

void
baton_envelope_set_deadline_ms (baton_envelope_t *self, uint64_t deadline_ms)
{
    self->deadline_ms = deadline_ms;
}

int
baton_envelope_advance (baton_envelope_t *self, uint64_t t_in_us, uint64_t t_out_us)
{
    if (self->index >= self->route.count)
        return BATON_EROUTE;
    if (self->budget == 0)
        return BATON_EBUDGET;
    baton_hop_t hop = baton_envelope_route_hop (self, (size_t) self->index);
    int rc = baton_envelope_record_append (self, hop.name.ptr, hop.name.len, t_in_us, t_out_us);
    if (rc)
        return rc;
    self->index++;
    self->budget--;
    return 0;
}

bool
baton_envelope_route_done (const baton_envelope_t *self)
{
    return self->index >= self->route.count;
}

baton_slice_t
baton_envelope_traceparent (const baton_envelope_t *self)
{
    return self->traceparent;
}

int
baton_envelope_set_traceparent (baton_envelope_t *self, const char *tp, size_t len)
{
    return s_dup (&self->arena, &self->traceparent, tp, len);
}

size_t
baton_envelope_record_count (const baton_envelope_t *self)
{
    return self->record.count;
}

baton_record_t
baton_envelope_record (const baton_envelope_t *self, size_t i)
{
    if (i >= self->record.count) {
        baton_record_t none = {s_empty, 0, 0};
        return none;
    }
    return ((const baton_record_t *) self->record.items)[i];
}

int
baton_envelope_record_append (baton_envelope_t *self, const char *name, size_t name_len,
                              uint64_t t_in_us, uint64_t t_out_us)
{
    if (self->record.count >= self->max_hops)
        return BATON_EROUTE;
    baton_record_t r = {s_empty, t_in_us, t_out_us};
    int rc = s_dup (&self->arena, &r.name, name, name_len);
    if (rc)
        return rc;
    baton_record_t *slot = (baton_record_t *) s_vec_push (&self->arena, &self->record, sizeof r);
    if (!slot)
        return BATON_ENOMEM;
    *slot = r;
    return 0;
}

//  --- meta ------------------------------------------------------------------------

size_t
baton_envelope_meta_count (const baton_envelope_t *self)
{
    return self->meta.count;
}

baton_header_t
baton_envelope_meta_at (const baton_envelope_t *self, size_t i)
{
    if (i >= self->meta.count) {
        baton_header_t none = {s_empty, s_empty};
        return none;
    }
    return ((const baton_header_t *) self->meta.items)[i];
}

static baton_header_t *
s_meta_find (const baton_envelope_t *self, const char *key, size_t key_len)
{
    baton_header_t *m = (baton_header_t *) self->meta.items;
    for (uint32_t i = 0; i < self->meta.count; i++)
        if (m[i].name.len == key_len && memcmp (m[i].name.ptr, key, key_len) == 0)
            return &m[i];
    return NULL;
}

bool
baton_envelope_meta_get (const baton_envelope_t *self, const char *key, size_t key_len,
                         baton_slice_t *value)
{
    const baton_header_t *m = s_meta_find (self, key, key_len);
    if (m && value)
        *value = m->value;
    return m != NULL;
}

int
baton_envelope_meta_set (baton_envelope_t *self, const char *key, size_t key_len, const void *value,
                         size_t value_len)
{
    if (!key || key_len == 0)
        return BATON_EINVAL;
    baton_header_t *m = s_meta_find (self, key, key_len);
    if (m)
        return s_dup (&self->arena, &m->value, (const char *) value, value_len);
    return s_push_pair (self, &self->meta, key, key_len, (const char *) value, value_len);
}

//  Removes the items of v for which drop () holds, keeping order.
static size_t
s_remove_pairs (s_vec_t *v, const char *name, size_t len, bool nocase)
{
    baton_header_t *h = (baton_header_t *) v->items;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        bool same = h[i].name.len == len && (nocase ? strncasecmp (h[i].name.ptr, name, len) == 0
                                                    : memcmp (h[i].name.ptr, name, len) == 0);
        if (!same)
            h[kept++] = h[i];
    }
    size_t removed = v->count - kept;
    v->count = kept;
    return removed;
}

bool
baton_envelope_meta_remove (baton_envelope_t *self, const char *key, size_t key_len)
{
    return s_remove_pairs (&self->meta, key, key_len, false) > 0;
}

//  --- request ---------------------------------------------------------------------

static bool
s_find_header (const s_vec_t *v, const char *name, size_t len, baton_slice_t *value)
{
    const baton_header_t *h = (const baton_header_t *) v->items;
    for (uint32_t i = 0; i < v->count; i++)
        if (h[i].name.len == len && strncasecmp (h[i].name.ptr, name, len) == 0) {
            if (value)
                *value = h[i].value;
            return true;
        }
    return false;
}

static baton_header_t
s_header_at (const s_vec_t *v, size_t i)
{
    if (i >= v->count) {
        baton_header_t none = {s_empty, s_empty};
        return none;
    }
    return ((const baton_header_t *) v->items)[i];
}

baton_slice_t
baton_envelope_request_method (const baton_envelope_t *self)
{
    return self->method;
}

baton_slice_t
baton_envelope_request_target (const baton_envelope_t *self)
{
    return self->target;
}

size_t
baton_envelope_request_header_count (const baton_envelope_t *self)
{
    return self->req_headers.count;
}

baton_header_t
baton_envelope_request_header (const baton_envelope_t *self, size_t i)
{
    return s_header_at (&self->req_headers, i);
}

bool
baton_envelope_request_header_find (const baton_envelope_t *self, const char *name, size_t name_len,
                                    baton_slice_t *value)
{
    return s_find_header (&self->req_headers, name, name_len, value);
}

baton_slice_t
baton_envelope_request_body (const baton_envelope_t *self)
{
    return self->req_body.bytes;
}

int
baton_envelope_set_request (baton_envelope_t *self, const char *method, size_t method_len,
                            const char *target, size_t target_len)
{
    int rc = s_dup (&self->arena, &self->method, method, method_len);
    return rc ? rc : s_dup (&self->arena, &self->target, target, target_len);
}

int
baton_envelope_request_add_header (baton_envelope_t *self, const char *name, size_t name_len,
                                   const char *value, size_t value_len)
{
    return s_push_pair (self, &self->req_headers, name, name_len, value, value_len);
}

static int
s_set_body (s_body_t *b, const void *body, size_t len)
{
    if (len && !body)
        return BATON_EINVAL;
    char *copy = NULL;
    if (len) {
        copy = (char *) malloc (len);
        if (!copy)
            return BATON_ENOMEM;
        memcpy (copy, body, len);
    }
    free (b->owned);
    b->owned = copy;
    b->bytes.ptr = copy ? copy : "";
    b->bytes.len = len;
    return 0;
}

int
baton_envelope_set_request_body (baton_envelope_t *self, const void *body, size_t len)
{
    return s_set_body (&self->req_body, body, len);
}

//  --- message ----------------------------------------------------------------------

unsigned
baton_envelope_status (const baton_envelope_t *self)
{
    return (unsigned) self->status;
}

void
baton_envelope_set_status (baton_envelope_t *self, unsigned status)
{
    self->status = status;
}

size_t
baton_envelope_header_count (const baton_envelope_t *self)
{
    return self->headers.count;
}

baton_header_t
baton_envelope_header (const baton_envelope_t *self, size_t i)
{
    return s_header_at (&self->headers, i);
}

bool
baton_envelope_header_find (const baton_envelope_t *self, const char *name, size_t name_len,
                            baton_slice_t *value)
{
    return s_find_header (&self->headers, name, name_len, value);
}

int
baton_envelope_add_header (baton_envelope_t *self, const char *name, size_t name_len,
                           const char *value, size_t value_len)
{
    return s_push_pair (self, &self->headers, name, name_len, value, value_len);
}

int
baton_envelope_set_header (baton_envelope_t *self, const char *name, size_t name_len,
                           const char *value, size_t value_len)
{
    s_remove_pairs (&self->headers, name, name_len, true);
    return s_push_pair (self, &self->headers, name, name_len, value, value_len);
}

size_t
baton_envelope_remove_header (baton_envelope_t *self, const char *name, size_t name_len)
{
    return s_remove_pairs (&self->headers, name, name_len, true);
}

void
baton_envelope_clear_headers (baton_envelope_t *self)
{
    self->headers.count = 0;
}

baton_slice_t
baton_envelope_body (const baton_envelope_t *self)
{
    return self->body.bytes;
}

int
baton_envelope_set_body (baton_envelope_t *self, const void *body, size_t len)
{
    return s_set_body (&self->body, body, len);
}

//  --- error --------------------------------------------------------------------------

bool
baton_envelope_has_error (const baton_envelope_t *self)
{
    return self->has_error;
}

unsigned
baton_envelope_error_code (const baton_envelope_t *self)
{
    return (unsigned) self->error_code;
}

baton_slice_t
baton_envelope_error_text (const baton_envelope_t *self)
{
    return self->error_text;
}

baton_slice_t
baton_envelope_error_hop (const baton_envelope_t *self)
{
    return self->error_hop;
}

int
baton_envelope_set_error (baton_envelope_t *self, unsigned code, const char *text, size_t text_len,
                          const char *hop, size_t hop_len)
{
    int rc = s_dup (&self->arena, &self->error_text, text, text_len);
    if (!rc)
        rc = s_dup (&self->arena, &self->error_hop, hop, hop_len);
    if (rc)
        return rc;
    self->error_code = code;
    self->has_error = true;
    return 0;
}

size_t
baton_envelope_unknown_count (const baton_envelope_t *self)
{
    size_t n = 0;
    for (int i = 0; i < S_SECTIONS; i++)
        n += self->unknown[i].count;
    return n;
}
