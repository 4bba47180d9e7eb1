/*  keys.c - "baton keys new NAME --role R --dir DIR" makes a certificate pair,
 *  "baton keys list --dir DIR" prints a trust store as a table or JSON,
 *  "baton keys mesh FILE" makes the mesh key that seals routes.  */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "keys.h"
#include "cert.h"
#include "seal.h"
#include "trust.h"

static void
s_usage (FILE *out)
{
    fputs ("usage: baton keys new NAME --role gateway|function --dir DIR [--force]\n"
           "       baton keys list --dir DIR [--json]\n"
           "       baton keys mesh FILE [--force]\n"
           "Makes CURVE certificates for gateways and functions (czmq's zcert format),\n"
           "lists a trust store (a directory of public certificates), and makes the\n"
           "mesh key that seals routes (security.mesh_key, BATON_MESH_KEY).\n"
           "\n"
           "  new NAME          writes DIR/NAME.key, the public certificate (mode 0644:\n"
           "                    copy it into the trust store of every peer), and\n"
           "                    DIR/NAME.key_secret (mode 0600: it stays on this host)\n"
           "  list              prints every certificate of the trust store DIR\n"
           "  mesh FILE         writes a new random mesh key to FILE (mode 0600: give it\n"
           "                    to the gateway and to every function, and to no one else)\n"
           "  -r, --role ROLE   gateway or function (new)\n"
           "  -d, --dir DIR     the directory; new creates it (mode 0700) if missing\n"
           "  -f, --force       replace existing files (new, mesh)\n"
           "      --json        print one JSON array (list)\n"
           "  -h, --help        show this help\n"
           "\n"
           "NAME is 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'.\n"
           "Exit status: 0 done; 1 failed (a file exists, the store is invalid: the reason\n"
           "is on stderr); 2 usage error. Docs: docs/security.md\n",
           out);
}

//  Matches "--long VALUE", "--long=VALUE", "-s VALUE" at argv[*i] and moves
//  *i past them. Returns 1 matched, 0 not this option, -1 value missing.
static int
s_option (int argc, char **argv, int *i, const char *shrt, const char *lng, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen (lng);
    if (!strncmp (arg, lng, n) && arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (strcmp (arg, lng) != 0 && strcmp (arg, shrt) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf (stderr, "baton keys: %s needs a value\n", arg);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

//  Writes s as a JSON string.
static void
s_json_string (const char *s)
{
    putchar ('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\')
            printf ("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf ("\\u%04x", c);
        else
            putchar (c);
    }
    putchar ('"');
}

static void
s_print_table (const baton_trust_t *trust)
{
    size_t count = baton__trust_count (trust), wn = 4;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen (baton__trust_at (trust, i)->name);
        wn = n > wn ? n : wn;
    }
    printf ("%s: %zu certificate%s\n", baton__trust_dir (trust), count, count == 1 ? "" : "s");
    if (count)
        printf ("%-*s  %-8s  %-*s  %s\n", (int) wn, "NAME", "ROLE", BATON_KEY_Z85_LEN, "PUBLIC KEY",
                "FILE");
    for (size_t i = 0; i < count; i++) {
        const baton_trust_entry_t *e = baton__trust_at (trust, i);
        printf ("%-*s  %-8s  %s  %s\n", (int) wn, e->name, baton__role_name (e->role), e->key_z85,
                e->file);
    }
}

static void
s_print_json (const baton_trust_t *trust)
{
    putchar ('[');
    for (size_t i = 0; i < baton__trust_count (trust); i++) {
        const baton_trust_entry_t *e = baton__trust_at (trust, i);
        printf ("%s{\"name\":", i ? "," : "");
        s_json_string (e->name);
        printf (",\"role\":\"%s\",\"public_key\":", baton__role_name (e->role));
        s_json_string (e->key_z85);
        printf (",\"file\":");
        s_json_string (e->file);
        putchar ('}');
    }
    printf ("]\n");
}

static int
s_list (const char *dir, bool json)
{
    char err[16384];
    baton_trust_t *trust = baton__trust_load (dir, err, sizeof err);
    if (!trust) {
        fprintf (stderr, "%s\nbaton keys: %s is not a valid trust store\n", err, dir);
        return 1;
    }
    if (json)
        s_print_json (trust);
    else
        s_print_table (trust);
    fflush (stdout);
    baton__trust_destroy (&trust);
    return 0;
}

static int
s_new (const char *name, const char *role_text, const char *dir, bool force)
{
    baton_role_t role;
    if (!baton__cert_name_valid (name, strlen (name))) {
        fprintf (stderr,
                 "baton keys: \"%s\" is not a valid name: 1 to %d letters, digits, '.', '_' or "
                 "'-', not starting with '.' or '-'\n",
                 name, BATON_CERT_NAME_MAX);
        return 2;
    }
    if (baton__role_parse (role_text, strlen (role_text), &role) != 0) {
        fprintf (stderr, "baton keys: --role is \"gateway\" or \"function\", not \"%s\"\n",
                 role_text);
        return 2;
    }
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        fprintf (stderr, "baton keys: cannot create %s: %s\n", dir, strerror (errno));
        return 1;
    }
    baton_cert_t *cert = baton__cert_new (role, name);
    if (!cert) {
        fprintf (stderr, "baton keys: cannot make a CURVE keypair (libzmq without CURVE?)\n");
        return 1;
    }
    char err[BATON_CERT_ERROR_MAX + 4096];
    int rc = 0;
    if (baton__cert_save (cert, dir, force, err, sizeof err) != 0) {
        fprintf (stderr, "baton keys: %s\n", err);
        rc = 1;
    } else {
        printf ("%s \"%s\": public key %s\n"
                "  public certificate: %s/%s.key (copy it into the trust store of each peer)\n"
                "  secret certificate: %s/%s.key_secret (mode 0600: it stays on this host)\n",
                baton__role_name (role), name, baton__cert_public_z85 (cert), dir, name, dir, name);
    }
    baton__cert_destroy (&cert);
    return rc;
}

//  "baton keys mesh FILE [--force]".
static int
s_mesh (int argc, char **argv)
{
    const char *file = NULL;
    bool force = false;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp (arg, "-h") || !strcmp (arg, "--help")) {
            s_usage (stdout);
            return 0;
        }
        if (!strcmp (arg, "-f") || !strcmp (arg, "--force"))
            force = true;
        else if (!file && arg[0] != '-' && arg[0])
            file = arg;
        else {
            fprintf (stderr, "baton keys mesh: unexpected argument \"%s\"\n", arg);
            s_usage (stderr);
            return 2;
        }
    }
    if (!file) {
        fprintf (stderr, "baton keys mesh: FILE is required\n");
        s_usage (stderr);
        return 2;
    }
    uint8_t key[BATON_MESH_KEY_SIZE];
    char err[BATON_CERT_ERROR_MAX + 4096];
    int rc = 0;
    if (baton__mesh_key_new (key) != 0) {
        fprintf (stderr, "baton keys mesh: libsodium cannot start\n");
        rc = 1;
    } else if (baton__mesh_key_save (key, file, force, err, sizeof err) != 0) {
        fprintf (stderr, "baton keys mesh: %s\n", err);
        rc = 1;
    } else
        printf ("mesh key: %s (mode 0600: the gateway's security.mesh_key and every "
                "function's BATON_MESH_KEY)\n",
                file);
    sodium_memzero (key, sizeof key);
    return rc;
}

int
baton__cmd_keys (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp (sub, "-h") || !strcmp (sub, "--help") || !strcmp (sub, "help")) {
        s_usage (stdout);
        return 0;
    }
    if (!strcmp (sub, "mesh"))
        return s_mesh (argc, argv);
    bool is_new = !strcmp (sub, "new"), force = false, json = false;
    if (!is_new && strcmp (sub, "list") != 0) {
        fprintf (stderr, "baton keys: unknown subcommand \"%s\"\n", sub);
        s_usage (stderr);
        return 2;
    }
    const char *name = NULL, *role = NULL, *dir = NULL;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int r;
        if (!strcmp (arg, "-h") || !strcmp (arg, "--help")) {
            s_usage (stdout);
            return 0;
        }
        if ((r = s_option (argc, argv, &i, "-d", "--dir", &dir)) != 0 ||
            (is_new && (r = s_option (argc, argv, &i, "-r", "--role", &role)) != 0)) {
            if (r < 0)
                return 2;
        } else if (is_new && (!strcmp (arg, "-f") || !strcmp (arg, "--force")))
            force = true;
        else if (!is_new && !strcmp (arg, "--json"))
            json = true;
        else if (is_new && !name && arg[0] != '-')
            name = arg;
        else {
            fprintf (stderr, "baton keys %s: unexpected argument \"%s\"\n", sub, arg);
            s_usage (stderr);
            return 2;
        }
    }
    const char *missing = !dir              ? "--dir DIR"
                          : is_new && !name ? "NAME"
                          : is_new && !role ? "--role ROLE"
                                            : NULL;
    if (missing || !*dir) {
        fprintf (stderr, "baton keys %s: %s is required\n", sub, missing ? missing : "--dir DIR");
        s_usage (stderr);
        return 2;
    }
    return is_new ? s_new (name, role, dir, force) : s_list (dir, json);
}
