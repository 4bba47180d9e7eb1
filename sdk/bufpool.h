/*  bufpool.h - the buffers a worker encodes envelopes into and hands to
 *  ZeroMQ, which frees them on its I/O thread once sent. A buffer freed on
 *  another thread than the one that allocated it costs glibc a lock and a
 *  walk of its bins on both sides; a pool takes it back instead (any thread
 *  gives, one thread takes), so the steady state allocates nothing.  */
#ifndef BATON_BUFPOOL_H
#define BATON_BUFPOOL_H

#include <stddef.h>

typedef struct baton__bufpool baton__bufpool_t;

//  A pool of buffers of size bytes each, or NULL if memory runs out.
baton__bufpool_t *baton__bufpool_new (size_t size);

//  The bytes of each buffer.
size_t baton__bufpool_size (const baton__bufpool_t *self);

//  A buffer of the pool's size, from those given back if any, else newly
//  allocated; NULL if memory runs out. Only the thread that owns the pool
//  takes.
void *baton__bufpool_take (baton__bufpool_t *self);

//  Gives back data, a buffer taken from the pool hint, from any thread: a
//  zmq_free_fn. The pool lives on until the last of its buffers is back.
void baton__bufpool_give (void *data, void *hint);

//  The owner lets go of the pool: it is freed now, or when the last buffer
//  still out is given back.
void baton__bufpool_destroy (baton__bufpool_t **self_p);

#endif
