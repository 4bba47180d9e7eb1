/*  test_sdk.c - libbaton against real ZeroMQ: workers run in threads of the
 *  test process, the test plays the gateway (binds reply-to, builds envelopes,
 *  pushes to hop 0, reads the reply). Every receive has a timeout.  */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "baton/baton.h"
#include "control.h"
#include "stderr_capture.h"

#define S_WAIT_MS 5000 //  longest any test waits for one reply

//  --- clocks ----------------------------------------------------------------------

static uint64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static uint64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR) {
    }
}

//  --- ipc endpoints under a temp dir ----------------------------------------------------

static char s_dir[64];

static void
s_tmpdir (void)
{
    strcpy (s_dir, "/tmp/baton-sdk-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
}

//  Returns "ipc://<tmpdir>/<name>.sock" in a static ring of buffers.
static const char *
s_ipc (const char *name)
{
    static char bufs[16][128];
    static int next;
    char *b = bufs[next++ % 16];
    snprintf (b, 128, "ipc://%s/%s.sock", s_dir, name);
    return b;
}

static void
s_tmpdir_remove (void)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    cr_assert_eq (system (cmd), 0);
}

//  --- handlers --------------------------------------------------------------------------

static atomic_int s_calls[8]; //  by handler tag 'a'.. : s_calls[tag - 'a']

static void
s_count (const char *tag)
{
    atomic_fetch_add (&s_calls[(tag[0] - 'a') & 7], 1);
}

static int
s_calls_of (char tag)
{
    return atomic_load (&s_calls[(tag - 'a') & 7]);
}

//  Appends "|<tag>" to the body, <tag> to meta "trail", and an X-Hop header.
static int
h_append (baton_ctx_t *ctx, void *arg)
{
    const char *tag = (const char *) arg;
    s_count (tag);
    char buf[512];
    baton_slice_t b = baton_ctx_body (ctx);
    int n = snprintf (buf, sizeof buf, "%.*s|%s", (int) b.len, b.ptr, tag);
    if (baton_ctx_set_body (ctx, buf, (size_t) n))
        return -1;
    baton_slice_t trail = {"", 0};
    baton_ctx_meta_get (ctx, "trail", &trail);
    n = snprintf (buf, sizeof buf, "%.*s%s", (int) trail.len, trail.ptr, tag);
    if (baton_ctx_meta_set (ctx, "trail", buf, (size_t) n))
        return -1;
    if (baton_ctx_add_header (ctx, "X-Hop", tag))
        return -1;
    return baton_ctx_next (ctx);
}

static int
h_deny (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    baton_ctx_set_header (ctx, "WWW-Authenticate", "Bearer");
    baton_ctx_set_body_str (ctx, "denied");
    return baton_ctx_reply (ctx, 401);
}

static int
h_fail (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    return baton_ctx_fail (ctx, 502, "db \"down\"\n");
}

static int
h_return_7 (baton_ctx_t *ctx, void *arg)
{
    (void) ctx;
    s_count ((const char *) arg);
    return 7;
}

static int
h_slow (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    s_sleep_ms (300);
    return h_append (ctx, arg);
}

//  Outlasts the short deadline of the in-flight test by a wide margin.
static int
h_sleepy (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    s_sleep_ms (3000);
    return h_append (ctx, arg);
}

//  Writes what it reads of the request into the body, for the test to check.
static int
h_describe (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    baton_slice_t m = baton_ctx_method (ctx), t = baton_ctx_target (ctx);
    baton_slice_t p = baton_ctx_path (ctx), q = baton_ctx_query (ctx), h = {"-", 1};
    baton_ctx_request_header_find (ctx, "authorization", &h);
    baton_header_t last = baton_ctx_request_header (ctx, baton_ctx_request_header_count (ctx) - 1);
    baton_slice_t hop = baton_ctx_hop_name (ctx);
    int64_t left = baton_ctx_deadline_left_ms (ctx);
    char buf[1024];
    int n = snprintf (buf, sizeof buf,
                      "%.*s %.*s path=%.*s query=%.*s auth=%.*s n=%zu last=%.*s:%.*s "
                      "hop=%.*s %zu/%zu left=%s",
                      (int) m.len, m.ptr, (int) t.len, t.ptr, (int) p.len, p.ptr, (int) q.len,
                      q.ptr, (int) h.len, h.ptr, baton_ctx_request_header_count (ctx),
                      (int) last.name.len, last.name.ptr, (int) last.value.len, last.value.ptr,
                      (int) hop.len, hop.ptr, baton_ctx_hop_index (ctx), baton_ctx_hop_count (ctx),
                      left == BATON_NO_DEADLINE   ? "none"
                      : left > 0 && left <= 10000 ? "ok"
                                                  : "bad");
    baton_ctx_set_body (ctx, buf, (size_t) n);
    return 0; //  no ending: means next
}

//  Tries to end the hop twice; records what the second attempt returned.
static int
h_twice (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    int first = baton_ctx_next (ctx);
    int second = baton_ctx_reply (ctx, 500);
    char buf[32];
    int n = snprintf (buf, sizeof buf, "%d,%d", first, second);
    baton_ctx_meta_set (ctx, "rc", buf, (size_t) n);
    return 0;
}

//  Fails with a status that is not an error: refused, so the hop is not
//  ended and the handler's non-zero return decides.
static int
h_bad_fail (baton_ctx_t *ctx, void *arg)
{
    s_count ((const char *) arg);
    return baton_ctx_fail (ctx, 200, "not an error");
}

//  --- workers in threads --------------------------------------------------------------

typedef struct {
    baton_worker_t *worker;
    pthread_t thread;
    int rc;
    atomic_int done;
} s_runner_t;

static void *
s_run (void *arg)
{
    s_runner_t *r = (s_runner_t *) arg;
    r->rc = baton_worker_run (r->worker);
    atomic_store (&r->done, 1);
    return NULL;
}

//  A config for worker name at bind in zctx (NULL: its own) that leaves
//  signals alone; tests add what they need.
static baton_worker_config_t
s_config (const char *name, const char *bind, void *zctx)
{
    baton_worker_config_t c = {0};
    c.name = name;
    c.bind = bind;
    c.zmq_context = zctx;
    c.no_signals = true;
    return c;
}

//  Creates a worker from c and starts it.
static void
s_start_cfg (s_runner_t *r, baton_worker_config_t *c, baton_handler_fn *fn, const char *tag)
{
    memset (r, 0, sizeof *r);
    r->worker = baton_worker_new_config (c);
    cr_assert_not_null (r->worker, "worker %s did not start", c->name);
    baton_worker_set_handler (r->worker, fn, (void *) tag);
    cr_assert_eq (pthread_create (&r->thread, NULL, s_run, r), 0);
}

static void
s_start (s_runner_t *r, void *zctx, const char *name, const char *bind, baton_handler_fn *fn,
         const char *tag)
{
    baton_worker_config_t c = s_config (name, bind, zctx);
    s_start_cfg (r, &c, fn, tag);
}

//  Waits (bounded) for the run to end, then destroys the worker.
static void
s_join (s_runner_t *r)
{
    uint64_t until = s_mono_ms () + S_WAIT_MS;
    while (!atomic_load (&r->done) && s_mono_ms () < until)
        s_sleep_ms (5);
    cr_assert (atomic_load (&r->done), "worker did not stop in time");
    pthread_join (r->thread, NULL);
    cr_assert_eq (r->rc, 0);
}

static void
s_stop (s_runner_t *r)
{
    baton_worker_stop (r->worker);
    s_join (r);
    baton_worker_destroy (&r->worker);
}

//  --- the test plays gateway --------------------------------------------------------------

typedef struct {
    void *zctx;
    bool own;
    void *pull; //  bound at reply_to
    void *push; //  connected to hop 0
    const char *reply_to;
} s_gw_t;

static void
s_gw_open (s_gw_t *gw, void *zctx, const char *reply_to, const char *first_hop)
{
    gw->own = zctx == NULL;
    gw->zctx = zctx ? zctx : zmq_ctx_new ();
    gw->reply_to = reply_to;
    gw->pull = zmq_socket (gw->zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (gw->pull, reply_to), 0, "bind %s: %s", reply_to, zmq_strerror (errno));
    gw->push = zmq_socket (gw->zctx, ZMQ_PUSH);
    int linger = 1000, timeout = S_WAIT_MS;
    zmq_setsockopt (gw->push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (gw->push, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    cr_assert_eq (zmq_connect (gw->push, first_hop), 0);
}

static void
s_gw_close (s_gw_t *gw)
{
    zmq_close (gw->pull);
    zmq_close (gw->push);
    if (gw->own)
        zmq_ctx_term (gw->zctx);
}

static void
s_gw_send_bytes (s_gw_t *gw, const void *data, size_t len, int flags)
{
    cr_assert_eq (zmq_send (gw->push, data, len, flags), (int) len, "send: %s",
                  zmq_strerror (errno));
}

static void
s_gw_send (s_gw_t *gw, const baton_envelope_t *env)
{
    void *data;
    size_t len;
    cr_assert_eq (baton_envelope_encode (env, &data, &len), 0);
    s_gw_send_bytes (gw, data, len, 0);
    free (data);
}

//  Receives one message from pull within timeout_ms into *msg; false if none came.
static bool
s_recv_raw (void *pull, zmq_msg_t *msg, int timeout_ms)
{
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return false;
    return zmq_msg_recv (msg, pull, ZMQ_DONTWAIT) >= 0;
}

static bool
s_gw_recv_raw (s_gw_t *gw, zmq_msg_t *msg, int timeout_ms)
{
    return s_recv_raw (gw->pull, msg, timeout_ms);
}

//  Receives and decodes one envelope from pull; fails the test if none
//  comes in time.
static baton_envelope_t *
s_recv_env (void *pull)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    cr_assert (s_recv_raw (pull, &msg, S_WAIT_MS), "nothing within %d ms", S_WAIT_MS);
    int err = 0;
    baton_envelope_t *env =
        baton_envelope_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), NULL, &err);
    zmq_msg_close (&msg);
    cr_assert_not_null (env, "envelope does not decode: %s", baton_errname (err));
    return env;
}

//  Receives and decodes one reply.
static baton_envelope_t *
s_gw_recv (s_gw_t *gw)
{
    return s_recv_env (gw->pull);
}

//  An envelope for route names[i] @ endpoints[i], budget 8, deadline in 10 s,
//  GET /items/7?q=1&r=2 with two headers, message body "x".
static baton_envelope_t *
s_envelope (const char *id, const char *reply_to, size_t hops, const char *const *names,
            const char *const *endpoints)
{
    baton_envelope_t *env = baton_envelope_new ();
    cr_assert_not_null (env);
    cr_assert_eq (baton_envelope_set_id (env, id, strlen (id)), 0);
    cr_assert_eq (baton_envelope_set_reply_to (env, reply_to, strlen (reply_to)), 0);
    for (size_t i = 0; i < hops; i++)
        cr_assert_eq (baton_envelope_route_append (env, names[i], strlen (names[i]), endpoints[i],
                                                   strlen (endpoints[i])),
                      0);
    baton_envelope_set_budget (env, 8);
    baton_envelope_set_deadline_ms (env, s_now_ms () + 10000);
    cr_assert_eq (baton_envelope_set_request (env, "GET", 3, "/items/7?q=1&r=2", 16), 0);
    cr_assert_eq (baton_envelope_request_add_header (env, "Authorization", 13, "Bearer t", 8), 0);
    cr_assert_eq (baton_envelope_request_add_header (env, "Accept", 6, "*/*", 3), 0);
    cr_assert_eq (baton_envelope_set_body (env, "x", 1), 0);
    return env;
}

static void
s_assert_slice (baton_slice_t s, const char *want)
{
    cr_assert (baton_slice_eq_str (s, want), "got \"%.*s\", want \"%s\"", (int) s.len, s.ptr, want);
}

static void
s_assert_record (const baton_envelope_t *env, const char *const *names, size_t n)
{
    cr_assert_eq (baton_envelope_record_count (env), n, "record holds %zu entries, want %zu",
                  baton_envelope_record_count (env), n);
    for (size_t i = 0; i < n; i++) {
        baton_record_t r = baton_envelope_record (env, i);
        s_assert_slice (r.name, names[i]);
        cr_assert (r.t_in_us > 0 && r.t_in_us <= r.t_out_us, "entry %zu: in %llu out %llu", i,
                   (unsigned long long) r.t_in_us, (unsigned long long) r.t_out_us);
    }
}

//  Checks a problem+json error reply: status, error fields and body.
static void
s_assert_problem (const baton_envelope_t *env, unsigned status, const char *hop,
                  const char *body_has)
{
    cr_assert_eq (baton_envelope_status (env), status);
    cr_assert (baton_envelope_has_error (env));
    cr_assert_eq (baton_envelope_error_code (env), status);
    s_assert_slice (baton_envelope_error_hop (env), hop);
    baton_slice_t ct;
    cr_assert (baton_envelope_header_find (env, "content-type", 12, &ct));
    s_assert_slice (ct, "application/problem+json");
    baton_slice_t body = baton_envelope_body (env);
    char want_hop[128];
    snprintf (want_hop, sizeof want_hop, "\"hop\":\"%s\"}", hop);
    char text[2048];
    snprintf (text, sizeof text, "%.*s", (int) body.len, body.ptr);
    cr_assert (strstr (text, want_hop), "body %s lacks %s", text, want_hop);
    char want_status[64];
    snprintf (want_status, sizeof want_status, "\"status\":%u,", status);
    cr_assert (strstr (text, want_status), "body %s lacks %s", text, want_status);
    cr_assert (strncmp (text, "{\"type\":\"about:blank\",\"title\":\"", 31) == 0, "body %s", text);
    if (body_has)
        cr_assert (strstr (text, body_has), "body %s lacks %s", text, body_has);
}

//  --- the chain of three ------------------------------------------------------------------

static const char *const s_abc[] = {"a", "b", "c"};

static void
s_chain_of_three (void *zctx, const char *const *eps, const char *reply_to)
{
    s_runner_t ra, rb, rc;
    s_start (&ra, zctx, "a", eps[0], h_append, "a");
    s_start (&rb, zctx, "b", eps[1], h_append, "b");
    s_start (&rc, zctx, "c", eps[2], h_append, "c");
    s_gw_t gw;
    s_gw_open (&gw, zctx, reply_to, eps[0]);

    for (int round = 0; round < 3; round++) {
        char id[16];
        snprintf (id, sizeof id, "req-%d", round);
        baton_envelope_t *env = s_envelope (id, reply_to, 3, s_abc, eps);
        s_gw_send (&gw, env);
        baton_envelope_destroy (&env);

        baton_envelope_t *rep = s_gw_recv (&gw);
        s_assert_slice (baton_envelope_id (rep), id);
        cr_assert_eq (baton_envelope_status (rep), 200);
        cr_assert_not (baton_envelope_has_error (rep));
        s_assert_slice (baton_envelope_body (rep), "x|a|b|c");
        cr_assert_eq (baton_envelope_header_count (rep), 3);
        for (size_t i = 0; i < 3; i++) {
            baton_header_t h = baton_envelope_header (rep, i);
            s_assert_slice (h.name, "X-Hop");
            s_assert_slice (h.value, s_abc[i]);
        }
        baton_slice_t trail;
        cr_assert (baton_envelope_meta_get (rep, "trail", 5, &trail));
        s_assert_slice (trail, "abc");
        s_assert_record (rep, s_abc, 3);
        cr_assert_eq (baton_envelope_index (rep), 3);
        cr_assert_eq (baton_envelope_budget (rep), 5);
        s_assert_slice (baton_envelope_request_target (rep), "/items/7?q=1&r=2");
        baton_envelope_destroy (&rep);
    }
    s_stop (&ra);
    s_stop (&rb);
    s_stop (&rc);
    s_gw_close (&gw);
    cr_assert_eq (s_calls_of ('a'), 3);
    cr_assert_eq (s_calls_of ('c'), 3);
}

Test (sdk, chain_of_three_transforms_in_order_over_inproc, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    const char *eps[] = {"inproc://a", "inproc://b", "inproc://c"};
    s_chain_of_three (zctx, eps, "inproc://gw");
    zmq_ctx_term (zctx);
}

Test (sdk, chain_of_three_transforms_in_order_over_ipc, .timeout = 30)
{
    s_tmpdir ();
    //  NULL context: every worker and the gateway own one, as separate processes would.
    const char *eps[] = {s_ipc ("a"), s_ipc ("b"), s_ipc ("c")};
    s_chain_of_three (NULL, eps, s_ipc ("gw"));
    s_tmpdir_remove ();
}

Test (sdk, handler_reads_method_target_path_query_headers_hop_and_deadline, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    s_runner_t ra;
    s_start (&ra, zctx, "a", "inproc://a", h_describe, "a");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_envelope ("r1", "inproc://gw", 1, s_abc, eps);
    s_gw_send (&gw, env);
    baton_envelope_t *rep = s_gw_recv (&gw);
    s_assert_slice (baton_envelope_body (rep),
                    "GET /items/7?q=1&r=2 path=/items/7 query=q=1&r=2 "
                    "auth=Bearer t n=2 last=Accept:*/* hop=a 0/1 left=ok");
    cr_assert_eq (baton_envelope_status (rep), 200);
    baton_envelope_destroy (&rep);

    //  Absolute-form target, no query, no deadline.
    cr_assert_eq (baton_envelope_set_request (env, "POST", 4, "http://example.com/x/y", 22), 0);
    baton_envelope_set_deadline_ms (env, 0);
    s_gw_send (&gw, env);
    rep = s_gw_recv (&gw);
    s_assert_slice (baton_envelope_body (rep),
                    "POST http://example.com/x/y path=/x/y query= "
                    "auth=Bearer t n=2 last=Accept:*/* hop=a 0/1 left=none");
    baton_envelope_destroy (&rep);
    baton_envelope_destroy (&env);
    s_stop (&ra);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

//  --- endings ----------------------------------------------------------------------------

//  Runs a -> b -> c with handlers fa, fb, fc over inproc and returns the reply.
static baton_envelope_t *
s_run_abc (baton_handler_fn *fa, baton_handler_fn *fb, baton_handler_fn *fc,
           baton_envelope_t *(*make) (const char *reply_to, const char *const *eps),
           baton_worker_stats_t *stats_c)
{
    void *zctx = zmq_ctx_new ();
    const char *eps[] = {"inproc://a", "inproc://b", "inproc://c"};
    s_runner_t ra, rb, rc;
    s_start (&ra, zctx, "a", eps[0], fa, "a");
    s_start (&rb, zctx, "b", eps[1], fb, "b");
    s_start (&rc, zctx, "c", eps[2], fc, "c");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", eps[0]);
    baton_envelope_t *env =
        make ? make ("inproc://gw", eps) : s_envelope ("r", "inproc://gw", 3, s_abc, eps);
    s_gw_send (&gw, env);
    baton_envelope_destroy (&env);
    baton_envelope_t *rep = s_gw_recv (&gw);
    //  Nothing more may come: exactly one response per request.
    zmq_msg_t extra;
    zmq_msg_init (&extra);
    cr_assert_not (s_gw_recv_raw (&gw, &extra, 200), "a second reply came");
    zmq_msg_close (&extra);
    baton_worker_stop (rc.worker);
    s_join (&rc);
    if (stats_c)
        *stats_c = baton_worker_stats (rc.worker);
    baton_worker_destroy (&rc.worker);
    s_stop (&ra);
    s_stop (&rb);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
    return rep;
}

Test (sdk, early_reply_skips_the_remaining_hops, .timeout = 30)
{
    baton_worker_stats_t sc;
    baton_envelope_t *rep = s_run_abc (h_append, h_deny, h_append, NULL, &sc);
    cr_assert_eq (baton_envelope_status (rep), 401);
    cr_assert_not (baton_envelope_has_error (rep));
    s_assert_slice (baton_envelope_body (rep), "denied");
    baton_slice_t v;
    cr_assert (baton_envelope_header_find (rep, "www-authenticate", 16, &v));
    s_assert_slice (v, "Bearer");
    s_assert_record (rep, s_abc, 2);
    cr_assert_eq (baton_envelope_index (rep), 1, "the replying hop does not advance");
    cr_assert_eq (s_calls_of ('b'), 1);
    cr_assert_eq (s_calls_of ('c'), 0);
    cr_assert_eq (sc.received, 0);
    baton_envelope_destroy (&rep);
}

Test (sdk, fail_replies_502_problem_json_naming_the_hop, .timeout = 30)
{
    baton_worker_stats_t sc;
    baton_envelope_t *rep = s_run_abc (h_append, h_fail, h_append, NULL, &sc);
    s_assert_problem (rep, 502, "b", NULL);
    s_assert_slice (baton_envelope_body (rep),
                    "{\"type\":\"about:blank\",\"title\":\"Bad Gateway\",\"status\":502,"
                    "\"detail\":\"db \\\"down\\\"\\n\",\"hop\":\"b\"}");
    s_assert_slice (baton_envelope_error_text (rep), "db \"down\"\n");
    cr_assert_eq (baton_envelope_header_count (rep), 1, "the failed message's headers are gone");
    s_assert_record (rep, s_abc, 2);
    cr_assert_eq (s_calls_of ('c'), 0);
    cr_assert_eq (sc.received, 0);
    baton_envelope_destroy (&rep);
}

Test (sdk, handler_returning_nonzero_fails_502_with_the_code, .timeout = 30)
{
    baton_envelope_t *rep = s_run_abc (h_append, h_return_7, h_append, NULL, NULL);
    s_assert_problem (rep, 502, "b", "\"detail\":\"handler returned 7\"");
    cr_assert_eq (s_calls_of ('c'), 0);
    baton_envelope_destroy (&rep);
}

Test (sdk, second_ending_is_refused_and_the_first_stands, .timeout = 30)
{
    baton_envelope_t *rep = s_run_abc (h_twice, h_append, h_append, NULL, NULL);
    cr_assert_eq (baton_envelope_status (rep), 200);
    baton_slice_t rc;
    cr_assert (baton_envelope_meta_get (rep, "rc", 2, &rc));
    char want[32];
    snprintf (want, sizeof want, "0,%d", BATON_ESTATE);
    s_assert_slice (rc, want);
    s_assert_slice (baton_envelope_body (rep), "x|b|c");
    s_assert_record (rep, s_abc, 3);
    baton_envelope_destroy (&rep);
}

Test (sdk, fail_with_a_non_error_status_is_refused, .timeout = 30)
{
    baton_envelope_t *rep = s_run_abc (h_append, h_bad_fail, h_append, NULL, NULL);
    char want[64];
    snprintf (want, sizeof want, "\"detail\":\"handler returned %d\"", BATON_EINVAL);
    s_assert_problem (rep, 502, "b", want);
    baton_envelope_destroy (&rep);
}

//  --- the rules that keep every request answered ----------------------------------------------

static baton_envelope_t *
s_make_expired (const char *reply_to, const char *const *eps)
{
    baton_envelope_t *env = s_envelope ("late", reply_to, 3, s_abc, eps);
    baton_envelope_set_deadline_ms (env, s_now_ms () - 1);
    return env;
}

Test (sdk, expired_deadline_replies_504_without_calling_the_handler, .timeout = 30)
{
    baton_envelope_t *rep = s_run_abc (h_append, h_append, h_append, s_make_expired, NULL);
    s_assert_problem (rep, 504, "a", "\"title\":\"Gateway Timeout\"");
    cr_assert_eq (s_calls_of ('a'), 0);
    cr_assert_eq (s_calls_of ('b'), 0);
    s_assert_slice (baton_envelope_id (rep), "late");
    s_assert_record (rep, s_abc, 1);
    baton_envelope_destroy (&rep);
}

static baton_envelope_t *
s_make_short_deadline (const char *reply_to, const char *const *eps)
{
    baton_envelope_t *env = s_envelope ("short", reply_to, 3, s_abc, eps);
    //  Long enough for the envelope to reach a on a slow machine (under
    //  valgrind, a worker's first receive can take hundreds of ms).
    baton_envelope_set_deadline_ms (env, s_now_ms () + 1500);
    return env;
}

Test (sdk, deadline_passing_in_flight_replies_504_naming_the_next_hop, .timeout = 30)
{
    //  a takes 3 s: the deadline (1.5 s) passes while it works, so b must not run.
    baton_envelope_t *rep = s_run_abc (h_sleepy, h_append, h_append, s_make_short_deadline, NULL);
    s_assert_problem (rep, 504, "b", NULL);
    cr_assert_eq (s_calls_of ('a'), 2); //  h_sleepy counts, then h_append counts
    cr_assert_eq (s_calls_of ('b'), 0);
    s_assert_record (rep, s_abc, 2);
    baton_envelope_destroy (&rep);
}

static baton_envelope_t *
s_make_budget_1 (const char *reply_to, const char *const *eps)
{
    baton_envelope_t *env = s_envelope ("loop", reply_to, 3, s_abc, eps);
    baton_envelope_set_budget (env, 1);
    return env;
}

Test (sdk, exhausted_budget_replies_508_naming_the_hop, .timeout = 30)
{
    baton_envelope_t *rep = s_run_abc (h_append, h_append, h_append, s_make_budget_1, NULL);
    s_assert_problem (rep, 508, "b", "\"title\":\"Loop Detected\"");
    cr_assert_eq (s_calls_of ('a'), 1);
    cr_assert_eq (s_calls_of ('b'), 0);
    cr_assert_eq (baton_envelope_budget (rep), 0);
    s_assert_record (rep, s_abc, 2);
    baton_envelope_destroy (&rep);
}

//  --- the rules that bound what one envelope can make a hop do (plaintext) ----------------

//  Worker "a" on inproc://a with handler h_append, and the test as gateway
//  at inproc://gw, in one context.
typedef struct {
    void *zctx;
    s_runner_t ra;
    s_gw_t gw;
} s_solo_t;

static void
s_solo_open (s_solo_t *t)
{
    t->zctx = zmq_ctx_new ();
    s_start (&t->ra, t->zctx, "a", "inproc://a", h_append, "a");
    s_gw_open (&t->gw, t->zctx, "inproc://gw", "inproc://a");
}

//  Stops the worker and returns its counters.
static baton_worker_stats_t
s_solo_close (s_solo_t *t)
{
    baton_worker_stop (t->ra.worker);
    s_join (&t->ra);
    baton_worker_stats_t st = baton_worker_stats (t->ra.worker);
    baton_worker_destroy (&t->ra.worker);
    s_gw_close (&t->gw);
    zmq_ctx_term (t->zctx);
    return st;
}

//  Sends *env_p, then destroys it.
static void
s_gw_push (s_gw_t *gw, baton_envelope_t **env_p)
{
    s_gw_send (gw, *env_p);
    baton_envelope_destroy (env_p);
}

//  Nothing arrives at the gateway for 200 ms.
static void
s_gw_assert_quiet (s_gw_t *gw)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    cr_assert_not (s_gw_recv_raw (gw, &msg, 200), "something arrived at reply-to");
    zmq_msg_close (&msg);
}

Test (sdk, budget_beyond_the_route_and_its_margin_replies_508_without_the_handler, .timeout = 30)
{
    s_solo_t t;
    s_solo_open (&t);
    //  64 hops and the largest budget: one envelope would run a's handler
    //  64 times if the budget were believed.
    const char *names[64], *eps[64];
    for (int i = 0; i < 64; i++) {
        names[i] = "a";
        eps[i] = "inproc://a";
    }
    baton_envelope_t *env = s_envelope ("greedy", "inproc://gw", 64, names, eps);
    baton_envelope_set_budget (env, UINT32_MAX);
    s_gw_push (&t.gw, &env);
    baton_envelope_t *rep = s_gw_recv (&t.gw);
    s_assert_problem (rep, 508, "a", "larger than the route can spend");
    cr_assert_eq (baton_envelope_budget (rep), UINT32_MAX);
    baton_envelope_destroy (&rep);
    s_gw_assert_quiet (&t.gw);
    cr_assert_eq (s_calls_of ('a'), 0);
    //  One hop left: a budget of 1 + BATON_BUDGET_MARGIN passes, one more does not.
    const char *one[] = {"inproc://a"};
    for (uint64_t budget = 1 + BATON_BUDGET_MARGIN; budget <= 2 + BATON_BUDGET_MARGIN; budget++) {
        env = s_envelope ("edge", "inproc://gw", 1, s_abc, one);
        baton_envelope_set_budget (env, budget);
        s_gw_push (&t.gw, &env);
        rep = s_gw_recv (&t.gw);
        cr_assert_eq (baton_envelope_status (rep), budget == 1 + BATON_BUDGET_MARGIN ? 200 : 508);
        baton_envelope_destroy (&rep);
    }
    baton_worker_stats_t st = s_solo_close (&t);
    cr_assert_eq (st.over_budget, 2);
    cr_assert_eq (s_calls_of ('a'), 1);
}

Test (sdk, done_route_is_dropped_even_with_reply_to_its_own_inbox, .timeout = 30)
{
    s_solo_t t;
    s_solo_open (&t);
    const char *eps[] = {"inproc://a"};
    //  reply_to is the worker's own inbox: answering it would circle for ever.
    baton_envelope_t *env = s_envelope ("circle", "inproc://a", 1, s_abc, eps);
    baton_envelope_set_index (env, 1);
    s_gw_push (&t.gw, &env);
    s_sleep_ms (200);
    cr_assert_eq (baton_worker_stats (t.ra.worker).received, 1, "the envelope looped");
    //  A done route with a gateway's reply_to is dropped too: nothing is sent.
    env = s_envelope ("done", "inproc://gw", 1, s_abc, eps);
    baton_envelope_set_index (env, 1);
    s_gw_push (&t.gw, &env);
    s_gw_assert_quiet (&t.gw);
    baton_worker_stats_t st = s_solo_close (&t);
    cr_assert_eq (st.received, 2);
    cr_assert_eq (st.loops, 2);
    cr_assert_eq (st.dropped, 2);
    cr_assert_eq (st.replied + st.forwarded, 0);
    cr_assert_eq (s_calls_of ('a'), 0);
}

Test (sdk, next_hop_that_is_its_own_inbox_is_never_sent_to, .timeout = 30)
{
    s_solo_t t;
    s_solo_open (&t);
    const char *names[] = {"a", "again"};
    const char *eps[] = {"inproc://a", "inproc://a"};
    baton_envelope_t *env = s_envelope ("self", "inproc://gw", 2, names, eps);
    s_gw_push (&t.gw, &env);
    s_gw_assert_quiet (&t.gw);
    baton_worker_stats_t st = s_solo_close (&t);
    cr_assert_eq (st.received, 1, "the worker sent to itself");
    cr_assert_eq (st.loops, 1);
    cr_assert_eq (st.forwarded, 0);
    cr_assert_eq (s_calls_of ('a'), 1);
}

Test (sdk, plaintext_worker_sends_only_to_this_host, .timeout = 30)
{
    s_solo_t t;
    s_solo_open (&t);
    const char *names[] = {"a", "far"};
    const char *eps[] = {"inproc://a", "tcp://192.0.2.1:5601"};
    baton_envelope_t *env = s_envelope ("far", "inproc://gw", 2, names, eps);
    s_gw_push (&t.gw, &env);
    baton_envelope_t *rep = s_gw_recv (&t.gw);
    s_assert_problem (rep, 502, "a", "plaintext next hop off this host: 'far'");
    cr_assert_eq (baton_envelope_index (rep), 0);
    baton_envelope_destroy (&rep);
    //  A reply-to on another host gets nothing at all.
    env = s_envelope ("far-gw", "tcp://192.0.2.1:5600", 1, s_abc, eps);
    s_gw_push (&t.gw, &env);
    s_gw_assert_quiet (&t.gw);
    baton_worker_stats_t st = s_solo_close (&t);
    cr_assert_eq (st.refused_endpoint, 2);
    cr_assert_eq (st.dropped, 1);
    cr_assert_eq (st.sockets, 1);
    cr_assert_eq (s_calls_of ('a'), 1);
}

Test (sdk, absent_successor_replies_503_naming_it_within_the_send_timeout, .timeout = 30)
{
    s_tmpdir ();
    const char *names[] = {"a", "ghost", "c"};
    const char *eps[] = {s_ipc ("a"), s_ipc ("nobody-binds-this"), s_ipc ("c")};
    const int send_timeout = 100;
    baton_worker_config_t c = s_config ("a", eps[0], NULL);
    c.send_timeout_ms = send_timeout;
    s_runner_t ra;
    s_start_cfg (&ra, &c, h_append, "a");
    s_gw_t gw;
    s_gw_open (&gw, NULL, s_ipc ("gw"), eps[0]);
    baton_envelope_t *env = s_envelope ("r", s_ipc ("gw"), 3, names, eps);
    uint64_t t0 = s_mono_ms ();
    s_gw_send (&gw, env);
    baton_envelope_t *rep = s_gw_recv (&gw);
    uint64_t elapsed = s_mono_ms () - t0;
    s_assert_problem (rep, 503, "ghost", "\"title\":\"Service Unavailable\"");
    s_assert_slice (baton_envelope_error_hop (rep), "ghost");
    cr_assert (elapsed < (uint64_t) send_timeout + 2000, "503 took %llu ms",
               (unsigned long long) elapsed);
    const char *rec[] = {"a"};
    s_assert_record (rep, rec, 1);
    cr_assert_eq (s_calls_of ('a'), 1);
    baton_envelope_destroy (&rep);
    baton_envelope_destroy (&env);
    baton_worker_stop (ra.worker);
    s_join (&ra);
    baton_worker_stats_t st = baton_worker_stats (ra.worker);
    cr_assert_eq (st.errors, 1);
    cr_assert_eq (st.replied, 1);
    cr_assert_eq (st.forwarded, 0);
    baton_worker_destroy (&ra.worker);
    s_gw_close (&gw);
    s_tmpdir_remove ();
}

//  --- the envelope as it travels ---------------------------------------------------------

static char *
s_memmem (char *hay, size_t len, const char *needle, size_t nlen)
{
    if (nlen == 0)
        return hay;
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp (hay + i, needle, nlen) == 0)
            return hay + i;
    return NULL;
}

//  Inserts one key/value pair (raw msgpack) right after the map header that
//  follows `key` (a fixstr + fixmap pair) in buf; bumps that map's count.
static size_t
s_inject (char *buf, size_t len, const char *key_mp, size_t key_len, const char *pair, size_t plen)
{
    char *at = s_memmem (buf, len, key_mp, key_len);
    cr_assert_not_null (at);
    char *map = at + key_len;
    cr_assert ((*map & 0xf0) == 0x80 && (*map & 0x0f) < 15);
    (*map)++;
    memmove (map + 1 + plen, map + 1, len - (size_t) (map + 1 - buf));
    memcpy (map + 1, pair, plen);
    return len + plen;
}

Test (sdk, unknown_envelope_keys_survive_a_hop, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    s_runner_t ra;
    s_start (&ra, zctx, "a", "inproc://a", h_append, "a");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_envelope ("r", "inproc://gw", 1, s_abc, eps);
    void *data;
    size_t len;
    cr_assert_eq (baton_envelope_encode (env, &data, &len), 0);
    char buf[4096];
    cr_assert (len + 64 < sizeof buf);
    memcpy (buf, data, len);
    free (data);
    //  A future top-level key, and one each inside request and message.
    static const char top[] = "\xa9zz_future\x92\x01\xa3two";
    static const char in_req[] = "\xa6x-req1\xc3";
    static const char in_msg[] = "\xa6x-msg1\xcd\x12\x34";
    len = s_inject (buf, len, "", 0, top, sizeof top - 1); //  the document's own map
    len = s_inject (buf, len, "\xa7request", 8, in_req, sizeof in_req - 1);
    len = s_inject (buf, len, "\xa7message", 8, in_msg, sizeof in_msg - 1);
    baton_envelope_t *check = baton_envelope_decode (buf, len, NULL, NULL);
    cr_assert_not_null (check);
    cr_assert_eq (baton_envelope_unknown_count (check), 3);
    baton_envelope_destroy (&check);

    s_gw_send_bytes (&gw, buf, len, 0);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    cr_assert (s_gw_recv_raw (&gw, &msg, S_WAIT_MS));
    const char *out = (const char *) zmq_msg_data (&msg);
    size_t out_len = zmq_msg_size (&msg);
    cr_assert_not_null (s_memmem ((char *) out, out_len, top, sizeof top - 1));
    cr_assert_not_null (s_memmem ((char *) out, out_len, in_req, sizeof in_req - 1));
    cr_assert_not_null (s_memmem ((char *) out, out_len, in_msg, sizeof in_msg - 1));
    baton_envelope_t *rep = baton_envelope_decode (out, out_len, NULL, NULL);
    cr_assert_not_null (rep);
    cr_assert_eq (baton_envelope_unknown_count (rep), 3);
    s_assert_slice (baton_envelope_body (rep), "x|a");
    baton_envelope_destroy (&rep);
    zmq_msg_close (&msg);
    baton_envelope_destroy (&env);
    s_stop (&ra);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

Test (sdk, garbage_on_the_inbox_is_dropped_and_the_worker_goes_on, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    s_runner_t ra;
    s_start (&ra, zctx, "a", "inproc://a", h_append, "a");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    s_gw_send_bytes (&gw, "hello", 5, 0);                //  not msgpack
    s_gw_send_bytes (&gw, "\x81\xa1v", 3, 0);            //  truncated
    s_gw_send_bytes (&gw, "\xdd\xff\xff\xff\xff", 5, 0); //  asks for 4 G elements
    s_gw_send_bytes (&gw, "\x90", 1, 0);                 //  msgpack, not an envelope
    s_gw_send_bytes (&gw, "", 0, 0);                     //  empty
    s_gw_send_bytes (&gw, "part1", 5, ZMQ_SNDMORE);      //  multipart
    s_gw_send_bytes (&gw, "part2", 5, 0);
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_envelope ("nobody", "", 1, s_abc, eps); //  no reply-to
    s_gw_send (&gw, env);
    baton_envelope_destroy (&env);

    env = s_envelope ("good", "inproc://gw", 1, s_abc, eps);
    s_gw_send (&gw, env);
    baton_envelope_t *rep = s_gw_recv (&gw);
    s_assert_slice (baton_envelope_id (rep), "good");
    s_assert_slice (baton_envelope_body (rep), "x|a");
    cr_assert_eq (baton_envelope_status (rep), 200);
    baton_envelope_destroy (&rep);
    baton_envelope_destroy (&env);

    baton_worker_stop (ra.worker);
    s_join (&ra);
    baton_worker_stats_t st = baton_worker_stats (ra.worker);
    cr_assert_eq (st.dropped, 7, "dropped %llu", (unsigned long long) st.dropped);
    cr_assert_eq (st.received, 8);
    cr_assert_eq (st.replied, 1);
    cr_assert_eq (s_calls_of ('a'), 1);
    baton_worker_destroy (&ra.worker);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

Test (sdk, message_over_the_size_limit_is_refused_and_the_worker_goes_on, .timeout = 30)
{
    s_tmpdir ();
    baton_worker_config_t c = s_config ("a", s_ipc ("a"), NULL);
    c.max_message_size = 2048;
    s_runner_t ra;
    s_start_cfg (&ra, &c, h_append, "a");
    s_gw_t gw;
    s_gw_open (&gw, NULL, s_ipc ("gw"), s_ipc ("a"));
    const char *eps[] = {s_ipc ("a")};
    baton_envelope_t *big = s_envelope ("big", s_ipc ("gw"), 1, s_abc, eps);
    static char body[4096];
    memset (body, 'z', sizeof body);
    cr_assert_eq (baton_envelope_set_body (big, body, sizeof body), 0);
    s_gw_send (&gw, big);
    baton_envelope_destroy (&big);
    //  ZeroMQ drops the connection that carried the oversized message (and
    //  whatever else was in flight on it): send small ones until one is answered.
    baton_envelope_t *small = s_envelope ("small", s_ipc ("gw"), 1, s_abc, eps);
    baton_envelope_t *rep = NULL;
    uint64_t until = s_mono_ms () + S_WAIT_MS;
    while (!rep && s_mono_ms () < until) {
        s_gw_send (&gw, small);
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (s_gw_recv_raw (&gw, &msg, 200))
            rep = baton_envelope_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), NULL, NULL);
        zmq_msg_close (&msg);
    }
    cr_assert_not_null (rep, "no reply to a small envelope after a big one");
    s_assert_slice (baton_envelope_id (rep), "small");
    baton_envelope_destroy (&rep);
    baton_envelope_destroy (&small);
    s_stop (&ra);
    s_gw_close (&gw);
    s_tmpdir_remove ();
}

Test (sdk, socket_cache_is_bounded, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    baton_worker_config_t c = s_config ("a", "inproc://a", zctx);
    c.socket_cache = 2;
    s_runner_t ra, rb[3];
    s_start_cfg (&ra, &c, h_append, "a");
    const char *bnames[] = {"b1", "b2", "b3"};
    const char *beps[] = {"inproc://b1", "inproc://b2", "inproc://b3"};
    for (int i = 0; i < 3; i++)
        s_start (&rb[i], zctx, bnames[i], beps[i], h_append, "b");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    //  a forwards to b1, b2, b3, then b1 again (evicted by then, reconnected).
    for (int i = 0; i < 4; i++) {
        const char *names[] = {"a", bnames[i % 3]};
        const char *eps[] = {"inproc://a", beps[i % 3]};
        baton_envelope_t *env = s_envelope ("r", "inproc://gw", 2, names, eps);
        s_gw_send (&gw, env);
        baton_envelope_destroy (&env);
        baton_envelope_t *rep = s_gw_recv (&gw);
        cr_assert_eq (baton_envelope_status (rep), 200, "round %d", i);
        s_assert_slice (baton_envelope_body (rep), "x|a|b");
        s_assert_record (rep, names, 2);
        baton_envelope_destroy (&rep);
    }
    baton_worker_stop (ra.worker);
    s_join (&ra); //  counters are final once run has returned
    baton_worker_stats_t st = baton_worker_stats (ra.worker);
    cr_assert_eq (st.sockets, 2, "a keeps %llu sockets", (unsigned long long) st.sockets);
    cr_assert_eq (st.forwarded, 4);
    baton_worker_destroy (&ra.worker);
    for (int i = 0; i < 3; i++)
        s_stop (&rb[i]);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

//  --- running and stopping ----------------------------------------------------------------

Test (sdk, sigterm_finishes_the_current_envelope_then_drains_the_inbox_and_run_returns_0,
      .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    baton_worker_config_t c = s_config ("a", "inproc://a", zctx);
    c.no_signals = false; //  run handles SIGTERM
    s_runner_t ra;
    s_start_cfg (&ra, &c, h_slow, "a");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_envelope ("first", "inproc://gw", 1, s_abc, eps);
    s_gw_send (&gw, env);
    uint64_t until = s_mono_ms () + S_WAIT_MS;
    while (s_calls_of ('a') == 0 && s_mono_ms () < until)
        s_sleep_ms (2);
    cr_assert_geq (s_calls_of ('a'), 1, "handler never started");
    //  The handler sleeps 300 ms: SIGTERM and a second envelope land
    //  meanwhile. The drain serves the second one too.
    cr_assert_eq (kill (getpid (), SIGTERM), 0);
    cr_assert_eq (baton_envelope_set_id (env, "second", 6), 0);
    s_gw_send (&gw, env);
    baton_envelope_destroy (&env);

    const char *ids[] = {"first", "second"};
    for (int i = 0; i < 2; i++) {
        baton_envelope_t *rep = s_gw_recv (&gw);
        s_assert_slice (baton_envelope_id (rep), ids[i]);
        s_assert_slice (baton_envelope_body (rep), "x|a");
        baton_envelope_destroy (&rep);
    }
    s_join (&ra); //  run returned 0 on its own, once the inbox was idle
    baton_worker_stats_t st = baton_worker_stats (ra.worker);
    cr_assert_eq (st.received, 2);
    cr_assert_eq (st.replied, 2);
    baton_worker_destroy (&ra.worker);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

Test (sdk, process_one_serves_a_user_event_loop, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    baton_worker_config_t c = s_config ("a", "inproc://a", zctx);
    baton_worker_t *w = baton_worker_new_config (&c);
    cr_assert_not_null (w);
    cr_assert_eq (baton_worker_process_one (w, 0), BATON_ESTATE, "no handler yet");
    baton_worker_set_handler (w, h_append, (void *) "a");
    cr_assert_not_null (baton_worker_socket (w));
    int fd = baton_worker_fd (w);
    cr_assert_geq (fd, 0);
    uint64_t t0 = s_mono_ms ();
    cr_assert_eq (baton_worker_process_one (w, 100), 0);
    cr_assert_geq (s_mono_ms () - t0, 90, "process_one returned before its timeout");

    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_envelope ("r", "inproc://gw", 1, s_abc, eps);
    s_gw_send (&gw, env);
    s_gw_send (&gw, env);
    baton_envelope_destroy (&env);
    //  The user's loop: poll the edge-triggered fd, then drain with process_one.
    int handled = 0;
    uint64_t until = s_mono_ms () + S_WAIT_MS;
    while (handled < 2 && s_mono_ms () < until) {
        struct pollfd pfd = {fd, POLLIN, 0};
        poll (&pfd, 1, 100);
        int rc;
        while ((rc = baton_worker_process_one (w, 0)) > 0)
            handled += rc;
        cr_assert_geq (rc, 0);
    }
    cr_assert_eq (handled, 2);
    for (int i = 0; i < 2; i++) {
        baton_envelope_t *rep = s_gw_recv (&gw);
        s_assert_slice (baton_envelope_body (rep), "x|a");
        baton_envelope_destroy (&rep);
    }
    baton_worker_destroy (&w);
    cr_assert_null (w);
    baton_worker_destroy (&w); //  idempotent
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

Test (sdk, stop_before_run_makes_run_return_after_an_idle_drain, .timeout = 30)
{
    baton_worker_t *w = baton_worker_new ("a", "inproc://a");
    cr_assert_not_null (w);
    cr_assert_eq (baton_worker_run (w), BATON_ESTATE, "no handler");
    baton_worker_set_handler (w, h_append, (void *) "a");
    baton_worker_stop (w);
    uint64_t t0 = s_mono_ms ();
    cr_assert_eq (baton_worker_run (w), 0);
    //  An empty inbox for 2 heartbeats of the default 250 ms ends the drain.
    uint64_t took = s_mono_ms () - t0;
    cr_assert (took >= 2 * BATON_HEARTBEAT_MS_DEFAULT - 20 && took < 1500, "run took %llu ms",
               (unsigned long long) took);
    //  Twice: the drain ends at once.
    baton_worker_stop (w);
    baton_worker_stop (w);
    t0 = s_mono_ms ();
    cr_assert_eq (baton_worker_run (w), 0);
    cr_assert_lt (s_mono_ms () - t0, 200);
    baton_worker_destroy (&w);
}

//  --- creation ------------------------------------------------------------------------------

Test (sdk, worker_takes_name_bind_and_gateway_from_the_environment, .timeout = 30)
{
    setenv ("BATON_NAME", "envfn", 1);
    setenv ("BATON_BIND", "tcp://127.0.0.1:*", 1);
    setenv ("BATON_GATEWAY", " tcp://10.0.0.1:5600 ,,gw2@tcp://10.0.0.2:5600", 1);
    setenv ("BATON_SECURITY", "insecure", 1); //  the gateways are on other hosts
    baton_worker_t *w = baton_worker_new (NULL, NULL);
    cr_assert_not_null (w);
    cr_assert_str_eq (baton_worker_name (w), "envfn");
    const char *ep = baton_worker_endpoint (w);
    cr_assert (strncmp (ep, "tcp://127.0.0.1:", 16) == 0 && strchr (ep, '*') == NULL, "endpoint %s",
               ep);
    cr_assert_eq (baton_worker_gateway_count (w), 2);
    cr_assert_str_eq (baton_worker_gateway (w, 0), "tcp://10.0.0.1:5600");
    cr_assert_str_eq (baton_worker_gateway (w, 1), "tcp://10.0.0.2:5600");
    cr_assert_null (baton_worker_gateway (w, 2));
    baton_worker_destroy (&w);

    //  Arguments win over the environment.
    w = baton_worker_new ("argfn", "inproc://argfn");
    cr_assert_not_null (w);
    cr_assert_str_eq (baton_worker_name (w), "argfn");
    cr_assert_str_eq (baton_worker_endpoint (w), "inproc://argfn");
    baton_worker_destroy (&w);
    unsetenv ("BATON_SECURITY");
}

//  Runs fn with stderr (fd 2) going to a temp file; returns what it wrote.
static const char *
s_capture_stderr (void (*fn) (void))
{
    static char buf[8192];
    capture_t c = capture_begin ();
    fn ();
    return capture_end (c, buf, sizeof buf);
}

static void
s_bad_workers (void)
{
    unsetenv ("BATON_NAME");
    unsetenv ("BATON_BIND");
    unsetenv ("BATON_LOG");
    cr_assert_null (baton_worker_new (NULL, NULL));
    cr_assert_null (baton_worker_new ("fn", NULL));
    cr_assert_null (baton_worker_new ("fn", "ipc:///nonexistent-baton-dir/fn.sock"));
    cr_assert_eq (baton_main (h_append, NULL), 1);
}

Test (sdk, worker_without_name_or_bind_fails_saying_what_is_missing, .timeout = 30)
{
    const char *err = s_capture_stderr (s_bad_workers);
    cr_assert (strstr (err, "BATON_NAME"), "stderr: %s", err);
    cr_assert (strstr (err, "BATON_BIND"), "stderr: %s", err);
    cr_assert (strstr (err, "cannot bind the inbox"), "stderr: %s", err);
}

//  --- the host: several workers on one thread, hops between them in memory -----------

typedef struct {
    baton_host_t *host;
    pthread_t thread;
    int rc;
    atomic_int done;
} s_host_runner_t;

static void *
s_host_run (void *arg)
{
    s_host_runner_t *r = (s_host_runner_t *) arg;
    r->rc = baton_host_run (r->host);
    atomic_store (&r->done, 1);
    return NULL;
}

static baton_worker_t *
s_host_add (baton_host_t *host, const char *name, const char *bind, baton_handler_fn *fn,
            const char *tag)
{
    baton_worker_config_t c = {0};
    c.name = name;
    c.bind = bind;
    baton_worker_t *w = baton_host_add (host, &c, fn, (void *) tag);
    cr_assert_not_null (w, "worker %s was not added", name);
    return w;
}

static void
s_host_start (s_host_runner_t *r)
{
    cr_assert_eq (pthread_create (&r->thread, NULL, s_host_run, r), 0);
}

//  Waits (bounded) for the host's run to return 0, destroys it.
static void
s_host_join (s_host_runner_t *r)
{
    uint64_t until = s_mono_ms () + S_WAIT_MS;
    while (!atomic_load (&r->done) && s_mono_ms () < until)
        s_sleep_ms (5);
    cr_assert (atomic_load (&r->done), "host did not stop in time");
    pthread_join (r->thread, NULL);
    cr_assert_eq (r->rc, 0);
    baton_host_destroy (&r->host);
    cr_assert_null (r->host);
}

//  Stops the host, waits for it and destroys it.
static void
s_host_stop (s_host_runner_t *r)
{
    baton_host_stop (r->host);
    s_host_join (r);
}

//  Starts a host that serves a (h_append), b (fb) and c (h_append) at eps;
//  w (if not NULL) gets the three workers.
static void
s_host_abc (s_host_runner_t *r, const char *const *eps, baton_handler_fn *fb, baton_worker_t **w)
{
    memset (r, 0, sizeof *r);
    r->host = baton_host_new ();
    cr_assert_not_null (r->host);
    baton_handler_fn *fns[] = {h_append, fb, h_append};
    for (int i = 0; i < 3; i++) {
        baton_worker_t *one = s_host_add (r->host, s_abc[i], eps[i], fns[i], s_abc[i]);
        if (w)
            w[i] = one;
    }
    s_host_start (r);
}

//  Sends one envelope for route names @ eps (budget: 0 keeps 8; oam flags)
//  from a gateway of its own (another context, as another process would be)
//  and returns the reply.
static baton_envelope_t *
s_host_roundtrip (size_t hops, const char *const *names, const char *const *eps, unsigned budget,
                  uint64_t oam)
{
    s_gw_t gw;
    s_gw_open (&gw, NULL, s_ipc ("gw"), eps[0]);
    baton_envelope_t *env = s_envelope ("h", gw.reply_to, hops, names, eps);
    if (budget)
        baton_envelope_set_budget (env, budget);
    baton_envelope_set_oam (env, oam);
    s_gw_send (&gw, env);
    baton_envelope_destroy (&env);
    baton_envelope_t *rep = s_gw_recv (&gw);
    zmq_msg_t extra;
    zmq_msg_init (&extra);
    cr_assert_not (s_gw_recv_raw (&gw, &extra, 200), "a second reply came");
    zmq_msg_close (&extra);
    s_gw_close (&gw);
    return rep;
}

Test (sdk, host_runs_a_chain_of_its_own_workers_in_memory, .timeout = 30)
{
    s_tmpdir ();
    const char *eps[] = {s_ipc ("a"), s_ipc ("b"), s_ipc ("c")};
    s_host_runner_t r;
    baton_worker_t *w[3];
    s_host_abc (&r, eps, h_append, w);
    for (int round = 0; round < 3; round++) {
        baton_envelope_t *rep = s_host_roundtrip (3, s_abc, eps, 0, 0);
        cr_assert_eq (baton_envelope_status (rep), 200);
        s_assert_slice (baton_envelope_body (rep), "x|a|b|c");
        baton_slice_t trail;
        cr_assert (baton_envelope_meta_get (rep, "trail", 5, &trail));
        s_assert_slice (trail, "abc");
        //  The same rules as on the wire: one record entry and one unit of
        //  budget per hop.
        s_assert_record (rep, s_abc, 3);
        cr_assert_eq (baton_envelope_index (rep), 3);
        cr_assert_eq (baton_envelope_budget (rep), 5);
        baton_envelope_destroy (&rep);
    }
    baton_worker_stats_t sa = baton_worker_stats (w[0]), sb = baton_worker_stats (w[1]),
                         sc = baton_worker_stats (w[2]);
    cr_assert_eq (sa.forwarded, 3);
    cr_assert_eq (sb.received, 3);
    cr_assert_eq (sc.replied, 3);
    //  a and b never opened a socket to their successor: the hops were in memory.
    cr_assert_eq (sa.sockets, 0);
    cr_assert_eq (sb.sockets, 0);
    cr_assert_eq (sc.sockets, 1);
    s_host_stop (&r);
    s_tmpdir_remove ();
}

Test (sdk, host_sends_over_the_wire_to_a_hop_it_does_not_serve, .timeout = 30)
{
    s_tmpdir ();
    const char *names[] = {"a", "f", "c"};
    const char *eps[] = {s_ipc ("a"), s_ipc ("f"), s_ipc ("c")};
    s_host_runner_t r = {0};
    r.host = baton_host_new ();
    cr_assert_not_null (r.host);
    baton_worker_t *wa = s_host_add (r.host, "a", eps[0], h_append, "a");
    baton_worker_t *wc = s_host_add (r.host, "c", eps[2], h_append, "c");
    s_runner_t rf; //  another process's worker, with its own context
    s_start (&rf, NULL, "f", eps[1], h_append, "f");
    s_host_start (&r);
    baton_envelope_t *rep = s_host_roundtrip (3, names, eps, 0, 0);
    cr_assert_eq (baton_envelope_status (rep), 200);
    s_assert_slice (baton_envelope_body (rep), "x|a|f|c");
    s_assert_record (rep, names, 3);
    baton_envelope_destroy (&rep);
    cr_assert_eq (baton_worker_stats (wa).sockets, 1);
    cr_assert_eq (baton_worker_stats (wc).received, 1);
    s_stop (&rf);
    s_host_stop (&r);
    s_tmpdir_remove ();
}

Test (sdk, host_hop_failing_in_memory_replies_502_naming_it, .timeout = 30)
{
    s_tmpdir ();
    const char *eps[] = {s_ipc ("a"), s_ipc ("b"), s_ipc ("c")};
    s_host_runner_t r;
    s_host_abc (&r, eps, h_fail, NULL);
    baton_envelope_t *rep = s_host_roundtrip (3, s_abc, eps, 0, 0);
    s_assert_problem (rep, 502, "b", NULL);
    s_assert_record (rep, s_abc, 2);
    cr_assert_eq (s_calls_of ('c'), 0);
    baton_envelope_destroy (&rep);
    s_host_stop (&r);
    s_tmpdir_remove ();
}

Test (sdk, host_budget_running_out_in_memory_replies_508, .timeout = 30)
{
    s_tmpdir ();
    const char *eps[] = {s_ipc ("a"), s_ipc ("b"), s_ipc ("c")};
    s_host_runner_t r;
    s_host_abc (&r, eps, h_append, NULL);
    baton_envelope_t *rep = s_host_roundtrip (3, s_abc, eps, 1, 0);
    s_assert_problem (rep, 508, "b", "\"title\":\"Loop Detected\"");
    cr_assert_eq (s_calls_of ('a'), 1);
    cr_assert_eq (s_calls_of ('b'), 0);
    cr_assert_eq (baton_envelope_budget (rep), 0);
    s_assert_record (rep, s_abc, 2);
    baton_envelope_destroy (&rep);
    s_host_stop (&r);
    s_tmpdir_remove ();
}

Test (sdk, host_refuses_what_it_cannot_run, .timeout = 30)
{
    s_tmpdir ();
    baton_host_t *host = baton_host_new ();
    cr_assert_not_null (host);
    cr_assert_eq (baton_host_run (host), BATON_ESTATE, "an empty host runs nothing");
    unsetenv ("BATON_NAME");
    unsetenv ("BATON_BIND");
    cr_assert_null (baton_host_add (host, NULL, h_append, NULL), "no name, no bind");
    baton_worker_config_t c = {0};
    c.name = "a";
    c.bind = s_ipc ("a");
    cr_assert_null (baton_host_add (host, &c, NULL, NULL), "no handler");
    baton_worker_t *w = baton_host_add (host, &c, h_append, "a");
    cr_assert_not_null (w);
    //  The host runs its workers; they cannot be run alone.
    cr_assert_eq (baton_worker_run (w), BATON_ESTATE);
    cr_assert_eq (baton_worker_process_one (w, 0), BATON_ESTATE);
    baton_host_destroy (&host);
    baton_host_destroy (&host); //  safe on NULL
    s_tmpdir_remove ();
}

//  --- probes (oam): answered by the SDK, never by the handler ----------------------------

//  A probe as a gateway sends it: route names @ eps, one unit of budget per
//  hop, deadline in 2 s.
static baton_envelope_t *
s_probe (const char *reply_to, size_t hops, const char *const *names, const char *const *eps)
{
    baton_envelope_t *env = s_envelope ("probe", reply_to, hops, names, eps);
    baton_envelope_set_budget (env, hops);
    baton_envelope_set_deadline_ms (env, s_now_ms () + 2000);
    baton_envelope_set_oam (env, BATON_OAM_PROBE);
    return env;
}

//  The message s_envelope wrote, untouched: status 200, no header, body "x".
static void
s_assert_untouched (const baton_envelope_t *env)
{
    cr_assert_not (baton_envelope_has_error (env));
    cr_assert_eq (baton_envelope_status (env), 200);
    cr_assert_eq (baton_envelope_header_count (env), 0);
    cr_assert_eq (baton_envelope_meta_count (env), 0);
    s_assert_slice (baton_envelope_body (env), "x");
    cr_assert_eq (baton_envelope_oam (env), BATON_OAM_PROBE);
}

Test (sdk, probe_is_answered_to_reply_to_with_its_record_entry_and_no_handler, .timeout = 30)
{
    s_solo_t t;
    s_solo_open (&t);
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_probe ("inproc://gw", 1, s_abc, eps);
    s_gw_push (&t.gw, &env);
    baton_envelope_t *rep = s_gw_recv (&t.gw);
    s_assert_slice (baton_envelope_id (rep), "probe");
    s_assert_untouched (rep);
    //  The normal next step of the last hop: record entry, index past the
    //  route, budget spent, to reply_to.
    s_assert_record (rep, s_abc, 1);
    cr_assert_eq (baton_envelope_index (rep), 1);
    cr_assert_eq (baton_envelope_budget (rep), 0);
    baton_envelope_destroy (&rep);
    //  A probe breaks the rules like any envelope: past its deadline, 504.
    env = s_probe ("inproc://gw", 1, s_abc, eps);
    baton_envelope_set_deadline_ms (env, s_now_ms () - 1);
    s_gw_push (&t.gw, &env);
    rep = s_gw_recv (&t.gw);
    s_assert_problem (rep, 504, "a", NULL);
    baton_envelope_destroy (&rep);
    s_gw_assert_quiet (&t.gw);
    baton_worker_stats_t st = s_solo_close (&t);
    cr_assert_eq (s_calls_of ('a'), 0, "the handler ran on a probe");
    cr_assert_eq (st.probes, 1);
    cr_assert_eq (st.received, 2);
    cr_assert_eq (st.replied, 2);
    cr_assert_eq (st.errors, 1);
}

Test (sdk, probe_with_a_hop_left_goes_to_that_hop_unchanged, .timeout = 30)
{
    s_solo_t t;
    s_solo_open (&t);
    void *next = zmq_socket (t.zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (next, "inproc://next"), 0);
    const char *names[] = {"a", "b"};
    const char *eps[] = {"inproc://a", "inproc://next"};
    baton_envelope_t *env = s_probe ("inproc://gw", 2, names, eps);
    s_gw_push (&t.gw, &env);
    baton_envelope_t *got = s_recv_env (next);
    s_assert_untouched (got);
    s_assert_record (got, names, 1);
    cr_assert_eq (baton_envelope_index (got), 1);
    cr_assert_eq (baton_envelope_budget (got), 1);
    baton_envelope_destroy (&got);
    s_gw_assert_quiet (&t.gw);
    zmq_close (next);
    baton_worker_stats_t st = s_solo_close (&t);
    cr_assert_eq (s_calls_of ('a'), 0, "the handler ran on a probe");
    cr_assert_eq (st.probes, 1);
    cr_assert_eq (st.forwarded, 1);
}

Test (sdk, host_takes_a_probe_through_its_hops_in_memory_without_any_handler, .timeout = 30)
{
    s_tmpdir ();
    const char *eps[] = {s_ipc ("a"), s_ipc ("b"), s_ipc ("c")};
    s_host_runner_t r;
    baton_worker_t *w[3];
    s_host_abc (&r, eps, h_append, w);
    baton_envelope_t *rep = s_host_roundtrip (3, s_abc, eps, 3, BATON_OAM_PROBE);
    s_assert_untouched (rep);
    s_assert_record (rep, s_abc, 3);
    cr_assert_eq (baton_envelope_index (rep), 3);
    cr_assert_eq (baton_envelope_budget (rep), 0);
    baton_envelope_destroy (&rep);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq (s_calls_of (s_abc[i][0]), 0, "%s's handler ran on a probe", s_abc[i]);
        cr_assert_eq (baton_worker_stats (w[i]).probes, 1);
    }
    cr_assert_eq (baton_worker_stats (w[0]).sockets, 0, "a sent over the wire");
    s_host_stop (&r);
    s_tmpdir_remove ();
}

//  --- draining: goodbye first, then every envelope that still comes ------------------------

static atomic_int s_gate_entered, s_gate_open;

//  The first call waits (bounded) until s_gate_open, so that envelopes
//  queue behind the one in hand; every call then does what h_append does.
static int
h_gate (baton_ctx_t *ctx, void *arg)
{
    if (atomic_fetch_add (&s_gate_entered, 1) == 0) {
        uint64_t until = s_mono_ms () + S_WAIT_MS;
        while (!atomic_load (&s_gate_open) && s_mono_ms () < until)
            s_sleep_ms (2);
    }
    return h_append (ctx, arg);
}

static void
s_gate_wait_entered (void)
{
    uint64_t until = s_mono_ms () + S_WAIT_MS;
    while (!atomic_load (&s_gate_entered) && s_mono_ms () < until)
        s_sleep_ms (2);
    cr_assert (atomic_load (&s_gate_entered), "the handler never started");
}

//  Receives one control message within timeout_ms (0: only one already
//  there). Returns its type, or -1 if none came.
static int
s_control_recv (void *control, int timeout_ms, baton_control_msg_t *m)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    int type = -1;
    if (s_recv_raw (control, &msg, timeout_ms)) {
        cr_assert_eq (baton__control_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), m), 0);
        type = (int) m->type;
    }
    zmq_msg_close (&msg);
    return type;
}

//  Reads control messages (heartbeats first, maybe) until a goodbye, each
//  within timeout_ms. Returns whether the goodbye came.
static bool
s_control_goodbye (void *control, int timeout_ms)
{
    baton_control_msg_t m;
    int type;
    while ((type = s_control_recv (control, timeout_ms, &m)) >= 0)
        if (type == BATON_CONTROL_GOODBYE)
            return true;
    return false;
}

Test (sdk, stop_says_goodbye_first_then_forwards_every_queued_and_late_envelope, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    void *control = zmq_socket (zctx, ZMQ_PULL), *next = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (control, "inproc://control"), 0);
    cr_assert_eq (zmq_bind (next, "inproc://next"), 0);
    baton_worker_config_t c = s_config ("a", "inproc://a", zctx);
    c.gateway = "inproc://control";
    c.heartbeat_ms = 500; //  the drain ends after 1 s without an envelope
    s_runner_t ra;
    s_start_cfg (&ra, &c, h_gate, "a");
    baton_control_msg_t m;
    cr_assert_eq (s_control_recv (control, S_WAIT_MS, &m), BATON_CONTROL_ANNOUNCE);
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    const char *names[] = {"a", "b"}, *eps[] = {"inproc://a", "inproc://next"};
    //  One envelope in hand, held by the gate; 50 wait in the inbox.
    char id[16];
    for (int i = 0; i <= 50; i++) {
        snprintf (id, sizeof id, "q%d", i);
        baton_envelope_t *env = s_envelope (id, "inproc://gw", 2, names, eps);
        s_gw_push (&gw, &env);
        if (i == 0)
            s_gate_wait_entered ();
    }
    baton_worker_stop (ra.worker); //  from another thread, as SIGTERM would
    atomic_store (&s_gate_open, 1);
    //  The one in hand is finished, then the goodbye goes out before any
    //  of the 50 is forwarded (inproc: what was sent is there to read).
    bool bye = false;
    for (int i = 0; i <= 50; i++) {
        baton_envelope_t *got = s_recv_env (next);
        snprintf (id, sizeof id, "q%d", i);
        s_assert_slice (baton_envelope_id (got), id);
        s_assert_slice (baton_envelope_body (got), "x|a");
        baton_envelope_destroy (&got);
        bye = bye || (i > 0 && s_control_goodbye (control, 0));
        cr_assert (bye || i == 0, "%s was forwarded before the goodbye", id);
    }
    //  An upstream hop may still send after the goodbye: within the idle
    //  time it is served.
    baton_envelope_t *env = s_envelope ("late", "inproc://gw", 2, names, eps);
    s_gw_push (&gw, &env);
    uint64_t t_late = s_mono_ms ();
    baton_envelope_t *got = s_recv_env (next);
    s_assert_slice (baton_envelope_id (got), "late");
    baton_envelope_destroy (&got);
    s_join (&ra); //  run returned 0 on its own
    uint64_t idle = s_mono_ms () - t_late;
    cr_assert (idle >= 2 * 500 - 50, "the drain ended %llu ms after the last envelope",
               (unsigned long long) idle);
    baton_worker_stats_t st = baton_worker_stats (ra.worker);
    cr_assert_eq (st.received, 52);
    cr_assert_eq (st.forwarded, 52);
    baton_worker_destroy (&ra.worker);
    //  Nothing after the goodbye: no heartbeat, and no second goodbye from destroy.
    cr_assert_eq (s_control_recv (control, 200, &m), -1, "control message %d after the goodbye",
                  (int) m.type);
    s_gw_assert_quiet (&gw);
    s_gw_close (&gw);
    zmq_close (control);
    zmq_close (next);
    zmq_ctx_term (zctx);
}

//  Sleeps 300 ms when the body is "slow", then as h_append.
static int
h_slow_body (baton_ctx_t *ctx, void *arg)
{
    if (baton_slice_eq_str (baton_ctx_body (ctx), "slow"))
        s_sleep_ms (300);
    return h_append (ctx, arg);
}

//  Waits (bounded) for child pid to end; returns its wait status, or -1.
static int
s_reap (pid_t pid, int timeout_ms)
{
    uint64_t until = s_mono_ms () + (uint64_t) timeout_ms;
    int status;
    do {
        if (waitpid (pid, &status, WNOHANG) == pid)
            return status;
        s_sleep_ms (5);
    } while (s_mono_ms () < until);
    return -1;
}

Test (sdk, sigterm_to_a_function_process_drains_its_inbox_then_it_exits_0, .timeout = 30)
{
    s_tmpdir ();
    const char *inbox = s_ipc ("a"), *ctl = s_ipc ("control"), *nx = s_ipc ("next");
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        setenv ("BATON_NAME", "a", 1);
        setenv ("BATON_BIND", inbox, 1);
        setenv ("BATON_GATEWAY", ctl, 1);
        setenv ("BATON_HEARTBEAT_MS", "100", 1);
        setenv ("BATON_LOG", "error", 1);
        _exit (baton_main (h_slow_body, (void *) "a"));
    }
    void *zctx = zmq_ctx_new ();
    void *control = zmq_socket (zctx, ZMQ_PULL), *next = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (control, ctl), 0);
    cr_assert_eq (zmq_bind (next, nx), 0);
    baton_control_msg_t m;
    cr_assert_eq (s_control_recv (control, S_WAIT_MS, &m), BATON_CONTROL_ANNOUNCE);
    cr_assert_eq (m.pid, (uint64_t) pid);
    s_gw_t gw;
    s_gw_open (&gw, zctx, s_ipc ("gw"), inbox);
    const char *names[] = {"a", "b"}, *eps[] = {inbox, nx};
    char id[16];
    for (int i = 0; i <= 50; i++) {
        snprintf (id, sizeof id, "q%d", i);
        baton_envelope_t *env = s_envelope (id, gw.reply_to, 2, names, eps);
        if (i == 0)
            baton_envelope_set_body (env, "slow", 4);
        s_gw_push (&gw, &env);
    }
    s_sleep_ms (100); //  q0 in the handler, the other 50 in the inbox
    cr_assert_eq (kill (pid, SIGTERM), 0);
    for (int i = 0; i <= 50; i++) {
        baton_envelope_t *got = s_recv_env (next);
        snprintf (id, sizeof id, "q%d", i);
        s_assert_slice (baton_envelope_id (got), id);
        baton_envelope_destroy (&got);
    }
    //  Under valgrind the child's exit runs the leak check, which can take
    //  seconds on a loaded machine: the test's own timeout is the bound.
    int status = s_reap (pid, 20000);
    if (status == -1)
        kill (pid, SIGKILL);
    cr_assert (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
               "the function did not exit 0 after SIGTERM (status %d)", status);
    cr_assert (s_control_goodbye (control, 1000), "no goodbye");
    s_gw_assert_quiet (&gw);
    s_gw_close (&gw);
    zmq_close (control);
    zmq_close (next);
    zmq_ctx_term (zctx);
    s_tmpdir_remove ();
}

Test (sdk, second_sigterm_ends_the_drain_at_once, .timeout = 30)
{
    void *zctx = zmq_ctx_new ();
    baton_worker_config_t c = s_config ("a", "inproc://a", zctx);
    c.no_signals = false; //  run handles SIGTERM
    c.heartbeat_ms = 5000;
    c.drain_ms = 10000; //  the first signal alone would drain for 10 s
    s_runner_t ra;
    s_start_cfg (&ra, &c, h_append, "a");
    s_gw_t gw;
    s_gw_open (&gw, zctx, "inproc://gw", "inproc://a");
    const char *eps[] = {"inproc://a"};
    baton_envelope_t *env = s_envelope ("r", "inproc://gw", 1, s_abc, eps);
    s_gw_push (&gw, &env);
    baton_envelope_t *rep = s_gw_recv (&gw); //  run holds the signal handlers now
    baton_envelope_destroy (&rep);
    cr_assert_eq (kill (getpid (), SIGTERM), 0);
    s_sleep_ms (300);
    cr_assert_not (atomic_load (&ra.done), "run returned on the first signal");
    uint64_t t0 = s_mono_ms ();
    cr_assert_eq (kill (getpid (), SIGTERM), 0);
    s_join (&ra);
    cr_assert_lt (s_mono_ms () - t0, 1000, "the second signal did not end the drain");
    baton_worker_destroy (&ra.worker);
    s_gw_close (&gw);
    zmq_ctx_term (zctx);
}

//  Stops w before its run, which then drains with nothing to take; returns
//  how long the run took, in ms.
static uint64_t
s_idle_drain_ms (baton_worker_t *w)
{
    cr_assert_not_null (w);
    baton_worker_set_handler (w, h_append, (void *) "a");
    baton_worker_stop (w);
    uint64_t t0 = s_mono_ms ();
    cr_assert_eq (baton_worker_run (w), 0);
    return s_mono_ms () - t0;
}

static void
s_bad_drain (void)
{
    unsetenv ("BATON_LOG");
    setenv ("BATON_DRAIN_MS", "0", 1);
    cr_assert_null (baton_worker_new ("a", "inproc://a"));
    unsetenv ("BATON_DRAIN_MS");
}

Test (sdk, drain_ends_at_its_limit_from_config_or_BATON_DRAIN_MS, .timeout = 30)
{
    baton_worker_config_t c = s_config ("a", "inproc://a", NULL);
    c.heartbeat_ms = 2000; //  idle time 4 s: the limit ends the drain first
    c.drain_ms = 300;
    baton_worker_t *w = baton_worker_new_config (&c);
    uint64_t took = s_idle_drain_ms (w);
    cr_assert (took >= 290 && took < 1500, "drain_ms 300: the run took %llu ms",
               (unsigned long long) took);
    baton_worker_destroy (&w);
    setenv ("BATON_DRAIN_MS", "200", 1);
    c.drain_ms = 0;
    w = baton_worker_new_config (&c);
    took = s_idle_drain_ms (w);
    cr_assert (took >= 190 && took < 1500, "BATON_DRAIN_MS=200: the run took %llu ms",
               (unsigned long long) took);
    baton_worker_destroy (&w);
    unsetenv ("BATON_DRAIN_MS");
    const char *err = s_capture_stderr (s_bad_drain);
    cr_assert (strstr (err, "drain limit out of range"), "stderr: %s", err);
}

Test (sdk, host_stop_drains_every_worker_after_their_goodbyes, .timeout = 30)
{
    s_tmpdir ();
    void *zctx = zmq_ctx_new ();
    void *control = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (control, s_ipc ("control")), 0);
    const char *eps[] = {s_ipc ("a"), s_ipc ("b")};
    s_host_runner_t r = {0};
    r.host = baton_host_new ();
    cr_assert_not_null (r.host);
    baton_worker_t *w[2];
    for (int i = 0; i < 2; i++) {
        baton_worker_config_t c = {0};
        c.name = s_abc[i];
        c.bind = eps[i];
        c.gateway = s_ipc ("control");
        //  The drain ends after 2 beats without an envelope: 600 ms for
        //  what the test pushed over ipc to arrive, on a slow machine too.
        c.heartbeat_ms = 300;
        w[i] = baton_host_add (r.host, &c, i == 0 ? h_gate : h_append, (void *) s_abc[i]);
        cr_assert_not_null (w[i]);
    }
    s_host_start (&r);
    baton_control_msg_t m;
    for (int i = 0; i < 2; i++)
        cr_assert_eq (s_control_recv (control, S_WAIT_MS, &m), BATON_CONTROL_ANNOUNCE);
    s_gw_t gw[2];
    s_gw_open (&gw[0], zctx, s_ipc ("gwa"), eps[0]);
    s_gw_open (&gw[1], zctx, s_ipc ("gwb"), eps[1]);
    //  a holds one envelope at the gate: 20 more for a and 20 for b wait.
    for (int i = 0; i <= 40; i++) {
        s_gw_t *to = &gw[i == 0 || i % 2 ? 0 : 1];
        const char *const *hop = to == &gw[0] ? &eps[0] : &eps[1];
        baton_envelope_t *env =
            s_envelope ("q", to->reply_to, 1, to == &gw[0] ? s_abc : s_abc + 1, hop);
        s_gw_push (to, &env);
        if (i == 0)
            s_gate_wait_entered ();
    }
    s_sleep_ms (100); //  over ipc: in the inboxes now
    baton_host_stop (r.host);
    atomic_store (&s_gate_open, 1);
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < (g == 0 ? 21 : 20); i++) {
            baton_envelope_t *rep = s_gw_recv (&gw[g]);
            s_assert_slice (baton_envelope_body (rep), g == 0 ? "x|a" : "x|b");
            baton_envelope_destroy (&rep);
        }
    //  Each worker said goodbye once, and beat no more after it.
    int bye[2] = {0, 0}, type;
    while ((type = s_control_recv (control, 1000, &m)) >= 0) {
        int i = m.function[0] == 'a' ? 0 : 1;
        cr_assert_eq (bye[i], 0, "%s sent %d after its goodbye", m.function, type);
        bye[i] += type == BATON_CONTROL_GOODBYE;
    }
    cr_assert (bye[0] == 1 && bye[1] == 1, "goodbyes: a %d, b %d", bye[0], bye[1]);
    cr_assert_eq (baton_worker_stats (w[0]).received, 21);
    cr_assert_eq (baton_worker_stats (w[1]).received, 20);
    s_host_join (&r); //  run returned 0 on its own
    for (int g = 0; g < 2; g++)
        s_gw_close (&gw[g]);
    zmq_close (control);
    zmq_ctx_term (zctx);
    s_tmpdir_remove ();
}
