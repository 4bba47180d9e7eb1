/*  gateway.c - the edge. Each connection carries one request at a time:
 *  head parsed in place, routed, its envelope built and PUSHed to the first
 *  hop; the reply PULLed back by id becomes the response. Pipelined requests
 *  wait in the read buffer, so responses leave in request order. Nothing
 *  after a rejected request is ever read: the connection closes.  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "status.h"
#include "baton/envelope.h"
#include "clock.h"
#include "gateway.h"
#include "http/parser.h"
#include "log.h"
#include "admin/metrics.h"
#include "edge/routes.h"
#include "edge/topology.h"

#define S_COMP "gateway"
//  Read buffers start small (idle keep-alive connections are cheap) and grow
//  on demand up to the request limits.
#define S_BUF_MIN    2048
#define S_READ_CHUNK 16384
//  How long the first hop may take to accept an envelope (ZMQ_IMMEDIATE: only
//  a connected peer counts), and how often we retry within that time.
#define S_SEND_TIMEOUT_MS 100
//  Within this long after the gateway connected to a peer, the handshake may
//  still be under way (at start, or just after a replica announced itself):
//  the send window reaches to its end.
#define S_SEND_FIRST_TIMEOUT_MS 1000
#define S_SEND_RETRY_MS         2
#define S_MAX_HEADERS_CAP       1024
//  How long a closing connection may keep sending before we stop listening.
#define S_LINGER_MS 2000
//  A response head buffer up to this size is kept for the next response.
#define S_SPARE_HEAD_MAX 4096

typedef struct s_conn s_conn_t;

//  A connection's place in one of the gateway's queues of owed work.
typedef struct {
    s_conn_t *next;
    bool queued;
} s_link_t;

//  A FIFO of connections chained through the s_link_t at offset link.
typedef struct {
    s_conn_t *head, *tail;
    size_t link;
} s_queue_t;

//  One ZeroMQ PUSH socket per replica endpoint a chain may start at, kept
//  while the gateway runs (a dead replica may come back on the same one).
typedef struct s_peer {
    struct s_peer *next;
    void *sock;
    uint64_t connected_ms; //  when the connect began (monotonic)
    char endpoint[];
} s_peer_t;

struct baton_gateway {
    const baton_config_t *config;
    const baton_config_gateway_t *gcfg;
    const baton_config_limits_t *lcfg;
    baton_http_limits_t http_limits;
    uv_loop_t *loop;
    baton_routes_t *routes;
    baton_metrics_t *metrics;
    uv_tcp_t listener;
    uv_tcp_t admin;
    int port, admin_port;
    void *zctx;
    void *reply_sock;
    uv_poll_t reply_poll;
    s_peer_t *peers;
    baton_topology_t *topo;
    void *control_sock;
    uv_poll_t control_poll;
    uv_timer_t topo_timer;
    uv_timer_t drain_timer;
    //  Work owed before the loop next blocks for I/O, done by s_on_before_poll:
    //  the envelopes ready to go to their first hop, the completions of
    //  responses that went out at once (each oldest first), and a drain of
    //  the replies after a send.
    uv_prepare_t before_poll;
    bool drain_owed;
    s_queue_t sends;
    s_queue_t written;
    uv_signal_t sigint, sigterm;
    bool signals;
    bool draining;
    bool closed;
    char tag[9];        //  random per instance: ids are "<tag>-<seq>"
    char reply_to[300]; //  the reply endpoint as hops must connect to it
    uint64_t seq;
    uint64_t inflight;
    uint64_t connections;
    s_conn_t **pending; //  hash of conns waiting for a reply, by seq
    size_t pending_mask;
    s_conn_t *conns; //  every open connection (doubly linked)
    uint64_t rng[2];
};

typedef enum {
    S_IDLE,    //  between requests (keep-alive)
    S_HEAD,    //  reading a request head
    S_BODY,    //  reading its body
    S_SENDING, //  the first hop has not taken the envelope yet
    S_WAITING, //  envelope sent, waiting for the reply
    S_WRITING, //  writing a response
    S_LINGER,  //  last response sent and our side shut: dropping input until the client closes
    S_CLOSING
} s_state_t;

struct s_conn {
    uv_tcp_t tcp; //  first: the handle's address is the connection's
    uv_timer_t timer;
    baton_gateway_t *gw;
    s_conn_t *prev, *next;
    s_conn_t *pending_next; //  chain in gw->pending
    bool admin;
    s_state_t state;
    int handles_open;
    char *buf;
    size_t len, cap, max;
    bool reading;
    bool peer_eof;
    baton_http_parser_t parser;
    baton_http_request_t req;
    baton_header_t *headers;
    size_t header_cap;
    //  The request being served.
    unsigned served;
    char log_method[24]; //  copies for the access log: the head's bytes go
    char log_target[160];
    bool keep_alive;
    bool head_method;
    uint64_t seq;
    uint64_t t_start_us;
    uint64_t body_deadline_ms; //  monotonic ms
    uint64_t send_give_up_ms;  //  monotonic ms
    uint64_t deadline_ms;      //  route deadline, for the timer
    baton_route_match_t match;
    const baton_config_route_t *route;
    baton_replica_t *hops[BATON_CONFIG_MAX_CHAIN]; //  the replicas picked, held until the answer
    size_t hop_count;
    const char *no_replica; //  the function that had no live replica
    baton_envelope_t *env;
    char *body;
    size_t body_len, body_cap;
    baton_http_chunked_t chunked;
    bool chunked_body;
    uint64_t content_length;
    zmq_msg_t out;
    bool out_live;
    s_peer_t *out_peer;
    baton_replica_t *tried[8]; //  first-hop replicas that did not take the envelope
    size_t tried_count;
    //  The response being written.
    uv_write_t wreq;
    uv_shutdown_t sreq;
    char *whead;
    size_t whead_cap;
    char *spare_head; //  a head buffer kept from the last response, to reuse
    size_t spare_cap;
    baton_envelope_t *wenv;
    char *wbody;
    bool close_after;
    s_link_t send_link;    //  in gw->sends: its envelope is due to the first hop
    s_link_t written_link; //  in gw->written: its completion is due
};

static void s_process (s_conn_t *c);
static void s_close (s_conn_t *c);
static void s_drain_replies (baton_gateway_t *gw);
static void s_on_before_poll (uv_prepare_t *p);
static void s_queue_remove (s_queue_t *q, s_conn_t *c);
static void s_maybe_finish (baton_gateway_t *gw);
static void s_on_body (s_conn_t *c);

//  --- small helpers ------------------------------------------------------------

static void *
s_alloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p) {
        fputs ("baton: out of memory\n", stderr);
        abort ();
    }
    return p;
}

static uint64_t
s_mono_ms (void)
{
    return baton__mono_us () / 1000u;
}

static uint64_t
s_rand (baton_gateway_t *gw)
{
    //  xorshift128+, seeded from getrandom (): ids and span ids need to be
    //  unique, not secret.
    uint64_t s1 = gw->rng[0];
    const uint64_t s0 = gw->rng[1];
    gw->rng[0] = s0;
    s1 ^= s1 << 23;
    gw->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return gw->rng[1] + s0;
}

static bool
s_is_tchar (unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr ("!#$%&'*+-.^_`|~", ch));
}

static bool
s_is_token (baton_slice_t s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!s_is_tchar ((unsigned char) s.ptr[i]))
            return false;
    return true;
}

//  A field value a hop may send back: no CR, LF, NUL or other CTL but HTAB.
static bool
s_is_field_value (baton_slice_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char) s.ptr[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

static bool
s_slice_is (baton_slice_t s, const char *lit)
{
    size_t n = strlen (lit);
    return s.len == n && strncasecmp (s.ptr, lit, n) == 0;
}

static bool
s_slice_eq (baton_slice_t s, const char *str)
{
    size_t n = strlen (str);
    return s.len == n && memcmp (s.ptr, str, n) == 0;
}

//  Headers the gateway writes itself or that only mean something per hop.
static bool
s_is_framing_header (baton_slice_t name)
{
    static const char *const drop[] = {"content-length", "transfer-encoding", "connection",
                                       "keep-alive",     "upgrade",           "te",
                                       "trailer",        "proxy-connection",  "server-timing",
                                       "x-request-id",   "traceparent",       "date"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        if (s_slice_is (name, drop[i]))
            return true;
    return false;
}

//  --- a growing text buffer for response heads ---------------------------------

typedef struct {
    char *data;
    size_t len, cap;
} s_text_t;

static void
s_text_reserve (s_text_t *t, size_t more)
{
    if (t->cap - t->len >= more)
        return;
    size_t cap = t->cap * 2 > t->len + more ? t->cap * 2 : t->len + more + 256;
    char *p = (char *) realloc (t->data, cap);
    if (!p)
        abort ();
    t->data = p;
    t->cap = cap;
}

static void
s_text_put (s_text_t *t, const char *s, size_t n)
{
    s_text_reserve (t, n + 1);
    memcpy (t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

#define s_text_lit(t, lit) s_text_put ((t), lit, sizeof (lit) - 1)

static void
s_text_str (s_text_t *t, const char *str)
{
    s_text_put (t, str, strlen (str));
}

static void s_text_fmt (s_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_text_fmt (s_text_t *t, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (tmp, sizeof tmp, fmt, ap);
    va_end (ap);
    if (n > 0)
        s_text_put (t, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1);
}

static void
s_text_header (s_text_t *t, baton_slice_t name, baton_slice_t value)
{
    s_text_reserve (t, name.len + value.len + 5);
    s_text_put (t, name.ptr, name.len);
    s_text_lit (t, ": ");
    s_text_put (t, value.ptr, value.len);
    s_text_lit (t, "\r\n");
}

//  Writes v in decimal; the hot path's numbers go through here, not printf
//  (formatting was a third of the gateway's instructions per request).
static void
s_text_uint (s_text_t *t, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    s_text_put (t, digits + sizeof digits - n, n);
}

//  The Date value, formatted once per second. Never NULL.
static const char *
s_http_date (void)
{
    static time_t cached_at = 0;
    static char cached[40];
    time_t now = time (NULL);
    if (now != cached_at) {
        struct tm tm;
        gmtime_r (&now, &tm);
        strftime (cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return cached;
}

//  --- the pending table: connections waiting for a reply, by sequence -----------

static size_t
s_slot (const baton_gateway_t *gw, uint64_t seq)
{
    return (size_t) (seq * 0x9E3779B97F4A7C15ull >> 20) & gw->pending_mask;
}

static void
s_pending_add (baton_gateway_t *gw, s_conn_t *c)
{
    size_t i = s_slot (gw, c->seq);
    c->pending_next = gw->pending[i];
    gw->pending[i] = c;
    gw->inflight++;
}

static void
s_pending_remove (baton_gateway_t *gw, s_conn_t *c)
{
    for (s_conn_t **p = &gw->pending[s_slot (gw, c->seq)]; *p; p = &(*p)->pending_next)
        if (*p == c) {
            *p = c->pending_next;
            c->pending_next = NULL;
            gw->inflight--;
            return;
        }
}

//  Gives back the replicas a request held; timed_out counts against them
//  (outlier ejection).
static void s_log_replica (const baton_gateway_t *gw, const baton_replica_t *r, const char *what,
                           baton_log_level_t level);

static void
s_release_hops (s_conn_t *c, bool timed_out)
{
    uint64_t now = s_mono_ms ();
    for (size_t i = 0; i < c->hop_count; i++) {
        baton_replica_t *r = c->hops[i];
        baton_replica_state_t before = r->state;
        baton_topology_release (c->gw->topo, r, timed_out, now);
        if (before != BATON_REPLICA_EJECTED && r->state == BATON_REPLICA_EJECTED)
            s_log_replica (c->gw, r, "replica ejected (requests through it time out)",
                           BATON_LOG_WARN);
    }
    c->hop_count = 0;
}

static s_conn_t *
s_pending_find (baton_gateway_t *gw, uint64_t seq)
{
    for (s_conn_t *c = gw->pending[s_slot (gw, seq)]; c; c = c->pending_next)
        if (c->seq == seq)
            return c;
    return NULL;
}

//  --- connections ---------------------------------------------------------------

static void
s_on_handle_closed (uv_handle_t *h)
{
    s_conn_t *c = (s_conn_t *) h->data;
    if (--c->handles_open > 0)
        return;
    baton_gateway_t *gw = c->gw;
    free (c->buf);
    free (c->headers);
    free (c->body);
    free (c->whead);
    free (c->spare_head);
    free (c->wbody);
    baton_envelope_destroy (&c->env);
    baton_envelope_destroy (&c->wenv);
    if (c->out_live)
        zmq_msg_close (&c->out);
    free (c);
    s_maybe_finish (gw);
}

//  Releases what belongs to the request being served.
static void
s_request_reset (s_conn_t *c)
{
    baton_envelope_destroy (&c->env);
    if (c->out_live) {
        zmq_msg_close (&c->out);
        c->out_live = false;
    }
    c->body_len = 0;
    c->route = NULL;
    if (c->body_cap > 65536) {
        free (c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
}

static void
s_close (s_conn_t *c)
{
    if (c->state == S_CLOSING)
        return;
    baton_gateway_t *gw = c->gw;
    if (c->state == S_WAITING || c->state == S_SENDING) {
        //  The client left while its request was pending: forget it. A reply
        //  that still comes finds no one and is counted as late.
        s_pending_remove (gw, c);
        s_release_hops (c, false);
        baton_metrics_client_gone (gw->metrics);
    }
    //  Nothing owed to a closing connection: its buffers are freed with it.
    s_queue_remove (&gw->sends, c);
    s_queue_remove (&gw->written, c);
    c->state = S_CLOSING;
    if (c->prev)
        c->prev->next = c->next;
    else
        gw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    gw->connections--;
    uv_timer_stop (&c->timer);
    uv_close ((uv_handle_t *) &c->timer, s_on_handle_closed);
    uv_close ((uv_handle_t *) &c->tcp, s_on_handle_closed);
}

static void s_on_timer (uv_timer_t *t);

static void
s_timer (s_conn_t *c, uint64_t ms)
{
    //  libuv counts from the loop time cached when this iteration began: a
    //  busy iteration would make every timeout fire early by its length.
    uv_update_time (c->gw->loop);
    uv_timer_start (&c->timer, s_on_timer, ms, 0);
}

//  Work is owed before the loop blocks: make sure s_on_before_poll runs. The
//  prepare handle is active only then, so it never keeps the loop alive idle.
static void
s_owe (baton_gateway_t *gw)
{
    if (!uv_is_closing ((uv_handle_t *) &gw->before_poll))
        uv_prepare_start (&gw->before_poll, s_on_before_poll);
}

//  --- queues of work owed before the loop blocks -------------------------------------

static s_link_t *
s_link (const s_queue_t *q, s_conn_t *c)
{
    return (s_link_t *) ((char *) c + q->link);
}

static void
s_queue_push (baton_gateway_t *gw, s_queue_t *q, s_conn_t *c)
{
    s_link_t *l = s_link (q, c);
    l->queued = true;
    l->next = NULL;
    if (q->tail)
        s_link (q, q->tail)->next = c;
    else
        q->head = c;
    q->tail = c;
    s_owe (gw);
}

static s_conn_t *
s_queue_pop (s_queue_t *q)
{
    s_conn_t *c = q->head;
    if (c) {
        s_link_t *l = s_link (q, c);
        q->head = l->next;
        if (!q->head)
            q->tail = NULL;
        l->next = NULL;
        l->queued = false;
    }
    return c;
}

//  Takes c out of q if it is there. Rare (c is closing, or sent early), and
//  a queue holds at most one loop turn's work.
static void
s_queue_remove (s_queue_t *q, s_conn_t *c)
{
    s_link_t *l = s_link (q, c);
    if (!l->queued)
        return;
    s_conn_t *prev = NULL;
    for (s_conn_t *x = q->head; x; prev = x, x = s_link (q, x)->next)
        if (x == c) {
            if (prev)
                s_link (q, prev)->next = l->next;
            else
                q->head = l->next;
            if (q->tail == c)
                q->tail = prev;
            break;
        }
    l->next = NULL;
    l->queued = false;
}

//  --- writing responses -------------------------------------------------------------

static void s_on_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void s_on_read (uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

//  Reading stops when the buffer is full while we wait; this restarts it.
static void
s_resume_reading (s_conn_t *c)
{
    if (c->state != S_CLOSING && !c->reading && !c->peer_eof && c->len < c->max)
        c->reading = uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) == 0;
}

static void
s_on_shut (uv_shutdown_t *req, int status)
{
    s_conn_t *c = (s_conn_t *) req->data;
    if (status < 0 && c->state == S_LINGER)
        s_close (c);
}

//  Closes the way nginx's lingering_close does: our side first (FIN), then
//  what the client still sends is read and dropped until it closes (at most
//  S_LINGER_MS). Closing with unread input would send a reset, which can
//  destroy the response in flight: the very answer that says why we close.
static void
s_linger (s_conn_t *c)
{
    c->state = S_LINGER;
    c->len = 0;
    c->sreq.data = c;
    if (c->peer_eof || uv_shutdown (&c->sreq, (uv_stream_t *) &c->tcp, s_on_shut) < 0) {
        s_close (c);
        return;
    }
    s_timer (c, S_LINGER_MS);
    if (!c->reading)
        c->reading = uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) == 0;
}

//  A response is written (status 0) or failed: frees its buffers, then
//  serves the next request of the connection, if one is buffered.
static void
s_write_done (s_conn_t *c, int status)
{
    //  Keep the head's buffer for the next response of this connection.
    if (!c->spare_head && c->whead_cap <= S_SPARE_HEAD_MAX) {
        c->spare_head = c->whead;
        c->spare_cap = c->whead_cap;
    } else
        free (c->whead);
    c->whead = NULL;
    free (c->wbody);
    c->wbody = NULL;
    baton_envelope_destroy (&c->wenv);
    if (c->state == S_CLOSING)
        return;
    if (status < 0) {
        s_close (c);
        return;
    }
    if (c->close_after || c->gw->draining) {
        s_linger (c);
        return;
    }
    c->served++;
    c->state = S_IDLE;
    s_request_reset (c);
    s_process (c); //  a pipelined request may be waiting in the buffer
    s_resume_reading (c);
}

static void
s_on_written (uv_write_t *w, int status)
{
    s_write_done ((s_conn_t *) w->data, status);
}

//  Writes head (owned, freed after the write) and body (borrowed from
//  c->wenv or c->wbody, which live until the write is done).
static void
s_write (s_conn_t *c, s_text_t *head, const char *body, size_t body_len)
{
    c->state = S_WRITING;
    uv_timer_stop (&c->timer);
    c->whead = head->data;
    c->whead_cap = head->cap;
    uv_buf_t bufs[2] = {uv_buf_init (head->data, (unsigned) head->len),
                        uv_buf_init ((char *) body, (unsigned) body_len)};
    unsigned nbufs = body_len ? 2 : 1;
    //  Most responses fit in the socket's buffer: write them now, and queue a
    //  uv_write only for what is left (libuv would re-arm the watcher with
    //  epoll_ctl and call back a loop turn later).
    int n = uv_try_write ((uv_stream_t *) &c->tcp, bufs, nbufs);
    if (n < 0 && n != UV_EAGAIN) {
        free (c->whead); //  EPIPE, ECONNRESET...: the client is gone
        c->whead = NULL;
        s_close (c);
        return;
    }
    size_t sent = n > 0 ? (size_t) n : 0;
    uv_buf_t *left = bufs;
    while (nbufs && sent >= left->len) {
        sent -= left->len;
        left++;
        nbufs--;
    }
    if (nbufs == 0) {
        //  All out. The completion runs before the loop blocks, not from
        //  here: it may answer a pipelined request at once, which would
        //  write again, and a long pipeline would recurse as deep.
        s_queue_push (c->gw, &c->gw->written, c);
        return;
    }
    left->base += sent;
    left->len -= (unsigned) sent;
    c->wreq.data = c;
    int rc = uv_write (&c->wreq, (uv_stream_t *) &c->tcp, left, nbufs, s_on_written);
    if (rc < 0) {
        free (c->whead);
        c->whead = NULL;
        s_close (c);
    }
}

//  Starts a response head with the lines every response carries.
static void
s_head_begin (s_conn_t *c, s_text_t *t, unsigned status)
{
    if (!t->data && c->spare_head) {
        t->data = c->spare_head;
        t->cap = c->spare_cap;
        c->spare_head = NULL;
    }
    s_text_reserve (t, 128);
    s_text_lit (t, "HTTP/1.1 ");
    s_text_uint (t, status);
    s_text_lit (t, " ");
    s_text_str (t, baton__http_reason (status));
    s_text_lit (t, "\r\nDate: ");
    s_text_str (t, s_http_date ());
    s_text_lit (t, "\r\n");
    bool more = c->keep_alive && !c->close_after && !c->gw->draining &&
                c->served + 1 < c->gw->lcfg->requests_per_connection;
    if (!more) {
        c->close_after = true;
        s_text_lit (t, "Connection: close\r\n");
    }
}

static void
s_log_access (s_conn_t *c, unsigned status, size_t hops)
{
    if (!baton__log_enabled (BATON_LOG_INFO))
        return;
    char method[64], path[256], route[256];
    uint64_t dur = baton__wall_us () - c->t_start_us;
    size_t mlen = strlen (c->log_method), tlen = strlen (c->log_target);
    baton__log (
        BATON_LOG_INFO, S_COMP, "access",
        "method=%s path=%s status=%u duration_ms=%.3f route=%s hops=%zu id=%s-%" PRIu64,
        baton__log_quote (method, sizeof method, c->log_method, mlen),
        baton__log_quote (path, sizeof path, c->log_target, tlen), status, (double) dur / 1000.0,
        c->route ? baton__log_quote (route, sizeof route, c->route->path, strlen (c->route->path))
                 : "-",
        hops, c->gw->tag, c->seq);
}

//  Answers with a response the gateway makes itself: a problem+json body.
static void
s_respond_error (s_conn_t *c, unsigned status, const char *detail, bool close,
                 const char *extra_headers)
{
    if (c->state == S_CLOSING)
        return;
    if (close)
        c->close_after = true;
    s_text_t body = {NULL, 0, 0};
    s_text_fmt (&body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%u,\"detail\":\"",
                baton__http_reason (status), status);
    //  The detail may hold bytes of the request: escape them for JSON.
    for (const char *p = detail; *p && body.len < 400; p++) {
        unsigned char ch = (unsigned char) *p;
        if (ch == '"' || ch == '\\')
            s_text_fmt (&body, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            s_text_fmt (&body, "\\u%04x", ch);
        else
            s_text_put (&body, (const char *) &ch, 1);
    }
    s_text_lit (&body, "\"}\n");
    s_text_t head = {NULL, 0, 0};
    s_head_begin (c, &head, status);
    s_text_fmt (&head, "Content-Type: application/problem+json\r\nContent-Length: %zu\r\n%s\r\n",
                body.len, extra_headers ? extra_headers : "");
    if (c->route)
        baton_metrics_request (c->gw->metrics, c->route->index, status,
                               baton__wall_us () - c->t_start_us);
    s_log_access (c, status, 0);
    c->wbody = body.data;
    s_write (c, &head, c->head_method ? NULL : body.data, c->head_method ? 0 : body.len);
}

static void
s_respond_plain (s_conn_t *c, unsigned status, const char *ctype, char *body, size_t len)
{
    s_text_t head = {NULL, 0, 0};
    s_head_begin (c, &head, status);
    s_text_fmt (&head, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, len);
    c->wbody = body;
    s_write (c, &head, c->head_method ? NULL : body, c->head_method ? 0 : len);
}

//  Turns a reply envelope into the response.
static void
s_respond_envelope (s_conn_t *c, baton_envelope_t *env)
{
    baton_gateway_t *gw = c->gw;
    unsigned status = baton_envelope_status (env);
    if (status < 200 || status > 599) {
        baton__log (BATON_LOG_WARN, S_COMP, "reply with an invalid status",
                    "status=%u id=%s-%" PRIu64, status, gw->tag, c->seq);
        baton_envelope_destroy (&env);
        s_respond_error (c, 502, "a hop replied with an invalid status", false, NULL);
        return;
    }
    s_text_t head = {NULL, 0, 0};
    s_head_begin (c, &head, status);
    size_t dropped = 0;
    for (size_t i = 0; i < baton_envelope_header_count (env); i++) {
        baton_header_t h = baton_envelope_header (env, i);
        if (!s_is_token (h.name) || !s_is_field_value (h.value)) {
            dropped++; //  a hop's bytes never split our response
            continue;
        }
        if (!s_is_framing_header (h.name))
            s_text_header (&head, h.name, h.value);
    }
    if (dropped)
        baton__log (BATON_LOG_WARN, S_COMP, "dropped invalid reply headers", "count=%zu", dropped);
    //  Server-Timing from the record: one entry per hop, in order.
    size_t hops = baton_envelope_record_count (env);
    if (hops) {
        s_text_lit (&head, "Server-Timing: ");
        for (size_t i = 0; i < hops; i++) {
            baton_record_t r = baton_envelope_record (env, i);
            uint64_t dur = r.t_out_us >= r.t_in_us ? r.t_out_us - r.t_in_us : 0;
            char name[65];
            size_t n = 0;
            for (size_t k = 0; k < r.name.len && n < 64; k++)
                name[n++] = s_is_tchar ((unsigned char) r.name.ptr[k]) ? r.name.ptr[k] : '_';
            name[n] = '\0';
            if (i)
                s_text_lit (&head, ", ");
            if (n)
                s_text_put (&head, name, n);
            else
                s_text_lit (&head, "hop");
            //  Milliseconds with three decimals, from integer microseconds.
            s_text_lit (&head, ";dur=");
            s_text_uint (&head, dur / 1000);
            char frac[4] = {'.', (char) ('0' + dur / 100 % 10), (char) ('0' + dur / 10 % 10),
                            (char) ('0' + dur % 10)};
            s_text_put (&head, frac, 4);
            //  Entry i is normally hop i of the route: no lookup by name then.
            const baton_config_function_t *fn =
                i < c->route->chain_len && s_slice_eq (r.name, c->route->chain[i]->name)
                    ? c->route->chain[i]
                    : baton_config_function_find (gw->config, r.name.ptr, r.name.len);
            if (fn)
                baton_metrics_hop (gw->metrics, fn->index, dur);
        }
        s_text_lit (&head, "\r\n");
    }
    baton_slice_t tp = baton_envelope_traceparent (env);
    if (tp.len == 55 && s_is_field_value (tp))
        s_text_header (&head, (baton_slice_t){"traceparent", 11}, tp);
    s_text_lit (&head, "X-Request-Id: ");
    s_text_put (&head, gw->tag, 8);
    s_text_lit (&head, "-");
    s_text_uint (&head, c->seq);
    s_text_lit (&head, "\r\n");
    baton_slice_t body = baton_envelope_body (env);
    bool no_body = status == 204 || status == 304;
    if (!no_body) {
        s_text_lit (&head, "Content-Length: ");
        s_text_uint (&head, body.len);
        s_text_lit (&head, "\r\n");
    }
    s_text_lit (&head, "\r\n");
    baton_metrics_request (gw->metrics, c->route->index, status, baton__wall_us () - c->t_start_us);
    s_log_access (c, status, hops);
    c->wenv = env;
    bool send_body = !no_body && !c->head_method;
    s_write (c, &head, send_body ? body.ptr : NULL, send_body ? body.len : 0);
}

//  --- admin endpoints --------------------------------------------------------------------

static void
s_json_str (s_text_t *t, const char *s)
{
    s_text_lit (t, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch == '"' || ch == '\\')
            s_text_fmt (t, "\\%c", ch);
        else if (ch < 0x20)
            s_text_fmt (t, "\\u%04x", ch);
        else
            s_text_put (t, (const char *) &ch, 1);
    }
    s_text_lit (t, "\"");
}

//  /-/topology: every function's replicas and their state, as JSON.
static char *
s_topology_json (baton_gateway_t *gw, size_t *len)
{
    s_text_t t = {NULL, 0, 0};
    uint64_t now = s_mono_ms ();
    s_text_lit (&t, "{\"functions\":[");
    for (size_t f = 0; f < baton_config_function_count (gw->config); f++) {
        s_text_str (&t, f ? ",{\"name\":" : "{\"name\":");
        s_json_str (&t, baton_config_function (gw->config, f)->name);
        s_text_lit (&t, ",\"replicas\":[");
        for (size_t i = 0; i < baton_topology_count (gw->topo, f); i++) {
            const baton_replica_t *r = baton_topology_at (gw->topo, f, i);
            s_text_str (&t, i ? ",{\"endpoint\":" : "{\"endpoint\":");
            s_json_str (&t, r->endpoint);
            s_text_lit (&t, ",\"state\":");
            s_json_str (&t, baton_replica_state_name (r->state));
            s_text_lit (&t, ",\"source\":");
            s_json_str (&t, r->is_static ? "config" : "announce");
            s_text_lit (&t, ",\"instance\":");
            s_json_str (&t, r->instance);
            s_text_lit (&t, ",\"version\":");
            s_json_str (&t, r->version);
            s_text_lit (&t, ",\"host\":");
            s_json_str (&t, r->host);
            s_text_fmt (&t,
                        ",\"pid\":%" PRIu64 ",\"outstanding\":%" PRIu64 ",\"routed\":%" PRIu64
                        ",\"heartbeat_interval_ms\":%" PRIu64,
                        r->pid, r->outstanding, r->routed, r->interval_ms);
            if (r->is_static)
                s_text_lit (&t, ",\"last_heartbeat_ms_ago\":null");
            else
                s_text_fmt (&t, ",\"last_heartbeat_ms_ago\":%" PRIu64, now - r->last_seen_ms);
            s_text_fmt (&t, ",\"ejections\":%" PRIu64 ",\"timeouts_in_row\":%u}", r->ejections,
                        r->timeouts_in_row);
        }
        s_text_lit (&t, "]}");
    }
    s_text_lit (&t, "]}\n");
    *len = t.len;
    return t.data;
}

//  Topology gauges appended to /-/metrics.
static void
s_topology_metrics (baton_gateway_t *gw, s_text_t *t)
{
    s_text_lit (t, "# HELP baton_replicas Replicas per function and state.\n"
                   "# TYPE baton_replicas gauge\n");
    for (size_t f = 0; f < baton_config_function_count (gw->config); f++) {
        uint64_t by_state[3] = {0, 0, 0};
        for (size_t i = 0; i < baton_topology_count (gw->topo, f); i++)
            by_state[baton_topology_at (gw->topo, f, i)->state]++;
        for (int st = 0; st < 3; st++)
            s_text_fmt (t, "baton_replicas{function=\"%s\",state=\"%s\"} %" PRIu64 "\n",
                        baton_config_function (gw->config, f)->name,
                        baton_replica_state_name ((baton_replica_state_t) st), by_state[st]);
    }
    s_text_lit (t, "# HELP baton_replica_outstanding Requests routed through a replica and not yet "
                   "answered.\n# TYPE baton_replica_outstanding gauge\n");
    for (size_t f = 0; f < baton_config_function_count (gw->config); f++)
        for (size_t i = 0; i < baton_topology_count (gw->topo, f); i++) {
            const baton_replica_t *r = baton_topology_at (gw->topo, f, i);
            s_text_fmt (t, "baton_replica_outstanding{function=\"%s\",endpoint=\"",
                        baton_config_function (gw->config, f)->name);
            //  Endpoints come from announcements: keep label values clean.
            for (const char *p = r->endpoint; *p; p++)
                if (*p != '"' && *p != '\\' && *p != '\n')
                    s_text_put (t, p, 1);
            s_text_fmt (t, "\"} %" PRIu64 "\n", r->outstanding);
        }
}

static void
s_admin (s_conn_t *c, baton_slice_t path)
{
    baton_gateway_t *gw = c->gw;
    bool get = s_slice_is (c->req.method, "GET") || c->head_method;
    if (!get) {
        s_respond_error (c, 405, "the admin endpoints answer GET and HEAD", false,
                         "Allow: GET, HEAD\r\n");
        return;
    }
    char *text;
    if (s_slice_is (path, "/-/health")) {
        text = strdup ("ok\n");
        s_respond_plain (c, 200, "text/plain; charset=utf-8", text, 3);
    } else if (s_slice_is (path, "/-/ready")) {
        text = strdup (gw->draining ? "draining\n" : "ready\n");
        s_respond_plain (c, gw->draining ? 503 : 200, "text/plain; charset=utf-8", text,
                         strlen (text));
    } else if (s_slice_is (path, "/-/metrics")) {
        size_t len;
        text = baton_metrics_render (gw->metrics, gw->inflight, gw->connections, &len);
        s_text_t t = {text, len, len};
        s_topology_metrics (gw, &t);
        s_respond_plain (c, 200, "text/plain; version=0.0.4; charset=utf-8", t.data, t.len);
    } else if (s_slice_is (path, "/-/topology")) {
        size_t len;
        text = s_topology_json (gw, &len);
        s_respond_plain (c, 200, "application/json", text, len);
    } else if (s_slice_is (path, "/-/routes")) {
        s_text_t t = {NULL, 0, 0};
        s_text_lit (&t, "{\"routes\":[");
        for (size_t i = 0; i < baton_routes_count (gw->routes); i++) {
            const baton_config_route_t *r = baton_routes_at (gw->routes, i);
            s_text_str (&t, i ? ",{\"path\":" : "{\"path\":");
            s_json_str (&t, r->path);
            s_text_lit (&t, ",\"methods\":[");
            for (size_t m = 0; m < r->method_count; m++) {
                if (m)
                    s_text_lit (&t, ",");
                s_json_str (&t, r->methods[m]);
            }
            s_text_lit (&t, "],\"chain\":[");
            for (size_t f = 0; f < r->chain_len; f++) {
                if (f)
                    s_text_lit (&t, ",");
                s_json_str (&t, r->chain[f]->name);
            }
            s_text_fmt (&t, "],\"deadline_ms\":%" PRIu64 "}", r->deadline_ms);
        }
        s_text_lit (&t, "]}\n");
        s_respond_plain (c, 200, "application/json", t.data, t.len);
    } else
        s_respond_error (c, 404,
                         "admin endpoints: /-/health /-/ready /-/metrics /-/routes /-/topology",
                         false, NULL);
}

//  --- building and sending the envelope -------------------------------------------------

//  Starts a W3C traceparent for this request: the caller's trace id and
//  flags when its traceparent is valid, a new trace otherwise; our own span.
static void
s_traceparent (baton_gateway_t *gw, const baton_http_request_t *req, char out[56])
{
    static const char hex[] = "0123456789abcdef";
    char trace[33] = {0}, flags[3] = "01";
    for (size_t i = 0; i < req->header_count; i++) {
        const baton_header_t *h = &req->headers[i];
        if (!s_slice_is (h->name, "traceparent") || h->value.len != 55)
            continue;
        const char *v = h->value.ptr;
        bool ok = v[0] == '0' && v[1] == '0' && v[2] == '-' && v[35] == '-' && v[52] == '-';
        bool zero = true;
        for (int k = 3; k < 55 && ok; k++) {
            if (k == 35 || k == 52)
                continue;
            ok = (v[k] >= '0' && v[k] <= '9') || (v[k] >= 'a' && v[k] <= 'f');
            if (k < 35 && v[k] != '0')
                zero = false;
        }
        if (ok && !zero) {
            memcpy (trace, v + 3, 32);
            memcpy (flags, v + 53, 2);
        }
        break;
    }
    if (!trace[0])
        for (int k = 0; k < 32; k += 16) {
            uint64_t r = s_rand (gw);
            for (int b = 0; b < 16; b++, r >>= 4)
                trace[k + b] = hex[r & 15];
        }
    char span[17];
    uint64_t r = s_rand (gw) | 1; //  never all zeros
    for (int b = 0; b < 16; b++, r >>= 4)
        span[b] = hex[r & 15];
    span[16] = '\0';
    memcpy (out, "00-", 3);
    memcpy (out + 3, trace, 32);
    out[35] = '-';
    memcpy (out + 36, span, 16);
    out[52] = '-';
    memcpy (out + 53, flags, 2);
    out[55] = '\0';
}

static void s_send_envelope (s_conn_t *c);

static void
s_free_buf (void *data, void *hint)
{
    (void) hint;
    free (data);
}

//  Encodes env in one pass into a buffer that msg then owns (zero copy).
static int
s_encode_msg (const baton_envelope_t *env, zmq_msg_t *msg)
{
    void *buf;
    size_t len;
    if (baton_envelope_encode (env, &buf, &len) != 0)
        return -1;
    if (zmq_msg_init_data (msg, buf, len, s_free_buf, NULL) != 0) {
        free (buf);
        return -1;
    }
    return 0;
}

//  When to stop trying to hand an envelope to peer and answer 503.
static uint64_t
s_give_up_ms (const s_peer_t *peer)
{
    uint64_t now = s_mono_ms ();
    uint64_t handshake_end = peer->connected_ms + S_SEND_FIRST_TIMEOUT_MS;
    return now + S_SEND_TIMEOUT_MS > handshake_end ? now + S_SEND_TIMEOUT_MS : handshake_end;
}

//  The first hop's replica did not take the envelope at once (gone, not yet
//  connected, or full): if another replica of that function is alive, route
//  the envelope to it instead and send again. Returns true if it did.
static bool
s_failover (s_conn_t *c)
{
    baton_gateway_t *gw = c->gw;
    if (!c->env || c->tried_count >= sizeof c->tried / sizeof c->tried[0])
        return false;
    baton_replica_t *failed = c->hops[0];
    c->tried[c->tried_count++] = failed;
    baton_replica_t *alt =
        baton_topology_pick_except (gw->topo, failed->function, c->tried, c->tried_count);
    if (!alt)
        return false;
    //  Not taking a message is no verdict on a replica (it may be reconnecting
    //  after a restart); a dead one is found by its missing heartbeats.
    baton_topology_abandon (failed);
    baton_topology_acquire (alt);
    c->hops[0] = alt;
    c->out_peer = (s_peer_t *) alt->user;
    baton_envelope_route_set_endpoint (c->env, 0, alt->endpoint, strlen (alt->endpoint));
    zmq_msg_close (&c->out);
    c->out_live = s_encode_msg (c->env, &c->out) == 0;
    if (!c->out_live)
        return false;
    c->send_give_up_ms = s_give_up_ms (c->out_peer);
    s_send_envelope (c);
    return true;
}

static void
s_send_envelope (s_conn_t *c)
{
    baton_gateway_t *gw = c->gw;
    s_queue_remove (&gw->sends, c); //  a timer may send it before its turn
    int rc = zmq_msg_send (&c->out, c->out_peer->sock, ZMQ_DONTWAIT);
    int why = errno;
    if (rc < 0 && why == EAGAIN && s_failover (c))
        return;
    if (rc >= 0) {
        c->out_live = false; //  zmq owns it now
        baton_envelope_destroy (&c->env);
        c->state = S_WAITING;
        uint64_t now = s_mono_ms ();
        s_timer (c, c->deadline_ms > now ? c->deadline_ms - now : 0);
    } else if (why == EAGAIN && s_mono_ms () < c->send_give_up_ms) {
        c->state = S_SENDING;
        s_timer (c, S_SEND_RETRY_MS);
    } else {
        s_pending_remove (gw, c);
        s_release_hops (c, true);
        baton_metrics_reject (gw->metrics, BATON_REJECT_UNREACHABLE);
        char detail[160];
        snprintf (detail, sizeof detail, "function %s did not take the request (no live replica)",
                  c->route->chain[0]->name);
        c->state = S_BODY; //  no longer pending
        s_respond_error (c, 503, detail, false, "Retry-After: 1\r\n");
    }
    //  The reply socket is drained after every send (ZMQ_FD is edge-triggered):
    //  once, before the loop blocks, however many sends this turn made.
    gw->drain_owed = true;
    s_owe (gw);
}

//  The request is complete: finish its envelope and send it to the first hop.
static void
s_dispatch (s_conn_t *c)
{
    baton_gateway_t *gw = c->gw;
    baton_envelope_t *e = c->env;
    if (c->body_len)
        baton_envelope_set_body (e, c->body, c->body_len);
    if ((c->body_len && baton_envelope_body (e).len != c->body_len) ||
        s_encode_msg (e, &c->out) != 0) {
        s_release_hops (c, false);
        s_respond_error (c, 500, "out of memory", true, NULL);
        return;
    }
    c->out_live = true;
    //  The envelope is kept until the first hop takes it: another replica
    //  may have to be written into its route.
    c->tried_count = 0;
    s_pending_add (gw, c);
    c->state = S_SENDING;
    c->send_give_up_ms = s_give_up_ms (c->out_peer);
    //  Sent before the loop blocks, with every other envelope this loop turn
    //  made: libzmq's I/O thread, woken by the first, then finds the others
    //  already queued and writes them in one system call, instead of being
    //  woken again for each (a wake-up costs more than the send).
    s_queue_push (gw, &gw->sends, c);
}

//  Builds the envelope from the parsed head (copying what it needs, so the
//  head's bytes can go) and picks the replica of each hop. Returns 0, -1 when
//  out of memory, -2 when a function has no live replica (c->no_replica).
static int
s_envelope_begin (s_conn_t *c)
{
    baton_gateway_t *gw = c->gw;
    const baton_config_route_t *r = c->route;
    baton_envelope_t *e = baton_envelope_new ();
    if (!e)
        return -1;
    c->seq = ++gw->seq;
    char id[32];
    memcpy (id, gw->tag, 8);
    id[8] = '-';
    size_t n = 9;
    char digits[20];
    size_t d = 0;
    for (uint64_t v = c->seq; v || !d; v /= 10)
        digits[d++] = (char) ('0' + v % 10);
    while (d)
        id[n++] = digits[--d];
    baton_envelope_set_id (e, id, n);
    baton_envelope_set_reply_to (e, gw->reply_to, strlen (gw->reply_to));
    //  One live replica per hop, least outstanding first: the route the
    //  envelope carries is concrete, so no hop has to look anything up.
    c->hop_count = 0;
    for (size_t i = 0; i < r->chain_len; i++) {
        const baton_config_function_t *fn = r->chain[i];
        baton_replica_t *rep = baton_topology_pick (gw->topo, fn->index);
        if (!rep) {
            s_release_hops (c, false);
            baton_envelope_destroy (&e);
            c->no_replica = fn->name;
            return -2;
        }
        baton_topology_acquire (rep);
        c->hops[c->hop_count++] = rep;
        if (i == 0)
            c->out_peer = (s_peer_t *) rep->user;
        baton_envelope_route_append (e, fn->name, strlen (fn->name), rep->endpoint,
                                     strlen (rep->endpoint));
    }
    baton_envelope_set_budget (e, r->chain_len);
    c->deadline_ms = (baton__mono_us () + 999) / 1000 + r->deadline_ms; //  never before it
    baton_envelope_set_deadline_ms (e, baton__wall_ms () + r->deadline_ms);
    char tp[56];
    s_traceparent (gw, &c->req, tp);
    baton_envelope_set_traceparent (e, tp, 55);
    baton_envelope_set_request (e, c->req.method.ptr, c->req.method.len, c->req.target.ptr,
                                c->req.target.len);
    for (size_t i = 0; i < c->req.header_count; i++) {
        const baton_header_t *h = &c->req.headers[i];
        baton_envelope_request_add_header (e, h->name.ptr, h->name.len, h->value.ptr, h->value.len);
    }
    c->env = e;
    return 0;
}

//  --- reading requests --------------------------------------------------------------------

static void
s_consume (s_conn_t *c, size_t n)
{
    memmove (c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static baton_reject_t
s_reject_reason (int status)
{
    switch (status) {
    case 413:
        return BATON_REJECT_BODY_TOO_BIG;
    case 414:
        return BATON_REJECT_URI_TOO_LONG;
    case 417:
        return BATON_REJECT_EXPECTATION;
    case 431:
        return BATON_REJECT_HEADERS_TOO_BIG;
    case 501:
        return BATON_REJECT_NOT_IMPLEMENTED;
    case 505:
        return BATON_REJECT_VERSION;
    default:
        return BATON_REJECT_BAD_REQUEST;
    }
}

static void
s_reject (s_conn_t *c, const baton_http_error_t *err)
{
    baton_metrics_reject (c->gw->metrics, s_reject_reason (err->status));
    char detail[200];
    snprintf (detail, sizeof detail, "%s (at byte %zu)", err->reason, err->offset);
    baton__log (BATON_LOG_INFO, S_COMP, "request rejected", "status=%d reason=\"%s\" offset=%zu",
                err->status, err->reason, err->offset);
    c->keep_alive = false;
    s_respond_error (c, (unsigned) err->status, detail, true, NULL);
}

//  The path of the target, without query; absolute-form keeps what follows
//  the authority.
static baton_slice_t
s_target_path (const baton_http_request_t *req)
{
    const char *p = req->target.ptr, *end = p + req->target.len;
    if (req->form == BATON_HTTP_FORM_ABSOLUTE) {
        const char *scheme = memchr (p, ':', (size_t) (end - p));
        p = scheme ? scheme + 3 : end;
        while (p < end && *p != '/' && *p != '?')
            p++;
        if (p == end || *p == '?')
            return (baton_slice_t){"/", 1};
    }
    const char *q = memchr (p, '?', (size_t) (end - p));
    return (baton_slice_t){p, (size_t) ((q ? q : end) - p)};
}

static void s_route_head (s_conn_t *c);

//  The head is parsed: route it, and either answer now or start the body.
//  The head's bytes are consumed here whatever the outcome; what outlives
//  them is copied first (the envelope, the access log's method and target).
static void
s_on_head (s_conn_t *c, size_t head_len)
{
    if (baton__log_enabled (BATON_LOG_INFO)) {
        size_t m = c->req.method.len < 23 ? c->req.method.len : 23;
        size_t t = c->req.target.len < 159 ? c->req.target.len : 159;
        memcpy (c->log_method, c->req.method.ptr, m);
        c->log_method[m] = '\0';
        memcpy (c->log_target, c->req.target.ptr, t);
        c->log_target[t] = '\0';
    }
    s_route_head (c);
    if (c->state != S_CLOSING)
        s_consume (c, head_len);
    if (c->state == S_BODY)
        s_on_body (c);
}

static void
s_route_head (s_conn_t *c)
{
    baton_gateway_t *gw = c->gw;
    c->t_start_us = baton__wall_us ();
    c->keep_alive = c->req.keep_alive;
    c->head_method = s_slice_is (c->req.method, "HEAD");
    c->route = NULL;
    c->chunked_body = c->req.body == BATON_HTTP_BODY_CHUNKED;
    c->content_length = c->req.body == BATON_HTTP_BODY_LENGTH ? c->req.content_length : 0;
    bool has_body = c->chunked_body || c->content_length > 0;
    baton_slice_t path = s_target_path (&c->req);
    if (c->admin) {
        //  Admin requests carry no body we would read: never keep such a
        //  connection, so a body is never taken for the next request.
        if (has_body)
            c->keep_alive = false;
        s_admin (c, path);
        return;
    }
    if (gw->draining) {
        c->keep_alive = false;
        s_respond_error (c, 503, "the gateway is shutting down", true, "Retry-After: 1\r\n");
        return;
    }
    baton_route_result_t res = baton_routes_match (gw->routes, c->req.method.ptr, c->req.method.len,
                                                   path.ptr, path.len, &c->match);
    if (res != BATON_ROUTE_FOUND) {
        //  We answer before reading any body: close rather than read it.
        if (has_body)
            c->keep_alive = false;
        char detail[300];
        snprintf (detail, sizeof detail, "no route for %.*s %.*s", (int) c->req.method.len,
                  c->req.method.ptr, (int) (path.len > 200 ? 200 : path.len), path.ptr);
        if (res == BATON_ROUTE_NOT_FOUND) {
            baton_metrics_reject (gw->metrics, BATON_REJECT_NO_ROUTE);
            s_respond_error (c, 404, detail, false, NULL);
        } else {
            baton_metrics_reject (gw->metrics, BATON_REJECT_METHOD);
            char allow[BATON_ROUTES_ALLOW_MAX + 16];
            char value[BATON_ROUTES_ALLOW_MAX];
            baton_routes_allow (gw->routes, c->match.allow, value, sizeof value);
            snprintf (allow, sizeof allow, "Allow: %s\r\n", value);
            s_respond_error (c, 405, detail, false, allow);
        }
        return;
    }
    c->route = c->match.route;
    if (gw->inflight >= gw->gcfg->max_inflight) {
        baton_metrics_reject (gw->metrics, BATON_REJECT_OVERLOAD);
        if (has_body)
            c->keep_alive = false;
        s_respond_error (c, 503, "too many requests in flight", false, "Retry-After: 1\r\n");
        return;
    }
    int rc = s_envelope_begin (c);
    if (rc == -2) {
        baton_metrics_reject (gw->metrics, BATON_REJECT_UNREACHABLE);
        if (has_body)
            c->keep_alive = false;
        char detail[160];
        snprintf (detail, sizeof detail, "function %s has no live replica", c->no_replica);
        s_respond_error (c, 503, detail, false, "Retry-After: 1\r\n");
        return;
    }
    if (rc < 0) {
        s_respond_error (c, 500, "out of memory", true, NULL);
        return;
    }
    if (c->req.expect_continue && has_body) {
        //  Tell the client to go on; the body limit was already checked.
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init (cont, sizeof cont - 1);
        uv_try_write ((uv_stream_t *) &c->tcp, &b, 1);
    }
    if (!has_body) {
        s_dispatch (c);
        return;
    }
    c->state = S_BODY;
    c->body_len = 0;
    c->body_deadline_ms = s_mono_ms () + gw->lcfg->body_timeout_ms;
    s_timer (c, gw->lcfg->body_timeout_ms);
    if (c->chunked_body)
        baton_http_chunked_init (&c->chunked, &gw->http_limits);
}

static void
s_body_append (s_conn_t *c, const char *data, size_t len)
{
    if (c->body_cap - c->body_len < len) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap - c->body_len < len)
            cap *= 2;
        c->body = (char *) realloc (c->body, cap);
        if (!c->body)
            abort ();
        c->body_cap = cap;
    }
    memcpy (c->body + c->body_len, data, len);
    c->body_len += len;
}

//  Reads as much of the body as the buffer holds; dispatches once complete.
static void
s_on_body (s_conn_t *c)
{
    if (!c->chunked_body) {
        if (c->len < c->content_length)
            return;
        s_body_append (c, c->buf, (size_t) c->content_length);
        s_consume (c, (size_t) c->content_length);
        s_dispatch (c);
        return;
    }
    size_t pos = 0;
    while (true) {
        baton_slice_t data;
        baton_http_error_t err;
        ptrdiff_t n =
            baton_http_chunked_decode (&c->chunked, c->buf + pos, c->len - pos, &data, &err);
        if (n == BATON_HTTP_ERROR) {
            s_consume (c, c->len);
            s_reject (c, &err);
            return;
        }
        pos += (size_t) n;
        if (data.len)
            s_body_append (c, data.ptr, data.len);
        if (baton_http_chunked_done (&c->chunked)) {
            s_consume (c, pos);
            s_dispatch (c);
            return;
        }
        if (pos == c->len || (n == 0 && !data.len))
            break;
    }
    s_consume (c, pos);
}

//  Makes progress on whatever the buffer holds, in the connection's state.
static void
s_process (s_conn_t *c)
{
    baton_gateway_t *gw = c->gw;
    if (c->state == S_IDLE) {
        if (c->len == 0) {
            if (c->peer_eof) {
                s_close (c);
                return;
            }
            s_timer (c, gw->lcfg->idle_timeout_ms);
            return;
        }
        c->state = S_HEAD;
        s_timer (c, gw->lcfg->header_timeout_ms);
    }
    if (c->state == S_HEAD) {
        baton_http_error_t err;
        ptrdiff_t n = baton_http_parser_parse (&c->parser, c->buf, c->len, &c->req, c->headers,
                                               c->header_cap, &err);
        if (n == BATON_HTTP_NEED_MORE) {
            if (c->peer_eof)
                s_close (c); //  the client ended mid-head: nobody to answer
            return;
        }
        if (n == BATON_HTTP_ERROR) {
            s_reject (c, &err);
            return;
        }
        s_on_head (c, (size_t) n);
        return;
    }
    if (c->state == S_BODY) {
        s_on_body (c);
        if (c->state == S_BODY && c->peer_eof)
            s_close (c);
    }
}

static void
s_on_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void) suggested;
    s_conn_t *c = (s_conn_t *) h->data;
    if (c->cap - c->len < S_READ_CHUNK && c->cap < c->max) {
        size_t cap = c->cap * 2;
        while (cap - c->len < S_READ_CHUNK && cap < c->max)
            cap *= 2;
        if (cap > c->max)
            cap = c->max;
        char *p = (char *) realloc (c->buf, cap);
        if (p) {
            c->buf = p;
            c->cap = cap;
        }
    }
    *buf = uv_buf_init (c->buf + c->len, (unsigned) (c->cap - c->len));
}

static void
s_on_read (uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void) buf;
    s_conn_t *c = (s_conn_t *) s->data;
    if (n == 0 || c->state == S_CLOSING)
        return;
    if (n < 0) {
        if (n != UV_EOF) {
            s_close (c);
            return;
        }
        //  EOF: finish what is buffered, answer it if we can, then close.
        c->peer_eof = true;
        if (c->state == S_LINGER) {
            s_close (c);
            return;
        }
        uv_read_stop (s);
        c->reading = false;
        if (c->state == S_WAITING || c->state == S_SENDING) {
            //  A client that half-closes while waiting is treated as gone.
            s_close (c);
            return;
        }
        if (c->state == S_IDLE || c->state == S_HEAD || c->state == S_BODY)
            s_process (c);
        return;
    }
    if (c->state == S_LINGER) {
        c->len = 0; //  nothing more is read as a request
        return;
    }
    c->len += (size_t) n;
    if (c->state == S_IDLE || c->state == S_HEAD || c->state == S_BODY)
        s_process (c);
    //  A full buffer while we wait or write: stop reading until we catch up.
    if (c->state != S_CLOSING && c->len == c->cap && c->cap >= c->max && c->reading) {
        uv_read_stop (s);
        c->reading = false;
    }
}

static void
s_on_timer (uv_timer_t *t)
{
    s_conn_t *c = (s_conn_t *) t->data;
    baton_gateway_t *gw = c->gw;
    switch (c->state) {
    case S_IDLE:
        s_close (c); //  idle keep-alive timeout
        break;
    case S_HEAD:
        baton_metrics_reject (gw->metrics, BATON_REJECT_HEADER_TIMEOUT);
        baton__log (BATON_LOG_INFO, S_COMP, "header timeout", "received=%zu", c->len);
        s_close (c);
        break;
    case S_BODY:
        baton_metrics_reject (gw->metrics, BATON_REJECT_BODY_TIMEOUT);
        c->keep_alive = false;
        s_respond_error (c, 408, "the body did not arrive in time", true, NULL);
        break;
    case S_LINGER:
        s_close (c);
        break;
    case S_SENDING:
        s_send_envelope (c);
        break;
    case S_WAITING: {
        uint64_t now = s_mono_ms ();
        if (now < c->deadline_ms) {
            s_timer (c, c->deadline_ms - now); //  a 504 never comes before the deadline
            break;
        }
        s_pending_remove (gw, c);
        s_release_hops (c, true);
        baton_metrics_timeout (gw->metrics);
        char detail[160];
        snprintf (detail, sizeof detail, "no reply from the chain within %" PRIu64 " ms",
                  c->route->deadline_ms);
        c->state = S_BODY;
        s_respond_error (c, 504, detail, false, NULL);
        break;
    }
    default:
        break;
    }
}

static void
s_on_connection (uv_stream_t *server, int status)
{
    baton_gateway_t *gw = (baton_gateway_t *) server->data;
    //  While draining, the public listener is closed but the admin one still
    //  accepts, so /-/ready can answer 503. (A connection left unaccepted would
    //  also make libuv stop watching the listener: every later probe hangs.)
    if (status < 0 || (gw->draining && server != (uv_stream_t *) &gw->admin))
        return;
    s_conn_t *c = (s_conn_t *) calloc (1, sizeof *c);
    if (!c)
        return;
    c->gw = gw;
    c->admin = server == (uv_stream_t *) &gw->admin;
    uv_tcp_init (gw->loop, &c->tcp);
    uv_timer_init (gw->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->next = gw->conns;
    if (gw->conns)
        gw->conns->prev = c;
    gw->conns = c;
    gw->connections++;
    if (uv_accept (server, (uv_stream_t *) &c->tcp) < 0) {
        s_close (c);
        return;
    }
    uv_tcp_nodelay (&c->tcp, 1);
    const baton_config_limits_t *l = gw->lcfg;
    c->max = l->request_line + l->header_block + l->body + S_READ_CHUNK;
    c->cap = S_BUF_MIN;
    c->buf = (char *) s_alloc (c->cap);
    c->header_cap = l->header_count < S_MAX_HEADERS_CAP ? l->header_count : S_MAX_HEADERS_CAP;
    c->headers = (baton_header_t *) s_alloc (c->header_cap * sizeof (baton_header_t));
    baton_http_parser_init (&c->parser, &gw->http_limits);
    c->state = S_IDLE;
    c->reading = uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) == 0;
    s_timer (c, l->header_timeout_ms);
    c->state = S_HEAD; //  a new connection owes us a request head
}

//  --- replies ------------------------------------------------------------------------------

static void
s_on_reply (baton_gateway_t *gw, zmq_msg_t *msg)
{
    int err;
    baton_envelope_t *env =
        baton_envelope_decode (zmq_msg_data (msg), zmq_msg_size (msg), NULL, &err);
    if (!env) {
        static baton_ratelimit_t rl = BATON_RATELIMIT_INIT (5, 1000);
        baton_metrics_bad_reply (gw->metrics);
        if (baton__ratelimit_allow (&rl))
            baton__log (BATON_LOG_WARN, S_COMP, "reply dropped: does not decode", "error=%s",
                        baton_errname (err));
        return;
    }
    baton_slice_t id = baton_envelope_id (env);
    uint64_t seq = 0;
    bool ok = id.len > 9 && id.len < 30 && memcmp (id.ptr, gw->tag, 8) == 0 && id.ptr[8] == '-';
    for (size_t i = 9; ok && i < id.len; i++) {
        ok = id.ptr[i] >= '0' && id.ptr[i] <= '9';
        seq = seq * 10 + (uint64_t) (id.ptr[i] - '0');
    }
    s_conn_t *c = ok ? s_pending_find (gw, seq) : NULL;
    if (!c || c->state != S_WAITING) {
        baton__log (BATON_LOG_DEBUG, S_COMP, "late reply", "id=%.*s found=%d state=%d",
                    (int) id.len, id.ptr, c != NULL, c ? (int) c->state : -1);
        baton_metrics_late_reply (gw->metrics);
        baton_envelope_destroy (&env);
        return;
    }
    s_pending_remove (gw, c);
    s_release_hops (c, false);
    s_respond_envelope (c, env);
}

//  Takes every message waiting on sock and hands each to on_msg. ZMQ_FD is
//  edge-triggered: after a wake-up (or a send) everything must be drained,
//  or no wake-up comes for what is left. The receive that fails with EAGAIN
//  ends it: it has first processed the socket's pending commands and left
//  its pipes and mailbox asleep, so the next message signals the fd again.
//  (No ZMQ_EVENTS check per message: each costs a poll and a getpid.)
static void
s_drain (baton_gateway_t *gw, void *sock, void (*on_msg) (baton_gateway_t *, zmq_msg_t *))
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (sock) {
        if (zmq_msg_recv (&msg, sock, ZMQ_DONTWAIT) < 0) {
            if (errno == EINTR)
                continue; //  a signal during the mailbox check: not the end
            break;
        }
        on_msg (gw, &msg);
    }
    zmq_msg_close (&msg);
}

static void
s_drain_replies (baton_gateway_t *gw)
{
    gw->drain_owed = false; //  this drain comes after every send so far
    s_drain (gw, gw->reply_sock, s_on_reply);
}

//  Runs before the loop blocks for I/O, while work is owed: the envelopes
//  this turn made, to their first hops; the completions of responses that
//  went out at once; then the drain owed since the last send. Each can owe
//  more of the others (a completion serves a pipelined request, whose
//  envelope is queued; a reply is written at once); it loops, never recurses,
//  until nothing is owed, so no send is ever followed by a wait undrained.
static void
s_on_before_poll (uv_prepare_t *p)
{
    baton_gateway_t *gw = (baton_gateway_t *) p->data;
    while (gw->sends.head || gw->written.head || gw->drain_owed) {
        s_conn_t *c;
        while ((c = s_queue_pop (&gw->sends)))
            s_send_envelope (c);
        while ((c = s_queue_pop (&gw->written)))
            s_write_done (c, 0);
        if (gw->drain_owed)
            s_drain_replies (gw);
    }
    uv_prepare_stop (p);
}

static void
s_on_reply_ready (uv_poll_t *p, int status, int events)
{
    (void) status;
    (void) events;
    s_drain_replies ((baton_gateway_t *) p->data);
}

//  --- lifecycle -----------------------------------------------------------------------------

static int
s_bind (baton_gateway_t *gw, uv_tcp_t *tcp, const baton_config_addr_t *addr, int *port, char *err,
        size_t errlen)
{
    struct sockaddr_storage ss;
    const char *host = strcmp (addr->host, "localhost") == 0 ? "127.0.0.1" : addr->host;
    if (uv_ip4_addr (host, addr->port, (struct sockaddr_in *) &ss) != 0 &&
        uv_ip6_addr (host, addr->port, (struct sockaddr_in6 *) &ss) != 0) {
        snprintf (err, errlen, "%s: not an IP address (use a numeric address)", addr->text);
        return -1;
    }
    uv_tcp_init (gw->loop, tcp);
    tcp->data = gw;
    int rc = uv_tcp_bind (tcp, (const struct sockaddr *) &ss, 0);
    if (rc == 0)
        rc = uv_listen ((uv_stream_t *) tcp, 1024, s_on_connection);
    if (rc != 0) {
        snprintf (err, errlen, "cannot listen on %s: %s", addr->text, uv_strerror (rc));
        return -1;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname (tcp, (struct sockaddr *) &bound, &len);
    *port = ntohs (bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &bound)->sin6_port
                                               : ((struct sockaddr_in *) &bound)->sin_port);
    return 0;
}

static void *
s_push_socket (baton_gateway_t *gw, const char *endpoint)
{
    void *sock = zmq_socket (gw->zctx, ZMQ_PUSH);
    if (!sock)
        return NULL;
    int one = 1, zero = 0, hwm = 10000;
    zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    //  A replica that restarts on its endpoint is reconnected within 10 ms,
    //  backing off to 1 s while it stays away.
    int ivl = 10, ivl_max = 1000;
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    if (zmq_connect (sock, endpoint) != 0) {
        zmq_close (sock);
        return NULL;
    }
    return sock;
}

//  The socket for a replica's endpoint: one per distinct endpoint, created on
//  first use and connected at once, so the first request does not wait for
//  the handshake. NULL if the endpoint does not connect.
static s_peer_t *
s_peer (baton_gateway_t *gw, const char *endpoint)
{
    for (s_peer_t *p = gw->peers; p; p = p->next)
        if (strcmp (p->endpoint, endpoint) == 0)
            return p;
    void *sock = s_push_socket (gw, endpoint);
    if (!sock)
        return NULL;
    size_t n = strlen (endpoint);
    s_peer_t *p = (s_peer_t *) s_alloc (sizeof (s_peer_t) + n + 1);
    memcpy (p->endpoint, endpoint, n + 1);
    p->sock = sock;
    p->connected_ms = s_mono_ms ();
    p->next = gw->peers;
    gw->peers = p;
    return p;
}

static void
s_log_replica (const baton_gateway_t *gw, const baton_replica_t *r, const char *what,
               baton_log_level_t level)
{
    const baton_config_function_t *fn = baton_config_function (gw->config, r->function);
    char ep[300];
    baton__log (level, S_COMP, what, "fn=%s endpoint=%s instance=%s pid=%" PRIu64 " host=%s",
                fn->name, baton__log_quote (ep, sizeof ep, r->endpoint, strlen (r->endpoint)),
                r->instance[0] ? r->instance : "static", r->pid, r->host[0] ? r->host : "-");
}

static void
s_on_control (baton_gateway_t *gw, zmq_msg_t *msg)
{
    const void *data = zmq_msg_data (msg);
    size_t len = zmq_msg_size (msg);
    static baton_ratelimit_t rl = BATON_RATELIMIT_INIT (5, 1000);
    baton_control_msg_t m;
    int rc = baton__control_decode (data, len, &m);
    if (rc) {
        if (baton__ratelimit_allow (&rl))
            baton__log (BATON_LOG_WARN, S_COMP, "control message dropped", "error=%s size=%zu",
                        baton_errname (rc), len);
        return;
    }
    baton_replica_t *r;
    baton_topo_event_t ev = baton_topology_apply (gw->topo, &m, s_mono_ms (), &r);
    if (ev == BATON_TOPO_ADDED || ev == BATON_TOPO_REVIVED) {
        s_peer_t *p = s_peer (gw, r->endpoint);
        if (!p) {
            //  An endpoint we cannot even connect to is no replica.
            r->state = BATON_REPLICA_DEAD;
            s_log_replica (gw, r, "announced endpoint does not connect", BATON_LOG_WARN);
            return;
        }
        r->user = p;
        s_log_replica (gw, r, ev == BATON_TOPO_ADDED ? "replica joined" : "replica back",
                       BATON_LOG_INFO);
    } else if (ev == BATON_TOPO_REMOVED)
        s_log_replica (gw, r, "replica left (goodbye)", BATON_LOG_INFO);
    else if (ev == BATON_TOPO_FULL && baton__ratelimit_allow (&rl))
        baton__log (BATON_LOG_WARN, S_COMP, "announce refused: too many replicas", "fn=%s max=%d",
                    m.function, BATON_TOPOLOGY_MAX_REPLICAS);
    else if (ev == BATON_TOPO_IGNORED && m.type == BATON_CONTROL_ANNOUNCE &&
             baton__ratelimit_allow (&rl))
        baton__log (BATON_LOG_WARN, S_COMP, "announce ignored: no such function in the config",
                    "fn=%s", m.function);
}

static void
s_drain_control (baton_gateway_t *gw)
{
    s_drain (gw, gw->control_sock, s_on_control);
}

static void
s_on_control_ready (uv_poll_t *p, int status, int events)
{
    (void) status;
    (void) events;
    s_drain_control ((baton_gateway_t *) p->data);
}

static void
s_on_replica_change (baton_replica_t *r, void *arg)
{
    s_log_replica ((baton_gateway_t *) arg, r,
                   r->state == BATON_REPLICA_DEAD ? "replica dead (missed heartbeats)"
                                                  : "replica back in rotation",
                   BATON_LOG_INFO);
}

static void
s_on_topo_tick (uv_timer_t *t)
{
    baton_gateway_t *gw = (baton_gateway_t *) t->data;
    baton_topology_tick (gw->topo, s_mono_ms (), s_on_replica_change, gw);
}

static int
s_setup_zmq (baton_gateway_t *gw, char *err, size_t errlen)
{
    gw->zctx = zmq_ctx_new ();
    gw->reply_sock = zmq_socket (gw->zctx, ZMQ_PULL);
    int zero = 0, hwm = 100000;
    int64_t maxsize = (int64_t) gw->lcfg->body + (1 << 20);
    zmq_setsockopt (gw->reply_sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (gw->reply_sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (gw->reply_sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    if (zmq_bind (gw->reply_sock, gw->gcfg->reply) != 0) {
        snprintf (err, errlen, "cannot bind the reply socket at %s: %s", gw->gcfg->reply,
                  zmq_strerror (errno));
        return -1;
    }
    //  What we bound, with a wildcard port filled in; a wildcard host is no
    //  address to send to, so it is written as loopback (set gateway.reply
    //  to a routable address when hops run on other hosts).
    char bound[256];
    size_t blen = sizeof bound;
    if (zmq_getsockopt (gw->reply_sock, ZMQ_LAST_ENDPOINT, bound, &blen) != 0 || blen < 2)
        snprintf (bound, sizeof bound, "%s", gw->gcfg->reply);
    const char *any = strstr (bound, "0.0.0.0");
    if (any)
        snprintf (gw->reply_to, sizeof gw->reply_to, "%.*s127.0.0.1%s", (int) (any - bound), bound,
                  any + 7);
    else
        snprintf (gw->reply_to, sizeof gw->reply_to, "%s", bound);
    //  The static replicas of the config, connected now.
    for (size_t f = 0; f < baton_config_function_count (gw->config); f++)
        for (size_t i = 0; i < baton_topology_count (gw->topo, f); i++) {
            baton_replica_t *r = baton_topology_at (gw->topo, f, i);
            s_peer_t *p = s_peer (gw, r->endpoint);
            if (!p) {
                snprintf (err, errlen, "function %s: cannot connect to %s: %s",
                          baton_config_function (gw->config, f)->name, r->endpoint,
                          zmq_strerror (errno));
                return -1;
            }
            r->user = p;
        }
    int fd;
    size_t fdlen = sizeof fd;
    zmq_getsockopt (gw->reply_sock, ZMQ_FD, &fd, &fdlen);
    uv_poll_init (gw->loop, &gw->reply_poll, fd);
    gw->reply_poll.data = gw;
    uv_poll_start (&gw->reply_poll, UV_READABLE, s_on_reply_ready);
    if (gw->gcfg->control) {
        gw->control_sock = zmq_socket (gw->zctx, ZMQ_PULL);
        int64_t max_control = BATON_CONTROL_MAX_SIZE;
        zmq_setsockopt (gw->control_sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt (gw->control_sock, ZMQ_MAXMSGSIZE, &max_control, sizeof max_control);
        if (zmq_bind (gw->control_sock, gw->gcfg->control) != 0) {
            snprintf (err, errlen, "cannot bind the control socket at %s: %s", gw->gcfg->control,
                      zmq_strerror (errno));
            return -1;
        }
        zmq_getsockopt (gw->control_sock, ZMQ_FD, &fd, &fdlen);
        uv_poll_init (gw->loop, &gw->control_poll, fd);
        gw->control_poll.data = gw;
        uv_poll_start (&gw->control_poll, UV_READABLE, s_on_control_ready);
    }
    uv_timer_start (&gw->topo_timer, s_on_topo_tick, 50, 50);
    return 0;
}

baton_gateway_t *
baton_gateway_new (const baton_config_t *config, uv_loop_t *loop, char *err, size_t errlen)
{
    baton_gateway_t *gw = (baton_gateway_t *) calloc (1, sizeof *gw);
    if (!gw)
        abort ();
    gw->config = config;
    gw->loop = loop ? loop : uv_default_loop ();
    //  libuv writes to sockets with write (2), not send (MSG_NOSIGNAL): a
    //  client that resets while its response is being written would kill the
    //  process with SIGPIPE. Ignored, the write fails with EPIPE instead.
    signal (SIGPIPE, SIG_IGN);
    gw->gcfg = baton_config_gateway (config);
    gw->lcfg = baton_config_limits (config);
    gw->http_limits = baton_http_limits_default ();
    gw->http_limits.max_request_line = gw->lcfg->request_line;
    gw->http_limits.max_header_bytes = gw->lcfg->header_block;
    gw->http_limits.max_headers = gw->lcfg->header_count;
    gw->http_limits.max_body = gw->lcfg->body;
    //  Without a control endpoint no replica can announce itself: a route
    //  whose function has no static endpoint could only ever answer 503.
    for (size_t i = 0;
         !baton_config_gateway (config)->control && i < baton_config_route_count (config); i++) {
        const baton_config_route_t *r = baton_config_route (config, i);
        for (size_t k = 0; k < r->chain_len; k++)
            if (r->chain[k]->endpoint_count == 0) {
                snprintf (
                    err, errlen,
                    "%s:%zu: route %s: function %s has no endpoints (set functions.%s.endpoints, "
                    "or gateway.control for replicas to announce themselves)",
                    baton_config_name (config), r->line, r->path, r->chain[k]->name,
                    r->chain[k]->name);
                free (gw);
                return NULL;
            }
    }
    uint64_t seed[2];
    if (getrandom (seed, sizeof seed, 0) != (ssize_t) sizeof seed) {
        seed[0] = baton__wall_us ();
        seed[1] = (uint64_t) getpid () * 0x9E3779B97F4A7C15ull;
    }
    gw->rng[0] = seed[0] | 1;
    gw->rng[1] = seed[1];
    snprintf (gw->tag, sizeof gw->tag, "%08" PRIx32, (uint32_t) s_rand (gw));
    size_t slots = 1024;
    while (slots < (size_t) gw->gcfg->max_inflight * 2 && slots < (1u << 24))
        slots *= 2;
    gw->pending = (s_conn_t **) calloc (slots, sizeof (s_conn_t *));
    if (!gw->pending)
        abort ();
    gw->pending_mask = slots - 1;
    gw->routes = baton_routes_new (config);
    gw->metrics = baton_metrics_new (config);
    gw->topo = baton_topology_new (config, NULL);
    uv_timer_init (gw->loop, &gw->topo_timer);
    gw->topo_timer.data = gw;
    uv_timer_init (gw->loop, &gw->drain_timer);
    gw->drain_timer.data = gw;
    uv_prepare_init (gw->loop, &gw->before_poll);
    gw->sends.link = offsetof (s_conn_t, send_link);
    gw->written.link = offsetof (s_conn_t, written_link);
    gw->before_poll.data = gw;
    if (s_setup_zmq (gw, err, errlen) < 0 ||
        s_bind (gw, &gw->listener, &gw->gcfg->listen, &gw->port, err, errlen) < 0 ||
        s_bind (gw, &gw->admin, &gw->gcfg->admin, &gw->admin_port, err, errlen) < 0) {
        baton_gateway_shutdown (gw);
        uv_run (gw->loop, UV_RUN_DEFAULT);
        baton_gateway_destroy (&gw);
        return NULL;
    }
    baton__log (BATON_LOG_INFO, S_COMP, "listening",
                "http=%s:%d admin=%s:%d reply=%s control=%s id=%s", gw->gcfg->listen.host, gw->port,
                gw->gcfg->admin.host, gw->admin_port, gw->reply_to,
                gw->gcfg->control ? gw->gcfg->control : "-", gw->tag);
    return gw;
}

int
baton_gateway_port (const baton_gateway_t *self)
{
    return self->port;
}

int
baton_gateway_admin_port (const baton_gateway_t *self)
{
    return self->admin_port;
}

static void
s_close_handle (uv_handle_t *h)
{
    if (h->loop && !uv_is_closing (h) && h->type != UV_UNKNOWN_HANDLE)
        uv_close (h, NULL);
}

//  Closes everything once nothing is left to wait for.
static void
s_maybe_finish (baton_gateway_t *gw)
{
    if (!gw->draining || gw->closed)
        return;
    //  Connections not waiting on a chain have nothing in flight: close them.
    for (s_conn_t *c = gw->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == S_IDLE || c->state == S_HEAD || c->state == S_BODY || c->state == S_LINGER)
            s_close (c);
    }
    if (gw->inflight > 0 || gw->conns)
        return;
    gw->closed = true;
    uv_timer_stop (&gw->drain_timer);
    s_close_handle ((uv_handle_t *) &gw->drain_timer);
    s_close_handle ((uv_handle_t *) &gw->before_poll);
    s_close_handle ((uv_handle_t *) &gw->admin);
    s_close_handle ((uv_handle_t *) &gw->reply_poll);
    s_close_handle ((uv_handle_t *) &gw->control_poll);
    uv_timer_stop (&gw->topo_timer);
    s_close_handle ((uv_handle_t *) &gw->topo_timer);
    if (gw->signals) {
        s_close_handle ((uv_handle_t *) &gw->sigint);
        s_close_handle ((uv_handle_t *) &gw->sigterm);
    }
    baton__log (BATON_LOG_INFO, S_COMP, "stopped", NULL);
}

static void
s_on_drain_timeout (uv_timer_t *t)
{
    baton_gateway_t *gw = (baton_gateway_t *) t->data;
    baton__log (BATON_LOG_WARN, S_COMP, "drain time is up: closing what is left",
                "inflight=%" PRIu64, gw->inflight);
    for (s_conn_t *c = gw->conns, *next; c; c = next) {
        next = c->next;
        s_close (c);
    }
    s_maybe_finish (gw);
}

void
baton_gateway_shutdown (baton_gateway_t *self)
{
    if (self->draining)
        return;
    self->draining = true;
    baton__log (BATON_LOG_INFO, S_COMP, "draining", "inflight=%" PRIu64 " connections=%" PRIu64,
                self->inflight, self->connections);
    s_close_handle ((uv_handle_t *) &self->listener);
    uv_timer_start (&self->drain_timer, s_on_drain_timeout, self->gcfg->drain_ms, 0);
    s_maybe_finish (self);
}

static void
s_on_signal (uv_signal_t *s, int signum)
{
    baton__log (BATON_LOG_INFO, S_COMP, "signal", "signal=%s",
                signum == SIGTERM ? "SIGTERM" : "SIGINT");
    baton_gateway_shutdown ((baton_gateway_t *) s->data);
}

int
baton_gateway_handle_signals (baton_gateway_t *self)
{
    uv_signal_init (self->loop, &self->sigint);
    uv_signal_init (self->loop, &self->sigterm);
    self->sigint.data = self->sigterm.data = self;
    uv_signal_start (&self->sigint, s_on_signal, SIGINT);
    uv_signal_start (&self->sigterm, s_on_signal, SIGTERM);
    self->signals = true;
    return 0;
}

void
baton_gateway_destroy (baton_gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_gateway_t *gw = *self_p;
    for (s_peer_t *p = gw->peers, *next; p; p = next) {
        next = p->next;
        zmq_close (p->sock);
        free (p);
    }
    if (gw->reply_sock)
        zmq_close (gw->reply_sock);
    if (gw->control_sock)
        zmq_close (gw->control_sock);
    if (gw->zctx)
        zmq_ctx_term (gw->zctx);
    baton_topology_destroy (&gw->topo);
    free (gw->pending);
    baton_routes_destroy (&gw->routes);
    baton_metrics_destroy (&gw->metrics);
    free (gw);
    *self_p = NULL;
}

//  --- the command ----------------------------------------------------------------------------

static void
s_gateway_usage (FILE *out)
{
    fputs ("usage: baton gateway -c FILE\n"
           "\n"
           "Runs the edge gateway described by FILE (YAML, see docs/gateway.md) until\n"
           "SIGINT or SIGTERM, then stops accepting, lets in-flight requests finish\n"
           "(gateway.drain) and exits 0.\n"
           "\n"
           "  -c, --config FILE   the configuration (required)\n"
           "  -h, --help          this text\n"
           "\n"
           "Logs are logfmt lines on stderr; BATON_LOG=debug|info|warn|error sets the level.\n",
           out);
}

int
baton__cmd_gateway (int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0) {
            s_gateway_usage (stdout);
            return 0;
        }
        if ((strcmp (argv[i], "-c") == 0 || strcmp (argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else {
            fprintf (stderr, "baton gateway: unexpected argument '%s'\n\n", argv[i]);
            s_gateway_usage (stderr);
            return 2;
        }
    }
    if (!path) {
        fputs ("baton gateway: missing -c FILE\n\n", stderr);
        s_gateway_usage (stderr);
        return 2;
    }
    char err[BATON_CONFIG_MAX_ERROR];
    baton_config_t *config = baton_config_load (path, err, sizeof err);
    if (!config) {
        fprintf (stderr, "baton gateway: %s\n", err);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init (&loop);
    baton_gateway_t *gw = baton_gateway_new (config, &loop, err, sizeof err);
    if (!gw) {
        fprintf (stderr, "baton gateway: %s\n", err);
        uv_loop_close (&loop);
        baton_config_destroy (&config);
        return 1;
    }
    baton_gateway_handle_signals (gw);
    uv_run (&loop, UV_RUN_DEFAULT);
    baton_gateway_destroy (&gw);
    uv_loop_close (&loop);
    baton_config_destroy (&config);
    return 0;
}
