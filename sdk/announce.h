/*  announce.h - a worker's control channel to its gateways: one PUSH per
 *  gateway control endpoint, an announce when the worker starts serving, a
 *  heartbeat every interval after it from a thread of its own (so a handler
 *  that blocks cannot stop them), a goodbye when it drains or closes
 *  (runtime/control.h).  */
#ifndef BATON_ANNOUNCE_H
#define BATON_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cert.h"
#include "mesh.h"

typedef struct baton__announce baton__announce_t;

//  How the control sockets connect: as CURVE clients with cert of the
//  gateway keys mesh trusts, or (cert NULL) in plaintext, to loopback, ipc
//  and inproc endpoints only unless insecure. Borrowed: must outlive the
//  announcer.
typedef struct {
    const baton_cert_t *cert;
    const baton__mesh_t *mesh;
    bool insecure;
} baton__announce_security_t;

//  Connects one control socket per entry of gateways ("a, b,,c": trimmed,
//  empty entries skipped; NULL: none, and no control traffic ever) in the
//  ZeroMQ context zctx (borrowed). An entry NAME@endpoint names the gateway
//  whose key the trust store holds; without a name, with CURVE, the store's
//  only gateway key is the server key. name, endpoint and version (NULL: "")
//  say who sends; they are copied, and the zone it names is BATON_ZONE's
//  (unset: none). qname is name quoted for log lines.
//  Returns NULL (logged when a gateway endpoint or its key is refused) if it
//  cannot.
baton__announce_t *baton__announce_new (void *zctx, const char *gateways, const char *name,
                                        const char *qname, const char *endpoint,
                                        const char *version, int heartbeat_ms,
                                        const baton__announce_security_t *security);

//  Says goodbye to every gateway if it announced since the last goodbye
//  (which stops the heartbeat thread), then closes the control sockets (each
//  keeps its linger). Safe on NULL; sets *self_p to NULL.
void baton__announce_destroy (baton__announce_t **self_p);

//  Says goodbye to every gateway now if it announced since the last goodbye
//  (a drain begins), and stops the heartbeat thread: no heartbeat follows
//  the goodbye. The next baton__announce_start announces again. Sends never
//  block; waits only for the thread to end.
void baton__announce_goodbye (baton__announce_t *self);

//  Announces and starts the heartbeat thread, which heartbeats every
//  interval until the goodbye, unless it runs already. Called once per
//  envelope: a single atomic load when it runs. Never blocks on the network.
void baton__announce_start (baton__announce_t *self);

//  The gateway control endpoints, in the order given (without NAME@).
size_t baton__announce_gateway_count (const baton__announce_t *self);
const char *baton__announce_gateway (const baton__announce_t *self, size_t i);

#endif
