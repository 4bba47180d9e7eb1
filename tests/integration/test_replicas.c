/*  test_replicas.c - topology at birth, end to end: real gateways with a
 *  control endpoint, real functions that announce themselves, heartbeat and
 *  die. Heartbeats every 100 ms here, so a replica is dead 300 ms after its
 *  last word (the gateway checks every 50 ms).  */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "baton/envelope.h"
#include "harness.h"
#include "hop_send.h"

TestSuite (replicas, .init = h_setup, .fini = h_teardown, .timeout = 60);

#define S_BEAT_MS 100

//  A gateway whose function a has no static endpoint: every replica of it
//  must announce itself. /b's function has none at all.
static const char *s_yaml = "gateway:\n"
                            "  listen: 127.0.0.1:0\n"
                            "  admin: 127.0.0.1:0\n"
                            "  reply: ipc://@D/reply-%s\n"
                            "  control: ipc://@D/control-%s\n"
                            "  deadline: %s\n"
                            "functions:\n"
                            "  a:\n"
                            "  b:\n"
                            "routes:\n"
                            "  - path: /a\n"
                            "    chain: [a]\n"
                            "  - path: /b\n"
                            "    chain: [b]\n";

static const char *
s_config (const char *name, const char *deadline)
{
    char *yaml = (char *) h_alloc (strlen (s_yaml) + 64);
    sprintf (yaml, s_yaml, name, name, deadline);
    return yaml;
}

//  Starts replica `endpoint` of function a, announcing to the gateways named.
static pid_t
s_replica (const char *endpoint, const char *mode, const char *gateways)
{
    size_t n = strlen (gateways) + 16;
    char *gw = (char *) h_alloc (n);
    snprintf (gw, n, "BATON_GATEWAY=%s", gateways);
    //  sleep mode: 20 ms per request, so a request can be caught in flight.
    const char *env[] = {"BATON_TEST_FUNCTION=a", gw, "BATON_HEARTBEAT_MS=100",
                         "BATON_TEST_SLEEP_MS=20", NULL};
    return h_fn_env (endpoint, mode, env);
}

static const char *
s_control (const char *name)
{
    char *ep = (char *) h_alloc (128);
    snprintf (ep, 128, "ipc://%s/control-%s", h_dir (), name);
    return ep;
}

static double
s_alive_at (int admin_port)
{
    return h_metric_at (admin_port, "baton_replicas{function=\"a\",state=\"alive\"}");
}

//  Waits until `want` replicas of a are alive at the gateway on admin_port.
static void
s_wait_alive (int admin_port, double want)
{
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (s_alive_at (admin_port) != want && h_mono_ms () < end)
        h_sleep_ms (10);
    cr_assert_eq (s_alive_at (admin_port), want, "alive replicas of a: %g, want %g",
                  s_alive_at (admin_port), want);
}

//  One GET /a on c (keep-alive); returns the status and which replica
//  answered (its endpoint's last path part) in who.
static int
s_get (h_conn_t *c, char *who, size_t cap)
{
    cr_assert (h_send_str (c, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
    h_resp_t r;
    cr_assert_eq (h_read_response (c, &r, 5000), 0, "no response");
    const char *rep = h_header (&r, "X-Replica");
    const char *slash = rep ? strrchr (rep, '/') : NULL;
    snprintf (who, cap, "%s", slash ? slash + 1 : "-");
    return r.status;
}

Test (replicas, two_replicas_share_a_thousand_requests)
{
    h_gateway (s_config ("g", "2s"));
    s_replica ("a0", "append", s_control ("g"));
    s_replica ("a1", "append", s_control ("g"));
    s_wait_alive (h_admin_port (), 2);
    h_conn_t *c = h_connect (h_port ());
    int n0 = 0, n1 = 0;
    char who[64];
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq (s_get (c, who, sizeof who), 200, "request %d", i);
        n0 += strcmp (who, "a0") == 0;
        n1 += strcmp (who, "a1") == 0;
    }
    cr_log_info ("load split: a0 %d, a1 %d", n0, n1);
    cr_assert_eq (n0 + n1, 1000);
    cr_assert_geq (n0, 300, "a0 got %d of 1000", n0);
    cr_assert_geq (n1, 300, "a1 got %d of 1000", n1);
    h_close (c, false);
    h_stop_all ();
}

Test (replicas, a_killed_replica_leaves_rotation_and_a_restarted_one_returns)
{
    h_gateway (s_config ("g", "1s"));
    pid_t a0 = s_replica ("a0", "sleep", s_control ("g"));
    s_replica ("a1", "sleep", s_control ("g"));
    s_wait_alive (h_admin_port (), 2);
    //  Load from two connections while a0 is killed.
    h_conn_t *c[2] = {h_connect (h_port ()), h_connect (h_port ())};
    char who[64];
    int ok = 0, timeouts = 0, other = 0;
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 2; k++)
            ok += s_get (c[k], who, sizeof who) == 200;
    //  One request in flight on each replica (least outstanding spreads
    //  them), then a0 dies with its request in hand.
    for (int k = 0; k < 2; k++)
        cr_assert (h_send_str (c[k], "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
    h_sleep_ms (5);
    kill (a0, SIGKILL);
    uint64_t killed = h_mono_ms ();
    //  Marked dead by its missing heartbeats (the answers wait in the sockets).
    const char *dead = "baton_replicas{function=\"a\",state=\"dead\"}";
    cr_assert_eq (h_metric_wait (dead, 1, H_WAIT_MS), 1, "a0 never marked dead");
    uint64_t detected = h_mono_ms ();
    h_resp_t inflight[2];
    for (int k = 0; k < 2; k++)
        cr_assert_eq (h_read_response (c[k], &inflight[k], 5000), 0);
    //  The GET lost with a0 is sent again on a1 as soon as a0 is found
    //  dead, well before its deadline: both get 200.
    cr_assert (inflight[0].status == 200 && inflight[1].status == 200,
               "in flight at the kill: %d and %d, want two 200s (a0's retried on a1)",
               inflight[0].status, inflight[1].status);
    cr_assert_eq (h_metric ("baton_retries_total{route=\"/a\"}"), 1);
    cr_assert_lt (h_mono_ms () - killed, 1000, "the retry waited for the deadline");
    cr_assert_neq (h_wait (a0, H_WAIT_MS), -1);
    //  The gateway does not send to a replica whose connection is gone: it
    //  fails over to a1 at once, so nothing after the kill waits or fails.
    for (int i = 0; i < 40; i++)
        for (int k = 0; k < 2; k++) {
            int status = s_get (c[k], who, sizeof who);
            ok += status == 200;
            timeouts += status == 504;
            other += status != 200 && status != 504;
            cr_assert (status != 200 || strcmp (who, "a1") == 0, "a dead replica answered");
        }
    cr_log_info ("SIGKILL: dead after <= %llu ms (heartbeat %d ms); the request in flight on it "
                 "was retried on a1; after it, %d of 80 requests got 504, the rest 200 from a1",
                 (unsigned long long) (detected - killed), S_BEAT_MS, timeouts);
    cr_assert_eq (other, 0, "%d answers were neither 200 nor 504", other);
    cr_assert_eq (timeouts, 0, "504s after the kill");
    //  A correctness bound (3 intervals + the 50 ms check), with room for a
    //  loaded machine: not a performance assertion.
    cr_assert_lt (detected - killed, 3 * S_BEAT_MS + 2000);
    //  Nothing more goes to a0.
    for (int i = 0; i < 20; i++) {
        cr_assert_eq (s_get (c[0], who, sizeof who), 200);
        cr_assert_str_eq (who, "a1");
    }
    //  Restarted on the same endpoint, it announces and gets traffic again.
    s_replica ("a0", "sleep", s_control ("g"));
    s_wait_alive (h_admin_port (), 2);
    int back = 0;
    for (int i = 0; i < 40; i++) {
        cr_assert_eq (s_get (c[0], who, sizeof who), 200);
        back += strcmp (who, "a0") == 0;
        h_sleep_ms (5); //  a reconnect takes up to 10 ms: requests meanwhile go to a1
    }
    cr_assert_geq (back, 10, "the restarted replica got %d of 40", back);
    h_close (c[0], false);
    h_close (c[1], false);
    h_stop_all ();
}

Test (replicas, a_replica_that_heartbeats_but_never_answers_is_ejected_by_its_probe)
{
    h_gateway (s_config ("g", "300ms"));
    s_replica ("a0", "append", s_control ("g"));
    s_replica ("a1", "silent", s_control ("g")); //  alive by heartbeat, never answers
    s_wait_alive (h_admin_port (), 2);
    h_conn_t *c = h_connect (h_port ());
    char who[64];
    int timeouts = 0;
    for (int i = 0; i < 12; i++)
        timeouts += s_get (c, who, sizeof who) == 504;
    //  A timeout ejects nothing by itself: it has every replica of the route
    //  probed. a1's probe goes unanswered (250 ms): a1 alone is ejected. A
    //  second request may reach a1 while its probe is out.
    cr_assert (timeouts >= 1 && timeouts <= 2, "%d timeouts before ejection, want 1 or 2",
               timeouts);
    cr_assert_eq (h_metric ("baton_replicas{function=\"a\",state=\"ejected\"}"), 1);
    cr_assert_eq (h_metric ("baton_replicas{function=\"a\",state=\"alive\"}"), 1);
    cr_assert_geq (h_metric ("baton_probes_total{result=\"failed\"}"), 1);
    h_resp_t topo = h_request (h_admin_port (), "GET", "/-/topology", NULL);
    cr_assert (strstr (topo.body, "\"state\":\"ejected\""), "%s", topo.body);
    cr_assert (strstr (topo.body, "\"last\":\"failed\""), "%s", topo.body);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq (s_get (c, who, sizeof who), 200);
        cr_assert_str_eq (who, "a0");
    }
    h_close (c, false);
    h_stop_all ();
}

Test (replicas, two_gateways_share_one_pool_and_never_cross_replies)
{
    h_gateway (s_config ("g1", "2s"));
    int port2, admin2;
    h_gateway_more ("g2", s_config ("g2", "2s"), &port2, &admin2);
    char both[512];
    snprintf (both, sizeof both, "%s,%s", s_control ("g1"), s_control ("g2"));
    s_replica ("a0", "append", both);
    s_replica ("a1", "append", both);
    s_wait_alive (h_admin_port (), 2);
    s_wait_alive (admin2, 2);
    h_conn_t *c1 = h_connect (h_port ()), *c2 = h_connect (port2);
    for (int i = 0; i < 200; i++) {
        //  Both requests in flight at once, each with its own body.
        char req1[160], req2[160];
        snprintf (req1, sizeof req1,
                  "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\ng1-%05d", i);
        snprintf (req2, sizeof req2,
                  "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\ng2-%05d", i);
        cr_assert (h_send_str (c1, req1));
        cr_assert (h_send_str (c2, req2));
        h_resp_t r1, r2;
        cr_assert_eq (h_read_response (c1, &r1, 5000), 0);
        cr_assert_eq (h_read_response (c2, &r2, 5000), 0);
        char want1[32], want2[32];
        snprintf (want1, sizeof want1, "g1-%05d|a", i);
        snprintf (want2, sizeof want2, "g2-%05d|a", i);
        cr_assert_eq (r1.status, 200);
        cr_assert_eq (r2.status, 200);
        cr_assert_str_eq (r1.body, want1, "gateway 1 got another's reply");
        cr_assert_str_eq (r2.body, want2, "gateway 2 got another's reply");
    }
    //  Each gateway counted only its own.
    cr_assert_eq (h_metric ("baton_requests_total{route=\"/a\",status=\"200\"}"), 200);
    cr_assert_eq (h_metric_at (admin2, "baton_requests_total{route=\"/a\",status=\"200\"}"), 200);
    cr_assert_eq (h_metric ("baton_late_replies_total"), 0);
    h_close (c1, false);
    h_close (c2, false);
    h_stop_all ();
}

Test (replicas, a_function_with_no_live_replica_answers_503_at_once)
{
    h_gateway (s_config ("g", "2s"));
    uint64_t t0 = h_mono_ms ();
    h_resp_t r = h_request (h_port (), "GET", "/b", NULL);
    uint64_t took = h_mono_ms () - t0;
    cr_assert_eq (r.status, 503);
    cr_assert (strstr (r.body, "function b has no live replica"), "%s", r.body);
    cr_assert_not_null (h_header (&r, "Retry-After"));
    //  "At once": no deadline, no send timeout waited for (a generous bound).
    cr_assert_lt (took, 1000, "503 took %llu ms", (unsigned long long) took);
    h_stop_all ();
}

Test (replicas, goodbye_takes_a_replica_out_at_once)
{
    h_gateway (s_config ("g", "2s"));
    pid_t a0 = s_replica ("a0", "append", s_control ("g"));
    s_replica ("a1", "append", s_control ("g"));
    s_wait_alive (h_admin_port (), 2);
    kill (a0, SIGTERM);
    cr_assert_neq (h_wait (a0, H_WAIT_MS), -1);
    //  The goodbye arrives before any heartbeat could be missed.
    uint64_t t0 = h_mono_ms ();
    s_wait_alive (h_admin_port (), 1);
    cr_assert_lt (h_mono_ms () - t0, 3 * S_BEAT_MS, "no goodbye: it took the heartbeat timeout");
    cr_assert (strstr (h_read_file ("gateway.log"), "replica left (goodbye)"));
    h_stop_all ();
}

//  A first hop the gateway cannot reach is a host it cannot reach: when the
//  envelope moves to another replica of that function, the later hops that
//  were on the unreachable host move too, instead of being crossed to from
//  the new first hop (which would answer 503 after its send timeout).
//  The gateway of the two tests below: in zone "near", a chain a -> b
//  whose replicas all announce themselves.
static const char *s_hosts_yaml = "gateway:\n"
                                  "  listen: 127.0.0.1:0\n"
                                  "  admin: 127.0.0.1:0\n"
                                  "  reply: ipc://@D/reply\n"
                                  "  control: ipc://@D/control\n"
                                  "  deadline: 2s\n"
                                  "  zone: near\n"
                                  "functions:\n"
                                  "  a:\n"
                                  "  b:\n"
                                  "routes:\n"
                                  "  - path: /ab\n"
                                  "    methods: [GET, POST]\n"
                                  "    chain: [a, b]\n";

//  Starts replica name of fn, announcing itself: on this host in zone
//  "far" in mode append (here), or as an absent fn_test in the gateway's
//  zone on host "elsewhere.invalid" (its endpoint never bound by it).
static void
s_placed (const char *name, const char *fn, bool here)
{
    char *fn_env = (char *) h_alloc (64), *gw = (char *) h_alloc (300);
    snprintf (fn_env, 64, "BATON_TEST_FUNCTION=%s", fn);
    snprintf (gw, 300, "BATON_GATEWAY=ipc://%s/control", h_dir ());
    const char *env[] = {fn_env, gw, here ? "BATON_ZONE=far" : "BATON_ZONE=near",
                         here ? NULL : "BATON_TEST_HOSTNAME=elsewhere.invalid", NULL};
    h_fn_env (name, here ? "append" : "absent", env);
}

//  Waits until a has a_want and b has b_want replicas alive.
static void
s_wait_ab (double a_want, double b_want)
{
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while ((h_metric ("baton_replicas{function=\"a\",state=\"alive\"}") != a_want ||
            h_metric ("baton_replicas{function=\"b\",state=\"alive\"}") != b_want) &&
           h_mono_ms () < end)
        h_sleep_ms (10);
    h_resp_t topo = h_request (h_admin_port (), "GET", "/-/topology", NULL);
    cr_assert_eq (h_metric ("baton_replicas{function=\"a\",state=\"alive\"}"), a_want, "%s",
                  topo.body);
    cr_assert_eq (h_metric ("baton_replicas{function=\"b\",state=\"alive\"}"), b_want, "%s",
                  topo.body);
    cr_assert (strstr (topo.body, "elsewhere.invalid"), "%s", topo.body);
}

Test (replicas, a_first_hop_not_taken_moves_the_route_off_its_host)
{
    h_gateway (s_hosts_yaml);
    //  In the gateway's zone, so picked first: a and b on a host that nothing
    //  reaches (they heartbeat, but their endpoints are never bound).
    s_placed ("xa", "a", false);
    s_placed ("xb", "b", false);
    //  Elsewhere, on this host: the replicas that work.
    s_placed ("ra", "a", true);
    s_placed ("rb", "b", true);
    s_wait_ab (2, 2);
    //  POST is never sent twice: a route left through the unreachable b
    //  would answer 503, with no retry to hide it.
    for (int i = 0; i < 10; i++) {
        h_resp_t r = h_request (h_port (), "POST", "/ab", "x");
        cr_assert_eq (r.status, 200, "request %d: %d %s", i, r.status, r.body);
        cr_assert_str_eq (r.body, "x|a|b");
    }
    cr_assert_eq (h_metric ("baton_retries_total{route=\"/ab\"}"), 0);
    cr_assert_eq (h_metric ("baton_replies_late_total{reason=\"retried\"}"), 0);
    h_stop_all ();
}

//  A hop that cannot hand the envelope to the only live replica of the next
//  function: the retry cannot avoid that replica, so it avoids the hop that
//  could not reach it. Here a's replica on the far host is played by hand
//  (this test binds its endpoint; an absent fn_test heartbeats for it) and
//  answers every envelope as the SDK does when its successor takes nothing.
Test (replicas, a_retry_avoids_the_sender_when_the_next_hop_has_no_other_replica)
{
    void *zctx = zmq_ctx_new ();
    void *pull = h_hop_inbox (zctx, "xa", 20);
    h_gateway (s_hosts_yaml);
    s_placed ("xa", "a", false);
    s_placed ("ra", "a", true);
    s_placed ("rb", "b", true);
    s_wait_ab (2, 1);
    //  GET: sent again once. The first route is xa -> rb (xa in the zone)
    //  once the gateway's connection to xa is up; xa has just announced
    //  itself, and until its handshake is done the gateway rightly passes it
    //  over for ra. A request served so never reaches xa: the test sends
    //  again until xa has had one.
    int played = 0, sent = 0;
    h_resp_t r;
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (played == 0 && h_mono_ms () < end) {
        h_conn_t *c = h_connect (h_port ());
        cr_assert (h_send_str (c, "GET /ab HTTP/1.1\r\nHost: t\r\n\r\n"));
        sent++;
        while (!h_readable (c, 0) && h_mono_ms () < end) {
            baton_envelope_t *env = h_hop_recv (pull);
            if (!env)
                continue;
            if (baton_envelope_oam (env) & BATON_OAM_PROBE) { //  a probe of xa: it is fine
                baton_envelope_set_status (env, 200);
            } else {
                played++;
                cr_assert_eq (baton_envelope_advance (env, 1, 2), 0);
                baton_envelope_set_status (env, 503);
            }
            h_hop_reply (zctx, &env);
        }
        cr_assert_eq (h_read_response (c, &r, 5000), 0, "no response");
        h_close (c, false);
        cr_assert_eq (r.status, 200, "%d %s\n%s", r.status, r.body, h_logs ());
        cr_assert_str_eq (r.body, "|a|b");
    }
    cr_assert_eq (played, 1, "xa was given %d requests of %d", played, sent);
    cr_assert_eq (h_metric ("baton_retries_total{route=\"/ab\"}"), 1);
    zmq_close (pull);
    zmq_ctx_term (zctx);
    h_stop_all ();
}
