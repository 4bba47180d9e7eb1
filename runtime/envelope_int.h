/*  envelope_int.h - what the envelope's files share, never installed: the
 *  struct, its bump arena, its arena-backed vectors and the internal codec
 *  entry points. envelope.c holds the model and accessors, envelope_decode.c
 *  the reader, envelope_encode.c the writer.  */
#ifndef BATON_ENVELOPE_INT_H
#define BATON_ENVELOPE_INT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "baton/envelope.h"

//  --- a bump arena for strings and arrays owned by one envelope ---------------

typedef struct baton__chunk {
    struct baton__chunk *next;
    size_t cap;
    size_t used;
    max_align_t data[]; //  aligned storage
} baton__chunk_t;

#define BATON__ARENA_INLINE 768

typedef struct {
    baton__chunk_t *chunks;
    size_t used;                                           //  of the inline block
    _Alignas(max_align_t) char block[BATON__ARENA_INLINE]; //  first block, no malloc
} baton__arena_t;

//  Returns size bytes (rounded up to 16) that live as long as the arena, or
//  NULL if memory runs out. Small envelopes never leave the inline block.
static inline void *
baton__arena_alloc (baton__arena_t *a, size_t size)
{
    size = (size + 15u) & ~(size_t) 15u;
    if (size <= BATON__ARENA_INLINE - a->used) {
        void *p = a->block + a->used;
        a->used += size;
        return p;
    }
    baton__chunk_t *c = a->chunks;
    if (c && size <= c->cap - c->used) {
        void *p = (char *) c->data + c->used;
        c->used += size;
        return p;
    }
    size_t cap = size > 4096 ? size : 4096;
    c = (baton__chunk_t *) malloc (sizeof (baton__chunk_t) + cap);
    if (!c)
        return NULL;
    c->cap = cap;
    c->used = size;
    c->next = a->chunks;
    a->chunks = c;
    return c->data;
}

//  --- growable arrays in the arena ------------------------------------------------

typedef struct {
    void *items;
    uint32_t count;
    uint32_t cap;
} baton__vec_t;

//  Makes room for one more item of size isz; returns it or NULL.
static inline void *
baton__vec_push (baton__arena_t *a, baton__vec_t *v, size_t isz)
{
    if (v->count == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 4;
        void *items = baton__arena_alloc (a, cap * isz);
        if (!items)
            return NULL;
        if (v->count)
            memcpy (items, v->items, v->count * isz);
        v->items = items;
        v->cap = cap;
    }
    return (char *) v->items + isz * v->count++;
}

//  Makes room for n items of size isz in all (a decoder knows the count
//  before the items). Returns 0 or BATON_ENOMEM.
static inline int
baton__vec_reserve (baton__arena_t *a, baton__vec_t *v, uint32_t n, size_t isz)
{
    if (n <= v->cap)
        return 0;
    void *items = baton__arena_alloc (a, n * isz);
    if (!items)
        return BATON_ENOMEM;
    v->items = items;
    v->cap = n;
    return 0;
}

//  --- the model --------------------------------------------------------------------

//  One entry of "branches": a branch's name, its hops (baton_hop_t) and,
//  beside them, their keys (baton_slice_t: BATON_KEY_LEN bytes, or empty).
typedef struct {
    baton_slice_t name;
    baton__vec_t hops;
    baton__vec_t keys;
} baton__branch_t;

//  A body is either borrowed (points into the input copy) or owned (malloc).
typedef struct {
    baton_slice_t bytes;
    char *owned;
} baton__body_t;

//  The sections that may carry keys this reader does not know.
enum { BATON__SEC_TOP, BATON__SEC_REQ, BATON__SEC_MSG, BATON__SEC_ERR, BATON__SECTIONS };

//  The top-level entries whose received bytes (key and value) a decode keeps
//  while no setter changes them: the writer copies them instead of writing
//  them again, so a hop re-writes only what it changed (docs/wire-format.md,
//  "How Baton writes it"). The small scalar and string entries are always
//  written from the model.
enum {
    BATON__WIRE_ROUTE,
    BATON__WIRE_ROUTE_KEYS,
    BATON__WIRE_META,
    BATON__WIRE_REQUEST,
    BATON__WIRE_MESSAGE,
    BATON__WIRE_ERROR,
    BATON__WIRES
};

struct baton_envelope {
    uint64_t version;
    baton_slice_t id;
    baton_slice_t reply_to;
    baton_slice_t reply_key; //  BATON_KEY_LEN bytes, or empty
    baton__vec_t route;      //  baton_hop_t
    baton__vec_t route_keys; //  baton_slice_t per hop: BATON_KEY_LEN bytes, or empty (unset)
    bool has_route_keys;     //  route_keys was read or set: written when every hop has one
    baton__vec_t branches;   //  baton__branch_t, at most BATON_ENVELOPE_MAX_BRANCHES
    baton_slice_t taken;     //  the branch spliced into the route, or empty
    baton_slice_t seal;      //  BATON_SEAL_LEN bytes, or empty
    uint64_t index;
    uint64_t budget;
    uint64_t deadline_ms;
    uint64_t oam; //  BATON_OAM_... flags; 0: a normal request
    baton_slice_t traceparent;
    char version_pin[BATON_ENVELOPE_MAX_VERSION + 1]; //  key "version"; "" if none
    baton__vec_t record;                              //  baton_record_t
    baton__vec_t meta;                                //  baton_header_t (name = key)
    baton_slice_t method;
    baton_slice_t target;
    baton__vec_t req_headers; //  baton_header_t
    baton__body_t req_body;
    uint64_t status;
    baton__vec_t headers; //  baton_header_t
    baton__body_t body;
    bool has_error;
    uint64_t error_code;
    baton_slice_t error_text;
    baton_slice_t error_hop;
    baton__vec_t unknown[BATON__SECTIONS]; //  baton_slice_t: raw bytes of key and value
    baton_slice_t wire[BATON__WIRES];      //  as received, or ptr NULL: write from the model
    baton_slice_t record_wire;             //  the bytes of the first record_wire_count entries
    uint32_t record_wire_count;            //  record entries decoded (entries are only appended)
    size_t decoded_len;                    //  bytes the envelope was decoded from
    size_t max_hops;
    size_t raw_cap; //  bytes of raw[]
    baton__arena_t arena;
    _Alignas(max_align_t) char raw[]; //  copy of the decoded bytes, unless borrowed
};

//  Key names on the wire (docs/wire-format.md): a literal and its length.
#define BATON__KEY(s) s, sizeof (s) - 1

//  A new envelope with room for raw_len bytes of input in raw[] that holds at
//  most max_hops hops and record entries: every field empty, the current
//  version, status 200. Returns NULL if memory runs out. Caller releases it
//  with baton_envelope_destroy ().
baton_envelope_t *baton__envelope_alloc (size_t raw_len, size_t max_hops);
//  Makes self, which owns nothing now, such a new envelope again (raw[] as
//  it was allocated).
void baton__envelope_init (baton_envelope_t *self, size_t max_hops);

//  Checks a version to pin (key "version"): at most
//  BATON_ENVELOPE_MAX_VERSION bytes, else BATON_ESTRLEN; no control byte (it
//  ends up in logs and headers), else bad. Returns 0 or that code.
static inline int
baton__envelope_check_version_pin (const char *v, size_t len, int bad)
{
    if (len > BATON_ENVELOPE_MAX_VERSION)
        return BATON_ESTRLEN;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) v[i] < 0x20 || v[i] == 0x7f)
            return bad;
    return 0;
}

//  Bytes that surely hold the encoding of self: what it was decoded from,
//  the bodies set since, and room for what a hop adds (its record entry,
//  an error, headers). A setter may add more; the writer then grows.
static inline size_t
baton__envelope_encode_guess (const baton_envelope_t *self)
{
    return self->decoded_len + (self->body.owned ? self->body.bytes.len : 0) +
           (self->req_body.owned ? self->req_body.bytes.len : 0) + 512;
}

//  Forgets the received bytes of entry w (a BATON__WIRE_...): a setter
//  changed it, so the writer writes it from the model.
static inline void
baton__envelope_touch (baton_envelope_t *self, int w)
{
    self->wire[w].ptr = NULL;
}

//  Decodes as baton_envelope_decode () does, in place, for a hop that will
//  forward the envelope: it points into data instead of a copy of it, so data
//  must stay as it is until the envelope is destroyed (a hop keeps the
//  received zmq_msg_t open so long), and it keeps the byte ranges of the
//  entries that are exactly as Baton writes them, for the writer to copy.
//  Caller owns the result.
//  With spare (NULL: none) holding an envelope that baton__envelope_recycle
//  () kept, the decode takes it (*spare is then NULL) instead of allocating.
baton_envelope_t *baton__envelope_decode_borrowed (const void *data, size_t len,
                                                   const baton_limits_t *limits, int *err,
                                                   baton_envelope_t **spare);

//  Destroys *self_p as baton_envelope_destroy () does, but for the memory of
//  an envelope with no copy of its input (one decoded borrowed, or new),
//  which becomes *spare if *spare is NULL: a loop that decodes one envelope
//  at a time allocates none. The caller destroys *spare in the end.
void baton__envelope_recycle (baton_envelope_t **self_p, baton_envelope_t **spare);

//  Encodes as baton_envelope_encode () does, but writes every entry from the
//  model, copying none from the received bytes: the reference that the
//  in-place forward is checked against (tests, fuzzing). Returns 0 or
//  BATON_ENOMEM; caller frees *data_p.
int baton__envelope_encode_full (const baton_envelope_t *self, void **data_p, size_t *len_p);

#endif
