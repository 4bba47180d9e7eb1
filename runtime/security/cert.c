/*  cert.c - CURVE certificates in czmq's zcert text format (ZPL, RFC 4 subset):
 *  a strict line parser for the part zcert writes, the writer of the same text,
 *  and atomic saving with the secret file never readable by others.  */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "cert.h"
#include "baton/errors.h"
#include "log.h"

struct baton_cert {
    baton_role_t role;
    bool has_secret;
    char name[BATON_CERT_NAME_MAX + 1];
    uint8_t public_key[BATON_KEY_SIZE];
    uint8_t secret_key[BATON_KEY_SIZE];
    char public_z85[BATON_KEY_Z85_LEN + 1];
    char secret_z85[BATON_KEY_Z85_LEN + 1];
};

//  memset through a volatile pointer, so wiping a secret is never optimised out.
static void *(*const volatile s_memset) (void *, int, size_t) = memset;

static void
s_wipe (void *p, size_t n)
{
    s_memset (p, 0, n);
}

//  --------------------------------------------------------------------------
//  Roles, names, Z85

const char *
baton__role_name (baton_role_t role)
{
    return role == BATON_ROLE_GATEWAY ? "gateway" : role == BATON_ROLE_FUNCTION ? "function" : "?";
}

int
baton__role_parse (const char *text, size_t len, baton_role_t *role)
{
    if (len == 7 && memcmp (text, "gateway", 7) == 0)
        *role = BATON_ROLE_GATEWAY;
    else if (len == 8 && memcmp (text, "function", 8) == 0)
        *role = BATON_ROLE_FUNCTION;
    else
        return BATON_EINVAL;
    return 0;
}

bool
baton__cert_name_valid (const char *name, size_t len)
{
    if (len == 0 || len > BATON_CERT_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static const char s_z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";

//  The value of one Z85 character, or -1.
static int
s_z85_digit (char c)
{
    const char *p = c ? strchr (s_z85_alphabet, c) : NULL;
    return p ? (int) (p - s_z85_alphabet) : -1;
}

//  True if the len characters of s are all Z85 digits.
static bool
s_is_z85 (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s_z85_digit (s[i]) < 0)
            return false;
    return true;
}

int
baton__key_from_z85 (const char *text, size_t len, uint8_t key[BATON_KEY_SIZE])
{
    if (len != BATON_KEY_Z85_LEN)
        return BATON_EINVAL;
    for (size_t g = 0; g < BATON_KEY_Z85_LEN / 5; g++) {
        uint64_t value = 0;
        for (size_t i = 0; i < 5; i++) {
            int d = s_z85_digit (text[g * 5 + i]);
            if (d < 0)
                return BATON_EINVAL;
            value = value * 85 + (uint64_t) d;
        }
        //  Five characters can say more than 32 bits ("%%%%%"): not a key.
        if (value > 0xFFFFFFFFu)
            return BATON_EINVAL;
        if (key)
            for (size_t i = 0; i < 4; i++)
                key[g * 4 + i] = (uint8_t) (value >> (24 - 8 * i));
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Construction and accessors

static baton_cert_t *
s_cert_alloc (baton_role_t role, const char *name, size_t name_len)
{
    baton_cert_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->role = role;
    memcpy (self->name, name, name_len);
    self->name[name_len] = '\0';
    return self;
}

baton_cert_t *
baton__cert_new (baton_role_t role, const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (!baton__cert_name_valid (name, len) ||
        (role != BATON_ROLE_GATEWAY && role != BATON_ROLE_FUNCTION))
        return NULL;
    baton_cert_t *self = s_cert_alloc (role, name, len);
    if (!self)
        return NULL;
    if (zmq_curve_keypair (self->public_z85, self->secret_z85) != 0 ||
        baton__key_from_z85 (self->public_z85, BATON_KEY_Z85_LEN, self->public_key) != 0 ||
        baton__key_from_z85 (self->secret_z85, BATON_KEY_Z85_LEN, self->secret_key) != 0) {
        baton__cert_destroy (&self);
        return NULL;
    }
    self->has_secret = true;
    return self;
}

void
baton__cert_destroy (baton_cert_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_wipe (*self_p, sizeof **self_p);
    free (*self_p);
    *self_p = NULL;
}

baton_role_t
baton__cert_role (const baton_cert_t *cert)
{
    return cert->role;
}

const char *
baton__cert_name (const baton_cert_t *cert)
{
    return cert->name;
}

const uint8_t *
baton__cert_public_key (const baton_cert_t *cert)
{
    return cert->public_key;
}

const char *
baton__cert_public_z85 (const baton_cert_t *cert)
{
    return cert->public_z85;
}

const uint8_t *
baton__cert_secret_key (const baton_cert_t *cert)
{
    return cert->has_secret ? cert->secret_key : NULL;
}

const char *
baton__cert_secret_z85 (const baton_cert_t *cert)
{
    return cert->has_secret ? cert->secret_z85 : NULL;
}

//  --------------------------------------------------------------------------
//  The parser

enum { S_NONE, S_METADATA, S_CURVE };
//  What was seen, one bit each, to refuse repeats and report what is missing.
enum {
    S_SEEN_METADATA = 1 << 0,
    S_SEEN_CURVE = 1 << 1,
    S_SEEN_ROLE = 1 << 2,
    S_SEEN_NAME = 1 << 3,
    S_SEEN_PUBLIC = 1 << 4,
    S_SEEN_SECRET = 1 << 5,
};

typedef struct {
    const char *origin;
    size_t line;
    char *err;
    size_t errlen;
    size_t secret_line; //  where secret-key was, to report a mismatch there
} s_parser_t;

//  Writes "origin:line: what" (or "origin: what" with no line) to p->err.
static void __attribute__ ((format (printf, 2, 3))) s_fail (s_parser_t *p, const char *fmt, ...)
{
    if (!p->err || p->errlen == 0)
        return;
    int n = p->line ? snprintf (p->err, p->errlen, "%s:%zu: ", p->origin, p->line)
                    : snprintf (p->err, p->errlen, "%s: ", p->origin);
    if (n < 0 || (size_t) n >= p->errlen)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (p->err + n, p->errlen - (size_t) n, fmt, ap);
    va_end (ap);
}

//  zconfig's name characters: what a key or section name may be made of.
static bool
s_is_namechar (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr ("$-_@.&+/", c) != NULL;
}

//  Length of the name at the start of s[0..len).
static size_t
s_name_len (const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] && s_is_namechar (s[n]))
        n++;
    return n;
}

//  True if s[0..len) is blank, or blank then a '#' comment.
static bool
s_rest_is_comment (const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    return i == len || s[i] == '#';
}

//  Reads ` = value` from s[0..len), the rest of a key line, as zconfig does:
//  a value in "double" or 'single' quotes may be followed by a comment; an
//  unquoted one ends at '#' and loses its trailing blanks.
static int
s_value (s_parser_t *p, const char *s, size_t len, const char **value, size_t *vlen)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    if (i == len || s[i] != '=') {
        s_fail (p, "expected '=' after the key");
        return BATON_EINVAL;
    }
    i++;
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '"' || s[i] == '\'')) {
        const char *end = memchr (s + i + 1, s[i], len - i - 1);
        if (!end) {
            s_fail (p, "missing closing %c", s[i]);
            return BATON_EINVAL;
        }
        *value = s + i + 1;
        *vlen = (size_t) (end - *value);
        if (!s_rest_is_comment (end + 1, len - (size_t) (end + 1 - s))) {
            s_fail (p, "unexpected text after the closing quote");
            return BATON_EINVAL;
        }
        return 0;
    }
    *value = s + i;
    const char *hash = memchr (s + i, '#', len - i);
    *vlen = hash ? (size_t) (hash - *value) : len - i;
    while (*vlen && (*value)[*vlen - 1] == ' ')
        (*vlen)--;
    return 0;
}

//  Stores key = value of the current section into cert.
static int
s_key (s_parser_t *p, int section, unsigned *seen, const char *key, size_t klen, const char *value,
       size_t vlen, baton_cert_t *cert)
{
    char q[96];
    unsigned bit = 0;
    if (section == S_METADATA && klen == 4 && !memcmp (key, "role", 4)) {
        bit = S_SEEN_ROLE;
        if (baton__role_parse (value, vlen, &cert->role) != 0) {
            s_fail (p, "role is %s: expected \"gateway\" or \"function\"",
                    baton__log_quote (q, sizeof q, value, vlen));
            return BATON_EINVAL;
        }
    } else if (section == S_METADATA && klen == 4 && !memcmp (key, "name", 4)) {
        bit = S_SEEN_NAME;
        if (!baton__cert_name_valid (value, vlen)) {
            s_fail (p,
                    "name %s is not valid: 1 to %d bytes of letters, digits, '.', '_' and '-', "
                    "not starting with '.' or '-'",
                    baton__log_quote (q, sizeof q, value, vlen), BATON_CERT_NAME_MAX);
            return BATON_EINVAL;
        }
        memcpy (cert->name, value, vlen);
        cert->name[vlen] = '\0';
    } else if (section == S_CURVE && klen == 10 &&
               (!memcmp (key, "public-key", 10) || !memcmp (key, "secret-key", 10))) {
        bool secret = key[0] == 's';
        bit = secret ? S_SEEN_SECRET : S_SEEN_PUBLIC;
        if (baton__key_from_z85 (value, vlen, secret ? cert->secret_key : cert->public_key)) {
            //  Never echo what may be a secret key into a log or a terminal.
            s_fail (p, "%s is not a CURVE key: expected 40 characters of Z85 (found %zu bytes)",
                    secret ? "secret-key" : "public-key", vlen);
            return BATON_EINVAL;
        }
        memcpy (secret ? cert->secret_z85 : cert->public_z85, value, vlen);
        if (secret)
            p->secret_line = p->line;
    } else {
        s_fail (p, "unknown key %s in section \"%s\"", baton__log_quote (q, sizeof q, key, klen),
                section == S_METADATA ? "metadata" : "curve");
        return BATON_EINVAL;
    }
    if (*seen & bit) {
        s_fail (p, "%s appears twice", baton__log_quote (q, sizeof q, key, klen));
        return BATON_EINVAL;
    }
    *seen |= bit;
    return 0;
}

//  Parses one line (no newline, trailing blanks removed, not empty).
static int
s_line (s_parser_t *p, const char *s, size_t len, int *section, unsigned *seen, baton_cert_t *cert)
{
    char q[96];
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c < 0x20 || c == 0x7f) {
            s_fail (p, c == '\t' ? "tab: indent with 4 spaces" : "control byte 0x%02x", c);
            return BATON_EINVAL;
        }
    }
    if (s[0] == '#')
        return 0;
    size_t indent = 0;
    while (indent < len && s[indent] == ' ')
        indent++;
    if (indent != 0 && indent != 4) {
        s_fail (p, "indented by %zu spaces: a key is indented by 4, a section by none", indent);
        return BATON_EINVAL;
    }
    size_t nlen = s_name_len (s + indent, len - indent);
    if (nlen == 0) {
        s_fail (p, "expected a %s name, found %s", indent ? "key" : "section",
                baton__log_quote (q, sizeof q, s + indent, len - indent));
        return BATON_EINVAL;
    }
    const char *name = s + indent, *rest = name + nlen;
    size_t rlen = len - indent - nlen;
    if (indent == 0) {
        int which = nlen == 8 && !memcmp (name, "metadata", 8) ? S_METADATA
                    : nlen == 5 && !memcmp (name, "curve", 5)  ? S_CURVE
                                                               : S_NONE;
        //  A mesh key file is one such line: never echo a secret.
        if (which == S_NONE && len == BATON_KEY_Z85_LEN && s_is_z85 (s, len)) {
            s_fail (p,
                    "a line of %d Z85 characters where a section belongs: this looks like "
                    "a mesh key (baton keys mesh), not a certificate; keep it out of the "
                    "trust store",
                    BATON_KEY_Z85_LEN);
            return BATON_EINVAL;
        }
        if (which == S_NONE) {
            s_fail (p, "unknown section %s: expected \"metadata\" or \"curve\"",
                    baton__log_quote (q, sizeof q, name, nlen));
            return BATON_EINVAL;
        }
        if (!s_rest_is_comment (rest, rlen)) {
            s_fail (p, "unexpected text after the section name");
            return BATON_EINVAL;
        }
        unsigned bit = which == S_METADATA ? S_SEEN_METADATA : S_SEEN_CURVE;
        if (*seen & bit) {
            s_fail (p, "section \"%.*s\" appears twice", (int) nlen, name);
            return BATON_EINVAL;
        }
        *seen |= bit;
        *section = which;
        return 0;
    }
    if (*section == S_NONE) {
        s_fail (p, "key outside a section");
        return BATON_EINVAL;
    }
    const char *value;
    size_t vlen;
    if (s_value (p, rest, rlen, &value, &vlen) != 0)
        return BATON_EINVAL;
    return s_key (p, *section, seen, name, nlen, value, vlen, cert);
}

baton_cert_t *
baton__cert_parse (const void *data, size_t len, const char *origin, char *err, size_t errlen)
{
    s_parser_t p = {origin ? origin : "(certificate)", 0, err, errlen, 0};
    if (len > BATON_CERT_MAX_SIZE) {
        s_fail (&p, "larger than %d bytes", BATON_CERT_MAX_SIZE);
        return NULL;
    }
    baton_cert_t *cert = calloc (1, sizeof *cert);
    if (!cert) {
        s_fail (&p, "out of memory");
        return NULL;
    }
    const char *s = data, *end = s + len;
    int section = S_NONE;
    unsigned seen = 0;
    while (s < end) {
        p.line++;
        const char *nl = memchr (s, '\n', (size_t) (end - s));
        size_t n = nl ? (size_t) (nl - s) : (size_t) (end - s);
        if (n > BATON_CERT_MAX_LINE) {
            s_fail (&p, "line longer than %d bytes", BATON_CERT_MAX_LINE);
            goto fail;
        }
        //  zconfig drops trailing blanks; a CR LF file reads as LF.
        size_t trimmed = n;
        while (trimmed && (s[trimmed - 1] == ' ' || s[trimmed - 1] == '\r'))
            trimmed--;
        if (trimmed && s_line (&p, s, trimmed, &section, &seen, cert) != 0)
            goto fail;
        s += n + (nl ? 1 : 0);
    }
    p.line = 0;
    const char *missing = !(seen & S_SEEN_NAME)     ? "metadata/name"
                          : !(seen & S_SEEN_ROLE)   ? "metadata/role"
                          : !(seen & S_SEEN_PUBLIC) ? "curve/public-key"
                                                    : NULL;
    if (missing) {
        s_fail (&p, "no %s: not a Baton certificate", missing);
        goto fail;
    }
    if (seen & S_SEEN_SECRET) {
        char derived[BATON_KEY_Z85_LEN + 1];
        if (zmq_curve_public (derived, cert->secret_z85) != 0 ||
            strcmp (derived, cert->public_z85) != 0) {
            p.line = p.secret_line;
            s_fail (&p, "secret-key does not belong to public-key");
            goto fail;
        }
        cert->has_secret = true;
    }
    return cert;
fail:
    baton__cert_destroy (&cert);
    return NULL;
}

//  --------------------------------------------------------------------------
//  Loading a file

baton_cert_t *
baton__cert_load (const char *path, char *err, size_t errlen)
{
    s_parser_t p = {path, 0, err, errlen, 0};
    baton_cert_t *cert = NULL;
    char *buf = NULL;
    ssize_t got = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        s_fail (&p, "cannot open: %s", strerror (errno));
        return NULL;
    }
    struct stat st;
    if (fstat (fd, &st) != 0) {
        s_fail (&p, "cannot stat: %s", strerror (errno));
        goto out;
    }
    if (!S_ISREG (st.st_mode)) {
        s_fail (&p, "not a regular file");
        goto out;
    }
    if (st.st_size > BATON_CERT_MAX_SIZE) {
        s_fail (&p, "larger than %d bytes", BATON_CERT_MAX_SIZE);
        goto out;
    }
    //  One byte more than the limit, to notice a file that grew since fstat.
    buf = malloc (BATON_CERT_MAX_SIZE + 1);
    if (!buf) {
        s_fail (&p, "out of memory");
        goto out;
    }
    size_t used = 0;
    while (used < BATON_CERT_MAX_SIZE + 1 &&
           (got = read (fd, buf + used, BATON_CERT_MAX_SIZE + 1 - used)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            s_fail (&p, "cannot read: %s", strerror (errno));
            goto out;
        }
        used += (size_t) got;
    }
    cert = baton__cert_parse (buf, used, path, err, errlen);
    if (cert && cert->has_secret) {
        //  Like ssh: a secret that others could read or swap is not a secret.
        if (st.st_uid != geteuid ()) {
            s_fail (&p, "holds a secret key but is owned by uid %lu, not by this user (uid %lu)",
                    (unsigned long) st.st_uid, (unsigned long) geteuid ());
            baton__cert_destroy (&cert);
        } else if (st.st_mode & 077) {
            s_fail (&p,
                    "holds a secret key but its mode is %04o: group and others must have no "
                    "access; run: chmod 600 %s",
                    (unsigned) (st.st_mode & 07777), path);
            baton__cert_destroy (&cert);
        }
    }
out:
    if (buf) {
        s_wipe (buf, BATON_CERT_MAX_SIZE + 1);
        free (buf);
    }
    close (fd);
    return cert;
}

//  --------------------------------------------------------------------------
//  Writing

size_t
baton__cert_format (const baton_cert_t *cert, bool secret, char *buf, size_t cap)
{
    if (secret && !cert->has_secret)
        return 0;
    //  The layout zcert_save writes (zconfig: comments, a blank line, then
    //  sections at column 0 and "    key = \"value\"" lines).
    int n = snprintf (buf, cap,
                      "#   ****  Generated by Baton (baton keys new)  ****\n"
                      "%s"
                      "\n"
                      "metadata\n"
                      "    name = \"%s\"\n"
                      "    role = \"%s\"\n"
                      "curve\n"
                      "    public-key = \"%s\"\n"
                      "%s%s%s",
                      secret ? "#   ZeroMQ CURVE **Secret** Certificate\n"
                               "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
                               "permissions.\n"
                             : "#   ZeroMQ CURVE Public Certificate\n"
                               "#   Exchange securely, or use a secure mechanism to verify the "
                               "contents\n"
                               "#   of this file after exchange.\n",
                      cert->name, baton__role_name (cert->role), cert->public_z85,
                      secret ? "    secret-key = \"" : "", secret ? cert->secret_z85 : "",
                      secret ? "\"\n" : "");
    if (n < 0 || (size_t) n >= cap)
        return 0;
    return (size_t) n;
}

//  Writes text to dir/file with mode: into a fresh temporary file in dir
//  (mkstemp creates it 0600 whatever the umask), then link(2) to the name
//  (fails with EEXIST: no overwrite) or rename(2) over it (force).
static int
s_write_file (const char *dir, const char *file, const char *text, size_t len, mode_t mode,
              bool force, char *err, size_t errlen)
{
    char path[4096], tmp[4096];
    s_parser_t ctx = {path, 0, err, errlen, 0}, *p = &ctx;
    int rc = BATON_ESYS, fd = -1;
    if ((size_t) snprintf (path, sizeof path, "%s/%s", dir, file) >= sizeof path ||
        (size_t) snprintf (tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, file) >= sizeof tmp) {
        ctx.origin = dir;
        s_fail (p, "path too long");
        errno = ENAMETOOLONG;
        return BATON_ESYS;
    }
    fd = mkstemp (tmp);
    if (fd < 0) {
        s_fail (p, "cannot create a file in %s: %s", dir, strerror (errno));
        return BATON_ESYS;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write (fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s_fail (p, "cannot write: %s", strerror (errno));
            goto out;
        }
        done += (size_t) w;
    }
    if (fchmod (fd, mode) != 0 || fsync (fd) != 0) {
        s_fail (p, "cannot write: %s", strerror (errno));
        goto out;
    }
    if (force ? rename (tmp, path) != 0 : link (tmp, path) != 0) {
        int e = errno;
        if (e == EEXIST)
            s_fail (p, "exists already (use --force to replace it)");
        else
            s_fail (p, "cannot create: %s", strerror (e));
        errno = e;
        goto out;
    }
    rc = 0;
out:;
    int e = errno;
    close (fd);
    //  After a rename the temporary name is gone and this fails harmlessly.
    unlink (tmp);
    errno = e;
    return rc;
}

int
baton__cert_save (const baton_cert_t *cert, const char *dir, bool force, char *err, size_t errlen)
{
    s_parser_t p = {dir, 0, err, errlen, 0};
    char text[1024], file[BATON_CERT_NAME_MAX + 16], secret_file[BATON_CERT_NAME_MAX + 16];
    snprintf (file, sizeof file, "%s.key", cert->name);
    snprintf (secret_file, sizeof secret_file, "%s.key_secret", cert->name);
    if (!force) {
        //  Refuse before writing anything rather than leave half a pair.
        const char *names[2] = {file, secret_file};
        for (int i = 0; i < 2; i++) {
            char path[4096];
            struct stat st;
            snprintf (path, sizeof path, "%s/%s", dir, names[i]);
            if (lstat (path, &st) == 0) {
                p.origin = path;
                s_fail (&p, "exists already (use --force to replace it)");
                errno = EEXIST;
                return BATON_ESYS;
            }
        }
    }
    int rc = 0;
    if (cert->has_secret) {
        size_t n = baton__cert_format (cert, true, text, sizeof text);
        rc = s_write_file (dir, secret_file, text, n, 0600, force, err, errlen);
        s_wipe (text, sizeof text);
        if (rc != 0)
            return rc;
    }
    size_t n = baton__cert_format (cert, false, text, sizeof text);
    rc = s_write_file (dir, file, text, n, 0644, force, err, errlen);
    if (rc != 0 && cert->has_secret && !force) {
        //  We created the secret file a moment ago: do not leave it without
        //  its public half.
        int e = errno;
        char path[4096];
        snprintf (path, sizeof path, "%s/%s", dir, secret_file);
        unlink (path);
        errno = e;
    }
    return rc;
}
