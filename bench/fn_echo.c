/*  fn_echo.c - the echo hop bench/run chains: a libbaton function that passes
 *  the message through unchanged (the SDK forwards it to the next hop, or to
 *  reply-to after the last). What is measured is the cost of a hop itself:
 *  receive, decode, checks, record entry, encode, push.
 *      BATON_NAME=echo1 BATON_BIND=ipc:///tmp/x/echo1 fn_echo
 *  With arguments, one process hosts several echo functions (baton_host_t),
 *  and hops between them are handed over in memory:
 *      fn_echo echo1=ipc:///tmp/x/echo1 echo2=ipc:///tmp/x/echo2 ...
 *  CURVE comes from BATON_CERT and BATON_TRUST; in a host, each function
 *  NAME uses NAME.key_secret from BATON_CERT's folder (as tests/integration/
 *  fn_test.c does), since a worker's key is named after its function.  */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <baton/baton.h>

static int
s_echo (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    return baton_ctx_next (ctx);
}

int
main (int argc, char **argv)
{
    if (argc < 2)
        return baton_main (s_echo, NULL);
    baton_host_t *host = baton_host_new ();
    if (!host)
        return 1;
    const char *cert = getenv ("BATON_CERT");
    const char *slash = cert ? strrchr (cert, '/') : NULL;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr (argv[i], '=');
        if (!eq || eq == argv[i] || !eq[1]) {
            fprintf (stderr, "fn_echo: '%s' is not NAME=ENDPOINT\n", argv[i]);
            baton_host_destroy (&host);
            return 2;
        }
        *eq = '\0';
        baton_worker_config_t c = {0};
        c.name = argv[i];
        c.bind = eq + 1;
        char path[PATH_MAX]; //  read while the worker is made
        if (cert) {
            snprintf (path, sizeof path, "%.*s%s.key_secret", (int) (slash ? slash + 1 - cert : 0),
                      cert, c.name);
            c.cert = path;
        }
        if (!baton_host_add (host, &c, s_echo, NULL)) {
            baton_host_destroy (&host);
            return 1;
        }
    }
    int rc = baton_host_run (host);
    baton_host_destroy (&host);
    return rc == 0 ? 0 : 1;
}
