/*  envelope_decode.c - baton_envelope_decode: one bounded, validating read of
 *  hostile bytes (msgpack_rd.h checks every limit before anything is
 *  reserved), in place: strings, headers and bodies point into the envelope's
 *  private copy of the input (or into the input itself, borrowed), so a
 *  decode costs one allocation. The byte ranges of the larger entries are
 *  kept for the writer to copy (envelope_int.h, BATON__WIRE_...).  */
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
    bool keep_wire; //  keep the byte ranges of entries as Baton writes them
    bool odd;       //  the entry being read is not as Baton writes it
} s_dec_t;

//  The reads of the decoder. A decode that keeps byte ranges notes in d->odd
//  a value not in the form Baton writes (the smallest; bin where it writes
//  bin): one that did not take size bytes from at.
static inline int
s_form (s_dec_t *d, const uint8_t *at, size_t size)
{
    if ((size_t) (d->rd.p - at) != size)
        d->odd = true;
    return 0;
}

static inline int
s_read_str (s_dec_t *d, baton_slice_t *out)
{
    const uint8_t *at = d->rd.p;
    int rc = baton__mp_read_str (&d->rd, out);
    return rc || !d->keep_wire ? rc : s_form (d, at, baton__mp_str_tag (out->len) + out->len);
}

//  Reads a bin (or a str, which Baton does not write there).
static inline int
s_read_bin (s_dec_t *d, baton_slice_t *out)
{
    const uint8_t *at = d->rd.p;
    int rc = baton__mp_read_bytes (&d->rd, out);
    if (rc || !d->keep_wire)
        return rc;
    return s_form (d, at, *at < 0xc4 || *at > 0xc6 ? 0 : baton__mp_bin_tag (out->len) + out->len);
}

static inline int
s_read_uint (s_dec_t *d, uint64_t *out)
{
    const uint8_t *at = d->rd.p;
    int rc = baton__mp_read_uint (&d->rd, out);
    return rc || !d->keep_wire ? rc : s_form (d, at, baton__mp_uint_size (*out));
}

//  Opens a map (map) or an array of *n items at nesting level depth.
static inline int
s_read_head (s_dec_t *d, bool map, size_t depth, uint32_t *n)
{
    const uint8_t *at = d->rd.p;
    int rc = map ? baton__mp_read_map (&d->rd, depth, n) : baton__mp_read_array (&d->rd, depth, n);
    return rc || !d->keep_wire ? rc : s_form (d, at, baton__mp_container_tag (*n));
}

//  Opens an array of at most max items (more: BATON_EROUTE) at nesting
//  level depth and reserves room in v for its *n items of isz bytes.
static int
s_open_array (s_dec_t *d, baton__vec_t *v, size_t max, size_t depth, size_t isz, uint32_t *n)
{
    int rc = s_read_head (d, false, depth, n);
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
        if ((rc = s_read_head (d, false, depth + 1, &two)))
            return rc;
        if (two != 2)
            return BATON_ETYPE;
        baton_header_t *h = (baton_header_t *) v->items + i;
        if ((rc = s_read_str (d, &h->name)) || (rc = s_read_str (d, &h->value)))
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
    const uint8_t *items = d->rd.p;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        if ((rc = s_read_head (d, false, 3, &three)))
            return rc;
        if (three != 3)
            return BATON_ETYPE;
        baton_record_t *r = (baton_record_t *) v->items + i;
        if ((rc = s_read_str (d, &r->name)) || (rc = s_read_uint (d, &r->t_in_us)) ||
            (rc = s_read_uint (d, &r->t_out_us)))
            return rc;
    }
    v->count = n;
    if (d->keep_wire && !d->odd) {
        d->env->record_wire.ptr = (const char *) items;
        d->env->record_wire.len = (size_t) (d->rd.p - items);
        d->env->record_wire_count = n;
    }
    return 0;
}

static int
s_read_meta (s_dec_t *d)
{
    uint32_t n;
    int rc = s_read_head (d, true, 2, &n);
    if (rc)
        return rc;
    baton__vec_t *v = &d->env->meta;
    if ((rc = baton__vec_reserve (&d->env->arena, v, n, sizeof (baton_header_t))))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        baton_header_t *m = (baton_header_t *) v->items + i;
        if ((rc = s_read_str (d, &m->name)) || (rc = s_read_bin (d, &m->value)))
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

//  Reads bin (or str) of exactly len bytes: a CURVE key, a seal.
static int
s_read_exact (s_dec_t *d, baton_slice_t *out, size_t len)
{
    int rc = s_read_bin (d, out);
    return !rc && out->len != len ? BATON_ETYPE : rc;
}

//  Reads a CURVE key: BATON_KEY_LEN bytes.
static int
s_read_key (s_dec_t *d, baton_slice_t *key)
{
    return s_read_exact (d, key, BATON_KEY_LEN);
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

//  Reads one branch's entries into br: an array of [name, endpoint] or
//  [name, endpoint, key], no longer than a route may be.
static int
s_read_branch_hops (s_dec_t *d, baton__branch_t *br)
{
    uint32_t n;
    int rc = s_open_array (d, &br->hops, d->env->max_hops, 3, sizeof (baton_hop_t), &n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t items;
        if ((rc = s_read_head (d, false, 4, &items)))
            return rc;
        if (items != 2 && items != 3)
            return BATON_ETYPE;
        baton_header_t *h = (baton_header_t *) br->hops.items + i;
        if ((rc = s_read_str (d, &h->name)) || (rc = s_read_str (d, &h->value)))
            return rc;
        if (items == 3) {
            if (br->keys.count != i)
                return BATON_ETYPE; //  keys in every entry or in none
            baton_slice_t *key =
                (baton_slice_t *) baton__vec_push (&d->env->arena, &br->keys, sizeof *key);
            if (!key)
                return BATON_ENOMEM;
            if ((rc = s_read_key (d, key)))
                return rc;
        }
    }
    br->hops.count = n;
    return br->keys.count == 0 || br->keys.count == n ? 0 : BATON_ETYPE;
}

//  Reads "branches": a map of at most BATON_ENVELOPE_MAX_BRANCHES distinct
//  names to their entries.
static int
s_read_branches (s_dec_t *d)
{
    uint32_t n;
    baton__vec_t *v = &d->env->branches;
    int rc = s_read_head (d, true, 2, &n);
    if (rc)
        return rc;
    if (n > BATON_ENVELOPE_MAX_BRANCHES)
        return BATON_EROUTE;
    if ((rc = baton__vec_reserve (&d->env->arena, v, n, sizeof (baton__branch_t))))
        return rc;
    for (uint32_t b = 0; b < n; b++) {
        baton__branch_t *br = (baton__branch_t *) v->items + b;
        memset (br, 0, sizeof *br);
        if ((rc = s_read_str (d, &br->name)))
            return rc;
        if (br->name.len == 0)
            return BATON_ETYPE;
        for (uint32_t j = 0; j < b; j++)
            if (s_key_is (((baton__branch_t *) v->items)[j].name, br->name.ptr, br->name.len))
                return BATON_EDUPKEY;
        if ((rc = s_read_branch_hops (d, br)))
            return rc;
        v->count = b + 1;
    }
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

//  A section's bit in *seen for the keys this reader does not know.
#define S_UNKNOWN (1u << 31)
//  S_ONCE for a key of a section: Baton writes its keys in the order of
//  their bits, the unknown keys last.
#define S_NEXT(bit)                                                                                \
    do {                                                                                           \
        S_ONCE (bit);                                                                              \
        if (*seen >> ((bit) + 1))                                                                  \
            d->odd = true;                                                                         \
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
    int rc = s_read_head (d, true, depth, &n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *key_start = d->rd.p;
        baton_slice_t k;
        if ((rc = s_read_str (d, &k)))
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
        S_NEXT (0);
        return s_read_str (d, &e->method);
    }
    if (s_key_is (k, BATON__KEY ("target"))) {
        S_NEXT (1);
        return s_read_str (d, &e->target);
    }
    if (s_key_is (k, BATON__KEY ("headers"))) {
        S_NEXT (2);
        return s_read_pairs (d, &e->req_headers, UINT32_MAX, 3);
    }
    if (s_key_is (k, BATON__KEY ("body"))) {
        S_NEXT (3);
        return s_read_bin (d, &e->req_body.bytes);
    }
    *seen |= S_UNKNOWN;
    return s_keep_unknown (d, BATON__SEC_REQ, key_start);
}

static int
s_message_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    if (s_key_is (k, BATON__KEY ("status"))) {
        S_NEXT (0);
        int rc = s_read_uint (d, &e->status);
        return !rc && (e->status < 100 || e->status > 999) ? BATON_ETYPE : rc;
    }
    if (s_key_is (k, BATON__KEY ("headers"))) {
        S_NEXT (1);
        return s_read_pairs (d, &e->headers, UINT32_MAX, 3);
    }
    if (s_key_is (k, BATON__KEY ("body"))) {
        S_NEXT (2);
        return s_read_bin (d, &e->body.bytes);
    }
    *seen |= S_UNKNOWN;
    return s_keep_unknown (d, BATON__SEC_MSG, key_start);
}

static int
s_error_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    if (s_key_is (k, BATON__KEY ("code"))) {
        S_NEXT (0);
        return s_read_uint (d, &e->error_code);
    }
    if (s_key_is (k, BATON__KEY ("text"))) {
        S_NEXT (1);
        return s_read_str (d, &e->error_text);
    }
    if (s_key_is (k, BATON__KEY ("hop"))) {
        S_NEXT (2);
        return s_read_str (d, &e->error_hop);
    }
    *seen |= S_UNKNOWN;
    return s_keep_unknown (d, BATON__SEC_ERR, key_start);
}

//  A section that held the keys of seen is as Baton writes it only with the
//  known keys of the bits of canon, no others (S_NEXT checks their order).
static void
s_canon_keys (s_dec_t *d, uint32_t seen, uint32_t canon)
{
    if ((seen & ~S_UNKNOWN) != canon)
        d->odd = true;
}

//  Baton writes a request's body only when it is not empty.
static int
s_read_request (s_dec_t *d)
{
    uint32_t seen = 0;
    int rc = s_read_map (d, 2, s_request_field, &seen);
    s_canon_keys (d, seen, 0x7u | (d->env->req_body.bytes.len ? 0x8u : 0u));
    return rc;
}

static int
s_read_message (s_dec_t *d)
{
    uint32_t seen = 0;
    int rc = s_read_map (d, 2, s_message_field, &seen);
    s_canon_keys (d, seen, 0x7u);
    return rc;
}

static int
s_read_error (s_dec_t *d)
{
    uint32_t seen = 0;
    int rc = s_read_map (d, 2, s_error_field, &seen);
    if (!rc && !(seen & 1u))
        rc = BATON_EMISSING;
    s_canon_keys (d, seen, 0x7u);
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
    K_OAM,
    K_VERSION,
    K_BRANCHES,
    K_TAKEN,
    K_SEAL
};
#define S_REQUIRED                                                                                 \
    ((1u << K_V) | (1u << K_ID) | (1u << K_REPLY) | (1u << K_ROUTE) | (1u << K_INDEX) |            \
     (1u << K_BUDGET) | (1u << K_DEADLINE))

//  Keeps the bytes from key_start to where the reader stands as entry w as
//  received, once its value read without error (rc), if they are exactly
//  what the writer would write for it: every value in Baton's form, the keys
//  of each section Baton's, in its order.
static int
s_wire (s_dec_t *d, int w, const uint8_t *key_start, int rc)
{
    if (rc == 0 && d->keep_wire && !d->odd) {
        d->env->wire[w].ptr = (const char *) key_start;
        d->env->wire[w].len = (size_t) (d->rd.p - key_start);
    }
    return rc;
}

//  The version the request runs: bounded, copied into its field.
static int
s_read_version_pin (s_dec_t *d, baton_envelope_t *e)
{
    baton_slice_t v;
    int rc = s_read_str (d, &v);
    if (!rc)
        rc = baton__envelope_check_version_pin (v.ptr, v.len, BATON_EMALFORMED);
    if (!rc) {
        memcpy (e->version_pin, v.ptr, v.len);
        e->version_pin[v.len] = '\0';
    }
    return rc;
}

static int
s_top_field (s_dec_t *d, baton_slice_t k, const uint8_t *key_start, uint32_t *seen)
{
    baton_envelope_t *e = d->env;
    d->odd = k.len >= 32 || *key_start != (0xa0 | k.len); //  Baton writes a fixstr key
    if (s_key_is (k, BATON__KEY ("v"))) {
        S_ONCE (K_V);
        int rc = s_read_uint (d, &e->version);
        return !rc && e->version != BATON_ENVELOPE_VERSION ? BATON_EVERSION : rc;
    }
    if (s_key_is (k, BATON__KEY ("id"))) {
        S_ONCE (K_ID);
        return s_read_str (d, &e->id);
    }
    if (s_key_is (k, BATON__KEY ("reply_to"))) {
        S_ONCE (K_REPLY);
        return s_read_str (d, &e->reply_to);
    }
    if (s_key_is (k, BATON__KEY ("reply_key"))) {
        S_ONCE (K_REPLY_KEY);
        return s_read_key (d, &e->reply_key);
    }
    if (s_key_is (k, BATON__KEY ("route_keys"))) {
        S_ONCE (K_ROUTE_KEYS);
        return s_wire (d, BATON__WIRE_ROUTE_KEYS, key_start, s_read_route_keys (d));
    }
    if (s_key_is (k, BATON__KEY ("route"))) {
        S_ONCE (K_ROUTE);
        return s_wire (d, BATON__WIRE_ROUTE, key_start,
                       s_read_pairs (d, &e->route, e->max_hops, 2));
    }
    if (s_key_is (k, BATON__KEY ("branches"))) {
        S_ONCE (K_BRANCHES);
        return s_read_branches (d);
    }
    if (s_key_is (k, BATON__KEY ("taken"))) {
        S_ONCE (K_TAKEN);
        return s_read_str (d, &e->taken);
    }
    if (s_key_is (k, BATON__KEY ("seal"))) {
        S_ONCE (K_SEAL);
        return s_read_exact (d, &e->seal, BATON_SEAL_LEN);
    }
    if (s_key_is (k, BATON__KEY ("index"))) {
        S_ONCE (K_INDEX);
        return s_read_uint (d, &e->index);
    }
    if (s_key_is (k, BATON__KEY ("budget"))) {
        S_ONCE (K_BUDGET);
        return s_read_uint (d, &e->budget);
    }
    if (s_key_is (k, BATON__KEY ("deadline"))) {
        S_ONCE (K_DEADLINE);
        return s_read_uint (d, &e->deadline_ms);
    }
    if (s_key_is (k, BATON__KEY ("oam"))) {
        S_ONCE (K_OAM);
        return s_read_uint (d, &e->oam);
    }
    if (s_key_is (k, BATON__KEY ("traceparent"))) {
        S_ONCE (K_TRACE);
        return s_read_str (d, &e->traceparent);
    }
    if (s_key_is (k, BATON__KEY ("version"))) {
        S_ONCE (K_VERSION);
        return s_read_version_pin (d, e);
    }
    if (s_key_is (k, BATON__KEY ("record"))) {
        S_ONCE (K_RECORD);
        return s_read_record (d);
    }
    if (s_key_is (k, BATON__KEY ("meta"))) {
        S_ONCE (K_META);
        return s_wire (d, BATON__WIRE_META, key_start, s_read_meta (d));
    }
    if (s_key_is (k, BATON__KEY ("request"))) {
        S_ONCE (K_REQUEST);
        return s_wire (d, BATON__WIRE_REQUEST, key_start, s_read_request (d));
    }
    if (s_key_is (k, BATON__KEY ("message"))) {
        S_ONCE (K_MESSAGE);
        return s_wire (d, BATON__WIRE_MESSAGE, key_start, s_read_message (d));
    }
    if (s_key_is (k, BATON__KEY ("error"))) {
        S_ONCE (K_ERROR);
        return s_wire (d, BATON__WIRE_ERROR, key_start, s_read_error (d));
    }
    return s_keep_unknown (d, BATON__SEC_TOP, key_start);
}

//  Branch entries carry keys exactly when the envelope has route_keys, and
//  taken names a branch.
static int
s_check_branches (const baton_envelope_t *e, bool route_keys)
{
    bool taken_found = e->taken.len == 0;
    for (uint32_t b = 0; b < e->branches.count; b++) {
        const baton__branch_t *br = (const baton__branch_t *) e->branches.items + b;
        if (br->keys.count != (route_keys ? br->hops.count : 0))
            return BATON_EROUTE;
        if (s_key_is (br->name, e->taken.ptr, e->taken.len))
            taken_found = true;
    }
    return taken_found ? 0 : BATON_EROUTE;
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
    return s_check_branches (d->env, (seen & (1u << K_ROUTE_KEYS)) != 0);
}

//  Decodes data, copied into the envelope or (borrow) pointed into.
static baton_envelope_t *
s_decode (const void *data, size_t len, const baton_limits_t *limits, int *err, bool borrow,
          baton_envelope_t **spare)
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
    if (borrow && spare && *spare) {
        self = *spare;
        *spare = NULL;
        baton__envelope_init (self, lim.max_hops);
    } else
        self = baton__envelope_alloc (borrow ? 0 : len, lim.max_hops);
    if (!self) {
        rc = BATON_ENOMEM;
        goto out;
    }
    const uint8_t *in = (const uint8_t *) data;
    if (!borrow) {
        memcpy (self->raw, data, len);
        in = (const uint8_t *) self->raw;
    }
    self->decoded_len = len;
    //  One pass: the reader checks every count and length against the limits
    //  and the bytes left before anything is reserved for it.
    s_dec_t d = {self, {in, in + len, &lim, 0}, borrow, false};
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

baton_envelope_t *
baton_envelope_decode (const void *data, size_t len, const baton_limits_t *limits, int *err)
{
    return s_decode (data, len, limits, err, false, NULL);
}

baton_envelope_t *
baton__envelope_decode_borrowed (const void *data, size_t len, const baton_limits_t *limits,
                                 int *err, baton_envelope_t **spare)
{
    return s_decode (data, len, limits, err, true, spare);
}
