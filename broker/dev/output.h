/*  output.h - the one output stream of "baton dev": every line on stdout with
 *  the name of the process it comes from in front ("auth.0  | text"), the
 *  names coloured on a terminal. Lines come from pipes read on a libuv loop
 *  (a child's stdout+stderr, the gateway's log) or from dev mode itself.  */
#ifndef BATON_DEV_OUTPUT_H
#define BATON_DEV_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

//  The name in front of each line of one process, and its colour.
typedef struct {
    char name[80]; //  "auth.0"
    int color;     //  an SGR code; 0 for none
} baton__dev_label_t;

typedef struct baton__dev_output baton__dev_output_t;

//  A stream on stdout whose pipes are read on loop; color: colour the names.
//  The label column starts as wide as "dev", the name of dev mode's own
//  lines. Caller owns the result; destroy it after loop has closed it
//  (baton__dev_output_close ()) and run its close callbacks.
baton__dev_output_t *baton__dev_output_new (uv_loop_t *loop, bool color);

//  Safe on NULL; sets *self_p to NULL.
void baton__dev_output_destroy (baton__dev_output_t **self_p);

//  Whether lines are coloured (the ready banner follows suit).
bool baton__dev_output_color (const baton__dev_output_t *self);

//  Makes the label column at least as wide as name, so that the "|" of every
//  line stands in one column. Call it for every label before the first line.
void baton__dev_output_widen (baton__dev_output_t *self, const char *name);

//  Writes text as it is, no label (cut after 4.5 KiB once formatted), waiting
//  while stdout is full. Once stdout is gone (EPIPE) nothing more is
//  written: dev mode goes on without it.
void baton__dev_output_printf (baton__dev_output_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  One line from dev mode itself, under the label "dev".
void baton__dev_output_say (baton__dev_output_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Takes fd, the read end of a pipe, and writes what comes out of it line by
//  line under label (borrowed: it must outlive the output) until the writer
//  closes it. A line longer than 4 KiB goes out in pieces. Returns 0, or a
//  uv error after closing fd.
int baton__dev_output_read (baton__dev_output_t *self, const baton__dev_label_t *label, int fd);

//  Stops reading every pipe, a partial last line written out: a pipe still
//  open is held by a process that left its group, and nobody waits for it.
//  The pipes are freed by the loop's close callbacks. Idempotent.
void baton__dev_output_close (baton__dev_output_t *self);

#endif
