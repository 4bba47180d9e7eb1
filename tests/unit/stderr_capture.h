/*  stderr_capture.h - what the code under test writes to stderr (fd 2)
 *  between two calls, for tests that check the reason a refusal gives.  */
#ifndef BATON_STDERR_CAPTURE_H
#define BATON_STDERR_CAPTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    int fd;    //  the temp file fd 2 goes to
    int saved; //  fd 2 as it was
} capture_t;

//  From now on, stderr goes to an unlinked temp file.
static inline capture_t
capture_begin (void)
{
    char path[] = "/tmp/baton-stderr-XXXXXX";
    capture_t c = {mkstemp (path), -1};
    cr_assert_geq (c.fd, 0);
    unlink (path);
    fflush (stderr);
    c.saved = dup (2);
    dup2 (c.fd, 2);
    return c;
}

//  Puts stderr back and returns what was written meanwhile (NUL-terminated,
//  cut to cap - 1 bytes) in buf.
static inline const char *
capture_end (capture_t c, char *buf, size_t cap)
{
    fflush (stderr);
    dup2 (c.saved, 2);
    close (c.saved);
    ssize_t n = pread (c.fd, buf, cap - 1, 0);
    close (c.fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

#endif
