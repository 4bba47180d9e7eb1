/*  output.c - the one output stream of "baton dev" (see output.h). Each pipe
 *  is a stream cut into lines; all writes go to stdout from the loop's
 *  thread, a whole line at a time, so that lines never interleave.  */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dev/output.h"
#include "dev/util.h"

#define S_LINE_MAX 4096 //  longest output line; longer ones are cut in pieces

//  The read end of one pipe, cut into lines. Freed when its handle closes.
typedef struct s_stream s_stream_t;
struct s_stream {
    uv_pipe_t pipe; //  first: the handle's address is the stream's
    baton__dev_output_t *out;
    const baton__dev_label_t *label;
    s_stream_t *prev, *next;
    size_t len;
    char buf[S_LINE_MAX];
};

struct baton__dev_output {
    uv_loop_t *loop;
    bool color;
    int width; //  of the label column
    bool broken;
    baton__dev_label_t me;
    s_stream_t *streams;
};

baton__dev_output_t *
baton__dev_output_new (uv_loop_t *loop, bool color)
{
    baton__dev_output_t *self = (baton__dev_output_t *) baton__dev_alloc (sizeof *self);
    self->loop = loop;
    self->color = color;
    snprintf (self->me.name, sizeof self->me.name, "dev");
    self->me.color = 1;
    baton__dev_output_widen (self, self->me.name);
    return self;
}

void
baton__dev_output_destroy (baton__dev_output_t **self_p)
{
    if (!*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

bool
baton__dev_output_color (const baton__dev_output_t *self)
{
    return self->color;
}

void
baton__dev_output_widen (baton__dev_output_t *self, const char *name)
{
    int w = (int) strlen (name);
    self->width = w > self->width ? w : self->width;
}

//  Writes all of data to stdout, waiting when it is full.
static void
s_write (baton__dev_output_t *self, const char *data, size_t len)
{
    while (len > 0 && !self->broken) {
        ssize_t n = write (STDOUT_FILENO, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
            poll (&p, 1, 100);
            continue;
        }
        if (n <= 0) {
            self->broken = true;
            return;
        }
        data += n;
        len -= (size_t) n;
    }
}

void
baton__dev_output_printf (baton__dev_output_t *self, const char *fmt, ...)
{
    char buf[S_LINE_MAX + 512];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    if (n > 0)
        s_write (self, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
}

//  One line of a process: "auth.0  | text", the label coloured on a terminal.
static void
s_emit (baton__dev_output_t *self, const baton__dev_label_t *label, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    char buf[S_LINE_MAX + 256];
    int n;
    if (self->color && label->color)
        n = snprintf (buf, sizeof buf, "\x1b[%dm%-*s |\x1b[0m ", label->color, self->width,
                      label->name);
    else
        n = snprintf (buf, sizeof buf, "%-*s | ", self->width, label->name);
    size_t used = n > 0 ? (size_t) n : 0;
    if (len > sizeof buf - used - 1)
        len = sizeof buf - used - 1;
    memcpy (buf + used, line, len);
    used += len;
    buf[used++] = '\n';
    s_write (self, buf, used);
}

void
baton__dev_output_say (baton__dev_output_t *self, const char *fmt, ...)
{
    char buf[S_LINE_MAX];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    s_emit (self, &self->me, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
}

//  --- the pipes ---------------------------------------------------------------------------

static void
s_stream_flush (s_stream_t *s)
{
    if (s->len > 0)
        s_emit (s->out, s->label, s->buf, s->len);
    s->len = 0;
}

static void
s_on_stream_closed (uv_handle_t *h)
{
    s_stream_t *s = (s_stream_t *) h->data;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->out->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free (s);
}

static void
s_stream_close (s_stream_t *s)
{
    if (uv_is_closing ((uv_handle_t *) &s->pipe))
        return;
    s_stream_flush (s);
    uv_close ((uv_handle_t *) &s->pipe, s_on_stream_closed);
}

static void
s_on_stream_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void) suggested;
    s_stream_t *s = (s_stream_t *) h->data;
    *buf = uv_buf_init (s->buf + s->len, (unsigned) (sizeof s->buf - s->len));
}

static void
s_on_stream_read (uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    (void) buf;
    s_stream_t *s = (s_stream_t *) h->data;
    if (n < 0) {
        s_stream_close (s); //  EOF: the writer is gone; a partial line is flushed
        return;
    }
    s->len += (size_t) n;
    size_t start = 0;
    for (size_t i = s->len - (size_t) n; i < s->len; i++)
        if (s->buf[i] == '\n') {
            s_emit (s->out, s->label, s->buf + start, i - start);
            start = i + 1;
        }
    memmove (s->buf, s->buf + start, s->len - start);
    s->len -= start;
    if (s->len == sizeof s->buf)
        s_stream_flush (s); //  a line longer than the buffer goes out in pieces
}

int
baton__dev_output_read (baton__dev_output_t *self, const baton__dev_label_t *label, int fd)
{
    s_stream_t *s = (s_stream_t *) baton__dev_alloc (sizeof *s);
    s->out = self;
    s->label = label;
    uv_pipe_init (self->loop, &s->pipe, 0);
    s->pipe.data = s;
    s->next = self->streams;
    if (self->streams)
        self->streams->prev = s;
    self->streams = s;
    int rc = uv_pipe_open (&s->pipe, fd);
    if (rc == 0)
        rc = uv_read_start ((uv_stream_t *) &s->pipe, s_on_stream_alloc, s_on_stream_read);
    if (rc < 0) {
        uv_close ((uv_handle_t *) &s->pipe, s_on_stream_closed);
        close (fd);
    }
    return rc;
}

void
baton__dev_output_close (baton__dev_output_t *self)
{
    for (s_stream_t *s = self->streams; s; s = s->next)
        s_stream_close (s);
}
