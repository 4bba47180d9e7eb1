/*  bench_envelope.c - encode+decode of the reference envelope (tests/unit/
 *  envelope_fixture.h: 12 fields, 4 request headers, 1 KiB body) in ns/op,
 *  beside a naive msgpack-c baseline of the same document in the same run:
 *  pack into a fresh msgpack_sbuffer, unpack with msgpack_unpack_next into a
 *  fresh zone. Goal: ours <= 0.5x naive. Then a hop's forward of it, decoded
 *  in place and copied where unchanged, beside the full decode and encode.
 *  Bounded: fixed counts, best of runs.  */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "baton/envelope.h"
#include "envelope_int.h"
#include "../tests/unit/envelope_fixture.h"

static double
now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static volatile size_t s_sink;

//  Ours: encode into a new buffer, decode it into a new envelope, release both.
static void
ours_once (const baton_envelope_t *e)
{
    void *buf;
    size_t len;
    baton_envelope_encode (e, &buf, &len);
    int err;
    baton_envelope_t *d = baton_envelope_decode (buf, len, NULL, &err);
    s_sink += baton_envelope_body (d).len;
    baton_envelope_destroy (&d);
    free (buf);
}

static void
pk_str (msgpack_packer *pk, baton_slice_t s)
{
    msgpack_pack_str_with_body (pk, s.ptr, s.len);
}

static void
pk_pairs (msgpack_packer *pk, size_t n, baton_header_t (*at) (const baton_envelope_t *, size_t),
          const baton_envelope_t *e)
{
    msgpack_pack_array (pk, n);
    for (size_t i = 0; i < n; i++) {
        baton_header_t h = at (e, i);
        msgpack_pack_array (pk, 2);
        pk_str (pk, h.name);
        pk_str (pk, h.value);
    }
}

//  The naive way: the same document packed field by field with msgpack-c.
static void
naive_pack (msgpack_packer *pk, const baton_envelope_t *e)
{
    msgpack_pack_map (pk, 12);
    msgpack_pack_str_with_body (pk, "v", 1);
    msgpack_pack_uint64 (pk, 1);
    msgpack_pack_str_with_body (pk, "id", 2);
    pk_str (pk, baton_envelope_id (e));
    msgpack_pack_str_with_body (pk, "reply_to", 8);
    pk_str (pk, baton_envelope_reply_to (e));
    msgpack_pack_str_with_body (pk, "route", 5);
    msgpack_pack_array (pk, baton_envelope_route_count (e));
    for (size_t i = 0; i < baton_envelope_route_count (e); i++) {
        baton_hop_t h = baton_envelope_route_hop (e, i);
        msgpack_pack_array (pk, 2);
        pk_str (pk, h.name);
        pk_str (pk, h.endpoint);
    }
    msgpack_pack_str_with_body (pk, "index", 5);
    msgpack_pack_uint64 (pk, baton_envelope_index (e));
    msgpack_pack_str_with_body (pk, "budget", 6);
    msgpack_pack_uint64 (pk, baton_envelope_budget (e));
    msgpack_pack_str_with_body (pk, "deadline", 8);
    msgpack_pack_uint64 (pk, baton_envelope_deadline_ms (e));
    msgpack_pack_str_with_body (pk, "traceparent", 11);
    pk_str (pk, baton_envelope_traceparent (e));
    msgpack_pack_str_with_body (pk, "record", 6);
    msgpack_pack_array (pk, baton_envelope_record_count (e));
    for (size_t i = 0; i < baton_envelope_record_count (e); i++) {
        baton_record_t r = baton_envelope_record (e, i);
        msgpack_pack_array (pk, 3);
        pk_str (pk, r.name);
        msgpack_pack_uint64 (pk, r.t_in_us);
        msgpack_pack_uint64 (pk, r.t_out_us);
    }
    msgpack_pack_str_with_body (pk, "meta", 4);
    msgpack_pack_map (pk, baton_envelope_meta_count (e));
    for (size_t i = 0; i < baton_envelope_meta_count (e); i++) {
        baton_header_t m = baton_envelope_meta_at (e, i);
        pk_str (pk, m.name);
        msgpack_pack_bin_with_body (pk, m.value.ptr, m.value.len);
    }
    msgpack_pack_str_with_body (pk, "request", 7);
    msgpack_pack_map (pk, 3);
    msgpack_pack_str_with_body (pk, "method", 6);
    pk_str (pk, baton_envelope_request_method (e));
    msgpack_pack_str_with_body (pk, "target", 6);
    pk_str (pk, baton_envelope_request_target (e));
    msgpack_pack_str_with_body (pk, "headers", 7);
    pk_pairs (pk, baton_envelope_request_header_count (e), baton_envelope_request_header, e);
    msgpack_pack_str_with_body (pk, "message", 7);
    msgpack_pack_map (pk, 3);
    msgpack_pack_str_with_body (pk, "status", 6);
    msgpack_pack_uint64 (pk, baton_envelope_status (e));
    msgpack_pack_str_with_body (pk, "headers", 7);
    pk_pairs (pk, baton_envelope_header_count (e), baton_envelope_header, e);
    msgpack_pack_str_with_body (pk, "body", 4);
    baton_slice_t body = baton_envelope_body (e);
    msgpack_pack_bin_with_body (pk, body.ptr, body.len);
}

static size_t
naive_once (const baton_envelope_t *e)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    naive_pack (&pk, e);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    if (msgpack_unpack_next (&up, sb.data, sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
        abort ();
    s_sink += up.data.via.map.size;
    msgpack_unpacked_destroy (&up);
    size_t size = sb.size;
    msgpack_sbuffer_destroy (&sb);
    return size;
}

//  Best per-op time of `runs` runs of `iters` calls.
static double
measure (void (*fn) (const baton_envelope_t *), const baton_envelope_t *e, int runs, int iters)
{
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ns ();
        for (int i = 0; i < iters; i++)
            fn (e);
        double per = (now_ns () - t0) / iters;
        if (per < best)
            best = per;
    }
    return best;
}

static void
naive_void (const baton_envelope_t *e)
{
    naive_once (e);
}

//  The reference envelope's bytes, as a hop receives them.
static void *s_frame;
static size_t s_frame_len;

//  A hop's forward of the frame: decode, the forwarding step, encode; in
//  place and copying what did not change, or copied and written again.
static void
hop_once (bool in_place)
{
    int err;
    baton_envelope_t *d =
        in_place ? baton__envelope_decode_borrowed (s_frame, s_frame_len, NULL, &err, NULL)
                 : baton_envelope_decode (s_frame, s_frame_len, NULL, &err);
    baton_envelope_advance (d, 1, 2);
    void *buf;
    size_t len;
    if (in_place ? baton_envelope_encode (d, &buf, &len)
                 : baton__envelope_encode_full (d, &buf, &len))
        abort ();
    s_sink += len;
    free (buf);
    baton_envelope_destroy (&d);
}

static void
hop_in_place (const baton_envelope_t *e)
{
    (void) e;
    hop_once (true);
}

static void
hop_full (const baton_envelope_t *e)
{
    (void) e;
    hop_once (false);
}

int
main (int argc, char **argv)
{
    int iters = argc > 1 ? atoi (argv[1]) : 200000;
    if (iters < 1 || iters > 100000000) {
        fprintf (stderr, "usage: %s [iterations per run, default 200000]\n", argv[0]);
        return 2;
    }
    baton_envelope_t *e = fixture_envelope ();
    size_t ours_size = baton_envelope_encoded_size (e);
    size_t naive_size = naive_once (e);
    //  Warm up both, then alternate runs so drift hits both alike.
    measure (ours_once, e, 1, iters / 10 + 1);
    measure (naive_void, e, 1, iters / 10 + 1);
    double ours = 1e30, naive = 1e30;
    for (int round = 0; round < 5; round++) {
        double o = measure (ours_once, e, 1, iters);
        double n = measure (naive_void, e, 1, iters);
        ours = o < ours ? o : ours;
        naive = n < naive ? n : naive;
    }
    printf ("reference envelope: %zu bytes (naive document: %zu bytes)\n", ours_size, naive_size);
    printf ("%-44s %8.0f ns/op\n", "baton encode+decode", ours);
    printf ("%-44s %8.0f ns/op\n", "naive msgpack-c pack+unpack (fresh sbuffer/zone)", naive);
    printf ("ratio baton/naive: %.2f (goal <= 0.50: %s)\n", ours / naive,
            ours / naive <= 0.5 ? "met" : "NOT met");
    if (baton_envelope_encode (e, &s_frame, &s_frame_len))
        abort ();
    double fast = 1e30, full = 1e30;
    for (int round = 0; round < 5; round++) {
        double f = measure (hop_in_place, e, 1, iters);
        double w = measure (hop_full, e, 1, iters);
        fast = f < fast ? f : fast;
        full = w < full ? w : full;
    }
    printf ("%-44s %8.0f ns/op\n", "hop forward, in place, unchanged copied", fast);
    printf ("%-44s %8.0f ns/op\n", "hop forward, copy decoded, all re-encoded", full);
    free (s_frame);
    baton_envelope_destroy (&e);
    return 0;
}
