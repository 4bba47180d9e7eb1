/*  ctl.c - "baton ctl" (see ctl.h): finds the admin listener and the token,
 *  sends one request per command (four for status), and turns each answer
 *  into a table, the gateway's JSON, or an exit code and a message.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/json.h"
#include "ctl/render.h"

#define S_DEFAULT_ADMIN "127.0.0.1:9090" //  gateway.admin's default (docs/gateway.md)

typedef struct {
    baton__ctl_args_t args;
    char base[320];                               //  "http://host:port"
    char token[BATON_CONFIG_MAX_TOKEN_FILE + 1];  //  "" when none was given
    char token_from[BATON_CONFIG_MAX_ERROR + 64]; //  where it came from, for messages
    char err[BATON_CONFIG_MAX_ERROR + 4096];
} s_ctl_t;

//  --- where and who -------------------------------------------------------------------------

//  base from the admin address: a URL as given, or "http://" + HOST:PORT.
static int
s_set_base (s_ctl_t *ctl, const char *admin)
{
    if (strstr (admin, "://") && strncmp (admin, "http://", 7) && strncmp (admin, "https://", 8)) {
        fprintf (stderr, "baton ctl: --admin %s: give http://HOST:PORT or HOST:PORT\n", admin);
        return -1;
    }
    const char *scheme = strstr (admin, "://") ? "" : "http://";
    size_t n = strlen (admin);
    while (n > 0 && admin[n - 1] == '/')
        n--;
    if ((size_t) snprintf (ctl->base, sizeof ctl->base, "%s%.*s", scheme, (int) n, admin) >=
        sizeof ctl->base) {
        fprintf (stderr, "baton ctl: --admin is too long\n");
        return -1;
    }
    return 0;
}

//  The admin listener of config, a wildcard host written as loopback.
static int
s_admin_of (const baton_config_t *config, char *out, size_t cap)
{
    const baton_config_addr_t *a = &baton_config_gateway (config)->admin;
    if (a->port == 0) {
        fprintf (stderr,
                 "baton ctl: %s: gateway.admin has port 0 (the system picks it at start): give "
                 "--admin HOST:PORT as the gateway's log says it listens\n",
                 baton_config_name (config));
        return -1;
    }
    const char *host = a->host;
    if (!strcmp (host, "0.0.0.0") || !strcmp (host, "*"))
        host = "127.0.0.1";
    else if (!strcmp (host, "::"))
        host = "::1";
    snprintf (out, cap, strchr (host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned) a->port);
    return 0;
}

//  Finds the admin listener and the token file: options, environment,
//  config. Returns 0, or -1 after saying why (a usage error).
static int
s_resolve (s_ctl_t *ctl)
{
    const baton__ctl_args_t *a = &ctl->args;
    baton_config_t *config = NULL;
    if (a->config) {
        config = baton_config_load (a->config, ctl->err, sizeof ctl->err);
        if (!config) {
            fprintf (stderr, "baton ctl: %s\n", ctl->err);
            return -1;
        }
    }
    char from_config[300];
    const char *admin = a->admin ? a->admin : getenv ("BATON_ADMIN");
    if (admin && !admin[0])
        admin = NULL;
    int rc = 0;
    if (!admin && config) {
        rc = s_admin_of (config, from_config, sizeof from_config);
        admin = from_config;
    }
    if (rc == 0)
        rc = s_set_base (ctl, admin ? admin : S_DEFAULT_ADMIN);
    const char *file = a->token_file ? a->token_file : getenv ("BATON_ADMIN_TOKEN_FILE");
    const char *what = a->token_file ? "--token-file" : "BATON_ADMIN_TOKEN_FILE";
    if ((!file || !file[0]) && config && baton_config_gateway (config)->admin_token_file) {
        file = baton_config_gateway (config)->admin_token_file;
        what = "gateway.admin_token_file";
    }
    if (rc == 0 && file && file[0]) {
        char why[BATON_CONFIG_MAX_ERROR + 256];
        if (baton_config_read_token (file, ctl->token, sizeof ctl->token, why, sizeof why) < 0) {
            fprintf (stderr, "baton ctl: %s: %s\n", what, why);
            rc = -1;
        } else
            snprintf (ctl->token_from, sizeof ctl->token_from, "%s (%s)", file, what);
    }
    baton_config_destroy (&config);
    return rc;
}

//  --- one request -------------------------------------------------------------------------

//  The gateway's reason for a refusal: a problem's detail (or title), or
//  the first line of a text body. Written to stderr, made safe.
static void
s_say_reason (const baton__ctl_answer_t *ans)
{
    baton_jsonr_t *doc = baton_jsonr_parse (ans->body, ans->len, NULL, NULL, 0);
    const baton_jsonr_value_t *root = doc ? baton_jsonr_root (doc) : NULL;
    const baton_jsonr_value_t *detail = baton_jsonr_get (root, "detail");
    if (!baton_jsonr_str (detail))
        detail = baton_jsonr_get (root, "title");
    if (baton_jsonr_str (detail))
        baton__ctl_put_safe (stderr, detail->str, detail->len);
    else if (!doc)
        baton__ctl_put_safe (stderr, ans->body, strcspn (ans->body, "\r\n"));
    fputc ('\n', stderr);
    baton_jsonr_destroy (&doc);
}

//  Says why an answer of status >= 300 is a refusal; returns the exit code.
static int
s_refused (const s_ctl_t *ctl, const char *method, const char *path, const baton__ctl_answer_t *ans)
{
    fprintf (stderr, "baton ctl: %s %s: %ld: ", method, path, ans->status);
    s_say_reason (ans);
    if (ans->status != 401 && ans->status != 403)
        return BATON_CTL_REFUSED;
    if (!ctl->token[0])
        fputs ("baton ctl: no token was sent: give the gateway's admin token with --token-file "
               "FILE, BATON_ADMIN_TOKEN_FILE, or -c CONFIG (its gateway.admin_token_file)\n",
               stderr);
    else if (ans->status == 401)
        fprintf (stderr,
                 "baton ctl: the token from %s is not the gateway's: give the file named by its "
                 "gateway.admin_token_file\n",
                 ctl->token_from);
    return BATON_CTL_AUTH;
}

//  Sends one request. Returns 0 with the answer in *ans (any status), or
//  BATON_CTL_UNREACHABLE after saying so.
static int
s_send (s_ctl_t *ctl, const char *method, const char *path, const char *form,
        baton__ctl_answer_t *ans)
{
    bool change = strcmp (method, "GET");
    if (baton__ctl_request (ctl->base, method, path, change && ctl->token[0] ? ctl->token : NULL,
                            form, ctl->args.timeout_ms, ans, ctl->err, sizeof ctl->err) == 0)
        return 0;
    fprintf (stderr,
             "baton ctl: cannot reach the gateway's admin listener: %s\n"
             "baton ctl: is the gateway running? Give its gateway.admin with --admin HOST:PORT, "
             "BATON_ADMIN, or -c CONFIG\n",
             ctl->err);
    return BATON_CTL_UNREACHABLE;
}

typedef int (*s_render_fn) (FILE *out, const baton_jsonr_value_t *root);

//  One request whose 2xx answer is JSON, printed unchanged (--json) or by
//  render (or render_verb with verb). Returns the exit code.
static int
s_call (s_ctl_t *ctl, const char *method, const char *path, const char *form, s_render_fn render,
        int (*render_verb) (FILE *, const char *, const baton_jsonr_value_t *), const char *verb)
{
    baton__ctl_answer_t ans;
    int rc = s_send (ctl, method, path, form, &ans);
    if (rc)
        return rc;
    if (ans.status < 200 || ans.status >= 300) {
        if (ctl->args.json)
            fwrite (ans.body, 1, ans.len, stdout);
        rc = s_refused (ctl, method, path, &ans);
        baton__ctl_answer_free (&ans);
        return rc;
    }
    char why[256];
    baton_jsonr_t *doc = baton_jsonr_parse (ans.body, ans.len, NULL, why, sizeof why);
    if (!doc)
        fprintf (stderr, "baton ctl: %s %s: the gateway's answer is not JSON (%s)\n", method, path,
                 why);
    else if (ctl->args.json)
        fwrite (ans.body, 1, ans.len, stdout);
    else if ((render ? render (stdout, baton_jsonr_root (doc))
                     : render_verb (stdout, verb, baton_jsonr_root (doc))) < 0) {
        fprintf (stderr,
                 "baton ctl: %s %s: the gateway's answer is not what this ctl knows (a gateway of "
                 "another version?); --json shows it\n",
                 method, path);
        rc = BATON_CTL_REFUSED;
    }
    if (!doc)
        rc = BATON_CTL_REFUSED;
    baton_jsonr_destroy (&doc);
    baton__ctl_answer_free (&ans);
    return rc;
}

//  --- status ----------------------------------------------------------------------------

//  GETs path into *doc: NULL (and 0) when the gateway has no such endpoint.
//  Returns 0 or an exit code.
static int
s_fetch (s_ctl_t *ctl, const char *path, baton__ctl_answer_t *ans, baton_jsonr_t **doc)
{
    *doc = NULL;
    int rc = s_send (ctl, "GET", path, NULL, ans);
    if (rc)
        return rc;
    if (ans->status == 404)
        return 0;
    if (ans->status != 200)
        return s_refused (ctl, "GET", path, ans);
    char why[256];
    *doc = baton_jsonr_parse (ans->body, ans->len, NULL, why, sizeof why);
    if (*doc)
        return 0;
    fprintf (stderr, "baton ctl: GET %s: the gateway's answer is not JSON (%s)\n", path, why);
    return BATON_CTL_REFUSED;
}

static int
s_status (s_ctl_t *ctl)
{
    static const char *const paths[] = {"/-/config", "/-/topology", "/-/overrides"};
    baton__ctl_answer_t health, ready, ans[3];
    baton_jsonr_t *docs[3] = {NULL, NULL, NULL};
    int rc = s_send (ctl, "GET", "/-/health", NULL, &health);
    if (rc)
        return rc;
    rc = s_send (ctl, "GET", "/-/ready", NULL, &ready);
    if (rc) {
        baton__ctl_answer_free (&health);
        return rc;
    }
    size_t got = 0;
    for (; got < 3 && rc == 0; got++)
        rc = s_fetch (ctl, paths[got], &ans[got], &docs[got]);
    if (rc == 0 && ctl->args.json) {
        fprintf (stdout, "{\"health\":%s,\"ready\":%s", health.status == 200 ? "true" : "false",
                 ready.status == 200 ? "true" : "false");
        static const char *const keys[] = {"config", "topology", "overrides"};
        for (size_t i = 0; i < 3; i++) {
            fprintf (stdout, ",\"%s\":", keys[i]);
            if (docs[i])
                fwrite (ans[i].body, 1, ans[i].len, stdout);
            else
                fputs ("null", stdout);
        }
        fputs ("}\n", stdout);
    } else if (rc == 0) {
        baton__ctl_status_t st = {ctl->base,
                                  health.status == 200,
                                  ready.status == 200,
                                  docs[0] ? baton_jsonr_root (docs[0]) : NULL,
                                  docs[1] ? baton_jsonr_root (docs[1]) : NULL,
                                  docs[2] ? baton_jsonr_root (docs[2]) : NULL};
        baton__ctl_render_status (stdout, &st);
    }
    for (size_t i = 0; i < got; i++) {
        baton_jsonr_destroy (&docs[i]);
        baton__ctl_answer_free (&ans[i]);
    }
    baton__ctl_answer_free (&health);
    baton__ctl_answer_free (&ready);
    return rc;
}

//  --- the commands --------------------------------------------------------------------------

static int
s_override_add (s_ctl_t *ctl)
{
    const baton__ctl_args_t *a = &ctl->args;
    bool by_route = !strcmp (a->kind, "chain") || !strcmp (a->kind, "fail");
    const char *list = !strcmp (a->kind, "chain")    ? "chain"
                       : !strcmp (a->kind, "pin")    ? "replicas"
                       : !strcmp (a->kind, "weight") ? "weights"
                                                     : "status";
    const char *fields[] = {"kind",         a->kind,        by_route ? "route" : "function",
                            a->target,      list,           a->value,
                            "ttl",          a->ttl,         "method",
                            a->method,      "body",         a->body,
                            "content_type", a->content_type};
    char *form = baton__ctl_form (fields, sizeof fields / sizeof fields[0]);
    int rc = s_call (ctl, "POST", "/-/overrides", form, NULL, baton__ctl_render_override, "added");
    free (form);
    return rc;
}

//  A request to prefix + id (percent-encoded) + suffix.
static int
s_call_id (s_ctl_t *ctl, const char *method, const char *prefix, const char *suffix,
           const char *verb, int (*render_verb) (FILE *, const char *, const baton_jsonr_value_t *))
{
    char *path = baton__ctl_path (prefix, ctl->args.id, suffix);
    int rc = s_call (ctl, method, path, NULL, NULL, render_verb, verb);
    free (path);
    return rc;
}

//  "removed o3" from DELETE /-/overrides/ID's {"removed":"o3"}.
static int
s_render_removed (FILE *out, const char *verb, const baton_jsonr_value_t *root)
{
    const baton_jsonr_value_t *id = baton_jsonr_get (root, "removed");
    if (!baton_jsonr_str (id))
        return -1;
    fprintf (out, "%s ", verb);
    baton__ctl_put_safe (out, id->str, id->len);
    fputc ('\n', out);
    return 0;
}

static int
s_run (s_ctl_t *ctl)
{
    switch (ctl->args.cmd) {
    case BATON_CTL_STATUS:
        return s_status (ctl);
    case BATON_CTL_ROUTES:
        return s_call (ctl, "GET", "/-/routes", NULL, baton__ctl_render_routes, NULL, NULL);
    case BATON_CTL_TOPOLOGY:
        return s_call (ctl, "GET", "/-/topology", NULL, baton__ctl_render_topology, NULL, NULL);
    case BATON_CTL_CONFIG:
        return s_call (ctl, "GET", "/-/config", NULL, baton__ctl_render_config, NULL, NULL);
    case BATON_CTL_RELOAD:
        return s_call (ctl, "POST", "/-/reload", NULL, baton__ctl_render_reload, NULL, NULL);
    case BATON_CTL_OVERRIDE_LIST:
        return s_call (ctl, "GET", "/-/overrides", NULL, baton__ctl_render_overrides, NULL, NULL);
    case BATON_CTL_OVERRIDE_ADD:
        return s_override_add (ctl);
    case BATON_CTL_OVERRIDE_RM:
        return s_call_id (ctl, "DELETE", "/-/overrides/", "", "removed", s_render_removed);
    case BATON_CTL_DRAIN:
        return s_call_id (ctl, "POST", "/-/replicas/", "/drain", "draining",
                          baton__ctl_render_replica);
    case BATON_CTL_UNDRAIN:
        return s_call_id (ctl, "POST", "/-/replicas/", "/undrain", "undrained",
                          baton__ctl_render_replica);
    }
    return BATON_CTL_USAGE;
}

int
baton__cmd_ctl (int argc, char **argv)
{
    s_ctl_t *ctl = (s_ctl_t *) calloc (1, sizeof *ctl);
    if (!ctl)
        abort ();
    int rc;
    if (baton__ctl_args_parse (argc, argv, &ctl->args, ctl->err, sizeof ctl->err) < 0) {
        fprintf (stderr, "baton ctl: %s\n", ctl->err);
        rc = BATON_CTL_USAGE;
    } else if (ctl->args.help) {
        fputs (ctl->args.help, stdout);
        rc = BATON_CTL_OK;
    } else if (s_resolve (ctl) < 0)
        rc = BATON_CTL_USAGE;
    else {
        baton__ctl_client_init ();
        rc = s_run (ctl);
    }
    fflush (stdout);
    memset (ctl->token, 0, sizeof ctl->token);
    free (ctl);
    return rc;
}
