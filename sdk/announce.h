/*  announce.h - a worker's control channel to its gateways: one PUSH per
 *  gateway control endpoint, an announce at the first beat, a heartbeat every
 *  interval after it, a goodbye when it closes (runtime/control.h).  */
#ifndef BATON_ANNOUNCE_H
#define BATON_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct baton__announce baton__announce_t;

//  Connects one control socket per entry of gateways ("a, b,,c": trimmed,
//  empty entries skipped; NULL: none, and no control traffic ever) in the
//  ZeroMQ context zctx (borrowed). name, endpoint and version (NULL: "") say
//  who sends; they are copied. qname is name quoted for log lines. Returns
//  NULL (logged when a gateway endpoint is refused) if it cannot.
baton__announce_t *baton__announce_new (void *zctx, const char *gateways, const char *name,
                                        const char *qname, const char *endpoint,
                                        const char *version, int heartbeat_ms);

//  Says goodbye to every gateway if it ever announced, then closes the
//  control sockets (each keeps its linger). Safe on NULL; sets *self_p to NULL.
void baton__announce_destroy (baton__announce_t **self_p);

//  Announces, or heartbeats when the interval has passed since the last beat.
//  now_ms is the wall clock (baton__wall_ms), the clock a hop reads anyway.
//  Never blocks; cheap when it is not time.
void baton__announce_beat (baton__announce_t *self, uint64_t now_ms);

//  The gateway control endpoints, in the order given.
size_t baton__announce_gateway_count (const baton__announce_t *self);
const char *baton__announce_gateway (const baton__announce_t *self, size_t i);

#endif
