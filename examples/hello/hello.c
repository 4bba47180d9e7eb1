/*  hello.c - the smallest Baton function: GET /hello answers "hello, world",
 *  GET /hello/<name> answers "hello, <name>". Run it with
 *  `baton dev -c examples/hello/baton.yaml`.  */
#include <baton/baton.h>
#include <stdio.h>

#define MAX_NAME 64

static int
s_hello (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    //  The route is /hello or /hello/{name}: the name is what follows the
    //  second '/', if anything.
    baton_slice_t path = baton_ctx_path (ctx);
    const char *name = "world";
    size_t len = 5;
    for (size_t i = 1; i < path.len; i++)
        if (path.ptr[i] == '/' && i + 1 < path.len) {
            name = path.ptr + i + 1;
            len = path.len - i - 1;
            break;
        }
    if (len > MAX_NAME)
        return baton_ctx_fail (ctx, 414, "a name is at most 64 bytes");
    char body[MAX_NAME + 16];
    int n = snprintf (body, sizeof body, "hello, %.*s\n", (int) len, name);
    baton_ctx_set_header (ctx, "Content-Type", "text/plain; charset=utf-8");
    baton_ctx_set_body (ctx, body, (size_t) n);
    baton_ctx_set_status (ctx, 200);
    return baton_ctx_next (ctx);
}

int
main (void)
{
    return baton_main (s_hello, NULL);
}
