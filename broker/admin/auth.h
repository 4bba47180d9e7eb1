/*  auth.h - who may change the gateway through the admin API: the bearer
 *  token of gateway.admin_token_file, compared in constant time.  */
#ifndef BATON_ADMIN_AUTH_H
#define BATON_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include "config/config.h"
#include "http/parser.h"

typedef struct baton_auth baton_auth_t;

//  What a request's credentials are worth.
typedef enum {
    BATON_AUTH_OK = 0,   //  the token
    BATON_AUTH_MISSING,  //  no Authorization field, or not one Bearer credential
    BATON_AUTH_WRONG,    //  a Bearer token that is not the one
    BATON_AUTH_DISABLED, //  no token file configured: mutations are refused
} baton_auth_result_t;

//  Creates an authority with no token (every check DISABLED). Never NULL
//  (aborts when out of memory).
baton_auth_t *baton_auth_new (void);

//  Safe on NULL; wipes the token; sets *self_p to NULL.
void baton_auth_destroy (baton_auth_t **self_p);

//  Reads config's gateway.admin_token_file (none: no token) into self.
//  Returns 0; or -1 with the reason, naming the file, in err (errlen bytes),
//  and self unchanged.
int baton_auth_load (baton_auth_t *self, const baton_config_t *config, char *err, size_t errlen);

//  True if a token is configured.
bool baton_auth_enabled (const baton_auth_t *self);

//  Checks req's "Authorization: Bearer <token>": exactly one such field, the
//  scheme case-insensitive, then one or more spaces and the token. The
//  comparison takes the same time wherever the token differs.
baton_auth_result_t baton_auth_check (const baton_auth_t *self, const baton_http_request_t *req);

#endif
