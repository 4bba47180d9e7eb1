/*  envelope.c - the envelope model: creation, release and every accessor
 *  and setter of include/baton/envelope.h. Strings and arrays live in the
 *  envelope's arena (envelope_int.h); the codec is in envelope_decode.c and
 *  envelope_encode.c.  */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "envelope_int.h"

//  --- lifecycle and the arena --------------------------------------------------------

static void
s_arena_free (baton__arena_t *a)
{
    while (a->chunks) {
        baton__chunk_t *next = a->chunks->next;
        free (a->chunks);
        a->chunks = next;
    }
    a->used = 0;
}

//  Copies src[0..len) into the arena and points dst at it; an empty string
//  points at a static "". Returns 0, BATON_EINVAL (NULL src) or BATON_ENOMEM.
static int
s_dup (baton__arena_t *a, baton_slice_t *dst, const char *src, size_t len)
{
    if (len == 0) {
        dst->ptr = "";
        dst->len = 0;
        return 0;
    }
    if (!src)
        return BATON_EINVAL;
    char *p = (char *) baton__arena_alloc (a, len);
    if (!p)
        return BATON_ENOMEM;
    memcpy (p, src, len);
    dst->ptr = p;
    dst->len = len;
    return 0;
}

//  Makes self, which owns nothing, a new envelope of max_hops.
void
baton__envelope_init (baton_envelope_t *self, size_t max_hops)
{
    //  Only the fields before the arena block need zeroing.
    size_t raw_cap = self->raw_cap;
    memset (self, 0, offsetof (baton_envelope_t, arena));
    self->raw_cap = raw_cap;
    self->arena.chunks = NULL;
    self->arena.used = 0;
    self->version = BATON_ENVELOPE_VERSION;
    self->status = 200;
    self->max_hops = max_hops;
    static const baton_slice_t empty = {"", 0};
    self->id = self->reply_to = self->reply_key = self->traceparent = empty;
    self->taken = self->seal = empty;
    self->method = self->target = self->error_text = self->error_hop = empty;
    self->req_body.bytes = self->body.bytes = empty;
}

baton_envelope_t *
baton__envelope_alloc (size_t raw_len, size_t max_hops)
{
    baton_envelope_t *self = (baton_envelope_t *) malloc (sizeof (baton_envelope_t) + raw_len);
    if (!self)
        return NULL;
    self->raw_cap = raw_len;
    baton__envelope_init (self, max_hops);
    return self;
}

baton_envelope_t *
baton_envelope_new (void)
{
    return baton__envelope_alloc (0, baton_limits_default ().max_hops);
}

//  Frees what self owns beside its own memory.
static void
s_free_owned (baton_envelope_t *self)
{
    free (self->req_body.owned);
    free (self->body.owned);
    self->req_body.owned = self->body.owned = NULL;
    s_arena_free (&self->arena);
}

void
baton_envelope_destroy (baton_envelope_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_owned (*self_p);
    free (*self_p);
    *self_p = NULL;
}

void
baton__envelope_recycle (baton_envelope_t **self_p, baton_envelope_t **spare)
{
    if (!self_p || !*self_p)
        return;
    if (*spare || (*self_p)->raw_cap) {
        baton_envelope_destroy (self_p);
        return;
    }
    s_free_owned (*self_p);
    *spare = *self_p;
    *self_p = NULL;
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

baton_slice_t
baton_envelope_reply_key (const baton_envelope_t *self)
{
    return self->reply_key;
}

int
baton_envelope_set_reply_key (baton_envelope_t *self, const void *key, size_t len)
{
    if (!key || len != BATON_KEY_LEN)
        return BATON_EINVAL;
    return s_dup (&self->arena, &self->reply_key, (const char *) key, len);
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
s_push_pair (baton_envelope_t *self, baton__vec_t *v, const char *a, size_t alen, const char *b,
             size_t blen)
{
    baton_header_t h;
    int rc = s_dup (&self->arena, &h.name, a, alen);
    if (!rc)
        rc = s_dup (&self->arena, &h.value, b, blen);
    if (rc)
        return rc;
    baton_header_t *slot = (baton_header_t *) baton__vec_push (&self->arena, v, sizeof h);
    if (!slot)
        return BATON_ENOMEM;
    *slot = h;
    return 0;
}

//  Sets slot i of the keys beside count hops in v to a copy of key, the
//  slots before it that have none left empty (route_keys, a branch's keys).
static int
s_set_key (baton_envelope_t *self, baton__vec_t *v, uint32_t count, size_t i, const void *key)
{
    while (v->count < count) {
        baton_slice_t *slot =
            (baton_slice_t *) baton__vec_push (&self->arena, v, sizeof (baton_slice_t));
        if (!slot)
            return BATON_ENOMEM;
        *slot = s_empty;
    }
    return s_dup (&self->arena, (baton_slice_t *) v->items + i, (const char *) key, BATON_KEY_LEN);
}

//  True if s holds exactly the len bytes at name.
static bool
s_name_is (baton_slice_t s, const char *name, size_t len)
{
    return s.len == len && (len == 0 || memcmp (s.ptr, name, len) == 0);
}

int
baton_envelope_route_append (baton_envelope_t *self, const char *name, size_t name_len,
                             const char *endpoint, size_t endpoint_len)
{
    if (self->route.count >= self->max_hops)
        return BATON_EROUTE;
    baton__envelope_touch (self, BATON__WIRE_ROUTE);
    return s_push_pair (self, &self->route, name, name_len, endpoint, endpoint_len);
}

int
baton_envelope_route_set_endpoint (baton_envelope_t *self, size_t i, const char *endpoint,
                                   size_t endpoint_len)
{
    if (i >= self->route.count)
        return BATON_EROUTE;
    baton_header_t *h = (baton_header_t *) self->route.items + i;
    baton__envelope_touch (self, BATON__WIRE_ROUTE);
    return s_dup (&self->arena, &h->value, endpoint, endpoint_len);
}

baton_slice_t
baton_envelope_route_key (const baton_envelope_t *self, size_t i)
{
    if (i >= self->route.count || i >= self->route_keys.count)
        return s_empty;
    return ((const baton_slice_t *) self->route_keys.items)[i];
}

int
baton_envelope_set_route_key (baton_envelope_t *self, size_t i, const void *key, size_t len)
{
    if (i >= self->route.count)
        return BATON_EROUTE;
    if (!key || len != BATON_KEY_LEN)
        return BATON_EINVAL;
    baton__envelope_touch (self, BATON__WIRE_ROUTE_KEYS);
    //  The parallel array grows to the route, hops without a key left empty.
    self->has_route_keys = true;
    return s_set_key (self, &self->route_keys, self->route.count, i, key);
}

//  --- branches ----------------------------------------------------------------------

size_t
baton_envelope_branch_count (const baton_envelope_t *self)
{
    return self->branches.count;
}

//  Branch b, or NULL if out of range.
static baton__branch_t *
s_branch (const baton_envelope_t *self, size_t b)
{
    return b < self->branches.count ? (baton__branch_t *) self->branches.items + b : NULL;
}

baton_slice_t
baton_envelope_branch_name (const baton_envelope_t *self, size_t b)
{
    const baton__branch_t *br = s_branch (self, b);
    return br ? br->name : s_empty;
}

size_t
baton_envelope_branch_hop_count (const baton_envelope_t *self, size_t b)
{
    const baton__branch_t *br = s_branch (self, b);
    return br ? br->hops.count : 0;
}

baton_hop_t
baton_envelope_branch_hop (const baton_envelope_t *self, size_t b, size_t i)
{
    const baton__branch_t *br = s_branch (self, b);
    if (!br || i >= br->hops.count) {
        baton_hop_t none = {s_empty, s_empty};
        return none;
    }
    const baton_header_t *h = (const baton_header_t *) br->hops.items + i;
    baton_hop_t hop = {h->name, h->value};
    return hop;
}

baton_slice_t
baton_envelope_branch_key (const baton_envelope_t *self, size_t b, size_t i)
{
    const baton__branch_t *br = s_branch (self, b);
    return br && i < br->keys.count ? ((const baton_slice_t *) br->keys.items)[i] : s_empty;
}

int
baton_envelope_branch_add (baton_envelope_t *self, const char *name, size_t name_len)
{
    if (!name || !name_len)
        return BATON_EINVAL;
    for (uint32_t b = 0; b < self->branches.count; b++)
        if (s_name_is (((baton__branch_t *) self->branches.items)[b].name, name, name_len))
            return BATON_EINVAL;
    if (self->branches.count >= BATON_ENVELOPE_MAX_BRANCHES)
        return BATON_EROUTE;
    baton__branch_t br;
    memset (&br, 0, sizeof br);
    int rc = s_dup (&self->arena, &br.name, name, name_len);
    if (rc)
        return rc;
    baton__branch_t *slot =
        (baton__branch_t *) baton__vec_push (&self->arena, &self->branches, sizeof br);
    if (!slot)
        return BATON_ENOMEM;
    *slot = br;
    return 0;
}

int
baton_envelope_branch_append (baton_envelope_t *self, size_t b, const char *name, size_t name_len,
                              const char *endpoint, size_t endpoint_len)
{
    baton__branch_t *br = s_branch (self, b);
    if (!br || br->hops.count >= self->max_hops)
        return BATON_EROUTE;
    return s_push_pair (self, &br->hops, name, name_len, endpoint, endpoint_len);
}

int
baton_envelope_set_branch_key (baton_envelope_t *self, size_t b, size_t i, const void *key,
                               size_t len)
{
    baton__branch_t *br = s_branch (self, b);
    if (!br || i >= br->hops.count)
        return BATON_EROUTE;
    if (!key || len != BATON_KEY_LEN)
        return BATON_EINVAL;
    return s_set_key (self, &br->keys, br->hops.count, i, key);
}

void
baton_envelope_clear_branches (baton_envelope_t *self)
{
    self->branches.count = 0;
    self->taken = s_empty;
}

baton_slice_t
baton_envelope_taken (const baton_envelope_t *self)
{
    return self->taken;
}

int
baton_envelope_take_branch (baton_envelope_t *self, const char *name, size_t name_len)
{
    const baton__branch_t *br = NULL;
    for (uint32_t b = 0; b < self->branches.count && !br; b++)
        if (s_name_is (((baton__branch_t *) self->branches.items)[b].name, name, name_len))
            br = (baton__branch_t *) self->branches.items + b;
    if (!br || !name_len)
        return BATON_EINVAL;
    if (self->taken.len || self->index + 1 != self->route.count)
        return BATON_ESTATE;
    if (self->route.count + br->hops.count > self->max_hops)
        return BATON_EROUTE;
    int rc = s_dup (&self->arena, &self->taken, br->name.ptr, br->name.len);
    for (uint32_t i = 0; i < br->hops.count && !rc; i++) {
        const baton_header_t *h = (const baton_header_t *) br->hops.items + i;
        rc = baton_envelope_route_append (self, h->name.ptr, h->name.len, h->value.ptr,
                                          h->value.len);
        baton_slice_t key =
            i < br->keys.count ? ((const baton_slice_t *) br->keys.items)[i] : s_empty;
        if (!rc && key.len)
            rc = baton_envelope_set_route_key (self, self->route.count - 1, key.ptr, key.len);
    }
    return rc;
}

baton_slice_t
baton_envelope_seal (const baton_envelope_t *self)
{
    return self->seal;
}

int
baton_envelope_set_seal (baton_envelope_t *self, const void *seal, size_t len)
{
    if (len != 0 && len != BATON_SEAL_LEN)
        return BATON_EINVAL;
    return s_dup (&self->arena, &self->seal, (const char *) seal, len);
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

uint64_t
baton_envelope_oam (const baton_envelope_t *self)
{
    return self->oam;
}

void
baton_envelope_set_oam (baton_envelope_t *self, uint64_t flags)
{
    self->oam = flags;
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

const char *
baton_envelope_version_pin (const baton_envelope_t *self)
{
    return self->version_pin;
}

int
baton_envelope_set_version_pin (baton_envelope_t *self, const char *v, size_t len)
{
    int rc = baton__envelope_check_version_pin (v, len, BATON_EINVAL);
    if (rc)
        return rc;
    memcpy (self->version_pin, v, len);
    self->version_pin[len] = '\0';
    return 0;
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
    baton_record_t *slot =
        (baton_record_t *) baton__vec_push (&self->arena, &self->record, sizeof r);
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
    baton__envelope_touch (self, BATON__WIRE_META);
    baton_header_t *m = s_meta_find (self, key, key_len);
    if (m)
        return s_dup (&self->arena, &m->value, (const char *) value, value_len);
    return s_push_pair (self, &self->meta, key, key_len, (const char *) value, value_len);
}

//  Removes the items of v for which drop () holds, keeping order.
static size_t
s_remove_pairs (baton__vec_t *v, const char *name, size_t len, bool nocase)
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
    baton__envelope_touch (self, BATON__WIRE_META);
    return s_remove_pairs (&self->meta, key, key_len, false) > 0;
}

//  --- request ---------------------------------------------------------------------

static bool
s_find_header (const baton__vec_t *v, const char *name, size_t len, baton_slice_t *value)
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
s_header_at (const baton__vec_t *v, size_t i)
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
    baton__envelope_touch (self, BATON__WIRE_REQUEST);
    int rc = s_dup (&self->arena, &self->method, method, method_len);
    return rc ? rc : s_dup (&self->arena, &self->target, target, target_len);
}

int
baton_envelope_request_add_header (baton_envelope_t *self, const char *name, size_t name_len,
                                   const char *value, size_t value_len)
{
    baton__envelope_touch (self, BATON__WIRE_REQUEST);
    return s_push_pair (self, &self->req_headers, name, name_len, value, value_len);
}

static int
s_set_body (baton__body_t *b, const void *body, size_t len)
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
    baton__envelope_touch (self, BATON__WIRE_REQUEST);
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
    baton__envelope_touch (self, BATON__WIRE_MESSAGE);
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
    baton__envelope_touch (self, BATON__WIRE_MESSAGE);
    return s_push_pair (self, &self->headers, name, name_len, value, value_len);
}

int
baton_envelope_set_header (baton_envelope_t *self, const char *name, size_t name_len,
                           const char *value, size_t value_len)
{
    baton__envelope_touch (self, BATON__WIRE_MESSAGE);
    s_remove_pairs (&self->headers, name, name_len, true);
    return s_push_pair (self, &self->headers, name, name_len, value, value_len);
}

size_t
baton_envelope_remove_header (baton_envelope_t *self, const char *name, size_t name_len)
{
    baton__envelope_touch (self, BATON__WIRE_MESSAGE);
    return s_remove_pairs (&self->headers, name, name_len, true);
}

void
baton_envelope_clear_headers (baton_envelope_t *self)
{
    baton__envelope_touch (self, BATON__WIRE_MESSAGE);
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
    baton__envelope_touch (self, BATON__WIRE_MESSAGE);
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
    baton__envelope_touch (self, BATON__WIRE_ERROR);
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
    for (int i = 0; i < BATON__SECTIONS; i++)
        n += self->unknown[i].count;
    return n;
}
