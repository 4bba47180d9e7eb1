/*  test_announce.c - a worker announces itself to every gateway control
 *  endpoint, heartbeats while it runs and says goodbye when it drains or is
 *  destroyed. The test binds the control PULL sockets itself and decodes
 *  what arrives.  */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "baton/baton.h"
#include "control.h"

static int
s_handler (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    return baton_ctx_next (ctx);
}

static uint64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

//  Receives one control message within wait_ms; returns 0 on success.
static int
s_recv (void *pull, int wait_ms, baton_control_msg_t *m)
{
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &wait_ms, sizeof wait_ms);
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    int n = zmq_recv (pull, buf, sizeof buf, 0);
    if (n < 0)
        return -1;
    return baton__control_decode (buf, (size_t) n, m);
}

static void *
s_run (void *w)
{
    baton_worker_run ((baton_worker_t *) w);
    return NULL;
}

Test (announce, worker_announces_heartbeats_and_says_goodbye_to_each_gateway)
{
    void *zctx = zmq_ctx_new ();
    void *g1 = zmq_socket (zctx, ZMQ_PULL), *g2 = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (g1, "inproc://gw1-control"), 0);
    cr_assert_eq (zmq_bind (g2, "inproc://gw2-control"), 0);
    baton_worker_config_t c;
    memset (&c, 0, sizeof c);
    c.name = "enrich";
    c.bind = "inproc://enrich-inbox";
    c.gateway = "inproc://gw1-control,inproc://gw2-control";
    c.zmq_context = zctx;
    c.heartbeat_ms = 50;
    c.version = "1.2.3";
    c.no_signals = true;
    baton_worker_t *w = baton_worker_new_config (&c);
    cr_assert_not_null (w);
    baton_worker_set_handler (w, s_handler, NULL);
    pthread_t t;
    pthread_create (&t, NULL, s_run, w);

    baton_control_msg_t m1, m2;
    cr_assert_eq (s_recv (g1, 2000, &m1), 0);
    cr_assert_eq (s_recv (g2, 2000, &m2), 0);
    cr_assert_eq (m1.type, BATON_CONTROL_ANNOUNCE);
    cr_assert_eq (m2.type, BATON_CONTROL_ANNOUNCE);
    cr_assert_str_eq (m1.function, "enrich");
    cr_assert_str_eq (m1.endpoint, "inproc://enrich-inbox");
    cr_assert_str_eq (m1.version, "1.2.3");
    cr_assert_eq (m1.pid, (uint64_t) getpid ());
    cr_assert_eq (m1.interval_ms, 50);
    cr_assert_eq (strlen (m1.instance), 16);
    cr_assert_str_eq (m1.instance, m2.instance, "one instance id for every gateway");

    //  Heartbeats follow at the interval (bounds are generous: a shared machine).
    uint64_t t0 = s_mono_ms ();
    int beats = 0;
    while (beats < 4) {
        cr_assert_eq (s_recv (g1, 2000, &m1), 0, "heartbeat %d missing", beats);
        cr_assert_eq (m1.type, BATON_CONTROL_HEARTBEAT);
        beats++;
    }
    uint64_t took = s_mono_ms () - t0;
    cr_assert (took >= 3 * 50 - 20, "4 heartbeats of a 50 ms interval came in %llu ms",
               (unsigned long long) took);

    //  The stop's drain says goodbye (heartbeats may still be queued before
    //  it); destroy says nothing more.
    baton_worker_stop (w);
    pthread_join (t, NULL);
    bool bye = false;
    for (int i = 0; i < 100 && !bye; i++) {
        if (s_recv (g1, 2000, &m1) != 0)
            break;
        bye = m1.type == BATON_CONTROL_GOODBYE;
    }
    cr_assert (bye, "no goodbye");
    cr_assert_str_eq (m1.instance, m2.instance);
    baton_worker_destroy (&w);
    cr_assert_neq (s_recv (g1, 200, &m1), 0, "a control message after the goodbye");
    zmq_close (g1);
    zmq_close (g2);
    zmq_ctx_term (zctx);
}

//  Makes worker f at bind in zctx with inproc://gw-control (g is bound
//  there) as its gateway, and has it announce itself: *m is the announce.
static baton_worker_t *
s_announced (void *zctx, void *g, const char *bind, baton_control_msg_t *m)
{
    baton_worker_config_t c;
    memset (&c, 0, sizeof c);
    c.name = "f";
    c.bind = bind;
    c.insecure = true; //  plaintext on every interface must be asked for
    c.gateway = "inproc://gw-control";
    c.zmq_context = zctx;
    c.no_signals = true;
    baton_worker_t *w = baton_worker_new_config (&c);
    cr_assert_not_null (w);
    baton_worker_set_handler (w, s_handler, NULL);
    baton_worker_process_one (w, 0); //  the first call announces
    cr_assert_eq (s_recv (g, 2000, m), 0);
    cr_assert_eq (m->type, BATON_CONTROL_ANNOUNCE);
    return w;
}

Test (announce, wildcard_bind_is_announced_as_loopback)
{
    void *zctx = zmq_ctx_new ();
    void *g = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (g, "inproc://gw-control"), 0);
    baton_control_msg_t m;
    baton_worker_t *w = s_announced (zctx, g, "tcp://0.0.0.0:*", &m);
    cr_assert (strncmp (m.endpoint, "tcp://127.0.0.1:", 16) == 0, "announced %s", m.endpoint);
    baton_worker_destroy (&w);
    zmq_close (g);
    zmq_ctx_term (zctx);
}

Test (announce, default_heartbeat_is_250_ms_and_the_environment_overrides_it)
{
    void *zctx = zmq_ctx_new ();
    void *g = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (g, "inproc://gw-control"), 0);
    const char *env[] = {NULL, "40"};
    const uint64_t want[] = {BATON_HEARTBEAT_MS_DEFAULT, 40};
    for (int i = 0; i < 2; i++) {
        if (env[i])
            setenv ("BATON_HEARTBEAT_MS", env[i], 1);
        else
            unsetenv ("BATON_HEARTBEAT_MS");
        baton_control_msg_t m;
        baton_worker_t *w = s_announced (zctx, g, i ? "inproc://f1" : "inproc://f0", &m);
        cr_assert_eq (m.interval_ms, want[i]);
        baton_worker_destroy (&w);
        cr_assert_eq (s_recv (g, 2000, &m), 0);
        cr_assert_eq (m.type, BATON_CONTROL_GOODBYE);
    }
    cr_assert_eq (BATON_HEARTBEAT_MS_DEFAULT, 250);
    unsetenv ("BATON_HEARTBEAT_MS");
    zmq_close (g);
    zmq_ctx_term (zctx);
}

Test (announce, no_gateway_means_no_control_traffic)
{
    baton_worker_config_t c;
    memset (&c, 0, sizeof c);
    c.name = "f";
    c.bind = "inproc://lonely";
    c.gateway = "";
    c.no_signals = true;
    baton_worker_t *w = baton_worker_new_config (&c);
    cr_assert_not_null (w);
    cr_assert_eq (baton_worker_gateway_count (w), 0);
    baton_worker_destroy (&w);
}

static void *
s_host_run (void *host)
{
    baton_host_run ((baton_host_t *) host);
    return NULL;
}

Test (announce, every_function_of_a_host_announces_heartbeats_and_says_goodbye)
{
    char dir[] = "/tmp/baton-announce-XXXXXX";
    cr_assert_not_null (mkdtemp (dir));
    char control[96], inbox[2][96];
    snprintf (control, sizeof control, "ipc://%s/control", dir);
    void *zctx = zmq_ctx_new ();
    void *g = zmq_socket (zctx, ZMQ_PULL);
    cr_assert_eq (zmq_bind (g, control), 0);
    baton_host_t *host = baton_host_new ();
    cr_assert_not_null (host);
    const char *names[] = {"auth", "render"};
    for (int i = 0; i < 2; i++) {
        snprintf (inbox[i], sizeof inbox[i], "ipc://%s/%s", dir, names[i]);
        baton_worker_config_t c;
        memset (&c, 0, sizeof c);
        c.name = names[i];
        c.bind = inbox[i];
        c.gateway = control;
        c.heartbeat_ms = 50;
        cr_assert_not_null (baton_host_add (host, &c, s_handler, NULL));
    }
    pthread_t t;
    pthread_create (&t, NULL, s_host_run, host);

    //  Each function announces (its own inbox), then heartbeats at its interval.
    int announced[2] = {0, 0}, beats[2] = {0, 0};
    baton_control_msg_t m;
    while (beats[0] < 3 || beats[1] < 3) {
        cr_assert_eq (s_recv (g, 2000, &m), 0, "control traffic stopped: beats %d and %d", beats[0],
                      beats[1]);
        int i = strcmp (m.function, "auth") == 0 ? 0 : 1;
        cr_assert_str_eq (m.function, names[i]);
        cr_assert_str_eq (m.endpoint, inbox[i]);
        if (m.type == BATON_CONTROL_ANNOUNCE)
            announced[i]++;
        else {
            cr_assert_eq (m.type, BATON_CONTROL_HEARTBEAT);
            cr_assert_eq (announced[i], 1, "%s heartbeat before its announce", names[i]);
            beats[i]++;
        }
    }
    baton_host_stop (host);
    pthread_join (t, NULL);
    baton_host_destroy (&host);
    //  The host's drain said the goodbyes; destroy said none more.
    int bye[2] = {0, 0};
    for (int n = 0; n < 100 && (!bye[0] || !bye[1]); n++) {
        if (s_recv (g, 2000, &m) != 0)
            break;
        if (m.type == BATON_CONTROL_GOODBYE)
            bye[strcmp (m.function, "auth") == 0 ? 0 : 1]++;
    }
    cr_assert (bye[0] == 1 && bye[1] == 1, "goodbyes: auth %d, render %d", bye[0], bye[1]);
    zmq_close (g);
    zmq_ctx_term (zctx);
    char cmd[64];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq (system (cmd), 0);
}
