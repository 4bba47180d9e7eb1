/*  fn_echo.c - the echo hop bench/run chains: a libbaton function that passes
 *  the message through unchanged (the SDK forwards it to the next hop, or to
 *  reply-to after the last). What is measured is the cost of a hop itself:
 *  receive, decode, checks, record entry, encode, push.
 *      BATON_NAME=echo1 BATON_BIND=ipc:///tmp/x/echo1 fn_echo  */
#include <baton/baton.h>

static int
s_echo (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    return baton_ctx_next (ctx);
}

int
main (void)
{
    return baton_main (s_echo, NULL);
}
