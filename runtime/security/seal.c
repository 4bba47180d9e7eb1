/*  seal.c - keyed BLAKE2b-256 over length-framed fields (the framing is in
 *  docs/security.md, "Sealed routes"), and the mesh key's file: made, saved
 *  owner-only, read strictly.  */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "seal.h"
#include "cert.h"

//  The hash is keyed with the mesh key and 32 bytes long: libsodium's
//  defaults for crypto_generichash, said here so a change there is seen.
_Static_assert(crypto_generichash_KEYBYTES == BATON_MESH_KEY_SIZE, "mesh key size");
_Static_assert(crypto_generichash_BYTES == BATON_SEAL_SIZE, "seal size");
_Static_assert(BATON_MESH_KEY_SIZE == BATON_KEY_SIZE, "a mesh key is written like a CURVE key");

//  --------------------------------------------------------------------------
//  The seal

static void
s_flush (baton_seal_t *self)
{
    if (!self->streaming)
        crypto_generichash_init (&self->state, self->key, BATON_MESH_KEY_SIZE, BATON_SEAL_SIZE);
    self->streaming = true;
    crypto_generichash_update (&self->state, self->buf, self->used);
    self->used = 0;
}

static void
s_put (baton_seal_t *self, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len <= sizeof self->buf - self->used) {
        memcpy (self->buf + self->used, p, len);
        self->used += len;
        return;
    }
    while (len) {
        if (self->used == sizeof self->buf)
            s_flush (self);
        size_t n = sizeof self->buf - self->used;
        n = n < len ? n : len;
        memcpy (self->buf + self->used, p, n);
        self->used += n;
        p += n;
        len -= n;
    }
}

int
baton__seal_setup (void)
{
    return sodium_init () < 0 ? -1 : 0;
}

void
baton__seal_begin (baton_seal_t *self, const uint8_t key[BATON_MESH_KEY_SIZE])
{
    self->key = key;
    self->streaming = false;
    self->used = 0;
    s_put (self, BATON_SEAL_MAGIC, sizeof BATON_SEAL_MAGIC - 1);
}

//  Room for n (at most sizeof buf) more bytes in buf: where they go.
static inline uint8_t *
s_room (baton_seal_t *self, size_t n)
{
    if (n > sizeof self->buf - self->used)
        s_flush (self);
    uint8_t *at = self->buf + self->used;
    self->used += n;
    return at;
}

void
baton__seal_uint (baton_seal_t *self, uint64_t value)
{
    uint8_t *b = s_room (self, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t) (value >> (56 - 8 * i));
}

void
baton__seal_count (baton_seal_t *self, size_t count)
{
    assert (count <= UINT32_MAX);
    uint8_t *b = s_room (self, 4);
    b[0] = (uint8_t) (count >> 24);
    b[1] = (uint8_t) (count >> 16);
    b[2] = (uint8_t) (count >> 8);
    b[3] = (uint8_t) count;
}

void
baton__seal_str (baton_seal_t *self, const void *data, size_t len)
{
    baton__seal_count (self, len);
    if (len)
        s_put (self, data, len);
}

void
baton__seal_end (baton_seal_t *self, uint8_t out[BATON_SEAL_SIZE])
{
    //  Either call wipes what it derived from the key; buf holds only
    //  envelope fields.
    if (!self->streaming) {
        crypto_generichash (out, BATON_SEAL_SIZE, self->buf, self->used, self->key,
                            BATON_MESH_KEY_SIZE);
        return;
    }
    s_flush (self);
    crypto_generichash_final (&self->state, out, BATON_SEAL_SIZE);
}

bool
baton__seal_equal (const uint8_t a[BATON_SEAL_SIZE], const uint8_t b[BATON_SEAL_SIZE])
{
    return sodium_memcmp (a, b, BATON_SEAL_SIZE) == 0;
}

//  --------------------------------------------------------------------------
//  The mesh key's file

int
baton__mesh_key_new (uint8_t key[BATON_MESH_KEY_SIZE])
{
    if (baton__seal_setup () < 0)
        return -1;
    crypto_generichash_keygen (key);
    return 0;
}

int
baton__mesh_key_save (const uint8_t key[BATON_MESH_KEY_SIZE], const char *path, bool force,
                      char *err, size_t errlen)
{
    char z85[BATON_KEY_Z85_LEN + 1], text[256];
    if (!zmq_z85_encode (z85, key, BATON_MESH_KEY_SIZE)) {
        snprintf (err, errlen, "%s: cannot encode the key", path);
        return -1;
    }
    int len = snprintf (text, sizeof text,
                        "#   Baton mesh key (baton keys mesh): seals routes. Keep it secret.\n"
                        "%s\n",
                        z85);
    sodium_memzero (z85, sizeof z85);
    int rc = -1;
    //  Replacing unlinks first: O_EXCL then never follows a link an
    //  attacker left, and the file is created 0600 whatever was there.
    if (force && unlink (path) != 0 && errno != ENOENT) {
        snprintf (err, errlen, "%s: cannot replace: %s", path, strerror (errno));
        goto out;
    }
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf (err, errlen, "%s: %s", path,
                  e == EEXIST ? "exists already (use --force to replace it)" : strerror (e));
        errno = e;
        goto out;
    }
    size_t done = 0;
    while (done < (size_t) len) {
        ssize_t w = write (fd, text + done, (size_t) len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        done += (size_t) w;
    }
    if (done < (size_t) len || fchmod (fd, 0600) != 0 || fsync (fd) != 0) {
        int e = errno;
        snprintf (err, errlen, "%s: cannot write: %s", path, strerror (e));
        close (fd);
        unlink (path);
        errno = e;
        goto out;
    }
    close (fd);
    rc = 0;
out:
    sodium_memzero (text, sizeof text);
    return rc;
}

//  Finds the one key line in text[0..len) and decodes it into key.
static int
s_parse (const char *path, const char *text, size_t len, uint8_t key[BATON_MESH_KEY_SIZE],
         char *err, size_t errlen)
{
    size_t line = 0, key_line = 0;
    for (const char *s = text, *end = text + len; s < end;) {
        line++;
        const char *nl = memchr (s, '\n', (size_t) (end - s));
        size_t n = nl ? (size_t) (nl - s) : (size_t) (end - s);
        const char *next = s + n + (nl ? 1 : 0);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
            n--;
        if (n == 0 || s[0] == '#') {
            s = next;
            continue;
        }
        if (key_line) {
            snprintf (err, errlen, "%s:%zu: a second key (the first is on line %zu)", path, line,
                      key_line);
            return -1;
        }
        //  Never echo what may be a secret into a log or a terminal.
        if (baton__key_from_z85 (s, n, key) != 0) {
            snprintf (err, errlen,
                      "%s:%zu: not a mesh key: expected 40 characters of Z85 (found %zu bytes)",
                      path, line, n);
            return -1;
        }
        key_line = line;
        s = next;
    }
    if (!key_line) {
        snprintf (err, errlen, "%s: holds no key (make one with: baton keys mesh %s)", path, path);
        return -1;
    }
    return 0;
}

int
baton__mesh_key_load (const char *path, uint8_t key[BATON_MESH_KEY_SIZE], char *err, size_t errlen)
{
    char buf[BATON_MESH_KEY_MAX_FILE + 1];
    size_t used = 0;
    int rc = -1;
    if (baton__seal_setup () < 0) {
        snprintf (err, errlen, "%s: libsodium cannot start", path);
        return -1;
    }
    //  O_NONBLOCK: a FIFO is refused below instead of waiting for a writer.
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        snprintf (err, errlen, "%s: not a regular file", path);
        goto out;
    }
    //  Like a secret certificate (and ssh): a key others could read or swap
    //  is not a secret.
    if (st.st_uid != geteuid ()) {
        snprintf (err, errlen,
                  "%s: holds a secret key but is owned by uid %lu, not by this user (uid %lu)",
                  path, (unsigned long) st.st_uid, (unsigned long) geteuid ());
        goto out;
    }
    if (st.st_mode & 077) {
        snprintf (err, errlen,
                  "%s: holds a secret key but its mode is %04o: group and others must have no "
                  "access; run: chmod 600 %s",
                  path, (unsigned) (st.st_mode & 07777), path);
        goto out;
    }
    //  One byte past the limit, to notice a file that grew since fstat.
    while (used <= BATON_MESH_KEY_MAX_FILE) {
        ssize_t n = read (fd, buf + used, sizeof buf - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf (err, errlen, "%s: cannot read: %s", path, strerror (errno));
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t) n;
    }
    if (used > BATON_MESH_KEY_MAX_FILE) {
        snprintf (err, errlen, "%s: larger than %d bytes", path, BATON_MESH_KEY_MAX_FILE);
        goto out;
    }
    rc = s_parse (path, buf, used, key, err, errlen);
out:
    sodium_memzero (buf, sizeof buf);
    close (fd);
    return rc;
}
