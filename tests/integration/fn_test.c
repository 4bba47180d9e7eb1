/*  fn_test.c - a function for the integration tests, built on libbaton. What
 *  it does comes from BATON_TEST_MODE:
 *    append   (default) appends "|<name>" to the body and adds X-Hop: <name>
 *             and X-Replica: <its BATON_BIND>
 *    upper    upper-cases the body, then as append
 *    reply401 answers 401 at once (an early reply)
 *    fail     fails the request (502) with the reason "test failure"
 *    silent   takes envelopes and never answers (a bare PULL socket: the SDK
 *             always answers, so this one does not use it); with
 *             BATON_GATEWAY set it still announces and heartbeats (every
 *             BATON_HEARTBEAT_MS, default 1000): alive, but useless
 *    sleep    sleeps BATON_TEST_SLEEP_MS (default 200) then appends
 *  BATON_TEST_FUNCTION, if set, replaces BATON_NAME (so replicas of one
 *  function can be started by helpers that name the endpoint after BATON_NAME).
 *  BATON_TEST_HOST="up:upper c:append" makes the process a host (baton_host_t)
 *  that also serves those functions, each at <BATON_BIND's directory>/<name>,
 *  in the mode given; BATON_NAME is added last, so its socket existing means
 *  every function of the host is bound.  */
#include <baton/baton.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <zmq.h>
#include "control.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
s_handler (baton_ctx_t *ctx, void *arg)
{
    const char *mode = (const char *) arg;
    baton_slice_t name = baton_ctx_hop_name (ctx);
    char hop[64];
    size_t n = name.len < sizeof hop - 1 ? name.len : sizeof hop - 1;
    memcpy (hop, name.ptr, n);
    hop[n] = '\0';
    if (strcmp (mode, "reply401") == 0) {
        baton_ctx_set_body_str (ctx, "unauthorized\n");
        return baton_ctx_reply (ctx, 401);
    }
    if (strcmp (mode, "fail") == 0)
        return baton_ctx_fail (ctx, 502, "test failure");
    if (strcmp (mode, "sleep") == 0) {
        const char *ms = getenv ("BATON_TEST_SLEEP_MS");
        long wait = ms ? atol (ms) : 200;
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        nanosleep (&ts, NULL);
    }
    baton_slice_t body = baton_ctx_body (ctx);
    size_t len = body.len + 1 + n;
    char *out = malloc (len + 1);
    if (!out)
        return -1;
    memcpy (out, body.ptr, body.len);
    if (strcmp (mode, "upper") == 0)
        for (size_t i = 0; i < body.len; i++)
            out[i] = (char) toupper ((unsigned char) out[i]);
    out[body.len] = '|';
    memcpy (out + body.len + 1, hop, n);
    int rc = baton_ctx_set_body (ctx, out, len);
    free (out);
    baton_ctx_add_header (ctx, "X-Hop", hop);
    //  Which replica served: its inbox endpoint.
    const char *bind = getenv ("BATON_BIND");
    if (bind)
        baton_ctx_add_header (ctx, "X-Replica", bind);
    return rc;
}

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

static int
s_silent (void)
{
    const char *bind = getenv ("BATON_BIND");
    if (!bind) {
        fputs ("fn_test: BATON_BIND is not set\n", stderr);
        return 1;
    }
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    void *ctx = zmq_ctx_new ();
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    int zero = 0, timeout = 100;
    zmq_setsockopt (pull, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind (pull, bind) != 0) {
        fprintf (stderr, "fn_test: cannot bind %s\n", bind);
        return 1;
    }
    //  Heartbeats, when there is a gateway to tell, say we are alive.
    const char *gateway = getenv ("BATON_GATEWAY"), *beat = getenv ("BATON_HEARTBEAT_MS");
    void *control = NULL;
    baton_control_msg_t m;
    memset (&m, 0, sizeof m);
    if (gateway) {
        control = zmq_socket (ctx, ZMQ_PUSH);
        zmq_setsockopt (control, ZMQ_LINGER, &zero, sizeof zero);
        zmq_connect (control, gateway);
        snprintf (m.function, sizeof m.function, "%s", getenv ("BATON_NAME"));
        snprintf (m.endpoint, sizeof m.endpoint, "%s", bind);
        snprintf (m.instance, sizeof m.instance, "silent%d", (int) getpid ());
        m.pid = (uint64_t) getpid ();
        m.interval_ms = beat ? (uint64_t) atoi (beat) : 1000;
        m.type = BATON_CONTROL_ANNOUNCE;
        timeout = (int) m.interval_ms;
        zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    }
    char buf[256];
    while (!s_stop) {
        if (control) {
            unsigned char msg[BATON_CONTROL_MAX_SIZE];
            size_t n = baton__control_encode (&m, msg, sizeof msg);
            zmq_send (control, msg, n, ZMQ_DONTWAIT);
            m.type = BATON_CONTROL_HEARTBEAT;
        }
        zmq_recv (pull, buf, sizeof buf, 0);
    }
    if (control)
        zmq_close (control);
    zmq_close (pull);
    zmq_ctx_term (ctx);
    return 0;
}

//  Serves BATON_NAME and the functions listed in spec on one host.
static int
s_host (char *spec, const char *mode)
{
    const char *bind = getenv ("BATON_BIND"), *slash = bind ? strrchr (bind, '/') : NULL;
    if (!slash) {
        fputs ("fn_test: BATON_TEST_HOST needs BATON_BIND=ipc://DIR/NAME\n", stderr);
        return 1;
    }
    baton_host_t *host = baton_host_new ();
    if (!host)
        return 1;
    char endpoints[8][256];
    size_t count = 0;
    char *save = NULL;
    for (char *tok = strtok_r (spec, " ", &save); tok; tok = strtok_r (NULL, " ", &save)) {
        char *colon = strchr (tok, ':');
        if (!colon || count == 8) {
            fprintf (stderr, "fn_test: BATON_TEST_HOST entry '%s' is not name:mode\n", tok);
            baton_host_destroy (&host);
            return 1;
        }
        *colon = '\0';
        snprintf (endpoints[count], sizeof endpoints[count], "%.*s/%s", (int) (slash - bind), bind,
                  tok);
        baton_worker_config_t c = {0};
        c.name = tok;
        c.bind = endpoints[count++];
        if (!baton_host_add (host, &c, s_handler, colon + 1)) {
            baton_host_destroy (&host);
            return 1;
        }
    }
    baton_worker_config_t c = {0}; //  BATON_NAME at BATON_BIND
    int rc = baton_host_add (host, &c, s_handler, (void *) mode) ? baton_host_run (host) : 1;
    baton_host_destroy (&host);
    return rc == 0 ? 0 : 1;
}

int
main (void)
{
    const char *mode = getenv ("BATON_TEST_MODE");
    const char *function = getenv ("BATON_TEST_FUNCTION");
    if (function && setenv ("BATON_NAME", function, 1) != 0)
        return 1;
    if (mode && strcmp (mode, "silent") == 0)
        return s_silent ();
    char *host = getenv ("BATON_TEST_HOST");
    if (host)
        return s_host (host, mode ? mode : "append");
    return baton_main (s_handler, (void *) (mode ? mode : "append"));
}
