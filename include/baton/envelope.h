/*  envelope.h - the Baton envelope: one request and its remaining route, as
 *  it travels between hops. Wire format and limits: docs/wire-format.md.
 *
 *  Strings and bytes read from an envelope are baton_slice_t: a pointer and a
 *  length, not NUL-terminated, valid until the envelope is changed in that
 *  field or destroyed. Setters copy what they are given.  */
#ifndef BATON_ENVELOPE_H
#define BATON_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "baton/export.h"
#include "baton/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The wire version this code writes and reads (key "v").
#define BATON_ENVELOPE_VERSION 1
//  Length of a CURVE public key (reply_key, route_keys), in bytes.
#define BATON_KEY_LEN 32
//  The longest version a request may pin (key "version"), in bytes.
#define BATON_ENVELOPE_MAX_VERSION 64
//  The most branches an envelope may carry (key "branches").
#define BATON_ENVELOPE_MAX_BRANCHES 8
//  Length of a route's seal (key "seal"), in bytes.
#define BATON_SEAL_LEN 32

typedef struct baton_envelope baton_envelope_t;

//  A borrowed run of bytes.
typedef struct {
    const char *ptr;
    size_t len;
} baton_slice_t;

//  One HTTP header field as received or as to be sent.
typedef struct {
    baton_slice_t name;
    baton_slice_t value;
} baton_header_t;

//  One hop of the route: the function's name and the inbox endpoint of the
//  replica chosen at the edge.
typedef struct {
    baton_slice_t name;
    baton_slice_t endpoint;
} baton_hop_t;

//  One entry of the trace record: a hop's name and when it took and released
//  the envelope, in microseconds since the Unix epoch.
typedef struct {
    baton_slice_t name;
    uint64_t t_in_us;
    uint64_t t_out_us;
} baton_record_t;

//  Limits the decoder enforces before anything is allocated. Zero in a field
//  means "use the default" (baton_limits_default ()).
typedef struct {
    size_t max_size;  //  whole document, bytes (default 8 MiB)
    size_t max_depth; //  nesting of arrays and maps (default 16)
    size_t max_items; //  elements of one array or pairs of one map (default 1024)
    size_t max_total; //  elements and pairs in the whole document (default 16384)
    size_t max_str;   //  one string, bytes (default 64 KiB)
    size_t max_bin;   //  one binary (a body), bytes (default 8 MiB)
    size_t max_hops;  //  route entries and record entries (default 64)
} baton_limits_t;

//  Returns the default limits.
BATON_EXPORT baton_limits_t baton_limits_default (void);

//  Creates an empty envelope: version 1, no route, budget 0, deadline 0,
//  message status 200. Returns NULL only if memory runs out.
BATON_EXPORT baton_envelope_t *baton_envelope_new (void);

//  Safe on NULL; sets *self_p to NULL.
BATON_EXPORT void baton_envelope_destroy (baton_envelope_t **self_p);

//  Decodes one envelope from data. Never reads past len, never trusts a count
//  or length inside it: every one is checked against limits (NULL: defaults)
//  and against the bytes that remain before any memory is reserved. The bytes
//  are copied; data may be freed afterwards. Returns NULL and sets *err (if
//  not NULL) to a BATON_E... code on bad input. Caller owns the result.
BATON_EXPORT baton_envelope_t *baton_envelope_decode (const void *data, size_t len,
                                                      const baton_limits_t *limits, int *err);

//  Checks that data is one well-formed msgpack document within limits,
//  without decoding it. Returns 0 or a BATON_E... code.
BATON_EXPORT int baton_msgpack_validate (const void *data, size_t len,
                                         const baton_limits_t *limits);

//  Returns the exact number of bytes baton_envelope_encode_into () writes.
BATON_EXPORT size_t baton_envelope_encoded_size (const baton_envelope_t *self);

//  Encodes into dst, which holds cap bytes. Returns the bytes written, or 0 if
//  cap is smaller than baton_envelope_encoded_size ().
BATON_EXPORT size_t baton_envelope_encode_into (const baton_envelope_t *self, void *dst,
                                                size_t cap);

//  Encodes into a new buffer. Caller owns *data_p and frees it with free ().
//  Returns 0 or BATON_ENOMEM.
BATON_EXPORT int baton_envelope_encode (const baton_envelope_t *self, void **data_p, size_t *len_p);

//  --- identity -----------------------------------------------------------
BATON_EXPORT uint64_t baton_envelope_version (const baton_envelope_t *self);
BATON_EXPORT baton_slice_t baton_envelope_id (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_id (baton_envelope_t *self, const char *id, size_t len);
BATON_EXPORT baton_slice_t baton_envelope_reply_to (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_reply_to (baton_envelope_t *self, const char *ep, size_t len);
//  The CURVE public key of the gateway at reply_to (BATON_KEY_LEN bytes), or
//  an empty slice if the envelope has none (a plaintext mesh).
BATON_EXPORT baton_slice_t baton_envelope_reply_key (const baton_envelope_t *self);
//  Sets it to a copy of key. Returns 0, BATON_EINVAL unless len is
//  BATON_KEY_LEN, or BATON_ENOMEM.
BATON_EXPORT int baton_envelope_set_reply_key (baton_envelope_t *self, const void *key, size_t len);

//  --- route ----------------------------------------------------------------
BATON_EXPORT size_t baton_envelope_route_count (const baton_envelope_t *self);
//  Returns hop i, or an empty hop if i is out of range.
BATON_EXPORT baton_hop_t baton_envelope_route_hop (const baton_envelope_t *self, size_t i);
//  Appends a hop. Returns 0, BATON_EROUTE past the hop limit, or BATON_ENOMEM.
BATON_EXPORT int baton_envelope_route_append (baton_envelope_t *self, const char *name,
                                              size_t name_len, const char *endpoint,
                                              size_t endpoint_len);
//  Replaces the endpoint of hop i (the edge re-routing a hop that has not
//  been sent yet). Returns 0, BATON_EROUTE if i is out of range, BATON_ENOMEM.
BATON_EXPORT int baton_envelope_route_set_endpoint (baton_envelope_t *self, size_t i,
                                                    const char *endpoint, size_t endpoint_len);
//  The CURVE public key of the replica picked for hop i (BATON_KEY_LEN
//  bytes), or an empty slice if hop i has none or i is out of range.
BATON_EXPORT baton_slice_t baton_envelope_route_key (const baton_envelope_t *self, size_t i);
//  Sets the key of hop i to a copy of key. Returns 0, BATON_EROUTE if i is out
//  of range, BATON_EINVAL unless len is BATON_KEY_LEN, or BATON_ENOMEM. The
//  envelope carries route_keys on the wire only once every hop has a key.
BATON_EXPORT int baton_envelope_set_route_key (baton_envelope_t *self, size_t i, const void *key,
                                               size_t len);
//  --- branches: the routes a hop may take next, sealed at the edge ----------
//  (docs/wire-format.md, "branches"). The hop before them picks one with
//  baton_envelope_take_branch; the seal covers the base route and them.
BATON_EXPORT size_t baton_envelope_branch_count (const baton_envelope_t *self);
//  The name of branch b, or an empty slice if b is out of range.
BATON_EXPORT baton_slice_t baton_envelope_branch_name (const baton_envelope_t *self, size_t b);
//  The hops of branch b (0 if b is out of range).
BATON_EXPORT size_t baton_envelope_branch_hop_count (const baton_envelope_t *self, size_t b);
//  Hop i of branch b, or an empty hop if either is out of range.
BATON_EXPORT baton_hop_t baton_envelope_branch_hop (const baton_envelope_t *self, size_t b,
                                                    size_t i);
//  The CURVE public key of hop i of branch b, or an empty slice if it has
//  none or either is out of range.
BATON_EXPORT baton_slice_t baton_envelope_branch_key (const baton_envelope_t *self, size_t b,
                                                      size_t i);
//  Adds an empty branch named name (its index is the count before). Returns
//  0; BATON_EINVAL if name is empty or a branch already has it, BATON_EROUTE
//  past BATON_ENVELOPE_MAX_BRANCHES, BATON_ENOMEM.
BATON_EXPORT int baton_envelope_branch_add (baton_envelope_t *self, const char *name,
                                            size_t name_len);
//  Appends a hop to branch b. Returns 0, BATON_EROUTE if b is out of range or
//  the branch is at the hop limit, BATON_ENOMEM.
BATON_EXPORT int baton_envelope_branch_append (baton_envelope_t *self, size_t b, const char *name,
                                               size_t name_len, const char *endpoint,
                                               size_t endpoint_len);
//  Sets the key of hop i of branch b to a copy of key. Returns 0, BATON_EROUTE
//  if either is out of range, BATON_EINVAL unless len is BATON_KEY_LEN,
//  BATON_ENOMEM. A branch's keys go on the wire with route_keys.
BATON_EXPORT int baton_envelope_set_branch_key (baton_envelope_t *self, size_t b, size_t i,
                                                const void *key, size_t len);
//  Removes every branch, and taken (the edge picking them again).
BATON_EXPORT void baton_envelope_clear_branches (baton_envelope_t *self);
//  The branch taken (key "taken"), or an empty slice if none was.
BATON_EXPORT baton_slice_t baton_envelope_taken (const baton_envelope_t *self);
//  Takes the branch named name: appends its hops (and keys) to the route and
//  sets taken; nothing else changes. Only the last hop of the route before
//  it (index == route_count - 1) may, once. Returns 0; BATON_EINVAL if no
//  branch has that name; BATON_ESTATE if a branch was taken already or this
//  is not the hop before the branches; BATON_EROUTE if the route would pass
//  the hop limit (nothing changed then); BATON_ENOMEM.
BATON_EXPORT int baton_envelope_take_branch (baton_envelope_t *self, const char *name,
                                             size_t name_len);
//  The route's seal (key "seal", BATON_SEAL_LEN bytes), or an empty slice.
BATON_EXPORT baton_slice_t baton_envelope_seal (const baton_envelope_t *self);
//  Sets the seal to a copy of seal (len 0: none). Returns 0, BATON_EINVAL
//  unless len is 0 or BATON_SEAL_LEN, BATON_ENOMEM.
BATON_EXPORT int baton_envelope_set_seal (baton_envelope_t *self, const void *seal, size_t len);

//  Index of the current hop (0 = first). Equal to route_count once the last
//  hop is done.
BATON_EXPORT size_t baton_envelope_index (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_index (baton_envelope_t *self, size_t index);
//  Hops that may still be taken (NSH TTL). Never reset along the way.
BATON_EXPORT uint64_t baton_envelope_budget (const baton_envelope_t *self);
BATON_EXPORT void baton_envelope_set_budget (baton_envelope_t *self, uint64_t budget);
//  Absolute deadline in milliseconds since the Unix epoch; 0 means none.
BATON_EXPORT uint64_t baton_envelope_deadline_ms (const baton_envelope_t *self);
BATON_EXPORT void baton_envelope_set_deadline_ms (baton_envelope_t *self, uint64_t deadline_ms);

//  --- OAM: operations, administration and maintenance (NSH's O bit) ---------
//  oam flag: the envelope is a probe. A hop that receives one runs no user
//  code: it applies every rule, appends its record entry and takes the next
//  step (next hop, or reply_to when the route is done) with the message as it is.
#define BATON_OAM_PROBE 1u
//  The OAM flags (bits; 0 = a normal request). Bits a hop does not know are
//  kept and passed on.
BATON_EXPORT uint64_t baton_envelope_oam (const baton_envelope_t *self);
BATON_EXPORT void baton_envelope_set_oam (baton_envelope_t *self, uint64_t flags);

//  The forwarding step a hop takes after its work: appends its record entry
//  (current hop's name, t_in_us, t_out_us), moves the index to the next hop
//  and spends one hop of budget. Returns 0, BATON_EBUDGET if the budget is
//  already 0 (nothing changed), BATON_EROUTE if the route is already done.
BATON_EXPORT int baton_envelope_advance (baton_envelope_t *self, uint64_t t_in_us,
                                         uint64_t t_out_us);
//  True once the index is past the last hop: the message is the response.
BATON_EXPORT bool baton_envelope_route_done (const baton_envelope_t *self);

//  --- trace ----------------------------------------------------------------
//  W3C traceparent header value; empty if none.
BATON_EXPORT baton_slice_t baton_envelope_traceparent (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_traceparent (baton_envelope_t *self, const char *tp,
                                                 size_t len);
//  The version every hop of the request runs, chosen at the edge (a route's
//  version: or split:), NUL-terminated; "" if none. Never NULL.
BATON_EXPORT const char *baton_envelope_version_pin (const baton_envelope_t *self);
//  Sets it to the len bytes at v (len 0: none). Returns 0; BATON_ESTRLEN if
//  len is over BATON_ENVELOPE_MAX_VERSION, BATON_EINVAL if v holds a control
//  byte (nothing changed then).
BATON_EXPORT int baton_envelope_set_version_pin (baton_envelope_t *self, const char *v, size_t len);
BATON_EXPORT size_t baton_envelope_record_count (const baton_envelope_t *self);
BATON_EXPORT baton_record_t baton_envelope_record (const baton_envelope_t *self, size_t i);
BATON_EXPORT int baton_envelope_record_append (baton_envelope_t *self, const char *name,
                                               size_t name_len, uint64_t t_in_us,
                                               uint64_t t_out_us);

//  --- meta: string keys to bytes -------------------------------------------
BATON_EXPORT size_t baton_envelope_meta_count (const baton_envelope_t *self);
//  Entry i as key (name) and value.
BATON_EXPORT baton_header_t baton_envelope_meta_at (const baton_envelope_t *self, size_t i);
//  Looks up a key (exact match). Returns true and sets *value if present.
BATON_EXPORT bool baton_envelope_meta_get (const baton_envelope_t *self, const char *key,
                                           size_t key_len, baton_slice_t *value);
//  Sets key to value, replacing an existing entry of that key.
BATON_EXPORT int baton_envelope_meta_set (baton_envelope_t *self, const char *key, size_t key_len,
                                          const void *value, size_t value_len);
//  Removes key; returns true if it was there.
BATON_EXPORT bool baton_envelope_meta_remove (baton_envelope_t *self, const char *key,
                                              size_t key_len);

//  --- request: as received at the edge ----------------------------------------
BATON_EXPORT baton_slice_t baton_envelope_request_method (const baton_envelope_t *self);
BATON_EXPORT baton_slice_t baton_envelope_request_target (const baton_envelope_t *self);
BATON_EXPORT size_t baton_envelope_request_header_count (const baton_envelope_t *self);
BATON_EXPORT baton_header_t baton_envelope_request_header (const baton_envelope_t *self, size_t i);
//  First header of that name (ASCII case-insensitive); true if found.
BATON_EXPORT bool baton_envelope_request_header_find (const baton_envelope_t *self,
                                                      const char *name, size_t name_len,
                                                      baton_slice_t *value);
//  The request body, if the edge carried it separately (usually empty: the
//  body travels once, as the first message body).
BATON_EXPORT baton_slice_t baton_envelope_request_body (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_request (baton_envelope_t *self, const char *method,
                                             size_t method_len, const char *target,
                                             size_t target_len);
BATON_EXPORT int baton_envelope_request_add_header (baton_envelope_t *self, const char *name,
                                                    size_t name_len, const char *value,
                                                    size_t value_len);
BATON_EXPORT int baton_envelope_set_request_body (baton_envelope_t *self, const void *body,
                                                  size_t len);

//  --- message: what flows and becomes the response ----------------------------
BATON_EXPORT unsigned baton_envelope_status (const baton_envelope_t *self);
BATON_EXPORT void baton_envelope_set_status (baton_envelope_t *self, unsigned status);
BATON_EXPORT size_t baton_envelope_header_count (const baton_envelope_t *self);
BATON_EXPORT baton_header_t baton_envelope_header (const baton_envelope_t *self, size_t i);
BATON_EXPORT bool baton_envelope_header_find (const baton_envelope_t *self, const char *name,
                                              size_t name_len, baton_slice_t *value);
//  Appends a header (duplicates allowed, order kept).
BATON_EXPORT int baton_envelope_add_header (baton_envelope_t *self, const char *name,
                                            size_t name_len, const char *value, size_t value_len);
//  Replaces every header of that name (case-insensitive) with one.
BATON_EXPORT int baton_envelope_set_header (baton_envelope_t *self, const char *name,
                                            size_t name_len, const char *value, size_t value_len);
//  Removes every header of that name; returns how many were removed.
BATON_EXPORT size_t baton_envelope_remove_header (baton_envelope_t *self, const char *name,
                                                  size_t name_len);
BATON_EXPORT void baton_envelope_clear_headers (baton_envelope_t *self);
BATON_EXPORT baton_slice_t baton_envelope_body (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_body (baton_envelope_t *self, const void *body, size_t len);

//  --- error: set when a hop fails ---------------------------------------------
BATON_EXPORT bool baton_envelope_has_error (const baton_envelope_t *self);
BATON_EXPORT unsigned baton_envelope_error_code (const baton_envelope_t *self);
BATON_EXPORT baton_slice_t baton_envelope_error_text (const baton_envelope_t *self);
BATON_EXPORT baton_slice_t baton_envelope_error_hop (const baton_envelope_t *self);
BATON_EXPORT int baton_envelope_set_error (baton_envelope_t *self, unsigned code, const char *text,
                                           size_t text_len, const char *hop, size_t hop_len);

//  --- unknown keys --------------------------------------------------------------
//  Number of key/value pairs this reader did not know, kept verbatim (at the
//  top level and inside request, message and error) and written back by encode.
BATON_EXPORT size_t baton_envelope_unknown_count (const baton_envelope_t *self);

#ifdef __cplusplus
}
#endif
#endif
