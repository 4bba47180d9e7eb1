#include <baton/baton.h>

static int hello (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    baton_ctx_set_header (ctx, "Content-Type", "text/plain");
    baton_ctx_set_body_str (ctx, "hello, world\n");
    return baton_ctx_next (ctx);
}

int main (void)
{
    return baton_main (hello, NULL);
}
