/*  sockcache.h - PUSH sockets kept open per endpoint and server key, at most
 *  `cap` of them: a hop connects once to each successor (or reply-to) it
 *  sends to, and the least recently used socket is closed when a new one
 *  needs the room.  */
#ifndef BATON_SOCKCACHE_H
#define BATON_SOCKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cert.h"

typedef struct baton__sockcache baton__sockcache_t;

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
//  refuses it. The socket stays owned by the cache. *fresh (if not NULL)
//  tells whether it was connected just now.
void *baton__sockcache_get (baton__sockcache_t *self, const char *endpoint, size_t len,
                            const uint8_t *key, bool *fresh);

//  Number of sockets open now.
size_t baton__sockcache_count (const baton__sockcache_t *self);

#endif
