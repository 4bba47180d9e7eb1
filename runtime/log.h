/*  log.h - logfmt lines on stderr with levels:
 *      ts=2026-11-26T04:14:16.123Z level=info comp=gateway msg="listening" addr=...
 *  The level comes from BATON_LOG (debug|info|warn|error, default info).  */
#ifndef BATON_LOG_H
#define BATON_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    BATON_LOG_DEBUG = 0,
    BATON_LOG_INFO = 1,
    BATON_LOG_WARN = 2,
    BATON_LOG_ERROR = 3,
    BATON_LOG_OFF = 4
} baton_log_level_t;

//  Sets the lowest level written. Overrides BATON_LOG.
void baton__log_set_level (baton_log_level_t level);
//  True if a line of this level would be written.
bool baton__log_enabled (baton_log_level_t level);

//  Writes one line: ts, level, comp, msg, then the extra fields in fmt, which
//  the caller writes as logfmt (key=value key2="quoted value"). Values from
//  the network must go through baton__log_quote (). One write(2) per line.
void baton__log (baton_log_level_t level, const char *comp, const char *msg, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Writes src as a logfmt value into dst (cap bytes, always NUL-terminated):
//  quoted when needed, with ", \ and control bytes escaped, cut to fit with
//  "..." appended. Returns dst.
const char *baton__log_quote (char *dst, size_t cap, const char *src, size_t len);

//  A token bucket for messages that peers can trigger at will (bad envelopes):
//  allows `burst` lines, then one per `interval_ms`; counts what it suppressed.
typedef struct {
    uint64_t last_ms;
    uint32_t tokens;
    uint32_t burst;
    uint32_t interval_ms;
    uint64_t suppressed;
} baton_ratelimit_t;

#define BATON_RATELIMIT_INIT(burst_, interval_ms_)                                                 \
    {                                                                                              \
        0, (burst_), (burst_), (interval_ms_), 0                                                   \
    }

//  Returns true if a line may be written now; false counts one suppressed.
bool baton__ratelimit_allow (baton_ratelimit_t *rl);

#endif
