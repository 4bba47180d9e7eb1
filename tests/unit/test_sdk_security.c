/*  test_sdk_security.c - libbaton with CURVE, over real tcp://127.0.0.1
 *  sockets: the test plays the gateway and the next hop (CURVE servers with
 *  a ZAP handler of their own) and drives the worker with
 *  baton_worker_process_one, so each step is taken by the test's thread.  */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "baton/baton.h"
#include "cert.h"
#include "stderr_capture.h"
#include "trust.h"
#include "zap.h"

#define S_WAIT_MS 3000 //  longest any step waits for a message

//  --- keys --------------------------------------------------------------------------

static char s_dir[64];
static char s_trust[96];   //  s_dir/keys: the trust store, with the secret files beside
static char s_outside[96]; //  s_dir/outside: certificates nobody trusts

//  Makes a certificate and saves it (public and secret) in dir.
static baton_cert_t *
s_make_cert (const char *dir, baton_role_t role, const char *name)
{
    baton_cert_t *c = baton__cert_new (role, name);
    cr_assert_not_null (c);
    char err[BATON_CERT_ERROR_MAX];
    cr_assert_eq (baton__cert_save (c, dir, false, err, sizeof err), 0, "%s", err);
    return c;
}

//  The certificates of one test: a gateway, the functions auth (the worker
//  under test), render (its next hop) and other, all trusted; an outsider
//  and an outsider "render", not trusted.
typedef struct {
    baton_cert_t *gw, *auth, *render, *other, *outsider, *fake_render;
    baton_trust_t *trust;
} s_keys_t;

static void
s_keys_make (s_keys_t *k)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/baton-sdksec-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
    snprintf (s_trust, sizeof s_trust, "%s/keys", s_dir);
    snprintf (s_outside, sizeof s_outside, "%s/outside", s_dir);
    cr_assert_eq (mkdir (s_trust, 0700), 0);
    cr_assert_eq (mkdir (s_outside, 0700), 0);
    k->gw = s_make_cert (s_trust, BATON_ROLE_GATEWAY, "gw");
    k->auth = s_make_cert (s_trust, BATON_ROLE_FUNCTION, "auth");
    k->render = s_make_cert (s_trust, BATON_ROLE_FUNCTION, "render");
    k->other = s_make_cert (s_trust, BATON_ROLE_FUNCTION, "other");
    k->outsider = s_make_cert (s_outside, BATON_ROLE_GATEWAY, "outsider");
    k->fake_render = s_make_cert (s_outside, BATON_ROLE_FUNCTION, "render");
    char err[4096];
    k->trust = baton__trust_load (s_trust, err, sizeof err);
    cr_assert_not_null (k->trust, "%s", err);
}

static void
s_keys_free (s_keys_t *k)
{
    baton__cert_destroy (&k->gw);
    baton__cert_destroy (&k->auth);
    baton__cert_destroy (&k->render);
    baton__cert_destroy (&k->other);
    baton__cert_destroy (&k->outsider);
    baton__cert_destroy (&k->fake_render);
    baton__trust_destroy (&k->trust);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    cr_assert_eq (system (cmd), 0);
}

//  Path of a secret certificate of the trust directory, in a static ring.
static const char *
s_secret (const char *name)
{
    static char bufs[4][160];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf (b, 160, "%s/%s.key_secret", s_trust, name);
    return b;
}

//  --- the test's side: a gateway and a next hop -------------------------------------------

static atomic_int s_calls;

static int
h_next (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    atomic_fetch_add (&s_calls, 1);
    baton_ctx_set_body_str (ctx, "seen by auth");
    return baton_ctx_next (ctx);
}

typedef struct {
    void *zctx;
    baton_zap_t *zap;
    void *reply;   //  the gateway's reply PULL, CURVE server with the gw cert
    void *next;    //  the next hop's PULL, CURVE server with the render cert
    void *control; //  the gateway's control PULL, CURVE server with the gw cert
    char reply_ep[64], next_ep[64], control_ep[64];
} s_side_t;

//  Binds a CURVE server PULL on tcp://127.0.0.1:* and writes its endpoint.
static void *
s_server (s_side_t *t, const baton_cert_t *cert, char *ep)
{
    void *s = zmq_socket (t->zctx, ZMQ_PULL);
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    cr_assert_eq (baton__curve_server (s, cert, NULL), 0);
    cr_assert_eq (zmq_bind (s, "tcp://127.0.0.1:*"), 0);
    size_t len = 64;
    cr_assert_eq (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    return s;
}

static void
s_side_open (s_side_t *t, const s_keys_t *k)
{
    t->zctx = zmq_ctx_new ();
    char err[256];
    t->zap = baton__zap_new (t->zctx, k->trust, err, sizeof err);
    cr_assert_not_null (t->zap, "%s", err);
    t->reply = s_server (t, k->gw, t->reply_ep);
    t->next = s_server (t, k->render, t->next_ep);
    t->control = s_server (t, k->gw, t->control_ep);
}

static void
s_side_close (s_side_t *t)
{
    zmq_close (t->reply);
    zmq_close (t->next);
    zmq_close (t->control);
    baton__zap_destroy (&t->zap);
    zmq_ctx_term (t->zctx);
}

//  A PUSH of the test's context to endpoint: a CURVE client with cert of
//  the server holding server_key, or (cert NULL) a plaintext one.
static void *
s_client (s_side_t *t, const baton_cert_t *cert, const uint8_t *server_key, const char *endpoint)
{
    void *s = zmq_socket (t->zctx, ZMQ_PUSH);
    int linger = 0, timeout = S_WAIT_MS;
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (s, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    if (cert)
        cr_assert_eq (baton__curve_client (s, cert, server_key), 0);
    cr_assert_eq (zmq_connect (s, endpoint), 0);
    return s;
}

static void
s_push (void *sock, const baton_envelope_t *env)
{
    void *data;
    size_t len;
    cr_assert_eq (baton_envelope_encode (env, &data, &len), 0);
    cr_assert_eq (zmq_send (sock, data, len, 0), (int) len, "send: %s", zmq_strerror (errno));
    free (data);
}

//  Receives one envelope at sock within timeout_ms, or returns NULL. When
//  peer is not NULL, writes "role:name" of its sender there.
static baton_envelope_t *
s_pull (void *sock, int timeout_ms, char *peer, size_t cap)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    cr_assert_geq (zmq_msg_recv (&msg, sock, 0), 0);
    if (peer) {
        baton_peer_t p;
        cr_assert_eq (baton__zap_peer (&msg, &p), 0);
        snprintf (peer, cap, "%s:%.*s", baton__role_name (p.role), (int) p.name_len, p.name);
    }
    int err = 0;
    baton_envelope_t *env =
        baton_envelope_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), NULL, &err);
    zmq_msg_close (&msg);
    cr_assert_not_null (env, "%s", baton_errname (err));
    return env;
}

//  An envelope from the gateway: reply_to the test's reply socket with
//  reply_key, route auth (the worker) then render (the test's next hop),
//  with the keys given (NULL: no route_keys).
static baton_envelope_t *
s_envelope (const s_side_t *t, const char *worker_ep, const uint8_t *reply_key,
            const uint8_t *auth_key, const uint8_t *render_key)
{
    baton_envelope_t *env = baton_envelope_new ();
    baton_envelope_set_id (env, "sec-1", 5);
    baton_envelope_set_reply_to (env, t->reply_ep, strlen (t->reply_ep));
    if (reply_key)
        cr_assert_eq (baton_envelope_set_reply_key (env, reply_key, BATON_KEY_LEN), 0);
    baton_envelope_route_append (env, "auth", 4, worker_ep, strlen (worker_ep));
    baton_envelope_route_append (env, "render", 6, t->next_ep, strlen (t->next_ep));
    if (auth_key)
        cr_assert_eq (baton_envelope_set_route_key (env, 0, auth_key, BATON_KEY_LEN), 0);
    if (render_key)
        cr_assert_eq (baton_envelope_set_route_key (env, 1, render_key, BATON_KEY_LEN), 0);
    baton_envelope_set_budget (env, 2);
    baton_envelope_set_request (env, "GET", 3, "/", 1);
    return env;
}

//  The CURVE worker "auth" on tcp://127.0.0.1:*, gateways optional.
static baton_worker_t *
s_worker (const char *gateway)
{
    baton_worker_config_t c = {0};
    c.name = "auth";
    c.bind = "tcp://127.0.0.1:*";
    c.cert = s_secret ("auth");
    c.trust = s_trust;
    c.gateway = gateway;
    c.no_signals = true;
    baton_worker_t *w = baton_worker_new_config (&c);
    cr_assert_not_null (w);
    baton_worker_set_handler (w, h_next, NULL);
    return w;
}

//  Nothing arrives at sock for quiet_ms.
static void
s_assert_nothing (void *sock, int quiet_ms, const char *where)
{
    baton_envelope_t *env = s_pull (sock, quiet_ms, NULL, 0);
    cr_assert_null (env, "something arrived at %s", where);
}

//  What most tests start from: the keys, the test's side, the CURVE worker
//  auth and a client of the gateway's key connected to it.
typedef struct {
    s_keys_t k;
    s_side_t t;
    baton_worker_t *w;
    const char *ep; //  the worker's inbox
    void *gw;
} s_fix_t;

static void
s_fix_open (s_fix_t *f)
{
    s_keys_make (&f->k);
    s_side_open (&f->t, &f->k);
    f->w = s_worker (NULL);
    f->ep = baton_worker_endpoint (f->w);
    f->gw = s_client (&f->t, f->k.gw, baton__cert_public_key (f->k.auth), f->ep);
}

static void
s_fix_close (s_fix_t *f)
{
    zmq_close (f->gw);
    baton_worker_destroy (&f->w);
    s_side_close (&f->t);
    s_keys_free (&f->k);
}

//  --- taking and forwarding ----------------------------------------------------------

Test (sdk_security, curve_worker_takes_from_a_gateway_and_forwards_to_a_trusted_next_hop,
      .timeout = 30)
{
    s_fix_t f;
    s_fix_open (&f);
    baton_envelope_t *env =
        s_envelope (&f.t, f.ep, baton__cert_public_key (f.k.gw), baton__cert_public_key (f.k.auth),
                    baton__cert_public_key (f.k.render));
    s_push (f.gw, env);
    cr_assert_eq (baton_worker_process_one (f.w, S_WAIT_MS), 1);
    char peer[96];
    baton_envelope_t *got = s_pull (f.t.next, S_WAIT_MS, peer, sizeof peer);
    cr_assert_not_null (got, "nothing reached the next hop");
    cr_assert_str_eq (peer, "function:auth");
    cr_assert_eq (baton_envelope_index (got), 1);
    cr_assert (baton_slice_eq_str (baton_envelope_body (got), "seen by auth"));
    //  The keys travel on unchanged.
    cr_assert_eq (memcmp (baton_envelope_route_key (got, 1).ptr,
                          baton__cert_public_key (f.k.render), BATON_KEY_LEN),
                  0);
    cr_assert_eq (baton_envelope_reply_key (got).len, BATON_KEY_LEN);
    baton_envelope_destroy (&got);

    //  A function may send to it too; after the last hop the reply goes to
    //  the gateway, CURVE with reply_key as its server key.
    void *fn = s_client (&f.t, f.k.other, baton__cert_public_key (f.k.auth), f.ep);
    baton_envelope_t *last = baton_envelope_new ();
    baton_envelope_set_id (last, "sec-2", 5);
    baton_envelope_set_reply_to (last, f.t.reply_ep, strlen (f.t.reply_ep));
    baton_envelope_set_reply_key (last, baton__cert_public_key (f.k.gw), BATON_KEY_LEN);
    baton_envelope_route_append (last, "other", 5, f.t.next_ep, strlen (f.t.next_ep));
    baton_envelope_route_append (last, "auth", 4, f.ep, strlen (f.ep));
    baton_envelope_set_index (last, 1);
    baton_envelope_set_budget (last, 1);
    s_push (fn, last);
    baton_envelope_destroy (&last);
    cr_assert_eq (baton_worker_process_one (f.w, S_WAIT_MS), 1);
    got = s_pull (f.t.reply, S_WAIT_MS, peer, sizeof peer);
    cr_assert_not_null (got, "no reply at the gateway");
    cr_assert_str_eq (peer, "function:auth");
    cr_assert_eq (baton_envelope_index (got), 2);
    baton_envelope_destroy (&got);
    baton_worker_stats_t st = baton_worker_stats (f.w);
    cr_assert_eq (st.forwarded, 1);
    cr_assert_eq (st.replied, 1);
    cr_assert_eq (st.dropped, 0);
    cr_assert_eq (atomic_load (&s_calls), 2);
    baton_envelope_destroy (&env);
    zmq_close (fn);
    s_fix_close (&f);
}

//  Sends one envelope from a client that the worker's ZAP handler must
//  refuse (cert NULL: no CURVE at all) and checks the handler never runs.
static void
s_refused_client (bool plaintext)
{
    s_fix_t f;
    s_fix_open (&f);
    void *bad =
        s_client (&f.t, plaintext ? NULL : f.k.outsider, baton__cert_public_key (f.k.auth), f.ep);
    baton_envelope_t *env =
        s_envelope (&f.t, f.ep, baton__cert_public_key (f.k.gw), baton__cert_public_key (f.k.auth),
                    baton__cert_public_key (f.k.render));
    //  The send queues: the handshake fails after it.
    void *data;
    size_t len;
    cr_assert_eq (baton_envelope_encode (env, &data, &len), 0);
    zmq_send (bad, data, len, ZMQ_DONTWAIT);
    free (data);
    struct timespec start, now;
    clock_gettime (CLOCK_MONOTONIC, &start);
    baton_worker_stats_t st;
    do {
        cr_assert_eq (baton_worker_process_one (f.w, 100), 0, "the worker took a message");
        st = baton_worker_stats (f.w);
        clock_gettime (CLOCK_MONOTONIC, &now);
    } while (st.handshakes_refused == 0 && now.tv_sec - start.tv_sec < 5);
    cr_assert_geq (st.handshakes_refused, 1);
    cr_assert_eq (baton_worker_process_one (f.w, 300), 0);
    cr_assert_eq (atomic_load (&s_calls), 0);
    cr_assert_eq (baton_worker_stats (f.w).received, 0);
    s_assert_nothing (f.t.next, 100, "the next hop");
    s_assert_nothing (f.t.reply, 100, "reply-to");
    baton_envelope_destroy (&env);
    zmq_close (bad);
    s_fix_close (&f);
}

Test (sdk_security, unknown_key_client_never_reaches_the_handler, .timeout = 30)
{
    s_refused_client (false);
}

Test (sdk_security, plaintext_client_is_refused, .timeout = 30)
{
    s_refused_client (true);
}

//  --- what an envelope may ask for -------------------------------------------------------

Test (sdk_security, reply_key_outside_the_store_sends_nothing, .timeout = 30)
{
    s_fix_t f;
    s_fix_open (&f);
    //  An untrusted key, a function's key (not a gateway), and none at all.
    const uint8_t *keys[] = {baton__cert_public_key (f.k.outsider),
                             baton__cert_public_key (f.k.other), NULL};
    for (int i = 0; i < 3; i++) {
        baton_envelope_t *env = s_envelope (&f.t, f.ep, keys[i], baton__cert_public_key (f.k.auth),
                                            baton__cert_public_key (f.k.render));
        s_push (f.gw, env);
        baton_envelope_destroy (&env);
        cr_assert_eq (baton_worker_process_one (f.w, S_WAIT_MS), 1);
    }
    s_assert_nothing (f.t.reply, 300, "reply-to");
    s_assert_nothing (f.t.next, 100, "the next hop");
    baton_worker_stats_t st = baton_worker_stats (f.w);
    cr_assert_eq (st.refused_key, 3);
    cr_assert_eq (st.dropped, 3);
    cr_assert_eq (atomic_load (&s_calls), 0);
    s_fix_close (&f);
}

Test (sdk_security, next_hop_key_not_trusted_for_it_replies_502_and_sends_nothing_there,
      .timeout = 30)
{
    s_fix_t f;
    s_fix_open (&f);
    //  A "render" key nobody trusts, a trusted key of another function, none.
    const uint8_t *keys[] = {baton__cert_public_key (f.k.fake_render),
                             baton__cert_public_key (f.k.other), NULL};
    for (int i = 0; i < 3; i++) {
        baton_envelope_t *env =
            s_envelope (&f.t, f.ep, baton__cert_public_key (f.k.gw),
                        keys[i] ? baton__cert_public_key (f.k.auth) : NULL, keys[i]);
        s_push (f.gw, env);
        baton_envelope_destroy (&env);
        cr_assert_eq (baton_worker_process_one (f.w, S_WAIT_MS), 1);
        baton_envelope_t *rep = s_pull (f.t.reply, S_WAIT_MS, NULL, 0);
        cr_assert_not_null (rep, "no 502 at reply-to (case %d)", i);
        cr_assert_eq (baton_envelope_status (rep), 502);
        cr_assert (baton_slice_eq_str (baton_envelope_error_hop (rep), "auth"));
        cr_assert (baton_slice_eq_str (baton_envelope_error_text (rep),
                                       "next hop key not trusted: 'render'"));
        cr_assert_eq (baton_envelope_index (rep), 0);
        baton_envelope_destroy (&rep);
    }
    s_assert_nothing (f.t.next, 300, "the next hop");
    baton_worker_stats_t st = baton_worker_stats (f.w);
    cr_assert_eq (st.refused_key, 3);
    cr_assert_eq (st.errors, 3);
    cr_assert_eq (st.forwarded, 0);
    s_fix_close (&f);
}

//  --- the control channel -----------------------------------------------------------------

Test (sdk_security, announce_goes_over_curve_to_the_named_or_only_gateway, .timeout = 30)
{
    s_keys_t k;
    s_keys_make (&k);
    s_side_t t;
    s_side_open (&t, &k);
    char gateway[96];
    for (int named = 0; named < 2; named++) {
        snprintf (gateway, sizeof gateway, "%s%s", named ? "gw@" : "", t.control_ep);
        baton_worker_t *w = s_worker (gateway);
        cr_assert_str_eq (baton_worker_gateway (w, 0), t.control_ep);
        cr_assert_eq (baton_worker_process_one (w, 0), 0); //  announces
        zmq_pollitem_t item = {t.control, 0, ZMQ_POLLIN, 0};
        cr_assert_eq (zmq_poll (&item, 1, S_WAIT_MS), 1, "no announce");
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        cr_assert_geq (zmq_msg_recv (&msg, t.control, 0), 0);
        baton_peer_t p;
        cr_assert_eq (baton__zap_peer (&msg, &p), 0);
        cr_assert_eq (p.role, BATON_ROLE_FUNCTION);
        cr_assert (p.name_len == 4 && memcmp (p.name, "auth", 4) == 0);
        zmq_msg_close (&msg);
        baton_worker_destroy (&w); //  says goodbye
        while (zmq_poll (&item, 1, 200) == 1) {
            zmq_msg_init (&msg);
            zmq_msg_recv (&msg, t.control, 0);
            zmq_msg_close (&msg);
        }
    }
    s_side_close (&t);
    s_keys_free (&k);
}

//  --- refusing to start -----------------------------------------------------------------

//  One way to ask for a worker that must not start, and what it must say.
typedef struct {
    const char *name, *bind;
    const char *cert;        //  path of the certificate, or NULL
    bool trust;              //  with the trust directory
    const char *gateway;     //  NULL: none
    const char *env, *value; //  a variable set for the call, or NULL
    bool readable;           //  the secret of auth readable by others meanwhile
    const char *says;
} s_refusal_t;

//  Tries to start the worker r describes; returns what it wrote on stderr.
static const char *
s_refused_start (const s_refusal_t *r)
{
    static char buf[8192];
    baton_worker_config_t c = {0};
    c.name = r->name;
    c.bind = r->bind;
    c.cert = r->cert;
    c.trust = r->trust ? s_trust : NULL;
    c.gateway = r->gateway;
    if (r->env)
        setenv (r->env, r->value, 1);
    if (r->readable)
        cr_assert_eq (chmod (s_secret ("auth"), 0644), 0);
    capture_t cap = capture_begin ();
    baton_worker_t *w = baton_worker_new_config (&c);
    capture_end (cap, buf, sizeof buf);
    if (r->readable)
        cr_assert_eq (chmod (s_secret ("auth"), 0600), 0);
    if (r->env)
        unsetenv (r->env);
    cr_assert_null (w, "it started; it should say \"%s\"", r->says);
    return buf;
}

Test (sdk_security, worker_refuses_to_start_saying_why, .timeout = 30)
{
    s_keys_t k;
    s_keys_make (&k);
    unsetenv ("BATON_LOG");
    unsetenv ("BATON_SECURITY");
    const char *lo = "tcp://127.0.0.1:*", *auth = s_secret ("auth");
    s_refusal_t cases[] = {
        {"auth", lo, NULL, false, NULL, "BATON_CERT", auth, false, "BATON_TRUST"},
        {"auth", lo, s_secret ("render"), true, NULL, NULL, NULL, false,
         "named 'render', this function 'auth'"},
        {"gw", lo, s_secret ("gw"), true, NULL, NULL, NULL, false, "role is gateway"},
        {"auth", lo, auth, true, NULL, NULL, NULL, true, "chmod 600"},
        {"auth", "tcp://0.0.0.0:*", NULL, false, NULL, NULL, NULL, false,
         "plaintext inbox not on loopback, ipc or inproc"},
        {"auth", "ipc:///tmp/baton-sdksec-never.sock", NULL, false, "tcp://192.0.2.1:5600", NULL,
         NULL, false, "plaintext control endpoint not on loopback"},
        {"auth", lo, auth, true, NULL, "BATON_SECURITY", "insecure", false, "choose one"},
        {"auth", "inproc://auth", auth, true, NULL, NULL, NULL, false, "inproc carries no CURVE"},
        {"auth", lo, auth, true, "edge-9@tcp://127.0.0.1:5600", NULL, NULL, false,
         "holds 0 keys of gateway 'edge-9'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err = s_refused_start (&cases[i]);
        cr_assert (strstr (err, cases[i].says), "case %zu: stderr lacks \"%s\": %s", i,
                   cases[i].says, err);
    }
    s_keys_free (&k);
}

Test (sdk_security, unnamed_gateway_needs_exactly_one_gateway_key, .timeout = 30)
{
    s_keys_t k;
    s_keys_make (&k);
    baton_cert_t *second = s_make_cert (s_trust, BATON_ROLE_GATEWAY, "gw2");
    s_refusal_t unnamed = {
        "auth", "tcp://127.0.0.1:*",   s_secret ("auth"), true, "tcp://127.0.0.1:5600", NULL, NULL,
        false,  "holds 2 gateway keys"};
    const char *err = s_refused_start (&unnamed);
    cr_assert (strstr (err, unnamed.says), "%s", err);
    baton_worker_config_t c = {0};
    c.name = "auth";
    c.bind = "tcp://127.0.0.1:*";
    c.cert = s_secret ("auth");
    c.trust = s_trust;
    c.gateway = "gw2@tcp://127.0.0.1:5600";
    baton_worker_t *w = baton_worker_new_config (&c);
    cr_assert_not_null (w);
    baton_worker_destroy (&w);
    baton__cert_destroy (&second);
    s_keys_free (&k);
}

//  --- a host: one ZAP handler, keys checked for in-memory hops too --------------------------

typedef struct {
    baton_host_t *host;
    pthread_t thread;
} s_host_t;

static void *
s_host_run (void *arg)
{
    baton_host_run (((s_host_t *) arg)->host);
    return NULL;
}

Test (sdk_security, host_shares_one_zap_handler_and_checks_in_memory_hop_keys, .timeout = 30)
{
    s_keys_t k;
    s_keys_make (&k);
    s_side_t t;
    s_side_open (&t, &k);
    s_host_t h;
    h.host = baton_host_new ();
    char auth_ep[128], other_ep[128];
    snprintf (auth_ep, sizeof auth_ep, "ipc://%s/auth", s_dir);
    snprintf (other_ep, sizeof other_ep, "ipc://%s/other", s_dir);
    baton_worker_config_t c = {0};
    c.name = "auth";
    c.bind = auth_ep;
    c.cert = s_secret ("auth");
    c.trust = s_trust;
    cr_assert_not_null (baton_host_add (h.host, &c, h_next, NULL));
    c.name = "other";
    c.bind = other_ep;
    c.cert = s_secret ("other");
    cr_assert_not_null (baton_host_add (h.host, &c, h_next, NULL));
    cr_assert_eq (pthread_create (&h.thread, NULL, s_host_run, &h), 0);
    void *gw = s_client (&t, k.gw, baton__cert_public_key (k.auth), auth_ep);
    //  auth -> other in memory: with other's key it runs, with render's key
    //  (trusted, but another function) it is refused like a hop on the wire.
    const baton_cert_t *keys[] = {k.other, k.render};
    for (int i = 0; i < 2; i++) {
        baton_envelope_t *env = baton_envelope_new ();
        baton_envelope_set_id (env, "h", 1);
        baton_envelope_set_reply_to (env, t.reply_ep, strlen (t.reply_ep));
        baton_envelope_set_reply_key (env, baton__cert_public_key (k.gw), BATON_KEY_LEN);
        baton_envelope_route_append (env, "auth", 4, auth_ep, strlen (auth_ep));
        baton_envelope_route_append (env, "other", 5, other_ep, strlen (other_ep));
        baton_envelope_set_route_key (env, 0, baton__cert_public_key (k.auth), BATON_KEY_LEN);
        baton_envelope_set_route_key (env, 1, baton__cert_public_key (keys[i]), BATON_KEY_LEN);
        baton_envelope_set_budget (env, 2);
        s_push (gw, env);
        baton_envelope_destroy (&env);
        baton_envelope_t *rep = s_pull (t.reply, S_WAIT_MS, NULL, 0);
        cr_assert_not_null (rep, "no reply (case %d)", i);
        cr_assert_eq (baton_envelope_status (rep), i == 0 ? 200 : 502);
        cr_assert_eq (baton_envelope_index (rep), i == 0 ? 2 : 0);
        baton_envelope_destroy (&rep);
    }
    cr_assert_eq (atomic_load (&s_calls), 3); //  auth twice, other once
    baton_host_stop (h.host);
    pthread_join (h.thread, NULL);
    zmq_close (gw);
    baton_host_destroy (&h.host);
    s_side_close (&t);
    s_keys_free (&k);
}
