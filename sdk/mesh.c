/*  mesh.c - the security mode of a worker, the trust store and ZAP handler
 *  of its ZeroMQ context, and the endpoint and key checks of each hop.
 *  Everything that reads the environment or a file here reports why it
 *  refused in words that name the fix.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "baton/errors.h"
#include "mesh.h"
#include "zap.h"

struct baton__mesh {
    char *dir;
    baton_trust_t *trust;
    baton_zap_t *zap;
};

//  --- the mode ------------------------------------------------------------------------

static const char *
s_env (const char *key)
{
    const char *v = getenv (key);
    return v && *v ? v : NULL;
}

int
baton__security_resolve (const char *cert, const char *trust, bool insecure, baton__security_t *out,
                         char *err, size_t errlen)
{
    out->cert = cert && *cert ? cert : s_env ("BATON_CERT");
    out->trust = trust && *trust ? trust : s_env ("BATON_TRUST");
    const char *mode = s_env ("BATON_SECURITY");
    if (mode && strcmp (mode, "insecure") != 0 && strcmp (mode, "curve") != 0) {
        snprintf (err, errlen, "BATON_SECURITY must be curve or insecure");
        return BATON_ECONFIG;
    }
    out->insecure = insecure || (mode && strcmp (mode, "insecure") == 0);
    if (!out->cert != !out->trust) {
        snprintf (err, errlen,
                  "%s is set but %s is not: CURVE needs both, the function's secret "
                  "certificate (BATON_CERT=DIR/NAME.key_secret) and the trust-store directory "
                  "(BATON_TRUST=DIR)",
                  out->cert ? "the certificate (BATON_CERT)" : "the trust store (BATON_TRUST)",
                  out->cert ? "the trust store (BATON_TRUST)" : "the certificate (BATON_CERT)");
        return BATON_ECONFIG;
    }
    if (out->cert && out->insecure) {
        snprintf (err, errlen,
                  "CURVE (BATON_CERT, BATON_TRUST) and insecure plaintext "
                  "(BATON_SECURITY=insecure) are both asked for: choose one");
        return BATON_ECONFIG;
    }
    if (!out->cert && mode && strcmp (mode, "curve") == 0) {
        snprintf (err, errlen, "BATON_SECURITY=curve needs BATON_CERT and BATON_TRUST");
        return BATON_ECONFIG;
    }
    return 0;
}

static bool
s_prefix (const char *s, size_t len, const char *prefix)
{
    size_t n = strlen (prefix);
    return len >= n && memcmp (s, prefix, n) == 0;
}

static bool
s_is (const char *s, size_t len, const char *word)
{
    return len == strlen (word) && memcmp (s, word, len) == 0;
}

bool
baton__endpoint_local (const char *endpoint, size_t len)
{
    if (s_prefix (endpoint, len, "ipc://") || s_prefix (endpoint, len, "inproc://"))
        return true;
    if (!s_prefix (endpoint, len, "tcp://"))
        return false;
    const char *p = endpoint + 6, *end = endpoint + len;
    //  "tcp://source;peer:port": the peer is what the connection reaches.
    const char *semi = memchr (p, ';', (size_t) (end - p));
    if (semi)
        p = semi + 1;
    const char *colon = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == ':')
            colon = q;
    if (!colon)
        return false;
    size_t n = (size_t) (colon - p);
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
    }
    if (s_is (p, n, "localhost") || s_is (p, n, "::1"))
        return true;
    //  127.0.0.0/8, written as a dotted quad.
    if (!s_prefix (p, n, "127.") || n > 15)
        return false;
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.')
            dots++;
        else if (p[i] < '0' || p[i] > '9')
            return false;
    }
    return dots == 3 && p[n - 1] != '.';
}

baton_cert_t *
baton__mesh_cert_load (const char *path, const char *name, char *err, size_t errlen)
{
    baton_cert_t *cert = baton__cert_load (path, err, errlen);
    if (!cert)
        return NULL;
    if (!baton__cert_secret_key (cert))
        snprintf (err, errlen,
                  "%s: a public certificate: BATON_CERT must be the function's secret "
                  "certificate (NAME.key_secret)",
                  path);
    else if (baton__cert_role (cert) != BATON_ROLE_FUNCTION)
        snprintf (err, errlen,
                  "%s: the certificate's role is %s, a function needs one of role function "
                  "(baton keys new %s --role function)",
                  path, baton__role_name (baton__cert_role (cert)), name);
    else if (strcmp (baton__cert_name (cert), name) != 0)
        snprintf (err, errlen,
                  "%s: the certificate is named '%s', this function '%s': every replica of a "
                  "function uses a certificate of the function's name",
                  path, baton__cert_name (cert), name);
    else
        return cert;
    baton__cert_destroy (&cert);
    return NULL;
}

//  --- the store and the handler of a context ----------------------------------------------

baton__mesh_t *
baton__mesh_new (void *zctx, const char *trust_dir, char *err, size_t errlen)
{
    baton__mesh_t *self = (baton__mesh_t *) calloc (1, sizeof *self);
    size_t n = strlen (trust_dir);
    if (!self || !(self->dir = (char *) malloc (n + 1))) {
        snprintf (err, errlen, "out of memory");
        goto fail;
    }
    memcpy (self->dir, trust_dir, n + 1);
    self->trust = baton__trust_load (trust_dir, err, errlen);
    if (!self->trust)
        goto fail;
    self->zap = baton__zap_new (zctx, self->trust, err, errlen);
    if (!self->zap)
        goto fail;
    return self;
fail:
    baton__mesh_destroy (&self);
    return NULL;
}

void
baton__mesh_destroy (baton__mesh_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton__mesh_t *self = *self_p;
    baton__zap_destroy (&self->zap);
    baton__trust_destroy (&self->trust);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

const char *
baton__mesh_dir (const baton__mesh_t *self)
{
    return self->dir;
}

int
baton__mesh_watch (baton__mesh_t *self, void *socket)
{
    return baton__zap_watch (self->zap, socket);
}

uint64_t
baton__mesh_refused (const baton__mesh_t *self)
{
    return baton__zap_refused (self->zap);
}

//  --- keys ------------------------------------------------------------------------------------

static const baton_trust_entry_t *
s_find (const baton__mesh_t *self, baton_slice_t key)
{
    if (key.len != BATON_KEY_SIZE)
        return NULL;
    return baton__trust_find (self->trust, (const uint8_t *) key.ptr);
}

bool
baton__mesh_is_gateway (const baton__mesh_t *self, baton_slice_t key)
{
    const baton_trust_entry_t *e = s_find (self, key);
    return e && e->role == BATON_ROLE_GATEWAY;
}

bool
baton__mesh_is_function (const baton__mesh_t *self, baton_slice_t key, baton_slice_t name)
{
    const baton_trust_entry_t *e = s_find (self, key);
    return e && e->role == BATON_ROLE_FUNCTION && s_is (name.ptr, name.len, e->name);
}

int
baton__mesh_gateway_key (const baton__mesh_t *self, const char *name, uint8_t key[BATON_KEY_SIZE],
                         char *err, size_t errlen)
{
    const baton_trust_entry_t *found = NULL;
    size_t count = 0;
    if (name)
        count = baton__trust_find_name (self->trust, BATON_ROLE_GATEWAY, name, &found, 1);
    else
        for (size_t i = 0; i < baton__trust_count (self->trust); i++) {
            const baton_trust_entry_t *e = baton__trust_at (self->trust, i);
            if (e->role == BATON_ROLE_GATEWAY && count++ == 0)
                found = e;
        }
    if (count == 1) {
        memcpy (key, found->key, BATON_KEY_SIZE);
        return 0;
    }
    if (name)
        snprintf (err, errlen, "the trust store %s holds %zu keys of gateway '%s', not one%s",
                  self->dir, count, name,
                  count ? ": keep only the key that gateway serves with" : "");
    else
        snprintf (err, errlen,
                  "the trust store %s holds %zu gateway keys, not one: name the gateway of each "
                  "control endpoint in BATON_GATEWAY as NAME@tcp://host:port",
                  self->dir, count);
    return BATON_ECONFIG;
}
