/*  client.h - the HTTP side of "baton ctl": one request to a gateway's admin
 *  listener with libcurl (no proxy, no redirect, a whole-request timeout, a
 *  bounded answer), and the form bodies and path segments it sends.  */
#ifndef BATON_CTL_CLIENT_H
#define BATON_CTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

//  The most of an answer that is read; a longer one is an error.
#define BATON_CTL_MAX_ANSWER (8u << 20)

typedef struct {
    long status;            //  the HTTP status
    char *body;             //  len bytes, NUL-terminated; freed by baton__ctl_answer_free ()
    size_t len;             //
    char content_type[128]; //  as sent, cut to fit; "" if none
} baton__ctl_answer_t;

//  Once per process, before any request.
void baton__ctl_client_init (void);

//  Sends method to base (an "http://host:port" URL) + path, with
//  "Authorization: Bearer token" when token is not NULL and form (an
//  application/x-www-form-urlencoded body) when it is not NULL, and waits at
//  most timeout_ms for the whole answer. Returns 0 with the answer in *out
//  (whatever its status), or -1 with why in err (errlen bytes): the gateway
//  could not be reached, did not answer in time, or its answer was too long.
int baton__ctl_request (const char *base, const char *method, const char *path, const char *token,
                        const char *form, uint64_t timeout_ms, baton__ctl_answer_t *out, char *err,
                        size_t errlen);

//  Frees what *answer holds. Safe to call twice.
void baton__ctl_answer_free (baton__ctl_answer_t *answer);

//  pairs holds count / 2 fields as name, value, name, value...; a field
//  whose value is NULL is left out. Returns "name=value&..." with both
//  percent-encoded. Caller frees the result.
char *baton__ctl_form (const char *const *pairs, size_t count);

//  prefix + s percent-encoded (one path segment: '/' included) + suffix.
//  Caller frees the result.
char *baton__ctl_path (const char *prefix, const char *s, const char *suffix);

#endif
