/*  text.c - the slow paths of the growing text buffer, and the Date value
 *  (text.h).  */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "http/text.h"

void
baton__text_grow (baton_text_t *t, size_t more)
{
    size_t cap = t->cap * 2 > t->len + more ? t->cap * 2 : t->len + more + 256;
    char *p = (char *) realloc (t->data, cap);
    if (!p)
        abort ();
    t->data = p;
    t->cap = cap;
}

void
baton_text_fmt (baton_text_t *t, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (tmp, sizeof tmp, fmt, ap);
    va_end (ap);
    if (n > 0)
        baton_text_put (t, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1);
}

const char *
baton__http_date (void)
{
    static time_t cached_at = 0;
    static char cached[40];
    time_t now = time (NULL);
    if (now != cached_at) {
        struct tm tm;
        gmtime_r (&now, &tm);
        strftime (cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return cached;
}
