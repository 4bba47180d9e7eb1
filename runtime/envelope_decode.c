/*  envelope_decode.c - baton_envelope_decode: one bounded, validating read of
 *  hostile bytes (msgpack_rd.h checks every limit before anything is
 *  reserved), in place: strings, headers and bodies point into the envelope's
 *  private copy of the input, so a decode costs one allocation.  */
#include <string.h>
#include "envelope_int.h"
#include "msgpack_rd.h"

static bool
s_key_is (baton_slice_t k, const char *name, size_t len)
{
    return k.len == len && memcmp (k.ptr, name, len) == 0;
}

typedef struct {
    baton_envelope_t *env;
    baton__mp_rd_t rd;
} s_dec_t;

//  Opens an array of at most max items (more: BATON_EROUTE) at nesting
//  level depth and reserves room in v for its *n items of isz bytes.
static int
s_open_array (s_dec_t *d, baton__vec_t *v, size_t max, size_t depth, size_t isz, uint32_t *n)
{
    int rc = baton__mp_read_array (&d->rd, depth, n);
    if (rc)
        return rc;
    if (*n > max)
        return BATON_EROUTE;
    return baton__vec_reserve (&d->env->arena, v, *n, isz);
}

//  Reads an array of [str, str] pairs into v (baton_header_t or baton_hop_t,
//  which share the layout of two slices).
static int
s_read_pairs (s_dec_t *d, baton__vec_t *v, size_t max, size_t depth)
{
    uint32_t n;
    int rc = s_open_array (d, v, max, depth, sizeof (baton_header_t), &n);
    if (rc)
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
    baton__vec_t *v = &d->env->record;
    int rc = s_open_array (d, v, d->env->max_hops, 2, sizeof (baton_record_t), &n);
    if (rc)
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
    baton__vec_t *v = &d->env->meta;
    if ((rc = baton__vec_reserve (&d->env->arena, v, n, sizeof (baton_header_t))))
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

//  Reads a CURVE key: bin (or str) of exactly BATON_KEY_LEN bytes.
static int
s_read_key (s_dec_t *d, baton_slice_t *key)
{
    int rc = baton__mp_read_bytes (&d->rd, key);
    return !rc && key->len != BATON_KEY_LEN ? BATON_ETYPE : rc;
}

//  Reads route_keys: an array of keys, no longer than a route may be (its
//  length must equal the route's, checked once both are read).
static int
s_read_route_keys (s_dec_t *d)
{
    uint32_t n;
    baton__vec_t *v = &d->env->route_keys;
    int rc = s_open_array (d, v, d->env->max_hops, 2, sizeof (baton_slice_t), &n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = s_read_key (d, (baton_slice_t *) v->items + i)))
            return rc;
    v->count = n;
    d->env->has_route_keys = true;
    return 0;
}

//  Keeps the key at key_start and the value after it verbatim.
static int
s_keep_unknown (s_dec_t *d, int section, const uint8_t *key_start)
{
    //  The value's container is the top map (level 1) or a section (level 2).
    int rc = baton__mp_skip (&d->rd, section == BATON__SEC_TOP ? 1 : 2);
    if (rc)
        return rc;
    baton_slice_t *raw = (baton_slice_t *) baton__vec_push (
        &d->env->arena, &d->env->unknown[section], sizeof (baton_slice_t));
    if (!raw)
        return BATON_ENOMEM;
    raw->ptr = (const char *) key_start;
    raw->len = (size_t) (d->rd.p - key_start);
    return 0;
}

//  Marks a key of a section seen in *seen; a second sighting is an error.
#define S_ONCE(bit)                                                                                \
    do {                                                                                           \
        if (*seen & (1u << (bit)))                                                                 \
            return BATON_EDUPKEY;                                                                  \
        *seen |= 1u << (bit);                                                                      \
    } while (0)

//  Reads the value of key k (which starts at key_start) of one section into
//  the envelope and marks k in *seen, or keeps an unknown key and its value
//  verbatim. Returns 0 or a BATON_E... code.
typedef int (s_field_fn) (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen);

//  Reads the map of a section at nesting level depth, each key through field.
//  Inline, so that each section calls its field reader directly.
static inline int
s_read_map (s_dec_t *d, size_t depth, s_field_fn *field, uint32_t *seen)
{
    uint32_t n;
    int rc = baton__mp_read_map (&d->rd, depth, &n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *key_start = d->rd.p;
        baton_slice_t k;
        if ((rc = baton__mp_read_str (&d->rd, &k)))
            break;
        rc = field (d, k, key_start, seen);
    }
    return rc;
}

static int
s_request_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    if (s_key_is (k, BATON__KEY ("method"))) {
        S_ONCE (0);
        return baton__mp_read_str (&d->rd, &e->method);
    }
    if (s_key_is (k, BATON__KEY ("target"))) {
        S_ONCE (1);
        return baton__mp_read_str (&d->rd, &e->target);
    }
    if (s_key_is (k, BATON__KEY ("headers"))) {
        S_ONCE (2);
        return s_read_pairs (d, &e->req_headers, UINT32_MAX, 3);
    }
    if (s_key_is (k, BATON__KEY ("body"))) {
        S_ONCE (3);
        return baton__mp_read_bytes (&d->rd, &e->req_body.bytes);
    }
    return s_keep_unknown (d, BATON__SEC_REQ, key_start);
}

static int
s_message_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    if (s_key_is (k, BATON__KEY ("status"))) {
        S_ONCE (0);
        int rc = baton__mp_read_uint (&d->rd, &e->status);
        return !rc && (e->status < 100 || e->status > 999) ? BATON_ETYPE : rc;
    }
    if (s_key_is (k, BATON__KEY ("headers"))) {
        S_ONCE (1);
        return s_read_pairs (d, &e->headers, UINT32_MAX, 3);
    }
    if (s_key_is (k, BATON__KEY ("body"))) {
        S_ONCE (2);
        return baton__mp_read_bytes (&d->rd, &e->body.bytes);
    }
    return s_keep_unknown (d, BATON__SEC_MSG, key_start);
}

static int
s_error_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    if (s_key_is (k, BATON__KEY ("code"))) {
        S_ONCE (0);
        return baton__mp_read_uint (&d->rd, &e->error_code);
    }
    if (s_key_is (k, BATON__KEY ("text"))) {
        S_ONCE (1);
        return baton__mp_read_str (&d->rd, &e->error_text);
    }
    if (s_key_is (k, BATON__KEY ("hop"))) {
        S_ONCE (2);
        return baton__mp_read_str (&d->rd, &e->error_hop);
    }
    return s_keep_unknown (d, BATON__SEC_ERR, key_start);
}

//  Reads a section whose keys are all optional.
static int
s_read_section (s_dec_t *d, s_field_fn *field)
{
    uint32_t seen = 0;
    return s_read_map (d, 2, field, &seen);
}

static int
s_read_error (s_dec_t *d)
{
    uint32_t seen = 0;
    int rc = s_read_map (d, 2, s_error_field, &seen);
    if (!rc && !(seen & 1u))
        rc = BATON_EMISSING;
    d->env->has_error = rc == 0;
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
    K_ERROR,
    K_REPLY_KEY,
    K_ROUTE_KEYS,
    K_OAM
};
#define S_REQUIRED                                                                                 \
    ((1u << K_V) | (1u << K_ID) | (1u << K_REPLY) | (1u << K_ROUTE) | (1u << K_INDEX) |            \
     (1u << K_BUDGET) | (1u << K_DEADLINE))

static int
s_top_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    if (s_key_is (k, BATON__KEY ("v"))) {
        S_ONCE (K_V);
        int rc = baton__mp_read_uint (&d->rd, &e->version);
        return !rc && e->version != BATON_ENVELOPE_VERSION ? BATON_EVERSION : rc;
    }
    if (s_key_is (k, BATON__KEY ("id"))) {
        S_ONCE (K_ID);
        return baton__mp_read_str (&d->rd, &e->id);
    }
    if (s_key_is (k, BATON__KEY ("reply_to"))) {
        S_ONCE (K_REPLY);
        return baton__mp_read_str (&d->rd, &e->reply_to);
    }
    if (s_key_is (k, BATON__KEY ("reply_key"))) {
        S_ONCE (K_REPLY_KEY);
        return s_read_key (d, &e->reply_key);
    }
    if (s_key_is (k, BATON__KEY ("route_keys"))) {
        S_ONCE (K_ROUTE_KEYS);
        return s_read_route_keys (d);
    }
    if (s_key_is (k, BATON__KEY ("route"))) {
        S_ONCE (K_ROUTE);
        return s_read_pairs (d, &e->route, e->max_hops, 2);
    }
    if (s_key_is (k, BATON__KEY ("index"))) {
        S_ONCE (K_INDEX);
        return baton__mp_read_uint (&d->rd, &e->index);
    }
    if (s_key_is (k, BATON__KEY ("budget"))) {
        S_ONCE (K_BUDGET);
        return baton__mp_read_uint (&d->rd, &e->budget);
    }
    if (s_key_is (k, BATON__KEY ("deadline"))) {
        S_ONCE (K_DEADLINE);
        return baton__mp_read_uint (&d->rd, &e->deadline_ms);
    }
    if (s_key_is (k, BATON__KEY ("oam"))) {
        S_ONCE (K_OAM);
        return baton__mp_read_uint (&d->rd, &e->oam);
    }
    if (s_key_is (k, BATON__KEY ("traceparent"))) {
        S_ONCE (K_TRACE);
        return baton__mp_read_str (&d->rd, &e->traceparent);
    }
    if (s_key_is (k, BATON__KEY ("record"))) {
        S_ONCE (K_RECORD);
        return s_read_record (d);
    }
    if (s_key_is (k, BATON__KEY ("meta"))) {
        S_ONCE (K_META);
        return s_read_meta (d);
    }
    if (s_key_is (k, BATON__KEY ("request"))) {
        S_ONCE (K_REQUEST);
        return s_read_section (d, s_request_field);
    }
    if (s_key_is (k, BATON__KEY ("message"))) {
        S_ONCE (K_MESSAGE);
        return s_read_section (d, s_message_field);
    }
    if (s_key_is (k, BATON__KEY ("error"))) {
        S_ONCE (K_ERROR);
        return s_read_error (d);
    }
    return s_keep_unknown (d, BATON__SEC_TOP, key_start);
}

static int
s_read_top (s_dec_t *d)
{
    uint32_t seen = 0;
    int rc = s_read_map (d, 1, s_top_field, &seen);
    if (rc)
        return rc;
    //  The version is checked first so a newer writer gets EVERSION, not EMISSING.
    if (!(seen & (1u << K_V)))
        return BATON_EMISSING;
    if ((seen & S_REQUIRED) != S_REQUIRED)
        return BATON_EMISSING;
    if (d->env->index > d->env->route.count)
        return BATON_EROUTE;
    if ((seen & (1u << K_ROUTE_KEYS)) && d->env->route_keys.count != d->env->route.count)
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
    self = baton__envelope_alloc (len, lim.max_hops);
    if (!self) {
        rc = BATON_ENOMEM;
        goto out;
    }
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
