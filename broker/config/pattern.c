/*  pattern.c - one pass over a pattern's segments checks each byte and
 *  records where the literals and {params} are; comparing and hashing read
 *  each {param} as "{}".  */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config/pattern.h"

static int s_why (char *why, size_t whylen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_why (char *why, size_t whylen, const char *fmt, ...)
{
    if (whylen > 0) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (why, whylen, fmt, ap);
        va_end (ap);
    }
    return -1;
}

static bool
s_is_alpha (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
s_is_digit (unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_is_hex (unsigned char c)
{
    return s_is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

//  RFC 3986 pchar without pct-encoded, '*' and the ':' '@' kept: unreserved,
//  sub-delims (less '*', which only makes prefix patterns), ':' and '@'.
static bool
s_is_pchar (unsigned char c)
{
    return s_is_alpha (c) || s_is_digit (c) || (c != '\0' && strchr ("-._~!$&'()+,;=:@", c));
}

int
baton_pattern_parse (const char *p, size_t len, baton_pattern_t *out, char *why, size_t whylen)
{
    if (len == 0 || p[0] != '/')
        return s_why (why, whylen, "a path must start with \"/\"");
    if (len > BATON_PATTERN_MAX_LEN)
        return s_why (why, whylen, "a path pattern is at most %d bytes", BATON_PATTERN_MAX_LEN);
    baton_pattern_t pattern = {.prefix = false, .count = 0};
    const char *names[BATON_PATTERN_MAX_PARAMS];
    size_t name_len[BATON_PATTERN_MAX_PARAMS];
    size_t nparams = 0, nseg = 0, i = 1;
    while (true) {
        size_t s = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - s;
        if (++nseg > BATON_PATTERN_MAX_SEGMENTS)
            return s_why (why, whylen, "more than %d segments", BATON_PATTERN_MAX_SEGMENTS);
        baton_pattern_segment_t segment = {(uint16_t) s, (uint16_t) n, false};
        if (n == 0) {
            if (i < len)
                return s_why (why, whylen, "empty segment (\"//\")");
        } else if (n == 1 && p[s] == '*') {
            if (i < len)
                return s_why (why, whylen,
                              "\"*\" is only allowed as the whole last segment (\"/static/*\")");
            pattern.prefix = true;
        } else if (p[s] == '{') {
            if (p[i - 1] != '}')
                return s_why (why, whylen, "a parameter is a whole segment, like {id}");
            const char *name = p + s + 1;
            size_t nl = n - 2;
            if (nl == 0)
                return s_why (why, whylen, "empty parameter name \"{}\"");
            if (nl > 32)
                return s_why (why, whylen, "a parameter name is at most 32 bytes");
            if (!(s_is_alpha ((unsigned char) name[0]) || name[0] == '_'))
                return s_why (why, whylen,
                              "parameter name \"%.*s\" must start with a letter or \"_\"", (int) nl,
                              name);
            for (size_t k = 1; k < nl; k++)
                if (!(s_is_alpha ((unsigned char) name[k]) ||
                      s_is_digit ((unsigned char) name[k]) || name[k] == '_'))
                    return s_why (why, whylen,
                                  "parameter name \"%.*s\" may hold only letters, digits and \"_\"",
                                  (int) nl, name);
            for (size_t k = 0; k < nparams; k++)
                if (name_len[k] == nl && memcmp (names[k], name, nl) == 0)
                    return s_why (why, whylen, "parameter {%.*s} appears twice", (int) nl, name);
            if (nparams == BATON_PATTERN_MAX_PARAMS)
                return s_why (why, whylen, "more than %d parameters", BATON_PATTERN_MAX_PARAMS);
            names[nparams] = name;
            name_len[nparams] = nl;
            nparams++;
            segment = (baton_pattern_segment_t){(uint16_t) (s + 1), (uint16_t) nl, true};
        } else {
            if ((n == 1 && p[s] == '.') || (n == 2 && p[s] == '.' && p[s + 1] == '.'))
                return s_why (why, whylen, "dot segments (\".\" and \"..\") are not allowed");
            for (size_t k = s; k < i; k++) {
                unsigned char c = (unsigned char) p[k];
                if (c == '%') {
                    if (k + 2 >= i || !s_is_hex ((unsigned char) p[k + 1]) ||
                        !s_is_hex ((unsigned char) p[k + 2]))
                        return s_why (why, whylen, "\"%%\" must be followed by two hex digits");
                    k += 2;
                } else if (c == '*')
                    return s_why (
                        why, whylen,
                        "\"*\" is only allowed as the whole last segment (\"/static/*\")");
                else if (c == '{' || c == '}')
                    return s_why (why, whylen, "a parameter is a whole segment, like {id}");
                else if (c == '?' || c == '#')
                    return s_why (why, whylen, "\"%c\" does not belong in a path pattern", c);
                else if (!s_is_pchar (c))
                    return s_why (why, whylen,
                                  "byte 0x%02X is not allowed in a path; percent-encode it", c);
            }
        }
        //  A final "*" is the prefix flag, not a segment.
        if (!pattern.prefix)
            pattern.segment[pattern.count++] = segment;
        if (i >= len)
            break;
        i++;
    }
    if (out)
        *out = pattern;
    return 0;
}

bool
baton_pattern_same (const char *a, const char *b)
{
    //  A '{' only ever opens a whole-segment parameter, so skipping from '{'
    //  to '}' on both sides compares the shapes and the literals.
    size_t i = 0, j = 0;
    while (a[i] && b[j]) {
        if (a[i] == '{' && b[j] == '{') {
            while (a[i] != '}')
                i++;
            while (b[j] != '}')
                j++;
        } else if (a[i] != b[j])
            return false;
        i++;
        j++;
    }
    return a[i] == b[j];
}

//  FNV-1a with each {param} read as "{}".
uint64_t
baton_pattern_hash (const char *p)
{
    uint64_t h = UINT64_C (14695981039346656037);
    for (size_t i = 0; p[i]; i++) {
        h = (h ^ (unsigned char) p[i]) * UINT64_C (1099511628211);
        if (p[i] == '{')
            while (p[i + 1] != '}')
                i++;
    }
    return h;
}
