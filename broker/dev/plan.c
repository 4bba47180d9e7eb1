/*  plan.c - what "baton dev" starts for a config (see plan.h): the runtime
 *  dir, the mesh's fresh keys, the inbox of each replica, the shell command
 *  that runs it and the environment it gets.  */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 //  realpath ()
#endif
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "cert.h"
#include "dev/plan.h"
#include "dev/util.h"
#include "seal.h"

//  The gateway's certificate name: function names hold no '.', so no
//  function's key file can be the gateway's.
#define S_GATEWAY_CERT "dev.gateway"

extern char **environ;

struct baton__dev_plan {
    baton_config_t *config;
    char cwd[PATH_MAX];
    char runtime_dir[PATH_MAX];
    bool runtime_made;
    char keys_dir[PATH_MAX + 8];    //  the trust store and every secret; "" with --insecure
    char build_dir[PATH_MAX];       //  "" when baton does not run from a build tree
    char token_file[PATH_MAX + 16]; //  this run's admin token
    char mesh_key[PATH_MAX + 16];   //  this run's mesh key
    baton__dev_child_t *children;
    size_t count;
};

//  --- where: the config's directory, the build tree, the runtime dir ---------------------

//  The directory of config_path, made absolute. Returns 0, or -1 with why in err.
static int
s_find_cwd (baton__dev_plan_t *self, const char *config_path, char *err, size_t errlen)
{
    char *copy = baton__dev_strdup (config_path);
    char *slash = strrchr (copy, '/');
    if (slash)
        *(slash == copy ? slash + 1 : slash) = '\0';
    int rc = 0;
    if (!realpath (slash ? copy : ".", self->cwd)) {
        snprintf (err, errlen, "%s: %s", copy, strerror (errno));
        rc = -1;
    }
    free (copy);
    return rc;
}

//  The build tree baton runs from (<build>/broker/baton), or "".
static void
s_find_build_dir (char *out, size_t cap)
{
    char exe[PATH_MAX];
    size_t n = sizeof exe;
    out[0] = '\0';
    if (uv_exepath (exe, &n) != 0)
        return;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr (exe, '/');
        if (!slash || slash == exe)
            return;
        *slash = '\0';
    }
    char probe[PATH_MAX + 32];
    snprintf (probe, sizeof probe, "%s/CMakeCache.txt", exe);
    if (access (probe, R_OK) == 0)
        snprintf (out, cap, "%s", exe);
}

static int
s_make_runtime_dir (baton__dev_plan_t *self)
{
    const char *base = getenv ("XDG_RUNTIME_DIR");
    struct stat st;
    //  ipc:// paths are at most 107 bytes: "<base>/baton-dev-XXXXXX/<name>-<replica>"
    //  must fit for the longest name, or /tmp it is.
    size_t longest = 5; //  "reply"
    for (size_t i = 0; i < baton_config_function_count (self->config); i++) {
        size_t n = strlen (baton_config_function (self->config, i)->name) + 3;
        longest = n > longest ? n : longest;
    }
    if (!base || base[0] != '/' || strlen (base) + 18 + longest > 107 || stat (base, &st) != 0 ||
        !S_ISDIR (st.st_mode) || access (base, W_OK) != 0)
        base = "/tmp";
    snprintf (self->runtime_dir, sizeof self->runtime_dir, "%s/baton-dev-XXXXXX", base);
    if (!mkdtemp (self->runtime_dir))
        return -1;
    self->runtime_made = true;
    return 0;
}

//  Removes every file of dir, then dir. A directory in it is not removed
//  (dir itself is gone only when it is empty).
static void
s_remove_files (const char *dir)
{
    DIR *d = opendir (dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir (d)))
            if (strcmp (e->d_name, ".") && strcmp (e->d_name, ".."))
                unlinkat (dirfd (d), e->d_name, 0);
        closedir (d);
    }
    rmdir (dir);
}

void
baton__dev_plan_remove_dir (baton__dev_plan_t *self)
{
    if (!self->runtime_made)
        return;
    if (self->keys_dir[0])
        s_remove_files (self->keys_dir);
    s_remove_files (self->runtime_dir);
    self->runtime_made = false;
}

//  --- how: the command and the environment of a process -----------------------------------

static bool
s_is_name_char (char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

//  The shell command for run: "exec" put before the program of a simple
//  command (after its NAME=value words), so that the function replaces the
//  shell and the death signal set before exec reaches the function itself.
//  A command with ; & | ( ) < > ` or a newline, or one that starts with a
//  shell keyword, is left as written: the shell stays its parent.
static char *
s_exec_form (const char *run)
{
    if (strpbrk (run, ";&|()<>`\n"))
        return baton__dev_strdup (run);
    const char *p = run;
    while (true) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *q = p;
        if (!s_is_name_char (*q, true))
            break;
        while (s_is_name_char (*q, false))
            q++;
        if (*q != '=')
            break;
        for (q++; *q && *q != ' ' && *q != '\t'; q++) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '\'') {
                q = strchr (q + 1, '\'');
                if (!q)
                    return baton__dev_strdup (run);
            } else if (*q == '"') {
                for (q++; *q && *q != '"'; q++)
                    if (*q == '\\' && q[1])
                        q++;
                if (!*q)
                    return baton__dev_strdup (run);
            }
        }
        p = q;
    }
    static const char *const keywords[] = {"if", "for",  "while", "until", "case", "{",
                                           "!",  "exec", "exit",  "cd",    ".",    "eval"};
    size_t word = strcspn (p, " \t");
    if (word == 0)
        return baton__dev_strdup (run); //  only assignments, or nothing
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen (keywords[i]) == word && !strncmp (p, keywords[i], word))
            return baton__dev_strdup (run);
    return baton__dev_printf ("%.*sexec %s", (int) (p - run), run, p);
}

static bool
s_env_is (const char *entry, const char *key)
{
    size_t n = strlen (key);
    return !strncmp (entry, key, n) && entry[n] == '=';
}

//  The environment of child c: ours, with the BATON_* variables it needs.
static char **
s_make_env (const baton__dev_plan_t *self, const baton__dev_child_t *c)
{
    static const char *const ours[] = {"BATON_NAME",    "BATON_BIND",      "BATON_GATEWAY",
                                       "BATON_REPLICA", "BATON_BUILD_DIR", "BATON_CERT",
                                       "BATON_TRUST",   "BATON_SECURITY",  "BATON_MESH_KEY"};
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = (char **) baton__dev_alloc ((n + 10) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool skip = false;
        for (size_t j = 0; j < sizeof ours / sizeof ours[0] && !skip; j++)
            skip = s_env_is (environ[i], ours[j]);
        //  Keep an inherited BATON_BUILD_DIR when we have none of our own.
        if (skip && s_env_is (environ[i], "BATON_BUILD_DIR") && !self->build_dir[0])
            skip = false;
        if (!skip)
            env[k++] = baton__dev_strdup (environ[i]);
    }
    env[k++] = baton__dev_printf ("BATON_NAME=%s", c->fn->name);
    env[k++] = baton__dev_printf ("BATON_BIND=%s", c->endpoint);
    env[k++] = baton__dev_printf ("BATON_REPLICA=%u", c->index);
    //  Static replicas heartbeat too; with CURVE, to the gateway named by
    //  its key in this run's trust store.
    const char *control = baton_config_gateway (self->config)->control;
    if (control && self->keys_dir[0])
        env[k++] = baton__dev_printf ("BATON_GATEWAY=%s@%s", S_GATEWAY_CERT, control);
    else if (control)
        env[k++] = baton__dev_printf ("BATON_GATEWAY=%s", control);
    if (self->build_dir[0])
        env[k++] = baton__dev_printf ("BATON_BUILD_DIR=%s", self->build_dir);
    if (self->keys_dir[0]) {
        env[k++] = baton__dev_printf ("BATON_CERT=%s/%s.key_secret", self->keys_dir, c->fn->name);
        env[k++] = baton__dev_printf ("BATON_TRUST=%s", self->keys_dir);
    } else
        env[k++] = baton__dev_strdup ("BATON_SECURITY=insecure");
    env[k++] = baton__dev_printf ("BATON_MESH_KEY=%s", self->mesh_key);
    env[k] = NULL;
    return env;
}

//  --- what: the processes ---------------------------------------------------------------

//  Checks that dev mode can start or reach each function, and counts the
//  processes. Returns that count, or -1 with why in err.
static ssize_t
s_count_children (const baton_config_t *cfg, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t i = 0; i < baton_config_function_count (cfg); i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        if (!f->run) {
            bool used = false;
            for (size_t r = 0; r < baton_config_route_count (cfg) && !used; r++)
                for (size_t k = 0; k < baton_config_route (cfg, r)->chain_len; k++)
                    used = used || baton_config_route (cfg, r)->chain[k] == f;
            if (used && f->endpoint_count == 0) {
                snprintf (err, errlen,
                          "%s:%zu: function %s has neither run: nor endpoints:, so dev mode "
                          "can neither start it nor reach it",
                          baton_config_name (cfg), f->line, f->name);
                return -1;
            }
            continue;
        }
        if (f->endpoint_count && f->replicas != 1 && f->replicas != f->endpoint_count) {
            snprintf (err, errlen,
                      "%s:%zu: function %s: replicas: %u but %zu endpoints; with endpoints:, "
                      "dev mode starts one process per endpoint",
                      baton_config_name (cfg), f->line, f->name, (unsigned) f->replicas,
                      f->endpoint_count);
            return -1;
        }
        for (size_t k = 0; k < f->endpoint_count; k++)
            if (!strncmp (f->endpoints[k], "inproc://", 9)) {
                snprintf (err, errlen,
                          "%s:%zu: function %s: %s cannot be reached from another process "
                          "(use ipc:// or tcp://, or no endpoints at all)",
                          baton_config_name (cfg), f->line, f->name, f->endpoints[k]);
                return -1;
            }
        total += f->endpoint_count ? f->endpoint_count : f->replicas;
    }
    return (ssize_t) total;
}

//  Decides each function's processes and inboxes, and gives the config the
//  endpoints the gateway must connect to. Returns 0, or -1 with why in err.
static int
s_plan_children (baton__dev_plan_t *self, char *err, size_t errlen)
{
    baton_config_t *cfg = self->config;
    ssize_t total = s_count_children (cfg, err, errlen);
    if (total < 0)
        return -1;
    self->children =
        (baton__dev_child_t *) baton__dev_alloc ((size_t) total * sizeof *self->children);
    static const int palette[] = {36, 33, 32, 35, 31, 96, 93, 92, 95, 91, 94};
    for (size_t i = 0; i < baton_config_function_count (cfg); i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        if (!f->run)
            continue;
        size_t n = f->endpoint_count ? f->endpoint_count : f->replicas;
        char **eps = (char **) baton__dev_alloc (n * sizeof *eps);
        for (size_t k = 0; k < n; k++) {
            baton__dev_child_t *c = &self->children[self->count++];
            c->fn = f;
            c->index = (unsigned) k;
            snprintf (c->label.name, sizeof c->label.name, "%s.%zu", f->name, k);
            c->label.color = palette[i % (sizeof palette / sizeof palette[0])];
            if (f->endpoint_count) {
                c->endpoint = baton__dev_strdup (f->endpoints[k]);
                if (!strncmp (c->endpoint, "ipc://", 6))
                    c->sock_path = baton__dev_strdup (c->endpoint + 6);
            } else {
                c->sock_path = baton__dev_printf ("%s/%s-%zu", self->runtime_dir, f->name, k);
                c->endpoint = baton__dev_printf ("ipc://%s", c->sock_path);
            }
            eps[k] = c->endpoint;
            c->command = s_exec_form (f->run);
        }
        int rc = f->endpoint_count
                     ? 0
                     : baton_config_function_set_endpoints (cfg, i, (const char *const *) eps, n);
        free (eps);
        if (rc < 0) {
            snprintf (err, errlen, "function %s: cannot use %s as its inbox (too long for ipc://?)",
                      f->name, self->children[self->count - 1].endpoint);
            return -1;
        }
    }
    return 0;
}

//  gateway.reply and gateway.control, unless the file sets them: sockets in
//  the runtime dir. With a control endpoint every function heartbeats, so
//  the gateway knows within a second when one dies and when it is back.
//  Returns 0, or -1 with why in err.
static int
s_plan_sockets (baton__dev_plan_t *self, char *err, size_t errlen)
{
    char ep[PATH_MAX + 16];
    if (baton_config_gateway (self->config)->reply_default) {
        snprintf (ep, sizeof ep, "ipc://%s/reply", self->runtime_dir);
        if (baton_config_gateway_set_reply (self->config, ep) < 0) {
            snprintf (err, errlen, "cannot use %s as the gateway's reply endpoint", ep);
            return -1;
        }
    }
    if (!baton_config_gateway (self->config)->control) {
        snprintf (ep, sizeof ep, "ipc://%s/control", self->runtime_dir);
        if (baton_config_gateway_set_control (self->config, ep) < 0) {
            snprintf (err, errlen, "cannot use %s as the gateway's control endpoint", ep);
            return -1;
        }
    }
    return 0;
}

//  --- the mesh: fresh keys, or plaintext ------------------------------------------------

//  Makes a keypair for role and name and saves it into dir. Returns 0, or -1
//  with why in err.
static int
s_make_cert (const char *dir, baton_role_t role, const char *name, char *err, size_t errlen)
{
    baton_cert_t *cert = baton__cert_new (role, name);
    if (!cert) {
        snprintf (err, errlen, "cannot make a CURVE key for %s (libzmq without CURVE?)", name);
        return -1;
    }
    char why[BATON_CERT_ERROR_MAX] = "";
    errno = 0;
    int rc = baton__cert_save (cert, dir, false, why, sizeof why);
    if (rc < 0)
        snprintf (err, errlen, "cannot save the key of %s in %s: %s", name, dir,
                  why[0] ? why : strerror (errno));
    baton__cert_destroy (&cert);
    return rc < 0 ? -1 : 0;
}

//  A fresh key set in <runtime dir>/keys (the gateway's and one per function
//  dev mode starts; secrets 0600), and CURVE with it for the gateway. A
//  function with endpoints: but no run: is someone else's process, which
//  cannot hold this run's keys: refused. Returns 0, or -1 with why in err.
static int
s_plan_keys (baton__dev_plan_t *self, char *err, size_t errlen)
{
    baton_config_t *cfg = self->config;
    for (size_t i = 0; i < baton_config_function_count (cfg); i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        if (!f->run && f->endpoint_count) {
            snprintf (err, errlen,
                      "%s:%zu: function %s is not started here (no run:), so it cannot hold this "
                      "run's fresh CURVE keys: give it a run:, or use baton dev --insecure",
                      baton_config_name (cfg), f->line, f->name);
            return -1;
        }
    }
    snprintf (self->keys_dir, sizeof self->keys_dir, "%s/keys", self->runtime_dir);
    if (mkdir (self->keys_dir, 0700) < 0) {
        snprintf (err, errlen, "cannot make %s: %s", self->keys_dir, strerror (errno));
        self->keys_dir[0] = '\0';
        return -1;
    }
    if (s_make_cert (self->keys_dir, BATON_ROLE_GATEWAY, S_GATEWAY_CERT, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < baton_config_function_count (cfg); i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        if (f->run && s_make_cert (self->keys_dir, BATON_ROLE_FUNCTION, f->name, err, errlen) < 0)
            return -1;
    }
    char cert[PATH_MAX + 32];
    snprintf (cert, sizeof cert, "%s/%s.key_secret", self->keys_dir, S_GATEWAY_CERT);
    return baton_config_set_security (cfg, BATON_SECURITY_CURVE, cert, self->keys_dir, err,
                                      errlen) < 0
               ? -1
               : 0;
}

//  CURVE with fresh keys, or with insecure plaintext everywhere (said so,
//  never by default). Returns 0, or -1 with why in err.
static int
s_plan_mesh (baton__dev_plan_t *self, bool insecure, char *err, size_t errlen)
{
    if (!insecure)
        return s_plan_keys (self, err, errlen);
    return baton_config_set_security (self->config, BATON_SECURITY_INSECURE, NULL, NULL, err,
                                      errlen) < 0
               ? -1
               : 0;
}

//  A fresh mesh key for this run in <runtime dir>/mesh-key (mode 0600),
//  named by security.mesh_key whatever the file said: every route is sealed,
//  and every process checks the seal. Returns 0, or -1 with why in err.
static int
s_plan_mesh_key (baton__dev_plan_t *self, char *err, size_t errlen)
{
    uint8_t key[BATON_MESH_KEY_SIZE];
    snprintf (self->mesh_key, sizeof self->mesh_key, "%s/mesh-key", self->runtime_dir);
    if (baton__mesh_key_new (key) < 0) {
        snprintf (err, errlen, "libsodium cannot start: no mesh key");
        return -1;
    }
    int rc = baton__mesh_key_save (key, self->mesh_key, false, err, errlen);
    sodium_memzero (key, sizeof key);
    if (rc < 0)
        return -1;
    return baton_config_set_mesh_key (self->config, self->mesh_key, err, errlen) < 0 ? -1 : 0;
}

//  --- the admin token -------------------------------------------------------------------

//  A fresh admin token for this run: 32 random bytes in hex, in
//  <runtime dir>/admin-token (mode 0600), named by gateway.admin_token_file.
//  Returns 0, or -1 with why in err.
static int
s_plan_admin_token (baton__dev_plan_t *self, char *err, size_t errlen)
{
    unsigned char raw[32];
    char token[2 * sizeof raw + 2];
    if (getrandom (raw, sizeof raw, 0) != (ssize_t) sizeof raw) {
        snprintf (err, errlen, "getrandom (): %s: no admin token", strerror (errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf (token + 2 * i, 3, "%02x", raw[i]);
    token[2 * sizeof raw] = '\n';
    snprintf (self->token_file, sizeof self->token_file, "%s/admin-token", self->runtime_dir);
    int fd = open (self->token_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write (fd, token, sizeof token - 1) == (ssize_t) sizeof token - 1;
    if (fd >= 0 && close (fd) < 0)
        ok = false;
    memset (token, 0, sizeof token);
    memset (raw, 0, sizeof raw);
    if (!ok) {
        snprintf (err, errlen, "cannot write %s: %s", self->token_file, strerror (errno));
        return -1;
    }
    return baton_config_gateway_set_admin_token_file (self->config, self->token_file, err, errlen) <
                   0
               ? -1
               : 0;
}

//  --- the plan ---------------------------------------------------------------------------

baton__dev_plan_t *
baton__dev_plan_new (baton_config_t *config, const char *config_path, bool insecure, char *err,
                     size_t errlen)
{
    baton__dev_plan_t *self = (baton__dev_plan_t *) baton__dev_alloc (sizeof *self);
    self->config = config;
    if (s_find_cwd (self, config_path, err, errlen) < 0)
        goto error;
    s_find_build_dir (self->build_dir, sizeof self->build_dir);
    if (s_make_runtime_dir (self) < 0) {
        snprintf (err, errlen, "cannot make a runtime dir in %s: %s", self->runtime_dir,
                  strerror (errno));
        goto error;
    }
    if (s_plan_children (self, err, errlen) < 0 || s_plan_sockets (self, err, errlen) < 0 ||
        s_plan_mesh (self, insecure, err, errlen) < 0 || s_plan_mesh_key (self, err, errlen) < 0 ||
        s_plan_admin_token (self, err, errlen) < 0)
        goto error;
    for (size_t i = 0; i < self->count; i++)
        self->children[i].env = s_make_env (self, &self->children[i]);
    return self;
error:
    baton__dev_plan_destroy (&self);
    return NULL;
}

void
baton__dev_plan_destroy (baton__dev_plan_t **self_p)
{
    baton__dev_plan_t *self = *self_p;
    if (!self)
        return;
    baton__dev_plan_remove_dir (self);
    for (size_t i = 0; i < self->count; i++) {
        baton__dev_child_t *c = &self->children[i];
        free (c->endpoint);
        free (c->sock_path);
        free (c->command);
        for (char **e = c->env; e && *e; e++)
            free (*e);
        free (c->env);
    }
    free (self->children);
    free (self);
    *self_p = NULL;
}

size_t
baton__dev_plan_count (const baton__dev_plan_t *self)
{
    return self->count;
}

const baton__dev_child_t *
baton__dev_plan_child (const baton__dev_plan_t *self, size_t index)
{
    return &self->children[index];
}

const char *
baton__dev_plan_cwd (const baton__dev_plan_t *self)
{
    return self->cwd;
}

const char *
baton__dev_plan_runtime_dir (const baton__dev_plan_t *self)
{
    return self->runtime_dir;
}

const char *
baton__dev_plan_build_dir (const baton__dev_plan_t *self)
{
    return self->build_dir;
}
