/*  test_seal.c - runtime/security/seal: keyed BLAKE2b-256 over framed fields
 *  against vectors computed apart (Python's hashlib.blake2b with the key),
 *  and the mesh key's file: written 0600, read strictly.  */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "route_seal.h"
#include "seal.h"

//  The test key: bytes 0, 1, ..., 31.
static void
s_test_key (uint8_t key[BATON_MESH_KEY_SIZE])
{
    for (int i = 0; i < BATON_MESH_KEY_SIZE; i++)
        key[i] = (uint8_t) i;
}

static void
s_hex (const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf (out + 2 * i, "%02x", b[i]);
}

static void
setup (void)
{
    cr_assert_eq (baton__seal_setup (), 0);
}

TestSuite (seal, .init = setup);

Test (seal, hashes_the_magic_alone)
{
    uint8_t key[BATON_MESH_KEY_SIZE], out[BATON_SEAL_SIZE];
    char hex[2 * BATON_SEAL_SIZE + 1];
    s_test_key (key);
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton__seal_end (&s, out);
    s_hex (out, sizeof out, hex);
    //  blake2b(b"baton-seal-1", key=bytes(range(32)), digest_size=32)
    cr_assert_str_eq (hex, "9c33d943e2f956ebcbcad605efe568bda104b6d009204e43f037a3ba400e45dc");
}

Test (seal, frames_strings_and_integers_big_endian)
{
    uint8_t key[BATON_MESH_KEY_SIZE], out[BATON_SEAL_SIZE];
    char hex[2 * BATON_SEAL_SIZE + 1];
    s_test_key (key);
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton__seal_str (&s, "r1", 2);
    baton__seal_uint (&s, 5);
    baton__seal_end (&s, out);
    s_hex (out, sizeof out, hex);
    //  magic + u32be(2) + b"r1" + u64be(5)
    cr_assert_str_eq (hex, "02ed8b1802d53ddf8d45e6b68f8679e0e5fde3c6f3b6de66dd1bd313b6e34784");
}

Test (seal, long_fields_cross_the_buffer)
{
    uint8_t key[BATON_MESH_KEY_SIZE], out[BATON_SEAL_SIZE];
    char hex[2 * BATON_SEAL_SIZE + 1], a[1000];
    memset (a, 'a', sizeof a);
    s_test_key (key);
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton__seal_str (&s, a, sizeof a);
    baton__seal_uint (&s, 0);
    baton__seal_str (&s, NULL, 0);
    baton__seal_count (&s, 7);
    baton__seal_end (&s, out);
    s_hex (out, sizeof out, hex);
    //  magic + u32be(1000) + b"a" * 1000 + u64be(0) + u32be(0) + u32be(7)
    cr_assert_str_eq (hex, "04fd4b3ab321f2e04d9e10e0fb044d8f6615114554e95ba17226169c72846b4d");
}

Test (seal, framing_keeps_fields_apart)
{
    //  "ab" + "c" and "a" + "bc" are the same bytes but not the same fields.
    uint8_t key[BATON_MESH_KEY_SIZE], one[BATON_SEAL_SIZE], two[BATON_SEAL_SIZE];
    s_test_key (key);
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton__seal_str (&s, "ab", 2);
    baton__seal_str (&s, "c", 1);
    baton__seal_end (&s, one);
    baton__seal_begin (&s, key);
    baton__seal_str (&s, "a", 1);
    baton__seal_str (&s, "bc", 2);
    baton__seal_end (&s, two);
    cr_assert_not (baton__seal_equal (one, two));
    cr_assert (baton__seal_equal (one, one));
}

Test (seal, another_key_gives_another_seal)
{
    uint8_t key[BATON_MESH_KEY_SIZE], one[BATON_SEAL_SIZE], two[BATON_SEAL_SIZE];
    s_test_key (key);
    baton_seal_t s;
    baton__seal_begin (&s, key);
    baton__seal_uint (&s, 7);
    baton__seal_end (&s, one);
    key[31] ^= 1;
    baton__seal_begin (&s, key);
    baton__seal_uint (&s, 7);
    baton__seal_end (&s, two);
    cr_assert_not (baton__seal_equal (one, two));
}

//  --- the mesh key's file ------------------------------------------------------

static char s_dir[64];

static void
s_mkdir (void)
{
    setup ();
    snprintf (s_dir, sizeof s_dir, "/tmp/baton-seal-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
}

static void
s_rmdir (void)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_dir);
    cr_assert_eq (system (cmd), 0);
}

//  Writes text to dir/name with mode; returns the path (static).
static const char *
s_write (const char *name, const char *text, mode_t mode)
{
    static char path[128];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f);
    fputs (text, f);
    fclose (f);
    cr_assert_eq (chmod (path, mode), 0);
    return path;
}

TestSuite (mesh_key, .init = s_mkdir, .fini = s_rmdir);

Test (mesh_key, saves_0600_and_loads_back)
{
    uint8_t key[BATON_MESH_KEY_SIZE], back[BATON_MESH_KEY_SIZE], other[BATON_MESH_KEY_SIZE];
    char path[128], err[512];
    snprintf (path, sizeof path, "%s/mesh.key", s_dir);
    cr_assert_eq (baton__mesh_key_new (key), 0);
    cr_assert_eq (baton__mesh_key_new (other), 0);
    cr_assert_neq (memcmp (key, other, sizeof key), 0);
    cr_assert_eq (baton__mesh_key_save (key, path, false, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0777, 0600);
    cr_assert_eq (baton__mesh_key_load (path, back, err, sizeof err), 0, "%s", err);
    cr_assert_eq (memcmp (key, back, sizeof key), 0);
    //  Not replaced without force; replaced with it.
    cr_assert_eq (baton__mesh_key_save (other, path, false, err, sizeof err), -1);
    cr_assert_eq (errno, EEXIST);
    cr_assert (strstr (err, "--force"), "%s", err);
    cr_assert_eq (baton__mesh_key_save (other, path, true, err, sizeof err), 0, "%s", err);
    cr_assert_eq (baton__mesh_key_load (path, back, err, sizeof err), 0, "%s", err);
    cr_assert_eq (memcmp (other, back, sizeof key), 0);
}

Test (mesh_key, reads_comments_blank_lines_and_crlf)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    char err[512];
    //  Z85 of 32 zero bytes.
    const char *path =
        s_write ("k", "# a comment\r\n\r\n0000000000000000000000000000000000000000\r\n", 0600);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < BATON_MESH_KEY_SIZE; i++)
        cr_assert_eq (key[i], 0);
}

Test (mesh_key, refuses_a_file_others_may_read)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    char err[512];
    const char *path = s_write ("k", "0000000000000000000000000000000000000000\n", 0640);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), -1);
    cr_assert (strstr (err, "chmod 600"), "%s", err);
}

Test (mesh_key, refuses_bad_contents_without_echoing_them)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    char err[512];
    const char *path = s_write ("k", "# nothing else\n", 0600);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), -1);
    cr_assert (strstr (err, "holds no key"), "%s", err);
    path = s_write ("k2", "secretsecret\n", 0600);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), -1);
    cr_assert (strstr (err, ":1: not a mesh key"), "%s", err);
    cr_assert_null (strstr (err, "secret"), "%s", err);
    path = s_write ("k3",
                    "0000000000000000000000000000000000000000\n"
                    "0000000000000000000000000000000000000000\n",
                    0600);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), -1);
    cr_assert (strstr (err, ":2: a second key"), "%s", err);
    char big[BATON_MESH_KEY_MAX_FILE + 10];
    memset (big, '#', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    path = s_write ("k4", big, 0600);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), -1);
    cr_assert (strstr (err, "larger than"), "%s", err);
    cr_assert_eq (baton__mesh_key_load (s_dir, key, err, sizeof err), -1);
    cr_assert (strstr (err, "not a regular file"), "%s", err);
}

//  Runs "baton keys mesh" with args; returns its exit status.
static int
s_keys_mesh (const char *args)
{
    char cmd[512];
    snprintf (cmd, sizeof cmd, "%s keys mesh %s >/dev/null 2>&1", BATON_CLI_PATH, args);
    int rc = system (cmd);
    return WIFEXITED (rc) ? WEXITSTATUS (rc) : -1;
}

Test (mesh_key, baton_keys_mesh_writes_one_and_keeps_it)
{
    char path[128], args[256], err[512];
    uint8_t key[BATON_MESH_KEY_SIZE], again[BATON_MESH_KEY_SIZE];
    snprintf (path, sizeof path, "%s/mesh.key", s_dir);
    cr_assert_eq (s_keys_mesh (path), 0);
    struct stat st;
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0777, 0600);
    cr_assert_eq (baton__mesh_key_load (path, key, err, sizeof err), 0, "%s", err);
    cr_assert_eq (s_keys_mesh (path), 1, "an existing key is kept");
    cr_assert_eq (baton__mesh_key_load (path, again, err, sizeof err), 0, "%s", err);
    cr_assert_eq (memcmp (key, again, sizeof key), 0);
    snprintf (args, sizeof args, "%s --force", path);
    cr_assert_eq (s_keys_mesh (args), 0);
    cr_assert_eq (baton__mesh_key_load (path, again, err, sizeof err), 0, "%s", err);
    cr_assert_neq (memcmp (key, again, sizeof key), 0);
    cr_assert_eq (s_keys_mesh (""), 2);
    cr_assert_eq (s_keys_mesh ("a b"), 2);
}

//  --- the seal of an envelope's route (route_seal.h) -------------------------------

TestSuite (route_seal, .init = setup);

//  The request of tests/vectors/branch_sealed.json, as the gateway builds it.
static baton_envelope_t *
s_branch_sealed (void)
{
    baton_envelope_t *e = baton_envelope_new ();
    baton_envelope_set_id (e, "gw1-31", 6);
    baton_envelope_set_reply_to (e, "tcp://127.0.0.1:5600", 20);
    baton_envelope_route_append (e, "auth", 4, "tcp://127.0.0.1:5701", 20);
    baton_envelope_route_append (e, "score", 5, "tcp://127.0.0.1:5702", 20);
    baton_envelope_branch_add (e, "ok", 2);
    baton_envelope_branch_append (e, 0, "render", 6, "tcp://127.0.0.1:5703", 20);
    baton_envelope_branch_add (e, "review", 6);
    baton_envelope_branch_append (e, 1, "fraud", 5, "tcp://127.0.0.1:5704", 20);
    baton_envelope_branch_append (e, 1, "render", 6, "tcp://127.0.0.1:5703", 20);
    baton_envelope_set_budget (e, 4);
    baton_envelope_set_deadline_ms (e, 1795000005000u);
    return e;
}

Test (route_seal, matches_the_golden_vector)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    s_test_key (key);
    //  branch_sealed.json's seal, computed by Python's hashlib from the
    //  canonical bytes as docs/security.md writes them.
    static const char want[] = "558b6dae8d40dbf3bd920192fb01f9326087067dc6adb771869175acff6239a3";
    baton_envelope_t *e = s_branch_sealed ();
    uint8_t seal[BATON_SEAL_SIZE];
    cr_assert_eq (baton__route_seal (e, key, seal), 0);
    char hex[2 * BATON_SEAL_SIZE + 1];
    s_hex (seal, sizeof seal, hex);
    cr_assert_str_eq (hex, want);
    baton_envelope_destroy (&e);
}

Test (route_seal, holds_along_the_route_and_through_a_branch)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    s_test_key (key);
    baton_envelope_t *e = s_branch_sealed ();
    cr_assert_str_eq (baton__route_seal_check (e, key), "envelope not sealed");
    cr_assert_eq (baton__route_seal_set (e, key), 0);
    cr_assert_null (baton__route_seal_check (e, key));
    cr_assert_eq (baton_envelope_advance (e, 1, 2), 0);
    cr_assert_null (baton__route_seal_check (e, key), "at score");
    cr_assert_eq (baton_envelope_take_branch (e, "nowhere", 7), BATON_EINVAL);
    cr_assert_eq (baton_envelope_take_branch (e, "review", 6), 0);
    cr_assert_eq (baton_envelope_take_branch (e, "ok", 2), BATON_ESTATE, "once");
    cr_assert_eq (baton_envelope_route_count (e), 4);
    cr_assert_eq (baton_envelope_advance (e, 3, 4), 0);
    cr_assert_null (baton__route_seal_check (e, key), "at fraud");
    uint8_t other[BATON_MESH_KEY_SIZE] = {1};
    cr_assert_not_null (baton__route_seal_check (e, other), "another key");
    baton_envelope_destroy (&e);
}

Test (route_seal, refuses_every_change_but_a_branch)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    s_test_key (key);
    for (int change = 0; change < 6; change++) {
        baton_envelope_t *e = s_branch_sealed ();
        baton__route_seal_set (e, key);
        baton_envelope_advance (e, 1, 2);
        switch (change) {
        case 0: //  a hop added
            baton_envelope_route_append (e, "evil", 4, "tcp://10.0.0.9:1", 16);
            break;
        case 1: //  an endpoint replaced
            baton_envelope_route_set_endpoint (e, 1, "tcp://10.0.0.9:1", 16);
            break;
        case 2:
            baton_envelope_set_budget (e, 5);
            break;
        case 3:
            baton_envelope_set_reply_to (e, "tcp://10.0.0.9:2", 16);
            break;
        case 4: //  taken said, the route not spliced
            baton_envelope_take_branch (e, "ok", 2);
            baton_envelope_route_set_endpoint (e, 2, "tcp://10.0.0.9:1", 16);
            break;
        default: //  a hop skipped
            baton_envelope_set_index (e, 2);
            baton_envelope_set_budget (e, 2);
            baton_envelope_route_append (e, "fraud", 5, "tcp://127.0.0.1:5704", 20);
            break;
        }
        cr_assert_not_null (baton__route_seal_check (e, key), "change %d", change);
        baton_envelope_destroy (&e);
    }
}

//  The gateway never seals a route that a hop would refuse: one that says
//  it took a branch but does not end with that branch, hop for hop and key
//  for key (found by fuzz_envelope: the seal only checked the length).
Test (route_seal, is_not_made_for_a_route_the_check_refuses)
{
    uint8_t key[BATON_MESH_KEY_SIZE], other[BATON_KEY_LEN];
    s_test_key (key);
    memset (other, 0x77, sizeof other);
    for (int change = 0; change < 2; change++) {
        baton_envelope_t *e = s_branch_sealed ();
        cr_assert_eq (baton_envelope_advance (e, 1, 2), 0);
        cr_assert_eq (baton_envelope_take_branch (e, "review", 6), 0);
        uint8_t seal[BATON_SEAL_SIZE];
        cr_assert_eq (baton__route_seal (e, key, seal), 0, "the spliced route seals");
        if (change == 0)
            baton_envelope_route_set_endpoint (e, 3, "tcp://10.0.0.9:1", 16);
        else
            baton_envelope_set_route_key (e, 3, other, sizeof other);
        cr_assert_eq (baton__route_seal (e, key, seal), -1, "change %d", change);
        cr_assert_eq (baton__route_seal_set (e, key), BATON_EROUTE, "change %d", change);
        cr_assert_str_eq (baton__route_seal_check (e, key), "envelope not sealed");
        baton_envelope_destroy (&e);
    }
}
