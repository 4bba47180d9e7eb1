/*  sockcache.h - PUSH sockets kept open per endpoint and server key, at most
 *  `cap` of them: a hop connects once to each successor (or reply-to) it
 *  sends to, and the least recently used socket is closed when a new one
 *  needs the room. It remembers a peer that lately took nothing in time, so
 *  that a hop does not wait on it envelope after envelope.  */
#ifndef BATON_SOCKCACHE_H
#define BATON_SOCKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cert.h"

typedef struct baton__sockcache baton__sockcache_t;

//  How long a peer that took nothing within the send timeout is not waited
//  for (unless it takes a message sooner): about as long as a gateway takes
//  to find a replica dead and stop routing to it.
#define BATON__PEER_DOWN_MS 1000

//  What the cache knows of a socket's peer.
typedef enum {
    BATON__PEER_UP = 0, //  took the last message, or was never tried
    BATON__PEER_FRESH,  //  connected just now: its handshake may be under way
    BATON__PEER_DOWN    //  took nothing in time lately: try it, but do not wait for it
} baton__peer_state_t;

//  Options every socket of the cache is created with.
typedef struct {
    int send_timeout_ms;      //  ZMQ_SNDTIMEO
    int send_hwm;             //  ZMQ_SNDHWM
    int linger_ms;            //  ZMQ_LINGER
    bool immediate;           //  ZMQ_IMMEDIATE: queue only to a connected peer
    const baton_cert_t *cert; //  CURVE client certificate (borrowed); NULL: plaintext
} baton__sockopts_t;

//  Creates an empty cache of at most cap sockets in the ZeroMQ context zctx
//  (borrowed). Returns NULL if memory runs out.
baton__sockcache_t *baton__sockcache_new (void *zctx, size_t cap, const baton__sockopts_t *opts);

//  Closes every socket (each keeps its linger) and frees the cache. Safe on
//  NULL; sets *self_p to NULL.
void baton__sockcache_destroy (baton__sockcache_t **self_p);

//  Returns the PUSH socket connected to endpoint[0..len) that accepts only
//  the server holding key (BATON_KEY_SIZE bytes; NULL in plaintext, where the
//  cache has no cert), connecting a new one (and closing the least recently
//  used if the cache is full) on a miss. The endpoint comes from the
//  network: returns NULL if it is empty, holds a NUL, is too long, or ZeroMQ
//  refuses it. The socket stays owned by the cache. *state tells what is
//  known of its peer.
void *baton__sockcache_get (baton__sockcache_t *self, const char *endpoint, size_t len,
                            const uint8_t *key, baton__peer_state_t *state);

//  Tells the cache how the last send through the socket the last
//  baton__sockcache_get returned went: taken (down false), or not taken
//  within the send timeout (down true: its peer is DOWN for
//  BATON__PEER_DOWN_MS).
void baton__sockcache_mark (baton__sockcache_t *self, bool down);

//  Sets the options that make a PUSH socket notice a peer whose host went
//  away (a cut link resets nothing): ZMTP heartbeats drop a connection that
//  stays silent, and connects are cut short and tried afresh, so a peer
//  that comes back is reached at once rather than after TCP's backoff.
//  Every socket of a cache has them; before zmq_connect.
void baton__sockcache_watch (void *sock);

//  Number of sockets open now.
size_t baton__sockcache_count (const baton__sockcache_t *self);

#endif
