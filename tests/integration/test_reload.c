/*  test_reload.c - hot reload end to end (issue 18): a real gateway and
 *  functions; the chain of a route changed under a bounded load of GETs on
 *  kept-alive connections (libcurl, in threads); a broken file and a change
 *  that needs a restart, by SIGHUP and by POST /-/reload; a request in
 *  flight across a reload that removes its function.  */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"

static void
s_init (void)
{
    h_setup ();
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
s_fini (void)
{
    h_teardown ();
    curl_global_cleanup ();
}

TestSuite (reload, .init = s_init, .fini = s_fini, .timeout = 90);

#define S_TOKEN "reload-test-token-0123456789"

//  A gateway with the admin token, its reply socket at ipc://@D/<reply>,
//  functions a, b and (with_s) slow s, all at static endpoints; route /x
//  goes through chain, /slow through slow; tail ends the file.
static const char *
s_config (const char *reply, const char *chain, bool with_s, const char *slow, const char *tail)
{
    char *yaml = (char *) h_alloc (2048);
    snprintf (yaml, 2048,
              "gateway:\n"
              "  listen: 127.0.0.1:0\n"
              "  admin: 127.0.0.1:0\n"
              "  reply: ipc://@D/%s\n"
              "  admin_token_file: token\n"
              "functions:\n"
              "  a:\n"
              "    endpoints: [ipc://@D/a]\n"
              "  b:\n"
              "    endpoints: [ipc://@D/b]\n"
              "%s"
              "routes:\n"
              "  - path: /x\n"
              "    chain: [%s]\n"
              "  - path: /slow\n"
              "    chain: [%s]\n"
              "%s",
              reply, with_s ? "  s:\n    endpoints: [ipc://@D/s]\n" : "", chain, slow, tail);
    return yaml;
}

//  The usual config: /x through chain.
static const char *
s_yaml (const char *chain)
{
    return s_config ("reply", chain, true, "s", "");
}

//  Starts a, b and s (which sleeps 400 ms), then the gateway on yaml.
static void
s_start (const char *yaml)
{
    h_write_file ("token", S_TOKEN "\n");
    h_fn ("a", "append", NULL);
    h_fn ("b", "append", NULL);
    h_fn ("s", "sleep", "BATON_TEST_SLEEP_MS=400");
    h_gateway (yaml);
}

//  Writes the gateway's config file again (the reload reads it).
static void
s_rewrite (const char *yaml)
{
    h_write_file ("gateway.yaml", yaml);
}

static void
s_sighup (void)
{
    cr_assert_eq (kill (h_gateway_pid (), SIGHUP), 0);
}

static double
s_generation (void)
{
    return h_metric ("baton_config_generation");
}

//  POST /-/reload with the token; the response's status, its body in body.
static int
s_post_reload (const char **body)
{
    h_conn_t *c = h_connect (h_admin_port ());
    cr_assert (h_send_str (c, "POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                              "Authorization: Bearer " S_TOKEN "\r\n\r\n"));
    h_resp_t r = h_read (c, H_WAIT_MS);
    h_close (c, false);
    *body = r.body;
    return r.status;
}

//  Where `baton check -c <dir>/gateway.yaml` says the file is wrong:
//  "gateway.yaml:LINE:COLUMN:", as its first error starts.
static const char *
s_check_position (void)
{
    const char *argv[] = {BATON_CLI_PATH, "check", "-c", h_path ("gateway.yaml"), NULL};
    char *out = NULL, *err = NULL;
    cr_assert_neq (h_run (argv, &out, &err), 0, "baton check accepted the broken file");
    const char *at = err ? strstr (err, "gateway.yaml:") : NULL;
    cr_assert_not_null (at, "%s", err ? err : "(nothing)");
    char *pos = (char *) h_alloc (64);
    size_t n = 0;
    for (int colons = 0; at[n] && n < 63 && colons < 3; n++)
        colons += at[n] == ':';
    memcpy (pos, at, n);
    pos[n] = '\0';
    cr_assert (n > 16, "no line and column in: %s", err);
    return pos;
}

//  Waits until the gateway's log holds text.
static void
s_wait_log (const char *text)
{
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (!strstr (h_read_file ("gateway.log"), text) && h_mono_ms () < end)
        h_sleep_ms (10);
    cr_assert (strstr (h_read_file ("gateway.log"), text), "no \"%s\" in the log:\n%s", text,
               h_logs ());
}

//  One GET on c (kept alive); returns the status and the body in body.
static int
s_get (h_conn_t *c, const char *path, const char **body)
{
    char req[128];
    snprintf (req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    cr_assert (h_send_str (c, req));
    h_resp_t r = h_read (c, H_WAIT_MS);
    *body = r.body;
    return r.status;
}

//  --- load ---------------------------------------------------------------------------

#define S_THREADS 4

typedef struct {
    char url[128];
    atomic_bool *stop;
    atomic_bool *switched; //  set once some response came from the new chain
    long requests, old_chain, new_chain, bad, connects;
    char first_bad[160];
} s_load_t;

//  A response body: the first bytes of it (the chains' answers are short).
typedef struct {
    char data[64];
    size_t len;
} s_body_t;

static size_t
s_keep (char *ptr, size_t size, size_t n, void *arg)
{
    s_body_t *b = (s_body_t *) arg;
    size_t room = sizeof b->data - 1 - b->len, more = size * n;
    memcpy (b->data + b->len, ptr, more < room ? more : room);
    b->len += more < room ? more : room;
    b->data[b->len] = '\0';
    return more;
}

//  GETs on one kept-alive connection until told to stop (at most 20000):
//  every response must be 200 with the body of the old chain ("|a") or of
//  the new one ("|a|b"). Counts the connections libcurl had to open.
static void *
s_load_run (void *arg)
{
    s_load_t *l = (s_load_t *) arg;
    CURL *h = curl_easy_init ();
    s_body_t b;
    curl_easy_setopt (h, CURLOPT_URL, l->url);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, 10000L);
    while (!atomic_load (l->stop) && l->requests < 20000) {
        b.len = 0;
        b.data[0] = '\0';
        long status = 0, connects = 0;
        CURLcode rc = curl_easy_perform (h);
        curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo (h, CURLINFO_NUM_CONNECTS, &connects);
        l->requests++;
        l->connects += connects;
        const char *body = b.data;
        if (rc == CURLE_OK && status == 200 && strcmp (body, "|a") == 0)
            l->old_chain++;
        else if (rc == CURLE_OK && status == 200 && strcmp (body, "|a|b") == 0) {
            l->new_chain++;
            atomic_store (l->switched, true);
        } else if (l->bad++ == 0)
            snprintf (l->first_bad, sizeof l->first_bad, "curl %d status %ld body %.80s", (int) rc,
                      status, body);
    }
    curl_easy_cleanup (h);
    return NULL;
}

Test (reload, a_chain_changes_under_load_and_no_request_or_connection_is_lost)
{
    //  A connection serves every request of its thread.
    const char *limits = "limits:\n  requests_per_connection: 1000000\n";
    s_start (s_config ("reply", "a", true, "s", limits));
    cr_assert_eq (s_generation (), 1);
    atomic_bool stop = false, switched = false;
    s_load_t loads[S_THREADS];
    pthread_t threads[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        loads[i] = (s_load_t){.stop = &stop, .switched = &switched};
        snprintf (loads[i].url, sizeof loads[i].url, "http://127.0.0.1:%d/x", h_port ());
        pthread_create (&threads[i], NULL, s_load_run, &loads[i]);
    }
    //  Under load: every thread's connection open (and the one /-/metrics
    //  itself is asked on).
    h_sleep_ms (300);
    double before = h_metric ("baton_connections");
    s_rewrite (s_config ("reply", "a, b", true, "s", limits));
    s_sighup ();
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (!atomic_load (&switched) && h_mono_ms () < end)
        h_sleep_ms (5);
    h_sleep_ms (300); //  more load on the new chain
    double after = h_metric ("baton_connections");
    atomic_store (&stop, true);
    long requests = 0, old_chain = 0, new_chain = 0;
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join (threads[i], NULL);
        cr_assert_eq (loads[i].bad, 0, "thread %d: %ld of %ld malformed or lost, first: %s", i,
                      loads[i].bad, loads[i].requests, loads[i].first_bad);
        cr_assert_eq (loads[i].connects, 1, "thread %d opened %ld connections", i,
                      loads[i].connects);
        requests += loads[i].requests;
        old_chain += loads[i].old_chain;
        new_chain += loads[i].new_chain;
    }
    cr_log_info ("%ld requests: %ld on the old chain, %ld on the new", requests, old_chain,
                 new_chain);
    cr_assert_gt (old_chain, 0);
    cr_assert_gt (new_chain, 0, "the new chain never answered:\n%s", h_logs ());
    cr_assert_geq (before, S_THREADS + 1, "connections before: %g", before);
    cr_assert_eq (after, before, "connections after the reload: %g, before: %g", after, before);
    cr_assert_eq (s_generation (), 2);
    cr_assert_eq (h_metric ("baton_config_reloads_total{result=\"ok\"}"), 1);
    s_wait_log ("config reloaded");
    h_stop_all ();
}

Test (reload, a_broken_file_changes_nothing_and_says_where)
{
    s_start (s_yaml ("a"));
    h_conn_t *c = h_connect (h_port ());
    const char *body;
    cr_assert_eq (s_get (c, "/x", &body), 200);
    //  Function "nosuch" is not declared: the route's chain is refused.
    s_rewrite (s_yaml ("a, nosuch"));
    const char *at = s_check_position ();
    //  SIGHUP: logged with the position, counted, nothing changed.
    s_sighup ();
    s_wait_log ("reload refused: invalid config");
    s_wait_log (at);
    cr_assert_eq (h_metric_wait ("baton_config_reloads_total{result=\"invalid\"}", 1, H_WAIT_MS),
                  1);
    cr_assert_eq (s_generation (), 1);
    cr_assert_eq (s_get (c, "/x", &body), 200);
    cr_assert_str_eq (body, "|a");
    //  POST /-/reload: 422 with exactly baton check's error.
    const char *problem;
    cr_assert_eq (s_post_reload (&problem), 422, "%s", problem);
    cr_assert (strstr (problem, at) && strstr (problem, "nosuch"), "%s\nwant: %s", problem, at);
    cr_assert_eq (h_metric ("baton_config_reloads_total{result=\"invalid\"}"), 2);
    cr_assert_eq (s_generation (), 1);
    //  /-/config says what is in force and what went wrong.
    h_resp_t cfg = h_request (h_admin_port (), "GET", "/-/config", NULL);
    cr_assert_eq (cfg.status, 200);
    cr_assert (strstr (cfg.body, "\"generation\":1,"), "%s", cfg.body);
    cr_assert (strstr (cfg.body, "\"invalid\":2"), "%s", cfg.body);
    cr_assert (strstr (cfg.body, "nosuch"), "last_error: %s", cfg.body);
    //  The file fixed: the reload goes through, on the same connection.
    s_rewrite (s_yaml ("a, b"));
    cr_assert_eq (s_post_reload (&problem), 200, "%s", problem);
    cr_assert (strstr (problem, "\"generation\":2"), "%s", problem);
    cr_assert_eq (s_get (c, "/x", &body), 200);
    cr_assert_str_eq (body, "|a|b");
    cfg = h_request (h_admin_port (), "GET", "/-/config", NULL);
    cr_assert (strstr (cfg.body, "\"last_error\":null"), "%s", cfg.body);
    h_close (c, false);
    h_stop_all ();
}

Test (reload, a_change_that_needs_a_restart_is_refused_by_name)
{
    s_start (s_yaml ("a"));
    //  A new reply endpoint and a new body limit: both named, nothing changed.
    s_rewrite (s_config ("reply2", "a, b", true, "s", "limits:\n  body: 2KiB\n"));
    const char *problem;
    cr_assert_eq (s_post_reload (&problem), 409, "%s", problem);
    cr_assert (strstr (problem, "gateway.reply"), "%s", problem);
    cr_assert (strstr (problem, "limits.body"), "%s", problem);
    s_sighup ();
    cr_assert_eq (
        h_metric_wait ("baton_config_reloads_total{result=\"restart_required\"}", 2, H_WAIT_MS), 2);
    s_wait_log ("reload refused: restart required");
    cr_assert_eq (s_generation (), 1);
    h_resp_t r = h_request (h_port (), "GET", "/x", NULL);
    cr_assert_str_eq (r.body, "|a");
    h_stop_all ();
}

Test (reload, new_limits_hold_for_the_connections_accepted_after)
{
    s_start (s_yaml ("a"));
    h_conn_t *before = h_connect (h_port ());
    const char *body;
    cr_assert_eq (s_get (before, "/x", &body), 200);
    s_rewrite (s_config ("reply", "a", true, "s", "limits:\n  requests_per_connection: 1\n"));
    const char *answer;
    cr_assert_eq (s_post_reload (&answer), 200, "%s", answer);
    //  A connection accepted after the reload is closed after one request...
    h_conn_t *after = h_connect (h_port ());
    cr_assert (h_send_str (after, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    h_resp_t r = h_read (after, H_WAIT_MS);
    cr_assert_eq (r.status, 200);
    const char *conn = h_header (&r, "connection");
    cr_assert (conn && strcmp (conn, "close") == 0, "%s", r.head);
    h_close (after, false);
    //  ...while the one from before keeps the limits it was accepted with.
    cr_assert (h_send_str (before, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    r = h_read (before, H_WAIT_MS);
    cr_assert_eq (r.status, 200);
    cr_assert_null (h_header (&r, "connection"), "%s", r.head);
    h_close (before, false);
    h_stop_all ();
}

Test (reload, a_request_in_flight_finishes_on_the_route_it_was_given)
{
    s_start (s_yaml ("a"));
    h_conn_t *slow = h_connect (h_port ());
    cr_assert (h_send_str (slow, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
    h_sleep_ms (100); //  at s, which takes 400 ms
    //  The reload drops function s and sends /slow to a.
    const char *next = s_config ("reply", "a", false, "a", "");
    s_rewrite (next);
    const char *problem;
    cr_assert_eq (s_post_reload (&problem), 200, "%s\n%s", problem, next);
    h_resp_t cfg = h_request (h_admin_port (), "GET", "/-/config", NULL);
    cr_assert (strstr (cfg.body, "\"held_generations\":1"), "%s", cfg.body);
    h_resp_t r = h_read (slow, H_WAIT_MS);
    cr_assert_eq (r.status, 200, "%s", r.body);
    cr_assert_str_eq (r.body, "|s", "the old route, through the removed function");
    const char *body;
    cr_assert_eq (s_get (slow, "/slow", &body), 200);
    cr_assert_str_eq (body, "|a");
    //  The old generation went with the last request that held it.
    cfg = h_request (h_admin_port (), "GET", "/-/config", NULL);
    cr_assert (strstr (cfg.body, "\"held_generations\":0"), "%s", cfg.body);
    h_close (slow, false);
    h_stop_all ();
}
