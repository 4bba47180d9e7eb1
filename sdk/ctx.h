/*  ctx.h - what a handler's baton_ctx_t holds, shared by worker.c (which
 *  builds one per envelope on its stack) and ctx.c (the accessors).  */
#ifndef BATON_CTX_H
#define BATON_CTX_H

#include <stdint.h>
#include "baton/baton.h"

//  How the handler ended the hop.
typedef enum {
    BATON__END_NONE = 0,
    BATON__END_NEXT,
    BATON__END_REPLY,
    BATON__END_FAIL
} baton__ending_t;

struct baton_ctx {
    baton_envelope_t *env;
    baton_slice_t hop_name; //  route[index].name, or the worker's name if empty
    uint64_t t_in_us;       //  when the envelope was taken from the inbox
    baton__ending_t ending;
};

//  Turns env into an error response: sets its error (status, detail, hop),
//  the message status, Content-Type: application/problem+json and a problem
//  body {"type","title","status","detail","hop"} with detail and hop escaped.
//  Returns 0 or BATON_ENOMEM.
int baton__problem_apply (baton_envelope_t *env, unsigned status, const char *detail,
                          size_t detail_len, baton_slice_t hop);

#endif
