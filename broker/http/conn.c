/*  conn.c - the gateway's HTTP/1.1 connections. Each carries one request at
 *  a time: head parsed in place, body read, request handed to the owner,
 *  response written. Nothing after a rejected request is ever read: the
 *  connection closes.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "http/conn.h"
#include "log.h"
#include "status.h"

#define S_COMP "gateway"
//  Read buffers start small (idle keep-alive connections are cheap) and grow
//  on demand up to the request limits.
#define S_BUF_MIN         2048
#define S_READ_CHUNK      16384
#define S_MAX_HEADERS_CAP 1024
//  How long a closing connection may keep sending before we stop listening.
#define S_LINGER_MS 2000
//  A response head buffer up to this size is kept for the next response.
#define S_SPARE_HEAD_MAX 4096

typedef enum {
    S_IDLE,    //  between requests (keep-alive)
    S_HEAD,    //  reading a request head
    S_BODY,    //  reading its body
    S_BUSY,    //  the owner has the request: waiting for its answer
    S_WRITING, //  writing a response
    S_LINGER,  //  last response sent and our side shut: dropping input until the client closes
    S_CLOSING
} s_state_t;

struct baton_conns {
    uv_loop_t *loop;
    //  The limits a connection accepted now gets (a reload may change them).
    baton_config_limits_t limits;
    baton_http_limits_t http_limits;
    baton_metrics_t *metrics;
    baton_turn_t *turn;
    void *owner;
    size_t user_size;
    baton_conn_t *list; //  every open connection (doubly linked)
    uint64_t count;
    bool draining;
};

//  The connection's one timer is lazy: it is re-armed only for a due time
//  earlier than the one it is armed for, so a request costs no timer
//  operation; when it fires early it is re-armed for what is due then.
#define S_NOT_DUE UINT64_MAX

struct baton_conn {
    uv_tcp_t tcp; //  first: the handle's address is the connection's
    uv_timer_t timer;
    uint64_t due_ms;   //  loop time at which the timer's work is due; S_NOT_DUE: none
    uint64_t armed_ms; //  loop time the timer is armed for, while it is active
    baton_conns_t *conns;
    baton_conn_t *prev, *next;
    //  Its limits, as they were when it was accepted: a reload changes
    //  those of the connections that come after.
    baton_config_limits_t limits;
    baton_http_limits_t http_limits;
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
    const char *id; //  the request's id, owned by the owner; NULL when none
    uint64_t t_start_us;
    const baton_config_route_t *route;
    char *body;
    size_t body_len, body_cap;
    baton_http_chunked_t chunked;
    bool chunked_body;
    uint64_t content_length;
    //  An admin request's body, read with its head: it follows the head in buf.
    baton_slice_t admin_body;
    bool continue_sent; //  100 Continue went out for the head waiting for its body
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
    baton_turn_link_t written_link; //  in turn->written: its completion is due
    max_align_t user[];             //  the owner's user_size bytes
};

static void s_process (baton_conn_t *c);
static void s_on_body (baton_conn_t *c);
static void s_on_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void s_on_read (uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void s_on_timer (uv_timer_t *t);

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

//  --- connections -------------------------------------------------------------------

static bool
s_has_body (const baton_conn_t *c)
{
    return c->chunked_body || c->content_length > 0;
}

static void
s_on_handle_closed (uv_handle_t *h)
{
    baton_conn_t *c = (baton_conn_t *) h->data;
    if (--c->handles_open > 0)
        return;
    free (c->buf);
    free (c->headers);
    free (c->body);
    free (c->whead);
    free (c->spare_head);
    free (c->wbody);
    baton_envelope_destroy (&c->wenv);
    baton__conn_on_free (c->conns->owner, c, c->user);
    free (c);
}

//  Releases what belongs to the request being served.
static void
s_request_reset (baton_conn_t *c)
{
    c->body_len = 0;
    c->route = NULL;
    if (c->body_cap > 65536) {
        free (c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
}

static void
s_close (baton_conn_t *c)
{
    if (c->state == S_CLOSING)
        return;
    baton_conns_t *conns = c->conns;
    //  The client left while its request was with the owner: a reply that
    //  still comes finds no one.
    if (c->state == S_BUSY)
        baton__conn_on_gone (conns->owner, c, c->user);
    //  Nothing owed to a closing connection: its buffers are freed with it.
    baton_turn_remove (&conns->turn->written, &c->written_link);
    c->state = S_CLOSING;
    if (c->prev)
        c->prev->next = c->next;
    else
        conns->list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    conns->count--;
    uv_timer_stop (&c->timer);
    uv_close ((uv_handle_t *) &c->timer, s_on_handle_closed);
    uv_close ((uv_handle_t *) &c->tcp, s_on_handle_closed);
}

void
baton_conn_timer (baton_conn_t *c, uint64_t ms)
{
    //  libuv counts from the loop time cached when this iteration began: a
    //  busy iteration would make every timeout fire early by its length.
    uv_update_time (c->conns->loop);
    c->due_ms = uv_now (c->conns->loop) + ms;
    if (uv_is_active ((uv_handle_t *) &c->timer) && c->armed_ms <= c->due_ms)
        return;
    c->armed_ms = c->due_ms;
    uv_timer_start (&c->timer, s_on_timer, ms, 0);
}

baton_conns_t *
baton_conns_new (uv_loop_t *loop, const baton_config_t *config, baton_metrics_t *metrics,
                 baton_turn_t *turn, void *owner, size_t user_size)
{
    baton_conns_t *self = (baton_conns_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->loop = loop;
    baton_conns_set_limits (self, baton_config_limits (config));
    self->metrics = metrics;
    self->turn = turn;
    self->owner = owner;
    self->user_size = user_size;
    return self;
}

void
baton_conns_set_limits (baton_conns_t *self, const baton_config_limits_t *l)
{
    self->limits = *l;
    self->http_limits = baton_http_limits_default ();
    self->http_limits.max_request_line = l->request_line;
    self->http_limits.max_header_bytes = l->header_block;
    self->http_limits.max_headers = l->header_count;
    self->http_limits.max_body = l->body;
}

void
baton_conns_destroy (baton_conns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

void
baton_conns_accept (baton_conns_t *self, uv_stream_t *server, bool admin)
{
    baton_conn_t *c = (baton_conn_t *) calloc (1, sizeof *c + self->user_size);
    if (!c)
        return;
    c->conns = self;
    c->limits = self->limits;
    c->http_limits = self->http_limits;
    c->admin = admin;
    c->due_ms = S_NOT_DUE;
    uv_tcp_init (self->loop, &c->tcp);
    uv_timer_init (self->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->next = self->list;
    if (self->list)
        self->list->prev = c;
    self->list = c;
    self->count++;
    if (uv_accept (server, (uv_stream_t *) &c->tcp) < 0) {
        s_close (c);
        return;
    }
    uv_tcp_nodelay (&c->tcp, 1);
    const baton_config_limits_t *l = &c->limits;
    c->max = l->request_line + l->header_block + l->body + S_READ_CHUNK;
    c->cap = S_BUF_MIN;
    c->buf = (char *) s_alloc (c->cap);
    c->header_cap = l->header_count < S_MAX_HEADERS_CAP ? l->header_count : S_MAX_HEADERS_CAP;
    c->headers = (baton_header_t *) s_alloc (c->header_cap * sizeof (baton_header_t));
    baton_http_parser_init (&c->parser, &c->http_limits);
    c->state = S_IDLE;
    c->reading = uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) == 0;
    baton_conn_timer (c, l->header_timeout_ms);
    c->state = S_HEAD; //  a new connection owes us a request head
}

uint64_t
baton_conns_count (const baton_conns_t *self)
{
    return self->count;
}

void
baton_conns_drain (baton_conns_t *self)
{
    self->draining = true;
}

bool
baton_conns_draining (const baton_conns_t *self)
{
    return self->draining;
}

void
baton_conns_close (baton_conns_t *self, bool all)
{
    for (baton_conn_t *c = self->list, *next; c; c = next) {
        next = c->next;
        if (all || c->state == S_IDLE || c->state == S_HEAD || c->state == S_BODY ||
            c->state == S_LINGER)
            s_close (c);
    }
}

const baton_http_request_t *
baton_conn_request (const baton_conn_t *c)
{
    return &c->req;
}

bool
baton_conn_is_admin (const baton_conn_t *c)
{
    return c->admin;
}

baton_slice_t
baton_conn_body (const baton_conn_t *c)
{
    return c->admin_body;
}

const char *
baton_conn_peer (const baton_conn_t *c, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername (&c->tcp, (struct sockaddr *) &ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name ((const struct sockaddr_in6 *) &ss, host, sizeof host);
            port = ntohs (((const struct sockaddr_in6 *) &ss)->sin6_port);
        } else {
            uv_ip4_name ((const struct sockaddr_in *) &ss, host, sizeof host);
            port = ntohs (((const struct sockaddr_in *) &ss)->sin_port);
        }
    }
    snprintf (buf, cap, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
    return buf;
}

void
baton_conn_set_route (baton_conn_t *c, const baton_config_route_t *route)
{
    c->route = route;
}

void
baton_conn_set_id (baton_conn_t *c, const char *id)
{
    c->id = id;
}

//  --- writing responses -------------------------------------------------------------

//  Reading stops when the buffer is full while we wait; this restarts it.
static void
s_resume_reading (baton_conn_t *c)
{
    if (c->state != S_CLOSING && !c->reading && !c->peer_eof && c->len < c->max)
        c->reading = uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) == 0;
}

static void
s_on_shut (uv_shutdown_t *req, int status)
{
    baton_conn_t *c = (baton_conn_t *) req->data;
    if (status < 0 && c->state == S_LINGER)
        s_close (c);
}

//  Closes the way nginx's lingering_close does: our side first (FIN), then
//  what the client still sends is read and dropped until it closes (at most
//  S_LINGER_MS). Closing with unread input would send a reset, which can
//  destroy the response in flight: the very answer that says why we close.
static void
s_linger (baton_conn_t *c)
{
    c->state = S_LINGER;
    c->len = 0;
    c->sreq.data = c;
    if (c->peer_eof || uv_shutdown (&c->sreq, (uv_stream_t *) &c->tcp, s_on_shut) < 0) {
        s_close (c);
        return;
    }
    baton_conn_timer (c, S_LINGER_MS);
    if (!c->reading)
        c->reading = uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) == 0;
}

//  A response is written (status 0) or failed: frees its buffers, then
//  serves the next request of the connection, if one is buffered.
static void
s_write_done (baton_conn_t *c, int status)
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
    if (c->close_after || c->conns->draining) {
        s_linger (c);
        return;
    }
    c->served++;
    c->state = S_IDLE;
    s_request_reset (c);
    s_process (c); //  a pipelined request may be waiting in the buffer
    s_resume_reading (c);
}

void
baton_conns_flush (baton_conns_t *self)
{
    baton_turn_link_t *l;
    while ((l = baton_turn_pop (&self->turn->written)))
        s_write_done ((baton_conn_t *) ((char *) l - offsetof (baton_conn_t, written_link)), 0);
}

static void
s_on_written (uv_write_t *w, int status)
{
    s_write_done ((baton_conn_t *) w->data, status);
}

//  Writes head (owned, freed after the write) and body (borrowed from
//  c->wenv or c->wbody, which live until the write is done). A HEAD request
//  gets no body.
static void
s_write (baton_conn_t *c, baton_text_t *head, const char *body, size_t body_len)
{
    if (c->head_method) {
        body = NULL;
        body_len = 0;
    }
    c->state = S_WRITING;
    c->due_ms = S_NOT_DUE; //  the timer, if armed, fires with nothing due
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
        baton_turn_push (c->conns->turn, &c->conns->turn->written, &c->written_link);
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

void
baton_conn_head_begin (baton_conn_t *c, baton_text_t *t, unsigned status)
{
    if (!t->data && c->spare_head) {
        t->data = c->spare_head;
        t->cap = c->spare_cap;
        c->spare_head = NULL;
    }
    //  Answered before its body was read: close rather than read the body.
    if (c->state == S_HEAD && s_has_body (c))
        c->keep_alive = false;
    baton_text_reserve (t, 128);
    baton_text_lit (t, "HTTP/1.1 ");
    baton_text_uint (t, status);
    baton_text_lit (t, " ");
    baton_text_str (t, baton__http_reason (status));
    baton_text_lit (t, "\r\nDate: ");
    baton_text_str (t, baton__http_date ());
    baton_text_lit (t, "\r\n");
    bool more = c->keep_alive && !c->close_after && !c->conns->draining &&
                c->served + 1 < c->limits.requests_per_connection;
    if (!more) {
        c->close_after = true;
        baton_text_lit (t, "Connection: close\r\n");
    }
}

//  Counts the response in the route's metrics and writes the access log
//  line; version (may be empty) is the one a chain's reply says it ran.
static void
s_log_access (baton_conn_t *c, unsigned status, size_t hops, const char *version)
{
    if (c->route)
        baton_metrics_request (c->conns->metrics, c->route->index, status,
                               baton__wall_us () - c->t_start_us);
    if (!baton__log_enabled (BATON_LOG_INFO))
        return;
    char method[64], path[256], route[256], ver[160];
    uint64_t dur = baton__wall_us () - c->t_start_us;
    size_t mlen = strlen (c->log_method), tlen = strlen (c->log_target);
    baton__log (
        BATON_LOG_INFO, S_COMP, "access",
        "method=%s path=%s status=%u duration_ms=%.3f route=%s hops=%zu id=%s%s%s",
        baton__log_quote (method, sizeof method, c->log_method, mlen),
        baton__log_quote (path, sizeof path, c->log_target, tlen), status, (double) dur / 1000.0,
        c->route ? baton__log_quote (route, sizeof route, c->route->path, strlen (c->route->path))
                 : "-",
        hops, c->id ? c->id : "-", version[0] ? " version=" : "",
        version[0] ? baton__log_quote (ver, sizeof ver, version, strlen (version)) : "");
}

//  Sends a response the gateway makes itself: body (consumed) of content
//  type ctype, extra_headers (NULL, or whole lines). Counted and logged.
static void
s_respond_own (baton_conn_t *c, unsigned status, const char *ctype, baton_text_t *body,
               const char *extra_headers)
{
    baton_text_t head = {NULL, 0, 0};
    baton_conn_head_begin (c, &head, status);
    baton_text_fmt (&head, "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", ctype, body->len,
                    extra_headers ? extra_headers : "");
    s_log_access (c, status, 0, "");
    c->wbody = body->data;
    s_write (c, &head, body->data, body->len);
}

void
baton_conn_respond_error (baton_conn_t *c, unsigned status, const char *detail, bool close,
                          const char *extra_headers)
{
    if (c->state == S_CLOSING)
        return;
    if (close)
        c->close_after = true;
    baton_text_t body = {NULL, 0, 0};
    baton_text_fmt (&body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%u,\"detail\":\"",
                    baton__http_reason (status), status);
    //  The detail may hold bytes of the request: escape them for JSON.
    for (const char *p = detail; *p && body.len < 400; p++) {
        unsigned char ch = (unsigned char) *p;
        if (ch == '"' || ch == '\\')
            baton_text_fmt (&body, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            baton_text_fmt (&body, "\\u%04x", ch);
        else
            baton_text_put (&body, (const char *) &ch, 1);
    }
    baton_text_lit (&body, "\"}\n");
    s_respond_own (c, status, "application/problem+json", &body, extra_headers);
}

void
baton_conn_respond_text (baton_conn_t *c, unsigned status, const char *ctype, const char *body,
                         size_t len)
{
    if (c->state == S_CLOSING)
        return;
    baton_text_t copy = {NULL, 0, 0};
    baton_text_put (&copy, body, len);
    s_respond_own (c, status, ctype, &copy, NULL);
}

void
baton_conn_respond (baton_conn_t *c, unsigned status, const char *ctype, char *body, size_t len)
{
    baton_text_t head = {NULL, 0, 0};
    baton_conn_head_begin (c, &head, status);
    baton_text_fmt (&head, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, len);
    c->wbody = body;
    s_write (c, &head, body, len);
}

void
baton_conn_respond_envelope (baton_conn_t *c, unsigned status, size_t hops, baton_text_t *head,
                             const char *body, size_t len, baton_envelope_t **env_p)
{
    s_log_access (c, status, hops, baton_envelope_version_pin (*env_p));
    c->wenv = *env_p;
    *env_p = NULL;
    s_write (c, head, body, len);
}

//  --- reading requests --------------------------------------------------------------

static void
s_consume (baton_conn_t *c, size_t n)
{
    memmove (c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void
s_reject (baton_conn_t *c, const baton_http_error_t *err)
{
    baton_metrics_reject (c->conns->metrics, baton_metrics_reject_reason (err->status));
    char detail[200];
    snprintf (detail, sizeof detail, "%s (at byte %zu)", err->reason, err->offset);
    baton__log (BATON_LOG_INFO, S_COMP, "request rejected", "status=%d reason=\"%s\" offset=%zu",
                err->status, err->reason, err->offset);
    c->keep_alive = false;
    baton_conn_respond_error (c, (unsigned) err->status, detail, true, NULL);
}

//  The request is complete: the owner has it until it answers.
static void
s_hand_over (baton_conn_t *c)
{
    c->state = S_BUSY;
    baton__conn_on_request (c->conns->owner, c, c->user, c->body, c->body_len);
}

//  Tells the client to send the body it announced with Expect: 100-continue
//  (its size was checked against the limits with the head).
static void
s_continue (baton_conn_t *c)
{
    static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init (cont, sizeof cont - 1);
    uv_try_write ((uv_stream_t *) &c->tcp, &b, 1);
}

//  An admin request comes with its body, since the admin endpoints answer
//  from the head at once: the head waits unconsumed until the whole body
//  follows it in the buffer, and is parsed again as more comes (the buffer
//  may move). Returns true once c->admin_body holds the body (nothing is
//  left to read); false while it waits, or once it answered 411 (a chunked
//  body) or 413 (over BATON_CONN_ADMIN_MAX_BODY).
static bool
s_admin_body (baton_conn_t *c, size_t head_len)
{
    if (c->chunked_body || c->content_length > BATON_CONN_ADMIN_MAX_BODY) {
        baton_conn_respond_error (c, c->chunked_body ? 411 : 413,
                                  c->chunked_body
                                      ? "the admin endpoints take a body with a Content-Length"
                                      : "an admin request's body is at most 8 KiB",
                                  true, NULL);
        return false;
    }
    if (c->len - head_len < c->content_length) {
        if (c->req.expect_continue && !c->continue_sent)
            s_continue (c);
        c->continue_sent = true;
        if (c->peer_eof)
            s_close (c); //  the client ended mid-body: nobody to answer
        return false;
    }
    c->continue_sent = false;
    c->admin_body = (baton_slice_t){c->buf + head_len, (size_t) c->content_length};
    c->content_length = 0;
    return true;
}

//  The head is parsed: the owner answers it now, or the body comes next.
//  The head's bytes are consumed here whatever the outcome; what outlives
//  them is copied first (the owner's envelope, the access log's method and
//  target).
static void
s_on_head (baton_conn_t *c, size_t head_len)
{
    if (baton__log_enabled (BATON_LOG_INFO)) {
        size_t m = c->req.method.len < 23 ? c->req.method.len : 23;
        size_t t = c->req.target.len < 159 ? c->req.target.len : 159;
        memcpy (c->log_method, c->req.method.ptr, m);
        c->log_method[m] = '\0';
        memcpy (c->log_target, c->req.target.ptr, t);
        c->log_target[t] = '\0';
    }
    c->t_start_us = baton__wall_us ();
    c->keep_alive = c->req.keep_alive;
    c->head_method = baton__slice_is (c->req.method, "HEAD");
    c->route = NULL;
    c->id = NULL;
    c->chunked_body = c->req.body == BATON_HTTP_BODY_CHUNKED;
    c->content_length = c->req.body == BATON_HTTP_BODY_LENGTH ? c->req.content_length : 0;
    c->admin_body = (baton_slice_t){NULL, 0};
    if (c->admin && s_has_body (c) && !s_admin_body (c, head_len))
        return;
    baton__conn_on_head (c->conns->owner, c, c->user);
    bool taken = c->state == S_HEAD; //  the owner did not answer
    if (taken && s_has_body (c)) {
        if (c->req.expect_continue)
            s_continue (c);
        c->state = S_BODY;
        c->body_len = 0;
        baton_conn_timer (c, c->limits.body_timeout_ms);
        if (c->chunked_body)
            baton_http_chunked_init (&c->chunked, &c->http_limits);
    }
    if (c->state != S_CLOSING)
        s_consume (c, head_len + c->admin_body.len);
    c->admin_body = (baton_slice_t){NULL, 0};
    if (c->state == S_BODY)
        s_on_body (c);
    else if (taken)
        s_hand_over (c);
}

static void
s_body_append (baton_conn_t *c, const char *data, size_t len)
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

//  Reads as much of the body as the buffer holds; hands the request over
//  once it is complete.
static void
s_on_body (baton_conn_t *c)
{
    if (!c->chunked_body) {
        if (c->len < c->content_length)
            return;
        s_body_append (c, c->buf, (size_t) c->content_length);
        s_consume (c, (size_t) c->content_length);
        s_hand_over (c);
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
            s_hand_over (c);
            return;
        }
        if (pos == c->len || (n == 0 && !data.len))
            break;
    }
    s_consume (c, pos);
}

//  Makes progress on whatever the buffer holds, in the connection's state.
static void
s_process (baton_conn_t *c)
{
    const baton_config_limits_t *l = &c->limits;
    if (c->state == S_IDLE) {
        if (c->len == 0) {
            if (c->peer_eof) {
                s_close (c);
                return;
            }
            baton_conn_timer (c, l->idle_timeout_ms);
            return;
        }
        c->state = S_HEAD;
        baton_conn_timer (c, l->header_timeout_ms);
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
    baton_conn_t *c = (baton_conn_t *) h->data;
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
    baton_conn_t *c = (baton_conn_t *) s->data;
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
        if (c->state == S_BUSY) {
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
    baton_conn_t *c = (baton_conn_t *) t->data;
    if (c->due_ms == S_NOT_DUE)
        return;
    uint64_t now = uv_now (c->conns->loop);
    if (now < c->due_ms) {
        c->armed_ms = c->due_ms;
        uv_timer_start (&c->timer, s_on_timer, c->due_ms - now, 0);
        return;
    }
    c->due_ms = S_NOT_DUE;
    baton_metrics_t *metrics = c->conns->metrics;
    switch (c->state) {
    case S_IDLE:
        s_close (c); //  idle keep-alive timeout
        break;
    case S_HEAD:
        baton_metrics_reject (metrics, BATON_REJECT_HEADER_TIMEOUT);
        baton__log (BATON_LOG_INFO, S_COMP, "header timeout", "received=%zu", c->len);
        s_close (c);
        break;
    case S_BODY:
        baton_metrics_reject (metrics, BATON_REJECT_BODY_TIMEOUT);
        c->keep_alive = false;
        baton_conn_respond_error (c, 408, "the body did not arrive in time", true, NULL);
        break;
    case S_LINGER:
        s_close (c);
        break;
    case S_BUSY:
        baton__conn_on_timer (c->conns->owner, c, c->user);
        break;
    default:
        break;
    }
}
