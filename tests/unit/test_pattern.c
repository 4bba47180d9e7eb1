/*  test_pattern.c - the path-pattern syntax on its own: how a pattern is
 *  split, every reason one is refused, its limits at and past their values,
 *  reads within the bytes given, and which patterns count as the same.  */
//  MAP_ANONYMOUS, for the guard page.
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config/pattern.h"

static char s_why[160];

static baton_pattern_t
parses (const char *text)
{
    baton_pattern_t p;
    int rc = baton_pattern_parse (text, strlen (text), &p, s_why, sizeof s_why);
    cr_assert_eq (rc, 0, "%s: refused: %s", text, s_why);
    return p;
}

//  Asserts that text is refused with a reason that contains want.
static void
refuses (const char *text, size_t len, const char *want)
{
    int rc = baton_pattern_parse (text, len, NULL, s_why, sizeof s_why);
    cr_assert_eq (rc, -1, "%.*s: accepted", (int) len, text);
    cr_assert (strstr (s_why, want), "%.*s: got \"%s\", want \"%s\"", (int) len, text, s_why, want);
}

static void
segment_is (const char *text, const baton_pattern_t *p, size_t k, bool param, const char *want)
{
    cr_assert (k < p->count);
    const baton_pattern_segment_t *s = &p->segment[k];
    cr_assert_eq (s->param, param, "%s: segment %zu", text, k);
    cr_assert_eq (s->len, strlen (want), "%s: segment %zu", text, k);
    cr_assert (memcmp (text + s->off, want, s->len) == 0, "%s: segment %zu is \"%.*s\"", text, k,
               (int) s->len, text + s->off);
}

Test (pattern, splits_literals_and_params_and_marks_a_final_star)
{
    const char *text = "/users/{id}/posts/*";
    baton_pattern_t p = parses (text);
    cr_assert (p.prefix);
    cr_assert_eq (p.count, 3);
    segment_is (text, &p, 0, false, "users");
    segment_is (text, &p, 1, true, "id");
    segment_is (text, &p, 2, false, "posts");

    text = "/a%2F/{_x1}";
    p = parses (text);
    cr_assert_not (p.prefix);
    cr_assert_eq (p.count, 2);
    segment_is (text, &p, 0, false, "a%2F");
    segment_is (text, &p, 1, true, "_x1");

    p = parses ("/*");
    cr_assert (p.prefix);
    cr_assert_eq (p.count, 0);
}

Test (pattern, keeps_a_trailing_slash_as_an_empty_last_segment)
{
    baton_pattern_t p = parses ("/");
    cr_assert_eq (p.count, 1);
    segment_is ("/", &p, 0, false, "");
    p = parses ("/a/");
    cr_assert_eq (p.count, 2);
    segment_is ("/a/", &p, 1, false, "");
}

Test (pattern, refuses_each_bad_pattern_with_its_reason)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"", "a path must start with \"/\""},
        {"hello", "a path must start with \"/\""},
        {"/a//b", "empty segment (\"//\")"},
        {"//", "empty segment"},
        {"/a*", "\"*\" is only allowed as the whole last segment (\"/static/*\")"},
        {"/*/a", "only allowed as the whole last segment"},
        {"/a/*/", "only allowed as the whole last segment"},
        {"/a/{id}x", "a parameter is a whole segment, like {id}"},
        {"/a/x{id}", "a parameter is a whole segment"},
        {"/a/x}", "a parameter is a whole segment"},
        {"/a/{", "a parameter is a whole segment"},
        {"/a/{}", "empty parameter name \"{}\""},
        {"/a/{1x}", "parameter name \"1x\" must start with a letter or \"_\""},
        {"/a/{x-y}", "parameter name \"x-y\" may hold only letters, digits and \"_\""},
        {"/a/{id}/b/{id}", "parameter {id} appears twice"},
        {"/a/.", "dot segments (\".\" and \"..\") are not allowed"},
        {"/a/../b", "dot segments"},
        {"/a%2", "\"%\" must be followed by two hex digits"},
        {"/a%zz", "two hex digits"},
        {"/a?b=1", "\"?\" does not belong in a path pattern"},
        {"/a#b", "\"#\" does not belong in a path pattern"},
        {"/a b", "byte 0x20 is not allowed in a path; percent-encode it"},
        {"/caf\xc3\xa9", "byte 0xC3 is not allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        refuses (cases[i].text, strlen (cases[i].text), cases[i].why);
    //  Dots inside a segment are no dot segments.
    parses ("/a/.well-known/..x");
}

Test (pattern, bounds_segments_params_names_and_length)
{
    char text[2048] = "";
    for (int i = 0; i < BATON_PATTERN_MAX_SEGMENTS; i++)
        strcat (text, "/a");
    cr_assert_eq (parses (text).count, BATON_PATTERN_MAX_SEGMENTS);
    strcat (text, "/a");
    refuses (text, strlen (text), "more than 32 segments");
    //  A final "*" counts as a segment.
    text[strlen (text) - 1] = '*';
    refuses (text, strlen (text), "more than 32 segments");

    strcpy (text, "");
    for (int i = 0; i < BATON_PATTERN_MAX_PARAMS; i++)
        sprintf (text + strlen (text), "/{p%d}", i);
    cr_assert_eq (parses (text).count, BATON_PATTERN_MAX_PARAMS);
    strcat (text, "/{q}");
    refuses (text, strlen (text), "more than 16 parameters");

    //  32 bytes of name hold; 33 do not.
    snprintf (text, sizeof text, "/{%s}", "abcdefghijklmnopqrstuvwxyz012345");
    parses (text);
    snprintf (text, sizeof text, "/{%s}", "abcdefghijklmnopqrstuvwxyz0123456");
    refuses (text, strlen (text), "a parameter name is at most 32 bytes");

    memset (text, 'a', BATON_PATTERN_MAX_LEN + 1);
    text[0] = '/';
    text[BATON_PATTERN_MAX_LEN + 1] = '\0';
    refuses (text, strlen (text), "a path pattern is at most 1024 bytes");
    text[BATON_PATTERN_MAX_LEN] = '\0';
    parses (text);
}

Test (pattern, reads_no_byte_past_len)
{
    //  Each pattern ends right before a page that faults when read.
    const char *cases[] = {"/a/{id}", "/a/{", "/a%", "/a%4", "/static/*", "/a/", "/{"};
    long page = sysconf (_SC_PAGESIZE);
    char *map =
        mmap (NULL, (size_t) page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq (map, MAP_FAILED);
    cr_assert_eq (mprotect (map + page, (size_t) page, PROT_NONE), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen (cases[i]);
        char *at = map + page - len;
        memcpy (at, cases[i], len);
        baton_pattern_t p;
        baton_pattern_parse (at, len, &p, s_why, sizeof s_why);
    }
    munmap (map, (size_t) page * 2);
    //  A len shorter than the string is all that is read.
    refuses ("/a/{id}", 4, "a parameter is a whole segment");
}

Test (pattern, cuts_the_reason_to_the_buffer_given)
{
    char why[8];
    cr_assert_eq (baton_pattern_parse ("x", 1, NULL, why, sizeof why), -1);
    cr_assert_str_eq (why, "a path ");
    cr_assert_eq (baton_pattern_parse ("x", 1, NULL, NULL, 0), -1);
}

Test (pattern, calls_patterns_the_same_when_only_param_names_differ)
{
    cr_assert (baton_pattern_same ("/a/{x}", "/a/{y}"));
    cr_assert (baton_pattern_same ("/a/{x}/b/*", "/a/{long_name}/b/*"));
    cr_assert (baton_pattern_same ("/a", "/a"));
    cr_assert_not (baton_pattern_same ("/a/{x}", "/a/b"));
    cr_assert_not (baton_pattern_same ("/a/{x}", "/a/{x}/"));
    cr_assert_not (baton_pattern_same ("/a/*", "/a/{x}"));
    cr_assert_not (baton_pattern_same ("/a", "/ab"));
    cr_assert_not (baton_pattern_same ("/A", "/a"));
}

Test (pattern, hashes_patterns_that_are_the_same_alike)
{
    cr_assert_eq (baton_pattern_hash ("/a/{x}/c"), baton_pattern_hash ("/a/{yyy}/c"));
    cr_assert_eq (baton_pattern_hash ("/"), baton_pattern_hash ("/"));
    cr_assert_neq (baton_pattern_hash ("/a/{x}"), baton_pattern_hash ("/a/b"));
    cr_assert_neq (baton_pattern_hash ("/a/{x}"), baton_pattern_hash ("/a/{x}/"));
}
