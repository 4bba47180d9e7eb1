/*  cert.h - CURVE certificates of gateways and functions: a keypair plus a
 *  role and a name, kept on disk as czmq's zcert text files (NAME.key public,
 *  NAME.key_secret private). The reader is strict and bounded: a file is hostile.  */
#ifndef BATON_SECURITY_CERT_H
#define BATON_SECURITY_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Largest certificate file accepted, longest line, longest name.
#define BATON_CERT_MAX_SIZE 65536
#define BATON_CERT_MAX_LINE 1024
#define BATON_CERT_NAME_MAX 64
//  A CURVE key: 32 bytes, 40 characters of Z85.
#define BATON_KEY_SIZE    32
#define BATON_KEY_Z85_LEN 40
//  Room for an error message from the functions below (file:line: what).
#define BATON_CERT_ERROR_MAX 512

typedef enum {
    BATON_ROLE_GATEWAY = 1,
    BATON_ROLE_FUNCTION = 2,
} baton_role_t;

typedef struct baton_cert baton_cert_t;

//  "gateway" or "function"; "?" for any other value.
const char *baton__role_name (baton_role_t role);

//  Parses "gateway" or "function" (len bytes, no NUL needed). Returns 0 and
//  sets *role, or BATON_EINVAL.
int baton__role_parse (const char *text, size_t len, baton_role_t *role);

//  True if name[0..len) is a valid certificate name: 1..64 bytes of
//  [A-Za-z0-9._-], not starting with '.' or '-' (it names files and options).
bool baton__cert_name_valid (const char *name, size_t len);

//  Checks that text is 40 Z85 characters that decode to 32 bytes; writes them
//  to key (may be NULL to only check). Returns 0 or BATON_EINVAL.
int baton__key_from_z85 (const char *text, size_t len, uint8_t key[BATON_KEY_SIZE]);

//  Generates a new keypair (zmq_curve_keypair) for role and name. Returns NULL
//  if the name is not valid, the role unknown or libzmq has no CURVE.
//  Caller owns the result; release it with baton__cert_destroy ().
baton_cert_t *baton__cert_new (baton_role_t role, const char *name);

//  Parses a certificate from data[0..len), the text of a zcert file (public or
//  secret). origin names the data in errors ("path:line: what"). Never reads
//  past len, never allocates more than the certificate. Returns NULL and
//  writes the reason to err (errlen bytes, may be 0) when the text is not a
//  valid Baton certificate. Caller owns the result.
baton_cert_t *baton__cert_parse (const void *data, size_t len, const char *origin, char *err,
                                 size_t errlen);

//  Reads and parses the certificate file at path. A file holding a secret key
//  must be a regular file owned by the current user with no group or other
//  permission (like ssh), else it is refused with the fix in err. Returns NULL
//  with the reason in err on any failure. Caller owns the result.
baton_cert_t *baton__cert_load (const char *path, char *err, size_t errlen);

//  Writes the zcert text of cert into buf (cap bytes, NUL-terminated): the
//  public form, or with secret the secret form (which needs a secret key).
//  Returns the length, or 0 if it does not fit or there is no secret key.
size_t baton__cert_format (const baton_cert_t *cert, bool secret, char *buf, size_t cap);

//  Writes DIR/NAME.key (mode 0644) and, if cert has a secret key,
//  DIR/NAME.key_secret (mode 0600, never readable by others even briefly),
//  each through a temporary file then link(2) or rename(2), so a reader sees
//  the old file or the new one. Without force an existing file is left alone
//  and the call fails with errno EEXIST. Returns 0, or BATON_ESYS (errno set)
//  or BATON_EINVAL with the reason in err.
int baton__cert_save (const baton_cert_t *cert, const char *dir, bool force, char *err,
                      size_t errlen);

//  Accessors. Keys are 32 bytes; the Z85 forms are 40 characters + NUL.
//  secret_key and secret_z85 are NULL for a public certificate.
baton_role_t baton__cert_role (const baton_cert_t *cert);
const char *baton__cert_name (const baton_cert_t *cert);
const uint8_t *baton__cert_public_key (const baton_cert_t *cert);
const char *baton__cert_public_z85 (const baton_cert_t *cert);
const uint8_t *baton__cert_secret_key (const baton_cert_t *cert);
const char *baton__cert_secret_z85 (const baton_cert_t *cert);

//  Wipes the secret key and frees the certificate. Safe on NULL; sets
//  *self_p to NULL.
void baton__cert_destroy (baton_cert_t **self_p);

#endif
