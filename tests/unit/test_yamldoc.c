/*  test_yamldoc.c - the YAML reader on its own, with small limits: the tree
 *  and the line:column of its nodes, each limit at and past its value,
 *  duplicate keys kept for the schema, malformed and refused YAML, files,
 *  and reads that stay within the bytes given.  */
//  MAP_ANONYMOUS, for the guard page.
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config/yamldoc.h"

static const baton_yamldoc_limits_t s_limits = {
    .max_file = 4096, .max_depth = 3, .max_items = 4, .max_nodes = 20, .max_string = 8};

static char s_err[512];

static baton_yamldoc_t *
parse (const char *yaml)
{
    return baton_yamldoc_parse (yaml, strlen (yaml), "t.yaml", &s_limits, s_err, sizeof s_err);
}

//  Asserts that yaml is read; returns its root.
static const baton_yamldoc_node_t *
reads (const char *yaml, baton_yamldoc_t **doc_p)
{
    *doc_p = parse (yaml);
    cr_assert_not_null (*doc_p, "refused: %s\n%s", s_err, yaml);
    cr_assert_str_eq (s_err, "");
    return baton_yamldoc_root (*doc_p);
}

//  Asserts that yaml is refused with exactly the message want.
static void
fails (const char *yaml, const char *want)
{
    baton_yamldoc_t *doc = parse (yaml);
    cr_assert_null (doc, "accepted:\n%s", yaml);
    cr_assert_str_eq (s_err, want);
}

static void
node_is (const baton_yamldoc_node_t *node, baton_yamldoc_kind_t kind, size_t line, size_t column)
{
    cr_assert_not_null (node);
    cr_assert_eq (node->kind, kind);
    cr_assert_eq (node->line, line, "line %zu, want %zu", node->line, line);
    cr_assert_eq (node->column, column, "column %zu, want %zu", node->column, column);
}

static void
scalar_is (const baton_yamldoc_node_t *node, const char *str, size_t line, size_t column)
{
    node_is (node, BATON_YAMLDOC_SCALAR, line, column);
    cr_assert_eq (node->len, strlen (str));
    cr_assert_str_eq (node->str, str);
    cr_assert_eq (node->count, 0);
    cr_assert_null (node->first);
}

//  --------------------------------------------------------------------------
//  The tree

Test (yamldoc, gives_every_node_its_line_and_column)
{
    baton_yamldoc_t *doc;
    const baton_yamldoc_node_t *root = reads ("a: 1\n"
                                              "b:\n"
                                              "  - x\n"
                                              "  - {k: 'v w'}\n",
                                              &doc);
    node_is (root, BATON_YAMLDOC_MAPPING, 1, 1);
    cr_assert_eq (root->count, 4, "two per entry");
    const baton_yamldoc_node_t *a = root->first;
    scalar_is (a, "a", 1, 1);
    scalar_is (a->next, "1", 1, 4);
    const baton_yamldoc_node_t *b = a->next->next;
    scalar_is (b, "b", 2, 1);
    const baton_yamldoc_node_t *seq = b->next;
    node_is (seq, BATON_YAMLDOC_SEQUENCE, 3, 3);
    cr_assert_null (seq->next);
    cr_assert_eq (seq->count, 2);
    scalar_is (seq->first, "x", 3, 5);
    const baton_yamldoc_node_t *map = seq->first->next;
    node_is (map, BATON_YAMLDOC_MAPPING, 4, 5);
    cr_assert_null (map->next);
    scalar_is (map->first, "k", 4, 6);
    scalar_is (map->first->next, "v w", 4, 9);
    baton_yamldoc_destroy (&doc);
    cr_assert_null (doc);
    baton_yamldoc_destroy (&doc);
}

Test (yamldoc, marks_only_plain_null_scalars_as_null)
{
    static const struct {
        const char *value;
        bool null;
    } cases[] = {{"", true},       {"~", true},    {"null", true}, {"Null", true},
                 {"NULL", true},   {"''", false},  {"nul", false}, {"'null'", false},
                 {"\"~\"", false}, {"nUll", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[32];
        snprintf (yaml, sizeof yaml, "a: %s\n", cases[i].value);
        baton_yamldoc_t *doc;
        const baton_yamldoc_node_t *value = reads (yaml, &doc)->first->next;
        cr_assert_eq (value->null, cases[i].null, "a: %s", cases[i].value);
        baton_yamldoc_destroy (&doc);
    }
}

Test (yamldoc, keeps_duplicate_keys_in_order_for_the_schema_to_refuse)
{
    //  Which keys exist, and so which repeat, is the schema's to say: the
    //  reader keeps both with their positions.
    baton_yamldoc_t *doc;
    const baton_yamldoc_node_t *root = reads ("k: 1\nk: 2\n", &doc);
    cr_assert_eq (root->count, 4);
    scalar_is (root->first, "k", 1, 1);
    scalar_is (root->first->next, "1", 1, 4);
    scalar_is (root->first->next->next, "k", 2, 1);
    scalar_is (root->first->next->next->next, "2", 2, 4);
    baton_yamldoc_destroy (&doc);
}

Test (yamldoc, has_no_root_without_a_document)
{
    baton_yamldoc_t *doc;
    cr_assert_null (reads ("", &doc));
    baton_yamldoc_destroy (&doc);
    cr_assert_null (reads ("# only a comment\n", &doc));
    baton_yamldoc_destroy (&doc);
    //  "---" starts a document whose root is an empty (null) scalar.
    const baton_yamldoc_node_t *root = reads ("---\n", &doc);
    cr_assert (root && root->null);
    baton_yamldoc_destroy (&doc);
    doc = baton_yamldoc_parse (NULL, 0, "t.yaml", &s_limits, s_err, sizeof s_err);
    cr_assert_not_null (doc, "%s", s_err);
    cr_assert_null (baton_yamldoc_root (doc));
    baton_yamldoc_destroy (&doc);
}

//  --------------------------------------------------------------------------
//  Malformed and refused YAML

Test (yamldoc, reports_line_and_column_of_bad_token)
{
    fails ("a: 1\n b: 2\n",
           "t.yaml:2:3: YAML syntax: mapping values are not allowed in this context");
    fails ("a: [1, 2\nb: 3\n", "t.yaml:2:2: YAML syntax: did not find expected ',' or ']' (while "
                               "parsing a flow sequence at line 1)");
    fails ("key: \"x\n", "t.yaml:2:1: YAML syntax: found unexpected end of stream (while scanning "
                         "a quoted scalar at line 1)");
}

Test (yamldoc, reports_invalid_utf8_at_its_line_and_column)
{
    //  Columns count characters: "é" is one.
    fails ("a: 1\nb: \xc3\xa9\xff\n",
           "t.yaml:2:5: not valid YAML text: invalid leading UTF-8 octet");
}

Test (yamldoc, refuses_a_mapping_key_that_is_not_a_string)
{
    fails ("? [a]\n: b\n", "t.yaml:1:3: a mapping key must be a plain string");
    fails ("{a: 1, {b: 2}: 3}\n", "t.yaml:1:8: a mapping key must be a plain string");
}

Test (yamldoc, refuses_anchors_aliases_and_tags)
{
    fails ("a: &x y\n", "t.yaml:1:4: YAML anchors (&\"x\") are not allowed");
    fails ("a: *x\n", "t.yaml:1:4: YAML aliases (*\"x\") are not allowed");
    fails ("a: !t x\n", "t.yaml:1:4: YAML tags (\"!t\") are not supported");
    fails ("a: !!str x\n", "t.yaml:1:4: YAML tags (\"tag:yaml.org,2002:str\") are not supported");
}

Test (yamldoc, refuses_control_characters_in_strings)
{
    const char *cases[] = {"a: \"\\x01\"\n", "a: \"\\0\"\n", "a: \"\\x7f\"\n", "a: \"\\u0085\"\n",
                           "a: \"\\t\"\n"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fails (cases[i],
               "t.yaml:1:4: control character in a string (strings are one line of text)");
    //  U+00A0 is the first character past the C1 controls.
    baton_yamldoc_t *doc;
    cr_assert_str_eq (reads ("a: \"\\u00a0\"\n", &doc)->first->next->str, "\xc2\xa0");
    baton_yamldoc_destroy (&doc);
}

Test (yamldoc, refuses_a_second_document)
{
    fails ("a: b\n---\nc: d\n", "t.yaml:2:1: only one YAML document is allowed per file");
}

//  --------------------------------------------------------------------------
//  Limits: each holds at its value and refuses one past it

Test (yamldoc, bounds_the_depth)
{
    baton_yamldoc_t *doc;
    reads ("[[[x]]]\n", &doc);
    baton_yamldoc_destroy (&doc);
    fails ("[[[[x]]]]\n", "t.yaml:1:4: nested deeper than 3 levels");
    fails ("a:\n  b:\n    c:\n      d: x\n", "t.yaml:4:7: nested deeper than 3 levels");
}

Test (yamldoc, bounds_the_entries_of_a_sequence_and_of_a_mapping)
{
    baton_yamldoc_t *doc;
    reads ("[1, 2, 3, 4]\n", &doc);
    baton_yamldoc_destroy (&doc);
    reads ("{a: 1, b: 2, c: 3, d: 4}\n", &doc);
    baton_yamldoc_destroy (&doc);
    fails ("[1, 2, 3, 4, 5]\n", "t.yaml:1:14: more than 4 entries in one sequence");
    fails ("{a: 1, b: 2, c: 3, d: 4, e: 5}\n", "t.yaml:1:26: more than 4 entries in one mapping");
}

Test (yamldoc, bounds_the_nodes_of_the_document)
{
    //  The root, 4 sequences and 15 items make 20 nodes; a 16th item is one
    //  node past the limit.
    baton_yamldoc_t *doc;
    reads ("- [1, 2, 3, 4]\n- [1, 2, 3, 4]\n- [1, 2, 3, 4]\n- [1, 2, 3]\n", &doc);
    baton_yamldoc_destroy (&doc);
    fails ("- [1, 2, 3, 4]\n- [1, 2, 3, 4]\n- [1, 2, 3, 4]\n- [1, 2, 3, 4]\n",
           "t.yaml:4:13: more than 20 YAML nodes in one file");
}

Test (yamldoc, bounds_the_length_of_a_string)
{
    baton_yamldoc_t *doc;
    reads ("a: \"12345678\"\n", &doc);
    baton_yamldoc_destroy (&doc);
    fails ("a: \"123456789\"\n", "t.yaml:1:4: a string longer than 8 bytes");
    fails ("123456789: a\n", "t.yaml:1:1: a string longer than 8 bytes");
}

Test (yamldoc, bounds_the_size_of_the_file)
{
    char *big = malloc (s_limits.max_file + 1);
    memset (big, '#', s_limits.max_file + 1);
    cr_assert_null (
        baton_yamldoc_parse (big, s_limits.max_file + 1, "big", &s_limits, s_err, sizeof s_err));
    cr_assert_str_eq (s_err, "big: the file is larger than the limit, 4096 bytes");
    baton_yamldoc_t *doc =
        baton_yamldoc_parse (big, s_limits.max_file, "big", &s_limits, s_err, sizeof s_err);
    cr_assert_not_null (doc, "%s", s_err);
    baton_yamldoc_destroy (&doc);
    free (big);
}

//  --------------------------------------------------------------------------
//  Files

Test (yamldoc, loads_a_file_and_names_it_in_messages)
{
    char path[] = "/tmp/baton-test-yamldoc-XXXXXX";
    int fd = mkstemp (path);
    cr_assert (fd >= 0);
    cr_assert_eq (write (fd, "a: [x\n", 6), 6);
    close (fd);
    cr_assert_null (baton_yamldoc_load (path, &s_limits, s_err, sizeof s_err));
    char want[128];
    snprintf (want, sizeof want, "%s:2:1: YAML syntax:", path);
    cr_assert (strncmp (s_err, want, strlen (want)) == 0, "%s", s_err);

    cr_assert_eq (truncate (path, 0), 0);
    baton_yamldoc_t *doc = baton_yamldoc_load (path, &s_limits, s_err, sizeof s_err);
    cr_assert_not_null (doc, "%s", s_err);
    cr_assert_null (baton_yamldoc_root (doc));
    baton_yamldoc_destroy (&doc);

    cr_assert_eq (truncate (path, (off_t) s_limits.max_file + 1), 0);
    cr_assert_null (baton_yamldoc_load (path, &s_limits, s_err, sizeof s_err));
    snprintf (want, sizeof want, "%s: the file is larger than the limit, 4096 bytes", path);
    cr_assert_str_eq (s_err, want);
    unlink (path);

    cr_assert_null (baton_yamldoc_load (path, &s_limits, s_err, sizeof s_err));
    snprintf (want, sizeof want, "%s: cannot open: No such file or directory", path);
    cr_assert_str_eq (s_err, want);
    cr_assert_null (baton_yamldoc_load ("/", &s_limits, s_err, sizeof s_err));
    cr_assert_str_eq (s_err, "/: cannot read: Is a directory");
}

Test (yamldoc, bounds_what_it_reads_from_a_pipe)
{
    //  A pipe has no size to check first: the read itself stops one byte past
    //  the limit.
    int fds[2];
    cr_assert_eq (pipe (fds), 0);
    char *big = malloc (s_limits.max_file + 1);
    memset (big, '#', s_limits.max_file + 1);
    cr_assert_eq (write (fds[1], big, s_limits.max_file + 1), (ssize_t) s_limits.max_file + 1);
    close (fds[1]);
    char path[64];
    snprintf (path, sizeof path, "/dev/fd/%d", fds[0]);
    cr_assert_null (baton_yamldoc_load (path, &s_limits, s_err, sizeof s_err));
    cr_assert (strstr (s_err, ": the file is larger than the limit, 4096 bytes"), "%s", s_err);
    close (fds[0]);
    free (big);
}

//  --------------------------------------------------------------------------
//  Bytes and buffers

//  Copies yaml to the end of a page that a PROT_NONE page follows, so that
//  reading one byte past it faults.
static char *
before_guard_page (const char *yaml, size_t len, void **map_p)
{
    long page = sysconf (_SC_PAGESIZE);
    char *map =
        mmap (NULL, (size_t) page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq (map, MAP_FAILED);
    cr_assert_eq (mprotect (map + page, (size_t) page, PROT_NONE), 0);
    *map_p = map;
    char *at = map + page - len;
    memcpy (at, yaml, len);
    return at;
}

Test (yamldoc, reads_no_byte_past_len)
{
    const char *cases[] = {"a: [1, {b: c}]\nd: e", "a: \"unterminated", "a: 'x", "- x\n- ", "a:"};
    long page = sysconf (_SC_PAGESIZE);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *map;
        size_t len = strlen (cases[i]);
        char *at = before_guard_page (cases[i], len, &map);
        baton_yamldoc_t *doc =
            baton_yamldoc_parse (at, len, "t.yaml", &s_limits, s_err, sizeof s_err);
        baton_yamldoc_destroy (&doc);
        munmap (map, (size_t) page * 2);
    }
}

Test (yamldoc, cuts_messages_to_the_buffer_given)
{
    char small[12];
    cr_assert_null (baton_yamldoc_parse ("a: *x\n", 6, "t.yaml", &s_limits, small, sizeof small));
    cr_assert_str_eq (small, "t.yaml:1:4:");
    //  No buffer at all is fine too.
    cr_assert_null (baton_yamldoc_parse ("a: *x\n", 6, "t.yaml", &s_limits, NULL, 0));
}

Test (yamldoc, quotes_values_escaped_and_cut)
{
    char q[16];
    cr_assert_str_eq (baton_yamldoc_quote (q, sizeof q, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    cr_assert_str_eq (baton_yamldoc_quote (q, sizeof q, "\x01\xff", 2), "\"\\x01\\xFF\"");
    cr_assert_str_eq (baton_yamldoc_quote (q, sizeof q, "abcdefghijklmnop", 16), "\"abcdefg\"...");
    cr_assert_str_eq (baton_yamldoc_quote (q, sizeof q, "", 0), "\"\"");
}

static int
vfail (char *err, size_t errlen, size_t line, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int rc = baton_yamldoc_vfail (err, errlen, "f.yaml", line, 7, key, fmt, ap);
    va_end (ap);
    return rc;
}

Test (yamldoc, writes_messages_as_file_line_column_key)
{
    char err[128];
    cr_assert_eq (vfail (err, sizeof err, 3, "routes[0]", "bad %d", 1), -1);
    cr_assert_str_eq (err, "f.yaml:3:7: routes[0]: bad 1");
    vfail (err, sizeof err, 3, NULL, "bad");
    cr_assert_str_eq (err, "f.yaml:3:7: bad");
    vfail (err, sizeof err, 0, "", "bad");
    cr_assert_str_eq (err, "f.yaml: bad");
}
