/*  mesh.h - a worker's part in securing the mesh (docs/sdk.md, "Security"):
 *  the mode its config and environment ask for, the trust store and ZAP
 *  handler of a ZeroMQ context (one per context: a host's workers share it),
 *  and the checks a hop makes on endpoints and keys before it sends.  */
#ifndef BATON_MESH_H
#define BATON_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "baton/envelope.h"
#include "cert.h"
#include "trust.h"

//  Room for the reason a mode, a certificate or a store was refused.
#define BATON_MESH_ERROR_MAX 1024

//  What a worker's config and environment ask for. CURVE when cert and
//  trust are both set; plaintext otherwise.
typedef struct {
    const char *cert;  //  path of the function's secret certificate, or NULL
    const char *trust; //  trust-store directory, or NULL
    bool insecure;     //  plaintext allowed on any address
} baton__security_t;

//  Resolves the config values cert, trust (NULL or "": the environment's
//  BATON_CERT, BATON_TRUST) and insecure (false: BATON_SECURITY=insecure
//  may set it) into *out. Returns 0, or BATON_ECONFIG with the reason in err
//  when one of cert and trust is set without the other, when CURVE and
//  insecure are both asked for, or when BATON_SECURITY is neither "curve"
//  (which requires CURVE) nor "insecure".
int baton__security_resolve (const char *cert, const char *trust, bool insecure,
                             baton__security_t *out, char *err, size_t errlen);

//  True if endpoint[0..len) stays on this host: ipc://, inproc://, or a
//  tcp:// address of 127.0.0.0/8, ::1 or localhost. tcp://*: and 0.0.0.0
//  are not (they bind every interface).
bool baton__endpoint_local (const char *endpoint, size_t len);

//  Loads the secret certificate at path for the function name: it must hold
//  a secret key, have the role function and the name name (the permission
//  checks of baton__cert_load apply). Returns NULL with the reason in err.
//  Caller owns the result.
baton_cert_t *baton__mesh_cert_load (const char *path, const char *name, char *err, size_t errlen);

typedef struct baton__mesh baton__mesh_t;

//  Loads the trust store of trust_dir and starts the ZAP handler of zctx
//  answering from it. Returns NULL with the reason in err (a store that does
//  not load, a context that has a handler already). Destroy it after the
//  sockets it watches are closed and before the context is terminated.
baton__mesh_t *baton__mesh_new (void *zctx, const char *trust_dir, char *err, size_t errlen);

//  Stops the handler, frees the store. Safe on NULL; sets *self_p to NULL.
void baton__mesh_destroy (baton__mesh_t **self_p);

//  The directory the store came from, as given to baton__mesh_new.
const char *baton__mesh_dir (const baton__mesh_t *self);

//  Watches a CURVE server socket of the context for failed handshakes
//  (baton__zap_watch). Returns 0 or a BATON_E... code.
int baton__mesh_watch (baton__mesh_t *self, void *socket);

//  Handshakes the ZAP handler refused so far. Thread-safe.
uint64_t baton__mesh_refused (const baton__mesh_t *self);

//  True if key (any length) is a trusted key of role gateway.
bool baton__mesh_is_gateway (const baton__mesh_t *self, baton_slice_t key);

//  True if key (any length) is a trusted key of the identity function name.
bool baton__mesh_is_function (const baton__mesh_t *self, baton_slice_t key, baton_slice_t name);

//  The server key of a gateway control endpoint: the key of the gateway
//  name, or with name NULL the store's only gateway key. Returns 0, or
//  BATON_ECONFIG with the reason and the fix in err when there is not
//  exactly one such key.
int baton__mesh_gateway_key (const baton__mesh_t *self, const char *name,
                             uint8_t key[BATON_KEY_SIZE], char *err, size_t errlen);

#endif
