/*  conn.h - the gateway's HTTP/1.1 connections: read buffer and pipelining
 *  (one request at a time, the next waits in the buffer, so responses leave
 *  in request order), request bodies, response writing, lingering close, the
 *  per-connection timeouts, and the access log. Knows nothing of chains: a
 *  parsed request goes to the connections' owner, which answers it.  */
#ifndef BATON_HTTP_CONN_H
#define BATON_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "admin/metrics.h"
#include "baton/envelope.h"
#include "config/config.h"
#include "http/parser.h"
#include "http/text.h"
#include "http/turn.h"

//  The open connections of one gateway and what they share.
typedef struct baton_conns baton_conns_t;
//  One accepted connection. Lives until its handles have closed.
typedef struct baton_conn baton_conn_t;

//  --- the connections ------------------------------------------------------------

//  Creates the set for config's limits on loop. owner is passed to the hooks
//  below; every connection carries user_size zeroed bytes for the owner
//  (aligned for any type), in the same allocation. config is read only
//  here; metrics and turn must outlive the set. Never NULL (aborts when out of memory).
baton_conns_t *baton_conns_new (uv_loop_t *loop, const baton_config_t *config,
                                baton_metrics_t *metrics, baton_turn_t *turn, void *owner,
                                size_t user_size);

//  Safe on NULL; sets *self_p to NULL. Every connection must be freed (its
//  handles closed and the loop run) before.
//  The limits of the connections accepted from now on (each keeps those it
//  was accepted with): a reload's. The reply socket is sized by l->body, so
//  that one must not change (the gateway refuses it without a restart).
void baton_conns_set_limits (baton_conns_t *self, const baton_config_limits_t *l);

void baton_conns_destroy (baton_conns_t **self_p);

//  Accepts a connection waiting on server (a listener of the loop); admin
//  says which listener it is (baton_conn_is_admin ()). Failures drop it.
void baton_conns_accept (baton_conns_t *self, uv_stream_t *server, bool admin);

//  Open connections.
uint64_t baton_conns_count (const baton_conns_t *self);

//  From now on every response says Connection: close and the connection
//  closes after it. Safe to call more than once.
void baton_conns_drain (baton_conns_t *self);
bool baton_conns_draining (const baton_conns_t *self);

//  Closes the connections with nothing in flight (idle, reading a request,
//  lingering); with all, every connection.
void baton_conns_close (baton_conns_t *self, bool all);

//  Runs the completions owed in turn->written (responses that went out at
//  once): each serves its connection's next request, if one is buffered.
void baton_conns_flush (baton_conns_t *self);

//  --- the request being served ---------------------------------------------------

//  The parsed head. Its slices point into the read buffer: valid until the
//  owner returns from baton__conn_on_head ().
const baton_http_request_t *baton_conn_request (const baton_conn_t *c);

//  True if c came in on the admin listener.
bool baton_conn_is_admin (const baton_conn_t *c);

//  The most an admin request's body may hold (413 past it).
#define BATON_CONN_ADMIN_MAX_BODY 8192

//  An admin connection reads a request's body with its head, before
//  baton__conn_on_head (): this is that body (empty if none), valid as the
//  head's slices are. A chunked admin body is answered 411. Always empty on
//  the public listener, where the body comes to baton__conn_on_request ().
baton_slice_t baton_conn_body (const baton_conn_t *c);

//  Writes the client's address, "1.2.3.4:port" or "[::1]:port", into buf
//  (cap bytes, NUL-terminated). Returns buf.
const char *baton_conn_peer (const baton_conn_t *c, char *buf, size_t cap);

//  What the metrics and the access log say of the request: the route it
//  matched (NULL when none) and its id (NUL-terminated, borrowed: it must
//  stay until the response is written). Both are cleared at the next
//  request's head.
void baton_conn_set_route (baton_conn_t *c, const baton_config_route_t *route);
void baton_conn_set_id (baton_conn_t *c, const char *id);

//  While the owner has the request (after baton__conn_on_request ()): calls
//  baton__conn_on_timer () in ms milliseconds, counted from now.
void baton_conn_timer (baton_conn_t *c, uint64_t ms);

//  --- answering it ----------------------------------------------------------------
//  Each starts the response of the request being served; at most one per
//  request. A connection that is closing answers nothing.

//  A response the gateway makes itself: a problem+json body with detail
//  (escaped). close: close the connection after it. extra_headers: NULL, or
//  whole header lines ("Retry-After: 1\r\n"). Counted and logged.
void baton_conn_respond_error (baton_conn_t *c, unsigned status, const char *detail, bool close,
                               const char *extra_headers);

//  A response the gateway makes itself with a body of its choosing (len
//  bytes, copied) of content type ctype (a header value: no CR or LF).
//  Counted and logged.
void baton_conn_respond_text (baton_conn_t *c, unsigned status, const char *ctype, const char *body,
                              size_t len);

//  A response of content type ctype with body (len bytes, consumed: freed
//  once written). Neither counted nor logged (the admin endpoints).
void baton_conn_respond (baton_conn_t *c, unsigned status, const char *ctype, char *body,
                         size_t len);

//  Starts a response head in head (empty) with the lines every response
//  carries: status line, Date, and Connection: close when it is the last.
void baton_conn_head_begin (baton_conn_t *c, baton_text_t *head, unsigned status);

//  Sends a response whose head (from baton_conn_head_begin (), ended with
//  its empty line) is consumed, and whose body (len bytes, or NULL) lies in
//  *env_p, which is consumed too (destroyed once written). hops is for the
//  access log. Counted and logged. A HEAD request gets no body.
void baton_conn_respond_envelope (baton_conn_t *c, unsigned status, size_t hops, baton_text_t *head,
                                  const char *body, size_t len, baton_envelope_t **env_p);

//  --- what the owner implements ---------------------------------------------------
//  conn.c calls these by name, not through pointers: a program has one owner
//  of connections (the gateway), and the hot path stays direct calls. owner
//  and user are those of baton_conns_new ().

//  A request head is parsed (baton_conn_request ()). The owner answers it
//  now, or returns without answering: then the connection reads its body,
//  if any (with 100 Continue when asked), and calls baton__conn_on_request ().
void baton__conn_on_head (void *owner, baton_conn_t *c, void *user);

//  The request is complete, with its body (len bytes, borrowed until the
//  response starts). The owner answers it, now or later.
void baton__conn_on_request (void *owner, baton_conn_t *c, void *user, const char *body,
                             size_t len);

//  The timer of baton_conn_timer () fired, or an earlier one of the
//  connection, while the owner has the request.
void baton__conn_on_timer (void *owner, baton_conn_t *c, void *user);

//  The client went away while the owner had its request: nobody waits for
//  the answer any more.
void baton__conn_on_gone (void *owner, baton_conn_t *c, void *user);

//  The connection is closed and about to be freed, with user.
void baton__conn_on_free (void *owner, baton_conn_t *c, void *user);

#endif
