/*  http_parser.h - the gateway's strict HTTP/1.1 request parser (RFC 9112):
 *  request head and chunked body, allocation-free and zero-copy. Why Baton
 *  owns it: DESIGN.md, "HTTP: why Baton owns its request parser".
 *
 *  Two incremental state machines, each a plain struct the caller embeds:
 *    baton_http_parser_t   the request head (request-line + field lines);
 *    baton_http_chunked_t  a chunked body, one run of data at a time.
 *  Neither allocates, copies or writes to the input: results are slices of
 *  the caller's buffer. Each call scans only the bytes that are new since the
 *  previous one, so the work per head stays linear however it is split; a
 *  head fed one byte at a time gives the same result, at the same offset, as
 *  the whole head at once.
 *  Every error carries the status to answer and a short static reason; the
 *  gateway answers it and closes the connection.
 *
 *  The rules, all enforced, none relaxable (RFC 9112 unless said otherwise):
 *
 *  Lines
 *  L1  Every line ends in CR LF. A bare LF or a CR not followed by LF -> 400.
 *  L2  One empty line (CR LF) before the request-line is skipped (the SHOULD
 *      of RFC 9112 section 2.2: old clients send CR LF after a POST body); a
 *      second one, or a bare LF there, -> 400.
 *
 *  Request-line: method SP request-target SP HTTP-version CR LF
 *  R1  Exactly one SP between the three parts; none before or after -> 400.
 *  R2  method is a token (RFC 9110 tchar); anything else -> 400. Methods are
 *      case-sensitive. Implemented: GET HEAD POST PUT DELETE OPTIONS TRACE
 *      PATCH. CONNECT (Baton is no tunnel) and any other token -> 501.
 *  R3  request-target bytes are VCHAR (0x21-0x7E) except "#" (a fragment is
 *      never part of a request-target). CTL, NUL, SP, DEL and bytes >= 0x80
 *      -> 400. Forms (req->form):
 *        origin-form    starts with "/";
 *        asterisk-form  exactly "*", only with OPTIONS;
 *        absolute-form  "http://" or "https://" (scheme case-insensitive),
 *                       then host [":" port] as in H1 (no userinfo, RFC 9110
 *                       section 4.2.4), then nothing, "/..." or "?...". The
 *                       gateway must take the authority from the target, not
 *                       from Host (RFC 9112 section 3.2.2); Host is still
 *                       required (H1);
 *        authority-form belongs to CONNECT, which is 501 (R2).
 *      Anything else -> 400.
 *  R4  HTTP-version is exactly "HTTP/1.1" or "HTTP/1.0". Any other
 *      "HTTP/" DIGIT "." DIGIT (2.0, 1.2, 0.9) -> 505 (stricter than RFC 9110
 *      section 2.5, which would read 1.2 as 1.1); anything else -> 400.
 *  R5  The request-line longer than limits.max_request_line bytes (CR LF not
 *      counted; default 8 KiB) -> 414, reported as soon as that many bytes
 *      arrived without the line ending.
 *
 *  Field lines: field-name ":" OWS field-value OWS CR LF
 *  F1  field-name is a token; empty -> 400; SP or HTAB between the name and
 *      the colon -> 400; a line without a colon -> 400.
 *  F2  A line starting with SP or HTAB (obs-fold, RFC 9112 section 5.2, or
 *      whitespace before the first field) -> 400.
 *  F3  field-value bytes are VCHAR, obs-text (0x80-0xFF), SP or HTAB. NUL,
 *      other CTLs and DEL -> 400. OWS around the value is not part of it.
 *  F4  The field section (from the first field line to the empty line, CR LF
 *      included) longer than limits.max_header_bytes (default 16 KiB), or
 *      more than limits.max_headers field lines (default 100; never more than
 *      the caller's array holds) -> 431, as soon as it is exceeded.
 *
 *  Fields the parser interprets (names case-insensitive)
 *  H1  Host: exactly one in HTTP/1.1 (none -> 400, two -> 400); optional in
 *      HTTP/1.0, but at most one. Its value is host [":" port] -> else 400:
 *      host is a DNS-style name (ALPHA DIGIT "-" "." "_" "~", at least one)
 *      or an IP literal "[" HEXDIG/":"/"." "]"; port is 1 to 5 digits, at
 *      most 65535. (Narrower than RFC 3986 reg-name: no sub-delims, no
 *      percent-encoding, no empty host - RFC 9110 section 4.2.1.)
 *  H2  Content-Length: 1*DIGIT (leading zeros allowed); empty, a list
 *      ("5, 5"), a sign or any other byte -> 400; above 2^64-1 -> 400. A
 *      second Content-Length line -> 400, even with an equal value.
 *      An HTAB anywhere in the line -> 400 (see H3).
 *  H3  Transfer-Encoding: only in HTTP/1.1 (in HTTP/1.0 -> 400); one line at
 *      most (a second -> 400); the value must be exactly "chunked"
 *      (case-insensitive). A well-formed list of other codings ("gzip",
 *      "chunked, gzip", "gzip, chunked", "identity") -> 501; a malformed one
 *      -> 400. An HTAB anywhere in the line -> 400: RFC 9110 allows it as
 *      OWS, llhttp refuses it after the value, no client sends it, and a
 *      framing value two parsers read differently is how requests get
 *      smuggled. Only SP may surround Content-Length and Transfer-Encoding.
 *  H4  Content-Length together with Transfer-Encoding, in any order -> 400.
 *  H5  Connection: a comma list of tokens (else 400). HTTP/1.1 keeps the
 *      connection alive unless "close" is listed; HTTP/1.0 only if
 *      "keep-alive" is listed and "close" is not (req->keep_alive).
 *  H6  Expect: in HTTP/1.1, every list member must be "100-continue"
 *      (case-insensitive; sets req->expect_continue), any other -> 417
 *      (RFC 9110 section 10.1.1). Ignored in HTTP/1.0 (same section).
 *  H7  Upgrade: any Upgrade field turns keep_alive off. Baton never switches
 *      protocols (it may ignore Upgrade, RFC 9110 section 7.8), but a proxy in
 *      front might think it did and pass raw bytes through: closing after the
 *      answer means no byte after such a request is ever read as HTTP/1.1
 *      (the h2c/WebSocket smuggling class).
 *  Other fields are returned as received, order and duplicates kept.
 *
 *  Body framing (RFC 9112 section 6.3, for requests)
 *  B1  Transfer-Encoding: chunked -> BATON_HTTP_BODY_CHUNKED; else
 *      Content-Length -> BATON_HTTP_BODY_LENGTH; else no body.
 *  B2  A Content-Length above limits.max_body (default 1 MiB) -> 413 when the
 *      head completes, before any body byte is read.
 *  When several errors are in one head, the one found first in byte order
 *  wins; semantic checks of a field line run at its CR LF, and the checks
 *  that need the whole head (missing Host, 501 for a coding, 413) at the end.
 *
 *  Chunked body (RFC 9112 section 7.1)
 *  C1  chunk-size is 1*HEXDIG, directly followed by ";" or CR LF: no
 *      whitespace anywhere in the line (no BWS: senders must not generate it
 *      and it is a known smuggling vector) -> else 400; above 2^64-1 -> 400.
 *  C2  chunk extensions: *( ";" token [ "=" ( token / quoted-string ) ] ),
 *      validated and ignored -> else 400. A chunk-size line longer than
 *      limits.max_chunk_line bytes (default 4 KiB, CR LF not counted) -> 400.
 *  C3  chunk data is followed by exactly CR LF -> else 400.
 *  C4  The sum of chunk sizes above limits.max_body -> 413, reported when the
 *      chunk-size line that crosses it is read, before its data.
 *  C5  After the last chunk ("0" line), trailer fields are checked like F1 to
 *      F4 (431 past the same limits) and then discarded; the body ends at the
 *      empty line. They never change how the message is framed: a
 *      Content-Length, Transfer-Encoding or Host trailer (fields RFC 9110
 *      section 6.5.1 keeps out of trailers) -> 400.
 */
#ifndef BATON_HTTP_PARSER_H
#define BATON_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "baton/envelope.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Return values besides "bytes consumed" (which is >= 0).
enum {
    BATON_HTTP_ERROR = -1,     //  the input is rejected; see the error result
    BATON_HTTP_NEED_MORE = -2, //  no error so far; call again with more bytes
};

//  Limits of one request. Zero in a field means "use the default".
typedef struct {
    size_t max_request_line; //  request-line bytes, CR LF excluded (8 KiB) -> 414
    size_t max_header_bytes; //  field section bytes, final CR LF included (16 KiB) -> 431
    size_t max_headers;      //  field lines (100) -> 431
    uint64_t max_body;       //  body bytes, declared or decoded (1 MiB) -> 413
    size_t max_chunk_line;   //  chunk-size line bytes, CR LF excluded (4 KiB) -> 400
} baton_http_limits_t;

//  Why a request was rejected.
typedef struct {
    int status;         //  400, 413, 414, 417, 431, 501 or 505 (500: API misuse)
    const char *reason; //  short static English text for the log, never NULL
    size_t offset;      //  where the problem was found, bytes from the input's start
} baton_http_error_t;

typedef enum {
    BATON_HTTP_FORM_ORIGIN = 0, //  "/path?query"
    BATON_HTTP_FORM_ABSOLUTE,   //  "http://host:port/path?query"
    BATON_HTTP_FORM_ASTERISK,   //  "*" (OPTIONS)
} baton_http_form_t;

typedef enum {
    BATON_HTTP_BODY_NONE = 0, //  the next request starts right after the head
    BATON_HTTP_BODY_LENGTH,   //  content_length bytes of body follow
    BATON_HTTP_BODY_CHUNKED,  //  a chunked body follows: baton_http_chunked_decode ()
} baton_http_body_t;

//  A parsed request head. Every slice points into the buffer given to
//  baton_http_parser_parse () and stays valid as long as those bytes do.
typedef struct {
    baton_slice_t method;
    baton_slice_t target;
    baton_http_form_t form;
    int minor_version;       //  1 for HTTP/1.1, 0 for HTTP/1.0
    baton_header_t *headers; //  the caller's array: header_count fields in
    size_t header_count;     //  order, duplicates kept, values without OWS
    baton_slice_t host;      //  the Host value; empty only in HTTP/1.0 without one
    baton_http_body_t body;
    uint64_t content_length; //  with BATON_HTTP_BODY_LENGTH, else 0
    bool keep_alive;         //  the connection may carry another request
    bool expect_continue;    //  "Expect: 100-continue" in HTTP/1.1
} baton_http_request_t;

//  State of the head parser. Embed it anywhere; its fields are private.
typedef struct {
    baton_http_limits_t limits;
    baton_http_error_t error;
    size_t pos, rl_start, method_end, target_start, target_end, version_start, version_end;
    size_t hdr_start, line_start, name_end, value_start, header_count;
    size_t host_start, host_end;
    uint64_t content_length;
    unsigned state, flags, host_count;
    int minor_version;
    baton_http_form_t form;
} baton_http_parser_t;

//  State of the chunked body decoder. Embed it anywhere; its fields are private.
typedef struct {
    baton_http_limits_t limits;
    baton_http_error_t error;
    uint64_t size, remaining, total;
    size_t offset, line_len, trailer_bytes, trailer_count, name_len;
    unsigned state, name_match;
} baton_http_chunked_t;

//  Returns the default limits (listed in baton_http_limits_t).
baton_http_limits_t baton_http_limits_default (void);

//  Prepares self to parse one request head under limits (NULL: defaults; a
//  zero field: its default). Call it once per connection: the parser readies
//  itself for the next head after each complete one.
void baton_http_parser_init (baton_http_parser_t *self, const baton_http_limits_t *limits);

//  Parses the head at the start of buf[0..len), the bytes of this request
//  received so far: on each call they must start with the same bytes as on
//  the previous call (the buffer may have moved); only the new bytes are
//  examined. headers holds header_cap entries (header_cap below
//  limits.max_headers lowers that limit).
//  Returns the length of the head (leading empty line included) once it is
//  complete and accepted: *req is filled, its slices point into buf, the body
//  (if any) starts at buf + that length, and self is ready for the next head,
//  whose first byte must then be the first byte of buf.
//  Returns BATON_HTTP_NEED_MORE if no error was found and the head is not
//  complete yet; BATON_HTTP_ERROR if the request is rejected: *err (if not
//  NULL) says why, and every later call returns the same until init.
ptrdiff_t baton_http_parser_parse (baton_http_parser_t *self, const char *buf, size_t len,
                                   baton_http_request_t *req, baton_header_t *headers,
                                   size_t header_cap, baton_http_error_t *err);

//  Prepares self to decode one chunked body under limits (NULL: defaults).
void baton_http_chunked_init (baton_http_chunked_t *self, const baton_http_limits_t *limits);

//  Decodes the next part of a chunked body from buf[0..len), the bytes that
//  follow the ones consumed by the previous calls. Returns how many bytes it
//  consumed (framing and at most one run of chunk data) and sets *data to
//  that run's bytes, a slice of buf (empty when the part had none). Call
//  again on the rest: it stops after each run of data, at the end of the
//  body (see baton_http_chunked_done ()), and when buf is used up (then
//  the next call takes the bytes that follow). The bytes after the end of the
//  body belong to the next request.
//  Returns BATON_HTTP_ERROR if the body is rejected: *err (if not NULL) says
//  why (offset counted from the body's first byte), and every later call
//  returns the same until init. Once the body is done, every call returns 0.
ptrdiff_t baton_http_chunked_decode (baton_http_chunked_t *self, const char *buf, size_t len,
                                     baton_slice_t *data, baton_http_error_t *err);

//  True once the last chunk, the trailer section and its final CR LF are
//  consumed.
bool baton_http_chunked_done (const baton_http_chunked_t *self);

#ifdef __cplusplus
}
#endif
#endif
