/*  zap.c - the ZAP handler thread (RFC 27 over inproc://zeromq.zap.01), the
 *  monitors of watched sockets it services, and the CURVE socket options.
 *  The thread owns its sockets; callers talk to it over an inproc PAIR pipe.  */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zap.h"
#include "baton/errors.h"
#include "log.h"

//  Draft in libzmq 4.3's header, yet its library takes it. One that does not
//  answers EINVAL, and CURVE still needs a handler to ask (ours binds first).
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
//  Frames a ZAP request may have: 6, then the mechanism's credentials.
#define S_MAX_FRAMES 8
//  Handshake failures before ZAP. HANDSHAKE_FAILED_AUTH is left out: it
//  repeats a refusal this handler made, logged and counted already.
#define S_WATCH_EVENTS                                                                             \
    (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                  \
     ZMQ_EVENT_MONITOR_STOPPED)

struct baton_zap {
    void *ctx;
    pthread_t thread;
    void *pipe; //  the callers' end of the pipe, used under pipe_lock
    pthread_mutex_t pipe_lock;
    unsigned next_watch;
    pthread_mutex_t trust_lock;
    const baton_trust_t *trust;
    //  The thread's sockets: its end of the pipe, the REP, the monitors.
    void *thread_pipe;
    void *handler;
    void *watch[BATON_ZAP_MAX_WATCH];
    size_t watch_count;
    baton_ratelimit_t log_limit;
    atomic_uint_least64_t accepted, refused_key, refused_mechanism, refused_handshake, malformed;
};

static void
s_close (void **socket)
{
    if (*socket) {
        zmq_close (*socket);
        *socket = NULL;
    }
}

static void *
s_socket (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0;
    if (s)
        zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    return s;
}

//  --------------------------------------------------------------------------
//  ZAP requests

//  Sends the reply frames of RFC 27 for request id. key (Z85, may be NULL)
//  goes into the metadata frame as the property BATON_ZAP_KEY_PROPERTY, in
//  ZMTP's encoding: name length (1 byte), name, value length (4 bytes, big
//  endian), value.
static void
s_reply (baton_zap_t *self, const zmq_msg_t *id, const char *status, const char *text,
         const char *user, const char *key)
{
    static const char name[] = BATON_ZAP_KEY_PROPERTY;
    unsigned char meta[1 + sizeof name + 4 + BATON_KEY_Z85_LEN];
    size_t mlen = 0;
    if (key) {
        meta[mlen++] = (unsigned char) (sizeof name - 1);
        memcpy (meta + mlen, name, sizeof name - 1);
        mlen += sizeof name - 1;
        const unsigned char vlen[4] = {0, 0, 0, BATON_KEY_Z85_LEN};
        memcpy (meta + mlen, vlen, 4);
        memcpy (meta + mlen + 4, key, BATON_KEY_Z85_LEN);
        mlen += 4 + BATON_KEY_Z85_LEN;
    }
    zmq_send (self->handler, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (self->handler, id ? zmq_msg_data ((zmq_msg_t *) id) : "", id ? zmq_msg_size (id) : 0,
              ZMQ_SNDMORE);
    zmq_send (self->handler, status, strlen (status), ZMQ_SNDMORE);
    zmq_send (self->handler, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (self->handler, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (self->handler, meta, mlen, 0);
}

static bool
s_frame_is (const zmq_msg_t *frame, const char *text)
{
    size_t n = strlen (text);
    return zmq_msg_size (frame) == n && memcmp (zmq_msg_data ((zmq_msg_t *) frame), text, n) == 0;
}

//  Writes frame as a logfmt value into dst.
static const char *
s_quote (char *dst, size_t cap, const zmq_msg_t *frame)
{
    return baton__log_quote (dst, cap, zmq_msg_data ((zmq_msg_t *) frame), zmq_msg_size (frame));
}

//  Answers one request of frames frames, the first S_MAX_FRAMES of them in f:
//  200 for a trusted CURVE key, 400 for anything else, 500 if malformed.
static void
s_answer (baton_zap_t *self, zmq_msg_t *f, size_t frames)
{
    //  f: 0 version, 1 request id, 2 domain, 3 address, 4 routing id,
    //  5 mechanism, 6.. credentials.
    char address[128], domain[96], mechanism[32], key[BATON_KEY_Z85_LEN + 1] = "";
    if (frames < 6 || !s_frame_is (&f[0], "1.0")) {
        atomic_fetch_add (&self->malformed, 1);
        s_reply (self, frames > 1 ? &f[1] : NULL, "500", "malformed ZAP request", "", NULL);
        return;
    }
    s_quote (address, sizeof address, &f[3]);
    s_quote (domain, sizeof domain, &f[2]);
    s_quote (mechanism, sizeof mechanism, &f[5]);
    bool curve = s_frame_is (&f[5], "CURVE");
    if (curve && (frames != 7 || zmq_msg_size (&f[6]) != BATON_KEY_SIZE)) {
        atomic_fetch_add (&self->malformed, 1);
        s_reply (self, &f[1], "500", "malformed CURVE credentials", "", NULL);
        return;
    }
    if (!curve) {
        atomic_fetch_add (&self->refused_mechanism, 1);
        if (baton__ratelimit_allow (&self->log_limit))
            baton__log (BATON_LOG_WARN, "zap", "refused: only CURVE is allowed",
                        "mechanism=%s address=%s domain=%s", mechanism, address, domain);
        s_reply (self, &f[1], "400", "only CURVE is allowed", "", NULL);
        return;
    }
    const uint8_t *client = zmq_msg_data (&f[6]);
    zmq_z85_encode (key, client, BATON_KEY_SIZE);
    //  Copied under the lock: after set_trust returns the old store is gone.
    char user[16 + BATON_CERT_NAME_MAX] = "";
    pthread_mutex_lock (&self->trust_lock);
    const baton_trust_entry_t *e = baton__trust_find (self->trust, client);
    if (e)
        snprintf (user, sizeof user, "%s:%s", baton__role_name (e->role), e->name);
    pthread_mutex_unlock (&self->trust_lock);
    if (!*user) {
        atomic_fetch_add (&self->refused_key, 1);
        if (baton__ratelimit_allow (&self->log_limit))
            baton__log (BATON_LOG_WARN, "zap", "refused: key not in the trust store",
                        "key=\"%s\" address=%s domain=%s", key, address, domain);
        s_reply (self, &f[1], "400", "key not trusted", "", NULL);
        return;
    }
    atomic_fetch_add (&self->accepted, 1);
    baton__log (BATON_LOG_DEBUG, "zap", "accepted", "user=%s key=\"%s\" address=%s domain=%s", user,
                key, address, domain);
    s_reply (self, &f[1], "200", "OK", user, key);
}

//  Receives one request (every frame, keeping the first S_MAX_FRAMES) and
//  answers it: a REP socket must answer each request to take the next.
static void
s_serve (baton_zap_t *self)
{
    zmq_msg_t f[S_MAX_FRAMES];
    size_t kept = 0, frames = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, self->handler, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            break;
        }
        more = zmq_msg_more (&m);
        frames++;
        if (kept < S_MAX_FRAMES)
            f[kept++] = m;
        else
            zmq_msg_close (&m);
    }
    if (frames > 0)
        s_answer (self, f, frames);
    for (size_t i = 0; i < kept; i++)
        zmq_msg_close (&f[i]);
}

//  --------------------------------------------------------------------------
//  Monitors of watched sockets

//  Reads one event from watch slot i. Returns false when the monitor stopped.
static bool
s_event (baton_zap_t *self, size_t i)
{
    zmq_msg_t head, where;
    zmq_msg_init (&head);
    zmq_msg_init (&where);
    bool alive = true;
    if (zmq_msg_recv (&head, self->watch[i], ZMQ_DONTWAIT) < 0)
        goto out;
    //  Version 1 events: [u16 event, u32 value] then the endpoint.
    if (!zmq_msg_more (&head) || zmq_msg_recv (&where, self->watch[i], 0) < 0 ||
        zmq_msg_size (&head) != 6)
        goto out;
    uint16_t event;
    uint32_t value;
    memcpy (&event, zmq_msg_data (&head), 2);
    memcpy (&value, (char *) zmq_msg_data (&head) + 2, 4);
    if (event == ZMQ_EVENT_MONITOR_STOPPED) {
        alive = false;
        goto out;
    }
    atomic_fetch_add (&self->refused_handshake, 1);
    if (baton__ratelimit_allow (&self->log_limit)) {
        char endpoint[160];
        s_quote (endpoint, sizeof endpoint, &where);
        baton__log (BATON_LOG_WARN, "zap", "refused: handshake failed", "endpoint=%s reason=%s%s",
                    endpoint,
                    event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ? "no-detail" : "protocol",
                    value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                        ? " detail=\"mechanism mismatch: a client without CURVE?\""
                        : "");
    }
out:
    zmq_msg_close (&head);
    zmq_msg_close (&where);
    return alive;
}

//  Connects a monitor pipe to endpoint. Returns 0 or a BATON_E... code.
static int
s_watch_add (baton_zap_t *self, const char *endpoint)
{
    if (self->watch_count == BATON_ZAP_MAX_WATCH)
        return BATON_ESTATE;
    void *s = s_socket (self->ctx, ZMQ_PAIR);
    if (!s || zmq_connect (s, endpoint) != 0) {
        s_close (&s);
        return BATON_ESYS;
    }
    self->watch[self->watch_count++] = s;
    return 0;
}

//  --------------------------------------------------------------------------
//  The thread

//  Handles one command from the pipe. Returns false on "stop".
static bool
s_command (baton_zap_t *self)
{
    char cmd[256];
    int n = zmq_recv (self->thread_pipe, cmd, sizeof cmd - 1, 0);
    if (n < 0)
        return errno == EINTR; //  the command is still there: read it next turn
    if (n == 0 || cmd[0] == 'S')
        return false;
    cmd[n < (int) sizeof cmd ? n : (int) sizeof cmd - 1] = '\0';
    int rc = s_watch_add (self, cmd + 1);
    zmq_send (self->thread_pipe, &rc, sizeof rc, 0);
    return true;
}

static void *
s_run (void *arg)
{
    baton_zap_t *self = arg;
    zmq_pollitem_t items[2 + BATON_ZAP_MAX_WATCH];
    for (;;) {
        items[0] = (zmq_pollitem_t){self->thread_pipe, 0, ZMQ_POLLIN, 0};
        items[1] = (zmq_pollitem_t){self->handler, 0, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < self->watch_count; i++)
            items[2 + i] = (zmq_pollitem_t){self->watch[i], 0, ZMQ_POLLIN, 0};
        if (zmq_poll (items, 2 + (int) self->watch_count, -1) < 0) {
            if (errno == EINTR)
                continue;
            break; //  ETERM: the context ends under us
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_serve (self);
        //  Walk down, so removing slot i leaves the slots still to visit.
        for (size_t i = self->watch_count; i-- > 0;)
            if ((items[2 + i].revents & ZMQ_POLLIN) && !s_event (self, i)) {
                s_close (&self->watch[i]);
                memmove (&self->watch[i], &self->watch[i + 1],
                         (self->watch_count - i - 1) * sizeof self->watch[0]);
                self->watch_count--;
            }
        if ((items[0].revents & ZMQ_POLLIN) && !s_command (self))
            break;
    }
    for (size_t i = 0; i < self->watch_count; i++)
        s_close (&self->watch[i]);
    self->watch_count = 0;
    s_close (&self->handler);
    s_close (&self->thread_pipe);
    return NULL;
}

//  --------------------------------------------------------------------------
//  The callers' side

baton_zap_t *
baton__zap_new (void *zmq_ctx, const baton_trust_t *trust, char *err, size_t errlen)
{
    baton_zap_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "ZAP handler: out of memory");
        return NULL;
    }
    self->ctx = zmq_ctx;
    self->trust = trust;
    self->log_limit = (baton_ratelimit_t) BATON_RATELIMIT_INIT (20, 1000);
    pthread_mutex_init (&self->pipe_lock, NULL);
    pthread_mutex_init (&self->trust_lock, NULL);
    char pipe[64];
    snprintf (pipe, sizeof pipe, "inproc://baton-zap-pipe-%p", (void *) self);
    self->pipe = s_socket (zmq_ctx, ZMQ_PAIR);
    self->thread_pipe = s_socket (zmq_ctx, ZMQ_PAIR);
    self->handler = s_socket (zmq_ctx, ZMQ_REP);
    if (!self->pipe || !self->thread_pipe || !self->handler || zmq_bind (self->pipe, pipe) != 0 ||
        zmq_connect (self->thread_pipe, pipe) != 0) {
        snprintf (err, errlen, "ZAP handler: cannot create its sockets: %s", zmq_strerror (errno));
        goto fail;
    }
    if (zmq_bind (self->handler, S_ZAP_ENDPOINT) != 0) {
        snprintf (err, errlen, "ZAP handler: cannot bind %s: %s%s", S_ZAP_ENDPOINT,
                  zmq_strerror (errno),
                  errno == EADDRINUSE ? " (this context has a ZAP handler already)" : "");
        goto fail;
    }
    //  The thread owns handler and thread_pipe from here (pthread_create is
    //  the full barrier libzmq asks for when a socket changes threads).
    if (pthread_create (&self->thread, NULL, s_run, self) != 0) {
        snprintf (err, errlen, "ZAP handler: cannot start its thread: %s", strerror (errno));
        goto fail;
    }
    return self;
fail:
    s_close (&self->handler);
    s_close (&self->thread_pipe);
    s_close (&self->pipe);
    pthread_mutex_destroy (&self->pipe_lock);
    pthread_mutex_destroy (&self->trust_lock);
    free (self);
    return NULL;
}

void
baton__zap_set_trust (baton_zap_t *self, const baton_trust_t *trust)
{
    pthread_mutex_lock (&self->trust_lock);
    self->trust = trust;
    pthread_mutex_unlock (&self->trust_lock);
}

int
baton__zap_watch (baton_zap_t *self, void *socket)
{
    char cmd[96];
    pthread_mutex_lock (&self->pipe_lock);
    int n = snprintf (cmd, sizeof cmd, "Winproc://baton-zap-watch-%p-%u", (void *) self,
                      self->next_watch++);
    int rc = BATON_ESYS;
    if (zmq_socket_monitor (socket, cmd + 1, S_WATCH_EVENTS) != 0)
        goto out;
    //  The thread connects before we return, so no event is missed.
    if (zmq_send (self->pipe, cmd, (size_t) n, 0) < 0 ||
        zmq_recv (self->pipe, &rc, sizeof rc, 0) != (int) sizeof rc)
        rc = BATON_ESYS;
    if (rc != 0)
        zmq_socket_monitor (socket, NULL, 0);
out:
    pthread_mutex_unlock (&self->pipe_lock);
    return rc;
}

baton_zap_stats_t
baton__zap_stats (const baton_zap_t *self)
{
    baton_zap_stats_t s = {
        .accepted = atomic_load (&self->accepted),
        .refused_key = atomic_load (&self->refused_key),
        .refused_mechanism = atomic_load (&self->refused_mechanism),
        .refused_handshake = atomic_load (&self->refused_handshake),
        .malformed = atomic_load (&self->malformed),
    };
    return s;
}

uint64_t
baton__zap_refused (const baton_zap_t *self)
{
    baton_zap_stats_t s = baton__zap_stats (self);
    return s.refused_key + s.refused_mechanism + s.refused_handshake;
}

void
baton__zap_destroy (baton_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_zap_t *self = *self_p;
    pthread_mutex_lock (&self->pipe_lock);
    //  If the context is ending the send fails, and the thread stops anyway.
    zmq_send (self->pipe, "S", 1, 0);
    pthread_mutex_unlock (&self->pipe_lock);
    pthread_join (self->thread, NULL);
    s_close (&self->pipe);
    pthread_mutex_destroy (&self->pipe_lock);
    pthread_mutex_destroy (&self->trust_lock);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Socket options and peers

int
baton__curve_server (void *socket, const baton_cert_t *cert, const char *domain)
{
    const uint8_t *secret = baton__cert_secret_key (cert);
    if (!secret)
        return BATON_EINVAL;
    int one = 1;
    domain = domain ? domain : BATON_ZAP_DOMAIN;
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, secret, BATON_KEY_SIZE) != 0 ||
        zmq_setsockopt (socket, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) != 0)
        return BATON_ESYS;
    if (zmq_setsockopt (socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 && errno != EINVAL)
        return BATON_ESYS;
    return 0;
}

int
baton__curve_client (void *socket, const baton_cert_t *cert,
                     const uint8_t server_key[BATON_KEY_SIZE])
{
    const uint8_t *secret = baton__cert_secret_key (cert);
    if (!secret)
        return BATON_EINVAL;
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, server_key, BATON_KEY_SIZE) != 0 ||
        zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, baton__cert_public_key (cert),
                        BATON_KEY_SIZE) != 0 ||
        zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, secret, BATON_KEY_SIZE) != 0)
        return BATON_ESYS;
    return 0;
}

int
baton__zap_peer_key (const zmq_msg_t *msg, uint8_t key[BATON_KEY_SIZE])
{
    const char *z85 = zmq_msg_gets (msg, BATON_ZAP_KEY_PROPERTY);
    return z85 ? baton__key_from_z85 (z85, strlen (z85), key) : BATON_EINVAL;
}

const char *
baton__zap_describe (const zmq_msg_t *msg, char *buf, size_t cap)
{
    const char *addr = zmq_msg_gets (msg, "Peer-Address");
    const char *user = zmq_msg_gets (msg, "User-Id");
    const char *key = zmq_msg_gets (msg, BATON_ZAP_KEY_PROPERTY);
    char qaddr[96], quser[96];
    snprintf (buf, cap, "peer=%s user=%s key=\"%s\"",
              addr ? baton__log_quote (qaddr, sizeof qaddr, addr, strlen (addr)) : "-",
              user ? baton__log_quote (quser, sizeof quser, user, strlen (user)) : "-",
              key ? key : "");
    return buf;
}

int
baton__zap_peer (const zmq_msg_t *msg, baton_peer_t *peer)
{
    const char *user = zmq_msg_gets (msg, "User-Id");
    const char *colon = user ? strchr (user, ':') : NULL;
    if (!colon || baton__role_parse (user, (size_t) (colon - user), &peer->role) != 0)
        return BATON_EINVAL;
    size_t n = strlen (colon + 1);
    if (!baton__cert_name_valid (colon + 1, n))
        return BATON_EINVAL;
    peer->name = colon + 1;
    peer->name_len = n;
    return 0;
}
