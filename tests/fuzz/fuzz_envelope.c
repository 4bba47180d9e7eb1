/*  fuzz_envelope.c - libFuzzer target for the envelope decoder. Whatever it
 *  accepts must encode, decode again, and re-encode to the same bytes.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "baton/envelope.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

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
    if (!e)
        return 0;
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
    baton_envelope_destroy (&e);
    baton_envelope_destroy (&again);
    return 0;
}
