/*  announce.c - the control channel of one worker: announce, heartbeat,
 *  goodbye (at a drain or close) to every gateway it was given. Heartbeats
 *  come from a thread of the announcer's, so a handler that blocks does not
 *  get its replica declared dead; the control sockets are used under one
 *  lock by that thread and the worker's. Sends never block: a gateway that is
 *  away gets what fits its small queue, then the next heartbeats.  */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "announce.h"
#include "baton/errors.h"
#include "clock.h"
#include "control.h"
#include "log.h"
#include "sockcache.h"
#include "zap.h"

struct baton__announce {
    char *gateway_buf; //  the gateway list, split in place
    char **gateways;
    char **gateway_names; //  NAME of a NAME@endpoint entry, else NULL
    size_t gateway_count;
    void **control; //  one PUSH per gateway control endpoint
    int heartbeat_ms;
    //  The heartbeat thread, made with the sockets when there is a gateway.
    //  Everything below but running is guarded by lock.
    pthread_t beater;
    bool has_beater;
    pthread_mutex_t lock;
    pthread_cond_t wake; //  on CLOCK_MONOTONIC
    bool quit;
    bool announced;
    uint64_t next_beat_us;   //  monotonic
    atomic_bool running;     //  announced: the thread beats (read without the lock)
    baton_control_msg_t msg; //  who sends: the same in every message but its type
};

//  Splits "a, b,,c" into trimmed, non-empty entries, and NAME@endpoint into
//  its two parts.
static int
s_parse_gateways (baton__announce_t *self, const char *list)
{
    if (!list)
        return 0;
    size_t len = strlen (list);
    self->gateway_buf = (char *) malloc (len + 1);
    size_t commas = 1;
    for (const char *p = list; *p; p++)
        commas += *p == ',';
    self->gateways = (char **) calloc (commas, sizeof (char *));
    self->gateway_names = (char **) calloc (commas, sizeof (char *));
    if (!self->gateway_buf || !self->gateways || !self->gateway_names)
        return BATON_ENOMEM;
    memcpy (self->gateway_buf, list, len + 1);
    char *save = NULL;
    for (char *tok = strtok_r (self->gateway_buf, ",", &save); tok;
         tok = strtok_r (NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *end = tok + strlen (tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (!*tok)
            continue;
        //  A name is what comes before an '@' that precedes the scheme's "://".
        char *at = strchr (tok, '@'), *scheme = strstr (tok, "://");
        if (at && (!scheme || at < scheme)) {
            *at = '\0';
            self->gateway_names[self->gateway_count] = tok;
            tok = at + 1;
        }
        self->gateways[self->gateway_count++] = tok;
    }
    return 0;
}

//  Sends one control message of type to every gateway, never blocking.
//  Called with the lock held.
static void
s_send (baton__announce_t *self, baton_control_type_t type)
{
    self->msg.type = type;
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    size_t n = baton__control_encode (&self->msg, buf, sizeof buf);
    for (size_t i = 0; n && i < self->gateway_count; i++)
        zmq_send (self->control[i], buf, n, ZMQ_DONTWAIT);
}

//  Makes control socket i a CURVE client of its gateway's key, or checks
//  that plaintext may reach its endpoint. Returns 0, or -1 (logged).
static int
s_secure (baton__announce_t *self, size_t i, const baton__announce_security_t *sec,
          const char *qname)
{
    const char *ep = self->gateways[i], *name = self->gateway_names[i];
    char qg[512], why[BATON_MESH_ERROR_MAX];
    baton__log_quote (qg, sizeof qg, ep, strlen (ep));
    if (name && !baton__cert_name_valid (name, strlen (name))) {
        baton__log (BATON_LOG_ERROR, "sdk",
                    "gateway name before '@' in BATON_GATEWAY is not a certificate name",
                    "fn=%s gateway=%s", qname, qg);
        return -1;
    }
    if (!sec->cert) {
        if (sec->insecure || baton__endpoint_local (ep, strlen (ep)))
            return 0;
        baton__log (BATON_LOG_ERROR, "sdk",
                    "plaintext control endpoint not on loopback, ipc or inproc: set BATON_CERT "
                    "and BATON_TRUST for CURVE, or BATON_SECURITY=insecure",
                    "fn=%s gateway=%s", qname, qg);
        return -1;
    }
    uint8_t key[BATON_KEY_SIZE];
    if (baton__mesh_gateway_key (sec->mesh, name, key, why, sizeof why)) {
        char qw[BATON_MESH_ERROR_MAX + 64];
        baton__log (BATON_LOG_ERROR, "sdk", "no server key for the gateway control endpoint",
                    "fn=%s gateway=%s why=%s", qname, qg,
                    baton__log_quote (qw, sizeof qw, why, strlen (why)));
        return -1;
    }
    if (baton__curve_client (self->control[i], sec->cert, key)) {
        baton__log (BATON_LOG_ERROR, "sdk", "cannot make the control socket a CURVE client",
                    "fn=%s gateway=%s err=\"%s\"", qname, qg, zmq_strerror (errno));
        return -1;
    }
    return 0;
}

//  Connects the control sockets. Returns 0, or -1 (logged if ZeroMQ or the
//  security rules refused an endpoint).
static int
s_connect (baton__announce_t *self, void *zctx, const char *qname,
           const baton__announce_security_t *sec)
{
    self->control = (void **) calloc (self->gateway_count, sizeof (void *));
    if (!self->control)
        return -1;
    for (size_t i = 0; i < self->gateway_count; i++) {
        void *sock = zmq_socket (zctx, ZMQ_PUSH);
        //  Not ZMQ_IMMEDIATE: the announce waits (a little queue) for the
        //  connection instead of being lost to it.
        int hwm = 16, linger = 200;
        if (!sock)
            return -1;
        self->control[i] = sock;
        zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
        //  A gateway whose host was cut off is reached again as soon as the
        //  link is back, not after TCP's retransmission backoff.
        baton__sockcache_watch (sock);
        if (s_secure (self, i, sec, qname))
            return -1;
        if (zmq_connect (sock, self->gateways[i])) {
            char qg[512];
            baton__log (
                BATON_LOG_ERROR, "sdk", "cannot connect to the gateway control endpoint",
                "fn=%s gateway=%s err=\"%s\"", qname,
                baton__log_quote (qg, sizeof qg, self->gateways[i], strlen (self->gateways[i])),
                zmq_strerror (errno));
            return -1;
        }
    }
    return 0;
}

//  The heartbeat thread: while announced, a heartbeat every interval; it
//  sleeps on wake otherwise, and ends when quit is set.
static void *
s_beater (void *arg)
{
    baton__announce_t *self = (baton__announce_t *) arg;
    uint64_t interval_us = (uint64_t) self->heartbeat_ms * 1000u;
    pthread_mutex_lock (&self->lock);
    while (!self->quit) {
        if (!self->announced) {
            pthread_cond_wait (&self->wake, &self->lock);
            continue;
        }
        uint64_t now = baton__mono_us ();
        if (now >= self->next_beat_us) {
            s_send (self, BATON_CONTROL_HEARTBEAT);
            //  On cadence; a thread that woke late does not make up for it in a burst.
            self->next_beat_us += interval_us;
            if (self->next_beat_us <= now)
                self->next_beat_us = now + interval_us;
        }
        struct timespec until = {(time_t) (self->next_beat_us / 1000000u),
                                 (long) (self->next_beat_us % 1000000u) * 1000};
        pthread_cond_timedwait (&self->wake, &self->lock, &until);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

//  Makes the lock, the condition (timed on the clock baton__mono_us reads)
//  and the thread. Returns 0, or -1 (logged).
static int
s_start_beater (baton__announce_t *self, const char *qname)
{
    pthread_condattr_t attr;
    int rc = pthread_mutex_init (&self->lock, NULL);
    if (rc == 0) {
        pthread_condattr_init (&attr);
        pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
        rc = pthread_cond_init (&self->wake, &attr);
        pthread_condattr_destroy (&attr);
        if (rc)
            pthread_mutex_destroy (&self->lock);
    }
    if (rc == 0) {
        rc = pthread_create (&self->beater, NULL, s_beater, self);
        if (rc) {
            pthread_cond_destroy (&self->wake);
            pthread_mutex_destroy (&self->lock);
        }
    }
    if (rc) {
        baton__log (BATON_LOG_ERROR, "sdk", "cannot start the heartbeat thread", "fn=%s err=\"%s\"",
                    qname, strerror (rc));
        return -1;
    }
    self->has_beater = true;
    return 0;
}

baton__announce_t *
baton__announce_new (void *zctx, const char *gateways, const char *name, const char *qname,
                     const char *endpoint, const char *version, int heartbeat_ms,
                     const baton__announce_security_t *security)
{
    baton__announce_t *self = (baton__announce_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->heartbeat_ms = heartbeat_ms;
    baton_control_msg_t *m = &self->msg;
    uint64_t r = 0;
    if (getrandom (&r, sizeof r, 0) != (ssize_t) sizeof r)
        r = baton__wall_us () ^ ((uint64_t) getpid () << 32);
    snprintf (m->instance, sizeof m->instance, "%016" PRIx64, r);
    snprintf (m->function, sizeof m->function, "%s", name);
    snprintf (m->endpoint, sizeof m->endpoint, "%s", endpoint);
    snprintf (m->version, sizeof m->version, "%s", version ? version : "");
    //  The zone comes from the environment only: where a process runs is the
    //  deployment's to say, not the code's.
    const char *zone = getenv ("BATON_ZONE");
    snprintf (m->zone, sizeof m->zone, "%s", zone ? zone : "");
    if (gethostname (m->host, sizeof m->host) != 0)
        m->host[0] = '\0';
    m->host[sizeof m->host - 1] = '\0';
    m->pid = (uint64_t) getpid ();
    m->interval_ms = (uint64_t) heartbeat_ms;
    if (s_parse_gateways (self, gateways) ||
        (self->gateway_count &&
         (s_connect (self, zctx, qname, security) || s_start_beater (self, qname))))
        baton__announce_destroy (&self);
    return self;
}

void
baton__announce_destroy (baton__announce_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton__announce_t *self = *self_p;
    if (self->has_beater) {
        baton__announce_goodbye (self);
        pthread_mutex_lock (&self->lock);
        self->quit = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->beater, NULL);
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->lock);
    }
    if (self->control) {
        for (size_t i = 0; i < self->gateway_count; i++)
            if (self->control[i])
                zmq_close (self->control[i]);
        free (self->control);
    }
    free (self->gateways);
    free (self->gateway_names);
    free (self->gateway_buf);
    free (self);
    *self_p = NULL;
}

void
baton__announce_goodbye (baton__announce_t *self)
{
    if (!self->has_beater)
        return;
    //  Under the lock, so no heartbeat of the thread's can follow it.
    pthread_mutex_lock (&self->lock);
    if (self->announced) {
        s_send (self, BATON_CONTROL_GOODBYE);
        self->announced = false;
        atomic_store_explicit (&self->running, false, memory_order_release);
    }
    pthread_mutex_unlock (&self->lock);
}

void
baton__announce_start (baton__announce_t *self)
{
    if (!self->has_beater || atomic_load_explicit (&self->running, memory_order_acquire))
        return;
    pthread_mutex_lock (&self->lock);
    if (!self->announced) {
        s_send (self, BATON_CONTROL_ANNOUNCE);
        self->announced = true;
        self->next_beat_us = baton__mono_us () + (uint64_t) self->heartbeat_ms * 1000u;
        atomic_store_explicit (&self->running, true, memory_order_release);
        pthread_cond_signal (&self->wake);
    }
    pthread_mutex_unlock (&self->lock);
}

size_t
baton__announce_gateway_count (const baton__announce_t *self)
{
    return self->gateway_count;
}

const char *
baton__announce_gateway (const baton__announce_t *self, size_t i)
{
    return i < self->gateway_count ? self->gateways[i] : NULL;
}
