/*  check.h - "baton check": validates a gateway configuration and prints
 *  the route table it resolves to.  */
#ifndef BATON_CLI_CHECK_H
#define BATON_CLI_CHECK_H

//  Runs "baton check -c FILE". argv[0] is the command's name ("check") and is
//  skipped. Prints the table to stdout and returns 0 when FILE is valid;
//  prints "file:line:column: ..." to stderr and returns 1 when it is not;
//  returns 2 on a usage error.
int baton__cmd_check (int argc, char **argv);

#endif
