/*  test_http_parser.c - one test per rule of broker/http/parser.h, plus
 *  incremental feeding, pipelining and chunked decoding. Every input is
 *  placed right before a PROT_NONE page, so a read past its end crashes.  */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/parser.h"

#define R(s) s, sizeof (s) - 1

//  --- inputs before a guard page -----------------------------------------------

//  A few live mappings at a time: a result may point into an earlier input.
#define S_SLOTS 8
static struct {
    char *base;
    size_t size;
} s_maps[S_SLOTS];
static unsigned s_next_map;

//  Returns a copy of data whose last byte is the last readable byte before a
//  PROT_NONE page. Valid until S_SLOTS more copies are made.
static const char *
s_guarded (const void *data, size_t len)
{
    size_t page = (size_t) sysconf (_SC_PAGESIZE);
    size_t size = ((len + page - 1) / page + 1) * page;
    unsigned slot = s_next_map++ % S_SLOTS;
    if (s_maps[slot].base)
        munmap (s_maps[slot].base, s_maps[slot].size);
    char *base = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert (base != MAP_FAILED);
    cr_assert (mprotect (base + size - page, page, PROT_NONE) == 0);
    s_maps[slot].base = base;
    s_maps[slot].size = size;
    char *p = base + size - page - len;
    if (len)
        memcpy (p, data, len);
    return p;
}

//  --- helpers --------------------------------------------------------------

#define S_CAP 128

typedef struct {
    ptrdiff_t rc;
    baton_http_request_t req;
    baton_http_error_t err;
    baton_header_t headers[S_CAP];
    const char *buf; //  where the input was parsed
} s_result_t;

//  Parses raw all at once under limits (NULL: defaults) with a header array
//  of cap entries.
static s_result_t *
s_parse_cap (const char *raw, size_t len, const baton_http_limits_t *limits, size_t cap)
{
    static s_result_t results[4];
    static unsigned next;
    s_result_t *r = &results[next++ % 4];
    memset (r, 0, sizeof *r);
    baton_http_parser_t parser;
    baton_http_parser_init (&parser, limits);
    r->buf = s_guarded (raw, len);
    r->rc = baton_http_parser_parse (&parser, r->buf, len, &r->req, r->headers, cap, &r->err);
    return r;
}

static s_result_t *
s_parse (const char *raw, size_t len, const baton_http_limits_t *limits)
{
    return s_parse_cap (raw, len, limits, S_CAP);
}

//  Asserts that raw is rejected with this status and reason.
static void
s_rejects (const char *raw, size_t len, int status, const char *reason)
{
    s_result_t *r = s_parse (raw, len, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR, "accepted or incomplete (rc %td): %.*s", r->rc,
                  (int) len, raw);
    cr_assert_eq (r->err.status, status, "status %d (%s), wanted %d for: %.*s", r->err.status,
                  r->err.reason, status, (int) len, raw);
    cr_assert_str_eq (r->err.reason, reason, "for: %.*s", (int) len, raw);
}

//  Asserts that raw is one complete, accepted head and returns the result.
static s_result_t *
s_accepts (const char *raw, size_t len)
{
    s_result_t *r = s_parse (raw, len, NULL);
    cr_assert_eq (r->rc, (ptrdiff_t) len, "rc %td (status %d, %s) for: %.*s", r->rc, r->err.status,
                  r->err.reason ? r->err.reason : "-", (int) len, raw);
    return r;
}

static bool
s_slice_is (baton_slice_t s, const char *text)
{
    return s.len == strlen (text) && memcmp (s.ptr, text, s.len) == 0;
}

#define HOST "Host: example.com\r\n"

//  --- L: lines ----------------------------------------------------------------

Test (http_parser, accepts_minimal_request)
{
    s_result_t *r = s_accepts (R ("GET /index.html?a=1 HTTP/1.1\r\n" HOST "\r\n"));
    cr_assert (s_slice_is (r->req.method, "GET"));
    cr_assert (s_slice_is (r->req.target, "/index.html?a=1"));
    cr_assert_eq (r->req.form, BATON_HTTP_FORM_ORIGIN);
    cr_assert_eq (r->req.minor_version, 1);
    cr_assert_eq (r->req.header_count, 1);
    cr_assert (s_slice_is (r->req.headers[0].name, "Host"));
    cr_assert (s_slice_is (r->req.headers[0].value, "example.com"));
    cr_assert (s_slice_is (r->req.host, "example.com"));
    cr_assert_eq (r->req.body, BATON_HTTP_BODY_NONE);
    cr_assert (r->req.keep_alive);
    cr_assert_not (r->req.expect_continue);
    //  Zero-copy: slices point into the input.
    cr_assert_eq (r->req.method.ptr, r->buf);
    cr_assert_eq (r->req.target.ptr, r->buf + 4);
}

Test (http_parser, rejects_bare_lf_ending_request_line)
{
    s_rejects (R ("GET / HTTP/1.1\n" HOST "\r\n"), 400, "bare LF");
}

Test (http_parser, rejects_bare_lf_ending_field_line)
{
    s_rejects (R ("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400, "bare LF");
}

Test (http_parser, rejects_bare_lf_ending_head)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "\n"), 400, "bare LF");
}

Test (http_parser, rejects_bare_cr_after_request_line)
{
    s_rejects (R ("GET / HTTP/1.1\r" HOST "\r\n"), 400, "bare CR");
}

Test (http_parser, rejects_bare_cr_in_field_value)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "X: a\rb\r\n\r\n"), 400, "bare CR");
}

Test (http_parser, rejects_bare_cr_ending_head)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "\rX"), 400, "bare CR");
}

Test (http_parser, skips_one_leading_empty_line)
{
    s_result_t *r = s_accepts (R ("\r\nGET / HTTP/1.1\r\n" HOST "\r\n"));
    cr_assert (s_slice_is (r->req.method, "GET"));
}

Test (http_parser, rejects_two_leading_empty_lines)
{
    s_rejects (R ("\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n"), 400,
               "more than one empty line before the request-line");
}

Test (http_parser, rejects_leading_bare_lf)
{
    s_rejects (R ("\nGET / HTTP/1.1\r\n" HOST "\r\n"), 400, "bare LF");
    s_rejects (R ("\r\n\nGET / HTTP/1.1\r\n" HOST "\r\n"), 400, "bare LF");
}

//  --- R: request-line --------------------------------------------------------

Test (http_parser, rejects_two_spaces_after_method)
{
    s_rejects (R ("GET  / HTTP/1.1\r\n" HOST "\r\n"), 400, "more than one space after the method");
}

Test (http_parser, rejects_two_spaces_before_version)
{
    s_rejects (R ("GET /  HTTP/1.1\r\n" HOST "\r\n"), 400,
               "more than one space before the HTTP version");
}

Test (http_parser, rejects_space_after_version)
{
    s_rejects (R ("GET / HTTP/1.1 \r\n" HOST "\r\n"), 400, "space after the HTTP version");
    s_rejects (R ("GET / HTTP/1.1 x\r\n" HOST "\r\n"), 400, "space after the HTTP version");
}

Test (http_parser, rejects_whitespace_before_method)
{
    s_rejects (R (" GET / HTTP/1.1\r\n" HOST "\r\n"), 400, "whitespace before the method");
    s_rejects (R ("\tGET / HTTP/1.1\r\n" HOST "\r\n"), 400, "whitespace before the method");
}

Test (http_parser, rejects_tab_as_separator)
{
    s_rejects (R ("GET\t/ HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid character in method");
    s_rejects (R ("GET /\tHTTP/1.1\r\n" HOST "\r\n"), 400, "invalid character in request-target");
}

Test (http_parser, rejects_request_line_without_version)
{
    s_rejects (R ("GET /\r\n" HOST "\r\n"), 400, "request-line without an HTTP version");
    s_rejects (R ("GET\r\n" HOST "\r\n"), 400, "request-line without a target");
}

Test (http_parser, rejects_method_that_is_not_a_token)
{
    s_rejects (R ("GE(T / HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid character in method");
    s_rejects (R ("G\x01T / HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid character in method");
}

Test (http_parser, accepts_every_implemented_method)
{
    const char *methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char raw[128];
        int n = snprintf (raw, sizeof raw, "%s / HTTP/1.1\r\n" HOST "\r\n", methods[i]);
        s_result_t *r = s_accepts (raw, (size_t) n);
        cr_assert (s_slice_is (r->req.method, methods[i]));
    }
}

Test (http_parser, answers_501_to_unknown_method)
{
    s_rejects (R ("PROPFIND / HTTP/1.1\r\n" HOST "\r\n"), 501, "method not implemented");
    s_rejects (R ("BREW / HTTP/1.1\r\n" HOST "\r\n"), 501, "method not implemented");
}

Test (http_parser, methods_are_case_sensitive)
{
    s_rejects (R ("get / HTTP/1.1\r\n" HOST "\r\n"), 501, "method not implemented");
}

Test (http_parser, answers_501_to_connect)
{
    s_rejects (R ("CONNECT example.com:443 HTTP/1.1\r\n" HOST "\r\n"), 501,
               "CONNECT not supported");
}

//  RFC 3986/9112: VCHAR except "#" (our definition, written independently of
//  the parser's table).
static bool
s_target_byte (int c)
{
    return c >= 0x21 && c <= 0x7e && c != '#';
}

Test (http_parser, request_target_bytes_are_vchar_except_hash)
{
    for (int c = 0; c < 256; c++) {
        char raw[64];
        int n = snprintf (raw, sizeof raw, "GET /a%cb HTTP/1.1\r\n" HOST "\r\n", 'X');
        raw[6] = (char) c;
        s_result_t *r = s_parse (raw, (size_t) n, NULL);
        if (s_target_byte (c))
            cr_assert_eq (r->rc, n, "byte 0x%02x rejected: %s", c, r->err.reason);
        else {
            cr_assert_eq (r->rc, BATON_HTTP_ERROR, "byte 0x%02x accepted", c);
            cr_assert_eq (r->err.status, 400);
        }
    }
}

Test (http_parser, rejects_fragment_in_target)
{
    s_rejects (R ("GET /a#frag HTTP/1.1\r\n" HOST "\r\n"), 400,
               "invalid character in request-target");
}

Test (http_parser, rejects_nul_in_target)
{
    s_rejects (R ("GET /a\0b HTTP/1.1\r\n" HOST "\r\n"), 400,
               "invalid character in request-target");
}

Test (http_parser, accepts_absolute_form)
{
    s_result_t *r = s_accepts (R ("GET http://example.com:8080/a?b HTTP/1.1\r\n" HOST "\r\n"));
    cr_assert_eq (r->req.form, BATON_HTTP_FORM_ABSOLUTE);
    cr_assert (s_slice_is (r->req.target, "http://example.com:8080/a?b"));
    s_accepts (R ("GET HTTPS://example.com HTTP/1.1\r\n" HOST "\r\n"));
    s_accepts (R ("GET http://[::1]:80?q HTTP/1.1\r\n" HOST "\r\n"));
}

Test (http_parser, rejects_bad_absolute_form)
{
    s_rejects (R ("GET http://user@example.com/ HTTP/1.1\r\n" HOST "\r\n"), 400,
               "invalid request-target");
    s_rejects (R ("GET ftp://example.com/ HTTP/1.1\r\n" HOST "\r\n"), 400,
               "invalid request-target");
    s_rejects (R ("GET http:///a HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid request-target");
    s_rejects (R ("GET http://a:99999/ HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid request-target");
    s_rejects (R ("GET example.com:80 HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid request-target");
    s_rejects (R ("GET a/b HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid request-target");
}

Test (http_parser, accepts_asterisk_form_for_options)
{
    s_result_t *r = s_accepts (R ("OPTIONS * HTTP/1.1\r\n" HOST "\r\n"));
    cr_assert_eq (r->req.form, BATON_HTTP_FORM_ASTERISK);
}

Test (http_parser, rejects_asterisk_form_outside_options)
{
    s_rejects (R ("GET * HTTP/1.1\r\n" HOST "\r\n"), 400, "asterisk-form outside OPTIONS");
    s_rejects (R ("OPTIONS *a HTTP/1.1\r\n" HOST "\r\n"), 400, "invalid request-target");
}

Test (http_parser, accepts_http10)
{
    s_result_t *r = s_accepts (R ("GET / HTTP/1.0\r\n\r\n"));
    cr_assert_eq (r->req.minor_version, 0);
}

Test (http_parser, answers_505_to_other_http_versions)
{
    s_rejects (R ("GET / HTTP/2.0\r\n" HOST "\r\n"), 505, "unsupported HTTP version");
    s_rejects (R ("GET / HTTP/1.2\r\n" HOST "\r\n"), 505, "unsupported HTTP version");
    s_rejects (R ("GET / HTTP/0.9\r\n" HOST "\r\n"), 505, "unsupported HTTP version");
}

Test (http_parser, rejects_garbage_version)
{
    s_rejects (R ("GET / http/1.1\r\n" HOST "\r\n"), 400, "invalid HTTP version");
    s_rejects (R ("GET / HTTP/1.10\r\n" HOST "\r\n"), 400, "invalid HTTP version");
    s_rejects (R ("GET / HTTP/1\r\n" HOST "\r\n"), 400, "invalid HTTP version");
    s_rejects (R ("GET / HTTX/1.1\r\n" HOST "\r\n"), 400, "invalid HTTP version");
    s_rejects (R ("GET / HTTP/1.1\x01\r\n" HOST "\r\n"), 400, "invalid character in HTTP version");
}

static char s_big[70000];

//  Builds "GET /aaaa... HTTP/1.1" whose request-line is line_len bytes long.
static size_t
s_long_request_line (size_t line_len)
{
    const char *tail = " HTTP/1.1\r\n" HOST "\r\n";
    size_t path = line_len - strlen ("GET ") - strlen (" HTTP/1.1");
    memcpy (s_big, "GET /", 5);
    memset (s_big + 5, 'a', path - 1);
    strcpy (s_big + 4 + path, tail);
    return strlen (s_big);
}

Test (http_parser, answers_414_to_request_line_over_limit)
{
    size_t n = s_long_request_line (8192);
    s_result_t *r = s_parse (s_big, n, NULL);
    cr_assert_eq (r->rc, (ptrdiff_t) n, "8192-byte request-line refused: %s", r->err.reason);
    n = s_long_request_line (8193);
    r = s_parse (s_big, n, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 414);
    cr_assert_eq (r->err.offset, 8192);
}

Test (http_parser, answers_414_before_request_line_ends)
{
    //  8193 bytes, no CR LF yet: no need to wait for the rest.
    memset (s_big, 'a', 9000);
    memcpy (s_big, "GET /", 5);
    s_result_t *r = s_parse (s_big, 8192, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_NEED_MORE);
    r = s_parse (s_big, 8193, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 414);
}

Test (http_parser, request_line_limit_is_configurable)
{
    baton_http_limits_t limits = {.max_request_line = 16};
    s_result_t *r = s_parse (R ("GET /0123 HTTP/1.1\r\n" HOST "\r\n"), &limits);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 414);
    r = s_parse (R ("GET /01 HTTP/1.1\r\n" HOST "\r\n"), &limits);
    cr_assert_gt (r->rc, 0);
}

//  --- F: field lines ------------------------------------------------------------

Test (http_parser, rejects_space_before_colon)
{
    s_rejects (R ("GET / HTTP/1.1\r\nHost : example.com\r\n\r\n"), 400,
               "whitespace between field name and colon");
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "Content-Length\t: 0\r\n\r\n"), 400,
               "whitespace between field name and colon");
}

Test (http_parser, rejects_empty_field_name)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST ": x\r\n\r\n"), 400, "empty field name");
}

Test (http_parser, rejects_field_line_without_colon)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "NoColon\r\n\r\n"), 400, "field line without a colon");
}

static bool
s_tchar (int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr ("!#$%&'*+-.^_`|~", c));
}

Test (http_parser, field_name_bytes_are_tchar)
{
    for (int c = 0; c < 256; c++) {
        char raw[64];
        int n = snprintf (raw, sizeof raw, "GET / HTTP/1.1\r\n" HOST "XaY: v\r\n\r\n");
        raw[16 + strlen (HOST) + 1] = (char) c;
        s_result_t *r = s_parse (raw, (size_t) n, NULL);
        //  ":" ends the name early ("X:" with value "Y: v"): still valid.
        if (s_tchar (c) || c == ':')
            cr_assert_eq (r->rc, n, "byte 0x%02x rejected: %s", c, r->err.reason);
        else {
            cr_assert_eq (r->rc, BATON_HTTP_ERROR, "byte 0x%02x accepted", c);
            cr_assert_eq (r->err.status, 400);
        }
    }
}

Test (http_parser, rejects_obs_fold)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n"), 400, "obs-fold");
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n"), 400, "obs-fold");
}

Test (http_parser, rejects_whitespace_before_first_field)
{
    s_rejects (R ("GET / HTTP/1.1\r\n " HOST "\r\n"), 400, "whitespace before a field line");
}

//  field-vchar / obs-text / SP / HTAB, as RFC 9110 section 5.5 defines them.
static bool
s_value_byte (int c)
{
    return (c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t';
}

Test (http_parser, field_value_bytes_follow_rfc_classes)
{
    for (int c = 0; c < 256; c++) {
        char raw[64];
        int n = snprintf (raw, sizeof raw, "GET / HTTP/1.1\r\n" HOST "X: aZb\r\n\r\n");
        raw[16 + strlen (HOST) + 4] = (char) c;
        s_result_t *r = s_parse (raw, (size_t) n, NULL);
        if (s_value_byte (c))
            cr_assert_eq (r->rc, n, "byte 0x%02x rejected: %s", c, r->err.reason);
        else {
            cr_assert_eq (r->rc, BATON_HTTP_ERROR, "byte 0x%02x accepted", c);
            cr_assert_eq (r->err.status, 400);
        }
    }
}

Test (http_parser, rejects_nul_in_field_value)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "X: a\0b\r\n\r\n"), 400, "NUL in field value");
}

Test (http_parser, rejects_del_in_field_value)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n"), 400,
               "invalid character in field value");
}

Test (http_parser, trims_ows_and_keeps_inner_whitespace)
{
    s_result_t *r = s_accepts (R ("GET / HTTP/1.1\r\n" HOST "X: \t a \t b \t \r\nEmpty:\r\n"
                                  "Blank:   \r\nObs: caf\xc3\xa9\r\n\r\n"));
    cr_assert_eq (r->req.header_count, 5);
    cr_assert (s_slice_is (r->req.headers[1].name, "X"));
    cr_assert (s_slice_is (r->req.headers[1].value, "a \t b"));
    cr_assert (s_slice_is (r->req.headers[2].value, ""));
    cr_assert (s_slice_is (r->req.headers[3].value, ""));
    cr_assert (s_slice_is (r->req.headers[4].value, "caf\xc3\xa9"));
}

Test (http_parser, keeps_field_order_and_duplicates)
{
    s_result_t *r =
        s_accepts (R ("GET / HTTP/1.1\r\nA: 1\r\n" HOST "a: 2\r\nB: 3\r\nA: 4\r\n\r\n"));
    const char *names[] = {"A", "Host", "a", "B", "A"};
    const char *values[] = {"1", "example.com", "2", "3", "4"};
    cr_assert_eq (r->req.header_count, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert (s_slice_is (r->req.headers[i].name, names[i]));
        cr_assert (s_slice_is (r->req.headers[i].value, values[i]));
    }
}

//  A head with n field lines (Host first) of the given value size.
static size_t
s_many_fields (size_t n, size_t value_len)
{
    size_t len = (size_t) sprintf (s_big, "GET / HTTP/1.1\r\n" HOST);
    for (size_t i = 1; i < n; i++) {
        len += (size_t) sprintf (s_big + len, "X-%zu: ", i);
        memset (s_big + len, 'v', value_len);
        len += value_len;
        len += (size_t) sprintf (s_big + len, "\r\n");
    }
    len += (size_t) sprintf (s_big + len, "\r\n");
    return len;
}

Test (http_parser, answers_431_to_more_than_100_fields)
{
    size_t n = s_many_fields (100, 1);
    s_result_t *r = s_parse (s_big, n, NULL);
    cr_assert_eq (r->rc, (ptrdiff_t) n);
    cr_assert_eq (r->req.header_count, 100);
    n = s_many_fields (101, 1);
    r = s_parse (s_big, n, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 431);
    cr_assert_str_eq (r->err.reason, "too many field lines");
}

Test (http_parser, header_array_size_lowers_field_limit)
{
    size_t n = s_many_fields (5, 1);
    s_result_t *r = s_parse_cap (s_big, n, NULL, 5);
    cr_assert_eq (r->rc, (ptrdiff_t) n);
    r = s_parse_cap (s_big, n, NULL, 4);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 431);
}

Test (http_parser, answers_431_to_field_section_over_16k)
{
    //  Field section = everything after the request-line: exactly 16384 bytes pass.
    size_t rl = strlen ("GET / HTTP/1.1\r\n");
    size_t n = s_many_fields (2, 100);
    size_t fill = 16384 - (n - rl);
    n = s_many_fields (2, 100 + fill);
    cr_assert_eq (n - rl, 16384);
    s_result_t *r = s_parse (s_big, n, NULL);
    cr_assert_eq (r->rc, (ptrdiff_t) n, "16384-byte field section refused: %s", r->err.reason);
    n = s_many_fields (2, 101 + fill);
    r = s_parse (s_big, n, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 431);
    cr_assert_str_eq (r->err.reason, "field section too large");
    cr_assert_eq (r->err.offset, rl + 16384);
}

Test (http_parser, answers_431_before_field_section_ends)
{
    size_t len = (size_t) sprintf (s_big, "GET / HTTP/1.1\r\n" HOST "X: ");
    memset (s_big + len, 'v', 20000);
    size_t at_limit = strlen ("GET / HTTP/1.1\r\n") + 16384;
    s_result_t *r = s_parse (s_big, at_limit, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_NEED_MORE);
    r = s_parse (s_big, at_limit + 1, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 431);
}

//  --- H: Host, Content-Length, Transfer-Encoding, Connection, Expect -------------

Test (http_parser, rejects_missing_host_in_http11)
{
    s_rejects (R ("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400, "missing Host");
}

Test (http_parser, accepts_http10_without_host)
{
    s_result_t *r = s_accepts (R ("GET / HTTP/1.0\r\n\r\n"));
    cr_assert_eq (r->req.host.len, 0);
    cr_assert_not_null (r->req.host.ptr);
}

Test (http_parser, rejects_duplicate_host)
{
    s_rejects (R ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400, "duplicate Host");
    s_rejects (R ("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n"), 400, "duplicate Host");
    s_rejects (R ("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "duplicate Host");
}

Test (http_parser, rejects_invalid_host_values)
{
    const char *bad[] = {"",        "a b",    "a/b",  "user@a", "a:",    "a:123456",
                         "a:70000", "a:8x",   "[::1", "[]",     "[::g]", "a,b",
                         "a%20b",   "[::1]x", ":80",  "a:80:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[128];
        int n = snprintf (raw, sizeof raw, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        s_rejects (raw, (size_t) n, 400, "invalid Host");
    }
}

Test (http_parser, accepts_valid_host_values)
{
    const char *good[] = {"a",
                          "example.com",
                          "ex-ample.co_m~",
                          "a:1",
                          "a:65535",
                          "10.0.0.1:80",
                          "[::1]",
                          "[2001:db8::1]:443",
                          "[::ffff:1.2.3.4]",
                          "localhost:08080"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char raw[128];
        int n = snprintf (raw, sizeof raw, "GET / HTTP/1.1\r\nHost:  %s \r\n\r\n", good[i]);
        s_result_t *r = s_accepts (raw, (size_t) n);
        cr_assert (s_slice_is (r->req.host, good[i]), "host %s", good[i]);
    }
}

Test (http_parser, host_name_bytes_are_alnum_and_four_marks)
{
    for (int c = 0; c < 256; c++) {
        char raw[64];
        int n = snprintf (raw, sizeof raw, "GET / HTTP/1.1\r\nHost: aZb\r\n\r\n");
        raw[23] = (char) c;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c != 0 && strchr ("-._~", c));
        s_result_t *r = s_parse (raw, (size_t) n, NULL);
        if (ok)
            cr_assert_eq (r->rc, n, "byte 0x%02x rejected: %s", c, r->err.reason);
        else
            cr_assert_eq (r->rc, BATON_HTTP_ERROR, "byte 0x%02x accepted", c);
    }
}

Test (http_parser, parses_content_length)
{
    s_result_t *r = s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 0042\r\n\r\n"));
    cr_assert_eq (r->req.body, BATON_HTTP_BODY_LENGTH);
    cr_assert_eq (r->req.content_length, 42);
    r = s_accepts (R ("POST / HTTP/1.1\r\n" HOST "content-length:0\r\n\r\n"));
    cr_assert_eq (r->req.body, BATON_HTTP_BODY_LENGTH);
    cr_assert_eq (r->req.content_length, 0);
}

Test (http_parser, rejects_duplicate_content_length)
{
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400,
               "duplicate Content-Length");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\ncontent-length: 6\r\n\r\n"), 400,
               "duplicate Content-Length");
}

Test (http_parser, rejects_content_length_that_is_not_digits)
{
    const char *bad[] = {"", "5, 5", "+5", "-1", "0x10", "5 5", "5;", "1e3", "\"5\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[128];
        int n = snprintf (raw, sizeof raw, "POST / HTTP/1.1\r\n" HOST "Content-Length: %s\r\n\r\n",
                          bad[i]);
        s_rejects (raw, (size_t) n, 400, "invalid Content-Length");
    }
}

Test (http_parser, rejects_content_length_overflow)
{
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551616\r\n\r\n"), 400,
               "Content-Length overflow");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999999\r\n\r\n"),
               400, "Content-Length overflow");
    //  2^64-1 is representable: too large for the body limit, not malformed.
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551615\r\n\r\n"), 413,
               "Content-Length above the body limit");
}

Test (http_parser, answers_413_to_content_length_over_limit_before_body)
{
    s_result_t *r = s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 1048576\r\n\r\n"));
    cr_assert_eq (r->req.content_length, 1048576);
    //  No body byte has arrived: the head alone decides.
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 1048577\r\n\r\n"), 413,
               "Content-Length above the body limit");
    baton_http_limits_t limits = {.max_body = 10};
    r = s_parse (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 11\r\n\r\n"), &limits);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 413);
}

Test (http_parser, accepts_chunked_case_insensitively)
{
    s_result_t *r = s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"));
    cr_assert_eq (r->req.body, BATON_HTTP_BODY_CHUNKED);
    r = s_accepts (R ("POST / HTTP/1.1\r\n" HOST "transfer-encoding:  ChUnKeD \r\n\r\n"));
    cr_assert_eq (r->req.body, BATON_HTTP_BODY_CHUNKED);
}

Test (http_parser, answers_501_to_other_transfer_codings)
{
    const char *unsupported[] = {"gzip",     "chunked, gzip",     "gzip, chunked",
                                 "identity", "chunked;q=1",       "x-custom",
                                 "chunked,", "chunked , chunked", "gzip;a=\"b,c\""};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        char raw[128];
        int n =
            snprintf (raw, sizeof raw, "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: %s\r\n\r\n",
                      unsupported[i]);
        s_rejects (raw, (size_t) n, 501, "unsupported Transfer-Encoding");
    }
}

Test (http_parser, rejects_malformed_transfer_encoding)
{
    const char *bad[] = {"",         "\"chunked\"", "chunked;",   "chunked;a", "chunked;a=",
                         "chun ked", "chunked/1",   "gzip;a=\"b", ","};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[128];
        int n = snprintf (raw, sizeof raw,
                          "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: %s\r\n\r\n", bad[i]);
        s_rejects (raw, (size_t) n, 400, "invalid Transfer-Encoding");
    }
}

Test (http_parser, rejects_transfer_encoding_in_http10)
{
    s_rejects (R ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400,
               "Transfer-Encoding in HTTP/1.0");
}

Test (http_parser, rejects_duplicate_transfer_encoding)
{
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST
                  "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
               400, "duplicate Transfer-Encoding");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST
                  "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
               400, "duplicate Transfer-Encoding");
}

Test (http_parser, rejects_htab_in_framing_fields)
{
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\t\r\n\r\n"), 400,
               "HTAB in Content-Length");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Content-Length:\t5\r\n\r\n"), 400,
               "HTAB in Content-Length");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\t\r\n\r\n"), 400,
               "HTAB in Transfer-Encoding");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\tgzip\r\n\r\n"), 400,
               "HTAB in Transfer-Encoding");
    //  SP is fine, and HTAB is ordinary OWS in other fields.
    s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Content-Length:  5  \r\nX:\tv\t\r\n\r\n"));
}

Test (http_parser, rejects_content_length_with_transfer_encoding)
{
    s_rejects (
        R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
        400, "Content-Length with Transfer-Encoding");
    s_rejects (
        R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
        400, "Content-Length with Transfer-Encoding");
    //  The conflict wins over the 501 a lone "gzip" would get and over 413.
    s_rejects (
        R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\nContent-Length: 9999999\r\n\r\n"),
        400, "Content-Length with Transfer-Encoding");
}

Test (http_parser, http11_keeps_alive_unless_close)
{
    cr_assert (s_accepts (R ("GET / HTTP/1.1\r\n" HOST "\r\n"))->req.keep_alive);
    cr_assert_not (
        s_accepts (R ("GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n"))->req.keep_alive);
    cr_assert_not (s_accepts (R ("GET / HTTP/1.1\r\n" HOST "Connection: Upgrade, CLOSE\r\n\r\n"))
                       ->req.keep_alive);
    cr_assert (
        s_accepts (R ("GET / HTTP/1.1\r\n" HOST "Connection: keep-alive\r\n\r\n"))->req.keep_alive);
    cr_assert_not (s_accepts (R ("GET / HTTP/1.1\r\n" HOST "Connection: keep-alive\r\n"
                                 "Connection: close\r\n\r\n"))
                       ->req.keep_alive);
}

Test (http_parser, http10_keeps_alive_only_with_keep_alive)
{
    cr_assert_not (s_accepts (R ("GET / HTTP/1.0\r\n\r\n"))->req.keep_alive);
    cr_assert (s_accepts (R ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))->req.keep_alive);
    cr_assert_not (
        s_accepts (R ("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"))->req.keep_alive);
}

Test (http_parser, closes_after_upgrade_request)
{
    cr_assert_not (s_accepts (R ("GET / HTTP/1.1\r\n" HOST "Connection: Upgrade\r\n"
                                 "Upgrade: websocket\r\n\r\n"))
                       ->req.keep_alive);
    cr_assert_not (
        s_accepts (R ("GET / HTTP/1.1\r\n" HOST "upgrade: h2c\r\n\r\n"))->req.keep_alive);
    cr_assert_not (s_accepts (R ("GET / HTTP/1.0\r\nConnection: keep-alive\r\nUpgrade: x\r\n\r\n"))
                       ->req.keep_alive);
    //  A different field that merely starts the same way.
    cr_assert (s_accepts (R ("GET / HTTP/1.1\r\n" HOST "Upgrade-Insecure-Requests: 1\r\n\r\n"))
                   ->req.keep_alive);
}

Test (http_parser, rejects_malformed_connection)
{
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "Connection: clo se\r\n\r\n"), 400,
               "invalid Connection");
    s_rejects (R ("GET / HTTP/1.1\r\n" HOST "Connection: close;x\r\n\r\n"), 400,
               "invalid Connection");
}

Test (http_parser, flags_expect_100_continue)
{
    s_result_t *r = s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 3\r\n"
                                  "Expect: 100-Continue\r\n\r\n"));
    cr_assert (r->req.expect_continue);
    cr_assert_not (s_accepts (R ("POST / HTTP/1.1\r\n" HOST "\r\n"))->req.expect_continue);
}

Test (http_parser, answers_417_to_other_expectations)
{
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Expect: 200-ok\r\n\r\n"), 417,
               "unsupported expectation");
    s_rejects (R ("POST / HTTP/1.1\r\n" HOST "Expect: 100-continue, x\r\n\r\n"), 417,
               "unsupported expectation");
}

Test (http_parser, ignores_expect_in_http10)
{
    s_result_t *r = s_accepts (R ("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"));
    cr_assert_not (r->req.expect_continue);
    s_accepts (R ("POST / HTTP/1.0\r\nExpect: whatever\r\n\r\n"));
}

//  --- B: body framing --------------------------------------------------------

Test (http_parser, frames_body_by_rfc9112_section_6_3)
{
    cr_assert_eq (s_accepts (R ("POST / HTTP/1.1\r\n" HOST "\r\n"))->req.body,
                  BATON_HTTP_BODY_NONE);
    cr_assert_eq (s_accepts (R ("POST / HTTP/1.0\r\n\r\n"))->req.body, BATON_HTTP_BODY_NONE);
    cr_assert_eq (s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 1\r\n\r\n"))->req.body,
                  BATON_HTTP_BODY_LENGTH);
    cr_assert_eq (
        s_accepts (R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"))->req.body,
        BATON_HTTP_BODY_CHUNKED);
}

//  --- errors ------------------------------------------------------------------

Test (http_parser, errors_are_sticky_and_report_offset)
{
    baton_http_parser_t p;
    baton_http_parser_init (&p, NULL);
    baton_http_request_t req;
    baton_header_t headers[8];
    baton_http_error_t err = {0};
    const char *raw = s_guarded (R ("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n"));
    size_t len = strlen ("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n");
    cr_assert_eq (baton_http_parser_parse (&p, raw, len, &req, headers, 8, &err), BATON_HTTP_ERROR);
    cr_assert_eq (err.status, 400);
    cr_assert_eq (err.offset, 28);
    memset (&err, 0, sizeof err);
    cr_assert_eq (baton_http_parser_parse (&p, raw, len, &req, headers, 8, &err), BATON_HTTP_ERROR);
    cr_assert_eq (err.status, 400);
    cr_assert_eq (err.offset, 28);
    cr_assert_not_null (err.reason);
    cr_assert_eq (baton_http_parser_parse (&p, raw, len, &req, headers, 8, NULL), BATON_HTTP_ERROR);
}

Test (http_parser, first_error_in_byte_order_wins)
{
    //  The bad byte comes before the missing Host is known.
    s_rejects (R ("GET / HTTP/1.1\r\nX: \x01\r\n\r\n"), 400, "invalid character in field value");
    //  Duplicate CL is found at its line, before the 413 of the head's end.
    s_rejects (
        R ("POST / HTTP/1.1\r\n" HOST "Content-Length: 9999999\r\nContent-Length: 9999999\r\n\r\n"),
        400, "duplicate Content-Length");
}

//  --- incremental feeding ---------------------------------------------------------

//  Feeds raw one more byte per call, each prefix in a fresh guarded copy (so
//  the buffer moves between calls, as the API allows), and checks the result
//  equals parsing it whole.
static void
s_check_bytewise (const char *raw, size_t len)
{
    s_result_t *whole = s_parse (raw, len, NULL);
    baton_http_parser_t p;
    baton_http_parser_init (&p, NULL);
    baton_http_request_t req;
    baton_header_t headers[S_CAP];
    baton_http_error_t err = {0};
    ptrdiff_t rc = BATON_HTTP_NEED_MORE;
    size_t k;
    const char *buf = NULL;
    for (k = 0; k <= len && rc == BATON_HTTP_NEED_MORE; k++) {
        buf = s_guarded (raw, k);
        rc = baton_http_parser_parse (&p, buf, k, &req, headers, S_CAP, &err);
    }
    cr_assert_eq (rc, whole->rc, "bytewise rc %td, whole rc %td for: %.*s", rc, whole->rc,
                  (int) len, raw);
    if (rc == BATON_HTTP_ERROR) {
        cr_assert_eq (err.status, whole->err.status);
        cr_assert_str_eq (err.reason, whole->err.reason);
        cr_assert_eq (err.offset, whole->err.offset);
        //  Found at the byte that proves it, not later.
        cr_assert_leq (err.offset, k - 1);
    } else if (rc > 0) {
        //  Same fields at the same offsets (each buffer is a fresh copy).
        cr_assert_eq ((ptrdiff_t) k - 1, rc, "completed at %zu, head is %td", k - 1, rc);
        const char *wb = whole->buf;
        baton_http_request_t *w = &whole->req;
#define S_SAME(a, b) (a.len == b.len && a.ptr - buf == b.ptr - wb)
        cr_assert (S_SAME (req.method, w->method));
        cr_assert (S_SAME (req.target, w->target));
        cr_assert (S_SAME (req.host, w->host));
        cr_assert_eq (req.header_count, w->header_count);
        for (size_t i = 0; i < req.header_count; i++) {
            cr_assert (S_SAME (headers[i].name, whole->headers[i].name));
            cr_assert (S_SAME (headers[i].value, whole->headers[i].value));
        }
#undef S_SAME
        cr_assert_eq (req.body, w->body);
        cr_assert_eq (req.content_length, w->content_length);
        cr_assert_eq (req.keep_alive, w->keep_alive);
        cr_assert_eq (req.expect_continue, w->expect_continue);
        cr_assert_eq (req.minor_version, w->minor_version);
        cr_assert_eq (req.form, w->form);
    }
}

Test (http_parser, byte_by_byte_matches_whole_input)
{
    static const struct {
        const char *raw;
        size_t len;
    } inputs[] = {
        {R ("GET /a?b=c HTTP/1.1\r\n" HOST "Accept: */*\r\nX:  v  \r\n\r\n")},
        {R ("\r\nPOST /p HTTP/1.1\r\n" HOST "Content-Length: 12\r\nExpect: 100-continue\r\n\r\n")},
        {R ("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")},
        {R ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")},
        {R ("OPTIONS * HTTP/1.1\r\n" HOST "\r\n")},
        {R ("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n")},
        {R ("GET / HTTP/1.1\r\n" HOST "Content-Length: 1\r\nContent-Length: 1\r\n\r\n")},
        {R ("GET / HTTP/2.0\r\n" HOST "\r\n")},
        {R ("GET / HTTP/1.1\r\nX: 1\r\n\r\n")},
        {R ("GET / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n")},
        {R ("GET / HTTP/1.1\r\n" HOST "Bad Name: 1\r\n\r\n")},
        {R ("GET / HTTP/1.1\r\n" HOST "X: \0\r\n\r\n")},
        {R ("GET /\n")},
        {R ("GET / HTTP/1.1\r\n" HOST "Content-Length: 2000000\r\n\r\n")},
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        s_check_bytewise (inputs[i].raw, inputs[i].len);
}

Test (http_parser, byte_by_byte_matches_for_limits)
{
    s_check_bytewise (s_big, s_long_request_line (8193));
    s_check_bytewise (s_big, s_many_fields (101, 1));
}

Test (http_parser, needs_more_for_every_proper_prefix)
{
    const char raw[] = "POST / HTTP/1.1\r\n" HOST "Content-Length: 3\r\n\r\n";
    for (size_t k = 0; k < sizeof raw - 1; k++) {
        s_result_t *r = s_parse (raw, k, NULL);
        cr_assert_eq (r->rc, BATON_HTTP_NEED_MORE, "prefix %zu: rc %td", k, r->rc);
    }
}

//  --- pipelining ------------------------------------------------------------------

Test (http_parser, parses_pipelined_requests_and_bodies)
{
    const char raw[] = "POST /one HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello"
                       "POST /two HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n0\r\n\r\n"
                       "\r\nGET /three HTTP/1.1\r\n" HOST "\r\n"
                       "GET /four HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n";
    const char *buf = s_guarded (raw, sizeof raw - 1);
    size_t len = sizeof raw - 1, off = 0;
    baton_http_parser_t p;
    baton_http_parser_init (&p, NULL);
    baton_http_request_t req;
    baton_header_t headers[8];
    baton_http_error_t err;

    ptrdiff_t n = baton_http_parser_parse (&p, buf + off, len - off, &req, headers, 8, &err);
    cr_assert_gt (n, 0);
    cr_assert (s_slice_is (req.target, "/one"));
    cr_assert_eq (req.body, BATON_HTTP_BODY_LENGTH);
    off += (size_t) n;
    cr_assert_eq (memcmp (buf + off, "hello", 5), 0);
    off += req.content_length;

    n = baton_http_parser_parse (&p, buf + off, len - off, &req, headers, 8, &err);
    cr_assert_gt (n, 0);
    cr_assert (s_slice_is (req.target, "/two"));
    cr_assert_eq (req.body, BATON_HTTP_BODY_CHUNKED);
    off += (size_t) n;
    baton_http_chunked_t ch;
    baton_http_chunked_init (&ch, NULL);
    char body[16];
    size_t body_len = 0;
    while (!baton_http_chunked_done (&ch)) {
        baton_slice_t data;
        n = baton_http_chunked_decode (&ch, buf + off, len - off, &data, &err);
        cr_assert_geq (n, 0);
        cr_assert (n > 0 || baton_http_chunked_done (&ch));
        memcpy (body + body_len, data.ptr, data.len);
        body_len += data.len;
        off += (size_t) n;
    }
    cr_assert_eq (body_len, 3);
    cr_assert_eq (memcmp (body, "abc", 3), 0);

    n = baton_http_parser_parse (&p, buf + off, len - off, &req, headers, 8, &err);
    cr_assert_gt (n, 0);
    cr_assert (s_slice_is (req.target, "/three"));
    cr_assert (req.keep_alive);
    off += (size_t) n;

    n = baton_http_parser_parse (&p, buf + off, len - off, &req, headers, 8, &err);
    cr_assert_eq (n, (ptrdiff_t) (len - off));
    cr_assert (s_slice_is (req.target, "/four"));
    cr_assert_not (req.keep_alive);
}

//  --- chunked body ---------------------------------------------------------------

typedef struct {
    ptrdiff_t rc; //  bytes consumed in total, or BATON_HTTP_ERROR
    bool done;
    baton_http_error_t err;
    char body[4096];
    size_t body_len;
} s_chunked_result_t;

//  Decodes raw, handing it to the decoder in pieces of at most step bytes,
//  each piece in its own guarded copy.
static s_chunked_result_t *
s_decode_steps (const char *raw, size_t len, size_t step, const baton_http_limits_t *limits)
{
    static s_chunked_result_t r;
    memset (&r, 0, sizeof r);
    baton_http_chunked_t ch;
    baton_http_chunked_init (&ch, limits);
    size_t off = 0;
    while (!baton_http_chunked_done (&ch)) {
        size_t piece = len - off < step ? len - off : step;
        const char *buf = s_guarded (raw + off, piece);
        size_t used = 0;
        for (;;) {
            baton_slice_t data;
            ptrdiff_t n = baton_http_chunked_decode (&ch, buf + used, piece - used, &data, &r.err);
            if (n == BATON_HTTP_ERROR) {
                r.rc = BATON_HTTP_ERROR;
                return &r;
            }
            cr_assert_geq (n, 0);
            cr_assert_leq (data.len, (size_t) n);
            if (data.len) {
                cr_assert (data.ptr >= buf + used &&
                           data.ptr + data.len <= buf + used + (size_t) n);
                cr_assert_lt (r.body_len + data.len, sizeof r.body);
                memcpy (r.body + r.body_len, data.ptr, data.len);
                r.body_len += data.len;
            }
            used += (size_t) n;
            if (used == piece || baton_http_chunked_done (&ch))
                break;
        }
        off += used;
        if (!baton_http_chunked_done (&ch) && off == len)
            break; //  out of input
    }
    r.done = baton_http_chunked_done (&ch);
    r.rc = (ptrdiff_t) off;
    return &r;
}

static s_chunked_result_t *
s_decode (const char *raw, size_t len)
{
    return s_decode_steps (raw, len, len ? len : 1, NULL);
}

static void
s_chunked_rejects (const char *raw, size_t len, int status, const char *reason)
{
    s_chunked_result_t *r = s_decode (raw, len);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR, "accepted: %.*s", (int) len, raw);
    cr_assert_eq (r->err.status, status, "status %d (%s) for %.*s", r->err.status, r->err.reason,
                  (int) len, raw);
    cr_assert_str_eq (r->err.reason, reason);
}

Test (http_chunked, decodes_body_split_at_every_byte)
{
    const char raw[] = "5\r\nhello\r\n1;ext=val;flag;q=\"a\\\"b;c\"\r\n,\r\n00A\r\n0123456789\r\n"
                       "0\r\nTrailer-A: x\r\nB:\r\n\r\nNEXT";
    size_t len = sizeof raw - 1;
    for (size_t step = 1; step <= len; step++) {
        s_chunked_result_t *r = s_decode_steps (raw, len, step, NULL);
        cr_assert (r->done, "step %zu: not done (%s)", step, r->err.reason);
        cr_assert_eq (r->rc, (ptrdiff_t) (len - 4), "step %zu", step);
        cr_assert_eq (r->body_len, 16);
        cr_assert_eq (memcmp (r->body, "hello,0123456789", 16), 0);
    }
}

Test (http_chunked, needs_more_until_final_crlf)
{
    const char raw[] = "3\r\nabc\r\n0\r\n\r\n";
    for (size_t k = 0; k < sizeof raw - 1; k++) {
        s_chunked_result_t *r = s_decode_steps (raw, k, 1, NULL);
        cr_assert_neq (r->rc, BATON_HTTP_ERROR, "prefix %zu rejected", k);
        cr_assert_not (r->done, "prefix %zu done", k);
    }
    cr_assert (s_decode (R ("3\r\nabc\r\n0\r\n\r\n"))->done);
}

Test (http_chunked, returns_zero_after_done)
{
    baton_http_chunked_t ch;
    baton_http_chunked_init (&ch, NULL);
    baton_slice_t data;
    const char *buf = s_guarded (R ("0\r\n\r\nGET"));
    cr_assert_eq (baton_http_chunked_decode (&ch, buf, 8, &data, NULL), 5);
    cr_assert (baton_http_chunked_done (&ch));
    cr_assert_eq (baton_http_chunked_decode (&ch, buf + 5, 3, &data, NULL), 0);
    cr_assert_eq (data.len, 0);
}

Test (http_chunked, rejects_whitespace_in_chunk_size_line)
{
    s_chunked_rejects (R ("5 \r\nhello\r\n0\r\n\r\n"), 400, "invalid character in chunk size");
    s_chunked_rejects (R ("5\t\r\nhello\r\n0\r\n\r\n"), 400, "invalid character in chunk size");
    s_chunked_rejects (R (" 5\r\nhello\r\n0\r\n\r\n"), 400, "invalid chunk size");
    s_chunked_rejects (R ("5 ;a\r\nhello\r\n0\r\n\r\n"), 400, "invalid character in chunk size");
    s_chunked_rejects (R ("5; a\r\nhello\r\n0\r\n\r\n"), 400, "invalid chunk extension");
}

Test (http_chunked, rejects_chunk_size_that_is_not_hex)
{
    s_chunked_rejects (R ("g\r\n"), 400, "invalid chunk size");
    s_chunked_rejects (R ("\r\n"), 400, "invalid chunk size");
    s_chunked_rejects (R ("-1\r\n"), 400, "invalid chunk size");
    s_chunked_rejects (R ("0x5\r\nhello\r\n0\r\n\r\n"), 400, "invalid character in chunk size");
    s_chunked_rejects (R ("5g\r\nhello\r\n0\r\n\r\n"), 400, "invalid character in chunk size");
}

Test (http_chunked, chunk_size_bytes_are_hexdig)
{
    for (int c = 0; c < 256; c++) {
        //  "1?" then as many data bytes as a hex "?" would announce (16 to 31).
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        size_t size = hex ? 16 + (size_t) (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10) : 16;
        char raw[64] = "1Z\r\n";
        raw[1] = (char) c;
        memset (raw + 4, 'd', size);
        memcpy (raw + 4 + size, "\r\n0\r\n\r\n", 7);
        s_chunked_result_t *r = s_decode (raw, 4 + size + 7);
        if (hex) {
            cr_assert (r->done, "byte 0x%02x rejected: %s", c, r->err.reason);
            cr_assert_eq (r->body_len, size);
        } else if (c != ';' && c != '\r')
            //  ";" starts an extension ("1;d..." then fails later); CR ends the line.
            cr_assert_eq (r->rc, BATON_HTTP_ERROR, "byte 0x%02x accepted", c);
        else
            cr_assert_not (r->done);
    }
}

Test (http_chunked, rejects_chunk_size_overflow)
{
    baton_http_limits_t limits = {.max_body = UINT64_MAX};
    s_chunked_result_t *r = s_decode_steps (R ("10000000000000000\r\n"), 64, &limits);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_str_eq (r->err.reason, "chunk size overflow");
    cr_assert_eq (r->err.status, 400);
}

Test (http_chunked, rejects_bare_lf_and_bare_cr_in_framing)
{
    s_chunked_rejects (R ("5\nhello\r\n0\r\n\r\n"), 400, "invalid character in chunk size");
    s_chunked_rejects (R ("5\rhello\r\n0\r\n\r\n"), 400, "bare CR in chunk-size line");
    s_chunked_rejects (R ("5\r\nhello\n0\r\n\r\n"), 400, "chunk data not followed by CRLF");
    s_chunked_rejects (R ("5\r\nhello\r0\r\n\r\n"), 400, "chunk data not followed by CRLF");
    s_chunked_rejects (R ("5\r\nhelloX\n0\r\n\r\n"), 400, "chunk data not followed by CRLF");
    s_chunked_rejects (R ("0\r\n\n"), 400, "bare LF");
    s_chunked_rejects (R ("0\r\n\rx"), 400, "bare CR");
}

Test (http_chunked, rejects_chunk_data_longer_than_declared)
{
    s_chunked_rejects (R ("3\r\nhello\r\n0\r\n\r\n"), 400, "chunk data not followed by CRLF");
}

static bool
s_qdtext (int c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

Test (http_chunked, validates_chunk_extensions)
{
    cr_assert (s_decode (R ("1;a\r\nx\r\n0;b=c;d=\"\"\r\n\r\n"))->done);
    s_chunked_rejects (R ("1;\r\nx\r\n0\r\n\r\n"), 400, "invalid chunk extension");
    s_chunked_rejects (R ("1;a=\r\nx\r\n0\r\n\r\n"), 400, "invalid chunk extension");
    s_chunked_rejects (R ("1;a=\"b\r\nx\r\n0\r\n\r\n"), 400, "invalid chunk extension");
    s_chunked_rejects (R ("1;a=\"b\"c\r\nx\r\n0\r\n\r\n"), 400, "invalid chunk extension");
    s_chunked_rejects (R ("1;a b\r\nx\r\n0\r\n\r\n"), 400, "invalid chunk extension");
    s_chunked_rejects (R ("1;a=b c\r\nx\r\n0\r\n\r\n"), 400, "invalid chunk extension");
    for (int c = 0; c < 256; c++) {
        //  Each byte as an extension name, token value and quoted value.
        char raw[3][32];
        int n[3];
        n[0] = snprintf (raw[0], sizeof raw[0], "1;aZb\r\nx\r\n0\r\n\r\n");
        raw[0][3] = (char) c;
        n[1] = snprintf (raw[1], sizeof raw[1], "1;a=bZc\r\nx\r\n0\r\n\r\n");
        raw[1][5] = (char) c;
        n[2] = snprintf (raw[2], sizeof raw[2], "1;a=\"bZc\"\r\nx\r\n0\r\n\r\n");
        raw[2][6] = (char) c;
        bool ok[3] = {s_tchar (c) || c == '=' || c == ';', s_tchar (c) || c == ';',
                      s_qdtext (c) || c == '\\'}; //  "\c" is a quoted-pair
        for (int k = 0; k < 3; k++) {
            s_chunked_result_t *r = s_decode (raw[k], (size_t) n[k]);
            if (ok[k])
                cr_assert (r->done, "form %d byte 0x%02x rejected: %s", k, c, r->err.reason);
            else
                cr_assert_eq (r->rc, BATON_HTTP_ERROR, "form %d byte 0x%02x accepted", k, c);
        }
    }
}

Test (http_chunked, rejects_chunk_size_line_over_limit)
{
    char raw[5000];
    memset (raw, '0', sizeof raw);
    raw[4095] = '1';
    memcpy (raw + 4096, "\r\nx\r\n0\r\n\r\n", 10);
    s_chunked_result_t *r = s_decode (raw, 4106);
    cr_assert (r->done, "4096-byte size line refused: %s", r->err.reason);
    cr_assert_eq (r->body_len, 1);
    memset (raw, '0', sizeof raw);
    r = s_decode (raw, 4097);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_str_eq (r->err.reason, "chunk-size line too long");
}

Test (http_chunked, answers_413_when_chunks_exceed_body_limit)
{
    baton_http_limits_t limits = {.max_body = 10};
    s_chunked_result_t *r =
        s_decode_steps (R ("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), 64, &limits);
    cr_assert (r->done);
    r = s_decode_steps (R ("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"), 64, &limits);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 413);
    //  Reported at the size line, before the data of that chunk is read.
    cr_assert_eq (r->err.offset, 12);
    s_chunked_rejects (R ("100001\r\n"), 413, "chunked body above the body limit");
}

Test (http_chunked, checks_and_discards_trailers)
{
    s_chunked_result_t *r = s_decode (R ("0\r\nA: 1\r\nB-c:  x y \r\n\r\n"));
    cr_assert (r->done);
    cr_assert_eq (r->body_len, 0);
    s_chunked_rejects (R ("0\r\nA: 1\r\n b\r\n\r\n"), 400, "obs-fold in trailer section");
    s_chunked_rejects (R ("0\r\nA : 1\r\n\r\n"), 400, "whitespace between field name and colon");
    s_chunked_rejects (R ("0\r\nA\r\n\r\n"), 400, "invalid character in trailer name");
    s_chunked_rejects (R ("0\r\n: 1\r\n\r\n"), 400, "invalid character in trailer name");
    s_chunked_rejects (R ("0\r\nA: \0\r\n\r\n"), 400, "invalid character in trailer value");
    s_chunked_rejects (R ("0\r\nA: 1\n\r\n"), 400, "bare LF");
}

Test (http_chunked, rejects_framing_and_routing_trailers)
{
    s_chunked_rejects (R ("0\r\nContent-Length: 5\r\n\r\n"), 400,
                       "framing or routing field in trailer section");
    s_chunked_rejects (R ("0\r\nX: 1\r\ntransfer-ENCODING: chunked\r\n\r\n"), 400,
                       "framing or routing field in trailer section");
    s_chunked_rejects (R ("0\r\nHOST: a\r\n\r\n"), 400,
                       "framing or routing field in trailer section");
    //  Names that only share a prefix, or extend one, are ordinary.
    cr_assert (
        s_decode (R ("0\r\nHos: a\r\nHosts: b\r\nContent-Length2: 1\r\nContent: 2\r\n\r\n"))->done);
    //  The name is matched across calls, one byte at a time.
    s_chunked_result_t *r = s_decode_steps (R ("0\r\nContent-Length: 5\r\n\r\n"), 1, NULL);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_str_eq (r->err.reason, "framing or routing field in trailer section");
}

Test (http_chunked, answers_431_to_large_trailer_section)
{
    baton_http_limits_t limits = {.max_headers = 2, .max_header_bytes = 20};
    cr_assert (s_decode_steps (R ("0\r\nA: 1\r\nB: 2\r\n\r\n"), 64, &limits)->done);
    s_chunked_result_t *r = s_decode_steps (R ("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 64, &limits);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 431);
    r = s_decode_steps (R ("0\r\nA: 123456789012345\r\n\r\n"), 64, &limits);
    cr_assert_eq (r->rc, BATON_HTTP_ERROR);
    cr_assert_eq (r->err.status, 431);
}

Test (http_chunked, errors_are_sticky)
{
    baton_http_chunked_t ch;
    baton_http_chunked_init (&ch, NULL);
    baton_slice_t data;
    baton_http_error_t err = {0};
    const char *buf = s_guarded (R ("z"));
    cr_assert_eq (baton_http_chunked_decode (&ch, buf, 1, &data, &err), BATON_HTTP_ERROR);
    cr_assert_eq (err.status, 400);
    err.status = 0;
    buf = s_guarded (R ("0\r\n\r\n"));
    cr_assert_eq (baton_http_chunked_decode (&ch, buf, 5, &data, &err), BATON_HTTP_ERROR);
    cr_assert_eq (err.status, 400);
    cr_assert_not (baton_http_chunked_done (&ch));
}
