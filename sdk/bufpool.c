/*  bufpool.c - a stack that any thread pushes given-back buffers onto and
 *  the owner takes whole (one atomic exchange: no ABA), a private free list
 *  of the owner's, and a reference count: one for the owner and one for
 *  each buffer out, so the last one back frees the pool.  */
#include <stdatomic.h>
#include <stdlib.h>
#include "bufpool.h"

//  Buffers kept for reuse at most; more given back at once are freed.
#define S_KEEP 256

typedef struct s_buf {
    struct s_buf *next;
    max_align_t data[]; //  the buffer's bytes
} s_buf_t;

struct baton__bufpool {
    _Atomic (s_buf_t *) given; //  given back, not yet taken again
    atomic_size_t refs;        //  the owner's, and one per buffer out
    s_buf_t *free;             //  the owner's: ready to take
    size_t nfree;
    size_t size;
};

static s_buf_t *
s_buf_of (void *data)
{
    return (s_buf_t *) ((char *) data - offsetof (s_buf_t, data));
}

static void
s_free_list (s_buf_t *b)
{
    while (b) {
        s_buf_t *next = b->next;
        free (b);
        b = next;
    }
}

//  Drops one reference; the last frees the pool and every buffer in it.
static void
s_release (baton__bufpool_t *self)
{
    if (atomic_fetch_sub_explicit (&self->refs, 1, memory_order_acq_rel) != 1)
        return;
    s_free_list (self->free);
    s_free_list (atomic_load_explicit (&self->given, memory_order_acquire));
    free (self);
}

baton__bufpool_t *
baton__bufpool_new (size_t size)
{
    baton__bufpool_t *self = (baton__bufpool_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    atomic_init (&self->given, NULL);
    atomic_init (&self->refs, 1);
    self->size = size;
    return self;
}

size_t
baton__bufpool_size (const baton__bufpool_t *self)
{
    return self->size;
}

void *
baton__bufpool_take (baton__bufpool_t *self)
{
    if (!self->free) {
        //  Everything given back since the last time, in one exchange.
        s_buf_t *b = atomic_exchange_explicit (&self->given, NULL, memory_order_acquire);
        while (b) {
            s_buf_t *next = b->next;
            if (self->nfree < S_KEEP) {
                b->next = self->free;
                self->free = b;
                self->nfree++;
            } else
                free (b);
            b = next;
        }
    }
    s_buf_t *b = self->free;
    if (b) {
        self->free = b->next;
        self->nfree--;
    } else if (!(b = (s_buf_t *) malloc (sizeof (s_buf_t) + self->size)))
        return NULL;
    atomic_fetch_add_explicit (&self->refs, 1, memory_order_relaxed);
    return b->data;
}

void
baton__bufpool_give (void *data, void *hint)
{
    baton__bufpool_t *self = (baton__bufpool_t *) hint;
    s_buf_t *b = s_buf_of (data);
    b->next = atomic_load_explicit (&self->given, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit (&self->given, &b->next, b, memory_order_release,
                                                   memory_order_relaxed)) {
    }
    s_release (self);
}

void
baton__bufpool_destroy (baton__bufpool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton__bufpool_t *self = *self_p;
    //  The owner's list is the owner's alone: freed now, not by a giver.
    s_free_list (self->free);
    self->free = NULL;
    self->nfree = 0;
    s_release (self);
    *self_p = NULL;
}
