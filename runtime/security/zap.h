/*  zap.h - Baton's ZAP handler (ZeroMQ RFC 27) and CURVE socket helpers. The
 *  handler is a thread that answers libzmq's authentication requests of one
 *  context from a trust store: a CURVE client whose key is trusted gets the
 *  User-Id "gateway:NAME" or "function:NAME" and its key as the property
 *  BATON_ZAP_KEY_PROPERTY; everything else is refused,
 *  logged and counted, and so is a failed handshake on a watched socket.  */
#ifndef BATON_SECURITY_ZAP_H
#define BATON_SECURITY_ZAP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "cert.h"
#include "trust.h"

//  The ZAP domain baton__curve_server () gives a socket when given NULL.
#define BATON_ZAP_DOMAIN "baton"
//  The ZAP metadata property that carries an accepted client's public key
//  (Z85), readable on each message with zmq_msg_gets (): which key of an
//  identity spoke.
#define BATON_ZAP_KEY_PROPERTY "Baton-Key"
//  Most sockets one handler watches at once (baton__zap_watch).
#define BATON_ZAP_MAX_WATCH 32

typedef struct baton_zap baton_zap_t;

//  What the handler did since it started. Each count is read atomically.
typedef struct {
    uint64_t accepted;          //  CURVE clients whose key is in the store
    uint64_t refused_key;       //  CURVE clients whose key is not
    uint64_t refused_mechanism; //  NULL, PLAIN or other mechanisms (only CURVE passes)
    uint64_t refused_handshake; //  handshakes a watched socket failed before ZAP
    uint64_t malformed;         //  requests that break RFC 27 (answered 500)
} baton_zap_stats_t;

//  Starts the handler of zmq_ctx: binds a REP socket to inproc://zeromq.zap.01
//  and serves it from a new thread. trust is borrowed (NULL trusts nobody):
//  it must outlive the handler or be replaced first (baton__zap_set_trust).
//  Returns NULL with the reason in err if the context has a handler already
//  or ZeroMQ fails. Destroy the handler before terminating the context.
baton_zap_t *baton__zap_new (void *zmq_ctx, const baton_trust_t *trust, char *err, size_t errlen);

//  Replaces the store the handler answers from (a reload). When this returns
//  the handler no longer reads the old store: the caller may destroy it.
//  Connections already accepted stay accepted. Thread-safe.
void baton__zap_set_trust (baton_zap_t *self, const baton_trust_t *trust);

//  Watches socket (a CURVE server of this context) with a monitor serviced by
//  the handler's thread, so handshakes that fail before ZAP is asked (a
//  client without CURVE, a broken CURVE handshake) are logged with the
//  endpoint and counted as refused_handshake. Call from the thread that owns
//  socket. The watch ends when socket closes. Returns 0, BATON_ESTATE when
//  BATON_ZAP_MAX_WATCH sockets are watched already, or BATON_ESYS.
int baton__zap_watch (baton_zap_t *self, void *socket);

//  Every refusal so far: refused_key + refused_mechanism + refused_handshake.
//  Thread-safe.
uint64_t baton__zap_refused (const baton_zap_t *self);

//  All the counters. Thread-safe.
baton_zap_stats_t baton__zap_stats (const baton_zap_t *self);

//  Stops the thread and closes its sockets. Close the watched sockets first
//  (their monitors then end cleanly). Safe on NULL; sets *self_p to NULL.
void baton__zap_destroy (baton_zap_t **self_p);

//  Makes socket a CURVE server with cert's secret key that asks ZAP in
//  domain (NULL: BATON_ZAP_DOMAIN), and refuses every client when no handler
//  runs (ZMQ_ZAP_ENFORCE_DOMAIN, where libzmq has it). Call before bind.
//  Returns 0, BATON_EINVAL if cert has no secret key, or BATON_ESYS.
int baton__curve_server (void *socket, const baton_cert_t *cert, const char *domain);

//  Makes socket a CURVE client with cert's keys that accepts only the server
//  holding server_key (32 bytes). Call before connect. Returns 0,
//  BATON_EINVAL if cert has no secret key, or BATON_ESYS.
int baton__curve_client (void *socket, const baton_cert_t *cert,
                         const uint8_t server_key[BATON_KEY_SIZE]);

//  Who sent a message, as the handler named it.
typedef struct {
    baton_role_t role;
    const char *name; //  points into msg's metadata: valid while msg is
    size_t name_len;
} baton_peer_t;

//  Reads msg's BATON_ZAP_KEY_PROPERTY (set from the ZAP reply; msg must
//  come from zmq_msg_recv) into key. Returns 0, or BATON_EINVAL if msg has
//  none or not a valid one.
int baton__zap_peer_key (const zmq_msg_t *msg, uint8_t key[BATON_KEY_SIZE]);

//  Writes who sent msg (from zmq_recv), as logfmt fields for a log line,
//  into buf (cap bytes): peer=ADDRESS user=USER-ID key="Z85", "-" or ""
//  for what is not known (plaintext has no user and no key). Returns buf.
const char *baton__zap_describe (const zmq_msg_t *msg, char *buf, size_t cap);

//  Reads msg's "User-Id" (set from the ZAP reply; msg must come from
//  zmq_msg_recv) into peer without allocating. Returns 0, or BATON_EINVAL if
//  msg has no User-Id or one that is not "gateway:NAME" / "function:NAME".
int baton__zap_peer (const zmq_msg_t *msg, baton_peer_t *peer);

#endif
