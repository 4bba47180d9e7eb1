/*  ctl.h - "baton ctl": steers a running gateway through its admin API
 *  (docs/operations.md, "Steering a running mesh").  */
#ifndef BATON_CTL_CTL_H
#define BATON_CTL_CTL_H

//  Runs "baton ctl ..."; argv[0] is the command's name ("ctl") and is
//  skipped. Prints tables (or the gateway's JSON with --json) to stdout and
//  what went wrong, with what to do, to stderr. Returns a BATON_CTL_* exit
//  code (ctl/args.h): 0 done, 1 refused, 2 usage, 3 unreachable, 4 not
//  authorized.
int baton__cmd_ctl (int argc, char **argv);

#endif
