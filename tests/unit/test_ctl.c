/*  test_ctl.c - "baton ctl" without a gateway: its command line, its JSON
 *  reader on good and hostile bytes, and the tables it makes of answers
 *  recorded from the admin API (docs/gateway.md).  */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/json.h"
#include "ctl/render.h"

//  --- the command line -----------------------------------------------------------------

static int
s_parse (baton__ctl_args_t *a, char *err, const char *const *words)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *) "ctl";
    for (; *words; words++)
        argv[argc++] = (char *) *words;
    return baton__ctl_args_parse (argc, argv, a, err, 512);
}

#define PARSE(a, err, ...) s_parse ((a), (err), (const char *const[]){__VA_ARGS__, NULL})

Test (ctl_args, options_before_and_after_the_command)
{
    baton__ctl_args_t a;
    char err[512];
    cr_assert_eq (PARSE (&a, err, "--admin", "10.0.0.1:9090", "status", "--json", "--timeout=2s"),
                  0, "%s", err);
    cr_assert_eq (a.cmd, BATON_CTL_STATUS);
    cr_assert_str_eq (a.admin, "10.0.0.1:9090");
    cr_assert (a.json);
    cr_assert_eq (a.timeout_ms, 2000);
    cr_assert_eq (PARSE (&a, err, "-c", "gw.yaml", "--token-file", "t", "topology"), 0, "%s", err);
    cr_assert_str_eq (a.config, "gw.yaml");
    cr_assert_str_eq (a.token_file, "t");
    cr_assert_eq (a.timeout_ms, BATON_CTL_DEFAULT_TIMEOUT_MS);
}

Test (ctl_args, override_add_of_each_kind)
{
    baton__ctl_args_t a;
    char err[512];
    cr_assert_eq (PARSE (&a, err, "override", "add", "chain", "/orders/{id}", "auth,debug,render",
                         "--method", "POST", "--ttl", "30s"),
                  0, "%s", err);
    cr_assert_eq (a.cmd, BATON_CTL_OVERRIDE_ADD);
    cr_assert_str_eq (a.kind, "chain");
    cr_assert_str_eq (a.target, "/orders/{id}");
    cr_assert_str_eq (a.value, "auth,debug,render");
    cr_assert_str_eq (a.method, "POST");
    cr_assert_str_eq (a.ttl, "30s");
    cr_assert_eq (PARSE (&a, err, "override", "add", "pin", "enrich", "i-1,tcp://10.0.0.2:5555"), 0,
                  "%s", err);
    cr_assert_eq (PARSE (&a, err, "override", "add", "weight", "enrich", "i-1:10,i-2:0"), 0, "%s",
                  err);
    cr_assert_eq (PARSE (&a, err, "override", "add", "fail", "/orders", "503", "--body",
                         "back soon", "--content-type", "text/plain"),
                  0, "%s", err);
    cr_assert_str_eq (a.body, "back soon");
    cr_assert_eq (PARSE (&a, err, "override", "rm", "o3"), 0, "%s", err);
    cr_assert_eq (a.cmd, BATON_CTL_OVERRIDE_RM);
    cr_assert_str_eq (a.id, "o3");
    cr_assert_eq (PARSE (&a, err, "drain", "enrich-7"), 0, "%s", err);
    cr_assert_eq (a.cmd, BATON_CTL_DRAIN);
    cr_assert_eq (PARSE (&a, err, "undrain", "enrich-7"), 0, "%s", err);
    cr_assert_eq (a.cmd, BATON_CTL_UNDRAIN);
}

Test (ctl_args, refuses_usage_errors_and_says_what_to_do)
{
    baton__ctl_args_t a;
    char err[512];
    struct {
        const char *const words[10];
        const char *says;
    } cases[] = {
        {{"bogus"}, "unknown command"},
        {{"status", "--frobnicate"}, "unknown option"},
        {{"status", "extra"}, "takes no argument"},
        {{"status", "--timeout", "5"}, "--timeout"},
        {{"status", "--admin"}, "needs a value"},
        {{"override"}, "list, add or rm"},
        {{"override", "add"}, "needs a kind"},
        {{"override", "add", "teleport", "/x", "y"}, "unknown kind"},
        {{"override", "add", "chain", "/x"}, "exactly two"},
        {{"override", "add", "chain", "orders", "a"}, "ROUTE"},
        {{"override", "add", "chain", "/orders", "a,,b"}, "chain"},
        {{"override", "add", "fail", "/orders", "200"}, "400 to 599"},
        {{"override", "add", "pin", "enrich", "i-1", "--method", "GET"}, "--method is for"},
        {{"override", "add", "chain", "/o", "a", "--body", "x"}, "--body"},
        {{"override", "add", "chain", "/o", "a", "--ttl", "forever"}, "--ttl"},
        {{"override", "add", "chain", "/o", "a", "--method", "get"}, "--method"},
        {{"override", "rm"}, "one id"},
        {{"drain"}, "one replica"},
        {{"status", "--ttl", "1m"}, "are for override add"},
        {{NULL}, "which command"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq (s_parse (&a, err, cases[i].words), -1, "case %zu", i);
        cr_assert_not_null (strstr (err, cases[i].says), "case %zu: %s", i, err);
    }
}

Test (ctl_args, help_of_each_command)
{
    baton__ctl_args_t a;
    char err[512];
    cr_assert_eq (PARSE (&a, err, "--help"), 0);
    cr_assert_eq (a.help, baton__ctl_help);
    cr_assert_not_null (strstr (a.help, "exit codes"));
    cr_assert_eq (PARSE (&a, err, "override", "-h"), 0);
    cr_assert_not_null (strstr (a.help, "override add weight"));
    cr_assert_eq (PARSE (&a, err, "drain", "--help"), 0);
    cr_assert_not_null (strstr (a.help, "undrain"));
}

Test (ctl_client, form_and_path_are_percent_encoded)
{
    const char *fields[] = {"kind",   "fail", "route", "/orders/{id}", "body", "a b&c=d\xc3\xa9",
                            "method", NULL};
    char *form = baton__ctl_form (fields, 8);
    cr_assert_str_eq (form, "kind=fail&route=%2Forders%2F%7Bid%7D&body=a%20b%26c%3Dd%C3%A9");
    free (form);
    char *path = baton__ctl_path ("/-/replicas/", "tcp://10.0.0.2:5555", "/drain");
    cr_assert_str_eq (path, "/-/replicas/tcp%3A%2F%2F10.0.0.2%3A5555/drain");
    free (path);
}

//  --- the JSON reader --------------------------------------------------------------------

Test (ctl_json, reads_a_document)
{
    const char *text =
        " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\","
        " \"big\": 9223372036854775807, \"o\": {}} ";
    char err[128];
    baton_jsonr_t *doc = baton_jsonr_parse (text, strlen (text), NULL, err, sizeof err);
    cr_assert_not_null (doc, "%s", err);
    const baton_jsonr_value_t *root = baton_jsonr_root (doc);
    cr_assert_eq (root->count, 4);
    const baton_jsonr_value_t *a = baton_jsonr_get (root, "a");
    cr_assert (baton_jsonr_is_array (a));
    cr_assert_eq (a->count, 5);
    int64_t n;
    cr_assert (baton_jsonr_int (a->first, &n));
    cr_assert_eq (n, 1);
    cr_assert_not (baton_jsonr_int (a->first->next, &n));
    cr_assert_float_eq (a->first->next->num, -2500.0, 1e-9);
    cr_assert (baton_jsonr_is_true (a->first->next->next));
    cr_assert_eq (a->first->next->next->next->next->type, BATON_JSONR_NULL);
    cr_assert_str_eq (baton_jsonr_str (baton_jsonr_get (root, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n");
    cr_assert (baton_jsonr_int (baton_jsonr_get (root, "big"), &n));
    cr_assert_eq (n, INT64_MAX);
    cr_assert_eq (baton_jsonr_get (root, "o")->count, 0);
    cr_assert_null (baton_jsonr_get (root, "missing"));
    cr_assert_null (baton_jsonr_get (a, "a")); //  not an object
    cr_assert_null (baton_jsonr_str (NULL));
    baton_jsonr_destroy (&doc);
    cr_assert_null (doc);
    baton_jsonr_destroy (&doc);
}

Test (ctl_json, refuses_what_is_not_strict_json)
{
    static const char *const bad[] = {
        "",
        "  ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{a:1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",
        "[+1]",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\x01\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"",
        "[true false]",
        "nul",
        "{} {}",
        "[1]x",
        "\xef\xbb\xbf{}",
        "[\"a\" : 1]",
        "{\"a\" 1}",
        "'a'",
        "[NaN]",
        "[Infinity]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        baton_jsonr_t *doc = baton_jsonr_parse (bad[i], strlen (bad[i]), NULL, err, sizeof err);
        cr_assert_null (doc, "case %zu accepted: %s", i, bad[i]);
        cr_assert_eq (strncmp (err, "at byte ", 8), 0, "case %zu: %s", i, err);
    }
}

Test (ctl_json, holds_to_its_limits)
{
    baton_jsonr_limits_t lim = {.max_size = 64, .max_depth = 3, .max_nodes = 4, .max_string = 5};
    char err[128];
    baton_jsonr_t *doc = baton_jsonr_parse ("[[[1]]]", 7, &lim, err, sizeof err);
    cr_assert_not_null (doc, "%s", err);
    baton_jsonr_destroy (&doc);
    doc = baton_jsonr_parse ("[[[[1]]]]", 9, &lim, err, sizeof err);
    cr_assert_null (doc);
    cr_assert_not_null (strstr (err, "deep"), "%s", err);
    cr_assert_null (baton_jsonr_parse ("[1,2,3,4]", 9, &lim, err, sizeof err));
    cr_assert_not_null (strstr (err, "values"), "%s", err);
    cr_assert_null (baton_jsonr_parse ("[\"abcdef\"]", 10, &lim, err, sizeof err));
    cr_assert_not_null (strstr (err, "longer"), "%s", err);
    doc = baton_jsonr_parse ("[\"abcde\"]", 9, &lim, err, sizeof err);
    cr_assert_not_null (doc, "%s", err);
    baton_jsonr_destroy (&doc);
    char big[100];
    memset (big, ' ', sizeof big);
    cr_assert_null (baton_jsonr_parse (big, sizeof big, &lim, err, sizeof err));
    cr_assert_not_null (strstr (err, "more than 64"), "%s", err);
    //  Deep nesting at the default limits: refused, not a stack overflow.
    size_t n = 1 << 20;
    char *deep = malloc (n);
    memset (deep, '[', n);
    cr_assert_null (baton_jsonr_parse (deep, n, NULL, err, sizeof err));
    free (deep);
}

Test (ctl_json, keeps_no_pointer_into_the_input)
{
    char text[] = "{\"k\":\"v\",\"n\":12}";
    baton_jsonr_t *doc = baton_jsonr_parse (text, strlen (text), NULL, NULL, 0);
    memset (text, 'x', sizeof text - 1);
    cr_assert_str_eq (baton_jsonr_str (baton_jsonr_get (baton_jsonr_root (doc), "k")), "v");
    cr_assert_str_eq (baton_jsonr_get (baton_jsonr_root (doc), "n")->str, "12");
    baton_jsonr_destroy (&doc);
}

//  --- rendering recorded answers -------------------------------------------------------------

typedef int (*render_fn) (FILE *, const baton_jsonr_value_t *);

//  What render prints for the JSON text; NULL when it returns -1.
static char *
s_render (render_fn render, const char *json)
{
    char err[128];
    baton_jsonr_t *doc = baton_jsonr_parse (json, strlen (json), NULL, err, sizeof err);
    cr_assert_not_null (doc, "%s", err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);
    int rc = render (f, baton_jsonr_root (doc));
    fclose (f);
    baton_jsonr_destroy (&doc);
    if (rc < 0) {
        free (text);
        return NULL;
    }
    return text;
}

Test (ctl_render, routes_as_an_aligned_table)
{
    char *t = s_render (baton__ctl_render_routes,
                        "{\"routes\":[{\"path\":\"/orders\",\"methods\":[\"POST\"],\"chain\":"
                        "[\"auth\",\"enrich\",\"render\"],\"deadline_ms\":2000},{\"path\":\"/h\","
                        "\"methods\":[],\"chain\":[\"hello\"],\"deadline_ms\":250}]}\n");
    cr_assert_str_eq (t, "METHODS  PATH     CHAIN                     DEADLINE\n"
                         "POST     /orders  auth -> enrich -> render  2.0s\n"
                         "(any)    /h       hello                     250ms\n");
    free (t);
    cr_assert_null (s_render (baton__ctl_render_routes, "{\"functions\":[]}"));
}

Test (ctl_render, topology_with_weights_and_drains)
{
    char *t = s_render (
        baton__ctl_render_topology,
        "{\"functions\":[{\"name\":\"enrich\",\"replicas\":[{\"endpoint\":\"ipc:///r/e-0\","
        "\"state\":\"alive\",\"source\":\"announce\",\"instance\":\"e-0\",\"outstanding\":2,"
        "\"routed\":10,\"weight\":100,\"last_heartbeat_ms_ago\":120},{\"endpoint\":\"ipc:///r/"
        "e-1\","
        "\"state\":\"draining\",\"drained_by\":\"admin\",\"instance\":\"e-1\",\"outstanding\":0,"
        "\"routed\":7,\"weight\":100,\"last_heartbeat_ms_ago\":null}]},{\"name\":\"spare\","
        "\"replicas\":[]}]}");
    cr_assert_str_eq (
        t, "FUNCTION  INSTANCE  STATE             WEIGHT  OUTSTANDING  ROUTED  HEARTBEAT  "
           "ENDPOINT\n"
           "enrich    e-0       alive             100     2            10      120ms ago  "
           "ipc:///r/e-0\n"
           "enrich    e-1       draining (admin)  100     0            7       -          "
           "ipc:///r/e-1\n"
           "spare     -         (no replica)      -       -            -       -          "
           "-\n");
    free (t);
}

Test (ctl_render, config_overrides_and_one_liners)
{
    char *t =
        s_render (baton__ctl_render_config,
                  "{\"generation\":3,\"sha256\":\"ab12\",\"path\":\"/etc/baton.yaml\","
                  "\"loaded_at\":\"2026-12-01T10:00:00Z\",\"reloads\":{\"ok\":2,\"invalid\":1},"
                  "\"last_error\":\"gw.yaml:4:7: routes: bad\"}");
    cr_assert_str_eq (t, "generation  3\n"
                         "sha256      ab12\n"
                         "path        /etc/baton.yaml\n"
                         "loaded_at   2026-12-01T10:00:00Z\n"
                         "reloads     2 ok, 1 invalid\n"
                         "last_error  gw.yaml:4:7: routes: bad\n");
    free (t);
    const char *list =
        "{\"overrides\":[{\"id\":\"o1\",\"kind\":\"chain\",\"route\":\"/orders\","
        "\"method\":\"POST\",\"chain\":[\"auth\",\"render\"],\"ttl_ms\":600000,"
        "\"expires_in_ms\":599000,\"created_by\":\"127.0.0.1\"},{\"id\":\"o2\","
        "\"kind\":\"weight\",\"function\":\"enrich\",\"weights\":{\"e-0\":10,"
        "\"e-1\":0},\"ttl_ms\":60000,\"expires_in_ms\":1500,\"created_by\":\"::1\"}]}";
    t = s_render (baton__ctl_render_overrides, list);
    cr_assert_str_eq (t, "ID  KIND    TARGET          CHANGE                EXPIRES   BY\n"
                         "o1  chain   /orders [POST]  chain=auth,render     in 9m59s  127.0.0.1\n"
                         "o2  weight  enrich          weights=e-0:10,e-1:0  in 1.5s   ::1\n");
    free (t);
    t = s_render (baton__ctl_render_overrides, "{\"overrides\":[]}");
    cr_assert_str_eq (t, "no override in force\n");
    free (t);

    char err[64], *text = NULL;
    size_t len = 0;
    const char *one = "{\"id\":\"o4\",\"kind\":\"fail\",\"route\":\"/orders\",\"status\":503,"
                      "\"body\":\"later\",\"expires_in_ms\":60000}";
    baton_jsonr_t *doc = baton_jsonr_parse (one, strlen (one), NULL, err, sizeof err);
    cr_assert_not_null (doc, "%s", err);
    FILE *f = open_memstream (&text, &len);
    cr_assert_eq (baton__ctl_render_override (f, "added", baton_jsonr_root (doc)), 0);
    fclose (f);
    cr_assert_str_eq (text, "added o4: fail /orders status=503 body=later, expires in 1m00s\n");
    free (text);
    baton_jsonr_destroy (&doc);
}

Test (ctl_render, hostile_strings_cannot_drive_the_terminal)
{
    char *t = s_render (baton__ctl_render_routes,
                        "{\"routes\":[{\"path\":\"/\\u001b[2J\\u009b31m\\u00e9\",\"methods\":"
                        "[\"GET\"],\"chain\":[\"a\\r\\nb\"],\"deadline_ms\":1}]}");
    cr_assert_null (strchr (t, 0x1b));
    cr_assert_null (strchr (t, '\r'));
    cr_assert_not_null (strstr (t, "/\\x1b[2J\\u009b31m\xc3\xa9"), "%s", t);
    cr_assert_not_null (strstr (t, "a\\x0d\\x0ab"), "%s", t);
    free (t);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&out, &len);
    baton__ctl_put_safe (f, "ok\xff\xc3(\x7f", 6);
    fclose (f);
    cr_assert_str_eq (out, "ok\\xff\\xc3(\\x7f");
    free (out);
}

Test (ctl_render, status_lines)
{
    char err[64];
    const char *topo = "{\"functions\":[{\"name\":\"a\",\"replicas\":[{\"state\":\"alive\"},"
                       "{\"state\":\"draining\"}]},{\"name\":\"b\",\"replicas\":[{\"state\":"
                       "\"dead\"}]}]}";
    baton_jsonr_t *doc = baton_jsonr_parse (topo, strlen (topo), NULL, err, sizeof err);
    baton__ctl_status_t st = {"http://127.0.0.1:9090", true, false, NULL,
                              baton_jsonr_root (doc),  NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);
    cr_assert_eq (baton__ctl_render_status (f, &st), 0);
    fclose (f);
    cr_assert_str_eq (text, "gateway     http://127.0.0.1:9090\n"
                            "health      ok\n"
                            "ready       no (draining or starting)\n"
                            "config      (this gateway has no /-/config)\n"
                            "replicas    3: 1 alive, 1 draining, 1 dead\n"
                            "            b: no replica alive\n"
                            "overrides   (this gateway has no /-/overrides)\n");
    free (text);
    baton_jsonr_destroy (&doc);
    char buf[32];
    baton__ctl_format_ms (7322000, buf, sizeof buf);
    cr_assert_str_eq (buf, "2h02m");
}
