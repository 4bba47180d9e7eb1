/*  fuzz_http_parser.c - libFuzzer target for broker/http/parser.c. Treats the
 *  input as bytes on one connection: heads, bodies (Content-Length or
 *  chunked), pipelined requests. Besides memory errors it aborts when feeding
 *  the same bytes in two pieces gives another answer than feeding them whole,
 *  or when a result points outside the input.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http/parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_CAP      128
#define S_MESSAGES 8

static void
s_check_slice (baton_slice_t s, const char *buf, size_t len)
{
    if (s.ptr < buf || s.len > len || s.ptr > buf + len - s.len)
        abort ();
}

static bool
s_same_error (const baton_http_error_t *a, const baton_http_error_t *b)
{
    return a->status == b->status && a->offset == b->offset && strcmp (a->reason, b->reason) == 0;
}

#define S_SAME(a, b, pa, pb) ((a).len == (b).len && (a).ptr - (pa) == (b).ptr - (pb))

//  Parses one head whole and again in two pieces (cut at `cut`); both must
//  agree. Returns the head length or an error code.
static ptrdiff_t
s_head (const baton_http_limits_t *limits, const char *buf, size_t len, size_t cut,
        baton_http_request_t *req, baton_header_t *headers)
{
    baton_http_parser_t whole, split;
    baton_http_error_t err_w, err_s;
    baton_http_request_t req_s;
    static baton_header_t headers_s[S_CAP];
    baton_http_parser_init (&whole, limits);
    baton_http_parser_init (&split, limits);
    ptrdiff_t rc = baton_http_parser_parse (&whole, buf, len, req, headers, S_CAP, &err_w);
    if (cut > len)
        cut = len;
    ptrdiff_t rc_s = baton_http_parser_parse (&split, buf, cut, &req_s, headers_s, S_CAP, &err_s);
    if (rc_s == BATON_HTTP_NEED_MORE)
        rc_s = baton_http_parser_parse (&split, buf, len, &req_s, headers_s, S_CAP, &err_s);
    if (rc != rc_s)
        abort ();
    if (rc == BATON_HTTP_ERROR) {
        if (!s_same_error (&err_w, &err_s) || err_w.offset >= len || !err_w.reason)
            abort ();
        if (err_w.status != 400 && err_w.status != 413 && err_w.status != 414 &&
            err_w.status != 417 && err_w.status != 431 && err_w.status != 501 &&
            err_w.status != 505)
            abort ();
    }
    if (rc < 0)
        return rc;
    if ((size_t) rc > len || req->header_count > S_CAP)
        abort ();
    if (!S_SAME (req->method, req_s.method, buf, buf) ||
        !S_SAME (req->target, req_s.target, buf, buf) ||
        !S_SAME (req->host, req_s.host, buf, buf) || req->header_count != req_s.header_count ||
        req->body != req_s.body || req->content_length != req_s.content_length ||
        req->keep_alive != req_s.keep_alive || req->minor_version != req_s.minor_version)
        abort ();
    s_check_slice (req->method, buf, (size_t) rc);
    s_check_slice (req->target, buf, (size_t) rc);
    s_check_slice (req->host, buf, (size_t) rc);
    for (size_t i = 0; i < req->header_count; i++) {
        s_check_slice (headers[i].name, buf, (size_t) rc);
        s_check_slice (headers[i].value, buf, (size_t) rc);
        if (!S_SAME (headers[i].name, headers_s[i].name, buf, buf) ||
            !S_SAME (headers[i].value, headers_s[i].value, buf, buf))
            abort ();
    }
    if (req->minor_version != 0 && req->minor_version != 1)
        abort ();
    return rc;
}

//  Decodes a chunked body from buf[0..len) in pieces of at most step bytes.
//  Returns the bytes consumed (the body's length when done) or an error;
//  *sum and *total describe the data.
static ptrdiff_t
s_chunked (const baton_http_limits_t *limits, const char *buf, size_t len, size_t step, bool *done,
           uint64_t *sum, uint64_t *total, baton_http_error_t *err)
{
    baton_http_chunked_t ch;
    baton_http_chunked_init (&ch, limits);
    size_t off = 0;
    *sum = 1469598103934665603u;
    *total = 0;
    while (off < len && !baton_http_chunked_done (&ch)) {
        size_t piece = len - off < step ? len - off : step;
        baton_slice_t data;
        ptrdiff_t n = baton_http_chunked_decode (&ch, buf + off, piece, &data, err);
        if (n == BATON_HTTP_ERROR)
            return n;
        if (n < 0 || (size_t) n > piece || data.len > (size_t) n)
            abort ();
        if (data.len && (data.ptr < buf + off || data.ptr + data.len > buf + off + (size_t) n))
            abort ();
        for (size_t i = 0; i < data.len; i++)
            *sum = (*sum ^ (unsigned char) data.ptr[i]) * 1099511628211u;
        *total += data.len;
        if (n == 0 && !baton_http_chunked_done (&ch))
            abort (); //  no progress with input left
        off += (size_t) n;
    }
    *done = baton_http_chunked_done (&ch);
    return (ptrdiff_t) off;
}

static void
s_connection (const baton_http_limits_t *limits, const char *buf, size_t len, size_t cut)
{
    static baton_header_t headers[S_CAP];
    size_t off = 0;
    for (int m = 0; m < S_MESSAGES && off < len; m++) {
        baton_http_request_t req;
        ptrdiff_t n = s_head (limits, buf + off, len - off, cut, &req, headers);
        if (n < 0)
            return;
        off += (size_t) n;
        if (req.body == BATON_HTTP_BODY_LENGTH) {
            if (req.content_length > len - off)
                return;
            off += req.content_length;
        } else if (req.body == BATON_HTTP_BODY_CHUNKED) {
            bool done_a = false, done_b = false;
            uint64_t sum_a, sum_b, total_a, total_b;
            baton_http_error_t err_a, err_b;
            ptrdiff_t a =
                s_chunked (limits, buf + off, len - off, len, &done_a, &sum_a, &total_a, &err_a);
            ptrdiff_t b = s_chunked (limits, buf + off, len - off, cut % 7 + 1, &done_b, &sum_b,
                                     &total_b, &err_b);
            if (a != b || done_a != done_b)
                abort ();
            if (a == BATON_HTTP_ERROR) {
                if (!s_same_error (&err_a, &err_b))
                    abort ();
                return;
            }
            if (sum_a != sum_b || total_a != total_b)
                abort ();
            if (!done_a)
                return;
            off += (size_t) a;
        }
        if (!req.keep_alive)
            return;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *buf = (const char *) data;
    size_t cut = size ? (data[0] * 131u + size) % (size + 1) : 0;
    s_connection (NULL, buf, size, cut);
    //  Small limits reach every limit check with small inputs.
    baton_http_limits_t small = {.max_request_line = 40,
                                 .max_header_bytes = 120,
                                 .max_headers = 4,
                                 .max_body = 64,
                                 .max_chunk_line = 12};
    s_connection (&small, buf, size, cut);
    return 0;
}
