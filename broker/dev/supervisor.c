/*  supervisor.c - the child processes of "baton dev" (see supervisor.h).
 *  Each runs as "baton __child <our pid> -- <command>", which sets
 *  PR_SET_PDEATHSIG before it execs the shell: if we die, so does it.  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dev/supervisor.h"
#include "dev/util.h"

#define S_BACKOFF_MIN_MS 100  //  first restart delay, doubled after each restart
#define S_BACKOFF_MAX_MS 5000 //  ... up to this
#define S_STABLE_MS      1000 //  a process that lived this long did start
#define S_RESET_MS       5000 //  one that lived this long restarts after S_BACKOFF_MIN_MS
#define S_FAST_FAILS     5    //  exits in a row before it ever started: give up
#define S_TERM_GRACE_MS  3000 //  from SIGTERM to SIGKILL when stopping
#define S_TCP_READY_MS   500  //  a tcp:// inbox counts as bound after this long

//  One child of the plan, as it runs.
typedef struct {
    baton__dev_supervisor_t *sup;
    const baton__dev_child_t *child;
    uv_process_t proc;
    bool proc_open; //  proc is initialized and not yet closed
    bool running;
    int pid;
    uv_timer_t restart;
    uint64_t started_ms;
    uint64_t backoff_ms;
    unsigned fails; //  exits in a row before it ever started
    bool started;   //  lived S_STABLE_MS once, or bound its socket
    bool ready;     //  bound its inbox
} s_proc_t;

struct baton__dev_supervisor {
    uv_loop_t *loop;
    const baton__dev_plan_t *plan;
    baton__dev_output_t *out;
    baton__dev_supervisor_fn *on_failed, *on_stopped;
    void *arg;
    s_proc_t *procs;
    size_t count;
    uv_timer_t kill_timer;
    bool holding;     //  no more restarts
    bool terminating; //  SIGTERM sent; on_stopped when none runs
    bool closed;
};

baton__dev_supervisor_t *
baton__dev_supervisor_new (uv_loop_t *loop, const baton__dev_plan_t *plan, baton__dev_output_t *out,
                           baton__dev_supervisor_fn *on_failed,
                           baton__dev_supervisor_fn *on_stopped, void *arg)
{
    baton__dev_supervisor_t *self = (baton__dev_supervisor_t *) baton__dev_alloc (sizeof *self);
    self->loop = loop;
    self->plan = plan;
    self->out = out;
    self->on_failed = on_failed;
    self->on_stopped = on_stopped;
    self->arg = arg;
    self->count = baton__dev_plan_count (plan);
    self->procs = (s_proc_t *) baton__dev_alloc (self->count * sizeof *self->procs);
    for (size_t i = 0; i < self->count; i++) {
        s_proc_t *p = &self->procs[i];
        p->sup = self;
        p->child = baton__dev_plan_child (plan, i);
        p->backoff_ms = S_BACKOFF_MIN_MS;
        uv_timer_init (loop, &p->restart);
        p->restart.data = p;
    }
    uv_timer_init (loop, &self->kill_timer);
    self->kill_timer.data = self;
    return self;
}

void
baton__dev_supervisor_destroy (baton__dev_supervisor_t **self_p)
{
    baton__dev_supervisor_t *self = *self_p;
    if (!self)
        return;
    free (self->procs);
    free (self);
    *self_p = NULL;
}

static size_t
s_running (const baton__dev_supervisor_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        n += self->procs[i].running;
    return n;
}

static void
s_on_proc_closed (uv_handle_t *h)
{
    ((s_proc_t *) h->data)->proc_open = false;
}

static void s_on_exit (uv_process_t *h, int64_t status, int term_signal);

//  Starts p as "baton __child <our pid> -- <command>" in a process group of
//  its own, its stdout and stderr one pipe into the stream. Returns 0 or a
//  uv error.
static int
s_spawn (s_proc_t *p)
{
    baton__dev_supervisor_t *self = p->sup;
    int fds[2];
    if (pipe (fds) < 0)
        return uv_translate_sys_error (errno);
    fcntl (fds[0], F_SETFD, FD_CLOEXEC);
    fcntl (fds[1], F_SETFD, FD_CLOEXEC);
    char ppid[24];
    snprintf (ppid, sizeof ppid, "%ld", (long) getpid ());
    char *args[] = {"baton", "__child", ppid, "--", p->child->command, NULL};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = stdio[2].flags = UV_INHERIT_FD;
    stdio[1].data.fd = stdio[2].data.fd = fds[1];
    uv_process_options_t o;
    memset (&o, 0, sizeof o);
    o.exit_cb = s_on_exit;
    o.file = "/proc/self/exe"; //  this very binary, even if rebuilt meanwhile
    o.args = args;
    o.env = p->child->env;
    o.cwd = baton__dev_plan_cwd (self->plan);
    o.flags = UV_PROCESS_DETACHED; //  setsid (): a process group of its own
    o.stdio_count = 3;
    o.stdio = stdio;
    int rc = uv_spawn (self->loop, &p->proc, &o);
    p->proc.data = p;
    p->proc_open = true;
    close (fds[1]);
    if (rc < 0) {
        close (fds[0]);
        uv_close ((uv_handle_t *) &p->proc, s_on_proc_closed);
        return rc;
    }
    p->pid = p->proc.pid;
    p->running = true;
    p->started_ms = baton__dev_now_ms ();
    baton__dev_output_say (self->out, "started %s pid=%d", p->child->label.name, p->pid);
    if (baton__dev_output_read (self->out, &p->child->label, fds[0]) < 0)
        baton__dev_output_say (self->out, "cannot read the output of %s", p->child->label.name);
    return 0;
}

int
baton__dev_supervisor_start (baton__dev_supervisor_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        int rc = s_spawn (&self->procs[i]);
        if (rc < 0) {
            baton__dev_output_say (self->out, "cannot start %s: %s",
                                   self->procs[i].child->label.name, uv_strerror (rc));
            return -1;
        }
    }
    return 0;
}

static void
s_on_restart (uv_timer_t *t)
{
    s_proc_t *p = (s_proc_t *) t->data;
    baton__dev_supervisor_t *self = p->sup;
    if (self->holding)
        return;
    if (p->proc_open) { //  the last handle is still closing
        uv_timer_start (&p->restart, s_on_restart, 10, 0);
        return;
    }
    int rc = s_spawn (p);
    if (rc == 0)
        return;
    baton__dev_output_say (self->out, "cannot start %s: %s", p->child->label.name,
                           uv_strerror (rc));
    if (!p->started) {
        self->on_failed (self->arg);
        return;
    }
    uv_timer_start (&p->restart, s_on_restart, p->backoff_ms, 0);
    p->backoff_ms = p->backoff_ms * 2 < S_BACKOFF_MAX_MS ? p->backoff_ms * 2 : S_BACKOFF_MAX_MS;
}

static void
s_on_exit (uv_process_t *h, int64_t status, int term_signal)
{
    s_proc_t *p = (s_proc_t *) h->data;
    baton__dev_supervisor_t *self = p->sup;
    const char *name = p->child->label.name;
    uint64_t lived = baton__dev_now_ms () - p->started_ms;
    p->running = false;
    uv_close ((uv_handle_t *) h, s_on_proc_closed);
    //  Whatever it left behind in its group goes with it (ESRCH when nothing).
    kill (-p->pid, SIGKILL);
    char how[64];
    if (term_signal)
        snprintf (how, sizeof how, "was killed by %s", baton__dev_signame (term_signal));
    else
        snprintf (how, sizeof how, "exited with status %d", (int) status);
    if (self->holding) {
        baton__dev_output_say (self->out, "%s %s", name, how);
        if (self->terminating && s_running (self) == 0)
            self->on_stopped (self->arg);
        return;
    }
    if (lived >= S_STABLE_MS)
        p->started = true;
    if (!p->started) {
        p->fails++;
        bool cannot_run = !term_signal && (status == 126 || status == 127);
        if (cannot_run || p->fails >= S_FAST_FAILS) {
            baton__dev_output_say (
                self->out, "%s %s%s: it never started, giving up. Its command: %s", name, how,
                cannot_run ? " (the shell could not find or run it)" : "", p->child->fn->run);
            self->on_failed (self->arg);
            return;
        }
    } else
        p->fails = 0;
    if (lived >= S_RESET_MS)
        p->backoff_ms = S_BACKOFF_MIN_MS;
    uint64_t delay = p->backoff_ms;
    p->backoff_ms = delay * 2 < S_BACKOFF_MAX_MS ? delay * 2 : S_BACKOFF_MAX_MS;
    baton__dev_output_say (self->out, "%s %s, restarting in %" PRIu64 "ms", name, how, delay);
    uv_timer_start (&p->restart, s_on_restart, delay, 0);
}

//  --- stopping ----------------------------------------------------------------------------

void
baton__dev_supervisor_hold (baton__dev_supervisor_t *self)
{
    self->holding = true;
    for (size_t i = 0; i < self->count; i++)
        uv_timer_stop (&self->procs[i].restart);
}

static void
s_signal_all (baton__dev_supervisor_t *self, int sig)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->procs[i].running)
            kill (-self->procs[i].pid, sig);
}

static void
s_on_kill_timer (uv_timer_t *t)
{
    baton__dev_supervisor_t *self = (baton__dev_supervisor_t *) t->data;
    for (size_t i = 0; i < self->count; i++)
        if (self->procs[i].running) {
            baton__dev_output_say (self->out, "%s did not stop within %dms: SIGKILL",
                                   self->procs[i].child->label.name, S_TERM_GRACE_MS);
            kill (-self->procs[i].pid, SIGKILL);
        }
}

void
baton__dev_supervisor_terminate (baton__dev_supervisor_t *self)
{
    baton__dev_supervisor_hold (self);
    self->terminating = true;
    s_signal_all (self, SIGTERM);
    if (s_running (self) > 0)
        uv_timer_start (&self->kill_timer, s_on_kill_timer, S_TERM_GRACE_MS, 0);
    else
        self->on_stopped (self->arg);
}

void
baton__dev_supervisor_kill (baton__dev_supervisor_t *self)
{
    s_signal_all (self, SIGKILL);
}

void
baton__dev_supervisor_close (baton__dev_supervisor_t *self)
{
    if (self->closed)
        return;
    self->closed = true;
    uv_close ((uv_handle_t *) &self->kill_timer, NULL);
    for (size_t i = 0; i < self->count; i++)
        uv_close ((uv_handle_t *) &self->procs[i].restart, NULL);
}

//  --- ready -------------------------------------------------------------------------------

bool
baton__dev_supervisor_bound (baton__dev_supervisor_t *self)
{
    uint64_t now = baton__dev_now_ms ();
    bool all = true;
    for (size_t i = 0; i < self->count; i++) {
        s_proc_t *p = &self->procs[i];
        struct stat st;
        if (!p->ready && p->running) {
            if (p->child->sock_path)
                p->ready = stat (p->child->sock_path, &st) == 0 && S_ISSOCK (st.st_mode);
            else
                p->ready = now - p->started_ms >= S_TCP_READY_MS;
            if (p->ready)
                p->started = true;
        }
        all = all && p->ready;
    }
    return all;
}

void
baton__dev_supervisor_say_unbound (const baton__dev_supervisor_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (!self->procs[i].ready)
            baton__dev_output_say (self->out, "still waiting for %s to bind %s",
                                   self->procs[i].child->label.name,
                                   self->procs[i].child->endpoint);
}
