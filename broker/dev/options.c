/*  options.c - the command line of "baton dev" (see options.h).  */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dev/options.h"

#ifndef BATON_SOURCE_DIR
#define BATON_SOURCE_DIR "."
#endif
#define S_DEFAULT_CONFIG BATON_SOURCE_DIR "/examples/pipeline/baton.yaml"

static void
s_usage (FILE *out)
{
    fputs ("usage: baton dev [-c FILE] [-p PORT] [--admin-port PORT] [--insecure]\n"
           "                 [--color|--no-color]\n"
           "\n"
           "Runs a whole chain on this machine: the gateway of FILE in this process, and\n"
           "each function that has a run: command as child processes (replicas: N copies).\n"
           "The mesh between them speaks CURVE with a key set made fresh for each run.\n"
           "\n"
           "  -c, --config FILE   the configuration (default: the pipeline example,\n"
           "                      " S_DEFAULT_CONFIG ")\n"
           "  -p, --port PORT     listen on PORT, not gateway.listen's (0: any free port)\n"
           "      --admin-port PORT   the same for gateway.admin\n"
           "      --insecure      a plaintext mesh, for tools that cannot speak CURVE:\n"
           "                      anyone who reaches an inbox can run its function\n"
           "      --color, --no-color   colour the name prefixes (default: when stdout is a\n"
           "                      terminal and NO_COLOR is not set)\n"
           "  -h, --help          this text\n"
           "\n"
           "Each function:\n"
           "  - run: is a /bin/sh -c command, run in the config file's directory, so a\n"
           "    relative path is relative to the config file. A simple command is exec'd\n"
           "    by the shell, so the function itself is the process dev mode watches.\n"
           "  - its environment has BATON_NAME, BATON_BIND (its inbox), BATON_REPLICA\n"
           "    (0..N-1), BATON_GATEWAY (gateway.control, if set), BATON_BUILD_DIR (the\n"
           "    build tree this baton comes from: the examples find their binaries there),\n"
           "    and BATON_CERT (its secret key) and BATON_TRUST (the trust store), or\n"
           "    BATON_SECURITY=insecure with --insecure.\n"
           "  - keys: <runtime dir>/keys holds a gateway key and one key per function\n"
           "    started here (secrets mode 0600), made at start and removed on exit. The\n"
           "    config's own security: section is set aside, and a function with\n"
           "    endpoints: but no run: (a process dev mode does not start) needs --insecure.\n"
           "  - a function without endpoints: gets ipc://<runtime dir>/<name>-<replica>; the\n"
           "    runtime dir is private (under $XDG_RUNTIME_DIR or /tmp) and removed on exit.\n"
           "    With endpoints:, one process per endpoint. gateway.reply, unless set, is\n"
           "    ipc://<runtime dir>/reply.\n"
           "  - when it exits it is restarted after 100ms, doubling up to 5s (back to 100ms\n"
           "    once it ran 5s). One that never starts (exits 5 times in a row within 1s,\n"
           "    or exit 126/127 from the shell) stops dev mode with exit status 1.\n"
           "\n"
           "Output: one stream on stdout, each line prefixed with its process (gateway,\n"
           "auth.0, ...). When every inbox is bound it prints the routes and curl lines: the\n"
           "config's \"# try: ...\" comments ({url} is the gateway's URL), or one per route.\n"
           "\n"
           "Ctrl-C, SIGTERM or SIGHUP stops the gateway (in-flight requests finish), then\n"
           "the functions (SIGTERM to each process group, SIGKILL after 3s), and exits 0.\n"
           "A second Ctrl-C kills everything at once. If baton dev itself is killed, the\n"
           "kernel kills the functions (PR_SET_PDEATHSIG). Docs: docs/quickstart.md\n",
           out);
}

static int
s_port_arg (const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 65535)
        return -1;
    *out = (int) v;
    return 0;
}

int
baton__dev_options_parse (int argc, char **argv, baton__dev_options_t *o)
{
    *o = (baton__dev_options_t){S_DEFAULT_CONFIG, true, -1, -1, -1, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
            s_usage (stdout);
            return 1;
        } else if (!strcmp (a, "--color"))
            o->color = 1;
        else if (!strcmp (a, "--no-color"))
            o->color = 0;
        else if (!strcmp (a, "--insecure"))
            o->insecure = true;
        else if ((!strcmp (a, "-c") || !strcmp (a, "--config")) && v) {
            o->config = v;
            o->config_default = false;
            i++;
        } else if (!strncmp (a, "--config=", 9)) {
            o->config = a + 9;
            o->config_default = false;
        } else if ((!strcmp (a, "-p") || !strcmp (a, "--port")) && v) {
            if (s_port_arg (v, &o->port) < 0)
                goto bad_port;
            i++;
        } else if (!strcmp (a, "--admin-port") && v) {
            if (s_port_arg (v, &o->admin_port) < 0)
                goto bad_port;
            i++;
        } else {
            fprintf (stderr, "baton dev: unexpected argument '%s'\n\n", a);
            s_usage (stderr);
            return 2;
        }
        continue;
    bad_port:
        fprintf (stderr, "baton dev: %s needs a port from 0 to 65535, not '%s'\n", a, v);
        return 2;
    }
    return 0;
}
