/*  plan.h - what "baton dev" starts for a config: one child process per
 *  replica of each function that has a run: command, each with its label,
 *  its inbox, its shell command and its whole environment, plus the private
 *  runtime dir that holds the ipc:// inboxes, the mesh's fresh CURVE keys,
 *  its fresh mesh key and the admin API's fresh token. Knows nothing of
 *  processes.  */
#ifndef BATON_DEV_PLAN_H
#define BATON_DEV_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include "config/config.h"
#include "dev/output.h"

//  One process to start: one copy of one function.
typedef struct {
    const baton_config_function_t *fn;
    unsigned index;           //  BATON_REPLICA
    baton__dev_label_t label; //  "auth.0"
    char *endpoint;           //  its inbox (BATON_BIND)
    char *sock_path;          //  the file of an ipc:// inbox, or NULL
    char *command;            //  what /bin/sh -c runs
    char **env;               //  its whole environment, NULL at the end
} baton__dev_child_t;

typedef struct baton__dev_plan baton__dev_plan_t;

//  Plans dev mode for config, loaded from config_path: makes the runtime dir,
//  decides each function's processes and inboxes, and gives config the
//  endpoints the gateway connects to (and gateway.reply, unless the file
//  sets it). Then the mesh, whatever the file's security section says:
//  CURVE with a fresh key set in <runtime dir>/keys (each child gets
//  BATON_CERT and BATON_TRUST), or with insecure plaintext (mode insecure,
//  BATON_SECURITY=insecure). Then a fresh mesh key in <runtime
//  dir>/mesh-key (mode 0600), which security.mesh_key names and each child
//  gets as BATON_MESH_KEY. Last, a fresh admin token in <runtime
//  dir>/admin-token (mode 0600), which gateway.admin_token_file names,
//  whatever the file said. Returns NULL with why in err. Caller owns the
//  result and destroys it before config.
baton__dev_plan_t *baton__dev_plan_new (baton_config_t *config, const char *config_path,
                                        bool insecure, char *err, size_t errlen);

//  Removes the runtime dir, then frees the plan. Safe on NULL; sets *self_p
//  to NULL.
void baton__dev_plan_destroy (baton__dev_plan_t **self_p);

//  Removes the runtime dir and every file in it (the sockets of the
//  inboxes, the keys). Idempotent; for a dev mode that is about to _exit ().
void baton__dev_plan_remove_dir (baton__dev_plan_t *self);

//  How many processes to start, and the index-th of them (index < count).
size_t baton__dev_plan_count (const baton__dev_plan_t *self);
const baton__dev_child_t *baton__dev_plan_child (const baton__dev_plan_t *self, size_t index);

//  Where every process runs: the config file's directory, absolute.
const char *baton__dev_plan_cwd (const baton__dev_plan_t *self);

//  The private runtime dir, under $XDG_RUNTIME_DIR or /tmp.
const char *baton__dev_plan_runtime_dir (const baton__dev_plan_t *self);

//  The build tree this baton runs from (<build>/broker/baton), given to the
//  processes as BATON_BUILD_DIR; "" when it runs from elsewhere.
const char *baton__dev_plan_build_dir (const baton__dev_plan_t *self);

#endif
