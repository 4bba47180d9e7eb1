/*  worker.c - the worker: takes one envelope at a time from its inbox, applies
 *  the rules that keep every request answered (504 expired, 508 out of budget,
 *  502 handler failed, 503 successor unreachable) and those that keep the
 *  mesh safe (peers, keys, loops), calls the handler (not for a probe), and
 *  forwards or replies; on a stop it drains. Single-threaded by design: one
 *  envelope in hand.  */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "announce.h"
#include "bufpool.h"
#include "clock.h"
#include "ctx.h"
#include "drain.h"
#include "envelope_int.h"
#include "log.h"
#include "mesh.h"
#include "route_seal.h"
#include "signals.h"
#include "sockcache.h"
#include "worker.h"
#include "zap.h"

//  Longest wait between two looks at the stop flags while idle.
#define S_TICK_MS  100
#define S_MAX_NAME 255
//  The size of the pooled buffers envelopes are sent in: most envelopes
//  fit; a larger one gets a buffer of its own.
#define S_SEND_BUF 4096
//  The send timeout of the first message through a socket connected just now.
#define S_CONNECT_GRACE_MS 1000

struct baton_worker {
    char *name;
    char *endpoint;
    size_t endpoint_len;
    baton__announce_t *announce; //  the control channel to the gateways
    char *advertise;
    size_t advertise_len;
    void *zctx;
    bool own_zctx;
    void *inbox;
    baton__sockcache_t *hops;    //  sockets to successors
    baton__sockcache_t *replies; //  sockets to reply-tos
    baton_cert_t *cert;          //  CURVE: this function's certificate; NULL: plaintext
    baton__mesh_t *mesh;         //  CURVE: trust store and ZAP handler of zctx
    bool own_mesh;               //  else the host's
    bool insecure;               //  plaintext to any address
    baton_handler_fn *handler;
    void *arg;
    baton__local_t local; //  set by the host that runs this worker: find is not NULL
    baton_limits_t limits;
    int send_timeout_ms;
    int recv_timeout_ms;     //  ZMQ_RCVTIMEO of the inbox now (-1 at creation)
    baton_envelope_t *spare; //  the memory of the last envelope, for the next decode
    baton__bufpool_t *bufs;  //  the buffers envelopes are sent in
    int heartbeat_ms;
    int drain_ms;
    bool draining; //  goodbye said: no announce until the run ends
    bool signals;
    char qname[S_MAX_NAME * 4 + 8]; //  name quoted for log lines
    atomic_uint stop;               //  stop calls since the run began
    _Atomic uint64_t received, forwarded, replied, errors, dropped, undeliverable, sockets;
    _Atomic uint64_t refused_peer, refused_key, refused_endpoint, loops, over_budget, probes;
    _Atomic uint64_t seal_broken;
    bool sealed;                           //  BATON_MESH_KEY set: routes are checked
    uint8_t mesh_key[BATON_MESH_KEY_SIZE]; //  its key
    baton_ratelimit_t rl_drop;
    baton_ratelimit_t rl_send;
};

//  --- creation -----------------------------------------------------------------------

static const char *
s_env (const char *key)
{
    const char *v = getenv (key);
    return v && *v ? v : NULL;
}

static char *
s_strdup (const char *s)
{
    size_t len = strlen (s);
    char *copy = (char *) malloc (len + 1);
    if (copy)
        memcpy (copy, s, len + 1);
    return copy;
}

//  The inbox endpoint to tell the gateways: advertise if given, else the
//  bound one with a wildcard address (an address to bind, not to send to)
//  said as loopback. Returns NULL if memory runs out.
static char *
s_advertise (const char *endpoint, const char *advertise)
{
    if (advertise)
        return s_strdup (advertise);
    const char *any = strstr (endpoint, "0.0.0.0");
    size_t n = strlen (endpoint);
    char *copy = (char *) malloc (n + 3);
    if (copy && any) {
        size_t pre = (size_t) (any - endpoint);
        snprintf (copy, n + 3, "%.*s127.0.0.1%s", (int) pre, endpoint, any + 7);
    } else if (copy)
        memcpy (copy, endpoint, n + 1);
    return copy;
}

baton_worker_t *
baton_worker_new (const char *name, const char *bind)
{
    baton_worker_config_t config;
    memset (&config, 0, sizeof config);
    config.name = name;
    config.bind = bind;
    return baton_worker_new_config (&config);
}

baton_worker_t *
baton_worker_new_config (const baton_worker_config_t *config)
{
    return baton__worker_new (config, NULL);
}

//  Logs why a worker cannot start.
static void
s_refuse_start (const char *qname, const char *msg, const char *why)
{
    char qw[BATON_MESH_ERROR_MAX + 64];
    baton__log (BATON_LOG_ERROR, "sdk", msg, "name=%s why=%s", qname,
                baton__log_quote (qw, sizeof qw, why, strlen (why)));
}

//  Applies the security mode to the worker being built, up to its inbox:
//  loads the certificate, checks the inbox endpoint against the mode, and
//  takes the mesh of the context (shared: the host's, made if it has none).
//  Returns 0, or -1 (logged).
static int
s_secure (baton_worker_t *self, const baton__security_t *sec, const char *bind,
          baton__mesh_t **shared)
{
    char why[BATON_MESH_ERROR_MAX];
    self->insecure = sec->insecure;
    if (!sec->cert) {
        if (sec->insecure || baton__endpoint_local (bind, strlen (bind)))
            return 0;
        s_refuse_start (self->qname, "plaintext inbox not on loopback, ipc or inproc",
                        "set BATON_CERT and BATON_TRUST for CURVE, or BATON_SECURITY=insecure");
        return -1;
    }
    if (strncmp (bind, "inproc://", 9) == 0) {
        s_refuse_start (self->qname, "inproc inbox with CURVE",
                        "inproc carries no CURVE handshake, so no peer could be checked: bind "
                        "ipc:// or tcp://");
        return -1;
    }
    self->cert = baton__mesh_cert_load (sec->cert, self->name, why, sizeof why);
    if (!self->cert) {
        s_refuse_start (self->qname, "cannot use the certificate", why);
        return -1;
    }
    if (shared && *shared) {
        if (strcmp (baton__mesh_dir (*shared), sec->trust) != 0) {
            snprintf (why, sizeof why,
                      "the host answers handshakes from %s, this worker asks for %s",
                      baton__mesh_dir (*shared), sec->trust);
            s_refuse_start (self->qname, "the workers of a host share one trust store", why);
            return -1;
        }
        self->mesh = *shared;
        return 0;
    }
    self->mesh = baton__mesh_new (self->zctx, sec->trust, why, sizeof why);
    if (!self->mesh) {
        s_refuse_start (self->qname, "cannot start CURVE", why);
        return -1;
    }
    if (shared)
        *shared = self->mesh;
    else
        self->own_mesh = true;
    return 0;
}

//  The one line every worker logs about its security at start.
static void
s_log_mode (const baton_worker_t *self)
{
    if (self->cert)
        baton__log (BATON_LOG_DEBUG, "sdk", "CURVE on", "fn=%s key=\"%s\"", self->qname,
                    baton__cert_public_z85 (self->cert));
    else if (self->insecure)
        baton__log (BATON_LOG_WARN, "sdk",
                    "plaintext on any address (BATON_SECURITY=insecure): whoever reaches the "
                    "inbox can run this function",
                    "fn=%s", self->qname);
    else
        baton__log (BATON_LOG_WARN, "sdk",
                    "plaintext: CURVE is off (set BATON_CERT and BATON_TRUST), so only "
                    "loopback, ipc and inproc endpoints are allowed",
                    "fn=%s", self->qname);
}

//  A duration in ms: field if set (> 0), else $env, else def. Returns it, or
//  -1 (logged) if it is outside lo .. hi.
static int
s_duration_ms (int field, const char *env, int def, int lo, int hi, const char *key,
               const char *msg)
{
    const char *v = s_env (env);
    int ms = field > 0 ? field : v ? atoi (v) : def;
    if (ms >= lo && ms <= hi)
        return ms;
    baton__log (BATON_LOG_ERROR, "sdk", msg, "%s=%d", key, ms);
    return -1;
}

baton_worker_t *
baton__worker_new (const baton_worker_config_t *config, baton__mesh_t **shared)
{
    baton_worker_config_t c;
    if (config)
        c = *config;
    else
        memset (&c, 0, sizeof c);
    const char *name = c.name && *c.name ? c.name : s_env ("BATON_NAME");
    const char *bind = c.bind && *c.bind ? c.bind : s_env ("BATON_BIND");
    const char *gateway = c.gateway ? c.gateway : s_env ("BATON_GATEWAY");
    char qname[S_MAX_NAME * 4 + 8];
    if (!name) {
        baton__log (BATON_LOG_ERROR, "sdk",
                    "no function name: pass one to baton_worker_new or set BATON_NAME", "need=%s",
                    "BATON_NAME");
        return NULL;
    }
    if (strlen (name) > S_MAX_NAME) {
        baton__log (BATON_LOG_ERROR, "sdk", "function name longer than 255 bytes", "name=%s",
                    baton__log_quote (qname, sizeof qname, name, strlen (name)));
        return NULL;
    }
    if (!bind) {
        baton__log (BATON_LOG_ERROR, "sdk",
                    "no inbox endpoint: pass one to baton_worker_new or set BATON_BIND "
                    "(e.g. ipc:///run/baton/fn.sock or tcp://*:5601)",
                    "name=%s need=%s", baton__log_quote (qname, sizeof qname, name, strlen (name)),
                    "BATON_BIND");
        return NULL;
    }
    int send_timeout = c.send_timeout_ms > 0 ? c.send_timeout_ms : BATON_SEND_TIMEOUT_MS_DEFAULT;
    int send_hwm = c.send_hwm > 0 ? c.send_hwm : BATON_SEND_HWM_DEFAULT;
    int recv_hwm = c.recv_hwm > 0 ? c.recv_hwm : BATON_RECV_HWM_DEFAULT;
    size_t max_size = c.max_message_size ? c.max_message_size : BATON_MAX_MESSAGE_SIZE_DEFAULT;
    int linger = c.linger_ms > 0 ? c.linger_ms : BATON_LINGER_MS_DEFAULT;
    size_t cache = c.socket_cache ? c.socket_cache : BATON_SOCKET_CACHE_DEFAULT;
    int heartbeat =
        s_duration_ms (c.heartbeat_ms, "BATON_HEARTBEAT_MS", BATON_HEARTBEAT_MS_DEFAULT, 10,
                       3600000, "heartbeat_ms", "heartbeat interval out of range (10 ms .. 1 h)");
    int drain = s_duration_ms (c.drain_ms, "BATON_DRAIN_MS", BATON_DRAIN_MS_DEFAULT, 1, 3600000,
                               "drain_ms", "drain limit out of range (1 ms .. 1 h)");
    if (heartbeat < 0 || drain < 0)
        return NULL;
    const char *advertise = c.advertise ? c.advertise : s_env ("BATON_ADVERTISE");
    const char *version = c.version ? c.version : s_env ("BATON_VERSION");
    baton__security_t sec;
    char why[BATON_MESH_ERROR_MAX];
    if (baton__security_resolve (c.cert, c.trust, c.insecure, &sec, why, sizeof why)) {
        s_refuse_start (baton__log_quote (qname, sizeof qname, name, strlen (name)),
                        "security settings refused", why);
        return NULL;
    }

    baton_worker_t *self = (baton_worker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->send_timeout_ms = send_timeout;
    self->recv_timeout_ms = -1;
    self->heartbeat_ms = heartbeat;
    self->drain_ms = drain;
    self->signals = !c.no_signals;
    self->limits = baton_limits_default ();
    self->limits.max_size = max_size;
    if (self->limits.max_bin > max_size)
        self->limits.max_bin = max_size;
    baton_ratelimit_t rl = BATON_RATELIMIT_INIT (10, 1000);
    self->rl_drop = rl;
    self->rl_send = rl;
    baton__log_quote (self->qname, sizeof self->qname, name, strlen (name));
    self->name = s_strdup (name);
    self->bufs = baton__bufpool_new (S_SEND_BUF);
    if (!self->name || !self->bufs)
        goto fail;
    const char *mesh_key = s_env ("BATON_MESH_KEY");
    if (mesh_key) {
        if (baton__mesh_key_load (mesh_key, self->mesh_key, why, sizeof why) < 0) {
            s_refuse_start (self->qname, "mesh key (BATON_MESH_KEY) refused", why);
            goto fail;
        }
        self->sealed = true;
    }

    self->zctx = c.zmq_context;
    if (!self->zctx) {
        self->zctx = zmq_ctx_new ();
        self->own_zctx = true;
        if (!self->zctx) {
            baton__log (BATON_LOG_ERROR, "sdk", "cannot create a ZeroMQ context",
                        "name=%s err=\"%s\"", self->qname, zmq_strerror (errno));
            goto fail;
        }
    }
    self->inbox = zmq_socket (self->zctx, ZMQ_PULL);
    int64_t maxmsg = max_size > (size_t) INT64_MAX ? INT64_MAX : (int64_t) max_size;
    int zero = 0;
    if (!self->inbox || zmq_setsockopt (self->inbox, ZMQ_RCVHWM, &recv_hwm, sizeof recv_hwm) ||
        zmq_setsockopt (self->inbox, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt (self->inbox, ZMQ_LINGER, &zero, sizeof zero)) {
        baton__log (BATON_LOG_ERROR, "sdk", "cannot create the inbox socket", "name=%s err=\"%s\"",
                    self->qname, zmq_strerror (errno));
        goto fail;
    }
    if (s_secure (self, &sec, bind, shared))
        goto fail;
    if (self->cert && baton__curve_server (self->inbox, self->cert, NULL)) {
        baton__log (BATON_LOG_ERROR, "sdk", "cannot make the inbox a CURVE server",
                    "name=%s err=\"%s\"", self->qname, zmq_strerror (errno));
        goto fail;
    }
    if (zmq_bind (self->inbox, bind)) {
        char qb[512];
        baton__log (BATON_LOG_ERROR, "sdk", "cannot bind the inbox", "name=%s bind=%s err=\"%s\"",
                    self->qname, baton__log_quote (qb, sizeof qb, bind, strlen (bind)),
                    zmq_strerror (errno));
        goto fail;
    }
    //  Handshakes that fail before ZAP is asked are counted too.
    if (self->mesh && baton__mesh_watch (self->mesh, self->inbox))
        baton__log (BATON_LOG_WARN, "sdk", "failed handshakes on this inbox go unseen",
                    "fn=%s why=\"the ZAP handler watches %d sockets already\"", self->qname,
                    BATON_ZAP_MAX_WATCH);
    char last[1024];
    size_t last_len = sizeof last;
    if (zmq_getsockopt (self->inbox, ZMQ_LAST_ENDPOINT, last, &last_len) == 0 && last_len > 1)
        self->endpoint = s_strdup (last);
    else
        self->endpoint = s_strdup (bind);
    baton__sockopts_t opts = {send_timeout, send_hwm, linger, true, self->cert};
    self->hops = baton__sockcache_new (self->zctx, cache, &opts);
    opts.immediate = false;
    self->replies = baton__sockcache_new (self->zctx, cache, &opts);
    if (!self->endpoint || !self->hops || !self->replies)
        goto fail;
    self->advertise = s_advertise (self->endpoint, advertise);
    if (!self->advertise)
        goto fail;
    baton__announce_security_t asec = {self->cert, self->mesh, self->insecure};
    self->announce = baton__announce_new (self->zctx, gateway, self->name, self->qname,
                                          self->advertise, version, heartbeat, &asec);
    if (!self->announce)
        goto fail;
    self->endpoint_len = strlen (self->endpoint);
    self->advertise_len = strlen (self->advertise);
    s_log_mode (self);
    return self;
fail:
    baton_worker_destroy (&self);
    return NULL;
}

void
baton_worker_destroy (baton_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_worker_t *self = *self_p;
    baton__announce_destroy (&self->announce);
    if (self->inbox)
        zmq_close (self->inbox);
    baton__sockcache_destroy (&self->hops);
    baton__sockcache_destroy (&self->replies);
    //  The ZAP handler stops after the inbox it watches closed, before the
    //  context ends.
    if (self->own_mesh)
        baton__mesh_destroy (&self->mesh);
    //  Term waits (at most each socket's linger) for messages still queued.
    if (self->own_zctx && self->zctx)
        while (zmq_ctx_term (self->zctx) == -1 && errno == EINTR) {
        }
    baton__cert_destroy (&self->cert);
    baton_envelope_destroy (&self->spare);
    baton__bufpool_destroy (&self->bufs); //  after the context: none is out then, unless shared
    sodium_memzero (self->mesh_key, sizeof self->mesh_key);
    free (self->endpoint);
    free (self->advertise);
    free (self->name);
    free (self);
    *self_p = NULL;
}

void
baton_worker_set_handler (baton_worker_t *self, baton_handler_fn *handler, void *arg)
{
    self->handler = handler;
    self->arg = arg;
}

const char *
baton_worker_name (const baton_worker_t *self)
{
    return self->name;
}

const char *
baton_worker_endpoint (const baton_worker_t *self)
{
    return self->endpoint;
}

size_t
baton_worker_gateway_count (const baton_worker_t *self)
{
    return baton__announce_gateway_count (self->announce);
}

const char *
baton_worker_gateway (const baton_worker_t *self, size_t i)
{
    return baton__announce_gateway (self->announce, i);
}

void *
baton_worker_socket (baton_worker_t *self)
{
    return self->inbox;
}

int
baton_worker_fd (baton_worker_t *self)
{
    int fd = -1;
    size_t len = sizeof fd;
    if (zmq_getsockopt (self->inbox, ZMQ_FD, &fd, &len))
        return -1;
    return fd;
}

baton_worker_stats_t
baton_worker_stats (const baton_worker_t *self)
{
    baton_worker_t *w = (baton_worker_t *) self; //  atomic loads take non-const in C11
    baton_worker_stats_t s;
    s.received = atomic_load_explicit (&w->received, memory_order_relaxed);
    s.forwarded = atomic_load_explicit (&w->forwarded, memory_order_relaxed);
    s.replied = atomic_load_explicit (&w->replied, memory_order_relaxed);
    s.errors = atomic_load_explicit (&w->errors, memory_order_relaxed);
    s.dropped = atomic_load_explicit (&w->dropped, memory_order_relaxed);
    s.undeliverable = atomic_load_explicit (&w->undeliverable, memory_order_relaxed);
    s.sockets = atomic_load_explicit (&w->sockets, memory_order_relaxed);
    s.refused_peer = atomic_load_explicit (&w->refused_peer, memory_order_relaxed);
    s.refused_key = atomic_load_explicit (&w->refused_key, memory_order_relaxed);
    s.refused_endpoint = atomic_load_explicit (&w->refused_endpoint, memory_order_relaxed);
    s.loops = atomic_load_explicit (&w->loops, memory_order_relaxed);
    s.over_budget = atomic_load_explicit (&w->over_budget, memory_order_relaxed);
    s.handshakes_refused = w->mesh ? baton__mesh_refused (w->mesh) : 0;
    s.probes = atomic_load_explicit (&w->probes, memory_order_relaxed);
    s.seal_broken = atomic_load_explicit (&w->seal_broken, memory_order_relaxed);
    return s;
}

#define S_COUNT(self, field) atomic_fetch_add_explicit (&(self)->field, 1u, memory_order_relaxed)

//  --- sending --------------------------------------------------------------------------

static void
s_free_buf (void *data, void *hint)
{
    (void) hint;
    free (data);
}

//  Sends msg; if no peer takes it at once and wait is set, waits at most the
//  send timeout for one. A signal that interrupts the wait does not cut it
//  short nor extend it.
static int
s_send_msg (baton_worker_t *self, void *sock, zmq_msg_t *msg, bool wait)
{
    //  Most sends go at once; only one that has to wait reads the clock.
    if (zmq_msg_send (msg, sock, ZMQ_DONTWAIT) >= 0)
        return 0;
    if (errno != EAGAIN && errno != EINTR)
        return BATON_ESYS;
    if (!wait)
        return BATON_EUNREACHABLE;
    int rc = BATON_EUNREACHABLE;
    bool shortened = false;
    uint64_t start = baton__mono_us ();
    for (;;) {
        if (zmq_msg_send (msg, sock, 0) >= 0) {
            rc = 0;
            break;
        }
        if (errno == EAGAIN)
            break;
        if (errno != EINTR) {
            rc = BATON_ESYS;
            break;
        }
        uint64_t spent_ms = (baton__mono_us () - start) / 1000u;
        if (spent_ms >= (uint64_t) self->send_timeout_ms)
            break;
        int left = self->send_timeout_ms - (int) spent_ms;
        zmq_setsockopt (sock, ZMQ_SNDTIMEO, &left, sizeof left);
        shortened = true;
    }
    if (shortened)
        zmq_setsockopt (sock, ZMQ_SNDTIMEO, &self->send_timeout_ms, sizeof self->send_timeout_ms);
    return rc;
}

//  Encodes env straight into a ZeroMQ message (no intermediate copy) and
//  pushes it to endpoint through cache, with CURVE to the server holding key
//  (checked by the caller; ignored in plaintext). A peer that took nothing
//  within the send timeout lately is not waited for again (sockcache.h): the
//  envelopes behind it in the inbox would miss their deadlines one timeout
//  after the other. Returns 0, BATON_EUNREACHABLE (no peer took it in time,
//  or the endpoint is unusable), BATON_ENOMEM or BATON_ESYS.
static int
s_send (baton_worker_t *self, baton__sockcache_t *cache, baton_slice_t endpoint, baton_slice_t key,
        const baton_envelope_t *env)
{
    baton__peer_state_t peer;
    void *sock = baton__sockcache_get (cache, endpoint.ptr, endpoint.len,
                                       self->cert ? (const uint8_t *) key.ptr : NULL, &peer);
    atomic_store_explicit (&self->sockets,
                           baton__sockcache_count (self->hops) +
                               baton__sockcache_count (self->replies),
                           memory_order_relaxed);
    if (!sock)
        return BATON_EUNREACHABLE;
    //  One encoding pass into a buffer the message then owns (no copy): one
    //  of the pool's if the envelope surely fits, else one of its size.
    void *buf = NULL;
    size_t size = 0;
    zmq_free_fn *release = s_free_buf;
    void *pool = NULL;
    if (baton__envelope_encode_guess (env) <= baton__bufpool_size (self->bufs) &&
        (buf = baton__bufpool_take (self->bufs))) {
        size = baton_envelope_encode_into (env, buf, baton__bufpool_size (self->bufs));
        if (size) {
            release = baton__bufpool_give;
            pool = self->bufs;
        } else {
            baton__bufpool_give (buf, self->bufs);
            buf = NULL;
        }
    }
    if (!buf && baton_envelope_encode (env, &buf, &size))
        return BATON_ENOMEM;
    zmq_msg_t msg;
    if (zmq_msg_init_data (&msg, buf, size, release, pool)) {
        release (buf, pool);
        return BATON_ENOMEM;
    }
    //  A socket connected just now has a handshake to finish before an
    //  IMMEDIATE send can go: give the first send that much more time.
    int timeout = self->send_timeout_ms;
    if (peer == BATON__PEER_FRESH && timeout < S_CONNECT_GRACE_MS) {
        int grace = S_CONNECT_GRACE_MS;
        zmq_setsockopt (sock, ZMQ_SNDTIMEO, &grace, sizeof grace);
        self->send_timeout_ms = grace;
    }
    int rc = s_send_msg (self, sock, &msg, peer != BATON__PEER_DOWN);
    if (self->send_timeout_ms != timeout) {
        self->send_timeout_ms = timeout;
        zmq_setsockopt (sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    }
    if (rc == 0 && peer == BATON__PEER_DOWN)
        baton__sockcache_mark (cache, false);
    else if (rc == BATON_EUNREACHABLE && peer != BATON__PEER_DOWN)
        baton__sockcache_mark (cache, true);
    if (rc)
        zmq_msg_close (&msg);
    return rc;
}

//  Pushes env to its reply-to: the response, or an error for the gateway.
static void
s_reply (baton_worker_t *self, baton_envelope_t *env)
{
    int rc = s_send (self, self->replies, baton_envelope_reply_to (env),
                     baton_envelope_reply_key (env), env);
    if (rc == 0) {
        S_COUNT (self, replied);
        if (baton_envelope_has_error (env))
            S_COUNT (self, errors);
        return;
    }
    S_COUNT (self, undeliverable);
    if (baton__ratelimit_allow (&self->rl_send)) {
        baton_slice_t to = baton_envelope_reply_to (env), id = baton_envelope_id (env);
        char qto[256], qid[128];
        baton__log (BATON_LOG_WARN, "sdk", "reply-to did not take the response",
                    "fn=%s id=%s reply_to=%s err=%s suppressed=%" PRIu64, self->qname,
                    baton__log_quote (qid, sizeof qid, id.ptr, id.len),
                    baton__log_quote (qto, sizeof qto, to.ptr, to.len), baton_errname (rc),
                    self->rl_send.suppressed);
    }
}

//  Ends the hop with an error the SDK detected: the problem response, this
//  hop's record entry, then reply-to.
static void
s_reply_error (baton_worker_t *self, baton_envelope_t *env, unsigned status, const char *text,
               baton_slice_t hop, uint64_t t_in_us)
{
    baton__problem_apply (env, status, text, strlen (text), hop);
    baton_envelope_record_append (env, hop.ptr, hop.len, t_in_us, baton__wall_us ());
    s_reply (self, env);
}

//  Counts a refusal of the security rules in counter and logs it
//  (rate-limited). env, if not NULL, is the envelope refused.
static void
s_refused (baton_worker_t *self, _Atomic uint64_t *counter, const char *why,
           const baton_envelope_t *env)
{
    atomic_fetch_add_explicit (counter, 1u, memory_order_relaxed);
    if (!baton__ratelimit_allow (&self->rl_drop))
        return;
    baton_slice_t id = {"", 0}, to = {"", 0};
    if (env) {
        id = baton_envelope_id (env);
        to = baton_envelope_reply_to (env);
    }
    char qid[128], qto[256];
    baton__log (BATON_LOG_WARN, "sdk", "refused an envelope",
                "fn=%s reason=\"%s\" id=%s reply_to=%s suppressed=%" PRIu64, self->qname, why,
                baton__log_quote (qid, sizeof qid, id.ptr, id.len),
                baton__log_quote (qto, sizeof qto, to.ptr, to.len), self->rl_drop.suppressed);
}

//  Refuses and drops: nothing is sent anywhere.
static void
s_refuse_drop (baton_worker_t *self, _Atomic uint64_t *counter, const char *why,
               const baton_envelope_t *env)
{
    S_COUNT (self, dropped);
    s_refused (self, counter, why, env);
}

//  Whether env may go to hop i (the next one) from here: never to this
//  worker's own inbox (dropped: a loop), with CURVE only to a key the trust
//  store holds for that function, in plaintext only on this host unless
//  insecure (else 502 to reply-to naming this hop). The same holds for a hop
//  a host runs in memory: its key is checked like any other.
static bool
s_next_allowed (baton_worker_t *self, baton_envelope_t *env, size_t i, const baton_ctx_t *ctx)
{
    baton_hop_t next = baton_envelope_route_hop (env, i);
    if (baton__worker_serves (self, next.endpoint)) {
        s_refuse_drop (self, &self->loops, "next hop is this function's own inbox", env);
        return false;
    }
    const char *why = NULL;
    if (self->mesh &&
        !baton__mesh_is_function (self->mesh, baton_envelope_route_key (env, i), next.name)) {
        why = "next hop key not trusted";
        s_refused (self, &self->refused_key, why, env);
    } else if (!self->mesh && !self->insecure &&
               !baton__endpoint_local (next.endpoint.ptr, next.endpoint.len)) {
        why = "plaintext next hop off this host";
        s_refused (self, &self->refused_endpoint, why, env);
    }
    if (!why)
        return true;
    char text[160];
    int name_len = next.name.len > 64 ? 64 : (int) next.name.len;
    snprintf (text, sizeof text, "%s: '%.*s'", why, name_len, next.name.ptr);
    s_reply_error (self, env, 502, text, ctx->hop_name, ctx->t_in_us);
    return false;
}

//  Whether anything may go to env's reply-to: not this worker's own inbox
//  (a loop), with CURVE only a gateway the trust store holds the reply_key
//  of, in plaintext only on this host unless insecure. Drops env otherwise.
static bool
s_reply_allowed (baton_worker_t *self, const baton_envelope_t *env)
{
    baton_slice_t to = baton_envelope_reply_to (env);
    if (baton__worker_serves (self, to))
        s_refuse_drop (self, &self->loops, "reply-to is this function's own inbox", env);
    else if (self->mesh && !baton__mesh_is_gateway (self->mesh, baton_envelope_reply_key (env)))
        s_refuse_drop (self, &self->refused_key, "reply_key is not a trusted gateway key", env);
    else if (!self->mesh && !self->insecure && !baton__endpoint_local (to.ptr, to.len))
        s_refuse_drop (self, &self->refused_endpoint, "plaintext reply-to off this host", env);
    else
        return true;
    return false;
}

//  Advances the envelope past this hop and pushes it to the next one, or to
//  reply-to after the last. A successor that takes nothing within the send
//  timeout turns the envelope into a 503 naming that function. Returns the
//  worker of the same host that serves the next hop's endpoint, if there is
//  one: the envelope goes to it in memory instead (the caller runs it).
static baton_worker_t *
s_forward (baton_worker_t *self, baton_envelope_t *env, const baton_ctx_t *ctx, uint64_t *t_out_us)
{
    size_t next_i = baton_envelope_index (env) + 1;
    if (next_i < baton_envelope_route_count (env) && !s_next_allowed (self, env, next_i, ctx))
        return NULL;
    *t_out_us = baton__wall_us ();
    int rc = baton_envelope_advance (env, ctx->t_in_us, *t_out_us);
    if (rc) {
        s_reply_error (self, env, rc == BATON_EBUDGET ? 508 : 502,
                       rc == BATON_EBUDGET ? "hop budget exhausted" : "trace record is full",
                       ctx->hop_name, ctx->t_in_us);
        return NULL;
    }
    if (baton_envelope_route_done (env)) {
        s_reply (self, env);
        return NULL;
    }
    baton_hop_t next = baton_envelope_route_hop (env, baton_envelope_index (env));
    baton_worker_t *local =
        self->local.find ? self->local.find (self->local.arg, next.endpoint) : NULL;
    if (local) {
        S_COUNT (self, forwarded);
        return local;
    }
    rc = s_send (self, self->hops, next.endpoint,
                 baton_envelope_route_key (env, baton_envelope_index (env)), env);
    if (rc == 0) {
        S_COUNT (self, forwarded);
        return NULL;
    }
    char text[256];
    int from_len = ctx->hop_name.len > 64 ? 64 : (int) ctx->hop_name.len;
    snprintf (text, sizeof text, "function unreachable from hop '%.*s': %s within %d ms", from_len,
              ctx->hop_name.ptr,
              rc == BATON_EUNREACHABLE ? "no peer took the envelope" : baton_strerror (rc),
              self->send_timeout_ms);
    if (baton__log_enabled (BATON_LOG_DEBUG)) {
        char qn[128];
        baton__log (BATON_LOG_DEBUG, "sdk", "successor unreachable", "fn=%s next=%s", self->qname,
                    baton__log_quote (qn, sizeof qn, next.name.ptr, next.name.len));
    }
    baton__problem_apply (env, 503, text, strlen (text), next.name);
    s_reply (self, env);
    return NULL;
}

//  --- one envelope ------------------------------------------------------------------------

static void
s_drop (baton_worker_t *self, const char *why, int err, size_t size)
{
    S_COUNT (self, dropped);
    if (baton__ratelimit_allow (&self->rl_drop))
        baton__log (BATON_LOG_WARN, "sdk", "dropped a message",
                    "fn=%s reason=\"%s\" err=%s size=%zu suppressed=%" PRIu64, self->qname, why,
                    err ? baton_errname (err) : "none", size, self->rl_drop.suppressed);
}

//  The most hops one of env's branches has.
static size_t
s_longest_branch (const baton_envelope_t *env)
{
    size_t longest = 0;
    for (size_t b = 0; b < baton_envelope_branch_count (env); b++)
        if (baton_envelope_branch_hop_count (env, b) > longest)
            longest = baton_envelope_branch_hop_count (env, b);
    return longest;
}

//  Answers env 502: its seal does not hold (why). The hop named is the one
//  that broke it, the previous one (the last in the record; the gateway if
//  none); this hop's record entry says where it was found.
static void
s_seal_broken (baton_worker_t *self, baton_envelope_t *env, const baton_ctx_t *ctx, const char *why)
{
    s_refused (self, &self->seal_broken, why, env);
    size_t n = baton_envelope_record_count (env);
    baton_slice_t prev =
        n ? baton_envelope_record (env, n - 1).name : (baton_slice_t){"gateway", 7};
    char text[256];
    snprintf (text, sizeof text, "route seal broken before hop %.*s: %s",
              (int) (ctx->hop_name.len > 64 ? 64 : ctx->hop_name.len), ctx->hop_name.ptr, why);
    baton__problem_apply (env, 502, text, strlen (text), prev);
    baton_envelope_record_append (env, ctx->hop_name.ptr, ctx->hop_name.len, ctx->t_in_us,
                                  baton__wall_us ());
    s_reply (self, env);
}

//  Runs one hop of env on self. Returns the worker of the same host that
//  takes env next in memory, and sets *t_out_us to when this hop ended; or
//  NULL when env has left (or was dropped).
static baton_worker_t *
s_handle (baton_worker_t *self, baton_envelope_t *env, uint64_t t_in_us, uint64_t *t_out_us)
{
    if (baton_envelope_reply_to (env).len == 0) {
        s_drop (self, "envelope without reply-to", 0, 0);
        return NULL;
    }
    if (!s_reply_allowed (self, env))
        return NULL;
    baton_ctx_t ctx;
    ctx.env = env;
    ctx.t_in_us = t_in_us;
    ctx.ending = BATON__END_NONE;
    ctx.hop_name = baton_envelope_route_hop (env, baton_envelope_index (env)).name;
    if (ctx.hop_name.len == 0) {
        ctx.hop_name.ptr = self->name;
        ctx.hop_name.len = strlen (self->name);
    }
    //  Answering it would let one envelope circle between a hop and a
    //  reply-to that is an inbox for ever.
    if (baton_envelope_route_done (env)) {
        s_refuse_drop (self, &self->loops, "envelope arrived with its route already done", env);
        return NULL;
    }
    //  With the mesh key, the route is the one the edge sealed, or one of
    //  its branches (docs/security.md, "Sealed routes").
    const char *broken = self->sealed ? baton__route_seal_check (env, self->mesh_key) : NULL;
    if (broken) {
        s_seal_broken (self, env, &ctx, broken);
        return NULL;
    }
    uint64_t deadline = baton_envelope_deadline_ms (env);
    if (deadline && t_in_us / 1000u >= deadline) {
        s_reply_error (self, env, 504, "deadline passed before the hop ran", ctx.hop_name, t_in_us);
        return NULL;
    }
    uint64_t budget = baton_envelope_budget (env);
    if (budget == 0) {
        s_reply_error (self, env, 508, "hop budget exhausted before the hop ran", ctx.hop_name,
                       t_in_us);
        return NULL;
    }
    //  The sender sets the budget: more than the route can spend would let
    //  it run handlers more often than its route says. A branch not yet
    //  taken may add its hops.
    size_t left = baton_envelope_route_count (env) - baton_envelope_index (env);
    if (!baton_envelope_taken (env).len)
        left += s_longest_branch (env);
    if (budget > (uint64_t) left + BATON_BUDGET_MARGIN) {
        s_refused (self, &self->over_budget, "hop budget larger than the route can spend", env);
        s_reply_error (self, env, 508, "hop budget larger than the route can spend", ctx.hop_name,
                       t_in_us);
        return NULL;
    }
    //  A probe asks whether this hop takes envelopes: every rule above and
    //  the next step, but no user code (docs/wire-format.md, "oam").
    if (baton_envelope_oam (env) & BATON_OAM_PROBE) {
        S_COUNT (self, probes);
        return s_forward (self, env, &ctx, t_out_us);
    }
    int hrc = self->handler (&ctx, self->arg);
    if (hrc != 0 && ctx.ending != BATON__END_REPLY && ctx.ending != BATON__END_FAIL) {
        char text[64];
        snprintf (text, sizeof text, "handler returned %d", hrc);
        baton__problem_apply (env, 502, text, strlen (text), ctx.hop_name);
        ctx.ending = BATON__END_FAIL;
    }
    if (ctx.ending == BATON__END_REPLY || ctx.ending == BATON__END_FAIL) {
        baton_envelope_record_append (env, ctx.hop_name.ptr, ctx.hop_name.len, t_in_us,
                                      baton__wall_us ());
        s_reply (self, env);
        return NULL;
    }
    return s_forward (self, env, &ctx, t_out_us);
}

//  Takes one message from the inbox, waiting at most timeout_ms. Returns 1,
//  0 if none came (or a signal cut the wait), or BATON_ESYS. A blocking
//  receive with ZMQ_RCVTIMEO is one wake-up less than zmq_poll + receive.
static int
s_take (baton_worker_t *self, zmq_msg_t *msg, int timeout_ms)
{
    int flags = 0;
    if (timeout_ms < 0)
        timeout_ms = -1;
    if (timeout_ms == 0)
        flags = ZMQ_DONTWAIT;
    else if (timeout_ms != self->recv_timeout_ms) {
        if (zmq_setsockopt (self->inbox, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms))
            return BATON_ESYS;
        self->recv_timeout_ms = timeout_ms;
    }
    //  A look that does not wait is retried when a signal cuts it short:
    //  callers drain an edge-triggered fd until 0, and an early 0 would leave
    //  messages behind with no wake-up to come for them.
    for (int tries = 0; tries < 8; tries++) {
        if (zmq_msg_recv (msg, self->inbox, flags) >= 0)
            return 1;
        if (errno != EINTR || flags != ZMQ_DONTWAIT)
            break;
    }
    return errno == EAGAIN || errno == EINTR ? 0 : BATON_ESYS;
}

static int
s_process (baton_worker_t *self, int timeout_ms)
{
    //  The first look at the inbox announces the worker; its heartbeats then
    //  come from the announcer's thread. A host starts its workers' itself;
    //  a draining worker said goodbye.
    if (!self->local.find && !self->draining)
        baton__announce_start (self->announce);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    int rc = s_take (self, &msg, timeout_ms);
    uint64_t t_in_us = baton__wall_us ();
    if (rc <= 0) {
        zmq_msg_close (&msg);
        return rc;
    }
    S_COUNT (self, received);
    size_t size = zmq_msg_size (&msg);
    if (zmq_msg_more (&msg)) {
        //  An envelope is exactly one frame; the rest of this one is here already.
        while (zmq_msg_more (&msg) && zmq_msg_recv (&msg, self->inbox, ZMQ_DONTWAIT) >= 0)
            size += zmq_msg_size (&msg);
        zmq_msg_close (&msg);
        s_drop (self, "multipart message", 0, size);
        return 1;
    }
    //  With CURVE, the ZAP handler named the peer that sent it.
    baton_peer_t peer;
    if (self->mesh && (baton__zap_peer (&msg, &peer) != 0 ||
                       (peer.role != BATON_ROLE_GATEWAY && peer.role != BATON_ROLE_FUNCTION))) {
        zmq_msg_close (&msg);
        s_refuse_drop (self, &self->refused_peer, "sender is neither a gateway nor a function",
                       NULL);
        return 1;
    }
    //  Decoded in place: the envelope points into the received frame, which
    //  stays open until the envelope is done with, and its forward copies
    //  what the hops left unchanged from it (envelope_int.h).
    int err = 0;
    baton_envelope_t *env = baton__envelope_decode_borrowed (zmq_msg_data (&msg), size,
                                                             &self->limits, &err, &self->spare);
    if (!env) {
        zmq_msg_close (&msg);
        s_drop (self, "envelope does not decode", err, size);
        return 1;
    }
    //  Hops served by this host's other workers run here, in memory, one
    //  after the other, each starting when the previous one ended. Each
    //  spends budget, so this ends.
    uint64_t t_out_us = 0;
    baton_worker_t *w = s_handle (self, env, t_in_us, &t_out_us);
    while (w) {
        S_COUNT (w, received);
        w = s_handle (w, env, t_out_us, &t_out_us);
    }
    baton__envelope_recycle (&env, &self->spare);
    zmq_msg_close (&msg);
    return 1;
}

//  --- loops ----------------------------------------------------------------------------------

int
baton_worker_process_one (baton_worker_t *self, int timeout_ms)
{
    if (!self->handler || self->local.find)
        return BATON_ESTATE;
    return s_process (self, timeout_ms);
}

int
baton__worker_process (baton_worker_t *self, int timeout_ms)
{
    return s_process (self, timeout_ms);
}

void
baton__worker_beat (baton_worker_t *self)
{
    baton__announce_start (self->announce);
}

void
baton__worker_goodbye (baton_worker_t *self, int *idle_ms, int *limit_ms)
{
    baton__announce_goodbye (self->announce);
    *idle_ms = 2 * self->heartbeat_ms;
    *limit_ms = self->drain_ms;
    baton__log (BATON_LOG_INFO, "sdk", "draining", "fn=%s idle_ms=%d limit_ms=%d", self->qname,
                *idle_ms, *limit_ms);
}

void
baton__worker_set_local (baton_worker_t *self, const baton__local_t *local)
{
    self->local = *local;
}

bool
baton__worker_serves (const baton_worker_t *self, baton_slice_t endpoint)
{
    //  On every forward of a hosted worker: lengths first, kept from creation.
    return (endpoint.len == self->endpoint_len &&
            memcmp (endpoint.ptr, self->endpoint, endpoint.len) == 0) ||
           (endpoint.len == self->advertise_len &&
            memcmp (endpoint.ptr, self->advertise, endpoint.len) == 0);
}

void
baton_worker_stop (baton_worker_t *self)
{
    atomic_fetch_add (&self->stop, 1u);
}

//  The drain after a stop: goodbye first, so that the gateways stop sending
//  within a heartbeat, then every envelope that still comes (an upstream hop
//  may hold one whose route names this inbox) until the inbox has been idle
//  for two heartbeats or the drain limit passed. A second stop ends it.
//  Returns 0 or BATON_ESYS.
static int
s_drain (baton_worker_t *self, unsigned gen)
{
    int idle_ms, limit_ms, wait_ms;
    baton__worker_goodbye (self, &idle_ms, &limit_ms);
    self->draining = true;
    baton__drain_t drain;
    baton__drain_start (&drain, idle_ms, limit_ms);
    int rc = 0;
    bool cut;
    for (;;) {
        cut = baton__signals_stops (&self->stop, self->signals, gen) >= 2;
        if (cut || baton__drain_over (&drain, S_TICK_MS, &wait_ms))
            break;
        rc = s_process (self, wait_ms);
        if (rc < 0)
            break;
        if (rc > 0)
            baton__drain_took (&drain, rc);
    }
    self->draining = false;
    if (rc < 0)
        return rc;
    char who[sizeof self->qname + 8];
    snprintf (who, sizeof who, "fn=%s", self->qname);
    baton__drain_log (&drain, who, cut);
    return 0;
}

//  baton_worker_run once the signal handlers are held (if the worker takes
//  signals) since generation gen: serves, drains, gives the handlers back.
static int
s_run (baton_worker_t *self, unsigned gen)
{
    int rc = 0;
    while (rc >= 0 && baton__signals_stops (&self->stop, self->signals, gen) == 0)
        rc = s_process (self, S_TICK_MS);
    rc = rc < 0 ? rc : s_drain (self, gen);
    if (self->signals)
        baton__signals_release ();
    atomic_store (&self->stop, 0u);
    if (rc)
        baton__log (BATON_LOG_ERROR, "sdk", "worker stopped on an error", "fn=%s err=\"%s\"",
                    self->qname, zmq_strerror (errno));
    else
        baton__log (BATON_LOG_DEBUG, "sdk", "worker stopped", "fn=%s", self->qname);
    return rc;
}

int
baton_worker_run (baton_worker_t *self)
{
    if (!self->handler || self->local.find)
        return BATON_ESTATE;
    if (self->signals)
        baton__signals_hold ();
    return s_run (self, baton__signals_gen ());
}

int
baton_main (baton_handler_fn *handler, void *arg)
{
    if (!handler) {
        baton__log (BATON_LOG_ERROR, "sdk", "baton_main needs a handler", "need=%s", "handler");
        return 1;
    }
    //  Held from the start: a SIGTERM while the worker starts makes it drain
    //  (nothing came yet) and exit 0, rather than die half made.
    baton__signals_hold ();
    unsigned gen = baton__signals_gen ();
    baton_worker_t *worker = baton_worker_new (NULL, NULL);
    if (!worker) {
        baton__signals_release ();
        return 1;
    }
    baton_worker_set_handler (worker, handler, arg);
    char qe[512];
    const char *ep = baton_worker_endpoint (worker);
    baton__log (BATON_LOG_INFO, "sdk", "worker ready", "fn=%s inbox=%s security=%s", worker->qname,
                baton__log_quote (qe, sizeof qe, ep, strlen (ep)),
                worker->cert       ? "curve"
                : worker->insecure ? "insecure"
                                   : "plaintext");
    int rc = s_run (worker, gen);
    baton_worker_destroy (&worker);
    return rc == 0 ? 0 : 1;
}
