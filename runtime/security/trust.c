/*  trust.c - the trust store: loads the public certificates of a directory,
 *  keeps them in file-name order for listing and in key order for lookups.  */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trust.h"

struct baton_trust {
    char *dir;
    size_t count;
    baton_trust_entry_t *entries; //  by file name
    baton_trust_entry_t **by_key; //  the same, by key
    char **files;                 //  the entries' paths, owned here
};

//  Appends one line to err (errlen bytes): problems accumulate.
static void __attribute__ ((format (printf, 3, 4)))
s_report (char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    size_t used = strnlen (err, errlen);
    if (used + 1 >= errlen)
        return;
    if (used) {
        err[used++] = '\n';
        err[used] = '\0';
    }
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err + used, errlen - used, fmt, ap);
    va_end (ap);
}

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
s_cmp_key (const void *a, const void *b)
{
    const baton_trust_entry_t *x = *(baton_trust_entry_t *const *) a,
                              *y = *(baton_trust_entry_t *const *) b;
    return memcmp (x->key, y->key, BATON_KEY_SIZE);
}

//  True for "X.key" with X not empty.
static bool
s_is_public_cert (const char *file)
{
    size_t n = strlen (file);
    return n > 4 && strcmp (file + n - 4, ".key") == 0;
}

//  Collects the names of dir's public certificate files, sorted.
static int
s_list (baton_trust_t *self, char *err, size_t errlen)
{
    DIR *d = opendir (self->dir);
    if (!d) {
        s_report (err, errlen, "%s: cannot open the trust store: %s", self->dir, strerror (errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir (d)) != NULL) {
        if (!s_is_public_cert (de->d_name))
            continue;
        if (self->count == BATON_TRUST_MAX_ENTRIES) {
            s_report (err, errlen, "%s: more than %d certificates", self->dir,
                      BATON_TRUST_MAX_ENTRIES);
            rc = -1;
            break;
        }
        if (self->count == cap) {
            cap = cap ? cap * 2 : 16;
            char **files = realloc (self->files, cap * sizeof *files);
            if (!files) {
                s_report (err, errlen, "%s: out of memory", self->dir);
                rc = -1;
                break;
            }
            self->files = files;
        }
        size_t len = strlen (self->dir) + 1 + strlen (de->d_name) + 1;
        char *path = malloc (len);
        if (!path) {
            s_report (err, errlen, "%s: out of memory", self->dir);
            rc = -1;
            break;
        }
        snprintf (path, len, "%s/%s", self->dir, de->d_name);
        self->files[self->count++] = path;
    }
    closedir (d);
    if (self->count)
        qsort (self->files, self->count, sizeof *self->files, s_cmp_str);
    return rc;
}

//  Reads every listed file into entries; reports each one that fails.
static int
s_read (baton_trust_t *self, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < self->count; i++) {
        char why[BATON_CERT_ERROR_MAX + 4096];
        baton_cert_t *cert = baton__cert_load (self->files[i], why, sizeof why);
        if (!cert) {
            s_report (err, errlen, "%s", why);
            rc = -1;
            continue;
        }
        if (baton__cert_secret_key (cert)) {
            s_report (err, errlen,
                      "%s: holds a secret key: a trust store takes public certificates only "
                      "(NAME.key, never NAME.key_secret)",
                      self->files[i]);
            rc = -1;
        }
        baton_trust_entry_t *e = &self->entries[i];
        memcpy (e->key, baton__cert_public_key (cert), BATON_KEY_SIZE);
        memcpy (e->key_z85, baton__cert_public_z85 (cert), sizeof e->key_z85);
        e->role = baton__cert_role (cert);
        snprintf (e->name, sizeof e->name, "%s", baton__cert_name (cert));
        e->file = self->files[i];
        self->by_key[i] = e;
        baton__cert_destroy (&cert);
    }
    return rc;
}

//  Sorts by key and refuses one key under two identities.
static int
s_index (baton_trust_t *self, char *err, size_t errlen)
{
    int rc = 0;
    qsort (self->by_key, self->count, sizeof *self->by_key, s_cmp_key);
    for (size_t i = 1; i < self->count; i++) {
        const baton_trust_entry_t *a = self->by_key[i - 1], *b = self->by_key[i];
        if (memcmp (a->key, b->key, BATON_KEY_SIZE) == 0 &&
            (a->role != b->role || strcmp (a->name, b->name) != 0)) {
            s_report (err, errlen, "%s: key %s is also in %s as %s \"%s\": one key, one identity",
                      b->file, b->key_z85, a->file, baton__role_name (a->role), a->name);
            rc = -1;
        }
    }
    return rc;
}

baton_trust_t *
baton__trust_load (const char *dir, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    baton_trust_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        s_report (err, errlen, "%s: out of memory", dir);
        goto fail;
    }
    if (s_list (self, err, errlen) != 0)
        goto fail;
    self->entries = calloc (self->count ? self->count : 1, sizeof *self->entries);
    self->by_key = calloc (self->count ? self->count : 1, sizeof *self->by_key);
    if (!self->entries || !self->by_key) {
        s_report (err, errlen, "%s: out of memory", dir);
        goto fail;
    }
    //  s_read goes on past a bad file, so one load reports all of them.
    int rc = s_read (self, err, errlen);
    if (rc == 0)
        rc = s_index (self, err, errlen);
    if (rc != 0)
        goto fail;
    return self;
fail:
    baton__trust_destroy (&self);
    return NULL;
}

const char *
baton__trust_dir (const baton_trust_t *self)
{
    return self->dir;
}

size_t
baton__trust_count (const baton_trust_t *self)
{
    return self->count;
}

const baton_trust_entry_t *
baton__trust_at (const baton_trust_t *self, size_t i)
{
    return i < self->count ? &self->entries[i] : NULL;
}

const baton_trust_entry_t *
baton__trust_find (const baton_trust_t *self, const uint8_t key[BATON_KEY_SIZE])
{
    if (!self)
        return NULL;
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp (key, self->by_key[mid]->key, BATON_KEY_SIZE);
        if (c == 0)
            return self->by_key[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t
baton__trust_find_name (const baton_trust_t *self, baton_role_t role, const char *name,
                        const baton_trust_entry_t **out, size_t cap)
{
    size_t found = 0;
    for (size_t i = 0; self && i < self->count; i++) {
        const baton_trust_entry_t *e = &self->entries[i];
        if (e->role == role && strcmp (e->name, name) == 0) {
            if (found < cap)
                out[found] = e;
            found++;
        }
    }
    return found;
}

void
baton__trust_destroy (baton_trust_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_trust_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free (self->files[i]);
    free (self->files);
    free (self->entries);
    free (self->by_key);
    free (self->dir);
    free (self);
    *self_p = NULL;
}
