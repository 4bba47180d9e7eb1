/*  test_envelope.c - the envelope model and codec: round trips, limits,
 *  hostile input, unknown keys, the forwarding step.  */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "baton/envelope.h"
#include "envelope_fixture.h"

#define S(x) x, strlen (x)

static void
assert_slice (baton_slice_t s, const char *want)
{
    cr_assert_eq (s.len, strlen (want), "length %zu, want %zu (\"%s\")", s.len, strlen (want),
                  want);
    cr_assert (memcmp (s.ptr, want, s.len) == 0, "got \"%.*s\", want \"%s\"", (int) s.len, s.ptr,
               want);
}

//  Encodes e; caller frees.
static void *
encode (const baton_envelope_t *e, size_t *len)
{
    void *buf = NULL;
    cr_assert_eq (baton_envelope_encode (e, &buf, len), 0);
    return buf;
}

//  Encoding d gives exactly buf[0..len) (what d was decoded from).
static void
assert_reencodes_to (const baton_envelope_t *d, const void *buf, size_t len)
{
    size_t again_len;
    void *again = encode (d, &again_len);
    cr_assert (again_len == len && memcmp (again, buf, len) == 0, "re-encoding changed bytes");
    free (again);
}

static int
decode_err (const void *data, size_t len, const baton_limits_t *lim)
{
    int err = 12345;
    baton_envelope_t *e = baton_envelope_decode (data, len, lim, &err);
    if (e)
        cr_assert_eq (err, 0);
    baton_envelope_destroy (&e);
    return err;
}

//  A minimal valid top-level map written with msgpack-c, with `extra` more
//  pairs for the caller to append (the map header counts them).
static void
pack_minimal (msgpack_packer *pk, size_t extra)
{
    msgpack_pack_map (pk, 7 + extra);
    msgpack_pack_str_with_body (pk, "v", 1);
    msgpack_pack_uint8 (pk, 1);
    msgpack_pack_str_with_body (pk, "id", 2);
    msgpack_pack_str_with_body (pk, "x", 1);
    msgpack_pack_str_with_body (pk, "reply_to", 8);
    msgpack_pack_str_with_body (pk, "inproc://r", 10);
    msgpack_pack_str_with_body (pk, "route", 5);
    msgpack_pack_array (pk, 0);
    msgpack_pack_str_with_body (pk, "index", 5);
    msgpack_pack_uint8 (pk, 0);
    msgpack_pack_str_with_body (pk, "budget", 6);
    msgpack_pack_uint8 (pk, 4);
    msgpack_pack_str_with_body (pk, "deadline", 8);
    msgpack_pack_uint8 (pk, 0);
}

Test (envelope, round_trip_keeps_every_field)
{
    baton_envelope_t *e = fixture_envelope ();
    baton_envelope_set_error (e, 502, S ("boom"), S ("enrich"));
    baton_envelope_set_status (e, 201);
    baton_envelope_add_header (e, S ("X-Dup"), S ("1"));
    baton_envelope_add_header (e, S ("x-dup"), S ("2"));
    baton_envelope_set_request_body (e, "raw", 3);
    size_t len;
    void *buf = encode (e, &len);
    int err;
    baton_envelope_t *d = baton_envelope_decode (buf, len, NULL, &err);
    cr_assert_not_null (d, "decode failed: %s", baton_errname (err));
    cr_assert_eq (baton_envelope_version (d), 1);
    assert_slice (baton_envelope_id (d), "gw1-000000000042");
    assert_slice (baton_envelope_reply_to (d), "tcp://127.0.0.1:5600");
    cr_assert_eq (baton_envelope_route_count (d), 3);
    assert_slice (baton_envelope_route_hop (d, 1).name, "enrich");
    assert_slice (baton_envelope_route_hop (d, 2).endpoint, "tcp://127.0.0.1:5703");
    cr_assert_eq (baton_envelope_index (d), 1);
    cr_assert_eq (baton_envelope_budget (d), 15);
    cr_assert_eq (baton_envelope_deadline_ms (d), 1795000000000ull);
    assert_slice (baton_envelope_traceparent (d),
                  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    cr_assert_eq (baton_envelope_record_count (d), 1);
    baton_record_t r = baton_envelope_record (d, 0);
    assert_slice (r.name, "auth");
    cr_assert_eq (r.t_in_us, 1795000000000100ull);
    cr_assert_eq (r.t_out_us, 1795000000000220ull);
    baton_slice_t v;
    cr_assert (baton_envelope_meta_get (d, S ("tenant"), &v));
    assert_slice (v, "acme");
    assert_slice (baton_envelope_request_method (d), "POST");
    assert_slice (baton_envelope_request_target (d), "/orders?expand=items");
    cr_assert_eq (baton_envelope_request_header_count (d), 4);
    assert_slice (baton_envelope_request_header (d, 2).name, "Authorization");
    assert_slice (baton_envelope_request_header (d, 2).value, "Bearer s3cr3t");
    assert_slice (baton_envelope_request_body (d), "raw");
    cr_assert_eq (baton_envelope_status (d), 201);
    cr_assert_eq (baton_envelope_header_count (d), 3);
    assert_slice (baton_envelope_header (d, 1).value, "1");
    assert_slice (baton_envelope_header (d, 2).name, "x-dup");
    baton_slice_t body = baton_envelope_body (d);
    char want[FIX_BODY_LEN];
    fixture_body (want);
    cr_assert_eq (body.len, FIX_BODY_LEN);
    cr_assert (memcmp (body.ptr, want, FIX_BODY_LEN) == 0);
    cr_assert (baton_envelope_has_error (d));
    cr_assert_eq (baton_envelope_error_code (d), 502);
    assert_slice (baton_envelope_error_text (d), "boom");
    assert_slice (baton_envelope_error_hop (d), "enrich");
    //  And the bytes come back identical.
    size_t len2;
    void *buf2 = encode (d, &len2);
    cr_assert_eq (len2, len);
    cr_assert (memcmp (buf, buf2, len) == 0);
    free (buf);
    free (buf2);
    baton_envelope_destroy (&e);
    baton_envelope_destroy (&d);
    cr_assert_null (d);
}

Test (envelope, reference_envelope_is_about_1500_bytes)
{
    baton_envelope_t *e = fixture_envelope ();
    size_t n = baton_envelope_encoded_size (e);
    cr_assert (n > 1200 && n < 1600, "reference envelope is %zu bytes", n);
    baton_envelope_destroy (&e);
}

Test (envelope, encode_into_refuses_a_short_buffer)
{
    baton_envelope_t *e = fixture_envelope ();
    size_t n = baton_envelope_encoded_size (e);
    char *buf = malloc (n);
    cr_assert_eq (baton_envelope_encode_into (e, buf, n - 1), 0);
    cr_assert_eq (baton_envelope_encode_into (e, buf, n), n);
    free (buf);
    baton_envelope_destroy (&e);
}

Test (envelope, msgpack_c_reads_what_we_write)
{
    baton_envelope_t *e = fixture_envelope ();
    size_t len;
    char *buf = encode (e, &len);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    cr_assert_eq (msgpack_unpack_next (&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq (off, len);
    cr_assert_eq (up.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq (up.data.via.map.size, 12);
    msgpack_unpacked_destroy (&up);
    free (buf);
    baton_envelope_destroy (&e);
}

Test (envelope, every_truncation_is_rejected)
{
    baton_envelope_t *e = fixture_envelope ();
    size_t len;
    char *buf = encode (e, &len);
    for (size_t cut = 0; cut < len; cut++) {
        //  A fresh exact-size copy so ASan sees any read past the cut.
        char *part = malloc (cut ? cut : 1);
        memcpy (part, buf, cut);
        int err = decode_err (part, cut, NULL);
        cr_assert (err < 0, "prefix of %zu/%zu bytes was accepted", cut, len);
        free (part);
    }
    free (buf);
    baton_envelope_destroy (&e);
}

Test (envelope, rejects_the_seven_hostile_bytes_with_bounded_memory)
{
    //  Cap the address space well below what the declared counts would need:
    //  any allocation driven by them would fail here instead of succeeding.
    //  (Not under ASan: its shadow memory needs a huge address space. There,
    //  allocator_may_return_null=0 turns any such allocation into a crash.)
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit rl = {512u << 20, 512u << 20};
    cr_assert_eq (setrlimit (RLIMIT_AS, &rl), 0);
#endif
    const unsigned char bytes[] = {0xdd, 0xdd, 0x01, 0x00, 0x00, 0x00, 0x02};
    cr_assert_eq (decode_err (bytes, sizeof bytes, NULL), BATON_ECOUNT);
    //  The same lie in every container and length form.
    const unsigned char lies[][6] = {
        {0xdf, 0xff, 0xff, 0xff, 0xff, 0x80}, //  map32 of 4 billion pairs
        {0xdc, 0x03, 0xff, 0x00, 0x00, 0x00}, //  array16 of 1023 > remaining bytes
        {0xde, 0x01, 0xff, 0x00, 0x00, 0x00}, //  map16 of 511 pairs > remaining
        {0xdb, 0x00, 0x00, 0x0f, 0xff, 0x00}, //  str32 of 4095 bytes, 1 present
        {0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00}, //  bin32 of 2 GiB
    };
    const int want[] = {BATON_ECOUNT, BATON_ETRUNCATED, BATON_ETRUNCATED, BATON_ETRUNCATED,
                        BATON_EBINLEN};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++)
        cr_assert_eq (decode_err (lies[i], sizeof lies[i], NULL), want[i], "lie %zu: %s", i,
                      baton_errname (decode_err (lies[i], sizeof lies[i], NULL)));
}

Test (envelope, each_limit_has_its_own_error)
{
    baton_envelope_t *e = fixture_envelope ();
    size_t len;
    char *buf = encode (e, &len);
    baton_limits_t lim = {0};
    lim.max_size = len - 1;
    cr_assert_eq (decode_err (buf, len, &lim), BATON_ETOOBIG);
    lim = (baton_limits_t){0};
    lim.max_depth = 3; //  top > request > headers > pair is depth 4
    cr_assert_eq (decode_err (buf, len, &lim), BATON_EDEPTH);
    lim = (baton_limits_t){0};
    lim.max_items = 3; //  the request has 4 headers
    cr_assert_eq (decode_err (buf, len, &lim), BATON_ECOUNT);
    lim = (baton_limits_t){0};
    lim.max_total = 20;
    cr_assert_eq (decode_err (buf, len, &lim), BATON_ETOTAL);
    lim = (baton_limits_t){0};
    lim.max_str = 40; //  the traceparent is 55 bytes
    cr_assert_eq (decode_err (buf, len, &lim), BATON_ESTRLEN);
    lim = (baton_limits_t){0};
    lim.max_bin = 1000; //  the body is 1024 bytes
    cr_assert_eq (decode_err (buf, len, &lim), BATON_EBINLEN);
    lim = (baton_limits_t){0};
    lim.max_hops = 2; //  the route has 3 hops
    cr_assert_eq (decode_err (buf, len, &lim), BATON_EROUTE);
    cr_assert_eq (decode_err (buf, len, NULL), 0);
    free (buf);
    baton_envelope_destroy (&e);
}

Test (envelope, deep_nesting_is_rejected_without_recursion)
{
    //  100000 nested one-element arrays inside an unknown key.
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    pack_minimal (&pk, 1);
    msgpack_pack_str_with_body (&pk, "deep", 4);
    for (int i = 0; i < 100000; i++)
        msgpack_pack_array (&pk, 1);
    msgpack_pack_nil (&pk);
    cr_assert_eq (decode_err (sb.data, sb.size, NULL), BATON_EDEPTH);
    msgpack_sbuffer_destroy (&sb);
}

static void
expect_packed (void (*extra) (msgpack_packer *), size_t n, int want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    pack_minimal (&pk, n);
    if (extra)
        extra (&pk);
    int err = decode_err (sb.data, sb.size, NULL);
    cr_assert_eq (err, want, "got %s, want %s", baton_errname (err), baton_errname (want));
    msgpack_sbuffer_destroy (&sb);
}

Test (envelope, minimal_envelope_decodes)
{
    expect_packed (NULL, 0, 0);
}

static void
dup_id (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "id", 2);
    msgpack_pack_str_with_body (pk, "y", 1);
}

Test (envelope, rejects_a_duplicate_key)
{
    expect_packed (dup_id, 1, BATON_EDUPKEY);
}

static void
index_past_route (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "index", 5);
    msgpack_pack_uint8 (pk, 1);
}

Test (envelope, rejects_an_index_past_the_route)
{
    //  The duplicate index is caught first; build one with only a bad index.
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 7);
    msgpack_pack_str_with_body (&pk, "v", 1);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "id", 2);
    msgpack_pack_str_with_body (&pk, "x", 1);
    msgpack_pack_str_with_body (&pk, "reply_to", 8);
    msgpack_pack_str_with_body (&pk, "r", 1);
    msgpack_pack_str_with_body (&pk, "route", 5);
    msgpack_pack_array (&pk, 0);
    index_past_route (&pk);
    msgpack_pack_str_with_body (&pk, "budget", 6);
    msgpack_pack_uint8 (&pk, 4);
    msgpack_pack_str_with_body (&pk, "deadline", 8);
    msgpack_pack_uint8 (&pk, 0);
    cr_assert_eq (decode_err (sb.data, sb.size, NULL), BATON_EROUTE);
    msgpack_sbuffer_destroy (&sb);
}

static void
unknown_keys (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "x-future", 8);
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "a", 1);
    msgpack_pack_array (pk, 2);
    msgpack_pack_int8 (pk, -3);
    msgpack_pack_double (pk, 2.5);
    msgpack_pack_str_with_body (pk, "message", 7);
    msgpack_pack_map (pk, 2);
    msgpack_pack_str_with_body (pk, "status", 6);
    msgpack_pack_uint16 (pk, 418);
    msgpack_pack_str_with_body (pk, "x-mood", 6);
    msgpack_pack_true (pk);
}

Test (envelope, unknown_keys_survive_decode_and_encode)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    pack_minimal (&pk, 2);
    unknown_keys (&pk);
    int err;
    baton_envelope_t *e = baton_envelope_decode (sb.data, sb.size, NULL, &err);
    cr_assert_not_null (e, "%s", baton_errname (err));
    cr_assert_eq (baton_envelope_unknown_count (e), 2);
    cr_assert_eq (baton_envelope_status (e), 418);
    //  A hop changes the message; the unknown keys still travel.
    baton_envelope_set_body (e, "changed", 7);
    size_t len;
    char *buf = encode (e, &len);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    cr_assert_eq (msgpack_unpack_next (&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    msgpack_object_map *top = &up.data.via.map;
    bool future = false, mood = false;
    for (uint32_t i = 0; i < top->size; i++) {
        msgpack_object k = top->ptr[i].key, v = top->ptr[i].val;
        if (k.via.str.size == 8 && !memcmp (k.via.str.ptr, "x-future", 8)) {
            future = v.type == MSGPACK_OBJECT_MAP && v.via.map.size == 1 &&
                     v.via.map.ptr[0].val.via.array.ptr[1].via.f64 == 2.5;
        }
        if (k.via.str.size == 7 && !memcmp (k.via.str.ptr, "message", 7))
            for (uint32_t j = 0; j < v.via.map.size; j++)
                if (v.via.map.ptr[j].key.via.str.size == 6 &&
                    !memcmp (v.via.map.ptr[j].key.via.str.ptr, "x-mood", 6))
                    mood = v.via.map.ptr[j].val.type == MSGPACK_OBJECT_BOOLEAN;
    }
    cr_assert (future, "top-level unknown key lost or changed");
    cr_assert (mood, "unknown key inside message lost");
    msgpack_unpacked_destroy (&up);
    free (buf);
    msgpack_sbuffer_destroy (&sb);
    baton_envelope_destroy (&e);
}

Test (envelope, rejects_other_versions_and_missing_keys)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "v", 1);
    msgpack_pack_uint8 (&pk, 2);
    cr_assert_eq (decode_err (sb.data, sb.size, NULL), BATON_EVERSION);
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "v", 1);
    msgpack_pack_uint8 (&pk, 1);
    cr_assert_eq (decode_err (sb.data, sb.size, NULL), BATON_EMISSING);
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "v", 1);
    msgpack_pack_str_with_body (&pk, "1", 1);
    cr_assert_eq (decode_err (sb.data, sb.size, NULL), BATON_ETYPE);
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_array (&pk, 0);
    cr_assert_eq (decode_err (sb.data, sb.size, NULL), BATON_ETYPE);
    msgpack_sbuffer_destroy (&sb);
}

Test (envelope, rejects_malformed_bytes)
{
    const unsigned char never_used[] = {0xc1};
    cr_assert_eq (decode_err (never_used, 1, NULL), BATON_EMALFORMED);
    const unsigned char ext[] = {0xd4, 0x01, 0x00};
    cr_assert_eq (decode_err (ext, 3, NULL), BATON_EMALFORMED);
    cr_assert_eq (decode_err ("", 0, NULL), BATON_ETRUNCATED);
    //  A valid envelope followed by one more byte.
    baton_envelope_t *e = fixture_envelope ();
    size_t len;
    char *buf = encode (e, &len);
    char *more = malloc (len + 1);
    memcpy (more, buf, len);
    more[len] = (char) 0xc0;
    cr_assert_eq (decode_err (more, len + 1, NULL), BATON_EMALFORMED);
    free (more);
    free (buf);
    baton_envelope_destroy (&e);
}

Test (envelope, random_corruption_never_crashes)
{
    baton_envelope_t *e = fixture_envelope ();
    size_t len;
    unsigned char *buf = encode (e, &len);
    unsigned char *copy = malloc (len);
    srand (42);
    int rejected = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy (copy, buf, len);
        for (int flips = 1 + rand () % 4; flips > 0; flips--)
            copy[(size_t) rand () % len] = (unsigned char) rand ();
        rejected += decode_err (copy, len, NULL) != 0;
    }
    cr_assert (rejected > 0);
    free (copy);
    free (buf);
    baton_envelope_destroy (&e);
}

Test (envelope, advance_records_the_hop_and_spends_budget)
{
    baton_envelope_t *e = baton_envelope_new ();
    baton_envelope_route_append (e, S ("a"), S ("inproc://a"));
    baton_envelope_route_append (e, S ("b"), S ("inproc://b"));
    baton_envelope_set_budget (e, 2);
    cr_assert_not (baton_envelope_route_done (e));
    cr_assert_eq (baton_envelope_advance (e, 10, 20), 0);
    cr_assert_eq (baton_envelope_index (e), 1);
    cr_assert_eq (baton_envelope_budget (e), 1);
    cr_assert_eq (baton_envelope_advance (e, 30, 45), 0);
    cr_assert (baton_envelope_route_done (e));
    cr_assert_eq (baton_envelope_budget (e), 0);
    cr_assert_eq (baton_envelope_record_count (e), 2);
    assert_slice (baton_envelope_record (e, 0).name, "a");
    assert_slice (baton_envelope_record (e, 1).name, "b");
    cr_assert_eq (baton_envelope_record (e, 1).t_out_us, 45);
    cr_assert_eq (baton_envelope_advance (e, 50, 60), BATON_EROUTE);
    baton_envelope_destroy (&e);
}

Test (envelope, advance_refuses_when_the_budget_is_spent)
{
    baton_envelope_t *e = baton_envelope_new ();
    baton_envelope_route_append (e, S ("a"), S ("inproc://a"));
    baton_envelope_set_budget (e, 0);
    cr_assert_eq (baton_envelope_advance (e, 1, 2), BATON_EBUDGET);
    cr_assert_eq (baton_envelope_index (e), 0);
    cr_assert_eq (baton_envelope_record_count (e), 0);
    baton_envelope_destroy (&e);
}

Test (envelope, headers_keep_order_and_duplicates_and_match_any_case)
{
    baton_envelope_t *e = baton_envelope_new ();
    baton_envelope_add_header (e, S ("Set-Cookie"), S ("a=1"));
    baton_envelope_add_header (e, S ("X-Other"), S ("o"));
    baton_envelope_add_header (e, S ("set-cookie"), S ("b=2"));
    baton_slice_t v;
    cr_assert (baton_envelope_header_find (e, S ("SET-COOKIE"), &v));
    assert_slice (v, "a=1");
    cr_assert_eq (baton_envelope_set_header (e, S ("Set-Cookie"), S ("c=3")), 0);
    cr_assert_eq (baton_envelope_header_count (e), 2);
    assert_slice (baton_envelope_header (e, 0).name, "X-Other");
    assert_slice (baton_envelope_header (e, 1).value, "c=3");
    cr_assert_eq (baton_envelope_remove_header (e, S ("x-other")), 1);
    cr_assert_eq (baton_envelope_header_count (e), 1);
    baton_envelope_destroy (&e);
}

Test (envelope, meta_set_replaces_and_remove_deletes)
{
    baton_envelope_t *e = baton_envelope_new ();
    cr_assert_eq (baton_envelope_meta_set (e, S ("k"), "1", 1), 0);
    cr_assert_eq (baton_envelope_meta_set (e, S ("k"), "22", 2), 0);
    cr_assert_eq (baton_envelope_meta_count (e), 1);
    baton_slice_t v;
    cr_assert (baton_envelope_meta_get (e, S ("k"), &v));
    assert_slice (v, "22");
    cr_assert (baton_envelope_meta_remove (e, S ("k")));
    cr_assert_not (baton_envelope_meta_get (e, S ("k"), NULL));
    cr_assert_eq (baton_envelope_meta_set (e, "", 0, "x", 1), BATON_EINVAL);
    baton_envelope_destroy (&e);
}

Test (envelope, route_append_stops_at_the_hop_limit)
{
    baton_envelope_t *e = baton_envelope_new ();
    size_t max = baton_limits_default ().max_hops;
    for (size_t i = 0; i < max; i++)
        cr_assert_eq (baton_envelope_route_append (e, S ("f"), S ("inproc://f")), 0);
    cr_assert_eq (baton_envelope_route_append (e, S ("f"), S ("inproc://f")), BATON_EROUTE);
    baton_envelope_destroy (&e);
}

Test (envelope, destroy_is_safe_on_null)
{
    baton_envelope_t *e = NULL;
    baton_envelope_destroy (&e);
    baton_envelope_destroy (NULL);
}

Test (envelope, route_set_endpoint_reroutes_one_hop)
{
    baton_envelope_t *e = fixture_envelope ();
    cr_assert_eq (baton_envelope_route_set_endpoint (e, 0, S ("ipc:///run/auth-1")), 0);
    cr_assert_eq (baton_envelope_route_set_endpoint (e, 3, S ("x")), BATON_EROUTE);
    size_t len;
    void *buf = encode (e, &len);
    int err;
    baton_envelope_t *d = baton_envelope_decode (buf, len, NULL, &err);
    cr_assert_not_null (d);
    assert_slice (baton_envelope_route_hop (d, 0).endpoint, "ipc:///run/auth-1");
    assert_slice (baton_envelope_route_hop (d, 0).name, "auth");
    assert_slice (baton_envelope_route_hop (d, 1).endpoint, "tcp://127.0.0.1:5702");
    free (buf);
    baton_envelope_destroy (&e);
    baton_envelope_destroy (&d);
}

//  --- CURVE keys: reply_key and route_keys ---------------------------------------

static const char s_key_a[BATON_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                            11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                            21, 22, 23, 24, 25, 26, 27, 28, 29};
static const char s_key_b[BATON_KEY_LEN] = {(char) 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0,           0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0,           0, 0, 0, 0, 0, 0, 0, 0, 7};

//  Offset of the key name in the encoded bytes, or -1.
static long
key_at (const void *buf, size_t len, const char *key)
{
    char pattern[32];
    size_t n = strlen (key);
    pattern[0] = (char) (0xa0 | n);
    memcpy (pattern + 1, key, n);
    for (size_t i = 0; i + n + 1 <= len; i++)
        if (memcmp ((const char *) buf + i, pattern, n + 1) == 0)
            return (long) i;
    return -1;
}

Test (envelope, keys_round_trip_in_their_places)
{
    baton_envelope_t *e = baton_envelope_new ();
    cr_assert_eq (baton_envelope_set_reply_to (e, S ("tcp://127.0.0.1:5600")), 0);
    cr_assert_eq (baton_envelope_route_append (e, S ("auth"), S ("tcp://127.0.0.1:5701")), 0);
    cr_assert_eq (baton_envelope_route_append (e, S ("render"), S ("tcp://127.0.0.1:5702")), 0);
    cr_assert_eq (baton_envelope_set_reply_key (e, s_key_a, BATON_KEY_LEN), 0);
    cr_assert_eq (baton_envelope_set_route_key (e, 1, s_key_b, BATON_KEY_LEN), 0);
    //  One hop without its key: route_keys is not written yet.
    size_t len;
    void *buf = encode (e, &len);
    cr_assert_lt (key_at (buf, len, "route_keys"), 0);
    cr_assert_eq (baton_envelope_route_key (e, 0).len, 0);
    free (buf);
    cr_assert_eq (baton_envelope_set_route_key (e, 0, s_key_a, BATON_KEY_LEN), 0);
    buf = encode (e, &len);
    long reply_to = key_at (buf, len, "reply_to"), reply_key = key_at (buf, len, "reply_key");
    long route = key_at (buf, len, "route"), route_keys = key_at (buf, len, "route_keys");
    long index = key_at (buf, len, "index");
    cr_assert (reply_to < reply_key && reply_key < route && route < route_keys &&
                   route_keys < index,
               "key order: reply_to %ld reply_key %ld route %ld route_keys %ld index %ld", reply_to,
               reply_key, route, route_keys, index);
    baton_envelope_t *d = baton_envelope_decode (buf, len, NULL, NULL);
    cr_assert_not_null (d);
    cr_assert_eq (baton_envelope_unknown_count (d), 0);
    baton_slice_t k = baton_envelope_reply_key (d);
    cr_assert (k.len == BATON_KEY_LEN && memcmp (k.ptr, s_key_a, BATON_KEY_LEN) == 0);
    k = baton_envelope_route_key (d, 1);
    cr_assert (k.len == BATON_KEY_LEN && memcmp (k.ptr, s_key_b, BATON_KEY_LEN) == 0);
    cr_assert_eq (baton_envelope_route_key (d, 2).len, 0);
    assert_reencodes_to (d, buf, len);
    free (buf);
    baton_envelope_destroy (&d);
    baton_envelope_destroy (&e);
}

Test (envelope, key_setters_take_only_32_bytes_within_the_route)
{
    baton_envelope_t *e = baton_envelope_new ();
    cr_assert_eq (baton_envelope_set_reply_key (e, s_key_a, BATON_KEY_LEN - 1), BATON_EINVAL);
    cr_assert_eq (baton_envelope_set_reply_key (e, NULL, BATON_KEY_LEN), BATON_EINVAL);
    cr_assert_eq (baton_envelope_reply_key (e).len, 0);
    cr_assert_eq (baton_envelope_set_route_key (e, 0, s_key_a, BATON_KEY_LEN), BATON_EROUTE);
    cr_assert_eq (baton_envelope_route_append (e, S ("a"), S ("ipc://a")), 0);
    cr_assert_eq (baton_envelope_set_route_key (e, 0, s_key_a, BATON_KEY_LEN + 1), BATON_EINVAL);
    cr_assert_eq (baton_envelope_set_route_key (e, 1, s_key_a, BATON_KEY_LEN), BATON_EROUTE);
    cr_assert_eq (baton_envelope_route_key (e, 0).len, 0);
    cr_assert_eq (baton_envelope_route_key (e, 99).len, 0);
    baton_envelope_destroy (&e);
}

static void
reply_key_31 (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "reply_key", 9);
    msgpack_pack_bin_with_body (pk, s_key_a, BATON_KEY_LEN - 1);
}

static void
reply_key_as_str (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "reply_key", 9);
    msgpack_pack_str_with_body (pk, s_key_a, BATON_KEY_LEN);
}

static void
reply_key_twice (msgpack_packer *pk)
{
    reply_key_as_str (pk);
    reply_key_as_str (pk);
}

static void
route_keys_empty (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "route_keys", 10);
    msgpack_pack_array (pk, 0);
}

static void
route_keys_longer_than_route (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "route_keys", 10);
    msgpack_pack_array (pk, 1);
    msgpack_pack_bin_with_body (pk, s_key_a, BATON_KEY_LEN);
}

static void
route_keys_65 (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "route_keys", 10);
    msgpack_pack_array (pk, 65);
    for (int i = 0; i < 65; i++)
        msgpack_pack_bin_with_body (pk, s_key_a, BATON_KEY_LEN);
}

static void
route_keys_of_ints (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "route_keys", 10);
    msgpack_pack_array (pk, 1);
    msgpack_pack_uint8 (pk, 1);
}

static void
route_keys_a_map (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "route_keys", 10);
    msgpack_pack_map (pk, 0);
}

Test (envelope, key_rules_on_decode)
{
    expect_packed (reply_key_31, 1, BATON_ETYPE);
    expect_packed (reply_key_as_str, 1, 0);
    expect_packed (reply_key_twice, 2, BATON_EDUPKEY);
    expect_packed (route_keys_empty, 1, 0); //  as long as the empty route
    expect_packed (route_keys_longer_than_route, 1, BATON_EROUTE);
    expect_packed (route_keys_65, 1, BATON_EROUTE);
    expect_packed (route_keys_of_ints, 1, BATON_ETYPE);
    expect_packed (route_keys_a_map, 1, BATON_ETYPE);
}

//  --- oam: the probe flag -----------------------------------------------------------------

Test (envelope, oam_is_written_after_deadline_only_when_set_and_read_back)
{
    baton_envelope_t *e = baton_envelope_new ();
    cr_assert_eq (baton_envelope_set_reply_to (e, S ("tcp://127.0.0.1:5600")), 0);
    cr_assert_eq (baton_envelope_route_append (e, S ("enrich"), S ("ipc:///run/enrich")), 0);
    cr_assert_eq (baton_envelope_oam (e), 0, "a new envelope is a normal request");
    size_t len;
    void *buf = encode (e, &len);
    cr_assert_lt (key_at (buf, len, "oam"), 0, "oam 0 is not written");
    free (buf);
    baton_envelope_set_traceparent (e,
                                    S ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    baton_envelope_set_oam (e, BATON_OAM_PROBE | 0x100u);
    buf = encode (e, &len);
    long deadline = key_at (buf, len, "deadline"), oam = key_at (buf, len, "oam");
    long trace = key_at (buf, len, "traceparent");
    cr_assert (deadline >= 0 && deadline < oam && oam < trace,
               "key order: deadline %ld oam %ld traceparent %ld", deadline, oam, trace);
    baton_envelope_t *d = baton_envelope_decode (buf, len, NULL, NULL);
    cr_assert_not_null (d);
    cr_assert_eq (baton_envelope_oam (d), BATON_OAM_PROBE | 0x100u, "unknown bits are kept");
    cr_assert_eq (baton_envelope_unknown_count (d), 0);
    assert_reencodes_to (d, buf, len);
    free (buf);
    baton_envelope_destroy (&d);
    baton_envelope_destroy (&e);
}

static void
oam_probe (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "oam", 3);
    msgpack_pack_uint8 (pk, 1);
}

static void
oam_twice (msgpack_packer *pk)
{
    oam_probe (pk);
    oam_probe (pk);
}

static void
oam_negative (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "oam", 3);
    msgpack_pack_int8 (pk, -1);
}

static void
oam_a_string (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "oam", 3);
    msgpack_pack_str_with_body (pk, "probe", 5);
}

Test (envelope, oam_rules_on_decode)
{
    expect_packed (oam_probe, 1, 0);
    expect_packed (oam_twice, 2, BATON_EDUPKEY);
    expect_packed (oam_negative, 1, BATON_ETYPE);
    expect_packed (oam_a_string, 1, BATON_ETYPE);
}

//  --- branches, taken and seal -------------------------------------------------------

//  "branches": {name: [[hop, endpoint] or [hop, endpoint, key]...]} with one
//  branch of the entries given by items (2, 3 or 4 per entry; 0: 2 then 3).
static void
s_pack_branch (msgpack_packer *pk, const char *name, int items)
{
    msgpack_pack_str_with_body (pk, name, strlen (name));
    msgpack_pack_array (pk, 2);
    for (int i = 0; i < 2; i++) {
        int n = items ? items : 2 + i;
        msgpack_pack_array (pk, (size_t) n);
        msgpack_pack_str_with_body (pk, "x", 1);
        msgpack_pack_str_with_body (pk, "inproc://x", 10);
        for (int k = 2; k < n; k++) {
            static const char key[BATON_KEY_LEN] = {0};
            msgpack_pack_bin_with_body (pk, key, sizeof key);
        }
    }
}

static void
branches_ok (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "branches", 8);
    msgpack_pack_map (pk, 2);
    s_pack_branch (pk, "a", 2);
    s_pack_branch (pk, "b", 2);
}

static void
branches_four_items (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "branches", 8);
    msgpack_pack_map (pk, 1);
    s_pack_branch (pk, "a", 4);
}

static void
branches_mixed_keys (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "branches", 8);
    msgpack_pack_map (pk, 1);
    s_pack_branch (pk, "a", 0);
}

static void
branches_empty_name (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "branches", 8);
    msgpack_pack_map (pk, 1);
    s_pack_branch (pk, "", 2);
}

static void
branches_same_name (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "branches", 8);
    msgpack_pack_map (pk, 2);
    s_pack_branch (pk, "a", 2);
    s_pack_branch (pk, "a", 2);
}

static void
taken_alone (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "taken", 5);
    msgpack_pack_str_with_body (pk, "a", 1);
}

static void
seal_short (msgpack_packer *pk)
{
    static const char seal[BATON_SEAL_LEN - 1] = {0};
    msgpack_pack_str_with_body (pk, "seal", 4);
    msgpack_pack_bin_with_body (pk, seal, sizeof seal);
}

Test (envelope, branch_rules_on_decode)
{
    expect_packed (branches_ok, 1, 0);
    expect_packed (branches_four_items, 1, BATON_ETYPE);
    expect_packed (branches_mixed_keys, 1, BATON_ETYPE);
    expect_packed (branches_empty_name, 1, BATON_ETYPE);
    expect_packed (branches_same_name, 1, BATON_EDUPKEY);
    expect_packed (taken_alone, 1, BATON_EROUTE);
    expect_packed (seal_short, 1, BATON_ETYPE);
}

Test (envelope, branch_setters_refuse_what_the_wire_would)
{
    baton_envelope_t *e = baton_envelope_new ();
    char name[4];
    for (int b = 0; b < BATON_ENVELOPE_MAX_BRANCHES; b++) {
        snprintf (name, sizeof name, "b%d", b);
        cr_assert_eq (baton_envelope_branch_add (e, name, strlen (name)), 0);
    }
    cr_assert_eq (baton_envelope_branch_add (e, "b9", 2), BATON_EROUTE);
    cr_assert_eq (baton_envelope_branch_add (e, "b0", 2), BATON_EINVAL, "a name twice");
    cr_assert_eq (baton_envelope_branch_add (e, "", 0), BATON_EINVAL);
    cr_assert_eq (baton_envelope_branch_append (e, 8, "x", 1, "inproc://x", 10), BATON_EROUTE);
    cr_assert_eq (baton_envelope_branch_append (e, 0, "x", 1, "inproc://x", 10), 0);
    cr_assert_eq (baton_envelope_set_branch_key (e, 0, 1, "k", 1), BATON_EROUTE);
    cr_assert_eq (baton_envelope_set_branch_key (e, 0, 0, "k", 1), BATON_EINVAL);
    cr_assert_eq (baton_envelope_set_seal (e, "s", 1), BATON_EINVAL);
    cr_assert_eq (baton_envelope_seal (e).len, 0);
    //  No route yet: no hop is the one before the branches.
    cr_assert_eq (baton_envelope_take_branch (e, "b0", 2), BATON_ESTATE);
    cr_assert_eq (baton_envelope_take_branch (e, "none", 4), BATON_EINVAL);
    baton_envelope_route_append (e, "score", 5, "inproc://score", 14);
    cr_assert_eq (baton_envelope_take_branch (e, "b0", 2), 0);
    cr_assert_eq (baton_envelope_route_count (e), 2);
    baton_slice_t taken = baton_envelope_taken (e);
    cr_assert (taken.len == 2 && memcmp (taken.ptr, "b0", 2) == 0);
    baton_envelope_clear_branches (e);
    cr_assert_eq (baton_envelope_branch_count (e), 0);
    cr_assert_eq (baton_envelope_taken (e).len, 0);
    baton_envelope_destroy (&e);
}
