/*  log.c - logfmt logging on stderr, one write(2) per line so lines from
 *  several processes sharing a terminal never interleave mid-line.  */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "clock.h"

static int s_level = -1;

static const char *s_names[] = {"debug", "info", "warn", "error", "off"};

static int
s_level_from_env (void)
{
    const char *env = getenv ("BATON_LOG");
    if (env)
        for (int i = 0; i <= BATON_LOG_OFF; i++)
            if (strcasecmp (env, s_names[i]) == 0)
                return i;
    return BATON_LOG_INFO;
}

void
baton__log_set_level (baton_log_level_t level)
{
    s_level = (int) level;
}

bool
baton__log_enabled (baton_log_level_t level)
{
    if (s_level < 0)
        s_level = s_level_from_env ();
    return (int) level >= s_level && level < BATON_LOG_OFF;
}

void
baton__log (baton_log_level_t level, const char *comp, const char *msg, const char *fmt, ...)
{
    if (!baton__log_enabled (level))
        return;
    char line[2048];
    uint64_t now = baton__wall_us ();
    time_t secs = (time_t) (now / 1000000u);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char qmsg[512];
    int n = snprintf (line, sizeof line,
                      "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s comp=%s msg=%s",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, (int) (now / 1000u % 1000u), s_names[level], comp,
                      baton__log_quote (qmsg, sizeof qmsg, msg, strlen (msg)));
    if (n < 0)
        return;
    size_t used = (size_t) n < sizeof line ? (size_t) n : sizeof line - 1;
    if (fmt && *fmt && used < sizeof line - 2) {
        line[used++] = ' ';
        va_list ap;
        va_start (ap, fmt);
        int m = vsnprintf (line + used, sizeof line - used, fmt, ap);
        va_end (ap);
        if (m > 0)
            used += (size_t) m < sizeof line - used ? (size_t) m : sizeof line - used - 1;
    }
    if (used >= sizeof line - 1)
        used = sizeof line - 2;
    line[used++] = '\n';
    ssize_t rc = write (STDERR_FILENO, line, used);
    (void) rc;
}

const char *
baton__log_quote (char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return dst;
    bool quote = len == 0;
    for (size_t i = 0; i < len && !quote; i++) {
        unsigned char c = (unsigned char) src[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            quote = true;
    }
    size_t o = 0;
    //  Room kept for the closing quote, "..." and the NUL.
    size_t limit = cap > 6 ? cap - 6 : 0;
    if (quote && o < limit)
        dst[o++] = '"';
    size_t i = 0;
    for (; i < len && o + 4 <= limit; i++) {
        unsigned char c = (unsigned char) src[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char) c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t) snprintf (dst + o, cap - o, "\\x%02x", c);
        } else
            dst[o++] = (char) c;
    }
    if (i < len && o + 3 < cap) {
        memcpy (dst + o, "...", 3);
        o += 3;
    }
    if (quote && o + 1 < cap)
        dst[o++] = '"';
    dst[o < cap ? o : cap - 1] = '\0';
    return dst;
}

bool
baton__ratelimit_allow (baton_ratelimit_t *rl)
{
    uint64_t now = baton__mono_us () / 1000u;
    if (rl->interval_ms && now - rl->last_ms >= rl->interval_ms) {
        uint64_t refill = (now - rl->last_ms) / rl->interval_ms;
        rl->tokens = refill + rl->tokens >= rl->burst ? rl->burst : rl->tokens + (uint32_t) refill;
        rl->last_ms = now;
    }
    if (rl->tokens > 0) {
        rl->tokens--;
        return true;
    }
    rl->suppressed++;
    return false;
}
