#define _GNU_SOURCE
/*  test_vectors.c - the golden vectors in tests/vectors/: each NAME.hex holds
 *  encoded bytes and NAME.json what they mean (CURVE keys as 64 hex digits).
 *  Checked both ways: the meaning encodes to exactly those bytes, and the
 *  bytes decode to exactly that meaning (or to the error the vector names);
 *  and a hop's in-place forward writes what the full encoder writes.
 *  BATON_WRITE_VECTORS=1 rewrites the .hex of valid vectors from their .json.  */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "baton/envelope.h"
#include "envelope_int.h"

#define VEC_DIR BATON_SOURCE_DIR "/tests/vectors/"

static const char *
jstr (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    return v && json_is_string (v) ? json_string_value (v) : "";
}

static size_t
jlen (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    return v && json_is_string (v) ? json_string_length (v) : 0;
}

static void
add_pairs (baton_envelope_t *e, json_t *arr,
           int (*add) (baton_envelope_t *, const char *, size_t, const char *, size_t))
{
    size_t i;
    json_t *pair;
    json_array_foreach (arr, i, pair)
    {
        json_t *a = json_array_get (pair, 0), *b = json_array_get (pair, 1);
        cr_assert_eq (add (e, json_string_value (a), json_string_length (a), json_string_value (b),
                           json_string_length (b)),
                      0);
    }
}

//  Decodes a key written as 64 hex digits.
static void
key_from_hex (json_t *v, unsigned char key[BATON_KEY_LEN])
{
    const char *hex = json_string_value (v);
    cr_assert (hex && strlen (hex) == 2 * BATON_KEY_LEN, "a key is %d hex digits",
               2 * BATON_KEY_LEN);
    for (int i = 0; i < BATON_KEY_LEN; i++) {
        unsigned byte;
        cr_assert_eq (sscanf (hex + 2 * i, "%2x", &byte), 1);
        key[i] = (unsigned char) byte;
    }
}

static json_t *
key_to_hex (baton_slice_t key)
{
    char hex[2 * BATON_KEY_LEN + 1];
    for (size_t i = 0; i < key.len && i < BATON_KEY_LEN; i++)
        snprintf (hex + 2 * i, 3, "%02x", (unsigned char) key.ptr[i]);
    return json_stringn (hex, 2 * key.len);
}

//  Builds an envelope from a vector's "envelope" object.
static baton_envelope_t *
from_json (json_t *j)
{
    baton_envelope_t *e = baton_envelope_new ();
    unsigned char key[BATON_KEY_LEN];
    baton_envelope_set_id (e, jstr (j, "id"), jlen (j, "id"));
    baton_envelope_set_reply_to (e, jstr (j, "reply_to"), jlen (j, "reply_to"));
    if (json_object_get (j, "reply_key")) {
        key_from_hex (json_object_get (j, "reply_key"), key);
        cr_assert_eq (baton_envelope_set_reply_key (e, key, sizeof key), 0);
    }
    //  With a branch taken, the route is its base: the branch is spliced
    //  in below, as the hop before it does.
    json_t *route = json_object_get (j, "route"), *taken = json_object_get (j, "taken");
    size_t base = json_array_size (route) -
                  json_array_size (json_object_get (json_object_get (j, "branches"),
                                                    taken ? json_string_value (taken) : ""));
    size_t i;
    json_t *hop;
    json_array_foreach (route, i, hop)
    {
        json_t *a = json_array_get (hop, 0), *b = json_array_get (hop, 1);
        if (i < base)
            cr_assert_eq (
                baton_envelope_route_append (e, json_string_value (a), json_string_length (a),
                                             json_string_value (b), json_string_length (b)),
                0);
    }
    json_t *hex;
    json_array_foreach (json_object_get (j, "route_keys"), i, hex)
    {
        key_from_hex (hex, key);
        if (i < base)
            cr_assert_eq (baton_envelope_set_route_key (e, i, key, sizeof key), 0);
    }
    const char *bname;
    json_t *hops;
    json_object_foreach (json_object_get (j, "branches"), bname, hops)
    {
        size_t b = baton_envelope_branch_count (e);
        cr_assert_eq (baton_envelope_branch_add (e, bname, strlen (bname)), 0);
        json_array_foreach (hops, i, hop)
        {
            json_t *a = json_array_get (hop, 0), *ep = json_array_get (hop, 1);
            cr_assert_eq (
                baton_envelope_branch_append (e, b, json_string_value (a), json_string_length (a),
                                              json_string_value (ep), json_string_length (ep)),
                0);
            if (json_array_size (hop) == 3) {
                key_from_hex (json_array_get (hop, 2), key);
                cr_assert_eq (baton_envelope_set_branch_key (e, b, i, key, sizeof key), 0);
            }
        }
    }
    if (taken) {
        baton_envelope_set_index (e, base - 1);
        cr_assert_eq (
            baton_envelope_take_branch (e, json_string_value (taken), json_string_length (taken)),
            0);
    }
    if (json_object_get (j, "seal")) {
        key_from_hex (json_object_get (j, "seal"), key);
        cr_assert_eq (baton_envelope_set_seal (e, key, BATON_SEAL_LEN), 0);
    }
    baton_envelope_set_index (e, (size_t) json_integer_value (json_object_get (j, "index")));
    baton_envelope_set_budget (e, (uint64_t) json_integer_value (json_object_get (j, "budget")));
    baton_envelope_set_deadline_ms (
        e, (uint64_t) json_integer_value (json_object_get (j, "deadline")));
    baton_envelope_set_oam (e, (uint64_t) json_integer_value (json_object_get (j, "oam")));
    baton_envelope_set_traceparent (e, jstr (j, "traceparent"), jlen (j, "traceparent"));
    cr_assert_eq (baton_envelope_set_version_pin (e, jstr (j, "version"), jlen (j, "version")), 0);
    json_t *r;
    json_array_foreach (json_object_get (j, "record"), i, r)
    {
        json_t *name = json_array_get (r, 0);
        baton_envelope_record_append (e, json_string_value (name), json_string_length (name),
                                      (uint64_t) json_integer_value (json_array_get (r, 1)),
                                      (uint64_t) json_integer_value (json_array_get (r, 2)));
    }
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get (j, "meta"), k, v)
        baton_envelope_meta_set (e, k, strlen (k), json_string_value (v), json_string_length (v));
    json_t *req = json_object_get (j, "request");
    baton_envelope_set_request (e, jstr (req, "method"), jlen (req, "method"), jstr (req, "target"),
                                jlen (req, "target"));
    add_pairs (e, json_object_get (req, "headers"), baton_envelope_request_add_header);
    baton_envelope_set_request_body (e, jstr (req, "body"), jlen (req, "body"));
    json_t *msg = json_object_get (j, "message");
    baton_envelope_set_status (e, (unsigned) json_integer_value (json_object_get (msg, "status")));
    add_pairs (e, json_object_get (msg, "headers"), baton_envelope_add_header);
    baton_envelope_set_body (e, jstr (msg, "body"), jlen (msg, "body"));
    json_t *err = json_object_get (j, "error");
    if (err)
        baton_envelope_set_error (e, (unsigned) json_integer_value (json_object_get (err, "code")),
                                  jstr (err, "text"), jlen (err, "text"), jstr (err, "hop"),
                                  jlen (err, "hop"));
    return e;
}

static json_t *
js (baton_slice_t s)
{
    return json_stringn (s.ptr, s.len);
}

static json_t *
pairs_json (size_t n, baton_header_t (*at) (const baton_envelope_t *, size_t),
            const baton_envelope_t *e)
{
    json_t *arr = json_array ();
    for (size_t i = 0; i < n; i++) {
        baton_header_t h = at (e, i);
        json_array_append_new (arr, json_pack ("[oo]", js (h.name), js (h.value)));
    }
    return arr;
}

//  The meaning of a decoded envelope, in the vectors' JSON form.
static json_t *
to_json (const baton_envelope_t *e)
{
    json_t *route = json_array ();
    for (size_t i = 0; i < baton_envelope_route_count (e); i++) {
        baton_hop_t h = baton_envelope_route_hop (e, i);
        json_array_append_new (route, json_pack ("[oo]", js (h.name), js (h.endpoint)));
    }
    json_t *j =
        json_pack ("{sI so so so sI sI sI}", "v", (json_int_t) baton_envelope_version (e), "id",
                   js (baton_envelope_id (e)), "reply_to", js (baton_envelope_reply_to (e)),
                   "route", route, "index", (json_int_t) baton_envelope_index (e), "budget",
                   (json_int_t) baton_envelope_budget (e), "deadline",
                   (json_int_t) baton_envelope_deadline_ms (e));
    if (baton_envelope_reply_key (e).len)
        json_object_set_new (j, "reply_key", key_to_hex (baton_envelope_reply_key (e)));
    if (baton_envelope_route_key (e, 0).len) {
        json_t *keys = json_array ();
        for (size_t i = 0; i < baton_envelope_route_count (e); i++)
            json_array_append_new (keys, key_to_hex (baton_envelope_route_key (e, i)));
        json_object_set_new (j, "route_keys", keys);
    }
    if (baton_envelope_branch_count (e)) {
        json_t *branches = json_object ();
        for (size_t b = 0; b < baton_envelope_branch_count (e); b++) {
            json_t *hops = json_array ();
            for (size_t i = 0; i < baton_envelope_branch_hop_count (e, b); i++) {
                baton_hop_t h = baton_envelope_branch_hop (e, b, i);
                json_t *hop = json_pack ("[oo]", js (h.name), js (h.endpoint));
                if (baton_envelope_branch_key (e, b, i).len)
                    json_array_append_new (hop, key_to_hex (baton_envelope_branch_key (e, b, i)));
                json_array_append_new (hops, hop);
            }
            baton_slice_t name = baton_envelope_branch_name (e, b);
            char key[256];
            snprintf (key, sizeof key, "%.*s", (int) name.len, name.ptr);
            json_object_set_new (branches, key, hops);
        }
        json_object_set_new (j, "branches", branches);
    }
    if (baton_envelope_taken (e).len)
        json_object_set_new (j, "taken", js (baton_envelope_taken (e)));
    if (baton_envelope_seal (e).len)
        json_object_set_new (j, "seal", key_to_hex (baton_envelope_seal (e)));
    if (baton_envelope_oam (e))
        json_object_set_new (j, "oam", json_integer ((json_int_t) baton_envelope_oam (e)));
    if (baton_envelope_traceparent (e).len)
        json_object_set_new (j, "traceparent", js (baton_envelope_traceparent (e)));
    if (baton_envelope_version_pin (e)[0])
        json_object_set_new (j, "version", json_string (baton_envelope_version_pin (e)));
    if (baton_envelope_record_count (e)) {
        json_t *rec = json_array ();
        for (size_t i = 0; i < baton_envelope_record_count (e); i++) {
            baton_record_t r = baton_envelope_record (e, i);
            json_array_append_new (rec, json_pack ("[oII]", js (r.name), (json_int_t) r.t_in_us,
                                                   (json_int_t) r.t_out_us));
        }
        json_object_set_new (j, "record", rec);
    }
    if (baton_envelope_meta_count (e)) {
        json_t *meta = json_object ();
        for (size_t i = 0; i < baton_envelope_meta_count (e); i++) {
            baton_header_t m = baton_envelope_meta_at (e, i);
            char key[256];
            snprintf (key, sizeof key, "%.*s", (int) m.name.len, m.name.ptr);
            json_object_set_new (meta, key, js (m.value));
        }
        json_object_set_new (j, "meta", meta);
    }
    json_t *req = json_pack (
        "{so so so}", "method", js (baton_envelope_request_method (e)), "target",
        js (baton_envelope_request_target (e)), "headers",
        pairs_json (baton_envelope_request_header_count (e), baton_envelope_request_header, e));
    if (baton_envelope_request_body (e).len)
        json_object_set_new (req, "body", js (baton_envelope_request_body (e)));
    json_object_set_new (j, "request", req);
    json_object_set_new (
        j, "message",
        json_pack ("{sI so so}", "status", (json_int_t) baton_envelope_status (e), "headers",
                   pairs_json (baton_envelope_header_count (e), baton_envelope_header, e), "body",
                   js (baton_envelope_body (e))));
    if (baton_envelope_has_error (e))
        json_object_set_new (j, "error",
                             json_pack ("{sI so so}", "code",
                                        (json_int_t) baton_envelope_error_code (e), "text",
                                        js (baton_envelope_error_text (e)), "hop",
                                        js (baton_envelope_error_hop (e))));
    return j;
}

//  Reads NAME.hex (hex pairs, whitespace ignored). Caller frees.
static unsigned char *
read_hex (const char *name, size_t *len)
{
    char path[512];
    snprintf (path, sizeof path, VEC_DIR "%s.hex", name);
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f, "missing %s", path);
    size_t cap = 4096, n = 0;
    unsigned char *out = malloc (cap);
    int hi = -1, c;
    while ((c = fgetc (f)) != EOF) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            cr_assert (c == ' ' || c == '\n', "bad character in %s", path);
            continue;
        }
        if (hi < 0)
            hi = d;
        else {
            if (n == cap)
                out = realloc (out, cap *= 2);
            out[n++] = (unsigned char) (hi << 4 | d);
            hi = -1;
        }
    }
    fclose (f);
    cr_assert_eq (hi, -1, "odd number of hex digits in %s", path);
    *len = n;
    return out;
}

static void
write_hex (const char *name, const unsigned char *b, size_t len)
{
    char path[512];
    snprintf (path, sizeof path, VEC_DIR "%s.hex", name);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f);
    for (size_t i = 0; i < len; i++)
        fprintf (f, "%02x%c", b[i], (i % 16 == 15 || i + 1 == len) ? '\n' : ' ');
    fclose (f);
}

static void
check_vector (const char *name)
{
    char path[512];
    snprintf (path, sizeof path, VEC_DIR "%s.json", name);
    json_error_t jerr;
    json_t *vec = json_load_file (path, 0, &jerr);
    cr_assert_not_null (vec, "%s: %s", path, jerr.text);
    cr_assert (json_string_length (json_object_get (vec, "about")) > 0, "%s: no 'about'", name);
    json_t *meaning = json_object_get (vec, "envelope");
    if (meaning && getenv ("BATON_WRITE_VECTORS")) {
        baton_envelope_t *e = from_json (meaning);
        void *buf;
        size_t n;
        baton_envelope_encode (e, &buf, &n);
        write_hex (name, buf, n);
        free (buf);
        baton_envelope_destroy (&e);
    }
    size_t len;
    unsigned char *bytes = read_hex (name, &len);
    int err = 0;
    baton_envelope_t *d = baton_envelope_decode (bytes, len, NULL, &err);
    const char *want_err = json_string_value (json_object_get (vec, "error"));
    if (want_err) {
        cr_assert_null (d, "%s: decoded, want %s", name, want_err);
        cr_assert_str_eq (baton_errname (err), want_err, "%s", name);
    } else {
        cr_assert_not_null (d, "%s: %s", name, baton_errname (err));
        //  Bytes -> meaning: decode again to the same bytes ...
        void *again;
        size_t again_len;
        baton_envelope_encode (d, &again, &again_len);
        cr_assert (again_len == len && memcmp (again, bytes, len) == 0,
                   "%s: re-encoding changed the bytes", name);
        free (again);
        json_t *unknown = json_object_get (vec, "unknown_count");
        if (unknown)
            cr_assert_eq (baton_envelope_unknown_count (d), (size_t) json_integer_value (unknown));
        if (meaning) {
            //  ... and to exactly the meaning written beside them.
            json_t *got = to_json (d);
            char *g = json_dumps (got, JSON_SORT_KEYS | JSON_COMPACT);
            char *w = json_dumps (meaning, JSON_SORT_KEYS | JSON_COMPACT);
            cr_assert (json_equal (got, meaning), "%s decodes to\n%s\nwant\n%s", name, g, w);
            free (g);
            free (w);
            json_decref (got);
            //  Meaning -> bytes.
            baton_envelope_t *e = from_json (meaning);
            void *buf;
            size_t n;
            baton_envelope_encode (e, &buf, &n);
            cr_assert (n == len && memcmp (buf, bytes, len) == 0,
                       "%s: encoding the meaning gives other bytes", name);
            free (buf);
            baton_envelope_destroy (&e);
        }
    }
    baton_envelope_destroy (&d);
    free (bytes);
    json_decref (vec);
}

//  Checks that encoding d (decoded in place, maybe changed since) copies
//  what did not change so that the bytes are those of the full encoder.
static void
check_same_as_full (const char *name, const char *step, const baton_envelope_t *d)
{
    void *fast, *full;
    size_t fast_len, full_len;
    cr_assert_eq (baton_envelope_encode (d, &fast, &fast_len), 0);
    cr_assert_eq (baton__envelope_encode_full (d, &full, &full_len), 0);
    cr_assert (fast_len == full_len && memcmp (fast, full, full_len) == 0,
               "%s, %s: the forward differs from the full encoding", name, step);
    free (fast);
    free (full);
}

//  A hop's forward of a vector, step by step, against the full encoder:
//  unchanged, advanced (index, budget, record entry), with a new message
//  body, then with an error.
static void
check_forward (const char *name)
{
    size_t len;
    unsigned char *bytes = read_hex (name, &len);
    int err = 0;
    baton_envelope_t *d = baton__envelope_decode_borrowed (bytes, len, NULL, &err, NULL);
    if (d) {
        void *same;
        size_t same_len;
        cr_assert_eq (baton_envelope_encode (d, &same, &same_len), 0);
        cr_assert (same_len == len && memcmp (same, bytes, len) == 0,
                   "%s: the unchanged forward is not the bytes received", name);
        free (same);
        check_same_as_full (name, "unchanged", d);
        if (baton_envelope_advance (d, 1700000000000001u, 1700000000000123u) == 0)
            check_same_as_full (name, "advanced", d);
        cr_assert_eq (baton_envelope_set_body (d, "replaced", 8), 0);
        check_same_as_full (name, "new body", d);
        cr_assert_eq (baton_envelope_set_error (d, 502, "failed", 6, "hop", 3), 0);
        check_same_as_full (name, "error", d);
    }
    baton_envelope_destroy (&d);
    free (bytes);
}

//  Runs check on every vector of tests/vectors/; returns how many there are.
static int
for_each_vector (void (*check) (const char *name))
{
    DIR *dir = opendir (VEC_DIR);
    cr_assert_not_null (dir);
    struct dirent *ent;
    int checked = 0;
    while ((ent = readdir (dir))) {
        size_t n = strlen (ent->d_name);
        if (n > 5 && strcmp (ent->d_name + n - 5, ".json") == 0) {
            char name[256];
            snprintf (name, sizeof name, "%.*s", (int) (n - 5), ent->d_name);
            check (name);
            checked++;
        }
    }
    closedir (dir);
    return checked;
}

Test (vectors, every_vector_holds_both_ways)
{
    int checked = for_each_vector (check_vector);
    cr_assert_geq (checked, 10, "only %d vectors found", checked);
}

Test (vectors, forwarding_in_place_writes_the_bytes_of_a_full_encoding)
{
    cr_assert_geq (for_each_vector (check_forward), 10);
}

//  The version a request pins is bounded and free of control bytes, however
//  it is set: by the API or by a peer's bytes.
Test (vectors, a_version_pin_is_bounded)
{
    char longest[BATON_ENVELOPE_MAX_VERSION + 2];
    memset (longest, 'v', sizeof longest);
    baton_envelope_t *e = baton_envelope_new ();
    cr_assert_eq (baton_envelope_set_version_pin (e, longest, BATON_ENVELOPE_MAX_VERSION + 1),
                  BATON_ESTRLEN);
    cr_assert_eq (baton_envelope_set_version_pin (e, "v\n2", 3), BATON_EINVAL);
    cr_assert_str_eq (baton_envelope_version_pin (e), "", "nothing changed");
    cr_assert_eq (baton_envelope_set_version_pin (e, longest, BATON_ENVELOPE_MAX_VERSION), 0);
    cr_assert_eq (strlen (baton_envelope_version_pin (e)), BATON_ENVELOPE_MAX_VERSION);
    cr_assert_eq (baton_envelope_set_version_pin (e, "v2", 2), 0);
    void *buf;
    size_t len;
    cr_assert_eq (baton_envelope_encode (e, &buf, &len), 0);
    baton_envelope_destroy (&e);
    //  The value in the bytes: a control byte, then one byte too many.
    unsigned char *v = memmem (buf, len, "\xa7version\xa2v2", 11);
    cr_assert_not_null (v);
    v[10] = 0x01;
    int err = 0;
    cr_assert_null (baton_envelope_decode (buf, len, NULL, &err));
    cr_assert_eq (err, BATON_EMALFORMED);
    size_t at = (size_t) (v - (unsigned char *) buf) + 8, tail = len - at - 3;
    unsigned char *big = malloc (len + 80);
    memcpy (big, buf, at);
    big[at] = 0xd9;
    big[at + 1] = BATON_ENVELOPE_MAX_VERSION + 1;
    memset (big + at + 2, 'v', BATON_ENVELOPE_MAX_VERSION + 1);
    memcpy (big + at + 2 + BATON_ENVELOPE_MAX_VERSION + 1, v + 11, tail);
    cr_assert_null (
        baton_envelope_decode (big, at + 2 + BATON_ENVELOPE_MAX_VERSION + 1 + tail, NULL, &err));
    cr_assert_eq (err, BATON_ESTRLEN);
    free (big);
    free (buf);
}
