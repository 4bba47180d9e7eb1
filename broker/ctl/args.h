/*  args.h - the command line of "baton ctl": its options, its commands and
 *  their arguments, checked before anything is sent, and the help of each
 *  command (which documents the exit codes).  */
#ifndef BATON_CTL_ARGS_H
#define BATON_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  What "baton ctl" exits with; scripts may rely on these.
#define BATON_CTL_OK          0 //  done
#define BATON_CTL_REFUSED     1 //  the gateway refused (4xx/5xx other than auth) or answered garbage
#define BATON_CTL_USAGE       2 //  a usage error: nothing was sent
#define BATON_CTL_UNREACHABLE 3 //  the gateway could not be reached or did not answer in time
#define BATON_CTL_AUTH        4 //  not authorized (401/403)

#define BATON_CTL_DEFAULT_TIMEOUT_MS 5000

typedef enum {
    BATON_CTL_STATUS,
    BATON_CTL_ROUTES,
    BATON_CTL_TOPOLOGY,
    BATON_CTL_CONFIG,
    BATON_CTL_RELOAD,
    BATON_CTL_OVERRIDE_LIST,
    BATON_CTL_OVERRIDE_ADD,
    BATON_CTL_OVERRIDE_RM,
    BATON_CTL_DRAIN,
    BATON_CTL_UNDRAIN,
} baton__ctl_cmd_t;

//  A parsed command line. Strings point into argv.
typedef struct {
    baton__ctl_cmd_t cmd;
    const char *help;       //  set by -h/--help: the text to print; nothing else is done
    const char *admin;      //  --admin, or NULL
    const char *config;     //  -c/--config, or NULL
    const char *token_file; //  --token-file, or NULL
    bool json;              //  --json
    uint64_t timeout_ms;    //  --timeout, or BATON_CTL_DEFAULT_TIMEOUT_MS
    //  override add: kind ("chain", "pin", "weight" or "fail"), its route or
    //  function, its list (chain, replicas, weights) or status, and options.
    const char *kind;
    const char *target;
    const char *value;
    const char *ttl;
    const char *method;
    const char *body;
    const char *content_type;
    const char *id; //  override rm, drain, undrain
} baton__ctl_args_t;

//  Parses argv (argv[0] is "ctl" and is skipped) into *a. Options may come
//  before or after the command. Returns 0, or -1 with what is wrong and what
//  to do in err (errlen bytes, NUL-terminated): a usage error.
int baton__ctl_args_parse (int argc, char **argv, baton__ctl_args_t *a, char *err, size_t errlen);

//  The help of "baton ctl" itself: commands, options, exit codes.
extern const char baton__ctl_help[];

#endif
