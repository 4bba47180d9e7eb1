/*  fuzz_envelope.c - libFuzzer target for the envelope decoder. Whatever it
 *  accepts must encode, decode again, and re-encode to the same bytes;
 *  decoded in place for a forward, as a hop does, each change a hop makes
 *  must leave a forward that means what the full encoding says; and the
 *  seal check a hop makes on it holds only for a seal made with its key.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "envelope_int.h"
#include "route_seal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  The full encoding of e: one canonical form of what e means. Caller frees.
static void *
s_full (const baton_envelope_t *e, size_t *len)
{
    void *buf;
    if (baton__envelope_encode_full (e, &buf, len))
        abort ();
    return buf;
}

//  The forward of e (entries copied as received) must be the full encoding.
static void
s_check_forward (const baton_envelope_t *e)
{
    void *fast, *full;
    size_t fast_len, full_len;
    if (baton_envelope_encode (e, &fast, &fast_len))
        abort ();
    full = s_full (e, &full_len);
    if (fast_len != full_len || memcmp (fast, full, full_len) != 0)
        abort (); //  a copied entry is not what the writer writes
    free (fast);
    free (full);
}

//  The envelope a hop keeps from one decode for the next, as a worker does:
//  every decode in place reuses what the inputs before it left in it.
static baton_envelope_t *s_spare;

//  Decodes data in place as a hop does and checks the forward of every
//  change a hop makes, one after the other.
static void
s_forward (const uint8_t *data, size_t size, const baton_limits_t *lim,
           const baton_envelope_t *copied)
{
    int err;
    baton_envelope_t *e = baton__envelope_decode_borrowed (data, size, lim, &err, &s_spare);
    if (!e)
        abort (); //  in place, the decoder answers as it does on a copy
    size_t a_len, b_len;
    void *a = s_full (e, &a_len), *b = s_full (copied, &b_len);
    if (a_len != b_len || memcmp (a, b, a_len) != 0)
        abort ();
    free (a);
    free (b);
    s_check_forward (e);
    baton_envelope_advance (e, 1, 2);
    s_check_forward (e);
    //  The hop before the branches takes one: what it writes reads back.
    if (baton_envelope_branch_count (e) &&
        baton_envelope_take_branch (e, baton_envelope_branch_name (e, 0).ptr,
                                    baton_envelope_branch_name (e, 0).len) == 0) {
        s_check_forward (e);
        size_t len;
        void *taken = s_full (e, &len);
        baton_envelope_t *again = baton_envelope_decode (taken, len, lim, &err);
        if (!again)
            abort ();
        baton_envelope_destroy (&again);
        free (taken);
    }
    baton_envelope_meta_set (e, "k", 1, "v", 1);
    s_check_forward (e);
    baton_envelope_set_header (e, "X-F", 3, "1", 1);
    s_check_forward (e);
    baton_envelope_route_set_endpoint (e, 0, "inproc://x", 10);
    s_check_forward (e);
    baton_envelope_set_error (e, 502, "failed", 6, "hop", 3);
    s_check_forward (e);
    baton__envelope_recycle (&e, &s_spare);
}

//  A hop's seal check on what a peer sent, then on e sealed by a gateway:
//  a seal holds only with the key that made it, and a route the gateway
//  could seal fails the check only by the rule on the index.
static void
s_seal (baton_envelope_t *e)
{
    uint8_t key[BATON_MESH_KEY_SIZE], other[BATON_MESH_KEY_SIZE];
    memset (key, 0x3c, sizeof key);
    memset (other, 0xc3, sizeof other);
    //  On what a peer sent: it must only not crash (ASan, UBSan watch).
    (void) baton__route_seal_check (e, key);
    if (baton__route_seal_set (e, key) != 0)
        return;
    const char *why = baton__route_seal_check (e, key);
    if (why && strcmp (why, "the index is before the branch taken") != 0)
        abort ();
    if (!baton__route_seal_check (e, other))
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  Small limits reach every limit check with small inputs.
    baton_limits_t lim = {.max_size = 1 << 20,
                          .max_depth = 8,
                          .max_items = 64,
                          .max_total = 512,
                          .max_str = 256,
                          .max_bin = 4096,
                          .max_hops = 16};
    int err;
    baton_envelope_t *e = baton_envelope_decode (data, size, &lim, &err);
    if (!e) {
        int in_place_err;
        if (baton__envelope_decode_borrowed (data, size, &lim, &in_place_err, &s_spare) ||
            in_place_err != err)
            abort ();
        return 0;
    }
    s_forward (data, size, &lim, e);
    void *a, *b;
    size_t alen, blen;
    if (baton_envelope_encode (e, &a, &alen))
        abort ();
    baton_envelope_t *again = baton_envelope_decode (a, alen, NULL, &err);
    if (!again)
        abort (); //  we wrote something we cannot read
    if (baton_envelope_encode (again, &b, &blen))
        abort ();
    if (alen != blen || memcmp (a, b, alen) != 0)
        abort (); //  encoding is not stable
    free (a);
    free (b);
    //  Exercise the mutators on decoded data, the keys included: what they
    //  leave (a key set on one hop of a route that had none) still encodes
    //  to an envelope that decodes.
    uint8_t key[BATON_KEY_LEN];
    memset (key, 0x5a, sizeof key);
    baton_envelope_set_header (again, "X-F", 3, "1", 1);
    baton_envelope_meta_set (again, "k", 1, "v", 1);
    baton_envelope_set_reply_key (again, key, sizeof key);
    baton_envelope_set_route_key (again, 0, key, sizeof key);
    baton_envelope_advance (again, 1, 2);
    if (baton_envelope_encode (again, &a, &alen))
        abort ();
    baton_envelope_t *mutated = baton_envelope_decode (a, alen, NULL, &err);
    if (!mutated)
        abort ();
    free (a);
    baton_envelope_destroy (&mutated);
    s_seal (e);
    baton_envelope_destroy (&e);
    baton_envelope_destroy (&again);
    return 0;
}
