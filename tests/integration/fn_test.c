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
 *             BATON_HEARTBEAT_MS, default 250 as in the SDK): alive, but
 *             useless
 *    absent   as silent, but binds nothing: a replica that heartbeats from
 *             a host the gateway cannot reach (no connection to it is ever
 *             made); it announces BATON_TEST_HOSTNAME as its host and
 *             BATON_ZONE as its zone
 *    sleep    sleeps BATON_TEST_SLEEP_MS (default 200) then appends
 *    version  as append, with "@<BATON_VERSION>~<baton_ctx_version>" after
 *             the name: the version of the replica that served each hop,
 *             and the one the request carried
 *    branch   takes the branch the request's X-Branch header names
 *             (baton_ctx_branch; fails 400 with the error's name if it
 *             cannot), then as append
 *  BATON_TEST_FUNCTION, if set, replaces BATON_NAME (so replicas of one
 *  function can be started by helpers that name the endpoint after BATON_NAME).
 *  BATON_TEST_HOST="up:upper c:append" makes the process a host (baton_host_t)
 *  that also serves those functions, each at <BATON_BIND's directory>/<name>,
 *  in the mode given; BATON_NAME is added last, so its socket existing means
 *  every function of the host is bound.
 *  CURVE comes from BATON_CERT and BATON_TRUST, read by the SDK; the other
 *  functions of a host use <BATON_CERT's directory>/<name>.key_secret, and
 *  silent mode makes its bare sockets CURVE itself (control: the trust
 *  store's only gateway key).  */
#include <baton/baton.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <zmq.h>
#include "cert.h"
#include "control.h"
#include "trust.h"
#include "zap.h"
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
    if (strcmp (mode, "version") == 0) {
        const char *v = getenv ("BATON_VERSION");
        snprintf (hop + n, sizeof hop - n, "@%s~%s", v ? v : "", baton_ctx_version (ctx));
        n = strlen (hop);
    }
    baton_slice_t branch;
    if (strcmp (mode, "branch") == 0 && baton_ctx_request_header_find (ctx, "x-branch", &branch)) {
        char want[64];
        snprintf (want, sizeof want, "%.*s", (int) (branch.len < 63 ? branch.len : 63), branch.ptr);
        int brc = baton_ctx_branch (ctx, want);
        if (brc != 0)
            return baton_ctx_fail (ctx, 400, baton_errname (brc));
    }
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

//  Silent mode's CURVE, when BATON_CERT and BATON_TRUST are set: pull becomes
//  a CURVE server (a ZAP handler answers for it) and control, if any, a
//  client of the store's only gateway key. Returns 0, or 1 (said on stderr).
typedef struct {
    baton_cert_t *cert;
    baton_trust_t *trust;
    baton_zap_t *zap;
} s_curve_t;

static int
s_silent_curve (s_curve_t *c, void *ctx, void *pull, void *control)
{
    const char *cert = getenv ("BATON_CERT"), *trust = getenv ("BATON_TRUST");
    char err[1024] = "";
    if (!cert || !trust)
        return 0;
    c->cert = baton__cert_load (cert, err, sizeof err);
    c->trust = c->cert ? baton__trust_load (trust, err, sizeof err) : NULL;
    c->zap = c->trust ? baton__zap_new (ctx, c->trust, err, sizeof err) : NULL;
    if (!c->zap || baton__curve_server (pull, c->cert, NULL) != 0) {
        fprintf (stderr, "fn_test: silent mode cannot use CURVE: %s\n", err);
        return 1;
    }
    const baton_trust_entry_t *gw = NULL;
    for (size_t i = 0; i < baton__trust_count (c->trust); i++)
        if (baton__trust_at (c->trust, i)->role == BATON_ROLE_GATEWAY)
            gw = baton__trust_at (c->trust, i);
    if (control && (!gw || baton__curve_client (control, c->cert, gw->key) != 0)) {
        fputs ("fn_test: silent mode finds no gateway key for its control socket\n", stderr);
        return 1;
    }
    return 0;
}

static int
s_silent (bool bound)
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
    int zero = 0, timeout = 100, rc = 1;
    zmq_setsockopt (pull, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    //  Heartbeats, when there is a gateway to tell, say we are alive.
    const char *gateway = getenv ("BATON_GATEWAY"), *beat = getenv ("BATON_HEARTBEAT_MS");
    void *control = gateway ? zmq_socket (ctx, ZMQ_PUSH) : NULL;
    s_curve_t curve = {NULL, NULL, NULL};
    if (s_silent_curve (&curve, ctx, pull, control))
        goto out;
    if (bound && zmq_bind (pull, bind) != 0) {
        fprintf (stderr, "fn_test: cannot bind %s\n", bind);
        goto out;
    }
    baton_control_msg_t m;
    memset (&m, 0, sizeof m);
    if (control) {
        zmq_setsockopt (control, ZMQ_LINGER, &zero, sizeof zero);
        zmq_connect (control, gateway);
        snprintf (m.function, sizeof m.function, "%s", getenv ("BATON_NAME"));
        snprintf (m.endpoint, sizeof m.endpoint, "%s", bind);
        snprintf (m.instance, sizeof m.instance, "silent%d", (int) getpid ());
        m.pid = (uint64_t) getpid ();
        const char *host = getenv ("BATON_TEST_HOSTNAME"), *zone = getenv ("BATON_ZONE");
        snprintf (m.host, sizeof m.host, "%s", host && !bound ? host : "");
        snprintf (m.zone, sizeof m.zone, "%s", zone && !bound ? zone : "");
        m.interval_ms = beat ? (uint64_t) atoi (beat) : BATON_HEARTBEAT_MS_DEFAULT;
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
        if (bound)
            zmq_recv (pull, buf, sizeof buf, 0);
        else
            nanosleep (&(struct timespec){timeout / 1000, (long) (timeout % 1000) * 1000000}, NULL);
    }
    rc = 0;
out:
    if (control)
        zmq_close (control);
    zmq_close (pull);
    baton__zap_destroy (&curve.zap);
    zmq_ctx_term (ctx);
    baton__trust_destroy (&curve.trust);
    baton__cert_destroy (&curve.cert);
    return rc;
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
    char endpoints[8][256], certs[8][512];
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
        c.bind = endpoints[count];
        //  Each function of the host has its own certificate, beside BATON_CERT.
        const char *cert = getenv ("BATON_CERT"), *cslash = cert ? strrchr (cert, '/') : NULL;
        if (cslash) {
            snprintf (certs[count], sizeof certs[count], "%.*s/%s.key_secret",
                      (int) (cslash - cert), cert, tok);
            c.cert = certs[count];
        }
        count++;
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
    if (mode && (strcmp (mode, "silent") == 0 || strcmp (mode, "absent") == 0))
        return s_silent (strcmp (mode, "silent") == 0);
    char *host = getenv ("BATON_TEST_HOST");
    if (host)
        return s_host (host, mode ? mode : "append");
    return baton_main (s_handler, (void *) (mode ? mode : "append"));
}
