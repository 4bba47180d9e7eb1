/*  envelope_encode.c - baton_envelope_encode and its sized and fixed-buffer
 *  variants: the envelope written as msgpack (docs/wire-format.md) in one
 *  pass, unknown keys copied back verbatim, and so are the entries of a
 *  decoded envelope that nothing changed (a hop's forward).  */
#include <stdlib.h>
#include <string.h>
#include "envelope_int.h"

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
    bool full; //  write every entry from the model, none as received
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

//  A type byte and a value of 1, 2 or 4 bytes, the fewest that hold v: the
//  types t8, t8 + 1 and t8 + 2 (uint, str and bin number their forms so).
static inline void
s_put_sized (s_out_t *o, uint8_t t8, uint64_t v)
{
    if (v <= UINT8_MAX)
        s_put_head (o, t8, v, 1);
    else if (v <= UINT16_MAX)
        s_put_head (o, (uint8_t) (t8 + 1), v, 2);
    else
        s_put_head (o, (uint8_t) (t8 + 2), v, 4);
}

static void
s_put_uint (s_out_t *o, uint64_t v)
{
    if (v < 128)
        s_put_head (o, (uint8_t) v, 0, 0);
    else if (v > UINT32_MAX)
        s_put_head (o, 0xcf, v, 8);
    else
        s_put_sized (o, 0xcc, v);
}

static void
s_put_str (s_out_t *o, const char *ptr, size_t len)
{
    if (len < 32)
        s_put_head (o, (uint8_t) (0xa0 | len), 0, 0);
    else
        s_put_sized (o, 0xd9, len);
    s_put (o, ptr, len);
}

static void
s_put_bin (s_out_t *o, baton_slice_t s)
{
    s_put_sized (o, 0xc4, s.len);
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

//  A key, a literal: inlined with its length known, its fixstr tag and
//  bytes are a few stores, not a call each.
static inline void
s_put_fixstr (s_out_t *o, const char *ptr, size_t len)
{
    if (len >= 32) { //  folded away for every literal key
        s_put_str (o, ptr, len);
        return;
    }
    uint8_t *p = s_room (o, 1 + len);
    if (p) {
        p[0] = (uint8_t) (0xa0 | len);
        memcpy (p + 1, ptr, len);
    }
}

#define s_put_key(o, k) s_put_fixstr ((o), BATON__KEY (k))

static void
s_pack_pairs (s_out_t *o, const baton__vec_t *v)
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
s_pack_unknown (s_out_t *o, const baton__vec_t *v)
{
    for (uint32_t i = 0; i < v->count; i++) {
        const baton_slice_t *raw = (const baton_slice_t *) v->items + i;
        s_put (o, raw->ptr, raw->len);
    }
}

//  True if the n keys at keys (a vector beside n hops) are all set.
static bool
s_keys_complete (const baton__vec_t *keys, uint32_t n)
{
    if (keys->count < n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (((const baton_slice_t *) keys->items)[i].len != BATON_KEY_LEN)
            return false;
    return true;
}

//  True if route_keys is to be written: it was read or set, and every hop
//  has its key.
static bool
s_route_keys_complete (const baton_envelope_t *e)
{
    return e->has_route_keys && s_keys_complete (&e->route_keys, e->route.count);
}

//  "branches": each name to its entries, [name, endpoint] or, beside
//  route_keys (with_keys), [name, endpoint, key].
static void
s_pack_branches (s_out_t *o, const baton_envelope_t *e, bool with_keys)
{
    s_put_key (o, "branches");
    s_put_container (o, true, e->branches.count);
    for (uint32_t b = 0; b < e->branches.count; b++) {
        const baton__branch_t *br = (const baton__branch_t *) e->branches.items + b;
        bool keys = with_keys && s_keys_complete (&br->keys, br->hops.count);
        s_put_str (o, br->name.ptr, br->name.len);
        s_put_container (o, false, br->hops.count);
        for (uint32_t i = 0; i < br->hops.count; i++) {
            const baton_header_t *h = (const baton_header_t *) br->hops.items + i;
            s_put_container (o, false, keys ? 3 : 2);
            s_put_str (o, h->name.ptr, h->name.len);
            s_put_str (o, h->value.ptr, h->value.len);
            if (keys)
                s_put_bin (o, ((const baton_slice_t *) br->keys.items)[i]);
        }
    }
}

//  The writers of the entries a decode may keep as received (BATON__WIRE_...
//  and the record's entries), key and value, each from the model.
static void
s_pack_route (s_out_t *o, const baton_envelope_t *e)
{
    s_put_key (o, "route");
    s_pack_pairs (o, &e->route);
}

static void
s_pack_route_keys (s_out_t *o, const baton_envelope_t *e)
{
    s_put_key (o, "route_keys");
    s_put_container (o, false, e->route.count);
    //  Written only when every hop has its key; a decoder sizes it as soon
    //  as it is read, perhaps before it checks that it matches the route.
    for (uint32_t i = 0; i < e->route.count && i < e->route_keys.count; i++)
        s_put_bin (o, ((const baton_slice_t *) e->route_keys.items)[i]);
}

static void
s_pack_meta (s_out_t *o, const baton_envelope_t *e)
{
    s_put_key (o, "meta");
    s_put_container (o, true, e->meta.count);
    for (uint32_t i = 0; i < e->meta.count; i++) {
        const baton_header_t *m = (const baton_header_t *) e->meta.items + i;
        s_put_str (o, m->name.ptr, m->name.len);
        s_put_bin (o, m->value);
    }
}

static void
s_pack_request (s_out_t *o, const baton_envelope_t *e)
{
    s_put_key (o, "request");
    s_put_container (o, true, 3 + (e->req_body.bytes.len > 0) + e->unknown[BATON__SEC_REQ].count);
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
    s_pack_unknown (o, &e->unknown[BATON__SEC_REQ]);
}

static void
s_pack_message (s_out_t *o, const baton_envelope_t *e)
{
    s_put_key (o, "message");
    s_put_container (o, true, 3 + e->unknown[BATON__SEC_MSG].count);
    s_put_key (o, "status");
    s_put_uint (o, e->status);
    s_put_key (o, "headers");
    s_pack_pairs (o, &e->headers);
    s_put_key (o, "body");
    s_put_bin (o, e->body.bytes);
    s_pack_unknown (o, &e->unknown[BATON__SEC_MSG]);
}

static void
s_pack_error (s_out_t *o, const baton_envelope_t *e)
{
    s_put_key (o, "error");
    s_put_container (o, true, 3 + e->unknown[BATON__SEC_ERR].count);
    s_put_key (o, "code");
    s_put_uint (o, e->error_code);
    s_put_key (o, "text");
    s_put_str (o, e->error_text.ptr, e->error_text.len);
    s_put_key (o, "hop");
    s_put_str (o, e->error_hop.ptr, e->error_hop.len);
    s_pack_unknown (o, &e->unknown[BATON__SEC_ERR]);
}

//  Record entries from..to (the array's items, not its header).
static void
s_pack_record_entries (s_out_t *o, const baton_envelope_t *e, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        const baton_record_t *r = (const baton_record_t *) e->record.items + i;
        s_put_container (o, false, 3);
        s_put_str (o, r->name.ptr, r->name.len);
        s_put_uint (o, r->t_in_us);
        s_put_uint (o, r->t_out_us);
    }
}

//  Copies entry w as it was received and returns true, unless it changed
//  since, was never received so, or o writes everything from the model.
static inline bool
s_copied (s_out_t *o, const baton_envelope_t *e, int w)
{
    if (o->full || !e->wire[w].ptr)
        return false;
    s_put (o, e->wire[w].ptr, e->wire[w].len);
    return true;
}

static void
s_pack (const baton_envelope_t *e, s_out_t *o)
{
    bool route_keys = s_route_keys_complete (e);
    size_t top = 9 + (e->reply_key.len > 0) + route_keys + (e->branches.count > 0) +
                 (e->taken.len > 0) + (e->seal.len > 0) + (e->oam != 0) + (e->traceparent.len > 0) +
                 (e->version_pin[0] != '\0') + (e->record.count > 0) + (e->meta.count > 0) +
                 e->has_error + e->unknown[BATON__SEC_TOP].count;
    s_put_container (o, true, top);
    s_put_key (o, "v");
    s_put_uint (o, e->version);
    s_put_key (o, "id");
    s_put_str (o, e->id.ptr, e->id.len);
    s_put_key (o, "reply_to");
    s_put_str (o, e->reply_to.ptr, e->reply_to.len);
    if (e->reply_key.len) {
        s_put_key (o, "reply_key");
        s_put_bin (o, e->reply_key);
    }
    if (!s_copied (o, e, BATON__WIRE_ROUTE))
        s_pack_route (o, e);
    if (route_keys && !s_copied (o, e, BATON__WIRE_ROUTE_KEYS))
        s_pack_route_keys (o, e);
    //  Small, and never changed by a hop: written from the model.
    if (e->branches.count)
        s_pack_branches (o, e, route_keys);
    if (e->taken.len) {
        s_put_key (o, "taken");
        s_put_str (o, e->taken.ptr, e->taken.len);
    }
    if (e->seal.len) {
        s_put_key (o, "seal");
        s_put_bin (o, e->seal);
    }
    s_put_key (o, "index");
    s_put_uint (o, e->index);
    s_put_key (o, "budget");
    s_put_uint (o, e->budget);
    s_put_key (o, "deadline");
    s_put_uint (o, e->deadline_ms);
    if (e->oam) {
        s_put_key (o, "oam");
        s_put_uint (o, e->oam);
    }
    if (e->traceparent.len) {
        s_put_key (o, "traceparent");
        s_put_str (o, e->traceparent.ptr, e->traceparent.len);
    }
    if (e->version_pin[0]) {
        s_put_key (o, "version");
        s_put_str (o, e->version_pin, strlen (e->version_pin));
    }
    if (e->record.count) {
        s_put_key (o, "record");
        s_put_container (o, false, e->record.count);
        //  Entries are only ever appended: those decoded go as received.
        uint32_t i = 0;
        if (!o->full && e->record_wire_count) {
            s_put (o, e->record_wire.ptr, e->record_wire.len);
            i = e->record_wire_count;
        }
        s_pack_record_entries (o, e, i, e->record.count);
    }
    if (e->meta.count && !s_copied (o, e, BATON__WIRE_META))
        s_pack_meta (o, e);
    if (!s_copied (o, e, BATON__WIRE_REQUEST))
        s_pack_request (o, e);
    if (!s_copied (o, e, BATON__WIRE_MESSAGE))
        s_pack_message (o, e);
    if (e->has_error && !s_copied (o, e, BATON__WIRE_ERROR))
        s_pack_error (o, e);
    s_pack_unknown (o, &e->unknown[BATON__SEC_TOP]);
}

size_t
baton_envelope_encoded_size (const baton_envelope_t *self)
{
    s_out_t o = {NULL, 0, SIZE_MAX, false, false, false};
    s_pack (self, &o);
    return o.len;
}

size_t
baton_envelope_encode_into (const baton_envelope_t *self, void *dst, size_t cap)
{
    if (!dst)
        return 0;
    s_out_t o = {(uint8_t *) dst, 0, cap, false, false, false};
    s_pack (self, &o);
    return o.failed ? 0 : o.len;
}

//  Encodes into a new buffer, every entry from the model if full.
static int
s_encode (const baton_envelope_t *self, void **data_p, size_t *len_p, bool full)
{
    //  One pass into a buffer sized from what was decoded plus the bodies set
    //  since; it grows if setters added more than that.
    size_t guess = baton__envelope_encode_guess (self);
    s_out_t o = {(uint8_t *) malloc (guess), 0, guess, true, false, full};
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

int
baton_envelope_encode (const baton_envelope_t *self, void **data_p, size_t *len_p)
{
    return s_encode (self, data_p, len_p, false);
}

int
baton__envelope_encode_full (const baton_envelope_t *self, void **data_p, size_t *len_p)
{
    return s_encode (self, data_p, len_p, true);
}
