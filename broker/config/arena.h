/*  arena.h - a bump allocator: many small allocations, freed all at once.
 *  A loaded configuration and a YAML document's tree each live in one.  */
#ifndef BATON_ARENA_H
#define BATON_ARENA_H

#include <stddef.h>

typedef struct baton_arena baton_arena_t;

//  Caller owns the result; release it with baton_arena_destroy (). Aborts
//  when out of memory.
baton_arena_t *baton_arena_new (void);

//  Frees the arena and everything allocated from it. Safe on NULL; sets
//  *self_p to NULL.
void baton_arena_destroy (baton_arena_t **self_p);

//  Returns size zeroed bytes, aligned for any type, that live until the
//  arena is destroyed. Aborts when out of memory.
void *baton_arena_alloc (baton_arena_t *self, size_t size);

//  Returns a NUL-terminated copy of the len bytes at str, from the arena.
char *baton_arena_strndup (baton_arena_t *self, const char *str, size_t len);

//  Prints "baton: out of memory" and aborts: how every allocation in config/
//  ends when the system has no memory left.
_Noreturn void baton_arena_oom (void);

#endif
