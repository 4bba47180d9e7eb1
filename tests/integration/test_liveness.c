/*  test_liveness.c - issue 17 end to end: real gateways and fn_test
 *  processes, a 3-hop chain under a bounded load of GETs (libcurl, in
 *  threads), kill -9 and restart of the middle hop; then a mixed run of
 *  requests that go wrong, after which every counter is back to 0; and a
 *  handler that blocks, whose replica stays alive, and a routine probe that
 *  reached its replica too late, which does not eject it.  */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "baton/envelope.h"
#include "harness.h"
#include "hop_send.h"

TestSuite (liveness, .init = h_setup, .fini = h_teardown, .timeout = 90);

#define S_DEADLINE_MS 2000
#define S_THREADS     4
#define S_MAX_REQS    20000 //  per thread: the load is bounded

//  --- the load: GETs in threads, each on its own keep-alive handle -------------------------

typedef struct {
    int port;
    volatile int *stop;
    int count;
    int status[S_MAX_REQS];
    uint64_t start_ms[S_MAX_REQS], took_ms[S_MAX_REQS];
} s_load_t;

static size_t
s_discard (char *ptr, size_t size, size_t n, void *arg)
{
    (void) ptr;
    (void) arg;
    return size * n;
}

static void *
s_load_run (void *arg)
{
    s_load_t *l = (s_load_t *) arg;
    CURL *h = curl_easy_init ();
    char url[64];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/x", l->port);
    curl_easy_setopt (h, CURLOPT_URL, url);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, 10000L);
    while (!*l->stop && l->count < S_MAX_REQS) {
        uint64_t t0 = h_mono_ms ();
        long status = 0;
        if (curl_easy_perform (h) == CURLE_OK)
            curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
        l->start_ms[l->count] = t0;
        l->took_ms[l->count] = h_mono_ms () - t0;
        l->status[l->count++] = (int) status;
        h_sleep_ms (2); //  bounded: about 500 requests a second per thread at most
    }
    curl_easy_cleanup (h);
    return NULL;
}

typedef struct {
    s_load_t *runs[S_THREADS];
    pthread_t threads[S_THREADS];
    volatile int stop;
} s_loads_t;

static void
s_load_start (s_loads_t *ls)
{
    ls->stop = 0;
    for (int i = 0; i < S_THREADS; i++) {
        ls->runs[i] = (s_load_t *) h_alloc (sizeof (s_load_t));
        memset (ls->runs[i], 0, sizeof (s_load_t));
        ls->runs[i]->port = h_port ();
        ls->runs[i]->stop = &ls->stop;
        pthread_create (&ls->threads[i], NULL, s_load_run, ls->runs[i]);
    }
}

static void
s_load_stop (s_loads_t *ls)
{
    ls->stop = 1;
    for (int i = 0; i < S_THREADS; i++)
        pthread_join (ls->threads[i], NULL);
}

//  --- the topology, as /-/topology shows it ----------------------------------------------

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t
s_collect (char *ptr, size_t size, size_t n, void *arg)
{
    s_buf_t *b = (s_buf_t *) arg;
    char *grown = (char *) realloc (b->data, b->len + size * n + 1);
    cr_assert_not_null (grown);
    memcpy (grown + b->len, ptr, size * n);
    b->data = grown;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

//  /-/topology, parsed (polled often: libcurl, not the harness's connections,
//  which live until the end of the test). Free with json_decref.
static json_t *
s_topology (void)
{
    CURL *h = curl_easy_init ();
    char url[64];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/-/topology", h_admin_port ());
    s_buf_t b = {NULL, 0};
    curl_easy_setopt (h, CURLOPT_URL, url);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, (long) H_WAIT_MS);
    CURLcode rc = curl_easy_perform (h);
    curl_easy_cleanup (h);
    cr_assert_eq (rc, CURLE_OK, "/-/topology: %s", curl_easy_strerror (rc));
    json_t *root = json_loads (b.data ? b.data : "", 0, NULL);
    cr_assert_not_null (root, "%s", b.data ? b.data : "");
    free (b.data);
    return root;
}

//  The replica of fn whose endpoint ends with "/name", from /-/topology;
//  NULL if absent. *root_p must be freed with json_decref.
static json_t *
s_replica (const char *fn, const char *name, json_t **root_p)
{
    json_t *root = s_topology ();
    *root_p = root;
    size_t i, k;
    json_t *f, *rep;
    json_array_foreach (json_object_get (root, "functions"), i, f)
    {
        if (strcmp (json_string_value (json_object_get (f, "name")), fn) != 0)
            continue;
        json_array_foreach (json_object_get (f, "replicas"), k, rep)
        {
            const char *ep = json_string_value (json_object_get (rep, "endpoint"));
            const char *slash = strrchr (ep, '/');
            if (slash && strcmp (slash + 1, name) == 0)
                return rep;
        }
    }
    return NULL;
}

//  The state of replica name of fn ("alive", "dead", ...), h_alloc'd.
static const char *
s_state (const char *fn, const char *name)
{
    json_t *root;
    json_t *rep = s_replica (fn, name, &root);
    const char *st = rep ? json_string_value (json_object_get (rep, "state")) : "absent";
    char *out = (char *) h_alloc (strlen (st) + 1);
    strcpy (out, st);
    json_decref (root);
    return out;
}

//  Polls until replica name of fn is (alive) or is not (!alive) in the alive
//  set; returns the ms it took, or asserts after H_WAIT_MS.
static uint64_t
s_wait_alive (const char *fn, const char *name, bool alive, uint64_t since)
{
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while ((strcmp (s_state (fn, name), "alive") == 0) != alive) {
        cr_assert_lt (h_mono_ms (), end, "%s/%s never %s: %s", fn, name,
                      alive ? "alive" : "out of rotation", s_state (fn, name));
        h_sleep_ms (5);
    }
    return h_mono_ms () - since;
}

//  Waits until replica name of fn is watched by its heartbeats (its first
//  one came); returns the ms it took.
static uint64_t
s_wait_heartbeat (const char *fn, const char *name)
{
    uint64_t t0 = h_mono_ms ();
    for (;;) {
        json_t *root;
        json_t *rep = s_replica (fn, name, &root);
        json_int_t ivl =
            rep ? json_integer_value (json_object_get (rep, "heartbeat_interval_ms")) : 0;
        json_decref (root);
        if (ivl > 0)
            return h_mono_ms () - t0;
        cr_assert_lt (h_mono_ms () - t0, H_WAIT_MS, "%s/%s never heartbeated\n%s", fn, name,
                      h_logs ());
        h_sleep_ms (5);
    }
}

//  Asserts that every replica in /-/topology has outstanding 0.
static void
s_assert_no_outstanding (void)
{
    json_t *root = s_topology ();
    size_t i, k;
    json_t *f, *rep;
    json_array_foreach (json_object_get (root, "functions"), i, f)
    {
        json_array_foreach (json_object_get (f, "replicas"), k, rep)
        {
            cr_assert_eq (json_integer_value (json_object_get (rep, "outstanding")), 0,
                          "outstanding left on %s",
                          json_string_value (json_object_get (rep, "endpoint")));
        }
    }
    json_decref (root);
}

static const char *
s_env (const char *fmt, const char *arg)
{
    char *out = (char *) h_alloc (512);
    snprintf (out, 512, fmt, arg);
    return out;
}

//  Starts replica name of function fn (fn_test, append mode); with
//  heartbeat, it heartbeats to the gateway's control endpoint every 250 ms.
static pid_t
s_start (const char *fn, const char *name, bool heartbeat)
{
    unlink (h_path (name)); //  a killed replica leaves its socket file
    const char *env[] = {s_env ("BATON_TEST_FUNCTION=%s", fn),
                         heartbeat ? s_env ("BATON_GATEWAY=ipc://%s/control", h_dir ()) : NULL,
                         "BATON_HEARTBEAT_MS=250", NULL};
    return h_fn_env (name, "append", env);
}

//  A gateway on ephemeral ports with its reply and control endpoints in the
//  test's directory, then rest (its functions and routes).
static void
s_gateway_with (const char *rest)
{
    char *yaml = (char *) h_alloc (strlen (rest) + 256);
    sprintf (yaml,
             "gateway:\n"
             "  listen: 127.0.0.1:0\n"
             "  admin: 127.0.0.1:0\n"
             "  reply: ipc://@D/reply\n"
             "  control: ipc://@D/control\n"
             "%s",
             rest);
    h_gateway (yaml);
}

//  A gateway in front of a -> b -> c, each replica static (listed in the
//  config); b has the replicas named in b_endpoints.
static void
s_gateway (const char *b_endpoints)
{
    char *yaml = (char *) h_alloc (2048);
    snprintf (yaml, 2048,
              "functions:\n"
              "  a: {endpoints: [ipc://@D/a0]}\n"
              "  b: {endpoints: [%s]}\n"
              "  c: {endpoints: [ipc://@D/c0]}\n"
              "routes:\n"
              "  - {path: /x, chain: [a, b, c], deadline: %dms}\n",
              b_endpoints, S_DEADLINE_MS);
    s_gateway_with (yaml);
}

//  Starts the load, kill -9s b0 half a second in, and returns how long b0
//  took to leave the alive set (the load goes on).
static uint64_t
s_kill_under_load (s_loads_t *load, pid_t b0)
{
    s_load_start (load);
    h_sleep_ms (500);
    kill (b0, SIGKILL);
    uint64_t killed = h_mono_ms ();
    uint64_t out = s_wait_alive ("b", "b0", false, killed);
    cr_assert_neq (h_wait (b0, H_WAIT_MS), -1);
    return out;
}

Test (liveness, kill_9_of_one_middle_replica_under_load_loses_no_get)
{
    s_start ("a", "a0", true);
    pid_t b0 = s_start ("b", "b0", true);
    s_start ("b", "b1", true);
    s_start ("c", "c0", true);
    s_gateway ("ipc://@D/b0, ipc://@D/b1");
    //  The static replicas heartbeat: watched like announced ones.
    s_wait_heartbeat ("b", "b0");
    s_wait_heartbeat ("b", "b1");
    s_loads_t load;
    uint64_t out = s_kill_under_load (&load, b0);
    //  Ejected by a probe (a hop said it could not reach b0), or dead by its
    //  missing heartbeats: whichever came first.
    const char *state = s_state ("b", "b0");
    cr_assert (!strcmp (state, "dead") || !strcmp (state, "ejected"), "b0 is %s", state);
    h_sleep_ms (1000);
    cr_assert_str_eq (s_state ("b", "b0"), "dead", "no heartbeat for a second");
    uint64_t restarted = h_mono_ms ();
    s_start ("b", "b0", true);
    uint64_t back = s_wait_alive ("b", "b0", true, restarted);
    h_sleep_ms (500);
    s_load_stop (&load);
    int total = 0, bad = 0, first_bad = 0;
    uint64_t longest = 0;
    for (int t = 0; t < S_THREADS; t++)
        for (int i = 0; i < load.runs[t]->count; i++) {
            total++;
            int st = load.runs[t]->status[i];
            if (st < 200 || st > 299) {
                bad++;
                first_bad = first_bad ? first_bad : st;
            }
            if (load.runs[t]->took_ms[i] > longest)
                longest = load.runs[t]->took_ms[i];
        }
    double retries = h_metric ("baton_retries_total{route=\"/x\"}");
    cr_log_info ("kill -9 of b0 of two: %d GETs, %d not 2xx, longest %llu ms, %g retried; b0 out "
                 "of rotation %llu ms after the kill, back %llu ms after its restart",
                 total, bad, (unsigned long long) longest, retries, (unsigned long long) out,
                 (unsigned long long) back);
    cr_assert_gt (total, 100, "the load did not run");
    cr_assert_eq (bad, 0, "%d of %d GETs were not 2xx (first: %d)\n%s", bad, total, first_bad,
                  h_logs ());
    cr_assert_lt (longest, S_DEADLINE_MS, "a GET was answered after its deadline");
    cr_assert_lt (out, 1000, "b0 left the alive set %llu ms after the kill",
                  (unsigned long long) out);
    cr_assert_lt (back, 1000, "b0 came back %llu ms after its restart", (unsigned long long) back);
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    s_assert_no_outstanding ();
    h_stop_all ();
}

Test (liveness, one_replica_per_hop_only_the_killed_one_leaves_and_200s_resume)
{
    //  No heartbeats here: the probes alone watch the replicas.
    s_start ("a", "a0", false);
    pid_t b0 = s_start ("b", "b0", false);
    s_start ("c", "c0", false);
    s_gateway ("ipc://@D/b0");
    s_loads_t load;
    uint64_t out = s_kill_under_load (&load, b0);
    h_sleep_ms (1000);
    uint64_t restarted = h_mono_ms ();
    s_start ("b", "b0", false);
    uint64_t back = s_wait_alive ("b", "b0", true, restarted);
    h_sleep_ms (1000);
    s_load_stop (&load);
    //  The first 200 that started after the restart, and how long after.
    uint64_t first_ok = UINT64_MAX, longest = 0;
    int total = 0, ok = 0, s502 = 0, s503 = 0, s504 = 0;
    for (int t = 0; t < S_THREADS; t++)
        for (int i = 0; i < load.runs[t]->count; i++) {
            s_load_t *l = load.runs[t];
            total++;
            ok += l->status[i] == 200;
            s502 += l->status[i] == 502;
            s503 += l->status[i] == 503;
            s504 += l->status[i] == 504;
            if (l->status[i] == 200 && l->start_ms[i] >= restarted &&
                l->start_ms[i] + l->took_ms[i] < first_ok)
                first_ok = l->start_ms[i] + l->took_ms[i];
            if (l->took_ms[i] > longest)
                longest = l->took_ms[i];
        }
    cr_log_info ("kill -9 of the only b: %d requests, %d 200s, %d 502s, %d 503s, %d 504s, "
                 "longest %llu ms; b out %llu ms after the kill, back %llu ms after its restart, "
                 "first 200 %llu ms after it",
                 total, ok, s502, s503, s504, (unsigned long long) longest,
                 (unsigned long long) out, (unsigned long long) back,
                 (unsigned long long) (first_ok - restarted));
    cr_assert_neq (first_ok, UINT64_MAX, "no 200 after the restart");
    cr_assert_lt (first_ok - restarted, 1000, "200s resumed %llu ms after the restart",
                  (unsigned long long) (first_ok - restarted));
    cr_assert_lt (out, 1000);
    cr_assert_lt (longest, S_DEADLINE_MS, "a request was answered after its deadline");
    //  The healthy hops were never ejected.
    const char *hops[][2] = {{"a", "a0"}, {"c", "c0"}};
    for (int i = 0; i < 2; i++) {
        json_t *root;
        json_t *rep = s_replica (hops[i][0], hops[i][1], &root);
        cr_assert_not_null (rep);
        cr_assert_eq (json_integer_value (json_object_get (rep, "ejections")), 0, "%s was ejected",
                      hops[i][1]);
        json_decref (root);
    }
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    s_assert_no_outstanding ();
    h_stop_all ();
}

//  Sends raw, then closes (abort: a reset) or reads the answer.
static void
s_raw (const char *raw, bool close_at_once)
{
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, raw);
    if (close_at_once) {
        h_sleep_ms (5);
        h_close (c, true);
        return;
    }
    h_resp_t r;
    h_read_response (c, &r, H_WAIT_MS);
    h_close (c, false);
}

Test (liveness, counters_return_to_zero_after_a_mixed_run)
{
    s_start ("a", "a0", true);
    const char *env[] = {"BATON_TEST_FUNCTION=s", "BATON_TEST_SLEEP_MS=300", NULL};
    h_fn_env ("s0", "sleep", env);
    s_gateway_with ("limits:\n"
                    "  body_timeout: 200ms\n"
                    "functions:\n"
                    "  a: {endpoints: [ipc://@D/a0]}\n"
                    "  s: {endpoints: [ipc://@D/s0]}\n"
                    "routes:\n"
                    "  - {path: /x, chain: [a], deadline: 2s}\n"
                    "  - {path: /slow, chain: [a, s], deadline: 100ms}\n");
    for (int i = 0; i < 20; i++) {
        //  A bad chunk: 400, the connection closes.
        s_raw (
            "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
            false);
        //  A chunked body that never ends: 408 at the body timeout.
        s_raw ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
               false);
        //  A client that goes away in the middle of its body.
        s_raw ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nhalf", true);
        //  A client that goes away while its request is in the chain.
        s_raw ("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n", true);
        //  A timeout (the sleep hop takes 300 ms of a 100 ms deadline), then a
        //  request that goes through.
        s_raw ("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n", false);
        s_raw ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok", false);
    }
    cr_assert_geq (h_metric ("baton_requests_total{route=\"/x\",status=\"200\"}"), 20);
    cr_assert_geq (h_metric ("baton_rejects_total{reason=\"body_timeout\"}"), 20);
    cr_assert_geq (h_metric ("baton_timeouts_total"), 1);
    //  Everything answered or forgotten: nothing is held anywhere.
    cr_assert_eq (h_metric_wait ("baton_inflight_requests", 0, H_WAIT_MS), 0);
    s_assert_no_outstanding ();
    h_stop_all ();
}

//  The replica of a (a0 or a1) that holds a request, as /-/topology says.
static const char *
s_busy_replica (void)
{
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (h_mono_ms () < end) {
        for (int i = 0; i < 2; i++) {
            const char *name = i ? "a1" : "a0";
            json_t *root;
            json_t *rep = s_replica ("a", name, &root);
            json_int_t n = rep ? json_integer_value (json_object_get (rep, "outstanding")) : 0;
            json_decref (root);
            if (n == 1)
                return name;
        }
        h_sleep_ms (2);
    }
    cr_assert_fail ("no replica of a took the request");
    return NULL;
}

//  A POST whose replica dies: answered 502 at once (never sent twice), unless
//  its route says retry: then the other replica answers it.
Test (liveness, a_post_is_retried_only_when_its_route_says_so)
{
    //  The handler takes 300 ms; the SDK heartbeats from a thread meanwhile.
    const char *env[] = {"BATON_TEST_FUNCTION=a", "BATON_TEST_SLEEP_MS=300",
                         s_env ("BATON_GATEWAY=ipc://%s/control", h_dir ()),
                         "BATON_HEARTBEAT_MS=250", NULL};
    pid_t pids[2] = {h_fn_env ("a0", "sleep", env), h_fn_env ("a1", "sleep", env)};
    s_gateway_with ("functions:\n"
                    "  a: {endpoints: [ipc://@D/a0, ipc://@D/a1]}\n"
                    "routes:\n"
                    "  - {path: /once, chain: [a], deadline: 3s}\n"
                    "  - {path: /again, chain: [a], deadline: 3s, retry: {attempts: 1}}\n");
    s_wait_heartbeat ("a", "a0");
    s_wait_heartbeat ("a", "a1");
    const char *paths[] = {"/once", "/again"};
    for (int k = 0; k < 2; k++) {
        h_conn_t *c = h_connect (h_port ());
        char req[128];
        snprintf (req, sizeof req, "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
                  paths[k]);
        cr_assert (h_send_str (c, req));
        const char *busy = s_busy_replica ();
        int which = strcmp (busy, "a1") == 0;
        kill (pids[which], SIGKILL);
        uint64_t t0 = h_mono_ms ();
        h_resp_t r = h_read (c, H_WAIT_MS);
        uint64_t took = h_mono_ms () - t0;
        cr_log_info ("POST %s on %s, killed: %d after %llu ms", paths[k], busy, r.status,
                     (unsigned long long) took);
        if (k == 0) {
            cr_assert_eq (r.status, 502, "%s\n%s", r.body, h_logs ());
            cr_assert (strstr (r.body, "function a: replica"), "%s", r.body);
            cr_assert_str_eq (h_header (&r, "Retry-After"), "1");
            cr_assert_lt (took, 1500, "not at once: %llu ms", (unsigned long long) took);
            cr_assert_eq (h_metric ("baton_fail_fast_total"), 1);
        } else {
            cr_assert_eq (r.status, 200, "%s", r.body);
            cr_assert_str_eq (r.body, "hi|a");
            cr_assert_eq (h_metric ("baton_retries_total{route=\"/again\"}"), 1);
        }
        cr_assert_eq (h_metric ("baton_retries_total{route=\"/once\"}"), 0);
        h_close (c, false);
        cr_assert_neq (h_wait (pids[which], H_WAIT_MS), -1);
        unlink (h_path (busy));
        pids[which] = h_fn_env (busy, "sleep", env);
        s_wait_alive ("a", busy, true, 0);
        s_wait_heartbeat ("a", busy);
    }
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    s_assert_no_outstanding ();
    h_stop_all ();
}

//  Heartbeats come from a thread of the SDK's: a handler that blocks for 2 s
//  (8 intervals, where 3 missed make a replica dead) keeps its replica alive,
//  in a worker and in a host.
Test (liveness, a_handler_that_blocks_2_s_keeps_its_replica_alive)
{
    const char *gw = s_env ("BATON_GATEWAY=ipc://%s/control", h_dir ());
    const char *worker[] = {"BATON_TEST_FUNCTION=a", "BATON_TEST_SLEEP_MS=2000", gw,
                            "BATON_HEARTBEAT_MS=250", NULL};
    const char *hosted[] = {"BATON_TEST_FUNCTION=b",  "BATON_TEST_SLEEP_MS=2000", gw,
                            "BATON_HEARTBEAT_MS=250", "BATON_TEST_HOST=",         NULL};
    h_fn_env ("a0", "sleep", worker);
    h_fn_env ("b0", "sleep", hosted);
    s_gateway_with ("functions:\n"
                    "  a: {endpoints: [ipc://@D/a0]}\n"
                    "  b: {endpoints: [ipc://@D/b0]}\n"
                    "routes:\n"
                    "  - {path: /a, chain: [a], deadline: 5s}\n"
                    "  - {path: /b, chain: [b], deadline: 5s}\n");
    s_wait_heartbeat ("a", "a0");
    s_wait_heartbeat ("b", "b0");
    h_conn_t *ca = h_connect (h_port ()), *cb = h_connect (h_port ());
    cr_assert (h_send_str (ca, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
    cr_assert (h_send_str (cb, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"));
    //  Both handlers block now, for 2 s: look at the topology all along.
    uint64_t t0 = h_mono_ms ();
    int looks = 0;
    while (h_mono_ms () - t0 < 1900) {
        cr_assert_str_eq (s_state ("a", "a0"), "alive",
                          "a0 left while its handler blocked (%llu ms)",
                          (unsigned long long) (h_mono_ms () - t0));
        cr_assert_str_eq (s_state ("b", "b0"), "alive",
                          "b0 left while its handler blocked (%llu ms)",
                          (unsigned long long) (h_mono_ms () - t0));
        looks++;
        h_sleep_ms (20);
    }
    h_resp_t ra = h_read (ca, H_WAIT_MS), rb = h_read (cb, H_WAIT_MS);
    cr_log_info ("handlers blocked 2 s: %d looks at /-/topology, both alive; answers %d, %d after "
                 "%llu ms",
                 looks, ra.status, rb.status, (unsigned long long) (h_mono_ms () - t0));
    cr_assert_eq (ra.status, 200, "%s", ra.body);
    cr_assert_eq (rb.status, 200, "%s", rb.body);
    cr_assert_eq (h_metric ("baton_probes_total{result=\"failed\"}"), 0);
    h_close (ca, false);
    h_close (cb, false);
    h_stop_all ();
}

//  A routine probe of a static replica waits behind a long request, and the
//  hop answers it 504 (its deadline passed before the hop ran) before the
//  gateway's tick has timed it out: late, not failed. A hand-played hop that
//  answers every probe so makes the race certain.
Test (liveness, a_routine_probe_answered_past_its_deadline_does_not_eject)
{
    void *zctx = zmq_ctx_new ();
    void *pull = h_hop_inbox (zctx, "s0", 100);
    s_gateway_with ("  probe_interval: 100ms\n"
                    "functions:\n"
                    "  s: {endpoints: [ipc://@D/s0]}\n"
                    "routes:\n"
                    "  - {path: /s, chain: [s]}\n");
    int answered = 0;
    uint64_t end = h_mono_ms () + 1500;
    while (h_mono_ms () < end) {
        baton_envelope_t *env = h_hop_recv (pull);
        if (!env)
            continue;
        cr_assert (baton_envelope_oam (env) & BATON_OAM_PROBE, "only probes come");
        baton_envelope_set_status (env, 504);
        h_hop_reply (zctx, &env);
        answered++;
    }
    cr_log_info ("%d routine probes answered 504 in 1.5 s; s0 %s", answered, s_state ("s", "s0"));
    cr_assert_geq (answered, 3, "the static replica was not probed every 100 ms\n%s", h_logs ());
    cr_assert_str_eq (s_state ("s", "s0"), "alive", "%s", h_logs ());
    cr_assert_eq (h_metric ("baton_probes_total{result=\"failed\"}"), 0);
    zmq_close (pull);
    zmq_ctx_term (zctx);
    h_stop_all ();
}
