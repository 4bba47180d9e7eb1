/*  test_config.c - the gateway configuration: a full file and the defaults,
 *  then every kind of error, each with its file:line:column and key, and the
 *  "baton check" command.  */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "baton/errors.h"
#include "check.h"
#include "config/config.h"
#include "config/values.h"
#include "seal.h"

#define FIXTURES BATON_SOURCE_DIR "/tests/config/"

static char s_err[BATON_CONFIG_MAX_ERROR + 512];

static baton_config_t *
load_fixture (const char *name)
{
    char path[1024];
    snprintf (path, sizeof path, FIXTURES "%s", name);
    return baton_config_load (path, s_err, sizeof s_err);
}

//  Asserts that fixture name is refused with a message that starts with the
//  fixture's path and then where ("12:5: routes[1].chain") and contains what.
static void
fixture_fails (const char *name, const char *where, const char *what)
{
    baton_config_t *cfg = load_fixture (name);
    cr_assert_null (cfg, "%s loaded", name);
    char prefix[1024];
    snprintf (prefix, sizeof prefix, FIXTURES "%s:%s: ", name, where);
    cr_assert (strncmp (s_err, prefix, strlen (prefix)) == 0, "got \"%s\", want prefix \"%s\"",
               s_err, prefix);
    cr_assert (strstr (s_err, what), "got \"%s\", want it to contain \"%s\"", s_err, what);
}

static baton_config_t *
parse (const char *yaml)
{
    return baton_config_parse (yaml, strlen (yaml), "t.yaml", s_err, sizeof s_err);
}

//  Asserts that yaml is refused with a message starting "t.yaml:" + where and
//  containing what.
static void
fails (const char *yaml, const char *where, const char *what)
{
    baton_config_t *cfg = parse (yaml);
    cr_assert_null (cfg, "accepted:\n%s", yaml);
    char prefix[256];
    snprintf (prefix, sizeof prefix, "t.yaml:%s", where);
    cr_assert (strncmp (s_err, prefix, strlen (prefix)) == 0, "got \"%s\", want prefix \"%s\"",
               s_err, prefix);
    cr_assert (strstr (s_err, what), "got \"%s\", want it to contain \"%s\"", s_err, what);
}

static void
loads (const char *yaml)
{
    baton_config_t *cfg = parse (yaml);
    cr_assert_not_null (cfg, "refused: %s\n%s", s_err, yaml);
    baton_config_destroy (&cfg);
}

#define ROUTE_HELLO                                                                                \
    "functions:\n"                                                                                 \
    "  hello:\n"                                                                                   \
    "routes:\n"                                                                                    \
    "  - path: /hello\n"                                                                           \
    "    chain: [hello]\n"

//  --------------------------------------------------------------------------
//  Files that load

Test (config, loads_every_value_of_a_full_file)
{
    baton_config_t *cfg = load_fixture ("good.yaml");
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_str_eq (s_err, "");
    cr_assert_str_eq (baton_config_name (cfg), FIXTURES "good.yaml");

    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    cr_assert_str_eq (g->listen.text, "[::1]:8081");
    cr_assert_str_eq (g->listen.host, "::1");
    cr_assert_eq (g->listen.port, 8081);
    cr_assert_str_eq (g->admin.host, "127.0.0.1");
    cr_assert_eq (g->admin.port, 9091);
    cr_assert_str_eq (g->reply, "tcp://127.0.0.1:5610");
    cr_assert_str_eq (g->control, "ipc:///tmp/baton-control");
    cr_assert_eq (g->deadline_ms, 2500);
    cr_assert_eq (g->max_inflight, 500);
    cr_assert_eq (g->drain_ms, 60000);

    const baton_config_limits_t *l = baton_config_limits (cfg);
    cr_assert_eq (l->request_line, 4096);
    cr_assert_eq (l->header_block, 32768);
    cr_assert_eq (l->header_count, 50);
    cr_assert_eq (l->body, 2 * 1024 * 1024);
    cr_assert_eq (l->header_timeout_ms, 5000);
    cr_assert_eq (l->body_timeout_ms, 20000);
    cr_assert_eq (l->idle_timeout_ms, 120000);
    cr_assert_eq (l->requests_per_connection, 100);

    cr_assert_eq (baton_config_function_count (cfg), 4);
    const baton_config_function_t *auth = baton_config_function (cfg, 0);
    cr_assert_str_eq (auth->name, "auth");
    cr_assert_eq (auth->endpoint_count, 2);
    cr_assert_str_eq (auth->endpoints[0], "tcp://127.0.0.1:5701");
    cr_assert_str_eq (auth->endpoints[1], "tcp://127.0.0.1:5702");
    cr_assert_str_eq (auth->run, "./build/examples/pipeline/auth");
    cr_assert_eq (auth->replicas, 2);
    cr_assert_eq (auth->line, 20);
    const baton_config_function_t *enrich = baton_config_function (cfg, 1);
    cr_assert_eq (enrich->endpoint_count, 1);
    cr_assert_str_eq (enrich->endpoints[0], "ipc:///tmp/baton-enrich");
    cr_assert_null (enrich->run);
    cr_assert_eq (enrich->replicas, 1);
    const baton_config_function_t *files = baton_config_function (cfg, 3);
    cr_assert_str_eq (files->name, "static-files");
    cr_assert_eq (files->endpoint_count, 0);
    cr_assert_null (baton_config_function (cfg, 4));
    cr_assert_eq (baton_config_function_find (cfg, "render", 6), baton_config_function (cfg, 2));
    cr_assert_eq (baton_config_function_find (cfg, "static-files", 12), files);
    cr_assert_null (baton_config_function_find (cfg, "rende", 5));
    cr_assert_null (baton_config_function_find (cfg, "renders", 7));

    cr_assert_eq (baton_config_route_count (cfg), 3);
    const baton_config_route_t *r = baton_config_route (cfg, 0);
    cr_assert_str_eq (r->path, "/orders/{id}");
    cr_assert_eq (r->method_count, 2);
    cr_assert_str_eq (r->methods[0], "GET");
    cr_assert_str_eq (r->methods[1], "POST");
    cr_assert_eq (r->chain_len, 3);
    cr_assert_eq (r->chain[0], auth);
    cr_assert_eq (r->chain[1], enrich);
    cr_assert_str_eq (r->chain[2]->name, "render");
    cr_assert_eq (r->deadline_ms, 2000);
    cr_assert_not (r->deadline_default);
    cr_assert_eq (r->line, 30);
    cr_assert_eq (r->column, 5);
    r = baton_config_route (cfg, 1);
    cr_assert_str_eq (r->path, "/hello");
    cr_assert_eq (r->method_count, 0);
    cr_assert_eq (r->deadline_ms, 2500, "takes gateway.deadline");
    cr_assert (r->deadline_default);
    cr_assert_eq (r->index, 1);
    cr_assert_str_eq (baton_config_route (cfg, 2)->chain[0]->name, "static-files");
    cr_assert_null (baton_config_route (cfg, 3));
    baton_config_destroy (&cfg);
    cr_assert_null (cfg);
    baton_config_destroy (&cfg);
}

Test (config, applies_defaults_to_every_key_left_out)
{
    baton_config_t *cfg = load_fixture ("minimal.yaml");
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    cr_assert_str_eq (g->listen.text, "127.0.0.1:8080");
    cr_assert_str_eq (g->listen.host, "127.0.0.1");
    cr_assert_eq (g->listen.port, 8080);
    cr_assert_str_eq (g->admin.text, "127.0.0.1:9090");
    cr_assert_eq (g->admin.port, 9090);
    cr_assert_str_eq (g->reply, "tcp://127.0.0.1:5600");
    cr_assert_null (g->control);
    cr_assert_eq (g->deadline_ms, 5000);
    cr_assert_eq (g->max_inflight, 10000);
    cr_assert_eq (g->drain_ms, 10000);
    const baton_config_limits_t *l = baton_config_limits (cfg);
    cr_assert_eq (l->request_line, 8192);
    cr_assert_eq (l->header_block, 16384);
    cr_assert_eq (l->header_count, 100);
    cr_assert_eq (l->body, 1048576);
    cr_assert_eq (l->header_timeout_ms, 10000);
    cr_assert_eq (l->body_timeout_ms, 30000);
    cr_assert_eq (l->idle_timeout_ms, 60000);
    cr_assert_eq (l->requests_per_connection, 1000);
    const baton_config_function_t *f = baton_config_function (cfg, 0);
    cr_assert_eq (f->endpoint_count, 0);
    cr_assert_null (f->run);
    cr_assert_eq (f->replicas, 1);
    cr_assert_eq (baton_config_route (cfg, 0)->deadline_ms, 5000);
    cr_assert_eq (g->heartbeat_misses, 3);
    cr_assert_eq (g->probe_timeout_ms, 250);
    cr_assert_eq (g->probe_interval_ms, 500);
    cr_assert_eq (baton_config_route (cfg, 0)->retry_attempts, 0);
    baton_config_destroy (&cfg);
}

Test (config, loads_liveness_settings_and_route_retries)
{
    baton_config_t *cfg = load_fixture ("liveness.yaml");
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    cr_assert_eq (g->heartbeat_misses, 5);
    cr_assert_eq (g->probe_timeout_ms, 100);
    cr_assert_eq (g->probe_interval_ms, 1000);
    cr_assert_eq (baton_config_route (cfg, 0)->retry_attempts, 3);
    cr_assert_eq (baton_config_route (cfg, 1)->retry_attempts, 0);
    baton_config_destroy (&cfg);
}

Test (config, refuses_bad_liveness_settings_and_retries)
{
    fixture_fails ("retry_too_many.yaml", "7:17: routes[0].retry.attempts",
                   "\"4\" is out of range (1 to 3)");
    fails ("gateway:\n  heartbeat_misses: 0\n" ROUTE_HELLO, "2:21: gateway.heartbeat_misses: ", "");
    fails ("gateway:\n  probe_interval: 2s\n" ROUTE_HELLO,
           "2:19: gateway.probe_interval: ", "\"2s\" is longer than the maximum, 1s");
    fails ("gateway:\n  probe_interval: 5ms\n" ROUTE_HELLO,
           "2:19: gateway.probe_interval: ", "shorter than the minimum, 10ms");
    fails ("gateway:\n  probe_timeout: 2m\n" ROUTE_HELLO,
           "2:18: gateway.probe_timeout: ", "longer than the maximum, 1m");
    fails (ROUTE_HELLO "    retry: {}\n",
           "6:12: routes[0].retry.attempts: ", "retry needs attempts");
    fails (ROUTE_HELLO "    retry: {attempts: 0}\n", "6:23: routes[0].retry.attempts: ", "");
    fails (ROUTE_HELLO "    retry: {attempts: 1, times: 2}\n",
           "6:26: routes[0].retry: ", "unknown key \"times\"");
    fails (ROUTE_HELLO "    retry: 2\n", "6:12: routes[0].retry: ", "expected a mapping");
    loads (ROUTE_HELLO "    retry: {attempts: 1}\n");
}

//  The annotated file in docs/gateway.md must load, with the defaults it claims.
Test (config, loads_the_example_in_the_docs)
{
    FILE *f = fopen (BATON_SOURCE_DIR "/docs/gateway.md", "r");
    cr_assert_not_null (f);
    static char doc[65536];
    size_t n = fread (doc, 1, sizeof doc - 1, f);
    fclose (f);
    doc[n] = '\0';
    const char *section = strstr (doc, "### A complete file");
    cr_assert_not_null (section);
    const char *start = strstr (section, "```yaml\n");
    cr_assert_not_null (start);
    start += 8;
    const char *end = strstr (start, "```");
    cr_assert_not_null (end);
    baton_config_t *cfg =
        baton_config_parse (start, (size_t) (end - start), "gateway.md", s_err, sizeof s_err);
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    cr_assert_str_eq (g->listen.text, "127.0.0.1:8080");
    cr_assert_str_eq (g->admin.text, "127.0.0.1:9090");
    cr_assert_str_eq (g->reply, "tcp://127.0.0.1:5600");
    cr_assert_eq (g->deadline_ms, 5000);
    cr_assert_eq (g->max_inflight, 10000);
    cr_assert_eq (g->drain_ms, 10000);
    const baton_config_limits_t *l = baton_config_limits (cfg);
    cr_assert_eq (l->request_line, 8192);
    cr_assert_eq (l->header_block, 16384);
    cr_assert_eq (l->header_count, 100);
    cr_assert_eq (l->body, 1048576);
    cr_assert_eq (l->header_timeout_ms, 10000);
    cr_assert_eq (l->body_timeout_ms, 30000);
    cr_assert_eq (l->idle_timeout_ms, 60000);
    cr_assert_eq (l->requests_per_connection, 1000);
    cr_assert_eq (baton_config_function (cfg, 0)->replicas, 1);
    baton_config_destroy (&cfg);
}

Test (config, treats_null_values_as_absent)
{
    baton_config_t *cfg = parse ("gateway:\n"
                                 "  control: ~\n"
                                 "  deadline: null\n"
                                 "limits:\n" ROUTE_HELLO "    methods:\n");
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_null (baton_config_gateway (cfg)->control);
    cr_assert_eq (baton_config_gateway (cfg)->deadline_ms, 5000);
    cr_assert_eq (baton_config_route (cfg, 0)->method_count, 0);
    baton_config_destroy (&cfg);
}

Test (config, accepts_the_written_units_and_forms)
{
    baton_config_t *cfg = parse ("gateway:\n"
                                 "  listen: localhost:80\n"
                                 "  admin: '0.0.0.0:9000'\n"
                                 "  reply: 'tcp://*:5600'\n"
                                 "  control: inproc://control\n"
                                 "  drain: 0s\n"
                                 "limits:\n"
                                 "  request_line: 64B\n"
                                 "  body: 0\n"
                                 "  header_block: 1MiB\n"
                                 "  header_timeout: 1m\n" ROUTE_HELLO);
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_str_eq (baton_config_gateway (cfg)->listen.host, "localhost");
    cr_assert_eq (baton_config_gateway (cfg)->listen.port, 80);
    cr_assert_str_eq (baton_config_gateway (cfg)->reply, "tcp://*:5600");
    cr_assert_eq (baton_config_gateway (cfg)->drain_ms, 0);
    cr_assert_eq (baton_config_limits (cfg)->request_line, 64);
    cr_assert_eq (baton_config_limits (cfg)->body, 0);
    cr_assert_eq (baton_config_limits (cfg)->header_block, 1048576);
    cr_assert_eq (baton_config_limits (cfg)->header_timeout_ms, 60000);
    baton_config_destroy (&cfg);
}

Test (config, reads_from_a_buffer_without_a_nul)
{
    const char *text = ROUTE_HELLO "garbage that is not part of the buffer: [";
    size_t len = strlen (ROUTE_HELLO);
    baton_config_t *cfg = baton_config_parse (text, len, "buf", s_err, sizeof s_err);
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
}

//  --------------------------------------------------------------------------
//  Each kind of error, from a fixture file

Test (config, names_an_unknown_key_and_the_known_ones)
{
    fixture_fails ("unknown_key.yaml", "3:3: gateway",
                   "unknown key \"deadlin\" (known keys: listen");
}

Test (config, refuses_a_bad_duration)
{
    fixture_fails ("bad_duration.yaml", "6:15: routes[0].deadline",
                   "\"5 seconds\" is not a duration");
}

Test (config, refuses_a_decimal_size_unit)
{
    fixture_fails ("bad_size.yaml", "3:9: limits.body", "\"1MB\": write sizes in KiB, MiB or GiB");
}

Test (config, names_an_undeclared_function_in_a_chain)
{
    fixture_fails ("undeclared_function.yaml", "10:13: routes[1].chain[1]",
                   "function \"enrch\" is not declared under functions");
}

Test (config, refuses_a_duplicate_key)
{
    fixture_fails ("duplicate_key.yaml", "4:3: gateway",
                   "duplicate key \"listen\" (first at line 2)");
}

Test (config, refuses_an_alias)
{
    fixture_fails ("alias.yaml", "7:12", "YAML aliases (*\"hello\") are not allowed");
}

Test (config, requires_routes)
{
    fixture_fails ("missing_routes.yaml", "1:1: routes", "at least one route is required");
}

Test (config, refuses_a_star_that_is_not_the_last_segment)
{
    fixture_fails ("bad_path.yaml", "6:11: routes[1].path",
                   "\"/files/*/raw\": \"*\" is only allowed as the whole last segment");
}

Test (config, names_both_lines_of_a_duplicate_route)
{
    fixture_fails ("duplicate_route.yaml", "10:5: routes[2]",
                   "same path pattern and method as routes[0] (line 5): \"/orders/{order}\"");
}

Test (config, refuses_a_method_that_is_not_a_token)
{
    fixture_fails ("bad_method.yaml", "5:20: routes[0].methods[1]",
                   "\"GE T\" is not an HTTP method");
}

Test (config, reports_a_missing_file)
{
    cr_assert_null (load_fixture ("no-such-file.yaml"));
    cr_assert (strstr (s_err, "no-such-file.yaml: cannot open: No such file or directory"), "%s",
               s_err);
}

Test (config, reports_a_directory)
{
    cr_assert_null (baton_config_load (FIXTURES, s_err, sizeof s_err));
    cr_assert (strstr (s_err, "cannot read: Is a directory"), "%s", s_err);
}

Test (config, refuses_a_file_over_the_size_limit)
{
    char path[] = "/tmp/baton-test-config-XXXXXX";
    int fd = mkstemp (path);
    cr_assert (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fputs (ROUTE_HELLO, f);
    //  A valid file but for its size: comments up to one byte past the limit.
    long left = BATON_CONFIG_MAX_FILE + 1 - (long) strlen (ROUTE_HELLO);
    for (; left >= 80; left -= 80)
        fprintf (f, "#%78s\n", "");
    if (left >= 2)
        fprintf (f, "#%*s\n", (int) left - 2, "");
    else if (left == 1)
        fputc ('\n', f);
    fclose (f);
    baton_config_t *cfg = baton_config_load (path, s_err, sizeof s_err);
    cr_assert_null (cfg);
    cr_assert (strstr (s_err, "the file is larger than the limit, 1048576 bytes"), "%s", s_err);

    //  Exactly at the limit it loads.
    cr_assert_eq (truncate (path, BATON_CONFIG_MAX_FILE), 0);
    cfg = baton_config_load (path, s_err, sizeof s_err);
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
    unlink (path);

    char big[64] = "routes: []\n";
    cr_assert_null (
        baton_config_parse (big, (size_t) BATON_CONFIG_MAX_FILE + 1, "big", s_err, sizeof s_err));
    cr_assert_str_eq (s_err, "big: the file is larger than the limit, 1048576 bytes");
}

//  --------------------------------------------------------------------------
//  The YAML layer

Test (config, refuses_anchors_so_no_billion_laughs)
{
    fails ("a: &a [x, x, x, x, x, x, x, x, x]\n"
           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n",
           "1:4: ", "YAML anchors (&\"a\") are not allowed");
}

Test (config, refuses_tags)
{
    fails (ROUTE_HELLO "    deadline: !!str 5s\n", "6:15: ", "YAML tags");
}

Test (config, refuses_a_second_document)
{
    fails (ROUTE_HELLO "---\n" ROUTE_HELLO, "6:1: ", "only one YAML document");
}

Test (config, reports_yaml_syntax_errors_with_their_line)
{
    fails (ROUTE_HELLO "    methods: [GET\n", "7:1: ", "YAML syntax:");
    fails ("routes:\n  - path: \"/a\n", "3:1: ", "YAML syntax:");
}

Test (config, reports_invalid_utf8_with_its_line)
{
    fails ("functions:\n  a:\n  b\xff: x\n", "3:4: ", "not valid YAML text");
}

Test (config, refuses_nesting_past_the_depth_limit)
{
    fails ("routes: [[[[[[[[x]]]]]]]]\n", "1:16: ", "nested deeper than 8 levels");
}

Test (config, refuses_control_characters_in_strings)
{
    fails (ROUTE_HELLO "    deadline: \"5\\x01s\"\n", "6:15: ", "control character");
    fails (ROUTE_HELLO "    deadline: \"5\\0s\"\n", "6:15: ", "control character");
    fails (ROUTE_HELLO "    deadline: \"5\\u0085s\"\n", "6:15: ", "control character");
}

Test (config, refuses_a_string_past_the_length_limit)
{
    char *yaml = malloc (BATON_CONFIG_MAX_STRING + 64);
    int n = sprintf (yaml, "functions:\n  a:\n    run: ");
    memset (yaml + n, 'x', BATON_CONFIG_MAX_STRING + 1);
    strcpy (yaml + n + BATON_CONFIG_MAX_STRING + 1, "\n");
    fails (yaml, "3:10: ", "a string longer than 4096 bytes");
    free (yaml);
}

Test (config, refuses_too_many_entries_in_one_sequence)
{
    size_t cap = 16 + 2 * (BATON_CONFIG_MAX_ITEMS + 1) + 4;
    char *yaml = malloc (cap);
    size_t n = (size_t) sprintf (yaml, "routes: [");
    for (int i = 0; i <= BATON_CONFIG_MAX_ITEMS; i++)
        n += (size_t) sprintf (yaml + n, "%sx", i ? "," : "");
    strcpy (yaml + n, "]\n");
    //  The entry past the limit is at column 10 + 2 * 2048.
    fails (yaml, "1:4106: ", "more than 2048 entries in one sequence");
    free (yaml);
}

Test (config, refuses_too_many_nodes)
{
    //  50 sequences of 2000 entries: each within the item limit, 100050 in all.
    char *yaml = malloc (50 * (2 * 2000 + 8) + 16);
    size_t n = 0;
    for (int s = 0; s < 50; s++) {
        n += (size_t) sprintf (yaml + n, "- [");
        for (int i = 0; i < 2000; i++)
            n += (size_t) sprintf (yaml + n, "%sx", i ? "," : "");
        n += (size_t) sprintf (yaml + n, "]\n");
    }
    yaml[n] = '\0';
    baton_config_t *cfg = parse (yaml);
    cr_assert_null (cfg);
    cr_assert (strstr (s_err, "more than 100000 YAML nodes"), "%s", s_err);
    cr_assert (strncmp (s_err, "t.yaml:50:", 10) == 0, "%s", s_err);
    free (yaml);
}

Test (config, refuses_an_empty_file_and_a_top_level_that_is_not_a_mapping)
{
    fails ("", "1:1: routes: ", "the file is empty");
    fails ("# nothing but a comment\n", "1:1: routes: ", "the file is empty");
    fails ("---\n", "1:1: routes: ", "the file is empty");
    fails ("- path: /a\n", "1:1: ", "the top level must be a mapping");
    fails ("[a]: b\n", "1:1: ", "a mapping key must be a plain string");
}

//  --------------------------------------------------------------------------
//  Schema: keys and types

Test (config, names_unknown_keys_at_every_level)
{
    fails ("routs: []\n", "1:1: unknown key \"routs\"", "known keys: gateway, limits, functions");
    fails ("limits:\n  bodyy: 1\n", "2:3: limits: unknown key \"bodyy\"", "request_line");
    fails ("functions:\n  a:\n    endpoint: []\n", "3:5: functions.a: unknown key \"endpoint\"",
           "known keys: endpoints, run, replicas, key");
    fails (ROUTE_HELLO "    method: [GET]\n", "6:5: routes[0]: unknown key \"method\"",
           "known keys: path, methods, match, chain, deadline");
}

Test (config, refuses_values_of_the_wrong_type)
{
    fails ("gateway: 5\n" ROUTE_HELLO, "1:10: gateway: ", "expected a mapping, found a string");
    fails ("gateway:\n  listen: [a]\n" ROUTE_HELLO,
           "2:11: gateway.listen: ", "expected host:port, found a sequence");
    fails ("routes:\n  path: /a\n", "2:3: routes: ", "expected a sequence of routes");
    fails ("routes:\n  - /a\n", "2:5: routes[0]: ", "expected a mapping with path: and chain:");
    fails ("functions:\n  - a\n", "2:3: functions: ", "expected a mapping of function names");
    fails (ROUTE_HELLO "    methods: GET\n",
           "6:14: routes[0].methods: ", "expected a sequence of HTTP methods");
}

Test (config, refuses_bad_durations)
{
    fails ("gateway:\n  deadline: 5\n" ROUTE_HELLO,
           "2:13: gateway.deadline: ", "\"5\" is not a duration");
    fails ("gateway:\n  deadline: 1h\n" ROUTE_HELLO, "2:13: ", "is not a duration");
    fails ("gateway:\n  deadline: -5s\n" ROUTE_HELLO, "2:13: ", "is not a duration");
    fails ("gateway:\n  deadline: 1.5s\n" ROUTE_HELLO, "2:13: ", "is not a duration");
    fails ("gateway:\n  deadline: 0ms\n" ROUTE_HELLO,
           "2:13: gateway.deadline: ", "shorter than the minimum, 1ms");
    fails ("limits:\n  idle_timeout: 1441m\n" ROUTE_HELLO,
           "2:17: limits.idle_timeout: ", "longer than the maximum, 1440m");
    fails ("gateway:\n  drain: 99999999999999999999999999s\n" ROUTE_HELLO,
           "2:10: gateway.drain: ", "longer than the maximum");
    loads ("limits:\n  idle_timeout: 1440m\n" ROUTE_HELLO);
}

Test (config, refuses_bad_sizes)
{
    fails ("limits:\n  body: 1 MiB\n" ROUTE_HELLO, "2:9: limits.body: ", "is not a size");
    fails ("limits:\n  body: 1TiB\n" ROUTE_HELLO, "2:9: ", "is not a size");
    fails ("limits:\n  body: 0x10\n" ROUTE_HELLO, "2:9: ", "is not a size");
    fails ("limits:\n  body: 8k\n" ROUTE_HELLO, "2:9: ", "powers of 1024");
    fails ("limits:\n  body: 2GiB\n" ROUTE_HELLO,
           "2:9: limits.body: ", "larger than the maximum, 1GiB");
    fails ("limits:\n  body: 18446744073709551617\n" ROUTE_HELLO,
           "2:9: ", "larger than the maximum");
    fails ("limits:\n  request_line: 63\n" ROUTE_HELLO,
           "2:17: limits.request_line: ", "smaller than the minimum, 64B");
    fails ("limits:\n  header_block: 2MiB\n" ROUTE_HELLO,
           "2:17: ", "larger than the maximum, 1MiB");
}

Test (config, refuses_bad_counts)
{
    fails ("gateway:\n  max_inflight: 0\n" ROUTE_HELLO,
           "2:17: gateway.max_inflight: ", "\"0\" is out of range (1 to 1000000)");
    fails ("gateway:\n  max_inflight: 99999999999999999999999\n" ROUTE_HELLO,
           "2:17: ", "out of range");
    fails ("gateway:\n  max_inflight: 1e4\n" ROUTE_HELLO, "2:17: ", "not a whole number");
    fails ("limits:\n  header_count: -1\n" ROUTE_HELLO, "2:17: ", "not a whole number");
    fails ("limits:\n  requests_per_connection: 0\n" ROUTE_HELLO, "2:28: ", "out of range");
}

//  --------------------------------------------------------------------------
//  Schema: addresses and endpoints

Test (config, refuses_bad_listen_addresses)
{
    fails ("gateway:\n  listen: ::1:8080\n" ROUTE_HELLO,
           "2:11: gateway.listen: ", "an IPv6 address goes in brackets");
    fails ("gateway:\n  listen: \"[::g]:8080\"\n" ROUTE_HELLO, "2:11: ", "not an IPv6 address");
    fails ("gateway:\n  listen: 127.0.0.1\n" ROUTE_HELLO, "2:11: ", "expected host:port");
    fails ("gateway:\n  listen: 127.0.0.256:80\n" ROUTE_HELLO, "2:11: ", "not an IPv4 address");
    fails ("gateway:\n  listen: 127.0.0.1:65536\n" ROUTE_HELLO, "2:11: ", "from 0 to 65535");
    fails ("gateway:\n  listen: 127.0.0.1:80a\n" ROUTE_HELLO, "2:11: ", "from 0 to 65535");
    fails ("gateway:\n  reply: tcp://127.0.0.1:0\n" ROUTE_HELLO, "2:10: ", "from 1 to 65535");
    fails ("gateway:\n  listen: :8080\n" ROUTE_HELLO, "2:11: ", "the host is missing");
    fails ("gateway:\n  listen: \"*:8080\"\n" ROUTE_HELLO, "2:11: ", "\"*\" is not a host here");
    fails ("gateway:\n  listen: bad_host:80\n" ROUTE_HELLO, "2:11: ", "not a host name");
}

Test (config, requires_admin_and_public_listeners_to_differ)
{
    fails ("gateway:\n  listen: 127.0.0.1:8080\n  admin: 127.0.0.1:8080\n" ROUTE_HELLO,
           "3:10: gateway.admin: ", "must differ from the public one");
    fails ("gateway:\n  listen: 0.0.0.0:9090\n" ROUTE_HELLO,
           "2:11: gateway.listen: ", "the admin listener (127.0.0.1:9090) must differ");
    loads ("gateway:\n  listen: 127.0.0.1:8080\n  admin: 127.0.0.2:8080\n" ROUTE_HELLO);
    //  Port 0: the system picks a free port for each.
    baton_config_t *cfg =
        parse ("gateway:\n  listen: 127.0.0.1:0\n  admin: 127.0.0.1:0\n" ROUTE_HELLO);
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_eq (baton_config_gateway (cfg)->listen.port, 0);
    cr_assert_eq (baton_config_gateway (cfg)->admin.port, 0);
    baton_config_destroy (&cfg);
}

Test (config, refuses_bad_zeromq_endpoints)
{
    fails ("gateway:\n  reply: http://x:1\n" ROUTE_HELLO,
           "2:10: gateway.reply: ", "starts with tcp://, ipc:// or inproc://");
    fails ("gateway:\n  reply: ipc://\n" ROUTE_HELLO, "2:10: ", "ipc:// path is 1 to 107 bytes");
    fails ("gateway:\n  reply: inproc://\n" ROUTE_HELLO, "2:10: ", "inproc:// name is not empty");
    fails ("gateway:\n  reply: tcp://127.0.0.1\n" ROUTE_HELLO, "2:10: ", "expected host:port");
    fails ("gateway:\n  reply: tcp://a;b:1\n" ROUTE_HELLO, "2:10: ", "not a host name");
    fails ("gateway:\n  control: tcp://127.0.0.1:5600\n" ROUTE_HELLO,
           "2:12: gateway.control: ", "must differ from gateway.reply");
    fails ("functions:\n  a:\n    endpoints: [\"tcp://*:5000\"]\n",
           "3:17: functions.a.endpoints[0]: ", "\"*\" is not a host here");
    fails ("functions:\n  a:\n    endpoints: [\"tcp://127.0.0.1:*\"]\n",
           "3:17: ", "the port must be a number");
    fails ("functions:\n  a:\n    endpoints: [tcp://a:1, tcp://b:1, tcp://a:1]\n",
           "3:39: functions.a.endpoints[2]: ", "\"tcp://a:1\" is listed twice (first at line 3)");
}

//  --------------------------------------------------------------------------
//  Schema: functions

Test (config, refuses_bad_functions)
{
    fails ("functions:\n  1st:\n",
           "2:3: functions: ", "\"1st\": a function name starts with a letter");
    fails ("functions:\n  a.b:\n", "2:3: functions: ", "holds only letters");
    fails ("functions:\n  a:\n  b:\n  a:\n",
           "4:3: functions: ", "duplicate key \"a\" (first at line 2)");
    fails ("functions:\n  a:\n    replicas: 2\n", "3:15: functions.a.replicas: ", "it needs run:");
    fails ("functions:\n  a:\n    run: x\n    replicas: 65\n", "4:15: ", "out of range (1 to 64)");
    fails ("functions:\n  a:\n    run: x\n    replicas: 0\n", "4:15: ", "out of range (1 to 64)");
}

Test (config, refuses_more_than_the_function_limit)
{
    char *yaml = malloc (32 * (BATON_CONFIG_MAX_FUNCTIONS + 2));
    size_t n = (size_t) sprintf (yaml, "functions:\n");
    for (int i = 0; i <= BATON_CONFIG_MAX_FUNCTIONS; i++)
        n += (size_t) sprintf (yaml + n, "  f%d:\n", i);
    fails (yaml, "2:3: functions: ", "more than 256 functions");
    free (yaml);
}

Test (config, refuses_more_than_the_endpoint_limit)
{
    char *yaml = malloc (32 * (BATON_CONFIG_MAX_ENDPOINTS + 4));
    size_t n = (size_t) sprintf (yaml, "functions:\n  a:\n    endpoints:\n");
    for (int i = 0; i <= BATON_CONFIG_MAX_ENDPOINTS; i++)
        n += (size_t) sprintf (yaml + n, "      - tcp://h:%d\n", 1000 + i);
    fails (yaml, "4:7: functions.a.endpoints: ", "more than 64 endpoints");
    free (yaml);
}

//  --------------------------------------------------------------------------
//  Schema: routes

Test (config, refuses_incomplete_routes)
{
    fails ("functions:\n  a:\nroutes: []\n", "3:9: routes: ", "at least one route is required");
    fails ("functions:\n  a:\nroutes:\n", "3:1: routes: ", "at least one route is required");
    fails ("functions:\n  a:\nroutes:\n  - chain: [a]\n",
           "4:5: routes[0].path: ", "a route needs a path");
    fails ("functions:\n  a:\nroutes:\n  - path: /a\n",
           "4:5: routes[0].chain: ", "a route needs a chain");
    fails ("functions:\n  a:\nroutes:\n  - path: /a\n    chain: []\n",
           "5:12: routes[0].chain: ", "at least one function");
    fails ("functions:\n  a:\nroutes:\n  - path: /a\n    chain: [a, [b]]\n",
           "5:16: routes[0].chain[1]: ", "expected a function name, found a sequence");
    fails ("routes:\n  - path: /a\n    chain: [a]\n",
           "3:13: routes[0].chain[0]: ", "function \"a\" is not declared");
}

Test (config, refuses_bad_path_patterns)
{
    static const struct {
        const char *path, *why;
    } cases[] = {
        {"hello", "must start with \"/\""},
        {"\"\"", "must start with \"/\""},
        {"/a//b", "empty segment"},
        {"/a/{1x}", "must start with a letter"},
        {"/a/{x-y}", "only letters, digits and \"_\""},
        {"/a/{}", "empty parameter name"},
        {"/a/{id}/b/{id}", "parameter {id} appears twice"},
        {"/a/{id}x", "a parameter is a whole segment"},
        {"/a/x{id}", "a parameter is a whole segment"},
        {"/a*", "only allowed as the whole last segment"},
        {"/*/a", "only allowed as the whole last segment"},
        {"/a/*/", "only allowed as the whole last segment"},
        {"/a/../b", "dot segments"},
        {"/a/.", "dot segments"},
        {"/a%2", "two hex digits"},
        {"/a%zz", "two hex digits"},
        {"\"/a b\"", "byte 0x20 is not allowed"},
        {"\"/caf\xc3\xa9\"", "byte 0xC3 is not allowed"},
        {"/a?b=1", "\"?\" does not belong"},
        {"\"/a#b\"", "\"#\" does not belong"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[256];
        snprintf (yaml, sizeof yaml, "functions:\n  a:\nroutes:\n  - path: %s\n    chain: [a]\n",
                  cases[i].path);
        fails (yaml, "4:11: routes[0].path: ", cases[i].why);
    }
}

Test (config, bounds_path_patterns)
{
    char yaml[4096], seg[2048];
    //  33 segments
    strcpy (seg, "");
    for (int i = 0; i < 33; i++)
        strcat (seg, "/a");
    snprintf (yaml, sizeof yaml, "functions:\n  a:\nroutes:\n  - path: %s\n    chain: [a]\n", seg);
    fails (yaml, "4:11: ", "more than 32 segments");
    //  17 parameters
    strcpy (seg, "");
    for (int i = 0; i < 17; i++)
        sprintf (seg + strlen (seg), "/{p%d}", i);
    snprintf (yaml, sizeof yaml, "functions:\n  a:\nroutes:\n  - path: %s\n    chain: [a]\n", seg);
    fails (yaml, "4:11: ", "more than 16 parameters");
    //  1025 bytes
    memset (seg, 'a', 1025);
    seg[0] = '/';
    seg[1025] = '\0';
    snprintf (yaml, sizeof yaml, "functions:\n  a:\nroutes:\n  - path: %s\n    chain: [a]\n", seg);
    fails (yaml, "4:11: ", "at most 1024 bytes");
    seg[1024] = '\0';
    snprintf (yaml, sizeof yaml, "functions:\n  a:\nroutes:\n  - path: %s\n    chain: [a]\n", seg);
    loads (yaml);
}

Test (config, refuses_bad_methods)
{
    fails (ROUTE_HELLO "    methods: [get]\n", "6:15: routes[0].methods[0]: ",
           "\"get\": methods are case-sensitive and written in upper case");
    fails (ROUTE_HELLO "    methods: [GET, PUT, GET]\n",
           "6:25: routes[0].methods[2]: ", "\"GET\" is listed twice");
    fails (ROUTE_HELLO "    methods: []\n",
           "6:14: routes[0].methods: ", "leave methods out to allow every method");
    fails (ROUTE_HELLO "    methods: [\"GET\\r\\n\"]\n", "6:15: ", "control character");
    fails (ROUTE_HELLO "    methods: [\"G(T\"]\n", "6:15: ", "is not an HTTP method");
    fails (ROUTE_HELLO "    methods: [ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG]\n",
           "6:15: ", "a method is 1 to 32 bytes");
    loads (ROUTE_HELLO "    methods: [PURGE, M-SEARCH]\n");
}

Test (config, limits_distinct_methods_across_routes)
{
    char *yaml = malloc (64 * 80);
    size_t n = (size_t) sprintf (yaml, "functions:\n  a:\nroutes:\n");
    for (int i = 0; i <= BATON_CONFIG_MAX_METHODS; i++)
        n += (size_t) sprintf (yaml + n, "  - path: /p%d\n    methods: [M%d]\n    chain: [a]\n", i,
                               i);
    //  Route 64 starts at line 4 + 3 * 64; its method at column 15 a line down.
    fails (yaml, "197:15: routes[64].methods[0]: ", "more than 64 distinct methods");
    free (yaml);
}

Test (config, refuses_more_than_the_route_limit)
{
    char *yaml = malloc (48 * (BATON_CONFIG_MAX_ROUTES + 4));
    size_t n = (size_t) sprintf (yaml, "functions:\n  a:\nroutes:\n");
    for (int i = 0; i <= BATON_CONFIG_MAX_ROUTES; i++)
        n += (size_t) sprintf (yaml + n, "  - {path: /r%d, chain: [a]}\n", i);
    fails (yaml, "4:3: routes: ", "more than 1024 routes");
    free (yaml);
}

Test (config, refuses_too_long_a_chain)
{
    char *yaml = malloc (4096);
    size_t n = (size_t) sprintf (yaml, ROUTE_HELLO "  - path: /x\n    chain: [hello");
    for (int i = 0; i < BATON_CONFIG_MAX_CHAIN; i++)
        n += (size_t) sprintf (yaml + n, ", hello");
    strcpy (yaml + n, "]\n");
    fails (yaml, "7:12: routes[1].chain: ", "more than 64 functions in one chain");
    free (yaml);
}

Test (config, detects_duplicate_routes_by_pattern_and_method)
{
    //  Parameter names do not make patterns different.
    fails (ROUTE_HELLO "  - path: /hello\n    methods: [GET]\n    chain: [hello]\n",
           "6:5: routes[1]: ", "same path pattern and method as routes[0] (line 4)");
    fails ("functions:\n  a:\nroutes:\n"
           "  - {path: \"/a/{x}\", methods: [GET], chain: [a]}\n"
           "  - {path: \"/a/{y}\", methods: [PUT, GET], chain: [a]}\n",
           "5:5: routes[1]: ", "as routes[0] (line 4)");
    //  Different methods, a different shape, or a trailing slash: all fine.
    loads ("functions:\n  a:\nroutes:\n"
           "  - {path: \"/a/{x}\", methods: [GET], chain: [a]}\n"
           "  - {path: \"/a/{y}\", methods: [PUT], chain: [a]}\n"
           "  - {path: \"/a/b\", methods: [GET], chain: [a]}\n"
           "  - {path: \"/a/{x}/\", methods: [GET], chain: [a]}\n"
           "  - {path: \"/a/*\", methods: [GET], chain: [a]}\n"
           "  - {path: \"/a\", chain: [a]}\n");
}

Test (config, cuts_long_values_in_messages_and_escapes_them)
{
    fails ("functions:\n  \"a\\tb\":\n", "2:3: ", "control character");
    char yaml[512];
    snprintf (yaml, sizeof yaml,
              "functions:\n  a:\nroutes:\n  - path: \"/\\\"%0200d\"\n    chain: [a]\n", 0);
    fails (yaml, "4:11: routes[0].path: ", "\"/\\\"000");
    cr_assert (strstr (s_err, "\"...: "), "%s", s_err);
}

Test (config, formats_durations_in_the_largest_exact_unit)
{
    char buf[32];
    cr_assert_str_eq (baton_value_format_duration (0, buf, sizeof buf), "0s");
    cr_assert_str_eq (baton_value_format_duration (250, buf, sizeof buf), "250ms");
    cr_assert_str_eq (baton_value_format_duration (1500, buf, sizeof buf), "1500ms");
    cr_assert_str_eq (baton_value_format_duration (10000, buf, sizeof buf), "10s");
    cr_assert_str_eq (baton_value_format_duration (90000, buf, sizeof buf), "90s");
    cr_assert_str_eq (baton_value_format_duration (120000, buf, sizeof buf), "2m");
}

//  --------------------------------------------------------------------------
//  gateway.max_budget and security

Test (config, caps_the_budget_and_refuses_longer_chains)
{
    baton_config_t *cfg = parse (ROUTE_HELLO);
    cr_assert_eq (baton_config_gateway (cfg)->max_budget, 32);
    baton_config_destroy (&cfg);
    cfg = parse ("gateway:\n  max_budget: 3\n" ROUTE_HELLO "  - {path: /y, chain: [hello, hello, "
                 "hello]}\n");
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_eq (baton_config_gateway (cfg)->max_budget, 3);
    baton_config_destroy (&cfg);
    fails ("gateway:\n  max_budget: 0\n" ROUTE_HELLO,
           "2:15: gateway.max_budget: ", "out of range (1 to 64)");
    fails ("gateway:\n  max_budget: 65\n" ROUTE_HELLO, "2:15: ", "out of range");
    fixture_fails ("chain_over_budget.yaml", "8:12: routes[0].chain",
                   "3 functions need a hop budget of 3, above gateway.max_budget (2)");
}

Test (config, security_modes_and_their_keys)
{
    baton_config_t *cfg = parse (ROUTE_HELLO);
    cr_assert_eq (baton_config_security (cfg)->mode, BATON_SECURITY_NONE);
    cr_assert_null (baton_config_security (cfg)->cert);
    baton_config_destroy (&cfg);
    cfg = load_fixture ("insecure.yaml");
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_eq (baton_config_security (cfg)->mode, BATON_SECURITY_INSECURE);
    cr_assert_str_eq (baton_config_security_mode_name (BATON_SECURITY_INSECURE), "insecure");
    baton_config_destroy (&cfg);
    fixture_fails ("security_bad_mode.yaml", "3:9: security.mode",
                   "\"plain\": expected curve or insecure");
    fixture_fails ("security_curve_without_cert.yaml", "3:3: security.cert",
                   "mode: curve needs the gateway's secret certificate");
    fails ("security:\n  mode: insecure\n  cert: gw.key_secret\n" ROUTE_HELLO,
           "3:3: security.cert: ", "keys are only for mode: curve");
    fails ("security:\n  cert: gw.key_secret\n" ROUTE_HELLO,
           "2:3: security.mode: ", "set mode: curve");
    fails ("functions:\n  a:\n    key: abc\nroutes:\n  - {path: /x, chain: [a]}\n",
           "3:10: functions.a.key: ", "not a CURVE public key");
}

//  A temp dir with a trust store (keys/) of gateway gw, function a, and
//  function b under two keys (b.key, b-next.key: a rotation), and their
//  secret files beside it. Returns the dir; writes b's keys' Z85 into b1, b2.
static char s_tmp[64];

static void
s_save (const char *dir, baton_role_t role, const char *name, const char *as, char *z85)
{
    char err[BATON_CERT_ERROR_MAX], from[256], to[256];
    baton_cert_t *cert = baton__cert_new (role, name);
    cr_assert_eq (baton__cert_save (cert, dir, false, err, sizeof err), 0, "%s", err);
    if (z85)
        strcpy (z85, baton__cert_public_z85 (cert));
    if (as) {
        snprintf (from, sizeof from, "%s/%s.key", dir, name);
        snprintf (to, sizeof to, "%s/%s.key", dir, as);
        cr_assert_eq (rename (from, to), 0);
        snprintf (from, sizeof from, "%s/%s.key_secret", dir, name);
        snprintf (to, sizeof to, "%s/%s.key_secret", dir, as);
        cr_assert_eq (rename (from, to), 0);
    }
    baton__cert_destroy (&cert);
}

static const char *
s_keys (char *b1, char *b2)
{
    strcpy (s_tmp, "/tmp/baton-cfg-XXXXXX");
    cr_assert_not_null (mkdtemp (s_tmp));
    char keys[128];
    snprintf (keys, sizeof keys, "%s/keys", s_tmp);
    cr_assert_eq (mkdir (keys, 0700), 0);
    s_save (keys, BATON_ROLE_GATEWAY, "gw", NULL, NULL);
    s_save (keys, BATON_ROLE_FUNCTION, "a", NULL, NULL);
    s_save (keys, BATON_ROLE_FUNCTION, "b", "b-next", b2);
    s_save (keys, BATON_ROLE_FUNCTION, "b", NULL, b1);
    return s_tmp;
}

static void
s_rm_keys (void)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_tmp);
    cr_assert_eq (system (cmd), 0);
}

//  Writes yaml to <dir>/gw.yaml and loads it.
static baton_config_t *
s_load_in (const char *dir, const char *yaml, char *path, size_t cap)
{
    snprintf (path, cap, "%s/gw.yaml", dir);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f);
    fputs (yaml, f);
    fclose (f);
    return baton_config_load (path, s_err, sizeof s_err);
}

#define S_CURVE "security: {mode: curve, cert: keys/gw.key_secret, trust: keys}\n"

Test (config, curve_loads_keys_relative_to_the_file_and_resolves_static_keys)
{
    char b1[48], b2[48], path[256], yaml[1024];
    const char *dir = s_keys (b1, b2);
    baton_config_t *cfg = s_load_in (dir,
                                     S_CURVE "functions:\n"
                                             "  a: {endpoints: [tcp://10.1.1.1:5701]}\n"
                                             "  b:\n"
                                             "routes:\n  - {path: /x, chain: [a, b]}\n",
                                     path, sizeof path);
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_security_t *sec = baton_config_security (cfg);
    cr_assert_eq (sec->mode, BATON_SECURITY_CURVE);
    cr_assert_str_eq (baton__cert_name (sec->cert), "gw");
    cr_assert_eq (baton__trust_count (sec->trust), 4);
    cr_assert_not_null (strstr (sec->trust_dir, dir));
    const baton_config_function_t *a = baton_config_function (cfg, 0);
    cr_assert_not_null (a->key, "a's only key");
    cr_assert_eq (baton__trust_find (sec->trust, a->key)->role, BATON_ROLE_FUNCTION);
    cr_assert_null (baton_config_function (cfg, 1)->key, "b has two keys and no endpoint");
    cr_assert_eq (baton_config_check_plaintext (cfg, s_err, sizeof s_err), 0,
                  "CURVE may use the network");
    baton_config_destroy (&cfg);

    //  Two keys for b's static endpoint: key: names one; without it, refused.
    cfg = s_load_in (dir,
                     S_CURVE "functions:\n  a:\n  b:\n    endpoints: [ipc:///tmp/b]\n"
                             "routes:\n  - {path: /x, chain: [a, b]}\n",
                     path, sizeof path);
    cr_assert_null (cfg);
    cr_assert (strstr (s_err, "gw.yaml:4:3: functions.b: the trust store"), "%s", s_err);
    cr_assert (strstr (s_err, "holds 2 keys of function b: name the one"), "%s", s_err);
    snprintf (yaml, sizeof yaml,
              S_CURVE "functions:\n  a:\n  b:\n    endpoints: [ipc:///tmp/b]\n    key: \"%s\"\n"
                      "routes:\n  - {path: /x, chain: [a, b]}\n",
              b2);
    cfg = s_load_in (dir, yaml, path, sizeof path);
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_function_t *b = baton_config_function (cfg, 1);
    cr_assert_str_eq (baton__trust_find (baton_config_security (cfg)->trust, b->key)->key_z85, b2);
    baton_config_destroy (&cfg);
    //  A key of b is no key of a.
    snprintf (yaml, sizeof yaml,
              S_CURVE "functions:\n  a:\n    endpoints: [ipc:///tmp/a]\n    key: \"%s\"\n"
                      "routes:\n  - {path: /x, chain: [a]}\n",
              b1);
    cr_assert_null (s_load_in (dir, yaml, path, sizeof path));
    cr_assert (strstr (s_err, "gw.yaml:5:10: functions.a.key: key"), "%s", s_err);
    cr_assert (strstr (s_err, "is not a key of function a"), "%s", s_err);
    //  A function with endpoints and no key at all.
    cr_assert_null (s_load_in (dir,
                               S_CURVE "functions:\n  c: {endpoints: [ipc:///tmp/c]}\n"
                                       "routes:\n  - {path: /x, chain: [c]}\n",
                               path, sizeof path));
    cr_assert (strstr (s_err, "holds no key of function c"), "%s", s_err);
    s_rm_keys ();
}

//  Loads, in dir, a curve config with cert and trust as written.
static baton_config_t *
s_load_curve (const char *dir, const char *cert, const char *trust)
{
    char yaml[512], path[256];
    snprintf (yaml, sizeof yaml,
              "security:\n  mode: curve\n  cert: %s\n  trust: %s\n"
              "functions:\n  a:\nroutes:\n  - {path: /x, chain: [a]}\n",
              cert, trust);
    return s_load_in (dir, yaml, path, sizeof path);
}

Test (config, curve_refuses_bad_key_files_where_they_are_named)
{
    char b1[48], b2[48];
    const char *dir = s_keys (b1, b2);
    //  A function's certificate is no gateway's.
    cr_assert_null (s_load_curve (dir, "keys/a.key_secret", "keys"));
    cr_assert (strstr (s_err, "gw.yaml:3:9: security.cert: "), "%s", s_err);
    cr_assert (strstr (s_err, "is not a gateway certificate"), "%s", s_err);
    //  The public file holds no secret key.
    cr_assert_null (s_load_curve (dir, "keys/gw.key", "keys"));
    cr_assert (strstr (s_err, "holds no secret key"), "%s", s_err);
    //  A secret others can read is refused, like ssh does.
    char secret[256];
    snprintf (secret, sizeof secret, "%s/keys/gw.key_secret", dir);
    cr_assert_eq (chmod (secret, 0644), 0);
    cr_assert_null (s_load_curve (dir, "keys/gw.key_secret", "keys"));
    cr_assert (strstr (s_err, "gw.yaml:3:9: security.cert: "), "%s", s_err);
    cr_assert (strstr (s_err, "chmod 600"), "%s", s_err);
    cr_assert_eq (chmod (secret, 0600), 0);
    //  No trust store there.
    cr_assert_null (s_load_curve (dir, "keys/gw.key_secret", "nowhere"));
    cr_assert (strstr (s_err, "gw.yaml:4:10: security.trust: "), "%s", s_err);
    baton_config_t *cfg = s_load_curve (dir, "keys/gw.key_secret", "keys");
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
    s_rm_keys ();
}

Test (config, set_security_loads_keys_or_leaves_the_config_alone)
{
    char b1[48], b2[48], cert[256], trust[256], gwpub[256];
    const char *dir = s_keys (b1, b2);
    snprintf (cert, sizeof cert, "%s/keys/gw.key_secret", dir);
    snprintf (trust, sizeof trust, "%s/keys", dir);
    snprintf (gwpub, sizeof gwpub, "%s/keys/gw.key", dir);
    baton_config_t *cfg = parse ("functions:\n  b: {endpoints: [ipc:///tmp/b]}\n"
                                 "routes:\n  - {path: /x, chain: [b]}\n");
    cr_assert_not_null (cfg, "%s", s_err);
    //  b has two keys: its static endpoint's is ambiguous.
    cr_assert_eq (
        baton_config_set_security (cfg, BATON_SECURITY_CURVE, cert, trust, s_err, sizeof s_err),
        BATON_EINVAL);
    cr_assert (strstr (s_err, "functions.b: the trust store"), "%s", s_err);
    cr_assert_eq (baton_config_security (cfg)->mode, BATON_SECURITY_NONE);
    cr_assert_eq (
        baton_config_set_security (cfg, BATON_SECURITY_CURVE, gwpub, trust, s_err, sizeof s_err),
        BATON_EINVAL);
    cr_assert_eq (
        baton_config_set_security (cfg, BATON_SECURITY_INSECURE, cert, NULL, s_err, sizeof s_err),
        BATON_EINVAL);
    const char *one = "b.key";
    char gone[256];
    snprintf (gone, sizeof gone, "%s/keys/b-next.key", dir);
    cr_assert_eq (unlink (gone), 0, "%s", one);
    cr_assert_eq (
        baton_config_set_security (cfg, BATON_SECURITY_CURVE, cert, trust, s_err, sizeof s_err), 0,
        "%s", s_err);
    const baton_config_security_t *sec = baton_config_security (cfg);
    cr_assert_eq (sec->mode, BATON_SECURITY_CURVE);
    cr_assert_str_eq (sec->trust_dir, trust);
    cr_assert_str_eq (baton__trust_find (sec->trust, baton_config_function (cfg, 0)->key)->key_z85,
                      b1);
    cr_assert_eq (
        baton_config_set_security (cfg, BATON_SECURITY_INSECURE, NULL, NULL, s_err, sizeof s_err),
        0);
    cr_assert_null (baton_config_function (cfg, 0)->key);
    baton_config_destroy (&cfg);
    s_rm_keys ();
}

Test (config, a_plaintext_mesh_stays_on_this_machine)
{
    static const char *const local[] = {"tcp://127.0.0.1:5", "tcp://127.9.9.9:5",
                                        "tcp://localhost:5", "tcp://[::1]:5",
                                        "ipc:///tmp/x",      "inproc://x"};
    static const char *const network[] = {
        "tcp://*:5",        "tcp://0.0.0.0:5",      "tcp://[::]:5",
        "tcp://10.0.0.1:5", "tcp://host.example:5", "tcp://eth0:5"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        cr_assert (baton_value_endpoint_is_local (local[i]), "%s", local[i]);
    for (size_t i = 0; i < sizeof network / sizeof network[0]; i++)
        cr_assert_not (baton_value_endpoint_is_local (network[i]), "%s", network[i]);
    baton_config_t *cfg = load_fixture ("plaintext_exposed.yaml");
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_eq (baton_config_check_plaintext (cfg, s_err, sizeof s_err), -1);
    cr_assert (strstr (s_err, "tcp://*:5600 is not on this machine and the mesh is plaintext"),
               "%s", s_err);
    baton_config_destroy (&cfg);
    cfg = parse ("functions:\n  a: {endpoints: [tcp://10.0.0.1:5]}\n"
                 "routes:\n  - {path: /x, chain: [a]}\n");
    cr_assert_eq (baton_config_check_plaintext (cfg, s_err, sizeof s_err), -1);
    cr_assert (strstr (s_err, "tcp://10.0.0.1:5 is not on this machine"), "%s", s_err);
    baton_config_destroy (&cfg);
    cfg = load_fixture ("insecure.yaml");
    cr_assert_eq (baton_config_check_plaintext (cfg, s_err, sizeof s_err), 0);
    baton_config_destroy (&cfg);
    cfg = load_fixture ("good.yaml");
    cr_assert_eq (baton_config_check_plaintext (cfg, s_err, sizeof s_err), 0);
    baton_config_destroy (&cfg);
}

//  --------------------------------------------------------------------------
//  baton check

static char *
read_all (FILE *f)
{
    static char buf[16384];
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

static int
check (const char *a1, const char *a2)
{
    char *argv[] = {"check", (char *) a1, (char *) a2, NULL};
    return baton__cmd_check (a2 ? 3 : a1 ? 2 : 1, argv);
}

Test (check, prints_the_routes_in_match_order, .init = cr_redirect_stdout)
{
    cr_assert_eq (check ("-c", FIXTURES "good.yaml"), 0);
    char *out = read_all (cr_get_redirected_stdout ());
    cr_assert (strstr (out, "good.yaml: ok, 3 routes, 4 functions\n"), "%s", out);
    cr_assert (strstr (out, "gateway: listen [::1]:8081, admin 127.0.0.1:9091, reply "
                            "tcp://127.0.0.1:5610, control ipc:///tmp/baton-control, deadline "
                            "2500ms, max budget 32\n"),
               "%s", out);
    cr_assert (strstr (out, "liveness: dead after 3 missed heartbeats, probe timeout 250ms, "
                            "probe interval 500ms\n"),
               "%s", out);
    const char *hello = strstr (out, "  (any)     /hello        render                    "
                                     "deadline 2500ms (default)  (line 34)\n");
    const char *orders = strstr (out, "  GET,POST  /orders/{id}  auth -> enrich -> render  "
                                      "deadline 2s  (line 30)\n");
    const char *files = strstr (out, "  GET,HEAD  /static/*     static-files              "
                                     "deadline 2500ms (default)  (line 36)\n");
    cr_assert (hello && orders && files, "%s", out);
    cr_assert (hello < orders && orders < files, "not in match order:\n%s", out);
    cr_assert (strstr (out, "  auth: tcp://127.0.0.1:5701, tcp://127.0.0.1:5702; run (2 "
                            "replicas): ./build/examples/pipeline/auth\n"),
               "%s", out);
    cr_assert (strstr (out, "  render: no static endpoints"), "%s", out);
    cr_assert (strstr (out, "security: none (plaintext mesh: loopback, ipc and inproc only)\n"),
               "%s", out);
}

Test (check, refuses_a_plaintext_mesh_on_the_network, .init = cr_redirect_stderr)
{
    cr_assert_eq (check ("-c", FIXTURES "plaintext_exposed.yaml"), 1);
    char *err = read_all (cr_get_redirected_stderr ());
    cr_assert (strstr (err, "plaintext_exposed.yaml: tcp://*:5600 is not on this machine"), "%s",
               err);
    cr_assert (strstr (err, "security: {mode: insecure}"), "%s", err);
}

Test (check, shows_the_security_mode, .init = cr_redirect_stdout)
{
    char b1[48], b2[48], path[256];
    const char *dir = s_keys (b1, b2);
    baton_config_t *cfg = s_load_in (dir,
                                     S_CURVE "functions:\n  a: {endpoints: [tcp://10.1.1.1:5]}\n"
                                             "routes:\n  - {path: /x, chain: [a]}\n",
                                     path, sizeof path);
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
    cr_assert_eq (check ("-c", path), 0);
    cr_assert_eq (check ("-c", FIXTURES "insecure.yaml"), 0);
    char *out = read_all (cr_get_redirected_stdout ());
    cr_assert (strstr (out, "security: curve, gateway gw (key "), "%s", out);
    cr_assert (strstr (out, "(4 keys)\n"), "%s", out);
    cr_assert (strstr (out, "  a: tcp://10.1.1.1:5; key "), "%s", out);
    cr_assert (strstr (out, "security: insecure (plaintext mesh, on any address)\n"), "%s", out);
    s_rm_keys ();
}

Test (check, prints_the_error_and_exits_1, .init = cr_redirect_stderr)
{
    cr_assert_eq (check ("--config", FIXTURES "undeclared_function.yaml"), 1);
    char *err = read_all (cr_get_redirected_stderr ());
    cr_assert (strstr (err, "undeclared_function.yaml:10:13: routes[1].chain[1]: function "
                            "\"enrch\" is not declared under functions\n"),
               "%s", err);
}

Test (check, accepts_the_attached_option_forms, .init = cr_redirect_stdout)
{
    cr_assert_eq (check ("--config=" FIXTURES "minimal.yaml", NULL), 0);
    cr_assert_eq (check ("-c" FIXTURES "minimal.yaml", NULL), 0);
    char *out = read_all (cr_get_redirected_stdout ());
    cr_assert (strstr (out, "minimal.yaml: ok, 1 route, 1 function\n"), "%s", out);
}

Test (check, exits_2_on_usage_errors, .init = cr_redirect_stderr)
{
    cr_assert_eq (check (NULL, NULL), 2);
    cr_assert_eq (check ("-c", NULL), 2);
    cr_assert_eq (check ("--bogus", NULL), 2);
    char *err = read_all (cr_get_redirected_stderr ());
    cr_assert (strstr (err, "-c FILE is required"), "%s", err);
    cr_assert (strstr (err, "-c needs a file name"), "%s", err);
    cr_assert (strstr (err, "unknown argument \"--bogus\""), "%s", err);
    cr_assert (strstr (err, "usage: baton check -c FILE"), "%s", err);
}

Test (check, prints_help_and_exits_0, .init = cr_redirect_stdout)
{
    cr_assert_eq (check ("--help", NULL), 0);
    cr_assert_eq (check ("-h", NULL), 0);
    fflush (stdout);
    char *out = read_all (cr_get_redirected_stdout ());
    cr_assert (strstr (out, "usage: baton check -c FILE"), "%s", out);
}

Test (check, prints_liveness_settings_and_retries, .init = cr_redirect_stdout)
{
    cr_assert_eq (check ("-c", FIXTURES "liveness.yaml"), 0);
    char *out = read_all (cr_get_redirected_stdout ());
    cr_assert (strstr (out, "liveness: dead after 5 missed heartbeats, probe timeout 100ms, "
                            "probe interval 1s\n"),
               "%s", out);
    cr_assert (strstr (out, "deadline 5s (default)  retry 3  (line 9)\n"), "%s", out);
}

Test (config, dev_mode_can_give_a_control_endpoint)
{
    baton_config_t *cfg = parse ("gateway:\n  reply: ipc:///tmp/r\n" ROUTE_HELLO);
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_null (baton_config_gateway (cfg)->control);
    cr_assert_eq (baton_config_gateway_set_control (cfg, "ipc:///tmp/r"), BATON_EINVAL,
                  "the reply endpoint");
    cr_assert_eq (baton_config_gateway_set_control (cfg, "not an endpoint"), BATON_EINVAL);
    cr_assert_eq (baton_config_gateway_set_control (cfg, "ipc:///tmp/c"), 0);
    cr_assert_str_eq (baton_config_gateway (cfg)->control, "ipc:///tmp/c");
    baton_config_destroy (&cfg);
}

//  --------------------------------------------------------------------------
//  gateway.admin_token_file

//  Writes len bytes of data to <dir>/name.
static void
s_write (const char *dir, const char *name, const char *data, size_t len)
{
    char path[256];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f);
    cr_assert_eq (fwrite (data, 1, len, f), len);
    fclose (f);
}

//  Loads, in dir, a config whose admin token file is file (written as is).
static baton_config_t *
s_load_token (const char *dir, const char *file)
{
    char yaml[512], path[256];
    snprintf (yaml, sizeof yaml, "gateway:\n  admin_token_file: %s\n" ROUTE_HELLO, file);
    return s_load_in (dir, yaml, path, sizeof path);
}

Test (config, admin_token_file_resolves_against_the_file_and_is_checked)
{
    char dir[] = "/tmp/baton-token-XXXXXX", want[256];
    cr_assert_not_null (mkdtemp (dir));
    s_write (dir, "token", "0123456789abcdef\n\n", 18);
    baton_config_t *cfg = s_load_token (dir, "token");
    cr_assert_not_null (cfg, "%s", s_err);
    snprintf (want, sizeof want, "%s/token", dir);
    cr_assert_str_eq (baton_config_gateway (cfg)->admin_token_file, want);
    baton_config_destroy (&cfg);
    //  Not set: NULL.
    cfg = parse (ROUTE_HELLO);
    cr_assert_null (baton_config_gateway (cfg)->admin_token_file);
    baton_config_destroy (&cfg);

    //  Each refusal names the key's value position and what is wrong.
    struct {
        const char *data;
        size_t len;
        const char *why;
    } bad[] = {
        {"", 0, "the file holds no token"},
        {" \n\t\r\n", 5, "the file holds no token"},
        {"0123456789abcde\n", 16, "the token is 15 bytes long; it needs at least 16"},
        {"0123456789 abcdef", 17, "byte 11 of the token is not visible ASCII"},
        {"0123456789abcdef\xc3\xa9", 18, "byte 17 of the token is not visible ASCII"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write (dir, "token", bad[i].data, bad[i].len);
        cr_assert_null (s_load_token (dir, "token"), "case %zu", i);
        cr_assert (strstr (s_err, "gw.yaml:2:21: gateway.admin_token_file: "), "%s", s_err);
        cr_assert (strstr (s_err, want), "%s", s_err);
        cr_assert (strstr (s_err, bad[i].why), "%s", s_err);
    }
    //  Over 4096 bytes, even if it is whitespace after the token; at the limit it loads.
    char big[BATON_CONFIG_MAX_TOKEN_FILE + 1];
    memset (big, 'a', 32);
    memset (big + 32, '\n', sizeof big - 32);
    s_write (dir, "token", big, sizeof big);
    cr_assert_null (s_load_token (dir, "token"));
    cr_assert (strstr (s_err, "the file is larger than the limit, 4096 bytes"), "%s", s_err);
    s_write (dir, "token", big, sizeof big - 1);
    cfg = s_load_token (dir, "token");
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
    //  Missing, a directory, unreadable.
    cr_assert_null (s_load_token (dir, "nowhere"));
    cr_assert (strstr (s_err, "gw.yaml:2:21: gateway.admin_token_file: "), "%s", s_err);
    cr_assert (strstr (s_err, "nowhere: cannot open: No such file or directory"), "%s", s_err);
    cr_assert_null (s_load_token (dir, "."));
    cr_assert (strstr (s_err, "not a regular file"), "%s", s_err);
    cr_assert_null (s_load_token (dir, "[a]"));
    cr_assert (strstr (s_err, "gw.yaml:2:21: gateway.admin_token_file: expected a path"), "%s",
               s_err);
    if (geteuid () != 0) {
        cr_assert_eq (chmod (want, 0), 0);
        cr_assert_null (s_load_token (dir, "token"));
        cr_assert (strstr (s_err, "cannot open: Permission denied"), "%s", s_err);
    }
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq (system (cmd), 0);
}

Test (config, read_token_strips_trailing_whitespace_only)
{
    char dir[] = "/tmp/baton-token-XXXXXX", path[256], token[BATON_CONFIG_MAX_TOKEN_FILE + 1],
         why[512];
    cr_assert_not_null (mkdtemp (dir));
    s_write (dir, "t", "Abcdefghijklmnop-_.~+/=\r\n \t", 27);
    snprintf (path, sizeof path, "%s/t", dir);
    cr_assert_eq (baton_config_read_token (path, token, sizeof token, why, sizeof why), 23, "%s",
                  why);
    cr_assert_str_eq (token, "Abcdefghijklmnop-_.~+/=");
    s_write (dir, "t", " Abcdefghijklmnop", 17);
    cr_assert_eq (baton_config_read_token (path, token, sizeof token, why, sizeof why), -1);
    cr_assert (strstr (why, "byte 1 of the token is not visible ASCII"), "%s", why);
    unlink (path);
    rmdir (dir);
}

Test (config, dev_mode_can_give_an_admin_token_file)
{
    char dir[] = "/tmp/baton-token-XXXXXX", path[256];
    cr_assert_not_null (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/token", dir);
    baton_config_t *cfg = parse (ROUTE_HELLO);
    cr_assert_eq (baton_config_gateway_set_admin_token_file (cfg, path, s_err, sizeof s_err),
                  BATON_EINVAL);
    cr_assert (strstr (s_err, "cannot open"), "%s", s_err);
    cr_assert_null (baton_config_gateway (cfg)->admin_token_file, "unchanged");
    s_write (dir, "token", "0123456789abcdef0123456789abcdef", 32);
    cr_assert_eq (baton_config_gateway_set_admin_token_file (cfg, path, s_err, sizeof s_err), 0,
                  "%s", s_err);
    cr_assert_str_eq (baton_config_gateway (cfg)->admin_token_file, path);
    baton_config_destroy (&cfg);
    unlink (path);
    rmdir (dir);
}

Test (check, names_the_admin_token_file, .init = cr_redirect_stdout)
{
    char dir[] = "/tmp/baton-token-XXXXXX", path[256];
    cr_assert_not_null (mkdtemp (dir));
    s_write (dir, "token", "0123456789abcdef0123456789abcdef\n", 33);
    baton_config_t *cfg = s_load_token (dir, "token");
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
    snprintf (path, sizeof path, "%s/gw.yaml", dir);
    cr_assert_eq (check ("-c", path), 0);
    char *out = read_all (cr_get_redirected_stdout ());
    cr_assert (strstr (out, "admin api: mutations need the bearer token in "), "%s", out);
    cr_assert (strstr (out, "/token\n"), "%s", out);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq (system (cmd), 0);
}

//  --------------------------------------------------------------------------
//  routes[].match

#define FN_ABC "functions:\n  a:\n  b:\n  c:\nroutes:\n"

Test (config, reads_a_routes_match)
{
    baton_config_t *cfg = parse (FN_ABC "  - path: /orders/{id}\n"
                                        "    methods: [GET]\n"
                                        "    match:\n"
                                        "      host: API.Example.com\n"
                                        "      headers: {X-Intent: [checkout, quote], x-debug: "
                                        "present, x-v: \"2\"}\n"
                                        "      query: {v: '2', 'a b': present}\n"
                                        "    chain: [a]\n"
                                        "  - {path: /x, match: {host: '*.example.com:8080'}, "
                                        "chain: [b]}\n"
                                        "  - {path: /y, match: {host: '[::1]'}, chain: [c]}\n"
                                        "  - {path: /z, chain: [c]}\n");
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_match_t *m = &baton_config_route (cfg, 0)->match;
    cr_assert_str_eq (m->host, "api.example.com");
    cr_assert_str_eq (m->host_name, "api.example.com");
    cr_assert_not (m->host_wildcard);
    cr_assert_eq (m->host_port, 0);
    cr_assert_eq (m->header_count, 3);
    cr_assert_str_eq (m->headers[0].name, "x-intent");
    cr_assert_eq (m->headers[0].kind, BATON_CONFIG_MATCH_ONE_OF);
    cr_assert_eq (m->headers[0].value_count, 2);
    cr_assert_str_eq (m->headers[0].values[1], "quote");
    cr_assert_eq (m->headers[0].value_lens[1], 5);
    cr_assert_eq (m->headers[0].line, 10);
    cr_assert_eq (m->headers[1].kind, BATON_CONFIG_MATCH_PRESENT);
    cr_assert_eq (m->headers[2].value_count, 1);
    cr_assert_eq (m->query_count, 2);
    cr_assert_str_eq (m->query[1].name, "a b");
    cr_assert_eq (m->count, 6);
    m = &baton_config_route (cfg, 1)->match;
    cr_assert_str_eq (m->host_name, "example.com");
    cr_assert (m->host_wildcard);
    cr_assert_eq (m->host_port, 8080);
    cr_assert_eq (m->count, 1);
    cr_assert_str_eq (baton_config_route (cfg, 2)->match.host_name, "[::1]");
    m = &baton_config_route (cfg, 3)->match;
    cr_assert_null (m->host);
    cr_assert_eq (m->count, 0);
    baton_config_destroy (&cfg);
}

Test (config, refuses_bad_match_conditions)
{
    fails (FN_ABC "  - {path: /x, match: {hosts: a}, chain: [a]}\n",
           "6:24: routes[0].match: ", "unknown key \"hosts\" (known keys: host, headers, query)");
    fails (FN_ABC "  - {path: /x, match: {host: 'exa mple'}, chain: [a]}\n",
           "6:30: routes[0].match.host: ", "\"exa mple\": not a host name");
    fails (FN_ABC "  - {path: /x, match: {host: '*.1.2.3.4'}, chain: [a]}\n",
           "6:30: ", "\"*.\" goes before a host name, not an address");
    fails (FN_ABC "  - {path: /x, match: {host: '[::1'}, chain: [a]}\n",
           "6:30: ", "not an IPv6 address");
    fails (FN_ABC "  - {path: /x, match: {host: 'a:0'}, chain: [a]}\n",
           "6:30: ", "the port must be a number from 1 to 65535");
    fails (FN_ABC "  - {path: /x, match: {host: '::1'}, chain: [a]}\n",
           "6:30: ", "an IPv6 address goes in brackets");
    fails (FN_ABC "  - {path: /x, match: {headers: {'x y': present}}, chain: [a]}\n",
           "6:34: routes[0].match.headers: ", "\"x y\" is not a header name");
    fails (FN_ABC "  - {path: /x, match: {headers: {Host: a}}, chain: [a]}\n",
           "6:34: ", "match the host with match.host");
    fails (FN_ABC "  - {path: /x, match: {headers: {X-A: a, x-a: b}}, chain: [a]}\n",
           "6:42: ", "\"x-a\" is listed twice (first at line 6)");
    fails (FN_ABC "  - {path: /x, match: {headers: {x-a: []}}, chain: [a]}\n",
           "6:39: routes[0].match.headers.x-a: ", "an empty list matches nothing");
    fails (FN_ABC "  - {path: /x, match: {headers: {x-a: }}, chain: [a]}\n",
           "6:39: routes[0].match.headers.x-a: ", "expected present, a value or a list");
    fails (FN_ABC "  - {path: /x, match: {headers: {x-a: {b: c}}}, chain: [a]}\n",
           "6:39: ", "found a mapping");
    fails (FN_ABC "  - {path: /x, match: {headers: {x-a: ' b'}}, chain: [a]}\n",
           "6:39: ", "never starts or ends with a space");
    fails (FN_ABC "  - {path: /x, match: {query: {v: [a, b, a]}}, chain: [a]}\n",
           "6:42: routes[0].match.query.v[2]: ", "\"a\" is listed twice");
    fails (FN_ABC "  - {path: /x, match: {query: {'': a}}, chain: [a]}\n",
           "6:32: ", "a query parameter has a name");
    char yaml[2048] = FN_ABC "  - {path: /x, chain: [a], match: {query: {";
    for (int i = 0; i <= BATON_CONFIG_MAX_CONDITIONS; i++)
        sprintf (yaml + strlen (yaml), "%sp%d: present", i ? ", " : "", i);
    strcat (yaml, "}}}\n");
    fails (yaml, "6:", "more than 16 conditions");
}

Test (config, refuses_ambiguous_and_unreachable_routes)
{
    //  The same pattern, a common method and the same conditions.
    fails (FN_ABC "  - {path: '/o/{id}', match: {headers: {x-a: [p, q]}}, chain: [a]}\n"
                  "  - {path: '/o/{n}', methods: [GET], match: {headers: {X-A: [q, p]}}, chain: "
                  "[b]}\n",
           "7:5: routes[1]: ",
           "same path pattern, method and conditions as routes[0] (line 6): \"/o/{n}\"");
    //  Without conditions the message is as it always was.
    fails (FN_ABC "  - {path: /o, chain: [a]}\n  - {path: /o, chain: [b]}\n",
           "7:5: routes[1]: ", "same path pattern and method as routes[0] (line 6)");
    //  An earlier route, as many conditions, each holding whenever the later's do.
    const char *unreachable[] = {
        "  - {path: /o, match: {headers: {x-a: [p, q]}}, chain: [a]}\n"
        "  - {path: /o, match: {headers: {x-a: p}}, chain: [b]}\n",
        "  - {path: /o, match: {headers: {x-a: present}}, chain: [a]}\n"
        "  - {path: /o, match: {headers: {x-a: p}}, chain: [b]}\n",
        "  - {path: /o, match: {host: '*.example.com'}, chain: [a]}\n"
        "  - {path: /o, match: {host: api.example.com}, chain: [b]}\n",
        "  - {path: /o, match: {host: '*.example.com'}, chain: [a]}\n"
        "  - {path: /o, match: {host: '*.eu.example.com:81'}, chain: [b]}\n",
        "  - {path: /o, match: {host: a.com}, chain: [a]}\n"
        "  - {path: /o, match: {host: 'a.com:8080'}, chain: [b]}\n",
        "  - {path: /o, match: {query: {v: present}, headers: {x: [1, 2]}}, chain: [a]}\n"
        "  - {path: /o, methods: [GET], match: {headers: {x: '1'}, query: {v: '2'}}, chain: "
        "[b]}\n",
    };
    for (size_t i = 0; i < sizeof unreachable / sizeof unreachable[0]; i++) {
        char yaml[1024];
        snprintf (yaml, sizeof yaml, FN_ABC "%s", unreachable[i]);
        fails (yaml, "7:5: routes[1]: ",
               "can never match: routes[0] (line 6) comes first with the same path pattern and "
               "method, and its match holds for every request this one's does");
    }
    //  Reachable: the narrower first, more conditions later in the file (they
    //  come first), other methods, other ports, other names.
    const char *fine[] = {
        "  - {path: /o, match: {headers: {x-a: p}}, chain: [b]}\n"
        "  - {path: /o, match: {headers: {x-a: [p, q]}}, chain: [a]}\n",
        "  - {path: /o, match: {headers: {x-a: present}}, chain: [a]}\n"
        "  - {path: /o, match: {headers: {x-a: present, x-b: present}}, chain: [b]}\n",
        "  - {path: /o, match: {headers: {x-a: p}}, chain: [a]}\n"
        "  - {path: /o, match: {headers: {x-a: present}}, chain: [b]}\n",
        "  - {path: /o, methods: [GET], match: {headers: {x-a: p}}, chain: [a]}\n"
        "  - {path: /o, methods: [POST], match: {headers: {x-a: p}}, chain: [b]}\n",
        "  - {path: /o, match: {host: 'a.com:8080'}, chain: [a]}\n"
        "  - {path: /o, match: {host: a.com}, chain: [b]}\n",
        "  - {path: /o, match: {host: 'example.com'}, chain: [a]}\n"
        "  - {path: /o, match: {host: '*.example.com'}, chain: [b]}\n",
        "  - {path: /o, match: {headers: {x-a: p}}, chain: [a]}\n"
        "  - {path: /o, match: {query: {x-a: p}}, chain: [b]}\n"
        "  - {path: /o, chain: [c]}\n",
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        char yaml[1024];
        snprintf (yaml, sizeof yaml, FN_ABC "%s", fine[i]);
        loads (yaml);
    }
}

Test (check, prints_each_routes_conditions, .init = cr_redirect_stdout)
{
    cr_assert_eq (check ("-c", FIXTURES "intent.yaml"), 0);
    char *out = read_all (cr_get_redirected_stdout ());
    const char *both = strstr (out, "  GET  /orders/{id}  host=api.example.com x-intent=checkout|"
                                    "quote ?v=2  checkout  deadline 5s (default)  (line 15)\n");
    const char *intent = strstr (out, "  GET  /orders/{id}  x-debug                          "
                                      "                  render    deadline");
    const char *plain = strstr (out, "  GET  /orders/{id}  -                                 "
                                     "                 plain     deadline");
    cr_assert (both && intent && plain, "%s", out);
    cr_assert (both < intent && intent < plain, "not in match order:\n%s", out);
}

//  --------------------------------------------------------------------------
//  Versions, splits and zones (issue 19)

#define FN_PLACED                                                                                  \
    "functions:\n"                                                                                 \
    "  render:\n"                                                                                  \
    "    endpoints:\n"                                                                             \
    "      - tcp://127.0.0.1:5001\n"                                                               \
    "      - {endpoint: tcp://127.0.0.1:5002, version: v2, zone: z2}\n"

Test (config, loads_versions_splits_and_zones)
{
    baton_config_t *cfg = parse ("gateway:\n"
                                 "  zone: eu-west-1a\n"
                                 "  zone_spill_at: 4\n" FN_PLACED "routes:\n"
                                 "  - path: /pinned\n"
                                 "    chain: [render]\n"
                                 "    version: v2\n"
                                 "  - path: /split\n"
                                 "    chain: [render]\n"
                                 "    split: {by: \"header:X-User\", weights: {v1: 90, v2: 10}}\n"
                                 "  - path: /cookie\n"
                                 "    chain: [render]\n"
                                 "    split: {by: \"cookie:session\", weights: {v1: 0, v2: 1}}\n");
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    cr_assert_str_eq (g->zone, "eu-west-1a");
    cr_assert_eq (g->zone_spill_at, 4);
    const baton_config_function_t *f = baton_config_function (cfg, 0);
    cr_assert_eq (f->endpoint_count, 2);
    cr_assert_str_eq (f->endpoints[1], "tcp://127.0.0.1:5002");
    cr_assert_not_null (f->placements);
    cr_assert_str_eq (f->placements[0].version, "");
    cr_assert_str_eq (f->placements[1].version, "v2");
    cr_assert_str_eq (f->placements[1].zone, "z2");
    const baton_config_route_t *pin = baton_config_route (cfg, 0);
    cr_assert_str_eq (pin->version, "v2");
    cr_assert_eq (pin->split.count, 0);
    const baton_config_split_t *sp = &baton_config_route (cfg, 1)->split;
    cr_assert_null (baton_config_route (cfg, 1)->version);
    cr_assert_eq (sp->by, BATON_CONFIG_SPLIT_HEADER);
    cr_assert_str_eq (sp->key, "x-user", "header names are lower-cased");
    cr_assert_eq (sp->count, 2);
    cr_assert_str_eq (sp->versions[1], "v2");
    cr_assert_eq (sp->weights[0], 90);
    cr_assert_eq (sp->total, 100);
    sp = &baton_config_route (cfg, 2)->split;
    cr_assert_eq (sp->by, BATON_CONFIG_SPLIT_COOKIE);
    cr_assert_str_eq (sp->key, "session");
    cr_assert_eq (sp->total, 1);
    baton_config_destroy (&cfg);
}

Test (config, defaults_to_no_zone_and_plain_endpoints)
{
    baton_config_t *cfg = parse ("functions:\n  a:\n    endpoints: [inproc://a]\n"
                                 "routes:\n  - path: /a\n    chain: [a]\n");
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_null (baton_config_gateway (cfg)->zone);
    cr_assert_eq (baton_config_gateway (cfg)->zone_spill_at, 16);
    cr_assert_null (baton_config_function (cfg, 0)->placements);
    cr_assert_null (baton_config_route (cfg, 0)->version);
    cr_assert_eq (baton_config_route (cfg, 0)->split.count, 0);
    baton_config_destroy (&cfg);
}

Test (config, refuses_bad_versions_splits_and_zones)
{
    fails ("gateway:\n  zone: \"eu west\"\n" ROUTE_HELLO,
           "2:9: gateway.zone: ", "a zone holds only letters");
    fails ("gateway:\n  zone_spill_at: 0\n" ROUTE_HELLO,
           "2:18: gateway.zone_spill_at: ", "out of range");
    fails ("functions:\n  a:\n    endpoints: [{version: v1}]\nroutes:\n  - path: /a\n"
           "    chain: [a]\n",
           "3:17: functions.a.endpoints[0].endpoint: ", "needs endpoint:");
    fails ("functions:\n  a:\n    endpoints: [{endpoint: inproc://a, tier: 1}]\nroutes:\n"
           "  - path: /a\n    chain: [a]\n",
           "3:40: functions.a.endpoints[0]: ", "unknown key \"tier\"");
    fails ("functions:\n  a:\n    endpoints: [inproc://a, {endpoint: inproc://a, zone: z}]\n"
           "routes:\n  - path: /a\n    chain: [a]\n",
           "3:40: functions.a.endpoints[1]: ", "is listed twice (first at line 3)");
    fails ("functions:\n  a:\n    endpoints: [{endpoint: inproc://a, version: \"v/1\"}]\n"
           "routes:\n  - path: /a\n    chain: [a]\n",
           "3:49: functions.a.endpoints[0].version: ", "a version holds only");
    fails (ROUTE_HELLO "    version: v1\n    split: {by: \"header:x\", weights: {v1: 1}}\n",
           "7:5: routes[0].version: ", "not both");
    fails (ROUTE_HELLO "    split: {weights: {v1: 1}}\n",
           "6:12: routes[0].split.by: ", "a split needs by:");
    fails (ROUTE_HELLO "    split: {by: \"query:u\", weights: {v1: 1}}\n",
           "6:17: routes[0].split.by: ", "expected header:NAME or cookie:NAME");
    fails (ROUTE_HELLO "    split: {by: \"header:x y\", weights: {v1: 1}}\n",
           "6:17: routes[0].split.by: ", "");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\"}\n",
           "6:12: routes[0].split.weights: ", "a split needs weights:");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\", weights: {v1: 0, v2: 0}}\n",
           "6:38: routes[0].split.weights: ", "add up to 0");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\", weights: {v1: 1, v1: 2}}\n", "6:46: ", "");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\", weights: {v1: -1}}\n",
           "6:43: routes[0].split.weights.v1: ", "");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\", weights: {v1: }}\n",
           "6:39: routes[0].split.weights.v1: ", "found nothing");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\", weights: {a: 1, b: 1, c: 1, d: 1, e: 1, "
                       "f: 1, g: 1, h: 1, i: 1}}\n",
           "6:38: routes[0].split.weights: ", "1 to 8 versions");
    fails (ROUTE_HELLO "    split: {by: \"cookie:s\", weights: {}}\n",
           "6:38: routes[0].split.weights: ", "1 to 8 versions");
    fails (ROUTE_HELLO "    split: [v1]\n", "6:12: routes[0].split: ", "expected a mapping");
}

//  --------------------------------------------------------------------------
//  Sealed branches (issue 19): the chain's last element, security.mesh_key

#define FN_ABCD "functions:\n  a:\n  b:\n  c:\n  d:\n"

Test (config, loads_branches_after_a_chain)
{
    baton_config_t *cfg = parse (FN_ABCD "routes:\n"
                                         "  - path: /o\n"
                                         "    chain: [a, b, {branch: {ok: [c], review: [d, c]}}]\n"
                                         "  - {path: /p, chain: [a]}\n");
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_route_t *r = baton_config_route (cfg, 0);
    cr_assert_eq (r->chain_len, 2);
    cr_assert_str_eq (r->chain[1]->name, "b");
    cr_assert_eq (r->branch_count, 2);
    cr_assert_str_eq (r->branches[0].name, "ok");
    cr_assert_eq (r->branches[0].chain_len, 1);
    cr_assert_str_eq (r->branches[0].chain[0]->name, "c");
    cr_assert_str_eq (r->branches[1].name, "review");
    cr_assert_eq (r->branches[1].chain_len, 2);
    cr_assert_str_eq (r->branches[1].chain[0]->name, "d");
    cr_assert_eq (baton_config_route (cfg, 1)->branch_count, 0);
    cr_assert_null (baton_config_security (cfg)->mesh_key, "no key: unsealed");
    baton_config_destroy (&cfg);
}

Test (config, refuses_bad_branches_where_they_are)
{
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {ok: [c]}}]}\n",
           "7:36: routes[0].chain[1].branch: ", "1 branch: a route branches 2 to 8 ways");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {a: [c], b: [c], c: [c], d: [c], "
                   "e: [c], f: [c], g: [c], h: [c], i: [c]}}]}\n",
           "7:36: routes[0].chain[1].branch: ", "9 branches");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [{branch: {x: [c], y: [d]}}]}\n",
           "7:23: routes[0].chain: ", "at least one function before its branch");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {x: [c], y: [d]}}, b]}\n",
           "7:27: routes[0].chain[1]: ", "a branch is the last element");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {x: [c, {branch: d}], y: [d]}}]}\n",
           "7:44: routes[0].chain[1].branch.x[1]: ", "never inside a branch");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {x: [], y: [d]}}]}\n",
           "7:40: routes[0].chain[1].branch.x: ", "at least one function");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {x: null, y: [d]}}]}\n",
           "7:37: routes[0].chain[1].branch.x: ", "at least one function");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {'x y': [c], y: [d]}}]}\n",
           "7:37: routes[0].chain[1].branch: ", "a branch name holds only letters");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: {x: [c], y: [e]}}]}\n",
           "7:49: routes[0].chain[1].branch.y[0]: ", "function \"e\" is not declared");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {fork: {x: [c], y: [d]}}]}\n",
           "7:28: routes[0].chain[1]: ", "unknown key \"fork\" (known keys: branch)");
    fails (FN_ABCD "routes:\n  - {path: /o, chain: [a, {branch: [c, d]}]}\n",
           "7:36: routes[0].chain[1].branch: ", "expected a mapping of branch names");
}

Test (config, counts_the_longest_branch_in_the_budget)
{
    loads ("gateway: {max_budget: 3}\n" FN_ABCD
           "routes:\n  - {path: /o, chain: [a, {branch: {x: [b, c], y: [d]}}]}\n");
    fails ("gateway: {max_budget: 3}\n" FN_ABCD
           "routes:\n  - {path: /o, chain: [a, b, {branch: {x: [b, c], y: [d]}}]}\n",
           "8:23: routes[0].chain: ",
           "4 functions (the chain and its longest branch) need a hop budget of 4, above "
           "gateway.max_budget (3)");
}

//  Writes a fresh mesh key to <dir>/mesh.key with mode.
static void
s_mesh_key (const char *dir, mode_t mode)
{
    char path[256], err[512];
    uint8_t key[BATON_MESH_KEY_SIZE];
    snprintf (path, sizeof path, "%s/mesh.key", dir);
    cr_assert_eq (baton__mesh_key_new (key), 0);
    cr_assert_eq (baton__mesh_key_save (key, path, true, err, sizeof err), 0, "%s", err);
    cr_assert_eq (chmod (path, mode), 0);
}

#define S_BRANCHES                                                                                 \
    "functions:\n  a:\n  b:\n"                                                                     \
    "routes:\n  - {path: /x, chain: [a, {branch: {p: [b], q: [a, b]}}]}\n"

Test (config, loads_the_mesh_key_in_any_mode)
{
    char b1[48], b2[48], path[256];
    const char *dir = s_keys (b1, b2);
    s_mesh_key (dir, 0600);
    baton_config_t *cfg = s_load_in (
        dir, "security: {mode: insecure, mesh_key: mesh.key}\n" S_BRANCHES, path, sizeof path);
    cr_assert_not_null (cfg, "%s", s_err);
    const baton_config_security_t *sec = baton_config_security (cfg);
    cr_assert_not_null (sec->mesh_key);
    cr_assert (strstr (sec->mesh_key_path, dir) && strstr (sec->mesh_key_path, "/mesh.key"));
    baton_config_destroy (&cfg);
    cfg = s_load_in (dir,
                     "security: {mode: curve, cert: keys/gw.key_secret, trust: keys, mesh_key: "
                     "mesh.key}\n" S_BRANCHES,
                     path, sizeof path);
    cr_assert_not_null (cfg, "%s", s_err);
    cr_assert_not_null (baton_config_security (cfg)->mesh_key);
    baton_config_destroy (&cfg);
    s_rm_keys ();
}

Test (config, refuses_unsealed_branches_in_a_curve_mesh_and_a_key_others_read)
{
    char b1[48], b2[48], path[256];
    const char *dir = s_keys (b1, b2);
    cr_assert_null (s_load_in (dir, S_CURVE S_BRANCHES, path, sizeof path));
    cr_assert (strstr (s_err, "gw.yaml:6:36: routes[0].chain[1].branch: branches in a CURVE mesh "
                              "are sealed: set security.mesh_key"),
               "%s", s_err);
    //  Without branches a CURVE mesh needs no mesh key.
    baton_config_t *cfg = s_load_in (
        dir, S_CURVE "functions:\n  a:\nroutes:\n  - {path: /x, chain: [a]}\n", path, sizeof path);
    cr_assert_not_null (cfg, "%s", s_err);
    baton_config_destroy (&cfg);
    s_mesh_key (dir, 0644);
    cr_assert_null (s_load_in (dir, "security: {mode: insecure, mesh_key: mesh.key}\n" S_BRANCHES,
                               path, sizeof path));
    cr_assert (strstr (s_err, "gw.yaml:1:38: security.mesh_key: "), "%s", s_err);
    cr_assert (strstr (s_err, "chmod 600"), "%s", s_err);
    cr_assert_null (s_load_in (dir, "security: {mode: insecure, mesh_key: nowhere}\n" S_BRANCHES,
                               path, sizeof path));
    cr_assert (strstr (s_err, "security.mesh_key: ") && strstr (s_err, "cannot open"), "%s", s_err);
    s_rm_keys ();
}

Test (config, set_mesh_key_loads_it_or_changes_nothing)
{
    char b1[48], b2[48], path[256];
    const char *dir = s_keys (b1, b2);
    baton_config_t *cfg = parse (S_BRANCHES);
    cr_assert_not_null (cfg, "%s", s_err);
    snprintf (path, sizeof path, "%s/mesh.key", dir);
    cr_assert_eq (baton_config_set_mesh_key (cfg, path, s_err, sizeof s_err), BATON_EINVAL);
    cr_assert_null (baton_config_security (cfg)->mesh_key);
    s_mesh_key (dir, 0600);
    cr_assert_eq (baton_config_set_mesh_key (cfg, path, s_err, sizeof s_err), 0, "%s", s_err);
    cr_assert_not_null (baton_config_security (cfg)->mesh_key);
    cr_assert_str_eq (baton_config_security (cfg)->mesh_key_path, path);
    //  The security mode changes; the key stays.
    cr_assert_eq (
        baton_config_set_security (cfg, BATON_SECURITY_INSECURE, NULL, NULL, s_err, sizeof s_err),
        0, "%s", s_err);
    cr_assert_not_null (baton_config_security (cfg)->mesh_key);
    baton_config_destroy (&cfg);
    s_rm_keys ();
}
