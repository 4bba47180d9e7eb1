/*  auth.c - the admin token: read from its file at start and at each reload,
 *  checked against a request's Authorization field in constant time.  */
#include <stdlib.h>
#include <string.h>
#include "admin/auth.h"
#include "http/text.h"

struct baton_auth {
    char token[BATON_CONFIG_MAX_TOKEN_FILE + 1];
    size_t len; //  0: no token
};

baton_auth_t *
baton_auth_new (void)
{
    baton_auth_t *self = (baton_auth_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    return self;
}

//  Zeroes n bytes at p in a way the compiler keeps (the token must not stay
//  in freed memory).
static void
s_wipe (void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *) p;
    while (n--)
        *v++ = 0;
}

void
baton_auth_destroy (baton_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_wipe ((*self_p)->token, sizeof (*self_p)->token);
    free (*self_p);
    *self_p = NULL;
}

int
baton_auth_load (baton_auth_t *self, const baton_config_t *config, char *err, size_t errlen)
{
    const char *path = baton_config_gateway (config)->admin_token_file;
    if (!path) {
        s_wipe (self->token, sizeof self->token);
        self->len = 0;
        return 0;
    }
    char token[BATON_CONFIG_MAX_TOKEN_FILE + 1];
    int n = baton_config_read_token (path, token, sizeof token, err, errlen);
    if (n > 0) {
        s_wipe (self->token, sizeof self->token);
        memcpy (self->token, token, (size_t) n + 1);
        self->len = (size_t) n;
    }
    s_wipe (token, sizeof token);
    return n > 0 ? 0 : -1;
}

bool
baton_auth_enabled (const baton_auth_t *self)
{
    return self->len > 0;
}

//  True if given (len bytes) is the token. Every byte of the token is
//  compared whatever the given bytes are, so the time says nothing of where
//  they differ (only the token's length is not hidden).
static bool
s_token_equal (const baton_auth_t *self, const char *given, size_t len)
{
    volatile unsigned char diff = len != self->len;
    for (size_t i = 0; i < self->len; i++) {
        unsigned char g = i < len ? (unsigned char) given[i] : 0;
        diff |= g ^ (unsigned char) self->token[i];
    }
    return diff == 0;
}

baton_auth_result_t
baton_auth_check (const baton_auth_t *self, const baton_http_request_t *req)
{
    if (!self->len)
        return BATON_AUTH_DISABLED;
    const baton_slice_t *value = NULL;
    for (size_t i = 0; i < req->header_count; i++)
        if (baton__slice_is (req->headers[i].name, "Authorization")) {
            if (value)
                return BATON_AUTH_MISSING; //  two credentials: neither counts
            value = &req->headers[i].value;
        }
    static const char scheme[] = "Bearer ";
    size_t n = sizeof scheme - 1;
    if (!value || value->len <= n ||
        !baton__slice_is ((baton_slice_t){value->ptr, n - 1}, "Bearer") || value->ptr[n - 1] != ' ')
        return BATON_AUTH_MISSING;
    while (n < value->len && value->ptr[n] == ' ')
        n++;
    if (n == value->len)
        return BATON_AUTH_MISSING;
    return s_token_equal (self, value->ptr + n, value->len - n) ? BATON_AUTH_OK : BATON_AUTH_WRONG;
}
