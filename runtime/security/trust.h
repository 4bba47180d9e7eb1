/*  trust.h - the trust store: every public certificate (*.key) of one
 *  directory, mapping each CURVE public key to what it may be (gateway NAME,
 *  function NAME). Immutable once loaded: reload by loading a new store.  */
#ifndef BATON_SECURITY_TRUST_H
#define BATON_SECURITY_TRUST_H

#include <stddef.h>
#include <stdint.h>
#include "cert.h"

//  Most certificates one store holds; a directory with more is refused.
#define BATON_TRUST_MAX_ENTRIES 4096

//  One trusted key. Read-only; lives as long as its store.
typedef struct {
    uint8_t key[BATON_KEY_SIZE];
    char key_z85[BATON_KEY_Z85_LEN + 1];
    baton_role_t role;
    char name[BATON_CERT_NAME_MAX + 1];
    const char *file; //  the .key file it was read from
} baton_trust_entry_t;

typedef struct baton_trust baton_trust_t;

//  Loads every regular "*.key" file of dir ("*.key_secret" and other names
//  are ignored). Nothing is skipped silently: a file that does not parse, a
//  public certificate holding a secret key, the same key under two
//  identities, or more than BATON_TRUST_MAX_ENTRIES files make the load fail.
//  Then err holds every problem found, one "file:line: what" per line (cut
//  to errlen). An empty directory gives an empty store. Caller owns the
//  result; release it with baton__trust_destroy ().
baton_trust_t *baton__trust_load (const char *dir, char *err, size_t errlen);

//  The directory the store was loaded from.
const char *baton__trust_dir (const baton_trust_t *self);

//  Number of entries, and entry i (0 <= i < count) in file-name order.
size_t baton__trust_count (const baton_trust_t *self);
const baton_trust_entry_t *baton__trust_at (const baton_trust_t *self, size_t i);

//  The entry for a 32-byte public key, or NULL if the key is not trusted.
//  O(log n). Safe on a NULL store (nothing is trusted).
const baton_trust_entry_t *baton__trust_find (const baton_trust_t *self,
                                              const uint8_t key[BATON_KEY_SIZE]);

//  Every entry of one identity (a function may have several keys while its
//  key rotates): writes up to cap of them to out and returns how many there
//  are in all (may exceed cap).
size_t baton__trust_find_name (const baton_trust_t *self, baton_role_t role, const char *name,
                               const baton_trust_entry_t **out, size_t cap);

//  Safe on NULL; sets *self_p to NULL.
void baton__trust_destroy (baton_trust_t **self_p);

#endif
