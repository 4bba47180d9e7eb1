/*  text.h - the text the gateway writes (a growing buffer for response heads
 *  and bodies, the Date value) and a comparison for the slices it reads. The hot parts are
 *  inline: a response head is some twenty appends.  */
#ifndef BATON_HTTP_TEXT_H
#define BATON_HTTP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "baton/envelope.h"

//  A NUL-terminated growing buffer. Start it as {NULL, 0, 0}; data is then
//  the caller's, to free () or to hand on.
typedef struct {
    char *data;
    size_t len, cap;
} baton_text_t;

//  Makes room for more bytes the slow way (realloc). Aborts when out of memory.
void baton__text_grow (baton_text_t *t, size_t more);

//  Makes sure more bytes fit without another allocation.
static inline void
baton_text_reserve (baton_text_t *t, size_t more)
{
    if (t->cap - t->len < more)
        baton__text_grow (t, more);
}

//  Appends n bytes of s and keeps the text NUL-terminated.
static inline void
baton_text_put (baton_text_t *t, const char *s, size_t n)
{
    baton_text_reserve (t, n + 1);
    memcpy (t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

#define baton_text_lit(t, lit) baton_text_put ((t), lit, sizeof (lit) - 1)

static inline void
baton_text_str (baton_text_t *t, const char *str)
{
    baton_text_put (t, str, strlen (str));
}

//  Appends v in decimal; the hot path's numbers go through here, not printf
//  (formatting was a third of the gateway's instructions per request).
static inline void
baton_text_uint (baton_text_t *t, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    baton_text_put (t, digits + sizeof digits - n, n);
}

//  Appends what printf would write, cut at 511 bytes.
void baton_text_fmt (baton_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

//  The value of a response's Date header, now: formatted once per second
//  into a static buffer. Never NULL.
const char *baton__http_date (void);

//  True if s is lit, ignoring ASCII case.
static inline bool
baton__slice_is (baton_slice_t s, const char *lit)
{
    size_t n = strlen (lit);
    return s.len == n && strncasecmp (s.ptr, lit, n) == 0;
}

#endif
