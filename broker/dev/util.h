/*  util.h - the few helpers every part of "baton dev" uses: memory that
 *  aborts instead of failing, a monotonic clock in ms, signal names.  */
#ifndef BATON_DEV_UTIL_H
#define BATON_DEV_UTIL_H

#include <stddef.h>
#include <stdint.h>

//  Returns size zeroed bytes (at least one). Aborts when out of memory.
//  Caller owns the result and frees it with free ().
void *baton__dev_alloc (size_t size);

//  A copy of s. Aborts when out of memory; caller frees it.
char *baton__dev_strdup (const char *s);

//  The formatted string, however long. Aborts when out of memory; caller
//  frees it.
char *baton__dev_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

//  Milliseconds on the monotonic clock: only differences mean something.
uint64_t baton__dev_now_ms (void);

//  "SIGTERM" for SIGTERM and the other signals a process commonly dies of;
//  "a signal" for the rest. Never NULL, never to be freed.
const char *baton__dev_signame (int sig);

#endif
