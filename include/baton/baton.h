/*  baton.h - libbaton, the Function SDK. A worker takes envelopes from its
 *  inbox, hands each one to your handler through a baton_ctx_t, then forwards
 *  it, replies or fails for you: user code never touches a socket.
 *  Guide, rules and status codes: docs/sdk.md.  */
#ifndef BATON_H
#define BATON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "baton/export.h"
#include "baton/errors.h"
#include "baton/envelope.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct baton_worker baton_worker_t;
typedef struct baton_host baton_host_t;
typedef struct baton_ctx baton_ctx_t;

//  A handler does one hop's work on ctx, then ends the hop with
//  baton_ctx_next (), baton_ctx_reply () or baton_ctx_fail () and returns 0.
//  Returning 0 without an ending means next. Returning non-zero without
//  reply or fail makes the hop fail: 502 "handler returned <n>".
typedef int baton_handler_fn (baton_ctx_t *ctx, void *arg);

//  Defaults applied to the zero fields of baton_worker_config_t.
#define BATON_SEND_TIMEOUT_MS_DEFAULT  100
#define BATON_SEND_HWM_DEFAULT         1000
#define BATON_RECV_HWM_DEFAULT         1000
#define BATON_MAX_MESSAGE_SIZE_DEFAULT (8u * 1024u * 1024u)
#define BATON_LINGER_MS_DEFAULT        1000
#define BATON_SOCKET_CACHE_DEFAULT     64
#define BATON_HEARTBEAT_MS_DEFAULT     250
#define BATON_DRAIN_MS_DEFAULT         5000
//  A hop answers 508 to an envelope whose budget is larger than the hops its
//  route has left plus this margin: nobody can make a handler run more often
//  than its route says (docs/sdk.md).
#define BATON_BUDGET_MARGIN 8

//  How to build a worker. Zero or NULL in a field means its default, so
//  `baton_worker_config_t c = {0}; c.name = "auth";` is a valid start.
//  Everything is fixed at creation because the inbox options must be set
//  before the inbox binds.
typedef struct {
    const char *name;    //  function name; NULL: $BATON_NAME
    const char *bind;    //  inbox endpoint to bind; NULL: $BATON_BIND
    const char *gateway; //  control endpoints, comma-separated; NULL: $BATON_GATEWAY
    void *zmq_context;   //  NULL: the worker owns one; else borrowed (inproc:// needs a shared one)
    int send_timeout_ms; //  how long a successor or reply-to may take a message (100)
    int send_hwm;        //  ZMQ_SNDHWM of every outgoing socket (1000)
    int recv_hwm;        //  ZMQ_RCVHWM of the inbox (1000)
    size_t max_message_size; //  ZMQ_MAXMSGSIZE of the inbox and decode limit (8 MiB)
    int linger_ms;           //  how long unsent messages may delay destroy (1000)
    size_t socket_cache;     //  open sockets kept per cache: successors, reply-tos (64)
    bool no_signals;         //  true: baton_worker_run leaves SIGINT/SIGTERM alone
    int heartbeat_ms; //  announce/heartbeat interval to the gateways (250); $BATON_HEARTBEAT_MS
    const char *advertise; //  inbox endpoint announced to gateways; NULL: $BATON_ADVERTISE,
                           //  else the bound endpoint (0.0.0.0 written as 127.0.0.1)
    const char *version;   //  version announced; NULL: $BATON_VERSION, else ""
    //  CURVE (docs/sdk.md, "Security"): the function's secret certificate
    //  (DIR/NAME.key_secret, role function, named like the function) and the
    //  trust-store directory; both or neither. NULL: $BATON_CERT, $BATON_TRUST.
    const char *cert;
    const char *trust;
    bool insecure; //  plaintext allowed on any address; false: $BATON_SECURITY=insecure
    //  The longest drain after a stop (5000): goodbye, then envelopes are
    //  still served until the inbox is idle for 2 heartbeat intervals or
    //  this passes. 0: $BATON_DRAIN_MS, else the default; 1 ms .. 1 h.
    int drain_ms;
} baton_worker_config_t;

//  What a worker has done so far: counters that only grow, and the sockets
//  open now.
typedef struct {
    uint64_t received;      //  messages taken from the inbox
    uint64_t forwarded;     //  envelopes pushed to the next hop
    uint64_t replied;       //  envelopes pushed to reply-to (responses and errors)
    uint64_t errors;        //  of those, replies carrying an error (502/503/504/508)
    uint64_t dropped;       //  messages that could not be answered: not an envelope, no reply-to
    uint64_t undeliverable; //  replies reply-to did not take within the send timeout
    uint64_t sockets;       //  outgoing sockets open now
    //  Refusals of the security rules (each also counted in dropped, or in
    //  replied and errors when answered):
    uint64_t refused_peer;     //  messages from a peer neither gateway nor function (CURVE)
    uint64_t refused_key;      //  reply_key not a trusted gateway key (dropped), next hop key not
                               //  trusted for its function (502)
    uint64_t refused_endpoint; //  plaintext reply-to (dropped) or next hop (502) off this host
    uint64_t loops;       //  dropped: route already done, reply-to or next hop is the own inbox
    uint64_t over_budget; //  508: budget beyond the route's hops left + BATON_BUDGET_MARGIN
    uint64_t handshakes_refused; //  CURVE handshakes the ZAP handler of the worker's
                                 //  context refused (a host's workers share one)
    uint64_t probes;             //  OAM probes taken through this hop without calling the handler
    uint64_t seal_broken;        //  502: the route's seal did not hold (BATON_MESH_KEY set)
} baton_worker_stats_t;

//  Runs a whole function: builds a worker from the environment (BATON_NAME,
//  BATON_BIND, BATON_GATEWAY, BATON_CERT, BATON_TRUST...), serves handler until SIGINT or SIGTERM
//  (caught from the call on, so one that comes while the worker starts stops it cleanly too),
//  drains (see baton_worker_run), then flushes and returns the process exit code: 0 on a clean
//  stop, 1 otherwise (the reason is logged on stderr). Meant as `return baton_main (fn, NULL);`.
BATON_EXPORT int baton_main (baton_handler_fn *handler, void *arg);

//  Creates a worker named name whose inbox (a PULL socket) binds to bind;
//  NULL takes $BATON_NAME / $BATON_BIND. Returns NULL, with the reason on
//  stderr, if either is missing, the bind fails or the security settings
//  are refused (docs/sdk.md, "Security").
//  Caller owns the result; release it with baton_worker_destroy ().
BATON_EXPORT baton_worker_t *baton_worker_new (const char *name, const char *bind);

//  Same, with every option. config may be NULL (all defaults).
BATON_EXPORT baton_worker_t *baton_worker_new_config (const baton_worker_config_t *config);

//  Closes the inbox and every socket, waits at most linger_ms for unsent
//  messages (when the worker owns its ZeroMQ context), frees the worker.
//  Not while baton_worker_run is running. Safe on NULL; sets *self_p to NULL.
BATON_EXPORT void baton_worker_destroy (baton_worker_t **self_p);

//  Sets the function the worker calls for each envelope, and its argument.
BATON_EXPORT void baton_worker_set_handler (baton_worker_t *self, baton_handler_fn *handler,
                                            void *arg);

//  Serves envelopes until baton_worker_stop () or, unless no_signals, SIGINT
//  or SIGTERM (handlers installed for the duration of the call; a signal stops
//  every worker of the process). Then it drains: it finishes the envelope in
//  hand, says goodbye to every gateway, and serves what still comes until the
//  inbox has been idle for 2 heartbeat intervals or drain_ms has passed. A
//  second stop or signal ends the drain after the envelope in hand. Returns 0
//  on a stop, BATON_ESTATE if no handler is set, BATON_ESYS if ZeroMQ fails.
BATON_EXPORT int baton_worker_run (baton_worker_t *self);

//  Asks baton_worker_run to drain and return; a second call ends the drain
//  after the envelope in hand. Safe from any thread and from a signal
//  handler; a waiting worker notices within 100 ms.
BATON_EXPORT void baton_worker_stop (baton_worker_t *self);

//  For users with their own event loop: waits at most timeout_ms (0: not at
//  all, -1: forever) for one message on the inbox and handles it completely.
//  Returns 1 if a message was taken (answered or dropped), 0 if none came,
//  BATON_ESTATE if no handler is set, BATON_ESYS if ZeroMQ fails.
BATON_EXPORT int baton_worker_process_one (baton_worker_t *self, int timeout_ms);

//  The inbox's ZMQ_FD, to watch for reading in a poll loop. It is
//  edge-triggered: after each wake-up call baton_worker_process_one (w, 0)
//  until it returns 0. Returns -1 on failure.
BATON_EXPORT int baton_worker_fd (baton_worker_t *self);

//  The inbox socket itself (a ZeroMQ PULL socket), for zmq_poll (). Owned by
//  the worker: do not receive from it, change it or close it.
BATON_EXPORT void *baton_worker_socket (baton_worker_t *self);

//  The function's name, and the endpoint the inbox is bound to (with the port
//  filled in if bind asked for tcp://...:* or :0).
BATON_EXPORT const char *baton_worker_name (const baton_worker_t *self);
BATON_EXPORT const char *baton_worker_endpoint (const baton_worker_t *self);

//  The gateway control endpoints from config or BATON_GATEWAY, in order. The
//  worker announces itself to each (function, inbox endpoint, instance id,
//  version, host, pid) at its first look at the inbox, heartbeats every
//  heartbeat_ms from a thread of its own (a long handler does not stop them),
//  and says goodbye when it drains or is destroyed.
BATON_EXPORT size_t baton_worker_gateway_count (const baton_worker_t *self);
//  Returns endpoint i, or NULL if i is out of range.
BATON_EXPORT const char *baton_worker_gateway (const baton_worker_t *self, size_t i);

//  A snapshot of the counters. Safe from any thread while the worker runs.
BATON_EXPORT baton_worker_stats_t baton_worker_stats (const baton_worker_t *self);

//  --- several functions in one process: the host ------------------------------
//  A host runs several workers on one thread, sharing one ZeroMQ context (one
//  I/O thread). Each keeps its own inbox, announces itself and heartbeats like
//  any worker. When one of them forwards to a hop whose endpoint (as picked
//  at the edge) is the inbox of another worker of the same host, the envelope
//  goes to it in memory: no encoding, no socket, no thread hand-off, and the
//  same rules (budget, deadline, record, 502/504/508) as on the wire. Handlers
//  run one at a time, so they need not be thread-safe; a slow one delays the
//  others. Guide: docs/sdk.md.

//  Creates an empty host. Returns NULL if ZeroMQ or memory fails.
//  Caller owns the result; release it with baton_host_destroy ().
BATON_EXPORT baton_host_t *baton_host_new (void);

//  Creates a worker from config (as baton_worker_new_config; its zmq_context
//  and no_signals are ignored: the host's context is used and the host
//  handles signals), gives it handler and arg, and adds it to the host. With
//  CURVE each worker has its own certificate, and all share the trust store
//  (and ZAP handler) of the first: another trust directory is refused.
//  Returns the worker, owned by the host (read its name, endpoint and stats;
//  do not run or destroy it), or NULL with the reason on stderr. Not while
//  baton_host_run is running.
BATON_EXPORT baton_worker_t *baton_host_add (baton_host_t *host,
                                             const baton_worker_config_t *config,
                                             baton_handler_fn *handler, void *arg);

//  Serves every worker of the host until baton_host_stop () or SIGINT or
//  SIGTERM (handlers installed for the duration of the call), then drains them
//  all as baton_worker_run drains one: every worker says goodbye, and every
//  inbox is served until all have been idle for 2 heartbeat intervals (the
//  longest of the host's workers) or the longest drain_ms has passed; a
//  second stop or signal ends it after the envelope in hand. Returns 0 on a
//  stop, BATON_ESTATE if the host has no worker, BATON_ESYS if ZeroMQ fails.
BATON_EXPORT int baton_host_run (baton_host_t *host);

//  Asks baton_host_run to drain and return; a second call ends the drain
//  after the envelope in hand. Safe from any thread and from a signal
//  handler; a waiting host notices within 100 ms.
BATON_EXPORT void baton_host_stop (baton_host_t *host);

//  Destroys every worker of the host (each says goodbye unless its drain
//  did), waits at most their linger for unsent messages, frees the host. Not
//  while baton_host_run is running. Safe on NULL; sets *self_p to NULL.
BATON_EXPORT void baton_host_destroy (baton_host_t **self_p);

//  --- inside a handler: the request, as received at the edge ----------------
//  Slices point into the envelope and stay valid until the handler returns.

BATON_EXPORT baton_slice_t baton_ctx_method (const baton_ctx_t *ctx);
//  The request target as sent ("/users/7?full=1").
BATON_EXPORT baton_slice_t baton_ctx_target (const baton_ctx_t *ctx);
//  The target's path ("/users/7") and query without the '?' ("full=1"; empty
//  if none).
BATON_EXPORT baton_slice_t baton_ctx_path (const baton_ctx_t *ctx);
BATON_EXPORT baton_slice_t baton_ctx_query (const baton_ctx_t *ctx);
//  First request header of that name (ASCII case-insensitive); true if found.
BATON_EXPORT bool baton_ctx_request_header_find (const baton_ctx_t *ctx, const char *name,
                                                 baton_slice_t *value);
//  Every request header, in the order received, duplicates kept.
BATON_EXPORT size_t baton_ctx_request_header_count (const baton_ctx_t *ctx);
BATON_EXPORT baton_header_t baton_ctx_request_header (const baton_ctx_t *ctx, size_t i);

//  --- the message that flows and becomes the response ---------------------------

BATON_EXPORT unsigned baton_ctx_status (const baton_ctx_t *ctx);
//  Returns 0, or BATON_EINVAL if status is outside 100..999.
BATON_EXPORT int baton_ctx_set_status (baton_ctx_t *ctx, unsigned status);
BATON_EXPORT baton_slice_t baton_ctx_body (const baton_ctx_t *ctx);
//  Replaces the body with a copy of body[0..len). Returns 0 or BATON_ENOMEM.
BATON_EXPORT int baton_ctx_set_body (baton_ctx_t *ctx, const void *body, size_t len);
//  Same for a NUL-terminated string (the NUL is not sent).
BATON_EXPORT int baton_ctx_set_body_str (baton_ctx_t *ctx, const char *body);
BATON_EXPORT size_t baton_ctx_header_count (const baton_ctx_t *ctx);
BATON_EXPORT baton_header_t baton_ctx_header (const baton_ctx_t *ctx, size_t i);
BATON_EXPORT bool baton_ctx_header_find (const baton_ctx_t *ctx, const char *name,
                                         baton_slice_t *value);
//  Replaces every header of that name (case-insensitive) with one.
BATON_EXPORT int baton_ctx_set_header (baton_ctx_t *ctx, const char *name, const char *value);
//  Appends a header (duplicates allowed, order kept).
BATON_EXPORT int baton_ctx_add_header (baton_ctx_t *ctx, const char *name, const char *value);
//  Removes every header of that name; returns how many were removed.
BATON_EXPORT size_t baton_ctx_remove_header (baton_ctx_t *ctx, const char *name);

//  --- meta: string keys to bytes, shared by the hops of one request ---------------

BATON_EXPORT bool baton_ctx_meta_get (const baton_ctx_t *ctx, const char *key,
                                      baton_slice_t *value);
//  Sets key to a copy of value[0..len), replacing any previous value.
BATON_EXPORT int baton_ctx_meta_set (baton_ctx_t *ctx, const char *key, const void *value,
                                     size_t len);
BATON_EXPORT bool baton_ctx_meta_remove (baton_ctx_t *ctx, const char *key);

//  --- where this hop stands ---------------------------------------------------------

//  No deadline: what baton_ctx_deadline_left_ms () returns then.
#define BATON_NO_DEADLINE INT64_MAX
//  Milliseconds left before the request's deadline (<= 0 once passed), or
//  BATON_NO_DEADLINE.
BATON_EXPORT int64_t baton_ctx_deadline_left_ms (const baton_ctx_t *ctx);
//  This hop's name in the route, its index (0 = first) and the route length.
BATON_EXPORT baton_slice_t baton_ctx_hop_name (const baton_ctx_t *ctx);
BATON_EXPORT size_t baton_ctx_hop_index (const baton_ctx_t *ctx);
BATON_EXPORT size_t baton_ctx_hop_count (const baton_ctx_t *ctx);
//  The version every hop of this request runs, as the gateway chose it (a
//  route's version: or split:), NUL-terminated: "" if the route chose none.
//  Valid while the handler runs.
BATON_EXPORT const char *baton_ctx_version (const baton_ctx_t *ctx);
//  Sends the request on through the branch named name after this hop (a
//  route's {branch: {...}}): its hops are added to the route, and the hops
//  after this one check that it is one the gateway sealed. Only the last hop
//  before the branches may, once, before it forwards (baton_ctx_next or
//  returning 0). Returns 0; BATON_EINVAL if the route has no such branch;
//  BATON_ESTATE if this hop is not the one before the branches or a branch
//  was taken already.
BATON_EXPORT int baton_ctx_branch (baton_ctx_t *ctx, const char *name);
//  The whole envelope (id, traceparent, record...), borrowed. Leave route,
//  index, budget and record alone: the SDK owns them.
BATON_EXPORT baton_envelope_t *baton_ctx_envelope (baton_ctx_t *ctx);

//  --- ending the hop: one of three, applied when the handler returns ---------------
//  Each returns 0, or BATON_ESTATE if the hop was already ended (the first
//  ending stands), so `return baton_ctx_reply (ctx, 401);` reads naturally.

//  Forward the message to the next hop (or, after the last one, to reply-to
//  as the response).
BATON_EXPORT int baton_ctx_next (baton_ctx_t *ctx);
//  Reply now with the message as it is, skipping the rest of the route.
//  status 0 keeps the message status; otherwise 100..999 (BATON_EINVAL).
BATON_EXPORT int baton_ctx_reply (baton_ctx_t *ctx, unsigned status);
//  Fail the request: status (400..599; 0 means 502) with an
//  application/problem+json body naming this hop and reason (may be NULL),
//  and the envelope's error set, sent to reply-to. Replaces the message.
BATON_EXPORT int baton_ctx_fail (baton_ctx_t *ctx, unsigned status, const char *reason);

//  --- small helpers -------------------------------------------------------------------

//  True if s holds exactly the bytes of the NUL-terminated str.
BATON_EXPORT bool baton_slice_eq_str (baton_slice_t s, const char *str);

#ifdef __cplusplus
}
#endif
#endif
