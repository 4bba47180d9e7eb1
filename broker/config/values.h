/*  values.h - the syntax of the values in a gateway configuration: counts,
 *  durations ("250ms"), sizes ("8KiB"), listen addresses ("[::1]:8080"),
 *  ZeroMQ endpoints, function names and HTTP methods. Each parser reads the
 *  len bytes at s and never more; on bad input it returns -1 and writes a
 *  message that quotes the value into why (whylen bytes, NUL-terminated when
 *  whylen > 0): "\"1MB\": write sizes in KiB, MiB or GiB ...".  */
#ifndef BATON_VALUES_H
#define BATON_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The longest duration a configuration may hold: 24h, in milliseconds.
#define BATON_VALUE_MAX_DURATION_MS (24u * 60u * 60000u)

//  A whole number, digits only, from min to max. Returns 0 and sets *out,
//  or -1.
int baton_value_uint (const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                      char *why, size_t whylen);

//  "250ms", "10s", "1m": a whole number and a unit, from min_ms to
//  BATON_VALUE_MAX_DURATION_MS. Returns 0 and sets *out_ms, or -1.
int baton_value_duration (const char *s, size_t len, uint64_t min_ms, uint64_t *out_ms, char *why,
                          size_t whylen);

//  "8192", "512B", "8KiB", "1MiB", "1GiB": bytes in powers of 1024, from min
//  to max; KB, MB and the like are refused as ambiguous. Returns 0 and sets
//  *out, or -1.
int baton_value_size (const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                      char *why, size_t whylen);

//  host:port, or [IPv6]:port, for an HTTP listener; port 0 lets the system
//  pick one. Returns 0 and sets *host_off and *host_len (the host within s,
//  without brackets) and *port, or -1.
int baton_value_address (const char *s, size_t len, size_t *host_off, size_t *host_len,
                         uint16_t *port, char *why, size_t whylen);

//  tcp://host:port, ipc://path or inproc://name. bind: the endpoint is one
//  to bind, so "*" may stand for the host or the port. Returns 0 or -1.
int baton_value_endpoint (const char *s, size_t len, bool bind, char *why, size_t whylen);

//  True if endpoint (a valid one, NUL-terminated) stays on this machine:
//  ipc://, inproc://, or tcp:// to a loopback host (127.0.0.0/8, ::1,
//  localhost). "*", 0.0.0.0, any other address, host or interface name is
//  a network.
bool baton_value_endpoint_is_local (const char *endpoint);

//  A function name: a letter or "_", then letters, digits, "_" and "-", at
//  most BATON_CONFIG_MAX_NAME bytes. Returns 0 or -1.
int baton_value_function_name (const char *s, size_t len, char *why, size_t whylen);

//  An HTTP method: an RFC 9110 token in upper case, 1 to
//  BATON_CONFIG_MAX_METHOD bytes. Returns 0 or -1.
int baton_value_method (const char *s, size_t len, char *why, size_t whylen);

//  A header name a route matches on: an RFC 9110 token of 1 to
//  BATON_CONFIG_MAX_HEADER_NAME bytes. Returns 0 or -1.
int baton_value_header_name (const char *s, size_t len, char *why, size_t whylen);

//  A version or a zone: 1 to BATON_CONFIG_MAX_LABEL bytes of letters,
//  digits, ".", "_", "-" and "+". what names it in the message ("a version").
//  Returns 0 or -1.
int baton_value_label (const char *s, size_t len, const char *what, char *why, size_t whylen);

//  A header value a route matches: visible ASCII, bytes 0x80-0xFF, spaces and
//  tabs, none of them at either end (the parser strips those). Returns 0 or -1.
int baton_value_header_value (const char *s, size_t len, char *why, size_t whylen);

//  Where the parts of a route's match.host are, within the value.
typedef struct {
    size_t name_off; //  the host without "*." and ":port" ("[::1]" keeps its brackets)
    size_t name_len;
    bool wildcard; //  written "*.name": any host under name
    uint16_t port; //  0: not written, any port matches
} baton_value_host_t;

//  A route's match.host: a DNS name, an IPv4 address or an IPv6 address in
//  brackets, then optionally ":port" (1 to 65535); a DNS name may start with
//  "*." Returns 0 and fills *out, or -1.
int baton_value_match_host (const char *s, size_t len, baton_value_host_t *out, char *why,
                            size_t whylen);

//  Writes ms as the largest unit that is exact ("250ms", "10s", "2m") into
//  buf (cap bytes, NUL-terminated). Returns buf.
const char *baton_value_format_duration (uint64_t ms, char *buf, size_t cap);

#endif
