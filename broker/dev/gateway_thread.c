/*  gateway_thread.c - the gateway of "baton dev" on a thread of its own (see
 *  gateway_thread.h). Two async handles cross between the loops: "stop" on
 *  the gateway's, "done" on dev mode's.  */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dev/gateway_thread.h"
#include "dev/util.h"
#include "gateway.h"

struct baton__dev_gateway {
    uv_loop_t loop; //  the gateway's own
    bool loop_live;
    baton_gateway_t *gw;
    uv_thread_t thread;
    bool thread_live;
    bool ran;        //  its loop ran (in the thread)
    uv_async_t stop; //  on the gateway's loop: shut the gateway down
    uv_async_t done; //  on dev mode's loop: the gateway's loop has returned
    bool done_open;
    baton__dev_gateway_done_fn *on_done;
    void *arg;
    int saved_stderr; //  the real fd 2 while ours goes to the log pipe; else -1
    int log_fd;       //  read end of that pipe until a stream owns it; else -1
    baton__dev_label_t label;
};

//  Our fd 2 becomes a pipe, so the gateway's log joins the stream under its
//  own label. Returns 0 or -1 (errno set).
static int
s_redirect_stderr (baton__dev_gateway_t *self)
{
    int fds[2];
    if (pipe (fds) < 0)
        return -1;
    fcntl (fds[0], F_SETFD, FD_CLOEXEC);
    self->saved_stderr = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (self->saved_stderr < 0 || dup2 (fds[1], STDERR_FILENO) < 0) {
        int e = errno;
        close (fds[0]);
        close (fds[1]);
        if (self->saved_stderr >= 0)
            close (self->saved_stderr);
        self->saved_stderr = -1;
        errno = e;
        return -1;
    }
    close (fds[1]);
    self->log_fd = fds[0];
    return 0;
}

void
baton__dev_gateway_restore_stderr (baton__dev_gateway_t *self)
{
    if (self->saved_stderr < 0)
        return;
    dup2 (self->saved_stderr, STDERR_FILENO);
    close (self->saved_stderr);
    self->saved_stderr = -1;
    if (self->log_fd >= 0)
        close (self->log_fd);
    self->log_fd = -1;
}

static void
s_on_stop (uv_async_t *a)
{
    baton__dev_gateway_t *self = (baton__dev_gateway_t *) a->data;
    baton_gateway_shutdown (self->gw);
    uv_close ((uv_handle_t *) a, NULL);
}

static void
s_thread (void *arg)
{
    baton__dev_gateway_t *self = (baton__dev_gateway_t *) arg;
    uv_run (&self->loop, UV_RUN_DEFAULT);
    uv_async_send (&self->done);
}

static void
s_on_done (uv_async_t *a)
{
    baton__dev_gateway_t *self = (baton__dev_gateway_t *) a->data;
    if (!self->thread_live)
        return;
    uv_thread_join (&self->thread);
    self->thread_live = false;
    baton__dev_gateway_restore_stderr (self); //  the gateway has written its last line
    self->on_done (self->arg);
}

baton__dev_gateway_t *
baton__dev_gateway_new (const baton_config_t *config, uv_loop_t *loop, baton__dev_output_t *out,
                        baton__dev_gateway_done_fn *on_done, void *arg)
{
    baton__dev_gateway_t *self = (baton__dev_gateway_t *) baton__dev_alloc (sizeof *self);
    self->saved_stderr = self->log_fd = -1;
    self->on_done = on_done;
    self->arg = arg;
    snprintf (self->label.name, sizeof self->label.name, "gateway");
    self->label.color = 34;
    baton__dev_output_widen (out, self->label.name);
    uv_loop_init (&self->loop);
    self->loop_live = true;
    if (s_redirect_stderr (self) < 0) {
        fprintf (stderr, "baton dev: cannot pipe the gateway's log: %s\n", strerror (errno));
        goto error;
    }
    char err[BATON_CONFIG_MAX_ERROR + PATH_MAX];
    self->gw = baton_gateway_new (config, &self->loop, err, sizeof err);
    if (!self->gw) {
        baton__dev_gateway_restore_stderr (self);
        fprintf (stderr, "baton dev: %s\n", err);
        if (strstr (err, "cannot listen"))
            fputs ("baton dev: -p PORT and --admin-port PORT choose others (0: any free port)\n",
                   stderr);
        goto error;
    }
    uv_async_init (&self->loop, &self->stop, s_on_stop);
    self->stop.data = self;
    uv_async_init (loop, &self->done, s_on_done);
    self->done.data = self;
    self->done_open = true;
    int fd = self->log_fd;
    self->log_fd = -1; //  the stream owns it now
    if (baton__dev_output_read (out, &self->label, fd) < 0)
        fputs ("baton dev: cannot read the gateway's log\n", stderr);
    return self;
error:
    baton__dev_gateway_destroy (&self);
    return NULL;
}

int
baton__dev_gateway_start (baton__dev_gateway_t *self)
{
    if (uv_thread_create (&self->thread, s_thread, self) != 0) {
        fputs ("baton dev: cannot start the gateway's thread\n", stderr);
        return -1;
    }
    self->thread_live = self->ran = true;
    return 0;
}

void
baton__dev_gateway_stop (baton__dev_gateway_t *self)
{
    uv_async_send (&self->stop);
}

int
baton__dev_gateway_port (const baton__dev_gateway_t *self)
{
    return baton_gateway_port (self->gw);
}

int
baton__dev_gateway_admin_port (const baton__dev_gateway_t *self)
{
    return baton_gateway_admin_port (self->gw);
}

void
baton__dev_gateway_close (baton__dev_gateway_t *self)
{
    if (!self->done_open)
        return;
    uv_close ((uv_handle_t *) &self->done, NULL);
    self->done_open = false;
}

static void
s_close_any (uv_handle_t *h, void *arg)
{
    (void) arg;
    if (!uv_is_closing (h))
        uv_close (h, NULL);
}

void
baton__dev_gateway_destroy (baton__dev_gateway_t **self_p)
{
    baton__dev_gateway_t *self = *self_p;
    if (!self)
        return;
    if (self->gw && !self->ran) {
        //  Setup failed before the gateway's loop ran: let it close now.
        baton_gateway_shutdown (self->gw);
        uv_walk (&self->loop, s_close_any, NULL);
        uv_run (&self->loop, UV_RUN_DEFAULT);
    }
    baton_gateway_destroy (&self->gw);
    if (self->loop_live && uv_loop_close (&self->loop) != 0)
        fputs ("baton dev: a handle of the gateway was left open\n", stderr);
    baton__dev_gateway_restore_stderr (self);
    free (self);
    *self_p = NULL;
}
