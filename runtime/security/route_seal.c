/*  route_seal.c - the seal of an envelope's route: its canonical bytes
 *  (docs/security.md, "Sealed routes") hashed with seal.h, and the checks a
 *  hop makes before it runs user code.  */
#include <string.h>
#include "route_seal.h"

//  The branch env took, as an index, or -1 if it took none or no branch has
//  that name.
static long
s_taken (const baton_envelope_t *env)
{
    baton_slice_t taken = baton_envelope_taken (env);
    if (!taken.len)
        return -1;
    for (size_t b = 0; b < baton_envelope_branch_count (env); b++) {
        baton_slice_t name = baton_envelope_branch_name (env, b);
        if (name.len == taken.len && memcmp (name.ptr, taken.ptr, taken.len) == 0)
            return (long) b;
    }
    return -1;
}

//  The route's length before the branch taken, or SIZE_MAX if the route is
//  shorter than that branch or it names none.
static size_t
s_base_len (const baton_envelope_t *env)
{
    size_t n = baton_envelope_route_count (env);
    if (!baton_envelope_taken (env).len)
        return n;
    long b = s_taken (env);
    if (b < 0)
        return SIZE_MAX;
    size_t k = baton_envelope_branch_hop_count (env, (size_t) b);
    return k <= n ? n - k : SIZE_MAX;
}

//  True if a and b hold the same bytes.
static bool
s_same (baton_slice_t a, baton_slice_t b)
{
    return a.len == b.len && memcmp (a.ptr, b.ptr, a.len) == 0;
}

//  True if the route ends with branch b from base on, hop for hop and key
//  for key.
static bool
s_tail_is_branch (const baton_envelope_t *env, size_t b, size_t base)
{
    for (size_t i = 0; i < baton_envelope_branch_hop_count (env, b); i++) {
        baton_hop_t want = baton_envelope_branch_hop (env, b, i);
        baton_hop_t got = baton_envelope_route_hop (env, base + i);
        if (!s_same (want.name, got.name) || !s_same (want.endpoint, got.endpoint) ||
            !s_same (baton_envelope_branch_key (env, b, i),
                     baton_envelope_route_key (env, base + i)))
            return false;
    }
    return true;
}

static void
s_add_hop (baton_seal_t *s, baton_hop_t hop)
{
    baton__seal_str (s, hop.name.ptr, hop.name.len);
    baton__seal_str (s, hop.endpoint.ptr, hop.endpoint.len);
}

int
baton__route_seal (const baton_envelope_t *env, const uint8_t key[BATON_MESH_KEY_SIZE],
                   uint8_t out[BATON_SEAL_SIZE])
{
    size_t base = s_base_len (env);
    if (base == SIZE_MAX)
        return -1;
    //  What is taken must be what the route ends with, as the check asks:
    //  a seal is never made for a route that a hop would then refuse.
    long taken = s_taken (env);
    if (taken >= 0 && !s_tail_is_branch (env, (size_t) taken, base))
        return -1;
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton_slice_t id = baton_envelope_id (env);
    baton_slice_t reply_to = baton_envelope_reply_to (env);
    baton__seal_str (&s, id.ptr, id.len);
    baton__seal_str (&s, reply_to.ptr, reply_to.len);
    baton__seal_uint (&s, baton_envelope_deadline_ms (env));
    baton__seal_uint (&s, baton_envelope_budget (env) + baton_envelope_index (env));
    baton__seal_count (&s, base);
    for (size_t i = 0; i < base; i++)
        s_add_hop (&s, baton_envelope_route_hop (env, i));
    size_t branches = baton_envelope_branch_count (env);
    baton__seal_count (&s, branches);
    for (size_t b = 0; b < branches; b++) {
        baton_slice_t name = baton_envelope_branch_name (env, b);
        size_t k = baton_envelope_branch_hop_count (env, b);
        baton__seal_str (&s, name.ptr, name.len);
        baton__seal_count (&s, k);
        for (size_t i = 0; i < k; i++)
            s_add_hop (&s, baton_envelope_branch_hop (env, b, i));
    }
    baton__seal_end (&s, out);
    return 0;
}

int
baton__route_seal_set (baton_envelope_t *env, const uint8_t key[BATON_MESH_KEY_SIZE])
{
    uint8_t seal[BATON_SEAL_SIZE];
    if (baton__route_seal (env, key, seal) < 0)
        return BATON_EROUTE;
    return baton_envelope_set_seal (env, seal, sizeof seal);
}

const char *
baton__route_seal_check (const baton_envelope_t *env, const uint8_t key[BATON_MESH_KEY_SIZE])
{
    baton_slice_t seal = baton_envelope_seal (env);
    if (seal.len != BATON_SEAL_SIZE)
        return "envelope not sealed";
    if (baton_envelope_taken (env).len) {
        long b = s_taken (env);
        if (b < 0)
            return "the branch taken is not one of the envelope's";
        size_t base = s_base_len (env);
        if (base == SIZE_MAX || !s_tail_is_branch (env, (size_t) b, base))
            return "the route does not end with the branch taken";
        if (baton_envelope_index (env) < base)
            return "the index is before the branch taken";
    }
    uint8_t want[BATON_SEAL_SIZE];
    if (baton__route_seal (env, key, want) < 0 ||
        !baton__seal_equal (want, (const uint8_t *) seal.ptr))
        return "seal does not match: route, branches, budget, deadline, id or reply_to changed";
    return NULL;
}
