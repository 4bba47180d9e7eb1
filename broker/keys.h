/*  keys.h - "baton keys": makes CURVE certificates for gateways and functions
 *  and lists a trust store (docs/security.md).  */
#ifndef BATON_CLI_KEYS_H
#define BATON_CLI_KEYS_H

//  Runs "baton keys new|list ...". argv[0] is the command's name ("keys") and
//  is skipped. Returns 0 on success, 1 when the work fails (a file exists, a
//  store is invalid: the reason on stderr), 2 on a usage error.
int baton__cmd_keys (int argc, char **argv);

#endif
