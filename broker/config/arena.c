/*  arena.c - chunks of 64 KiB (or one as large as the allocation) in a
 *  list; an allocation takes the next aligned bytes of the newest chunk.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/arena.h"

typedef struct s_chunk {
    struct s_chunk *next;
    size_t used;
    size_t cap;
} s_chunk_t;

struct baton_arena {
    s_chunk_t *head; //  the newest chunk, which allocations come from
};

#define S_ALIGN ((size_t) _Alignof(max_align_t))
#define S_HDR   ((sizeof (s_chunk_t) + S_ALIGN - 1) / S_ALIGN * S_ALIGN)
#define S_CHUNK ((size_t) 64 * 1024)

_Noreturn void
baton_arena_oom (void)
{
    fputs ("baton: out of memory\n", stderr);
    abort ();
}

baton_arena_t *
baton_arena_new (void)
{
    baton_arena_t *self = calloc (1, sizeof *self);
    if (!self)
        baton_arena_oom ();
    return self;
}

void
baton_arena_destroy (baton_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_arena_t *self = *self_p;
    while (self->head) {
        s_chunk_t *next = self->head->next;
        free (self->head);
        self->head = next;
    }
    free (self);
    *self_p = NULL;
}

void *
baton_arena_alloc (baton_arena_t *self, size_t size)
{
    if (size > SIZE_MAX / 2)
        baton_arena_oom ();
    size = size ? (size + S_ALIGN - 1) / S_ALIGN * S_ALIGN : S_ALIGN;
    s_chunk_t *chunk = self->head;
    if (!chunk || chunk->cap - chunk->used < size) {
        size_t cap = size > S_CHUNK ? size : S_CHUNK;
        chunk = malloc (S_HDR + cap);
        if (!chunk)
            baton_arena_oom ();
        chunk->used = 0;
        chunk->cap = cap;
        chunk->next = self->head;
        self->head = chunk;
    }
    void *ptr = (char *) chunk + S_HDR + chunk->used;
    chunk->used += size;
    memset (ptr, 0, size);
    return ptr;
}

char *
baton_arena_strndup (baton_arena_t *self, const char *str, size_t len)
{
    char *copy = baton_arena_alloc (self, len + 1);
    memcpy (copy, str, len);
    copy[len] = '\0';
    return copy;
}
