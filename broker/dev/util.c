/*  util.c - the few helpers every part of "baton dev" uses (see util.h).  */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "dev/util.h"

void *
baton__dev_alloc (size_t size)
{
    void *p = calloc (1, size ? size : 1);
    if (!p) {
        fputs ("baton: out of memory\n", stderr);
        abort ();
    }
    return p;
}

char *
baton__dev_strdup (const char *s)
{
    size_t n = strlen (s);
    char *p = (char *) baton__dev_alloc (n + 1);
    memcpy (p, s, n + 1);
    return p;
}

char *
baton__dev_printf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    char *p = (char *) baton__dev_alloc ((size_t) (n > 0 ? n : 0) + 1);
    va_start (ap, fmt);
    vsnprintf (p, (size_t) n + 1, fmt, ap);
    va_end (ap);
    return p;
}

uint64_t
baton__dev_now_ms (void)
{
    return baton__mono_us () / 1000u;
}

const char *
baton__dev_signame (int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
                 {SIGILL, "SIGILL"},   {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},
                 {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"},
                 {SIGPIPE, "SIGPIPE"}, {SIGTERM, "SIGTERM"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "a signal";
}
