/*  test_mesh_security.c - the gateway's side of the mesh's security, end to
 *  end: a real "baton gateway" with CURVE on its reply and control sockets,
 *  real fn_test functions, and attackers in this process speaking real
 *  ZeroMQ. Each test asserts what the client sees and the metric that counts
 *  the refusal. Then the rules that hold in plaintext too.  */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "baton/envelope.h"
#include "baton/errors.h"
#include "cert.h"
#include "control.h"
#include "harness.h"

//  --- keys ----------------------------------------------------------------------------
//  The trust store @D/keys: gateway gw, function a under two keys (a.key and
//  a-2.key: a rotation), functions b and c. A stranger's key is in no store.

static baton_cert_t *s_gw, *s_a, *s_a2, *s_b, *s_c, *s_stranger;

static void
s_fini (void)
{
    h_teardown ();
    baton_cert_t **certs[] = {&s_gw, &s_a, &s_a2, &s_b, &s_c, &s_stranger};
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++)
        baton__cert_destroy (certs[i]);
}

TestSuite (mesh_security, .init = h_setup, .fini = s_fini, .timeout = 60);

//  Makes a certificate and saves it into @D/keys as file.
static baton_cert_t *
s_cert (baton_role_t role, const char *name, const char *file)
{
    baton_cert_t *cert = baton__cert_new (role, name);
    cr_assert_not_null (cert);
    char err[BATON_CERT_ERROR_MAX], tmp[512], from[600], to[600];
    //  Saved as NAME.key in a folder of its own, then moved: a second key of
    //  one name needs another file name.
    snprintf (tmp, sizeof tmp, "%s/tmp-%s", h_dir (), file);
    cr_assert_eq (mkdir (tmp, 0700), 0);
    cr_assert_eq (baton__cert_save (cert, tmp, false, err, sizeof err), 0, "%s", err);
    const char *ext[] = {".key", ".key_secret"};
    for (int i = 0; i < 2; i++) {
        snprintf (from, sizeof from, "%s/%s%s", tmp, name, ext[i]);
        snprintf (to, sizeof to, "%s/keys/%s%s", h_dir (), file, ext[i]);
        cr_assert_eq (rename (from, to), 0, "%s -> %s", from, to);
    }
    rmdir (tmp);
    return cert;
}

static void
s_keys (void)
{
    cr_assert_eq (mkdir (h_path ("keys"), 0700), 0);
    s_gw = s_cert (BATON_ROLE_GATEWAY, "gw", "gw");
    s_a = s_cert (BATON_ROLE_FUNCTION, "a", "a");
    s_a2 = s_cert (BATON_ROLE_FUNCTION, "a", "a-2");
    s_b = s_cert (BATON_ROLE_FUNCTION, "b", "b");
    s_c = s_cert (BATON_ROLE_FUNCTION, "c", "c");
}

//  The environment that makes fn_test a CURVE function with its own key.
static const char *
s_env_cert (const char *file)
{
    char *env = h_alloc (512);
    snprintf (env, 512, "BATON_CERT=%s/keys/%s.key_secret", h_dir (), file);
    return env;
}

static const char *
s_env_trust (void)
{
    char *env = h_alloc (512);
    snprintf (env, 512, "BATON_TRUST=%s/keys", h_dir ());
    return env;
}

//  --- configurations --------------------------------------------------------------------

#define S_HEAD                                                                                     \
    "gateway:\n"                                                                                   \
    "  listen: 127.0.0.1:0\n"                                                                      \
    "  admin: 127.0.0.1:0\n"                                                                       \
    "  reply: ipc://@D/reply\n"                                                                    \
    "  control: ipc://@D/control\n"                                                                \
    "  deadline: 3s\n"                                                                             \
    "  drain: 2s\n"

//  CURVE; a has two trusted keys, so its static endpoint names the key.
static void
s_gateway_curve (void)
{
    char *yaml = h_alloc (2048);
    snprintf (yaml, 2048,
              S_HEAD "security: {mode: curve, cert: keys/gw.key_secret, trust: keys}\n"
                     "functions:\n"
                     "  a: {endpoints: [ipc://@D/a], key: \"%s\"}\n"
                     "  b:\n"
                     "  c:\n"
                     "routes:\n"
                     "  - {path: /x, methods: [GET, POST], chain: [a]}\n"
                     "  - {path: /ab, methods: [GET], chain: [a, b]}\n",
              h_literal (baton__cert_public_z85 (s_a)));
    h_gateway (yaml);
}

#define S_CFG_PLAIN                                                                                \
    S_HEAD "functions:\n"                                                                          \
           "  a: {endpoints: [ipc://@D/a]}\n"                                                      \
           "routes:\n"                                                                             \
           "  - {path: /x, methods: [GET, POST], chain: [a]}\n"

//  --- attackers and stand-ins ----------------------------------------------------------

static void *s_ctx;

static void *
s_ctx_get (void)
{
    if (!s_ctx)
        s_ctx = zmq_ctx_new ();
    return s_ctx;
}

//  A PUSH socket connected to @D/name: a CURVE client with cert when cert is
//  not NULL (server key: the gateway's), plaintext otherwise.
static void *
s_push (const char *name, const baton_cert_t *cert)
{
    void *s = zmq_socket (s_ctx_get (), ZMQ_PUSH);
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    if (cert) {
        zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, baton__cert_public_key (s_gw), 32);
        zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, baton__cert_public_key (cert), 32);
        zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, baton__cert_secret_key (cert), 32);
    }
    char ep[512];
    snprintf (ep, sizeof ep, "ipc://%s", h_path (name));
    cr_assert_eq (zmq_connect (s, ep), 0);
    return s;
}

//  Sends len bytes on s (waits up to 1 s for the connection). Returns true
//  if ZeroMQ took them (which proves nothing about the other side).
static bool
s_send (void *s, const void *data, size_t len)
{
    int ms = 1000;
    zmq_setsockopt (s, ZMQ_SNDTIMEO, &ms, sizeof ms);
    return zmq_send (s, data, len, 0) == (int) len;
}

//  Encodes a reply for id: status 200, body, and a Set-Cookie the client
//  must never see when it comes from an attacker.
static void
s_send_reply (void *s, const char *id, size_t id_len, const char *body, bool evil)
{
    baton_envelope_t *e = baton_envelope_new ();
    baton_envelope_set_id (e, id, id_len);
    baton_envelope_set_status (e, 200);
    baton_envelope_add_header (e, "X-Hop", 5, "a", 1);
    if (evil)
        baton_envelope_add_header (e, "Set-Cookie", 10, "session=evil", 12);
    baton_envelope_set_body (e, body, strlen (body));
    void *data;
    size_t len;
    cr_assert_eq (baton_envelope_encode (e, &data, &len), 0);
    s_send (s, data, len);
    free (data);
    baton_envelope_destroy (&e);
}

static void
s_send_control (void *s, baton_control_type_t type, const char *fn, const char *endpoint,
                const char *instance)
{
    baton_control_msg_t m;
    memset (&m, 0, sizeof m);
    m.type = type;
    snprintf (m.function, sizeof m.function, "%s", fn);
    snprintf (m.endpoint, sizeof m.endpoint, "%s", endpoint);
    snprintf (m.instance, sizeof m.instance, "%s", instance);
    m.pid = 1;
    m.interval_ms = 1000;
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    size_t n = baton__control_encode (&m, buf, sizeof buf);
    cr_assert_gt (n, 0);
    cr_assert (s_send (s, buf, n));
}

//  Sends "GET path" on a new connection and returns it, the response to
//  read later with h_read ().
static h_conn_t *
s_request_start (const char *path)
{
    h_conn_t *c = h_connect (h_port ());
    char req[256];
    snprintf (req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    cr_assert (h_send_str (c, req));
    return c;
}

//  The response is the real one from a: 200, its body, no attacker's cookie.
static void
s_assert_real (h_resp_t r, const char *body)
{
    cr_assert_eq (r.status, 200, "status %d: %s\n%s", r.status, r.body, h_logs ());
    cr_assert_str_eq (r.body, body);
    cr_assert_null (h_header (&r, "Set-Cookie"), "the attacker's reply got through: %s", r.head);
}

//  Closes the attacker sockets and the context before the harness's fini.
static void
s_close (void **socks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_close (socks[i]);
    zmq_ctx_term (s_ctx);
    s_ctx = NULL;
}

//  The state of the replica at endpoint in /-/topology ("" if absent).
static const char *
s_replica_state (const char *fn, const char *endpoint)
{
    h_resp_t r = h_request (h_admin_port (), "GET", "/-/topology", NULL);
    char pat[512];
    snprintf (pat, sizeof pat, "{\"name\":\"%s\",\"replicas\":[", fn);
    const char *at = strstr (r.body, pat);
    cr_assert_not_null (at, "%s", r.body);
    const char *end = strstr (at, "]}");
    snprintf (pat, sizeof pat, "{\"endpoint\":\"%s\",\"state\":\"", endpoint);
    const char *rep = strstr (at, pat);
    if (!rep || rep > end)
        return "";
    rep += strlen (pat);
    char *state = h_alloc (16);
    snprintf (state, 16, "%.*s", (int) strcspn (rep, "\""), rep);
    return state;
}

//  --- CURVE: the reply socket ------------------------------------------------------------

//  While a request waits on a (CURVE, 300 ms per request), an attacker
//  PUSHes a forged reply to the reply endpoint as cert (NULL: plaintext).
//  The handshake is refused and counted under reason; the client gets a's
//  answer, and nothing else reached the reply socket.
static void
s_reply_attack (const baton_cert_t *cert, const char *reason)
{
    s_keys ();
    const char *env[] = {s_env_cert ("a"), s_env_trust (), "BATON_TEST_SLEEP_MS=300", NULL};
    h_fn_env ("a", "sleep", env);
    s_gateway_curve ();
    h_conn_t *c = s_request_start ("/x");
    void *attacker = s_push ("reply", cert);
    s_send_reply (attacker, "00000000-1", 10, "forged", true);
    char series[96];
    snprintf (series, sizeof series, "baton_zap_refused_total{reason=\"%s\"}", reason);
    cr_assert_geq (h_metric_wait_min (series, 1, 3000), 1, "%s", h_logs ());
    s_assert_real (h_read (c, H_WAIT_MS), "|a");
    cr_assert_eq (h_metric ("baton_late_replies_total"), 0, "nothing else arrived");
    cr_assert_eq (h_metric ("baton_bad_replies_total"), 0);
    s_close (&attacker, 1);
}

Test (mesh_security, a_plaintext_client_is_refused_at_the_handshake)
{
    s_reply_attack (NULL, "handshake");
    h_stop_all ();
}

Test (mesh_security, an_unknown_key_is_refused_by_zap)
{
    s_stranger = baton__cert_new (BATON_ROLE_FUNCTION, "c");
    s_reply_attack (s_stranger, "key");
    cr_assert (strstr (h_read_file ("gateway.log"), baton__cert_public_z85 (s_stranger)),
               "the refusal names the key:\n%s", h_read_file ("gateway.log"));
    h_stop_all ();
}

//  This process stands in for function a (its inbox, its key), so it sees
//  the envelope and the current request id that a trusted member would.
Test (mesh_security, a_reply_from_a_function_off_the_route_is_refused)
{
    s_keys ();
    void *inbox = zmq_socket (s_ctx_get (), ZMQ_PULL);
    int one = 1, zero = 0, ms = H_WAIT_MS;
    zmq_setsockopt (inbox, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (inbox, ZMQ_RCVTIMEO, &ms, sizeof ms);
    zmq_setsockopt (inbox, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt (inbox, ZMQ_CURVE_SECRETKEY, baton__cert_secret_key (s_a), 32);
    char ep[512];
    snprintf (ep, sizeof ep, "ipc://%s", h_path ("a"));
    cr_assert_eq (zmq_bind (inbox, ep), 0);
    s_gateway_curve ();
    h_conn_t *c = s_request_start ("/x");
    char buf[65536];
    int n = zmq_recv (inbox, buf, sizeof buf, 0);
    cr_assert_gt (n, 0, "no envelope reached a:\n%s", h_logs ());
    int err;
    baton_envelope_t *env = baton_envelope_decode (buf, (size_t) n, NULL, &err);
    cr_assert_not_null (env, "%s", baton_strerror (err));
    //  The keys the hops need are in the envelope.
    baton_slice_t rk = baton_envelope_reply_key (env), k0 = baton_envelope_route_key (env, 0);
    cr_assert_eq (rk.len, BATON_KEY_LEN);
    cr_assert_eq (memcmp (rk.ptr, baton__cert_public_key (s_gw), BATON_KEY_LEN), 0);
    cr_assert_eq (k0.len, BATON_KEY_LEN);
    cr_assert_eq (memcmp (k0.ptr, baton__cert_public_key (s_a), BATON_KEY_LEN), 0);
    cr_assert_eq (baton_envelope_budget (env), 1);
    baton_slice_t id = baton_envelope_id (env);

    //  c is trusted, and has the right id, but c is not on this route.
    void *c_push = s_push ("reply", s_c);
    s_send_reply (c_push, id.ptr, id.len, "forged", true);
    cr_assert_eq (h_metric_wait ("baton_replies_refused_total{reason=\"route\"}", 1, 3000), 1, "%s",
                  h_logs ());
    cr_assert_not (h_readable (c, 100), "the forged reply was answered");
    const char *log = h_read_file ("gateway.log");
    cr_assert (strstr (log, "reply refused") && strstr (log, baton__cert_public_z85 (s_c)), "%s",
               log);
    //  The real reply from a still arrives, and is the one delivered.
    void *a_push = s_push ("reply", s_a);
    s_send_reply (a_push, id.ptr, id.len, "real", false);
    h_resp_t r = h_read (c, H_WAIT_MS);
    s_assert_real (r, "real");
    char want[128];
    snprintf (want, sizeof want, "%.*s", (int) id.len, id.ptr);
    cr_assert_str_eq (h_header (&r, "X-Request-Id"), want);
    baton_envelope_destroy (&env);
    void *socks[] = {inbox, c_push, a_push};
    s_close (socks, 3);
    h_stop_all ();
}

//  --- CURVE: the control socket ----------------------------------------------------------

Test (mesh_security, an_announce_for_another_function_is_refused)
{
    s_keys ();
    const char *env[] = {s_env_cert ("a"), s_env_trust (), NULL};
    h_fn_env ("a", "append", env);
    s_gateway_curve ();
    //  A trusted key of a announces itself as b.
    void *rogue = s_push ("control", s_a);
    char ep[512];
    snprintf (ep, sizeof ep, "ipc://%s", h_path ("rogue"));
    s_send_control (rogue, BATON_CONTROL_ANNOUNCE, "b", ep, "r1");
    cr_assert_eq (h_metric_wait ("baton_control_refused_total{reason=\"identity\"}", 1, 3000), 1,
                  "%s", h_logs ());
    cr_assert_str_eq (s_replica_state ("b", ep), "", "the rogue joined b");
    h_resp_t r = h_request (h_port (), "GET", "/ab", NULL);
    cr_assert_eq (r.status, 503, "b has no replica: %d %s", r.status, r.body);
    cr_assert (strstr (r.body, "function b has no live replica"), "%s", r.body);
    s_close (&rogue, 1);
    h_stop_all ();
}

Test (mesh_security, only_the_announcing_key_speaks_for_an_instance)
{
    s_keys ();
    s_gateway_curve ();
    char ep[512];
    snprintf (ep, sizeof ep, "ipc://%s", h_path ("a-announced"));
    void *real = s_push ("control", s_a);
    s_send_control (real, BATON_CONTROL_ANNOUNCE, "a", ep, "i1");
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (strcmp (s_replica_state ("a", ep), "alive") != 0 && h_mono_ms () < end)
        h_sleep_ms (10);
    cr_assert_str_eq (s_replica_state ("a", ep), "alive", "%s", h_logs ());
    //  a-2 is a trusted key of a too, but it did not announce this instance.
    void *other = s_push ("control", s_a2);
    s_send_control (other, BATON_CONTROL_GOODBYE, "a", ep, "i1");
    s_send_control (other, BATON_CONTROL_HEARTBEAT, "a", ep, "i1");
    s_send_control (other, BATON_CONTROL_ANNOUNCE, "a", ep, "i1");
    cr_assert_eq (h_metric_wait ("baton_control_refused_total{reason=\"key\"}", 3, 3000), 3, "%s",
                  h_logs ());
    cr_assert_str_eq (s_replica_state ("a", ep), "alive", "a forged goodbye killed it");
    //  Its own key's goodbye is taken: the replica drains.
    s_send_control (real, BATON_CONTROL_GOODBYE, "a", ep, "i1");
    end = h_mono_ms () + H_WAIT_MS;
    while (strcmp (s_replica_state ("a", ep), "draining") != 0 && h_mono_ms () < end)
        h_sleep_ms (10);
    cr_assert_str_eq (s_replica_state ("a", ep), "draining", "%s", h_logs ());
    void *socks[] = {real, other};
    s_close (socks, 2);
    h_stop_all ();
}

//  --- CURVE: what it costs -------------------------------------------------------------------

//  Sends count requests through /abc (a -> b -> c); each must answer 200.
static void
s_requests (int count)
{
    for (int i = 0; i < count; i++) {
        h_resp_t r = h_request (h_port (), "GET", "/abc", NULL);
        cr_assert_eq (r.status, 200, "request %d: %d %s\n%s", i, r.status, r.body, h_logs ());
        cr_assert_str_eq (r.body, "|a|b|c");
    }
}

//  A handshake is made once per connection, never per request. The
//  connections to the gateway's reply socket are c's, which carries every
//  reply, and those of the replicas the gateway probes (static replicas that
//  do not heartbeat are probed, and answer the reply socket): at most one per
//  replica, made within the first probe interval, and none after.
Test (mesh_security, a_handshake_happens_once_per_connection_never_per_request)
{
    s_keys ();
    const char *names[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        const char *env[] = {s_env_cert (names[i]), s_env_trust (), NULL};
        h_fn_env (names[i], "append", env);
    }
    char *yaml = h_alloc (2048);
    snprintf (yaml, 2048,
              "gateway:\n  listen: 127.0.0.1:0\n  admin: 127.0.0.1:0\n  reply: ipc://@D/reply\n"
              "security: {mode: curve, cert: keys/gw.key_secret, trust: keys}\n"
              "functions:\n"
              "  a: {endpoints: [ipc://@D/a], key: \"%s\"}\n"
              "  b: {endpoints: [ipc://@D/b]}\n"
              "  c: {endpoints: [ipc://@D/c]}\n"
              "routes:\n  - {path: /abc, methods: [GET], chain: [a, b, c]}\n",
              h_literal (baton__cert_public_z85 (s_a)));
    h_gateway (yaml);
    s_requests (10);
    h_sleep_ms (1200); //  every replica probed at least once (probe_interval 500 ms)
    double accepted = h_metric ("baton_zap_accepted_total");
    cr_assert (accepted >= 1 && accepted <= 3, "%.0f handshakes for 3 replicas\n%s", accepted,
               h_logs ());
    s_requests (190);
    cr_assert_eq (h_metric ("baton_zap_accepted_total"), accepted, "the count grew with requests");
    cr_assert_eq (h_metric ("baton_requests_total{route=\"/abc\",status=\"200\"}"), 200);
    cr_assert_eq (h_metric ("baton_zap_refused_total{reason=\"handshake\"}"), 0);
    cr_assert_eq (h_metric ("baton_zap_refused_total{reason=\"key\"}"), 0);
    h_stop_all ();
}

//  --- plaintext ------------------------------------------------------------------------------

//  Splits "<tag>-<seq><29 random digits>" into its parts.
static void
s_split_id (const char *id, char tag[9], unsigned long long *seq, char nonce[30])
{
    regex_t re;
    cr_assert_eq (regcomp (&re, "^[0-9a-f]{8}-[1-9][0-9]{29,}$", REG_EXTENDED | REG_NOSUB), 0);
    cr_assert_eq (regexec (&re, id, 0, NULL, 0), 0, "X-Request-Id: %s", id);
    regfree (&re);
    size_t len = strlen (id);
    memcpy (tag, id, 8);
    tag[8] = '\0';
    memcpy (nonce, id + len - 29, 30);
    char digits[32];
    snprintf (digits, sizeof digits, "%.*s", (int) (len - 29 - 9), id + 9);
    *seq = strtoull (digits, NULL, 10);
}

Test (mesh_security, request_ids_carry_96_random_bits)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_PLAIN);
    h_resp_t r1 = h_request (h_port (), "GET", "/x", NULL);
    h_resp_t r2 = h_request (h_port (), "GET", "/x", NULL);
    cr_assert_eq (r1.status, 200);
    cr_assert_eq (r2.status, 200);
    char tag1[9], tag2[9], n1[30], n2[30];
    unsigned long long s1, s2;
    s_split_id (h_header (&r1, "X-Request-Id"), tag1, &s1, n1);
    s_split_id (h_header (&r2, "X-Request-Id"), tag2, &s2, n2);
    cr_assert_str_eq (tag1, tag2);
    cr_assert_eq (s2, s1 + 1);
    //  29 independent digits: two ids agree on about 3 of them.
    int same = 0;
    for (int i = 0; i < 29; i++)
        same += n1[i] == n2[i];
    cr_assert_lt (same, 15, "nonces %s and %s look alike", n1, n2);
    h_stop_all ();
}

Test (mesh_security, a_reply_with_a_guessed_id_is_refused)
{
    h_fn ("a", "sleep", "BATON_TEST_SLEEP_MS=300");
    h_gateway (S_CFG_PLAIN);
    h_resp_t first = h_request (h_port (), "GET", "/x", NULL);
    cr_assert_eq (first.status, 200);
    char tag[9], nonce[30];
    unsigned long long seq;
    s_split_id (h_header (&first, "X-Request-Id"), tag, &seq, nonce);
    h_conn_t *c = s_request_start ("/x");
    //  The next sequence number is known; its nonce is not: reuse the last.
    char guess[96];
    int n = snprintf (guess, sizeof guess, "%s-%llu%s", tag, seq + 1, nonce);
    void *attacker = s_push ("reply", NULL);
    s_send_reply (attacker, guess, (size_t) n, "forged", true);
    cr_assert_eq (h_metric_wait ("baton_replies_refused_total{reason=\"id\"}", 1, 3000), 1, "%s",
                  h_logs ());
    h_resp_t r = h_read (c, H_WAIT_MS);
    s_assert_real (r, "|a");
    cr_assert_str_eq (h_header (&r, "X-Hop"), "a");
    s_close (&attacker, 1);
    h_stop_all ();
}

Test (mesh_security, plaintext_on_the_network_needs_mode_insecure)
{
    const char *net = "gateway:\n  listen: 127.0.0.1:0\n  admin: 127.0.0.1:0\n"
                      "  reply: tcp://*:*\n"
                      "functions:\n  a: {endpoints: [ipc://@D/a]}\n"
                      "routes:\n  - {path: /x, chain: [a]}\n";
    const char *argv[] = {BATON_CLI_PATH, "gateway", "-c", h_write_file ("net.yaml", net), NULL};
    char *out, *err;
    cr_assert_eq (h_run (argv, &out, &err), 1, "%s", err);
    cr_assert (strstr (err, "tcp://*:* is not on this machine and the mesh is plaintext"), "%s",
               err);
    //  Said explicitly, it starts, with a warning.
    char *yaml = h_alloc (1024);
    snprintf (yaml, 1024, "%ssecurity: {mode: insecure}\n", net);
    h_fn ("a", "append", NULL);
    h_gateway (yaml);
    cr_assert (strstr (h_read_file ("gateway.log"), "security: mode insecure"), "%s",
               h_read_file ("gateway.log"));
    cr_assert_eq (h_request (h_port (), "GET", "/x", NULL).status, 200);
    h_stop_all ();
}

Test (mesh_security, a_plaintext_mesh_on_this_machine_starts_with_one_warning)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_PLAIN);
    const char *log = h_read_file ("gateway.log");
    const char *w = strstr (log, "no security section");
    cr_assert (w && !strstr (w + 1, "no security section"), "%s", log);
    cr_assert (strstr (log, "security=none"), "%s", log);
    h_stop_all ();
}
