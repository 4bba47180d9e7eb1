/*  test_bufpool.c - the pool a worker sends envelopes from: buffers given
 *  back (from any thread) are taken again instead of allocated, and a pool
 *  its owner let go lives until its last buffer is back (ASan and valgrind
 *  see every buffer freed once).  */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include "bufpool.h"

#define S_OUT 64

Test (bufpool, a_buffer_given_back_is_taken_again)
{
    baton__bufpool_t *pool = baton__bufpool_new (512);
    cr_assert_not_null (pool);
    cr_assert_eq (baton__bufpool_size (pool), 512);
    char *a = (char *) baton__bufpool_take (pool), *b = (char *) baton__bufpool_take (pool);
    cr_assert (a && b && a != b);
    memset (a, 0xa5, 512); //  all of it is the caller's
    memset (b, 0x5a, 512);
    baton__bufpool_give (a, pool);
    cr_assert_eq (baton__bufpool_take (pool), a, "the buffer given back is reused");
    baton__bufpool_give (a, pool);
    baton__bufpool_give (b, pool);
    baton__bufpool_destroy (&pool);
    cr_assert_null (pool);
}

typedef struct {
    baton__bufpool_t *pool;
    void **bufs;
    size_t n;
} s_giver_t;

static void *
s_give_all (void *arg)
{
    s_giver_t *g = (s_giver_t *) arg;
    for (size_t i = 0; i < g->n; i++)
        baton__bufpool_give (g->bufs[i], g->pool);
    return NULL;
}

Test (bufpool, buffers_given_back_by_other_threads_are_reused)
{
    baton__bufpool_t *pool = baton__bufpool_new (256);
    void *out[2][S_OUT];
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < S_OUT; i++)
            cr_assert_not_null (out[t][i] = baton__bufpool_take (pool));
    pthread_t th[2];
    s_giver_t g[2];
    for (int t = 0; t < 2; t++) {
        g[t] = (s_giver_t){pool, out[t], S_OUT};
        pthread_create (&th[t], NULL, s_give_all, &g[t]);
    }
    for (int t = 0; t < 2; t++)
        pthread_join (th[t], NULL);
    //  Every one taken now is one of those given back.
    for (int i = 0; i < 2 * S_OUT; i++) {
        void *p = baton__bufpool_take (pool);
        bool known = false;
        for (int t = 0; t < 2 && !known; t++)
            for (int k = 0; k < S_OUT && !known; k++)
                known = out[t][k] == p;
        cr_assert (known, "take %d allocated, with %d given back", i, 2 * S_OUT);
        baton__bufpool_give (p, pool);
    }
    baton__bufpool_destroy (&pool);
}

Test (bufpool, a_pool_let_go_lives_until_its_last_buffer_is_back)
{
    baton__bufpool_t *pool = baton__bufpool_new (128);
    void *bufs[S_OUT];
    for (int i = 0; i < S_OUT; i++)
        bufs[i] = baton__bufpool_take (pool);
    baton__bufpool_t *hint = pool;
    baton__bufpool_destroy (&pool);
    //  As ZeroMQ's I/O thread does after the worker is gone.
    s_giver_t g = {hint, bufs, S_OUT};
    pthread_t th;
    pthread_create (&th, NULL, s_give_all, &g);
    pthread_join (th, NULL);
}
