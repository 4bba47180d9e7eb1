/*  main.c - the baton binary: one command per job.  */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "ctl/ctl.h"
#include "dev/dev.h"
#include "gateway.h"
#include "keys.h"

#ifndef BATON_VERSION
#define BATON_VERSION "0.0.0"
#endif

static void
s_usage (FILE *out)
{
    fputs ("usage: baton COMMAND [OPTIONS]\n"
           "\n"
           "Baton composes functions into request chains: the gateway turns each HTTP\n"
           "request into an envelope that carries its own route through the functions.\n"
           "\n"
           "commands:\n"
           "  dev [-c FILE]     run a whole chain here: the gateway and every function\n"
           "                    (default: the pipeline example)\n"
           "  gateway -c FILE   run the edge gateway (HTTP in, envelopes out)\n"
           "  check -c FILE     validate a configuration and print its route table\n"
           "  keys new|list     make CURVE certificates, list a trust store\n"
           "  ctl COMMAND       steer a running gateway: status, reload, overrides, drains\n"
           "  version           print the version\n"
           "  help              this text\n"
           "\n"
           "Run 'baton COMMAND --help' for a command's options. Docs: docs/gateway.md\n",
           out);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp (cmd, "dev") == 0)
        return baton__cmd_dev (argc - 1, argv + 1);
    if (strcmp (cmd, "__child") == 0) //  internal: what baton dev spawns
        return baton__cmd_dev_child (argc - 1, argv + 1);
    if (strcmp (cmd, "gateway") == 0)
        return baton__cmd_gateway (argc - 1, argv + 1);
    if (strcmp (cmd, "check") == 0)
        return baton__cmd_check (argc - 1, argv + 1);
    if (strcmp (cmd, "keys") == 0)
        return baton__cmd_keys (argc - 1, argv + 1);
    if (strcmp (cmd, "ctl") == 0)
        return baton__cmd_ctl (argc - 1, argv + 1);
    if (strcmp (cmd, "version") == 0 || strcmp (cmd, "--version") == 0) {
        printf ("baton %s\n", BATON_VERSION);
        return 0;
    }
    if (strcmp (cmd, "help") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0) {
        s_usage (stdout);
        return 0;
    }
    fprintf (stderr, "baton: unknown command '%s'\n\n", cmd);
    s_usage (stderr);
    return 2;
}
