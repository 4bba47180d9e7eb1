/*  dev.h - "baton dev": a whole chain on one machine with one command. The
 *  gateway runs in-process; each function of the config that has a run:
 *  command runs as a child process (replicas: N copies) that is restarted
 *  when it exits, and all their output is one stream with a name prefix per
 *  process. Rules and options: docs/quickstart.md, "baton dev --help".  */
#ifndef BATON_DEV_H
#define BATON_DEV_H

//  "baton dev [-c FILE] [options]": runs until SIGINT or SIGTERM, then stops
//  the gateway (draining in-flight requests), then the functions (SIGTERM to
//  each one's process group, SIGKILL after 3 s), removes its runtime dir and
//  returns 0. Returns 1 if the config is invalid, the gateway cannot start or
//  a function cannot start at all; 2 on a usage error. argv[0] is "dev".
int baton__cmd_dev (int argc, char **argv);

//  "baton __child PPID -- COMMAND", internal: what dev mode spawns. Asks the
//  kernel to SIGKILL this process when its parent dies, checks that the
//  parent is still PPID, then replaces itself with /bin/sh -c COMMAND.
//  Returns only on failure (126, the shell's "cannot execute").
int baton__cmd_dev_child (int argc, char **argv);

#endif
