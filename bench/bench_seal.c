/*  bench_seal.c - what the seal costs per hop: one verify (the canonical
 *  bytes hashed with the mesh key, then compared) of a 3-hop route with 2
 *  branches. Goal: under 1 us.
 *  Run a Release build: build-rel/bench/bench_seal [iterations]  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "seal.h"

typedef struct {
    const char *name, *endpoint;
    size_t name_len, endpoint_len; //  known, as an envelope's are
} s_hop_t;

#define S_HOP(name, endpoint)                                                                      \
    {                                                                                              \
        name, endpoint, sizeof name - 1, sizeof endpoint - 1                                       \
    }

//  The route a hop sees: 3 hops, then branch "ok" (1 hop) and "review" (2).
static s_hop_t s_route[3] = {S_HOP ("auth", "tcp://10.0.0.11:5701"),
                             S_HOP ("score", "tcp://10.0.0.12:5702"),
                             S_HOP ("enrich", "tcp://10.0.0.13:5703")};
static s_hop_t s_ok[1] = {S_HOP ("render", "tcp://10.0.0.14:5704")};
static s_hop_t s_review[2] = {S_HOP ("fraud", "tcp://10.0.0.15:5705"),
                              S_HOP ("render", "tcp://10.0.0.14:5704")};

static void
s_hops (baton_seal_t *s, const s_hop_t *hops, size_t n)
{
    baton__seal_count (s, n);
    for (size_t i = 0; i < n; i++) {
        baton__seal_str (s, hops[i].name, hops[i].name_len);
        baton__seal_str (s, hops[i].endpoint, hops[i].endpoint_len);
    }
}

//  How many canonical bytes s_seal hashes.
static size_t s_bytes;

//  The fields in the order of docs/security.md, "Sealed routes".
static void
s_seal (const uint8_t key[BATON_MESH_KEY_SIZE], uint8_t out[BATON_SEAL_SIZE])
{
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton__seal_str (&s, "gw1-000000000000000a3f9c2b7d", 28);
    baton__seal_str (&s, "tcp://10.0.0.1:5600", 19);
    baton__seal_uint (&s, 1765000000000);
    baton__seal_uint (&s, 5);
    s_hops (&s, s_route, 3);
    baton__seal_count (&s, 2);
    baton__seal_str (&s, "ok", 2);
    s_hops (&s, s_ok, 1);
    baton__seal_str (&s, "review", 6);
    s_hops (&s, s_review, 2);
    s_bytes = s.used;
    baton__seal_end (&s, out);
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  The best of 5 rounds of n calls of seal (framed) or of one raw hash of
//  the same number of bytes, in ns per call.
static double
s_best (long n, bool framed, const uint8_t *key, const uint8_t *want, long *ok)
{
    uint8_t got[BATON_SEAL_SIZE], raw[512] = {0};
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        double t0 = s_now ();
        for (long i = 0; i < n; i++) {
            if (framed) {
                s_seal (key, got);
                *ok += baton__seal_equal (got, want);
            } else {
                crypto_generichash (got, sizeof got, raw, s_bytes, key, BATON_MESH_KEY_SIZE);
                raw[0] ^= got[0];
            }
        }
        double ns = (s_now () - t0) * 1e9 / (double) n;
        best = ns < best ? ns : best;
    }
    return best;
}

int
main (int argc, char **argv)
{
    long n = argc > 1 ? atol (argv[1]) : 1000000;
    if (n <= 0 || baton__seal_setup () < 0) {
        fprintf (stderr, "usage: bench_seal [iterations > 0] (and libsodium must start)\n");
        return 2;
    }
    uint8_t key[BATON_MESH_KEY_SIZE], want[BATON_SEAL_SIZE];
    baton__mesh_key_new (key);
    s_seal (key, want);
    long ok = 0;
    double sealed = s_best (n, true, key, want, &ok), raw = s_best (n, false, key, want, &ok);
    printf ("seal verify, 3-hop route + 2 branches (%zu canonical bytes): %.0f ns per hop; "
            "keyed BLAKE2b of as many bytes alone: %.0f ns (best of 5 x %ld; goal < 1000 ns)\n",
            s_bytes, sealed, raw, n);
    return ok == 5 * n ? 0 : 1;
}
