/*  test_ctl.c - "baton ctl" end to end: the real binary against a real
 *  gateway (and fn_test replicas that announce themselves): status, routes,
 *  topology, reload, overrides, drains, and the exit codes scripts rely on.  */
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"

TestSuite (ctl, .init = h_setup, .fini = h_teardown, .timeout = 60);

#define S_TOKEN "0123456789abcdef0123456789abcdef\n"

static const char *s_yaml = "gateway:\n"
                            "  listen: 127.0.0.1:0\n"
                            "  admin: 127.0.0.1:0\n"
                            "  reply: ipc://@D/reply\n"
                            "  control: ipc://@D/control\n"
                            "%s"
                            "functions:\n"
                            "  a:\n"
                            "  b:\n"
                            "routes:\n"
                            "  - path: /x\n"
                            "    chain: [%s]\n";

//  The config text with the admin token file (or none) and the chain of /x.
static const char *
s_config (bool token, const char *chain)
{
    char *yaml = (char *) h_alloc (strlen (s_yaml) + 128);
    sprintf (yaml, s_yaml, token ? "  admin_token_file: admin-token\n" : "", chain);
    return yaml;
}

//  A gateway with replicas a0 and b0 that announce themselves.
static void
s_start (bool token)
{
    if (token)
        h_write_file ("admin-token", S_TOKEN);
    h_gateway (s_config (token, "a, b"));
    char control[128];
    snprintf (control, sizeof control, "BATON_GATEWAY=ipc://%s/control", h_dir ());
    const char *a[] = {"BATON_TEST_FUNCTION=a", control, "BATON_HEARTBEAT_MS=100", NULL};
    const char *b[] = {"BATON_TEST_FUNCTION=b", control, "BATON_HEARTBEAT_MS=100", NULL};
    h_fn_env ("a0", "append", a);
    h_fn_env ("b0", "append", b);
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (h_metric ("baton_replicas{function=\"b\",state=\"alive\"}") != 1 && h_mono_ms () < end)
        h_sleep_ms (20);
}

//  Runs "baton ctl --admin 127.0.0.1:PORT [--token-file F] args..."; the
//  exit code, with stdout and stderr in *out and *err.
static int
s_ctl (bool token, char **out, char **err, const char *const *args)
{
    const char *argv[24];
    char admin[32];
    size_t n = 0;
    snprintf (admin, sizeof admin, "127.0.0.1:%d", h_admin_port ());
    argv[n++] = BATON_CLI_PATH;
    argv[n++] = "ctl";
    argv[n++] = "--admin";
    argv[n++] = admin;
    if (token) {
        argv[n++] = "--token-file";
        argv[n++] = h_path ("admin-token");
    }
    while (*args && n < 23)
        argv[n++] = *args++;
    argv[n] = NULL;
    char *o = NULL, *e = NULL;
    int rc = h_run (argv, &o, &e);
    *out = o ? o : (char *) "";
    *err = e ? e : (char *) "";
    return rc;
}

#define CTL(token, out, err, ...)                                                                  \
    s_ctl ((token), (out), (err), (const char *const[]){__VA_ARGS__, NULL})

//  The body of GET path on the gateway (one request).
static const char *
s_get (const char *path)
{
    return h_request (h_port (), "GET", path, NULL).body;
}

Test (ctl, usage_errors_exit_2_and_send_nothing)
{
    char *out, *err;
    const char *argv[] = {BATON_CLI_PATH, "ctl", "frobnicate", NULL};
    cr_assert_eq (h_run (argv, &out, &err), 2);
    cr_assert_not_null (strstr (err, "unknown command"), "%s", err);
    const char *help[] = {BATON_CLI_PATH, "ctl", "--help", NULL};
    cr_assert_eq (h_run (help, &out, &err), 0);
    cr_assert_not_null (strstr (out, "exit codes"), "%s", out);
    const char *bad_ttl[] = {BATON_CLI_PATH, "ctl", "override", "add",  "chain",
                             "/x",           "a",   "--ttl",    "soon", NULL};
    cr_assert_eq (h_run (bad_ttl, &out, &err), 2);
}

Test (ctl, an_unreachable_gateway_exits_3)
{
    //  A port nobody listens on: bound, then closed.
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl (0x7f000001)};
    socklen_t len = sizeof sa;
    cr_assert_eq (bind (fd, (struct sockaddr *) &sa, len), 0);
    getsockname (fd, (struct sockaddr *) &sa, &len);
    close (fd);
    char admin[32];
    snprintf (admin, sizeof admin, "127.0.0.1:%u", (unsigned) ntohs (sa.sin_port));
    char *out, *err;
    const char *argv[] = {BATON_CLI_PATH, "ctl", "--admin", admin,
                          "--timeout",    "2s",  "status",  NULL};
    cr_assert_eq (h_run (argv, &out, &err), 3, "%s", err);
    cr_assert_not_null (strstr (err, "--admin"), "%s", err);
}

Test (ctl, status_routes_and_topology)
{
    s_start (true);
    char *out, *err;
    cr_assert_eq (CTL (false, &out, &err, "status"), 0, "%s%s", err, h_logs ());
    cr_assert_not_null (strstr (out, "health      ok"), "%s", out);
    cr_assert_not_null (strstr (out, "replicas    2: 2 alive"), "%s", out);
    cr_assert_not_null (strstr (out, "overrides   0"), "%s", out);
    cr_assert_eq (CTL (false, &out, &err, "routes"), 0, "%s", err);
    cr_assert_not_null (strstr (out, "/x"), "%s", out);
    cr_assert_not_null (strstr (out, "a -> b"), "%s", out);
    cr_assert_eq (CTL (false, &out, &err, "topology"), 0, "%s", err);
    cr_assert_not_null (strstr (out, "alive"), "%s", out);
    cr_assert_not_null (strstr (out, "/a0"), "%s", out);
    cr_assert_eq (CTL (false, &out, &err, "routes", "--json"), 0, "%s", err);
    json_error_t jerr;
    json_t *doc = json_loads (out, 0, &jerr);
    cr_assert_not_null (doc, "--json printed no JSON: %s", out);
    json_decref (doc);
}

Test (ctl, reload_applies_a_valid_file_and_reports_an_invalid_one)
{
    s_start (true);
    char *out, *err;
    h_write_file ("gateway.yaml", s_config (true, "b"));
    cr_assert_eq (CTL (true, &out, &err, "reload"), 0, "%s%s", err, h_logs ());
    cr_assert_not_null (strstr (out, "reloaded: generation 2"), "%s", out);
    cr_assert_eq (CTL (false, &out, &err, "routes"), 0, "%s", err);
    cr_assert_not_null (strstr (out, "/x    b "), "%s", out);
    cr_assert_str_eq (s_get ("/x"), "|b");
    //  Broken: nothing changes, and the error's position is printed.
    h_write_file ("gateway.yaml", "gateway:\n  listen: 127.0.0.1:0\n  bogus: 1\n");
    cr_assert_eq (CTL (true, &out, &err, "reload"), 1, "%s", err);
    cr_assert_not_null (strstr (err, "gateway.yaml:3:"), "%s", err);
    cr_assert_str_eq (s_get ("/x"), "|b");
    cr_assert_eq (CTL (false, &out, &err, "config"), 0, "%s", err);
    cr_assert_not_null (strstr (out, "generation  2"), "%s", out);
}

Test (ctl, override_add_list_rm)
{
    s_start (true);
    char *out, *err;
    cr_assert_eq (CTL (true, &out, &err, "override", "add", "chain", "/x", "b,a", "--ttl", "1m"), 0,
                  "%s%s", err, h_logs ());
    cr_assert_not_null (strstr (out, "added o"), "%s", out);
    char id[16];
    cr_assert_eq (sscanf (strstr (out, "added ") + 6, "%15[^:]", id), 1);
    cr_assert_str_eq (s_get ("/x"), "|b|a");
    cr_assert_eq (CTL (false, &out, &err, "override", "list"), 0, "%s", err);
    cr_assert_not_null (strstr (out, id), "%s", out);
    cr_assert_not_null (strstr (out, "chain"), "%s", out);
    cr_assert_eq (CTL (true, &out, &err, "override", "rm", id), 0, "%s", err);
    cr_assert_eq (CTL (false, &out, &err, "override", "list"), 0, "%s", err);
    cr_assert_str_eq (out, "no override in force\n");
    cr_assert_str_eq (s_get ("/x"), "|a|b");
    cr_assert_eq (CTL (true, &out, &err, "override", "rm", id), 1, "%s", err);
    cr_assert_eq (CTL (true, &out, &err, "override", "add", "chain", "/x", "nosuch"), 1, "%s", err);
}

Test (ctl, drain_and_undrain)
{
    s_start (true);
    char *out, *err;
    cr_assert_eq (CTL (false, &out, &err, "topology", "--json"), 0, "%s", err);
    json_error_t jerr;
    json_t *doc = json_loads (out, 0, &jerr);
    cr_assert_not_null (doc, "%s", out);
    json_t *fns = json_object_get (doc, "functions");
    const char *instance = NULL;
    for (size_t i = 0; i < json_array_size (fns); i++)
        if (!strcmp (json_string_value (json_object_get (json_array_get (fns, i), "name")), "a"))
            instance = json_string_value (json_object_get (
                json_array_get (json_object_get (json_array_get (fns, i), "replicas"), 0),
                "instance"));
    cr_assert_not_null (instance, "%s", out);
    char *id = (char *) h_alloc (strlen (instance) + 1);
    strcpy (id, instance);
    json_decref (doc);
    cr_assert_eq (CTL (true, &out, &err, "drain", id), 0, "%s%s", err, h_logs ());
    cr_assert_not_null (strstr (out, "draining"), "%s", out);
    cr_assert_eq (CTL (false, &out, &err, "topology"), 0, "%s", err);
    cr_assert_not_null (strstr (out, "draining (admin)"), "%s", out);
    cr_assert_eq (CTL (true, &out, &err, "undrain", id), 0, "%s", err);
    cr_assert_eq (CTL (false, &out, &err, "status"), 0, "%s", err);
    cr_assert_not_null (strstr (out, "2: 2 alive"), "%s", out);
    cr_assert_eq (CTL (true, &out, &err, "drain", "no-such-replica"), 1, "%s", err);
}

Test (ctl, changes_without_the_token_exit_4)
{
    s_start (true);
    char *out, *err;
    cr_assert_eq (CTL (false, &out, &err, "reload"), 4, "%s", err);
    cr_assert_not_null (strstr (err, "--token-file"), "%s", err);
    h_write_file ("wrong-token", "ffffffffffffffffffffffffffffffff\n");
    const char *argv[] = {BATON_CLI_PATH, "ctl",      "--admin", NULL, "--token-file",
                          NULL,           "override", "list",    NULL};
    char admin[32];
    snprintf (admin, sizeof admin, "127.0.0.1:%d", h_admin_port ());
    argv[3] = admin;
    argv[5] = h_path ("wrong-token");
    cr_assert_eq (h_run (argv, &out, &err), 0, "reads need no token: %s", err);
    argv[6] = "reload";
    argv[7] = NULL;
    cr_assert_eq (h_run (argv, &out, &err), 4, "%s", err);
    cr_assert_not_null (strstr (err, "not the gateway's"), "%s", err);
}

Test (ctl, a_gateway_without_a_token_file_refuses_changes_with_4)
{
    s_start (false);
    char *out, *err;
    cr_assert_eq (CTL (false, &out, &err, "drain", "x"), 4, "%s", err);
    cr_assert_not_null (strstr (err, "admin_token_file"), "%s", err);
}
