/*  bench_hops.c - latency of one envelope in flight through three libbaton
 *  hops and back (gateway stand-in -> A -> B -> C -> gateway), beside a raw
 *  ZeroMQ PUSH/PULL ring of the same shape and message size, in the same run;
 *  then the throughput of one hop under load. Transport: ipc:// under a temp
 *  dir for both rings. Every node is a thread with its own ZeroMQ context, as
 *  separate processes would have. In the same run, the same three functions
 *  in one host (baton_host_t: B and C run in memory) and a host of A alone:
 *  their difference is the cost of two in-memory hops. Bounded by counts and
 *  by a time budget.
 *      bench_hops [round trips per ring (20000)] [body bytes (1024)]
 *                 [messages for throughput (200000)]  */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "baton/baton.h"

#define S_BLOCK        1000 //  round trips per block; the rings alternate blocks
#define S_WARMUP       500
#define S_TIME_BUDGET  60.0 //  seconds for the whole latency part
#define S_RECV_TIMEOUT 2000 //  ms: a lost message ends the run instead of hanging it

static double
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static char s_dir[64];

static void
s_ep (char *buf, size_t cap, const char *name)
{
    snprintf (buf, cap, "ipc://%s/%s", s_dir, name);
}

//  --- nodes ---------------------------------------------------------------------

//  Options every relay socket gets, the same the SDK gives its own.
static void
s_sockopts (void *sock)
{
    int one = 1, hwm = 1000, timeout = 100, linger = 0;
    zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
}

//  A raw relay: PULL from its inbox, PUSH the same message to the next node.
typedef struct {
    char in[128];
    char out[128];
    atomic_int *stop;
    pthread_t thread;
} s_relay_t;

static void *
s_relay_run (void *arg)
{
    s_relay_t *r = (s_relay_t *) arg;
    void *zctx = zmq_ctx_new ();
    void *pull = zmq_socket (zctx, ZMQ_PULL);
    void *push = zmq_socket (zctx, ZMQ_PUSH);
    int tick = 100, linger = 0;
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &tick, sizeof tick);
    zmq_setsockopt (pull, ZMQ_LINGER, &linger, sizeof linger);
    s_sockopts (push);
    if (zmq_bind (pull, r->in) || zmq_connect (push, r->out)) {
        fprintf (stderr, "relay: %s\n", zmq_strerror (errno));
        exit (1);
    }
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (!atomic_load (r->stop)) {
        if (zmq_msg_recv (&msg, pull, 0) < 0)
            continue;
        zmq_msg_send (&msg, push, 0); //  zero-copy: the least a relay can do
    }
    zmq_msg_close (&msg);
    zmq_close (pull);
    zmq_close (push);
    zmq_ctx_term (zctx);
    return NULL;
}

static int
h_next (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    return baton_ctx_next (ctx);
}

typedef struct {
    baton_worker_t *worker;
    pthread_t thread;
} s_worker_t;

static void *
s_worker_run (void *arg)
{
    baton_worker_run (((s_worker_t *) arg)->worker);
    return NULL;
}

static void
s_worker_start (s_worker_t *w, const char *name, const char *bind)
{
    baton_worker_config_t c = {0};
    c.name = name;
    c.bind = bind;
    c.no_signals = true;
    w->worker = baton_worker_new_config (&c);
    if (!w->worker)
        exit (1);
    baton_worker_set_handler (w->worker, h_next, NULL);
    pthread_create (&w->thread, NULL, s_worker_run, w);
}

static void
s_worker_stop (s_worker_t *w)
{
    baton_worker_stop (w->worker);
    pthread_join (w->thread, NULL);
    baton_worker_destroy (&w->worker);
}

//  A host running its functions on a thread of its own.
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

static void
s_host_start (s_host_t *h, const char *const *names, char (*eps)[128], size_t n)
{
    h->host = baton_host_new ();
    for (size_t i = 0; h->host && i < n; i++) {
        baton_worker_config_t c = {0};
        c.name = names[i];
        c.bind = eps[i];
        if (!baton_host_add (h->host, &c, h_next, NULL))
            exit (1);
    }
    if (!h->host)
        exit (1);
    pthread_create (&h->thread, NULL, s_host_run, h);
}

static void
s_host_stop (s_host_t *h)
{
    baton_host_stop (h->host);
    pthread_join (h->thread, NULL);
    baton_host_destroy (&h->host);
}

//  The gateway stand-in of one ring: PUSH to the first node, PULL replies.
typedef struct {
    void *zctx;
    void *push;
    void *pull;
} s_gw_t;

static void
s_gw_open (s_gw_t *gw, const char *first, const char *reply_to)
{
    gw->zctx = zmq_ctx_new ();
    gw->push = zmq_socket (gw->zctx, ZMQ_PUSH);
    gw->pull = zmq_socket (gw->zctx, ZMQ_PULL);
    int timeout = S_RECV_TIMEOUT, linger = 0;
    zmq_setsockopt (gw->pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (gw->push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (gw->pull, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind (gw->pull, reply_to) || zmq_connect (gw->push, first)) {
        fprintf (stderr, "gateway: %s\n", zmq_strerror (errno));
        exit (1);
    }
}

static void
s_gw_close (s_gw_t *gw)
{
    zmq_close (gw->push);
    zmq_close (gw->pull);
    zmq_ctx_term (gw->zctx);
}

//  n round trips of data through the ring; appends each one's time in us
//  to out. Returns how many completed.
static size_t
s_round_trips (s_gw_t *gw, const void *data, size_t len, size_t n, double *out)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    size_t done = 0;
    for (; done < n; done++) {
        double t0 = s_now_us ();
        if (zmq_send (gw->push, data, len, 0) != (int) len)
            break;
        if (zmq_msg_recv (&msg, gw->pull, 0) < 0)
            break;
        if (out)
            out[done] = s_now_us () - t0;
    }
    zmq_msg_close (&msg);
    return done;
}

//  Waits until a message makes it around the ring (connections are set up
//  in the background), then drains anything that came back late.
static bool
s_settle (s_gw_t *gw, const void *data, size_t len)
{
    zmq_pollitem_t item = {gw->pull, 0, ZMQ_POLLIN, 0};
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    bool ok = false;
    for (int i = 0; i < 40 && !ok; i++) {
        zmq_send (gw->push, data, len, 0);
        ok = zmq_poll (&item, 1, 250) == 1 && zmq_msg_recv (&msg, gw->pull, 0) >= 0;
    }
    while (zmq_poll (&item, 1, 300) == 1)
        zmq_msg_recv (&msg, gw->pull, 0);
    zmq_msg_close (&msg);
    return ok;
}

//  --- the envelope ---------------------------------------------------------------------

static baton_envelope_t *
s_envelope (const char *reply_to, const char *const *names, const char *const *eps, size_t hops,
            size_t body_len)
{
    baton_envelope_t *env = baton_envelope_new ();
    baton_envelope_set_id (env, "gw1-00000000000042", 18);
    baton_envelope_set_reply_to (env, reply_to, strlen (reply_to));
    for (size_t i = 0; i < hops; i++)
        baton_envelope_route_append (env, names[i], strlen (names[i]), eps[i], strlen (eps[i]));
    baton_envelope_set_budget (env, hops); //  as the gateway writes it
    baton_envelope_set_traceparent (env, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                    55);
    baton_envelope_set_request (env, "POST", 4, "/api/orders?expand=items", 24);
    baton_envelope_request_add_header (env, "Host", 4, "shop.example", 12);
    baton_envelope_request_add_header (env, "User-Agent", 10, "curl/7.88.1", 11);
    baton_envelope_request_add_header (env, "Content-Type", 12, "application/json", 16);
    baton_envelope_request_add_header (env, "Authorization", 13, "Bearer abcdef0123456789", 23);
    char *body = malloc (body_len ? body_len : 1);
    memset (body, 'b', body_len);
    baton_envelope_set_body (env, body, body_len);
    free (body);
    return env;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
s_pct (double *v, size_t n, double p)
{
    size_t i = (size_t) (p * (double) (n - 1) + 0.5);
    return v[i];
}

//  --- throughput ------------------------------------------------------------------------

typedef struct {
    const char *to;
    const void *data;
    size_t len;
    size_t n;
    pthread_t thread;
} s_sender_t;

static void *
s_sender_run (void *arg)
{
    s_sender_t *s = (s_sender_t *) arg;
    void *zctx = zmq_ctx_new ();
    void *push = zmq_socket (zctx, ZMQ_PUSH);
    int linger = 10000, timeout = S_RECV_TIMEOUT; //  linger: what is queued still goes out
    zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (push, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_connect (push, s->to);
    for (size_t i = 0; i < s->n; i++)
        if (zmq_send (push, s->data, s->len, 0) < 0)
            break;
    zmq_close (push);
    zmq_ctx_term (zctx);
    return NULL;
}

//  Pushes n copies of data into the node at `to` from another thread and
//  counts what comes back at reply_to. Returns messages per second.
static double
s_throughput (const char *to, const char *reply_to, const void *data, size_t len, size_t n,
              size_t *got)
{
    void *zctx = zmq_ctx_new ();
    void *pull = zmq_socket (zctx, ZMQ_PULL);
    int timeout = S_RECV_TIMEOUT, linger = 0;
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (pull, ZMQ_LINGER, &linger, sizeof linger);
    zmq_bind (pull, reply_to);
    //  Untimed: one message around first, so every connection is up.
    s_gw_t gw = {zctx, zmq_socket (zctx, ZMQ_PUSH), pull};
    zmq_setsockopt (gw.push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect (gw.push, to);
    bool settled = s_settle (&gw, data, len);
    zmq_close (gw.push);
    if (!settled) {
        fprintf (stderr, "bench_hops: %s never answered\n", to);
        exit (1);
    }
    s_sender_t s = {to, data, len, n, 0};
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    double t0 = s_now_us (), t_last = t0;
    pthread_create (&s.thread, NULL, s_sender_run, &s);
    size_t i = 0;
    for (; i < n; i++) {
        if (zmq_msg_recv (&msg, pull, 0) < 0)
            break;
        t_last = s_now_us ();
    }
    pthread_join (s.thread, NULL);
    zmq_msg_close (&msg);
    zmq_close (pull);
    zmq_ctx_term (zctx);
    *got = i;
    return t_last > t0 ? (double) i / ((t_last - t0) / 1e6) : 0;
}

int
main (int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul (argv[1], NULL, 10) : 20000;
    size_t body_len = argc > 2 ? strtoul (argv[2], NULL, 10) : 1024;
    size_t n_load = argc > 3 ? strtoul (argv[3], NULL, 10) : 200000;
    if (n < S_BLOCK)
        n = S_BLOCK;
    strcpy (s_dir, "/tmp/baton-bench-XXXXXX");
    if (!mkdtemp (s_dir))
        return 1;

    //  The rings: raw relays, SDK workers, a host of 3, a host of 1. Each
    //  has its endpoints (nodes, then its gateway's reply-to).
    enum { R_RAW, R_SDK, R_HOST3, R_HOST1, R_COUNT };
    const char *ring_name[R_COUNT] = {"raw", "sdk", "host", "one"};
    const size_t ring_hops[R_COUNT] = {3, 3, 3, 1};
    char eps[R_COUNT][4][128];
    const char *names[] = {"A", "B", "C"};
    for (int r = 0; r < R_COUNT; r++) {
        for (size_t i = 0; i < ring_hops[r]; i++) {
            char name[32];
            snprintf (name, sizeof name, "%s%zu", ring_name[r], i);
            s_ep (eps[r][i], sizeof eps[r][i], name);
        }
        char name[16];
        snprintf (name, sizeof name, "%s-gw", ring_name[r]);
        s_ep (eps[r][3], sizeof eps[r][3], name);
    }
    char (*raw_eps)[128] = eps[R_RAW], (*sdk_eps)[128] = eps[R_SDK];

    //  Each ring's envelope (the raw ring carries the SDK ring's bytes).
    void *datas[R_COUNT];
    size_t lens[R_COUNT];
    for (int r = R_SDK; r < R_COUNT; r++) {
        const char *route[] = {eps[r][0], eps[r][1], eps[r][2]};
        baton_envelope_t *e = s_envelope (eps[r][3], names, route, ring_hops[r], body_len);
        baton_envelope_encode (e, &datas[r], &lens[r]);
        baton_envelope_destroy (&e);
    }
    datas[R_RAW] = datas[R_SDK];
    lens[R_RAW] = lens[R_SDK];
    void *data = datas[R_SDK];
    size_t len = lens[R_SDK];
    baton_envelope_t *env;

    atomic_int stop = 0;
    s_relay_t relays[3];
    for (int i = 0; i < 3; i++) {
        strcpy (relays[i].in, raw_eps[i]);
        strcpy (relays[i].out, raw_eps[i + 1]);
        relays[i].stop = &stop;
        pthread_create (&relays[i].thread, NULL, s_relay_run, &relays[i]);
    }
    s_worker_t workers[3];
    for (int i = 0; i < 3; i++)
        s_worker_start (&workers[i], names[i], sdk_eps[i]);
    s_host_t host3, host1;
    s_host_start (&host3, names, eps[R_HOST3], 3);
    s_host_start (&host1, names, eps[R_HOST1], 1);
    s_gw_t gws[R_COUNT];
    for (int r = 0; r < R_COUNT; r++)
        s_gw_open (&gws[r], eps[r][0], eps[r][3]);

    printf ("bench_hops: transport ipc:// (%s), envelope %zu bytes (body %zu), "
            "%zu round trips per ring in alternating blocks of %d\n",
            s_dir, len, body_len, n, S_BLOCK);
    for (int r = 0; r < R_COUNT; r++) {
        if (!s_settle (&gws[r], datas[r], lens[r])) {
            fprintf (stderr, "bench_hops: the %s ring never carried a message\n", ring_name[r]);
            return 1;
        }
        if (s_round_trips (&gws[r], datas[r], lens[r], S_WARMUP, NULL) != S_WARMUP) {
            fprintf (stderr, "bench_hops: warm-up lost a message\n");
            return 1;
        }
    }
    double *samples[R_COUNT];
    size_t counts[R_COUNT] = {0};
    for (int r = 0; r < R_COUNT; r++)
        samples[r] = malloc (n * sizeof (double));
    double start = s_now_us ();
    bool more = true;
    while (more && s_now_us () - start < S_TIME_BUDGET * 1e6) {
        more = false;
        for (int r = 0; r < R_COUNT; r++) {
            size_t k = n - counts[r] < S_BLOCK ? n - counts[r] : S_BLOCK;
            size_t got = s_round_trips (&gws[r], datas[r], lens[r], k, samples[r] + counts[r]);
            counts[r] += got;
            more = more || (got > 0 && counts[r] < n);
        }
    }
    //  Check that the Baton rings did the real work: every hop recorded.
    for (int r = R_SDK; r < R_COUNT; r++) {
        zmq_msg_t check;
        zmq_msg_init (&check);
        zmq_send (gws[r].push, datas[r], lens[r], 0);
        baton_envelope_t *rep = NULL;
        if (zmq_msg_recv (&check, gws[r].pull, 0) >= 0)
            rep = baton_envelope_decode (zmq_msg_data (&check), zmq_msg_size (&check), NULL, NULL);
        zmq_msg_close (&check);
        if (!rep || baton_envelope_record_count (rep) != ring_hops[r] ||
            !baton_envelope_route_done (rep) || baton_envelope_status (rep) != 200) {
            fprintf (stderr, "bench_hops: the %s ring did not return a %zu-hop response\n",
                     ring_name[r], ring_hops[r]);
            return 1;
        }
        baton_envelope_destroy (&rep);
    }
    double p50[R_COUNT], p99[R_COUNT];
    for (int r = 0; r < R_COUNT; r++) {
        if (counts[r] < S_BLOCK) {
            fprintf (stderr, "bench_hops: too few round trips (%s %zu)\n", ring_name[r], counts[r]);
            return 1;
        }
        qsort (samples[r], counts[r], sizeof (double), s_cmp);
        p50[r] = s_pct (samples[r], counts[r], 0.5);
        p99[r] = s_pct (samples[r], counts[r], 0.99);
    }
    //  A round trip is 4 transfers (gw->A->B->C->gw); per hop = round trip / 4.
    printf ("%-28s %10s %10s %14s %14s\n", "ring (3 nodes, 4 transfers)", "rtt p50", "rtt p99",
            "per-hop p50", "per-hop p99");
    printf ("%-28s %8.1fus %8.1fus %12.1fus %12.1fus  (n=%zu)\n", "raw zmq PUSH/PULL", p50[R_RAW],
            p99[R_RAW], p50[R_RAW] / 4, p99[R_RAW] / 4, counts[R_RAW]);
    printf ("%-28s %8.1fus %8.1fus %12.1fus %12.1fus  (n=%zu)\n", "libbaton SDK", p50[R_SDK],
            p99[R_SDK], p50[R_SDK] / 4, p99[R_SDK] / 4, counts[R_SDK]);
    printf ("ratio SDK/raw per-hop p50: %.3f (goal <= 1.15), p99: %.3f\n", p50[R_SDK] / p50[R_RAW],
            p99[R_SDK] / p99[R_RAW]);
    printf ("%-28s %8.1fus %8.1fus  (n=%zu)\n", "host: A, B, C on one thread", p50[R_HOST3],
            p99[R_HOST3], counts[R_HOST3]);
    printf ("%-28s %8.1fus %8.1fus  (n=%zu)\n", "host: A alone", p50[R_HOST1], p99[R_HOST1],
            counts[R_HOST1]);
    printf ("in-memory hop (host of 3 - host of 1, / 2), p50: %.2fus\n",
            (p50[R_HOST3] - p50[R_HOST1]) / 2);
    for (int r = 0; r < R_COUNT; r++) {
        free (samples[r]);
        s_gw_close (&gws[r]);
    }
    s_host_stop (&host3);
    s_host_stop (&host1);
    for (int r = R_HOST3; r < R_COUNT; r++)
        free (datas[r]);
    for (int i = 0; i < 3; i++)
        s_worker_stop (&workers[i]);
    atomic_store (&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join (relays[i].thread, NULL);
    free (data);

    //  --- one hop under load -----------------------------------------------------
    char t_in[128], t_gw[128], r_in[128], r_gw[128];
    s_ep (t_in, sizeof t_in, "load-sdk");
    s_ep (t_gw, sizeof t_gw, "load-sdk-gw");
    s_ep (r_in, sizeof r_in, "load-raw");
    s_ep (r_gw, sizeof r_gw, "load-raw-gw");
    const char *one[] = {t_in};
    env = s_envelope (t_gw, names, one, 1, body_len);
    baton_envelope_encode (env, &data, &len);
    baton_envelope_destroy (&env);
    s_worker_t w;
    s_worker_start (&w, "T", t_in);
    size_t got_sdk = 0, got_raw = 0;
    double sdk_rate = s_throughput (t_in, t_gw, data, len, n_load, &got_sdk);
    baton_worker_stats_t st = baton_worker_stats (w.worker);
    s_worker_stop (&w);
    atomic_store (&stop, 0);
    s_relay_t r;
    strcpy (r.in, r_in);
    strcpy (r.out, r_gw);
    r.stop = &stop;
    pthread_create (&r.thread, NULL, s_relay_run, &r);
    double raw_rate = s_throughput (r_in, r_gw, data, len, n_load, &got_raw);
    atomic_store (&stop, 1);
    pthread_join (r.thread, NULL);
    free (data);
    printf (
        "one hop under load (%zu messages of %zu bytes, sender and receiver in other threads):\n",
        n_load, len);
    printf ("  libbaton SDK: %.0f msg/s (%zu answered, %llu undeliverable)\n", sdk_rate, got_sdk,
            (unsigned long long) st.undeliverable);
    printf ("  raw relay:    %.0f msg/s (%zu relayed)\n", raw_rate, got_raw);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system (cmd) == 0 ? 0 : 1;
}
