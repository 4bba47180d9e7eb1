/*  values.c - parsers for the text of one configuration value. Each checks
 *  the syntax, then the range, and puts the value, quoted, at the start of
 *  its message.  */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config/config.h"
#include "config/values.h"
#include "config/yamldoc.h"

#define S_MINUTE_MS 60000u
#define S_KIB       ((uint64_t) 1024)
#define S_MIB       (S_KIB * 1024)
#define S_GIB       (S_MIB * 1024)

static int s_fail (char *why, size_t whylen, const char *s, size_t len, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

//  Writes the value at s, quoted, then the formatted rest into why and
//  returns -1.
static int
s_fail (char *why, size_t whylen, const char *s, size_t len, const char *fmt, ...)
{
    if (whylen == 0)
        return -1;
    char q[80];
    int n = snprintf (why, whylen, "%s", baton_yamldoc_quote (q, sizeof q, s, len));
    if (n >= 0 && (size_t) n < whylen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (why + n, whylen - (size_t) n, fmt, ap);
        va_end (ap);
    }
    return -1;
}

//  Reads the leading digits of s into *value, saturating at UINT64_MAX (every
//  caller's maximum is far below); *used gets how many there were.
static bool
s_digits (const char *s, size_t len, size_t *used, uint64_t *value)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned) (s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            v = UINT64_MAX;
        else
            v = v * 10 + d;
        i++;
    }
    *used = i;
    *value = v;
    return i > 0;
}

int
baton_value_uint (const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out, char *why,
                  size_t whylen)
{
    size_t used;
    uint64_t v;
    if (!s_digits (s, len, &used, &v) || used != len)
        return s_fail (why, whylen, s, len, " is not a whole number (digits only)");
    if (v < min || v > max)
        return s_fail (why, whylen, s, len, " is out of range (%" PRIu64 " to %" PRIu64 ")", min,
                       max);
    *out = v;
    return 0;
}

const char *
baton_value_format_duration (uint64_t ms, char *buf, size_t cap)
{
    if (ms == 0)
        snprintf (buf, cap, "0s");
    else if (ms % S_MINUTE_MS == 0)
        snprintf (buf, cap, "%" PRIu64 "m", ms / S_MINUTE_MS);
    else if (ms % 1000 == 0)
        snprintf (buf, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf (buf, cap, "%" PRIu64 "ms", ms);
    return buf;
}

static const char *
s_format_size (uint64_t bytes, char *buf, size_t cap)
{
    if (bytes && bytes % S_GIB == 0)
        snprintf (buf, cap, "%" PRIu64 "GiB", bytes / S_GIB);
    else if (bytes && bytes % S_MIB == 0)
        snprintf (buf, cap, "%" PRIu64 "MiB", bytes / S_MIB);
    else if (bytes && bytes % S_KIB == 0)
        snprintf (buf, cap, "%" PRIu64 "KiB", bytes / S_KIB);
    else
        snprintf (buf, cap, "%" PRIu64 "B", bytes);
    return buf;
}

int
baton_value_duration (const char *s, size_t len, uint64_t min_ms, uint64_t *out_ms, char *why,
                      size_t whylen)
{
    size_t used;
    uint64_t v, unit = 0;
    char a[32];
    if (s_digits (s, len, &used, &v)) {
        const char *u = s + used;
        size_t ulen = len - used;
        if (ulen == 2 && !memcmp (u, "ms", 2))
            unit = 1;
        else if (ulen == 1 && *u == 's')
            unit = 1000;
        else if (ulen == 1 && *u == 'm')
            unit = S_MINUTE_MS;
    }
    if (!unit)
        return s_fail (why, whylen, s, len,
                       " is not a duration: a whole number and a unit, ms, s or m "
                       "(250ms, 10s, 1m)");
    if (v > BATON_VALUE_MAX_DURATION_MS / unit)
        return s_fail (why, whylen, s, len, " is longer than the maximum, %s",
                       baton_value_format_duration (BATON_VALUE_MAX_DURATION_MS, a, sizeof a));
    if (v * unit < min_ms)
        return s_fail (why, whylen, s, len, " is shorter than the minimum, %s",
                       baton_value_format_duration (min_ms, a, sizeof a));
    *out_ms = v * unit;
    return 0;
}

int
baton_value_size (const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out, char *why,
                  size_t whylen)
{
    size_t used;
    uint64_t v, unit = 0;
    char a[32];
    bool decimal = false;
    if (s_digits (s, len, &used, &v)) {
        const char *u = s + used;
        size_t ulen = len - used;
        static const struct {
            const char *name;
            uint64_t unit;
        } units[] = {{"", 1}, {"B", 1}, {"KiB", S_KIB}, {"MiB", S_MIB}, {"GiB", S_GIB}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen (units[i].name) == ulen && !memcmp (u, units[i].name, ulen))
                unit = units[i].unit;
        //  KB/MB/GB are refused rather than guessed: 1000 or 1024?
        static const char *const ambiguous[] = {"K",  "M",  "G",  "k",  "kB", "KB", "MB",
                                                "GB", "kb", "mb", "gb", "Kb", "Mb", "Gb"};
        for (size_t i = 0; !unit && i < sizeof ambiguous / sizeof ambiguous[0]; i++)
            if (strlen (ambiguous[i]) == ulen && !memcmp (u, ambiguous[i], ulen))
                decimal = true;
    }
    if (decimal)
        return s_fail (why, whylen, s, len,
                       ": write sizes in KiB, MiB or GiB (powers of 1024) or plain bytes");
    if (!unit)
        return s_fail (why, whylen, s, len,
                       " is not a size: a whole number of bytes, or one with B, KiB, MiB or "
                       "GiB (8KiB)");
    if (v > max / unit)
        return s_fail (why, whylen, s, len, " is larger than the maximum, %s",
                       s_format_size (max, a, sizeof a));
    if (v * unit < min)
        return s_fail (why, whylen, s, len, " is smaller than the minimum, %s",
                       s_format_size (min, a, sizeof a));
    *out = v * unit;
    return 0;
}

static bool
s_is_alnum (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

//  RFC 9110 token characters.
static bool
s_is_tchar (unsigned char c)
{
    return s_is_alnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c));
}

//  A DNS name or interface name: labels of letters, digits and '-'.
static bool
s_is_hostname (const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return false;
            label = 0;
        } else if (s_is_alnum ((unsigned char) s[i]) || s[i] == '-')
            label++;
        else
            return false;
    }
    return true;
}

typedef struct {
    size_t host_off, host_len;
    uint32_t port; //  0 stands for "*"
} s_hostport_t;

//  Parses host:port ("[v6]:port" for IPv6). star allows "*" as the host and
//  as the port (ZeroMQ bind endpoints); zero allows port 0 (HTTP listeners:
//  the system picks a free port). Returns NULL, or what is wrong.
static const char *
s_parse_hostport (const char *s, size_t len, bool star, bool zero, s_hostport_t *hp)
{
    size_t colon;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr (s, ']', len);
        if (!close)
            return "missing \"]\" after the IPv6 address";
        size_t hl = (size_t) (close - s) - 1;
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (hl == 0 || hl >= sizeof buf)
            return "not an IPv6 address between the brackets";
        memcpy (buf, s + 1, hl);
        buf[hl] = '\0';
        if (inet_pton (AF_INET6, buf, &a6) != 1)
            return "not an IPv6 address between the brackets";
        hp->host_off = 1;
        hp->host_len = hl;
        colon = hl + 2;
        if (colon >= len || s[colon] != ':')
            return "expected \":port\" after the address";
    } else {
        colon = len;
        for (size_t i = 0; i < len; i++)
            if (s[i] == ':')
                colon = i;
        if (colon == len)
            return "expected host:port";
        if (memchr (s, ':', colon))
            return "an IPv6 address goes in brackets, like [::1]:8080";
        if (colon == 0)
            return "the host is missing (0.0.0.0 means every interface)";
        hp->host_off = 0;
        hp->host_len = colon;
        bool dotted = true;
        for (size_t i = 0; i < colon; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
                dotted = false;
        if (colon == 1 && s[0] == '*') {
            if (!star)
                return "\"*\" is not a host here (0.0.0.0 means every interface)";
        } else if (dotted) {
            char buf[INET_ADDRSTRLEN];
            struct in_addr a4;
            if (colon >= sizeof buf)
                return "not an IPv4 address";
            memcpy (buf, s, colon);
            buf[colon] = '\0';
            if (inet_pton (AF_INET, buf, &a4) != 1)
                return "not an IPv4 address";
        } else if (!s_is_hostname (s, colon))
            return "not a host name or address";
    }
    const char *p = s + colon + 1;
    size_t plen = len - colon - 1;
    const char *range = zero ? "the port must be a number from 0 to 65535"
                             : "the port must be a number from 1 to 65535";
    if (plen == 1 && p[0] == '*') {
        if (!star)
            return range;
        hp->port = 0;
        return NULL;
    }
    size_t used;
    uint64_t port;
    if (!s_digits (p, plen, &used, &port) || used != plen || port < (zero ? 0 : 1) || port > 65535)
        return range;
    hp->port = (uint32_t) port;
    return NULL;
}

int
baton_value_address (const char *s, size_t len, size_t *host_off, size_t *host_len, uint16_t *port,
                     char *why, size_t whylen)
{
    s_hostport_t hp;
    const char *wrong = s_parse_hostport (s, len, false, true, &hp);
    if (wrong)
        return s_fail (why, whylen, s, len, ": %s", wrong);
    *host_off = hp.host_off;
    *host_len = hp.host_len;
    *port = (uint16_t) hp.port;
    return 0;
}

//  Returns NULL, or what is wrong with endpoint s.
static const char *
s_endpoint_wrong (const char *s, size_t len, bool bind)
{
    s_hostport_t hp;
    if (len > BATON_CONFIG_MAX_ENDPOINT)
        return "an endpoint is at most 256 bytes";
    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ')
            return "an endpoint has no spaces";
    if (len > 6 && !memcmp (s, "tcp://", 6))
        return s_parse_hostport (s + 6, len - 6, bind, false, &hp);
    if (len >= 6 && !memcmp (s, "ipc://", 6)) {
        //  sun_path holds 108 bytes with the NUL.
        if (len == 6 || len - 6 > 107)
            return "an ipc:// path is 1 to 107 bytes";
        return NULL;
    }
    if (len >= 9 && !memcmp (s, "inproc://", 9))
        return len == 9 ? "an inproc:// name is not empty" : NULL;
    return "a ZeroMQ endpoint starts with tcp://, ipc:// or inproc://";
}

int
baton_value_endpoint (const char *s, size_t len, bool bind, char *why, size_t whylen)
{
    const char *wrong = s_endpoint_wrong (s, len, bind);
    return wrong ? s_fail (why, whylen, s, len, ": %s", wrong) : 0;
}

//  Returns NULL, or what is wrong with function name s.
static const char *
s_function_name_wrong (const char *s, size_t len)
{
    if (len == 0)
        return "a function name is not empty";
    if (len > BATON_CONFIG_MAX_NAME)
        return "a function name is at most 64 bytes";
    if (!(s_is_alnum ((unsigned char) s[0]) && !(s[0] >= '0' && s[0] <= '9')) && s[0] != '_')
        return "a function name starts with a letter or \"_\"";
    for (size_t i = 1; i < len; i++)
        if (!s_is_alnum ((unsigned char) s[i]) && s[i] != '_' && s[i] != '-')
            return "a function name holds only letters, digits, \"_\" and \"-\"";
    return NULL;
}

bool
baton_value_endpoint_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return true;
    const char *host = endpoint + 6, *end = strrchr (host, ':');
    size_t len = end ? (size_t) (end - host) : strlen (host);
    char buf[INET6_ADDRSTRLEN];
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy (buf, host, len);
    buf[len] = '\0';
    unsigned char a[16];
    if (inet_pton (AF_INET, buf, a) == 1)
        return a[0] == 127;
    if (inet_pton (AF_INET6, buf, a) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return !memcmp (a, one, 16) || (!memcmp (a, v4mapped, 12) && a[12] == 127);
    }
    return strcmp (buf, "localhost") == 0;
}

int
baton_value_function_name (const char *s, size_t len, char *why, size_t whylen)
{
    const char *wrong = s_function_name_wrong (s, len);
    return wrong ? s_fail (why, whylen, s, len, ": %s", wrong) : 0;
}

int
baton_value_method (const char *s, size_t len, char *why, size_t whylen)
{
    if (len == 0 || len > BATON_CONFIG_MAX_METHOD)
        return s_fail (why, whylen, s, len, ": a method is 1 to %d bytes", BATON_CONFIG_MAX_METHOD);
    bool lower = false;
    for (size_t k = 0; k < len; k++) {
        if (!s_is_tchar ((unsigned char) s[k]))
            return s_fail (why, whylen, s, len, " is not an HTTP method (RFC 9110 token)");
        if (s[k] >= 'a' && s[k] <= 'z')
            lower = true;
    }
    //  Methods are case-sensitive; "get" would never match a GET.
    if (lower)
        return s_fail (why, whylen, s, len,
                       ": methods are case-sensitive and written in upper case");
    return 0;
}

int
baton_value_label (const char *s, size_t len, const char *what, char *why, size_t whylen)
{
    if (len == 0 || len > BATON_CONFIG_MAX_LABEL)
        return s_fail (why, whylen, s, len, ": %s is 1 to %d bytes", what, BATON_CONFIG_MAX_LABEL);
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '+'))
            return s_fail (why, whylen, s, len,
                           ": %s holds only letters, digits, \".\", \"_\", \"-\" and \"+\"", what);
    }
    return 0;
}

int
baton_value_header_name (const char *s, size_t len, char *why, size_t whylen)
{
    if (len == 0 || len > BATON_CONFIG_MAX_HEADER_NAME)
        return s_fail (why, whylen, s, len, ": a header name is 1 to %d bytes",
                       BATON_CONFIG_MAX_HEADER_NAME);
    for (size_t k = 0; k < len; k++)
        if (!s_is_tchar ((unsigned char) s[k]))
            return s_fail (why, whylen, s, len, " is not a header name (RFC 9110 token)");
    return 0;
}

int
baton_value_header_value (const char *s, size_t len, char *why, size_t whylen)
{
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char) s[k];
        if (c == 0x7f || (c < 0x20 && c != '\t'))
            return s_fail (why, whylen, s, len, ": a control character is never in a header value");
    }
    if (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        return s_fail (why, whylen, s, len,
                       ": a header value never starts or ends with a space or tab (they are "
                       "stripped before matching)");
    return 0;
}

//  Returns NULL, or what is wrong with the host of a match.host (no port).
static const char *
s_match_host_wrong (const char *s, size_t len, bool wildcard)
{
    if (len > 0 && s[0] == '[') {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (wildcard)
            return "\"*.\" goes before a host name, not an address";
        if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof buf)
            return "not an IPv6 address between the brackets";
        memcpy (buf, s + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton (AF_INET6, buf, &a6) == 1 ? NULL
                                                   : "not an IPv6 address between the brackets";
    }
    if (memchr (s, ':', len))
        return "an IPv6 address goes in brackets, like [::1]";
    bool dotted = len > 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            dotted = false;
    if (dotted) {
        char buf[INET_ADDRSTRLEN];
        struct in_addr a4;
        if (wildcard)
            return "\"*.\" goes before a host name, not an address";
        if (len >= sizeof buf)
            return "not an IPv4 address";
        memcpy (buf, s, len);
        buf[len] = '\0';
        return inet_pton (AF_INET, buf, &a4) == 1 ? NULL : "not an IPv4 address";
    }
    return s_is_hostname (s, len) ? NULL
                                  : "not a host name (labels of letters, digits and \"-\"), "
                                    "address, or \"*.\" and a host name";
}

int
baton_value_match_host (const char *s, size_t len, baton_value_host_t *out, char *why,
                        size_t whylen)
{
    baton_value_host_t h = {0, len, false, 0};
    if (len >= 2 && s[0] == '*' && s[1] == '.') {
        h.wildcard = true;
        h.name_off = 2;
    }
    //  The port follows the last ':' outside brackets.
    const char *close = memchr (s, ']', len);
    size_t from = close ? (size_t) (close - s) : h.name_off, colon = len;
    for (size_t i = from; i < len; i++)
        if (s[i] == ':')
            colon = i;
    if (!close && colon < len && memchr (s, ':', colon))
        colon = len; //  several ':' without brackets: an unbracketed IPv6 address
    if (colon < len) {
        size_t used;
        uint64_t port;
        const char *p = s + colon + 1;
        size_t plen = len - colon - 1;
        if (!s_digits (p, plen, &used, &port) || used != plen || port < 1 || port > 65535)
            return s_fail (why, whylen, s, len, ": the port must be a number from 1 to 65535");
        h.port = (uint16_t) port;
    }
    h.name_len = colon - h.name_off;
    const char *wrong = s_match_host_wrong (s + h.name_off, h.name_len, h.wildcard);
    if (wrong)
        return s_fail (why, whylen, s, len, ": %s", wrong);
    *out = h;
    return 0;
}
