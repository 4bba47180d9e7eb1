/*  seal.h - the seal of an envelope's route (docs/security.md, "Sealed
 *  routes"): keyed BLAKE2b-256 (libsodium) with the mesh key over canonical
 *  bytes the gateway writes once and every hop that has the key checks.  */
#ifndef BATON_SECURITY_SEAL_H
#define BATON_SECURITY_SEAL_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  A mesh key: 32 bytes, kept in a file as 40 characters of Z85.
#define BATON_MESH_KEY_SIZE 32
//  A seal: 32 bytes.
#define BATON_SEAL_SIZE 32
//  What the canonical bytes start with: the version of their framing.
#define BATON_SEAL_MAGIC "baton-seal-1"
//  Largest mesh key file accepted.
#define BATON_MESH_KEY_MAX_FILE 4096

//  The seal being computed: fields are framed into buf, hashed in one call
//  when they fit (an envelope's usually do), else a buffer at a time
//  through state. On the stack; no allocation.
typedef struct {
    const uint8_t *key;
    bool streaming; //  state is in use: buf overflowed once
    size_t used;
    crypto_generichash_state state;
    uint8_t buf[512];
} baton_seal_t;

//  Readies libsodium (and picks its fastest BLAKE2b for this CPU): call it
//  before the first seal. baton__mesh_key_new and _load call it. Thread-safe
//  and idempotent. Returns 0, or -1 if libsodium cannot start.
int baton__seal_setup (void);

//  Starts a seal with key (borrowed until baton__seal_end): hashes
//  BATON_SEAL_MAGIC. Never fails.
void baton__seal_begin (baton_seal_t *self, const uint8_t key[BATON_MESH_KEY_SIZE]);

//  Adds an integer: 8 bytes, big-endian.
void baton__seal_uint (baton_seal_t *self, uint64_t value);

//  Adds a count (of entries, of branches): 4 bytes, big-endian. count must
//  fit in 32 bits.
void baton__seal_count (baton_seal_t *self, size_t count);

//  Adds a string or bytes: their length as a count, then them. len must fit
//  in 32 bits (an envelope's strings are far shorter).
void baton__seal_str (baton_seal_t *self, const void *data, size_t len);

//  Finishes the seal into out; the state holds no key material after.
void baton__seal_end (baton_seal_t *self, uint8_t out[BATON_SEAL_SIZE]);

//  True if the two seals are equal; takes the same time whatever they hold.
bool baton__seal_equal (const uint8_t a[BATON_SEAL_SIZE], const uint8_t b[BATON_SEAL_SIZE]);

//  Makes a new random mesh key (libsodium's generator). Returns 0, or -1 if
//  libsodium cannot start.
int baton__mesh_key_new (uint8_t key[BATON_MESH_KEY_SIZE]);

//  Writes key to a new file at path, mode 0600: one comment line and the
//  key in Z85. Without force an existing file is left alone and the call
//  fails with errno EEXIST; with force it is replaced. Returns 0, or -1 with
//  "path: what" in err (errlen bytes).
int baton__mesh_key_save (const uint8_t key[BATON_MESH_KEY_SIZE], const char *path, bool force,
                          char *err, size_t errlen);

//  Reads the mesh key file at path into key: a regular file of at most
//  BATON_MESH_KEY_MAX_FILE bytes, owned by this user with no group or other
//  permission (like a secret certificate), holding '#' comment lines, blank
//  lines and exactly one line of 40 Z85 characters. Returns 0, or -1 with
//  "path[:line]: what" in err (errlen bytes); never echoes key material.
int baton__mesh_key_load (const char *path, uint8_t key[BATON_MESH_KEY_SIZE], char *err,
                          size_t errlen);

#endif
