/*  http_parser.c - strict HTTP/1.1 request head parser and chunked body
 *  decoder. The rules it enforces are listed in http_parser.h.  */
#include "http/parser.h"

#include <assert.h>
#include <string.h>

#define S_KIB 1024u

//  Character classes, one bit each, RFC 9110/9112/3986 names.
#define C_TCHAR  0x01 //  tchar: field names, methods, tokens
#define C_TARGET 0x02 //  VCHAR except "#": request-target bytes
#define C_FIELD  0x04 //  field-vchar / obs-text / SP / HTAB: field-value bytes
#define C_HOST   0x08 //  ALPHA DIGIT "-" "." "_" "~": Host names (narrower than reg-name)
#define C_QDTEXT 0x10 //  qdtext: inside a quoted-string
#define C_HEX    0x20 //  HEXDIG

//  Every class is swept byte by byte against an independent definition in
//  tests/unit/test_http_parser.c (field names, values, targets, Host, chunk lines).
static const unsigned char s_class[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  20, 0,  0,  0,  0,  0,  0,  //  0x00
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  //  0x10
    20, 23, 6,  21, 23, 23, 23, 23, 22, 22, 23, 23, 22, 31, 31, 22, //  0x20
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 22, 22, 22, 22, 22, 22, //  0x30
    22, 63, 63, 63, 63, 63, 63, 31, 31, 31, 31, 31, 31, 31, 31, 31, //  0x40
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 22, 6,  22, 23, 31, //  0x50
    23, 63, 63, 63, 63, 63, 63, 31, 31, 31, 31, 31, 31, 31, 31, 31, //  0x60
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 22, 23, 22, 31, 0,  //  0x70
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0x80
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0x90
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0xA0
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0xB0
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0xC0
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0xD0
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0xE0
    20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, //  0xF0
};

static inline bool
s_is (unsigned char c, unsigned cls)
{
    return (s_class[c] & cls) != 0;
}

//  The first position from pos on whose byte is not of class cls, at most
//  the end of what has come (len) or the first byte past the limit of max
//  bytes from start (start <= pos <= len), whichever is nearer. The parser
//  runs through a token or a value so, then handles the byte that ended the
//  run (or the limit) with every check, as it would byte by byte.
static inline size_t
s_scan (const char *buf, size_t pos, size_t len, size_t start, size_t max, unsigned cls)
{
    size_t stop = max < len - start ? start + max : len;
    while (pos < stop && s_is ((unsigned char) buf[pos], cls))
        pos++;
    return pos;
}

static inline bool
s_is_ws (unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int
s_hexval (unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return (c | 0x20) - 'a' + 10;
}

//  ASCII case-insensitive equality of a slice and a lower-case literal.
static bool
s_ieq (const char *p, size_t n, const char *lit)
{
    size_t k = strlen (lit);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char) (c | 0x20);
        if (c != (unsigned char) lit[i])
            return false;
    }
    return true;
}

static bool
s_eq (const char *p, size_t n, const char *lit)
{
    return n == strlen (lit) && memcmp (p, lit, n) == 0;
}

baton_http_limits_t
baton_http_limits_default (void)
{
    baton_http_limits_t limits = {
        .max_request_line = 8 * S_KIB,
        .max_header_bytes = 16 * S_KIB,
        .max_headers = 100,
        .max_body = 1024 * S_KIB,
        .max_chunk_line = 4 * S_KIB,
    };
    return limits;
}

static baton_http_limits_t
s_limits (const baton_http_limits_t *given)
{
    baton_http_limits_t limits = baton_http_limits_default ();
    if (given) {
        if (given->max_request_line)
            limits.max_request_line = given->max_request_line;
        if (given->max_header_bytes)
            limits.max_header_bytes = given->max_header_bytes;
        if (given->max_headers)
            limits.max_headers = given->max_headers;
        if (given->max_body)
            limits.max_body = given->max_body;
        if (given->max_chunk_line)
            limits.max_chunk_line = given->max_chunk_line;
    }
    return limits;
}

//  --- value grammars shared by the checks below ------------------------------

//  host [":" port] as rule H1 of http_parser.h describes.
static bool
s_valid_authority (const char *p, size_t n)
{
    size_t i = 0;
    if (n > 0 && p[0] == '[') {
        for (i = 1; i < n && p[i] != ']'; i++)
            if (!s_is ((unsigned char) p[i], C_HEX) && p[i] != ':' && p[i] != '.')
                return false;
        if (i == n || i == 1)
            return false;
        i++; //  the "]"
    } else {
        while (i < n && s_is ((unsigned char) p[i], C_HOST))
            i++;
        if (i == 0)
            return false;
    }
    if (i == n)
        return true;
    if (p[i] != ':')
        return false;
    i++;
    size_t digits = n - i;
    if (digits < 1 || digits > 5)
        return false;
    unsigned long port = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        port = port * 10 + (unsigned long) (p[i] - '0');
    }
    return port <= 65535;
}

//  absolute-form as rule R3 allows it: http(s)://authority [ "/"... | "?"... ].
//  The rest of the target was already checked byte by byte (C_TARGET).
static bool
s_valid_absolute_form (const char *p, size_t n)
{
    size_t skip;
    if (n >= 7 && s_ieq (p, 7, "http://"))
        skip = 7;
    else if (n >= 8 && s_ieq (p, 8, "https://"))
        skip = 8;
    else
        return false;
    size_t end = skip;
    while (end < n && p[end] != '/' && p[end] != '?')
        end++;
    return s_valid_authority (p + skip, end - skip);
}

//  Walks a comma-separated list (RFC 9110 section 5.6.1): returns the next
//  non-empty element with OWS trimmed, or false at the end. Empty elements
//  are skipped, as recipients must.
static bool
s_list_next (const char **pp, const char *end, const char **elem, size_t *elem_len)
{
    const char *p = *pp;
    while (p < end) {
        const char *start = p;
        while (p < end && *p != ',')
            p++;
        const char *stop = p;
        if (p < end)
            p++; //  the ","
        while (start < stop && s_is_ws ((unsigned char) *start))
            start++;
        while (stop > start && s_is_ws ((unsigned char) stop[-1]))
            stop--;
        if (stop > start) {
            *pp = p;
            *elem = start;
            *elem_len = (size_t) (stop - start);
            return true;
        }
    }
    *pp = p;
    return false;
}

static bool
s_all_tchar (const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s_is ((unsigned char) p[i], C_TCHAR))
            return false;
    return true;
}

//  Transfer-Encoding value = #transfer-coding;
//  transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ).
//  Quoted strings may hold commas, so this is a scanner, not a split.
static bool
s_valid_coding_list (const char *p, size_t n)
{
    size_t i = 0, codings = 0;
    for (;;) {
        while (i < n && (s_is_ws ((unsigned char) p[i]) || p[i] == ','))
            i++;
        if (i == n)
            return codings > 0;
        size_t start = i;
        while (i < n && s_is ((unsigned char) p[i], C_TCHAR))
            i++;
        if (i == start)
            return false;
        codings++;
        for (;;) {
            while (i < n && s_is_ws ((unsigned char) p[i]))
                i++;
            if (i == n || p[i] == ',')
                break;
            if (p[i] != ';')
                return false;
            i++;
            while (i < n && s_is_ws ((unsigned char) p[i]))
                i++;
            start = i;
            while (i < n && s_is ((unsigned char) p[i], C_TCHAR))
                i++;
            if (i == start)
                return false;
            while (i < n && s_is_ws ((unsigned char) p[i]))
                i++;
            if (i == n || p[i] != '=')
                return false;
            i++;
            while (i < n && s_is_ws ((unsigned char) p[i]))
                i++;
            if (i < n && p[i] == '"') {
                for (i++; i < n && p[i] != '"'; i++) {
                    if (p[i] == '\\') {
                        i++;
                        if (i == n || !s_is ((unsigned char) p[i], C_FIELD))
                            return false;
                    } else if (!s_is ((unsigned char) p[i], C_QDTEXT))
                        return false;
                }
                if (i == n)
                    return false;
                i++; //  the closing quote
            } else {
                start = i;
                while (i < n && s_is ((unsigned char) p[i], C_TCHAR))
                    i++;
                if (i == start)
                    return false;
            }
        }
    }
}

//  --- head parser ----------------------------------------------------------

enum {
    P_START,        //  first byte of a message: an optional empty line, or the method
    P_LEAD_LF,      //  after the CR of the one allowed leading empty line
    P_METHOD_START, //  after that empty line
    P_METHOD,
    P_TARGET_START,
    P_TARGET,
    P_VERSION,
    P_RL_LF,
    P_LINE_START, //  start of a field line or of the final empty line
    P_NAME,
    P_VALUE,
    P_VALUE_LF,
    P_END_LF,
    P_ERROR,
};

#define F_CL              0x01 //  Content-Length seen
#define F_TE              0x02 //  Transfer-Encoding seen
#define F_TE_CHUNKED      0x04 //  ... and it is exactly "chunked"
#define F_CLOSE           0x08 //  Connection: close
#define F_KEEP_ALIVE      0x10 //  Connection: keep-alive
#define F_EXPECT_CONTINUE 0x20
#define F_UPGRADE         0x40 //  an Upgrade field: the connection ends after this request

static void
s_reset (baton_http_parser_t *self)
{
    baton_http_limits_t limits = self->limits;
    memset (self, 0, sizeof *self);
    self->limits = limits;
    self->state = P_START;
}

void
baton_http_parser_init (baton_http_parser_t *self, const baton_http_limits_t *limits)
{
    assert (self);
    self->limits = s_limits (limits);
    s_reset (self);
}

//  Records the error and returns BATON_HTTP_ERROR.
static ptrdiff_t
s_fail (baton_http_parser_t *self, int status, const char *reason, size_t offset,
        baton_http_error_t *err)
{
    self->state = P_ERROR;
    self->error.status = status;
    self->error.reason = reason;
    self->error.offset = offset;
    if (err)
        *err = self->error;
    return BATON_HTTP_ERROR;
}

//  The checks of a complete request-line (rules R2 to R4). Returns 0 or the
//  status, with *reason set.
static int
s_check_request_line (baton_http_parser_t *self, const char *buf, const char **reason)
{
    const char *version = buf + self->version_start;
    size_t version_len = self->version_end - self->version_start;
    if (s_eq (version, version_len, "HTTP/1.1"))
        self->minor_version = 1;
    else if (s_eq (version, version_len, "HTTP/1.0"))
        self->minor_version = 0;
    else if (version_len == 8 && memcmp (version, "HTTP/", 5) == 0 && version[5] >= '0' &&
             version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9') {
        *reason = "unsupported HTTP version";
        return 505;
    } else {
        *reason = "invalid HTTP version";
        return 400;
    }

    const char *method = buf + self->rl_start;
    size_t method_len = self->method_end - self->rl_start;
    static const char *const implemented[] = {"GET",    "HEAD",    "POST",  "PUT",
                                              "DELETE", "OPTIONS", "TRACE", "PATCH"};
    bool known = false;
    for (size_t i = 0; i < sizeof implemented / sizeof implemented[0]; i++)
        if (s_eq (method, method_len, implemented[i]))
            known = true;
    if (!known) {
        *reason = s_eq (method, method_len, "CONNECT") ? "CONNECT not supported"
                                                       : "method not implemented";
        return 501;
    }

    const char *target = buf + self->target_start;
    size_t target_len = self->target_end - self->target_start;
    if (target[0] == '/')
        self->form = BATON_HTTP_FORM_ORIGIN;
    else if (s_eq (target, target_len, "*")) {
        if (!s_eq (method, method_len, "OPTIONS")) {
            *reason = "asterisk-form outside OPTIONS";
            return 400;
        }
        self->form = BATON_HTTP_FORM_ASTERISK;
    } else if (s_valid_absolute_form (target, target_len))
        self->form = BATON_HTTP_FORM_ABSOLUTE;
    else {
        *reason = "invalid request-target";
        return 400;
    }
    return 0;
}

//  The checks of one complete field line (rules H1 to H6). Returns 0 or the
//  status, with *reason set.
static int
s_check_field (baton_http_parser_t *self, const char *buf, const char **reason)
{
    const char *name = buf + self->line_start;
    size_t name_len = self->name_end - self->line_start;
    const char *value = buf + self->value_start;
    const char *value_end = buf + self->pos - 1; //  the CR
    while (value < value_end && s_is_ws ((unsigned char) *value))
        value++;
    while (value_end > value && s_is_ws ((unsigned char) value_end[-1]))
        value_end--;
    size_t value_len = (size_t) (value_end - value);

    //  Framing fields get SP as their only whitespace: llhttp refuses an HTAB
    //  after their values, and a value two parsers read differently is how
    //  requests get smuggled.
    bool has_htab =
        memchr (buf + self->value_start, '\t', self->pos - 1 - self->value_start) != NULL;

    switch (name_len) {
    case 4:
        if (s_ieq (name, name_len, "host")) {
            if (++self->host_count > 1) {
                *reason = "duplicate Host";
                return 400;
            }
            if (!s_valid_authority (value, value_len)) {
                *reason = "invalid Host";
                return 400;
            }
            self->host_start = (size_t) (value - buf);
            self->host_end = (size_t) (value_end - buf);
        }
        break;
    case 14:
        if (s_ieq (name, name_len, "content-length")) {
            if (self->flags & F_CL) {
                *reason = "duplicate Content-Length";
                return 400;
            }
            if (self->flags & F_TE) {
                *reason = "Content-Length with Transfer-Encoding";
                return 400;
            }
            if (has_htab) {
                *reason = "HTAB in Content-Length";
                return 400;
            }
            if (value_len == 0) {
                *reason = "invalid Content-Length";
                return 400;
            }
            uint64_t n = 0;
            for (size_t i = 0; i < value_len; i++) {
                unsigned char c = (unsigned char) value[i];
                if (c < '0' || c > '9') {
                    *reason = "invalid Content-Length";
                    return 400;
                }
                if (n > (UINT64_MAX - (c - '0')) / 10) {
                    *reason = "Content-Length overflow";
                    return 400;
                }
                n = n * 10 + (c - '0');
            }
            self->flags |= F_CL;
            self->content_length = n;
        }
        break;
    case 17:
        if (s_ieq (name, name_len, "transfer-encoding")) {
            if (self->minor_version == 0) {
                *reason = "Transfer-Encoding in HTTP/1.0";
                return 400;
            }
            if (self->flags & F_TE) {
                *reason = "duplicate Transfer-Encoding";
                return 400;
            }
            if (self->flags & F_CL) {
                *reason = "Content-Length with Transfer-Encoding";
                return 400;
            }
            if (has_htab) {
                *reason = "HTAB in Transfer-Encoding";
                return 400;
            }
            if (s_ieq (value, value_len, "chunked"))
                self->flags |= F_TE_CHUNKED;
            else if (!s_valid_coding_list (value, value_len)) {
                *reason = "invalid Transfer-Encoding";
                return 400;
            }
            self->flags |= F_TE;
        }
        break;
    case 10:
        if (s_ieq (name, name_len, "connection")) {
            const char *p = value, *elem;
            size_t elem_len;
            while (s_list_next (&p, value_end, &elem, &elem_len)) {
                if (!s_all_tchar (elem, elem_len)) {
                    *reason = "invalid Connection";
                    return 400;
                }
                if (s_ieq (elem, elem_len, "close"))
                    self->flags |= F_CLOSE;
                else if (s_ieq (elem, elem_len, "keep-alive"))
                    self->flags |= F_KEEP_ALIVE;
            }
        }
        break;
    case 7:
        if (s_ieq (name, name_len, "upgrade"))
            self->flags |= F_UPGRADE;
        break;
    case 6:
        if (s_ieq (name, name_len, "expect") && self->minor_version == 1) {
            const char *p = value, *elem;
            size_t elem_len;
            while (s_list_next (&p, value_end, &elem, &elem_len)) {
                if (!s_ieq (elem, elem_len, "100-continue")) {
                    *reason = "unsupported expectation";
                    return 417;
                }
                self->flags |= F_EXPECT_CONTINUE;
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

//  The checks that need the whole head (H1, H3, B2), then the result.
static ptrdiff_t
s_complete (baton_http_parser_t *self, const char *buf, baton_http_request_t *req,
            baton_header_t *headers, baton_http_error_t *err)
{
    size_t end = self->pos + 1;
    if (self->minor_version == 1 && self->host_count == 0)
        return s_fail (self, 400, "missing Host", self->pos, err);
    if ((self->flags & F_TE) && !(self->flags & F_TE_CHUNKED))
        return s_fail (self, 501, "unsupported Transfer-Encoding", self->pos, err);
    if ((self->flags & F_CL) && self->content_length > self->limits.max_body)
        return s_fail (self, 413, "Content-Length above the body limit", self->pos, err);

    memset (req, 0, sizeof *req);
    req->method.ptr = buf + self->rl_start;
    req->method.len = self->method_end - self->rl_start;
    req->target.ptr = buf + self->target_start;
    req->target.len = self->target_end - self->target_start;
    req->form = self->form;
    req->minor_version = self->minor_version;
    if (self->host_count) {
        req->host.ptr = buf + self->host_start;
        req->host.len = self->host_end - self->host_start;
    } else
        req->host.ptr = buf + self->pos; //  empty, but never NULL
    if (self->flags & F_TE_CHUNKED)
        req->body = BATON_HTTP_BODY_CHUNKED;
    else if (self->flags & F_CL) {
        req->body = BATON_HTTP_BODY_LENGTH;
        req->content_length = self->content_length;
    } else
        req->body = BATON_HTTP_BODY_NONE;
    if (self->flags & (F_CLOSE | F_UPGRADE))
        req->keep_alive = false;
    else
        req->keep_alive = self->minor_version == 1 || (self->flags & F_KEEP_ALIVE);
    req->expect_continue = (self->flags & F_EXPECT_CONTINUE) != 0;

    //  Field lines are re-read here rather than stored while parsing, so that
    //  the slices point into this call's buffer even if it moved between calls.
    //  They are known to be well-formed: name ":" value CR LF.
    req->headers = headers;
    req->header_count = self->header_count;
    const char *p = buf + self->hdr_start;
    for (size_t i = 0; i < self->header_count; i++) {
        const char *colon = memchr (p, ':', (size_t) (buf + end - p));
        const char *cr = memchr (colon, '\r', (size_t) (buf + end - colon));
        assert (colon && cr);
        const char *v = colon + 1, *v_end = cr;
        while (v < v_end && s_is_ws ((unsigned char) *v))
            v++;
        while (v_end > v && s_is_ws ((unsigned char) v_end[-1]))
            v_end--;
        headers[i].name.ptr = p;
        headers[i].name.len = (size_t) (colon - p);
        headers[i].value.ptr = v;
        headers[i].value.len = (size_t) (v_end - v);
        p = cr + 2;
    }
    s_reset (self);
    return (ptrdiff_t) end;
}

ptrdiff_t
baton_http_parser_parse (baton_http_parser_t *self, const char *buf, size_t len,
                         baton_http_request_t *req, baton_header_t *headers, size_t header_cap,
                         baton_http_error_t *err)
{
    assert (self && req && (headers || header_cap == 0));
    if (self->state == P_ERROR) {
        if (err)
            *err = self->error;
        return BATON_HTTP_ERROR;
    }
    assert (len >= self->pos);
    if (len < self->pos)
        return s_fail (self, 500, "parser misuse: input shorter than before", len, err);

    size_t max_fields =
        self->limits.max_headers < header_cap ? self->limits.max_headers : header_cap;
    const char *reason = NULL;
    int status;
    while (self->pos < len) {
        size_t pos = self->pos;
        unsigned char c = (unsigned char) buf[pos];

        //  Length limits first: a byte past them is an error whatever it is,
        //  so a peer cannot make us buffer more than the limits.
        if (self->state >= P_METHOD && self->state <= P_VERSION && c != '\r' && c != '\n' &&
            pos - self->rl_start >= self->limits.max_request_line)
            return s_fail (self, 414, "request-line too long", pos, err);
        if (self->state >= P_LINE_START && self->state <= P_END_LF &&
            pos - self->hdr_start >= self->limits.max_header_bytes)
            return s_fail (self, 431, "field section too large", pos, err);

        switch (self->state) {
        case P_START:
            if (c == '\r') {
                self->state = P_LEAD_LF;
                break;
            }
            self->state = P_METHOD_START;
            continue; //  same byte, next state
        case P_LEAD_LF:
            if (c != '\n')
                return s_fail (self, 400, "bare CR", pos, err);
            self->state = P_METHOD_START;
            break;
        case P_METHOD_START:
            if (c == '\r')
                return s_fail (self, 400, "more than one empty line before the request-line", pos,
                               err);
            if (c == '\n')
                return s_fail (self, 400, "bare LF", pos, err);
            if (c == ' ' || c == '\t')
                return s_fail (self, 400, "whitespace before the method", pos, err);
            self->rl_start = pos;
            self->state = P_METHOD;
            continue;
        case P_METHOD:
            if (s_is (c, C_TCHAR))
                break;
            if (c == ' ' && pos > self->rl_start) {
                self->method_end = pos;
                self->state = P_TARGET_START;
                break;
            }
            if (c == '\r' || c == '\n')
                return s_fail (self, 400, "request-line without a target", pos, err);
            return s_fail (self, 400, "invalid character in method", pos, err);
        case P_TARGET_START:
            if (c == ' ')
                return s_fail (self, 400, "more than one space after the method", pos, err);
            if (c == '\r' || c == '\n')
                return s_fail (self, 400, "request-line without a target", pos, err);
            if (!s_is (c, C_TARGET))
                return s_fail (self, 400, "invalid character in request-target", pos, err);
            self->target_start = pos;
            self->state = P_TARGET;
            break;
        case P_TARGET:
            if (s_is (c, C_TARGET)) {
                self->pos = s_scan (buf, pos + 1, len, self->rl_start,
                                    self->limits.max_request_line, C_TARGET);
                continue;
            }
            if (c == ' ') {
                self->target_end = pos;
                self->version_start = pos + 1;
                self->state = P_VERSION;
                break;
            }
            if (c == '\r' || c == '\n')
                return s_fail (self, 400, "request-line without an HTTP version", pos, err);
            return s_fail (self, 400, "invalid character in request-target", pos, err);
        case P_VERSION:
            if (c == '\r') {
                self->version_end = pos;
                self->state = P_RL_LF;
                break;
            }
            if (c == '\n')
                return s_fail (self, 400, "bare LF", pos, err);
            if (c == ' ')
                return s_fail (self, 400,
                               pos == self->version_start
                                   ? "more than one space before the HTTP version"
                                   : "space after the HTTP version",
                               pos, err);
            if (c < 0x21 || c > 0x7e)
                return s_fail (self, 400, "invalid character in HTTP version", pos, err);
            break;
        case P_RL_LF:
            if (c != '\n')
                return s_fail (self, 400, "bare CR", pos, err);
            if ((status = s_check_request_line (self, buf, &reason)))
                return s_fail (self, status, reason, self->rl_start, err);
            self->hdr_start = pos + 1;
            self->state = P_LINE_START;
            break;
        case P_LINE_START:
            if (c == '\r') {
                self->state = P_END_LF;
                break;
            }
            if (c == '\n')
                return s_fail (self, 400, "bare LF", pos, err);
            if (c == ' ' || c == '\t')
                return s_fail (self, 400,
                               self->header_count ? "obs-fold" : "whitespace before a field line",
                               pos, err);
            if (c == ':')
                return s_fail (self, 400, "empty field name", pos, err);
            if (!s_is (c, C_TCHAR))
                return s_fail (self, 400, "invalid character in field name", pos, err);
            if (self->header_count >= max_fields)
                return s_fail (self, 431, "too many field lines", pos, err);
            self->line_start = pos;
            self->state = P_NAME;
            break;
        case P_NAME:
            if (s_is (c, C_TCHAR)) {
                self->pos = s_scan (buf, pos + 1, len, self->hdr_start,
                                    self->limits.max_header_bytes, C_TCHAR);
                continue;
            }
            if (c == ':') {
                self->name_end = pos;
                self->value_start = pos + 1;
                self->state = P_VALUE;
                break;
            }
            if (c == ' ' || c == '\t')
                return s_fail (self, 400, "whitespace between field name and colon", pos, err);
            if (c == '\r' || c == '\n')
                return s_fail (self, 400, "field line without a colon", pos, err);
            return s_fail (self, 400, "invalid character in field name", pos, err);
        case P_VALUE:
            if (s_is (c, C_FIELD)) {
                self->pos = s_scan (buf, pos + 1, len, self->hdr_start,
                                    self->limits.max_header_bytes, C_FIELD);
                continue;
            }
            if (c == '\r') {
                self->state = P_VALUE_LF;
                break;
            }
            if (c == '\n')
                return s_fail (self, 400, "bare LF", pos, err);
            if (c == 0)
                return s_fail (self, 400, "NUL in field value", pos, err);
            return s_fail (self, 400, "invalid character in field value", pos, err);
        case P_VALUE_LF:
            if (c != '\n')
                return s_fail (self, 400, "bare CR", pos, err);
            if ((status = s_check_field (self, buf, &reason)))
                return s_fail (self, status, reason, self->line_start, err);
            self->header_count++;
            self->state = P_LINE_START;
            break;
        case P_END_LF:
            if (c != '\n')
                return s_fail (self, 400, "bare CR", pos, err);
            return s_complete (self, buf, req, headers, err);
        default:
            assert (!"unreachable parser state");
            return s_fail (self, 500, "parser state corrupt", pos, err);
        }
        self->pos++;
    }
    return BATON_HTTP_NEED_MORE;
}

//  --- chunked body decoder ---------------------------------------------------

enum {
    K_SIZE_START,
    K_SIZE,
    K_EXT_NAME_START,
    K_EXT_NAME,
    K_EXT_VALUE_START,
    K_EXT_VALUE_TOKEN,
    K_EXT_VALUE_QUOTED,
    K_EXT_VALUE_ESCAPE,
    K_EXT_VALUE_END,
    K_SIZE_LF,
    K_DATA,
    K_DATA_CR,
    K_DATA_LF,
    K_TRAILER_START,
    K_TRAILER_NAME,
    K_TRAILER_VALUE,
    K_TRAILER_LF,
    K_END_LF,
    K_DONE,
    K_ERROR,
};

void
baton_http_chunked_init (baton_http_chunked_t *self, const baton_http_limits_t *limits)
{
    assert (self);
    memset (self, 0, sizeof *self);
    self->limits = s_limits (limits);
    self->state = K_SIZE_START;
}

//  Trailer fields that must not appear (RFC 9110 section 6.5.1): framing and
//  routing. Matched as the name streams in: bit i stays set while the name is
//  a case-insensitive prefix of s_forbidden[i].
static const char *const s_forbidden[] = {"content-length", "transfer-encoding", "host"};
#define S_FORBIDDEN_ALL 0x7u

static void
s_match_forbidden (baton_http_chunked_t *self, unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        c = (unsigned char) (c | 0x20);
    for (unsigned i = 0; i < 3; i++)
        if ((self->name_match & (1u << i)) && (self->name_len >= strlen (s_forbidden[i]) ||
                                               (unsigned char) s_forbidden[i][self->name_len] != c))
            self->name_match &= ~(1u << i);
    self->name_len++;
}

static bool
s_forbidden_matched (const baton_http_chunked_t *self)
{
    for (unsigned i = 0; i < 3; i++)
        if ((self->name_match & (1u << i)) && self->name_len == strlen (s_forbidden[i]))
            return true;
    return false;
}

bool
baton_http_chunked_done (const baton_http_chunked_t *self)
{
    return self->state == K_DONE;
}

static ptrdiff_t
s_chunked_fail (baton_http_chunked_t *self, int status, const char *reason, size_t offset,
                baton_http_error_t *err)
{
    self->state = K_ERROR;
    self->error.status = status;
    self->error.reason = reason;
    self->error.offset = offset;
    if (err)
        *err = self->error;
    return BATON_HTTP_ERROR;
}

ptrdiff_t
baton_http_chunked_decode (baton_http_chunked_t *self, const char *buf, size_t len,
                           baton_slice_t *data, baton_http_error_t *err)
{
    assert (self && data && (buf || len == 0));
    data->ptr = buf;
    data->len = 0;
    if (self->state == K_ERROR) {
        if (err)
            *err = self->error;
        return BATON_HTTP_ERROR;
    }
    size_t i = 0;
    while (i < len && self->state != K_DONE) {
        if (self->state == K_DATA) {
            size_t run = len - i;
            if (run > self->remaining)
                run = (size_t) self->remaining;
            data->ptr = buf + i;
            data->len = run;
            self->remaining -= run;
            self->offset += run;
            if (self->remaining == 0)
                self->state = K_DATA_CR;
            return (ptrdiff_t) (i + run);
        }
        unsigned char c = (unsigned char) buf[i];
        size_t at = self->offset;
        if (self->state <= K_EXT_VALUE_END && c != '\r' &&
            ++self->line_len > self->limits.max_chunk_line)
            return s_chunked_fail (self, 400, "chunk-size line too long", at, err);
        if (self->state >= K_TRAILER_START && self->state <= K_END_LF &&
            ++self->trailer_bytes > self->limits.max_header_bytes)
            return s_chunked_fail (self, 431, "trailer section too large", at, err);

        switch (self->state) {
        case K_SIZE_START:
            if (!s_is (c, C_HEX))
                return s_chunked_fail (self, 400, "invalid chunk size", at, err);
            self->size = (uint64_t) s_hexval (c);
            self->state = K_SIZE;
            break;
        case K_SIZE:
            if (s_is (c, C_HEX)) {
                if (self->size > (UINT64_MAX >> 4))
                    return s_chunked_fail (self, 400, "chunk size overflow", at, err);
                self->size = (self->size << 4) | (uint64_t) s_hexval (c);
            } else if (c == ';')
                self->state = K_EXT_NAME_START;
            else if (c == '\r')
                self->state = K_SIZE_LF;
            else
                return s_chunked_fail (self, 400, "invalid character in chunk size", at, err);
            break;
        case K_EXT_NAME_START:
            if (!s_is (c, C_TCHAR))
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            self->state = K_EXT_NAME;
            break;
        case K_EXT_NAME:
            if (s_is (c, C_TCHAR))
                break;
            if (c == '=')
                self->state = K_EXT_VALUE_START;
            else if (c == ';')
                self->state = K_EXT_NAME_START;
            else if (c == '\r')
                self->state = K_SIZE_LF;
            else
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            break;
        case K_EXT_VALUE_START:
            if (c == '"')
                self->state = K_EXT_VALUE_QUOTED;
            else if (s_is (c, C_TCHAR))
                self->state = K_EXT_VALUE_TOKEN;
            else
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            break;
        case K_EXT_VALUE_TOKEN:
            if (s_is (c, C_TCHAR))
                break;
            if (c == ';')
                self->state = K_EXT_NAME_START;
            else if (c == '\r')
                self->state = K_SIZE_LF;
            else
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            break;
        case K_EXT_VALUE_QUOTED:
            if (c == '"')
                self->state = K_EXT_VALUE_END;
            else if (c == '\\')
                self->state = K_EXT_VALUE_ESCAPE;
            else if (!s_is (c, C_QDTEXT))
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            break;
        case K_EXT_VALUE_ESCAPE:
            if (!s_is (c, C_FIELD))
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            self->state = K_EXT_VALUE_QUOTED;
            break;
        case K_EXT_VALUE_END:
            if (c == ';')
                self->state = K_EXT_NAME_START;
            else if (c == '\r')
                self->state = K_SIZE_LF;
            else
                return s_chunked_fail (self, 400, "invalid chunk extension", at, err);
            break;
        case K_SIZE_LF:
            if (c != '\n')
                return s_chunked_fail (self, 400, "bare CR in chunk-size line", at, err);
            self->line_len = 0;
            if (self->size == 0) {
                self->state = K_TRAILER_START;
                break;
            }
            if (self->size > self->limits.max_body - self->total)
                return s_chunked_fail (self, 413, "chunked body above the body limit", at, err);
            self->total += self->size;
            self->remaining = self->size;
            self->state = K_DATA;
            break;
        case K_DATA_CR:
            if (c != '\r')
                return s_chunked_fail (self, 400, "chunk data not followed by CRLF", at, err);
            self->state = K_DATA_LF;
            break;
        case K_DATA_LF:
            if (c != '\n')
                return s_chunked_fail (self, 400, "chunk data not followed by CRLF", at, err);
            self->state = K_SIZE_START;
            break;
        case K_TRAILER_START:
            self->name_len = 0;
            self->name_match = S_FORBIDDEN_ALL;
            if (c == '\r')
                self->state = K_END_LF;
            else if (c == '\n')
                return s_chunked_fail (self, 400, "bare LF", at, err);
            else if (c == ' ' || c == '\t')
                return s_chunked_fail (self, 400, "obs-fold in trailer section", at, err);
            else if (!s_is (c, C_TCHAR))
                return s_chunked_fail (self, 400, "invalid character in trailer name", at, err);
            else if (self->trailer_count >= self->limits.max_headers)
                return s_chunked_fail (self, 431, "too many trailer fields", at, err);
            else {
                s_match_forbidden (self, c);
                self->state = K_TRAILER_NAME;
            }
            break;
        case K_TRAILER_NAME:
            if (s_is (c, C_TCHAR)) {
                s_match_forbidden (self, c);
                break;
            }
            if (c == ':' && s_forbidden_matched (self))
                return s_chunked_fail (self, 400, "framing or routing field in trailer section", at,
                                       err);
            if (c == ':')
                self->state = K_TRAILER_VALUE;
            else if (c == ' ' || c == '\t')
                return s_chunked_fail (self, 400, "whitespace between field name and colon", at,
                                       err);
            else
                return s_chunked_fail (self, 400, "invalid character in trailer name", at, err);
            break;
        case K_TRAILER_VALUE:
            if (s_is (c, C_FIELD))
                break;
            if (c == '\r')
                self->state = K_TRAILER_LF;
            else if (c == '\n')
                return s_chunked_fail (self, 400, "bare LF", at, err);
            else
                return s_chunked_fail (self, 400, "invalid character in trailer value", at, err);
            break;
        case K_TRAILER_LF:
            if (c != '\n')
                return s_chunked_fail (self, 400, "bare CR", at, err);
            self->trailer_count++;
            self->state = K_TRAILER_START;
            break;
        case K_END_LF:
            if (c != '\n')
                return s_chunked_fail (self, 400, "bare CR", at, err);
            self->state = K_DONE;
            break;
        default:
            assert (!"unreachable decoder state");
            return s_chunked_fail (self, 500, "decoder state corrupt", at, err);
        }
        i++;
        self->offset++;
    }
    return (ptrdiff_t) i;
}
