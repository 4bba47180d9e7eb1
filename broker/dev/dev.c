/*  dev.c - "baton dev". One libuv loop looks after the children: spawned
 *  through "baton __child" (so each sets PR_SET_PDEATHSIG before exec), each
 *  in its own process group, their output read from pipes and written as one
 *  stream, restarted with a growing back-off. The gateway runs on a loop of
 *  its own in a second thread: nothing dev mode does (a slow terminal, a
 *  restart) holds up a request, and "the gateway has drained" is simply "its
 *  loop returned". Its log (fd 2) is piped back into the stream.  */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 //  realpath ()
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <uv.h>
#include "clock.h"
#include "config/config.h"
#include "dev/dev.h"
#include "gateway.h"
#include "edge/routes.h"

extern char **environ;

#ifndef BATON_SOURCE_DIR
#define BATON_SOURCE_DIR "."
#endif
#define S_DEFAULT_CONFIG BATON_SOURCE_DIR "/examples/pipeline/baton.yaml"

#define S_LINE_MAX       4096 //  longest output line; longer ones are cut in pieces
#define S_BACKOFF_MIN_MS 100  //  first restart delay, doubled after each restart
#define S_BACKOFF_MAX_MS 5000 //  ... up to this
#define S_STABLE_MS      1000 //  a process that lived this long did start
#define S_RESET_MS       5000 //  one that lived this long restarts after S_BACKOFF_MIN_MS
#define S_FAST_FAILS     5    //  exits in a row before it ever started: give up
#define S_TERM_GRACE_MS  3000 //  from SIGTERM to SIGKILL when stopping
#define S_READY_POLL_MS  20
#define S_READY_WARN_MS  10000
#define S_TCP_READY_MS   500 //  a tcp:// inbox counts as bound after this long
//  Once every inbox is bound, the gateway's connects (retried every 100 ms,
//  ZeroMQ's reconnect interval) get this long before "ready" is said.
#define S_SETTLE_MS     200
#define S_MAX_TRY_LINES 8

typedef struct s_dev s_dev_t;

//  The name in front of each line of one process, and its colour.
typedef struct {
    char name[80]; //  "auth.0"
    int color;     //  an SGR code; 0 for none
} s_label_t;

//  The read end of a child's stdout+stderr (or of our own fd 2), cut into
//  lines. Allocated per pipe; freed when the handle is closed.
typedef struct s_stream s_stream_t;
struct s_stream {
    uv_pipe_t pipe; //  first: the handle's address is the stream's
    s_dev_t *dev;
    const s_label_t *label;
    s_stream_t *prev, *next;
    size_t len;
    char buf[S_LINE_MAX];
};

//  One copy of one function.
typedef struct {
    s_dev_t *dev;
    const baton_config_function_t *fn;
    unsigned index;
    s_label_t label;
    char *endpoint;  //  its inbox (BATON_BIND)
    char *sock_path; //  the file of an ipc:// inbox, or NULL
    char *command;   //  what /bin/sh -c runs
    char **env;
    uv_process_t proc;
    bool proc_open; //  proc is initialized and not yet closed
    bool running;
    int pid;
    uv_timer_t restart;
    uint64_t started_ms;
    uint64_t backoff_ms;
    unsigned fails; //  exits in a row before it ever started
    bool started;   //  lived S_STABLE_MS once, or bound its socket
    bool ready;
} s_replica_t;

typedef enum {
    S_RUNNING,
    S_DRAINING, //  the gateway is shutting down; the functions still run
    S_STOPPING, //  the functions have had SIGTERM
    S_CLOSED    //  every handle is closing; the loop is about to end
} s_state_t;

struct s_dev {
    uv_loop_t loop;
    bool loop_live;
    baton_config_t *config;
    const char *config_path;
    char config_dir[PATH_MAX];
    char runtime_dir[PATH_MAX];
    bool runtime_made;
    char build_dir[PATH_MAX]; //  "" when baton does not run from a build tree
    s_replica_t *replicas;
    size_t replica_count;
    int width; //  of the label column
    bool color;
    s_label_t me, gwlabel;
    //  The gateway, on its own loop in its own thread.
    uv_loop_t gwloop;
    bool gwloop_live;
    baton_gateway_t *gw;
    uv_thread_t gwthread;
    bool gwthread_live;
    bool gw_ran;        //  its loop ran (in the thread)
    uv_async_t gw_stop; //  on gwloop: shut the gateway down
    uv_async_t gw_done; //  on loop: its loop has returned
    int saved_stderr;   //  the real fd 2 while ours goes to gwlog; else -1
    int gwlog_fd;       //  read end of that pipe until a stream owns it; else -1
    s_stream_t *streams;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t ready_timer, kill_timer;
    s_state_t state;
    int exit_code;
    uint64_t t0_ms;
    bool ready_warned;
    uint64_t all_bound_ms; //  when every inbox was first seen bound; 0 before
    bool out_broken;
};

//  --- small helpers ----------------------------------------------------------------

static void *
s_alloc (size_t size)
{
    void *p = calloc (1, size ? size : 1);
    if (!p) {
        fputs ("baton: out of memory\n", stderr);
        abort ();
    }
    return p;
}

static char *
s_strdup (const char *s)
{
    size_t n = strlen (s);
    char *p = (char *) s_alloc (n + 1);
    memcpy (p, s, n + 1);
    return p;
}

static char *s_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static char *
s_printf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    char *p = (char *) s_alloc ((size_t) (n > 0 ? n : 0) + 1);
    va_start (ap, fmt);
    vsnprintf (p, (size_t) n + 1, fmt, ap);
    va_end (ap);
    return p;
}

static uint64_t
s_now_ms (void)
{
    return baton__mono_us () / 1000u;
}

static const char *
s_signame (int sig)
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

//  --- the one output stream ----------------------------------------------------------

//  Writes all of data to stdout, waiting when it is full. Once stdout is
//  gone (EPIPE) nothing more is written: dev mode goes on without it.
static void
s_out (s_dev_t *dev, const char *data, size_t len)
{
    while (len > 0 && !dev->out_broken) {
        ssize_t n = write (STDOUT_FILENO, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
            poll (&p, 1, 100);
            continue;
        }
        if (n <= 0) {
            dev->out_broken = true;
            return;
        }
        data += n;
        len -= (size_t) n;
    }
}

static void s_outf (s_dev_t *dev, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_outf (s_dev_t *dev, const char *fmt, ...)
{
    char buf[S_LINE_MAX + 512];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    if (n > 0)
        s_out (dev, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
}

//  One line of a process: "auth.0  | text", the label coloured on a terminal.
static void
s_emit (s_dev_t *dev, const s_label_t *label, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    char buf[S_LINE_MAX + 256];
    int n;
    if (dev->color && label->color)
        n = snprintf (buf, sizeof buf, "\x1b[%dm%-*s |\x1b[0m ", label->color, dev->width,
                      label->name);
    else
        n = snprintf (buf, sizeof buf, "%-*s | ", dev->width, label->name);
    size_t used = n > 0 ? (size_t) n : 0;
    if (len > sizeof buf - used - 1)
        len = sizeof buf - used - 1;
    memcpy (buf + used, line, len);
    used += len;
    buf[used++] = '\n';
    s_out (dev, buf, used);
}

//  A line from dev mode itself.
static void s_say (s_dev_t *dev, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_say (s_dev_t *dev, const char *fmt, ...)
{
    char buf[S_LINE_MAX];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    s_emit (dev, &dev->me, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
}

//  --- streams --------------------------------------------------------------------------

static void
s_stream_flush (s_stream_t *s)
{
    if (s->len > 0)
        s_emit (s->dev, s->label, s->buf, s->len);
    s->len = 0;
}

static void
s_on_stream_closed (uv_handle_t *h)
{
    s_stream_t *s = (s_stream_t *) h->data;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->dev->streams = s->next;
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
            s_emit (s->dev, s->label, s->buf + start, i - start);
            start = i + 1;
        }
    memmove (s->buf, s->buf + start, s->len - start);
    s->len -= start;
    if (s->len == sizeof s->buf)
        s_stream_flush (s); //  a line longer than the buffer goes out in pieces
}

//  Takes fd (the read end of a pipe) into the loop. Returns 0 or a uv error.
static int
s_stream_new (s_dev_t *dev, const s_label_t *label, int fd)
{
    s_stream_t *s = (s_stream_t *) s_alloc (sizeof *s);
    s->dev = dev;
    s->label = label;
    uv_pipe_init (&dev->loop, &s->pipe, 0);
    s->pipe.data = s;
    s->next = dev->streams;
    if (dev->streams)
        dev->streams->prev = s;
    dev->streams = s;
    int rc = uv_pipe_open (&s->pipe, fd);
    if (rc == 0)
        rc = uv_read_start ((uv_stream_t *) &s->pipe, s_on_stream_alloc, s_on_stream_read);
    if (rc < 0) {
        uv_close ((uv_handle_t *) &s->pipe, s_on_stream_closed);
        close (fd);
    }
    return rc;
}

//  Our fd 2 becomes a pipe read by the loop, so the gateway's log joins the
//  stream under its own label. Returns 0 or -1 (errno set).
static int
s_redirect_stderr (s_dev_t *dev)
{
    int fds[2];
    if (pipe (fds) < 0)
        return -1;
    fcntl (fds[0], F_SETFD, FD_CLOEXEC);
    dev->saved_stderr = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (dev->saved_stderr < 0 || dup2 (fds[1], STDERR_FILENO) < 0) {
        int e = errno;
        close (fds[0]);
        close (fds[1]);
        if (dev->saved_stderr >= 0)
            close (dev->saved_stderr);
        dev->saved_stderr = -1;
        errno = e;
        return -1;
    }
    close (fds[1]);
    dev->gwlog_fd = fds[0];
    return 0;
}

//  Gives fd 2 back. The pipe's last writer is gone, so its stream ends.
static void
s_restore_stderr (s_dev_t *dev)
{
    if (dev->saved_stderr < 0)
        return;
    dup2 (dev->saved_stderr, STDERR_FILENO);
    close (dev->saved_stderr);
    dev->saved_stderr = -1;
    if (dev->gwlog_fd >= 0)
        close (dev->gwlog_fd);
    dev->gwlog_fd = -1;
}

//  --- the runtime dir ---------------------------------------------------------------------

static int
s_make_runtime_dir (s_dev_t *dev)
{
    const char *base = getenv ("XDG_RUNTIME_DIR");
    struct stat st;
    //  ipc:// paths are at most 107 bytes: "<base>/baton-dev-XXXXXX/<name>-<replica>"
    //  must fit for the longest name, or /tmp it is.
    size_t longest = 5; //  "reply"
    for (size_t i = 0; i < baton_config_function_count (dev->config); i++) {
        size_t n = strlen (baton_config_function (dev->config, i)->name) + 3;
        longest = n > longest ? n : longest;
    }
    if (!base || base[0] != '/' || strlen (base) + 18 + longest > 107 || stat (base, &st) != 0 ||
        !S_ISDIR (st.st_mode) || access (base, W_OK) != 0)
        base = "/tmp";
    snprintf (dev->runtime_dir, sizeof dev->runtime_dir, "%s/baton-dev-XXXXXX", base);
    if (!mkdtemp (dev->runtime_dir))
        return -1;
    dev->runtime_made = true;
    return 0;
}

static void
s_remove_runtime_dir (s_dev_t *dev)
{
    if (!dev->runtime_made)
        return;
    DIR *d = opendir (dev->runtime_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir (d)))
            if (strcmp (e->d_name, ".") && strcmp (e->d_name, ".."))
                unlinkat (dirfd (d), e->d_name, 0);
        closedir (d);
    }
    rmdir (dev->runtime_dir);
    dev->runtime_made = false;
}

//  --- commands and environments ------------------------------------------------------------

static bool
s_is_name_char (char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

//  The shell command for run: "exec" put before the program of a simple
//  command (after its NAME=value words), so that the function replaces the
//  shell and the death signal set before exec reaches the function itself.
//  A command with ; & | ( ) < > ` or a newline, or one that starts with a
//  shell keyword, is left as written: the shell stays its parent.
static char *
s_exec_form (const char *run)
{
    if (strpbrk (run, ";&|()<>`\n"))
        return s_strdup (run);
    const char *p = run;
    while (true) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *q = p;
        if (!s_is_name_char (*q, true))
            break;
        while (s_is_name_char (*q, false))
            q++;
        if (*q != '=')
            break;
        for (q++; *q && *q != ' ' && *q != '\t'; q++) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '\'') {
                q = strchr (q + 1, '\'');
                if (!q)
                    return s_strdup (run);
            } else if (*q == '"') {
                for (q++; *q && *q != '"'; q++)
                    if (*q == '\\' && q[1])
                        q++;
                if (!*q)
                    return s_strdup (run);
            }
        }
        p = q;
    }
    static const char *const keywords[] = {"if", "for",  "while", "until", "case", "{",
                                           "!",  "exec", "exit",  "cd",    ".",    "eval"};
    size_t word = strcspn (p, " \t");
    if (word == 0)
        return s_strdup (run); //  only assignments, or nothing
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen (keywords[i]) == word && !strncmp (p, keywords[i], word))
            return s_strdup (run);
    return s_printf ("%.*sexec %s", (int) (p - run), run, p);
}

static bool
s_env_is (const char *entry, const char *key)
{
    size_t n = strlen (key);
    return !strncmp (entry, key, n) && entry[n] == '=';
}

//  The environment of replica r: ours, with the BATON_* variables it needs.
static char **
s_make_env (s_dev_t *dev, const s_replica_t *r)
{
    static const char *const ours[] = {"BATON_NAME", "BATON_BIND", "BATON_GATEWAY", "BATON_REPLICA",
                                       "BATON_BUILD_DIR"};
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = (char **) s_alloc ((n + 8) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool skip = false;
        for (size_t j = 0; j < sizeof ours / sizeof ours[0] && !skip; j++)
            skip = s_env_is (environ[i], ours[j]);
        //  Keep an inherited BATON_BUILD_DIR when we have none of our own.
        if (skip && s_env_is (environ[i], "BATON_BUILD_DIR") && !dev->build_dir[0])
            skip = false;
        if (!skip)
            env[k++] = s_strdup (environ[i]);
    }
    env[k++] = s_printf ("BATON_NAME=%s", r->fn->name);
    env[k++] = s_printf ("BATON_BIND=%s", r->endpoint);
    env[k++] = s_printf ("BATON_REPLICA=%u", r->index);
    const char *control = baton_config_gateway (dev->config)->control;
    if (control)
        env[k++] = s_printf ("BATON_GATEWAY=%s", control);
    if (dev->build_dir[0])
        env[k++] = s_printf ("BATON_BUILD_DIR=%s", dev->build_dir);
    env[k] = NULL;
    return env;
}

//  The build tree baton runs from (<build>/broker/baton), or "".
static void
s_find_build_dir (char *out, size_t cap)
{
    char exe[PATH_MAX];
    size_t n = sizeof exe;
    out[0] = '\0';
    if (uv_exepath (exe, &n) != 0)
        return;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr (exe, '/');
        if (!slash || slash == exe)
            return;
        *slash = '\0';
    }
    char probe[PATH_MAX + 32];
    snprintf (probe, sizeof probe, "%s/CMakeCache.txt", exe);
    if (access (probe, R_OK) == 0)
        snprintf (out, cap, "%s", exe);
}

//  --- processes ---------------------------------------------------------------------------

static void s_stop (s_dev_t *dev, int code);
static void s_maybe_close (s_dev_t *dev);

static size_t
s_running (const s_dev_t *dev)
{
    size_t n = 0;
    for (size_t i = 0; i < dev->replica_count; i++)
        n += dev->replicas[i].running;
    return n;
}

static void
s_on_proc_closed (uv_handle_t *h)
{
    ((s_replica_t *) h->data)->proc_open = false;
}

static void s_on_exit (uv_process_t *p, int64_t status, int term_signal);

//  Starts replica r as "baton __child <our pid> -- <command>" in a process
//  group of its own, its stdout and stderr one pipe into the stream.
//  Returns 0 or a uv error.
static int
s_spawn (s_replica_t *r)
{
    s_dev_t *dev = r->dev;
    int fds[2];
    if (pipe (fds) < 0)
        return uv_translate_sys_error (errno);
    fcntl (fds[0], F_SETFD, FD_CLOEXEC);
    fcntl (fds[1], F_SETFD, FD_CLOEXEC);
    char ppid[24];
    snprintf (ppid, sizeof ppid, "%ld", (long) getpid ());
    char *args[] = {"baton", "__child", ppid, "--", r->command, NULL};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = stdio[2].flags = UV_INHERIT_FD;
    stdio[1].data.fd = stdio[2].data.fd = fds[1];
    uv_process_options_t o;
    memset (&o, 0, sizeof o);
    o.exit_cb = s_on_exit;
    o.file = "/proc/self/exe"; //  this very binary, even if rebuilt meanwhile
    o.args = args;
    o.env = r->env;
    o.cwd = dev->config_dir;
    o.flags = UV_PROCESS_DETACHED; //  setsid (): a process group of its own
    o.stdio_count = 3;
    o.stdio = stdio;
    int rc = uv_spawn (&dev->loop, &r->proc, &o);
    r->proc.data = r;
    r->proc_open = true;
    close (fds[1]);
    if (rc < 0) {
        close (fds[0]);
        uv_close ((uv_handle_t *) &r->proc, s_on_proc_closed);
        return rc;
    }
    r->pid = r->proc.pid;
    r->running = true;
    r->started_ms = s_now_ms ();
    s_say (dev, "started %s pid=%d", r->label.name, r->pid);
    if (s_stream_new (dev, &r->label, fds[0]) < 0)
        s_say (dev, "cannot read the output of %s", r->label.name);
    return 0;
}

static void
s_on_restart (uv_timer_t *t)
{
    s_replica_t *r = (s_replica_t *) t->data;
    s_dev_t *dev = r->dev;
    if (dev->state != S_RUNNING)
        return;
    if (r->proc_open) { //  the last handle is still closing
        uv_timer_start (&r->restart, s_on_restart, 10, 0);
        return;
    }
    int rc = s_spawn (r);
    if (rc == 0)
        return;
    s_say (dev, "cannot start %s: %s", r->label.name, uv_strerror (rc));
    if (!r->started) {
        s_stop (dev, 1);
        return;
    }
    uv_timer_start (&r->restart, s_on_restart, r->backoff_ms, 0);
    r->backoff_ms = r->backoff_ms * 2 < S_BACKOFF_MAX_MS ? r->backoff_ms * 2 : S_BACKOFF_MAX_MS;
}

static void
s_on_exit (uv_process_t *p, int64_t status, int term_signal)
{
    s_replica_t *r = (s_replica_t *) p->data;
    s_dev_t *dev = r->dev;
    uint64_t lived = s_now_ms () - r->started_ms;
    r->running = false;
    uv_close ((uv_handle_t *) p, s_on_proc_closed);
    //  Whatever it left behind in its group goes with it (ESRCH when nothing).
    kill (-r->pid, SIGKILL);
    char how[64];
    if (term_signal)
        snprintf (how, sizeof how, "was killed by %s", s_signame (term_signal));
    else
        snprintf (how, sizeof how, "exited with status %d", (int) status);
    if (dev->state != S_RUNNING) {
        s_say (dev, "%s %s", r->label.name, how);
        s_maybe_close (dev);
        return;
    }
    if (lived >= S_STABLE_MS)
        r->started = true;
    if (!r->started) {
        r->fails++;
        bool cannot_run = !term_signal && (status == 126 || status == 127);
        if (cannot_run || r->fails >= S_FAST_FAILS) {
            s_say (dev, "%s %s%s: it never started, giving up. Its command: %s", r->label.name, how,
                   cannot_run ? " (the shell could not find or run it)" : "", r->fn->run);
            s_stop (dev, 1);
            return;
        }
    } else
        r->fails = 0;
    if (lived >= S_RESET_MS)
        r->backoff_ms = S_BACKOFF_MIN_MS;
    uint64_t delay = r->backoff_ms;
    r->backoff_ms = delay * 2 < S_BACKOFF_MAX_MS ? delay * 2 : S_BACKOFF_MAX_MS;
    s_say (dev, "%s %s, restarting in %" PRIu64 "ms", r->label.name, how, delay);
    uv_timer_start (&r->restart, s_on_restart, delay, 0);
}

//  --- ready -------------------------------------------------------------------------------

//  The gateway's public URL, a wildcard listener written as loopback.
static void
s_url (const baton_config_addr_t *addr, int port, char *out, size_t cap)
{
    const char *host = addr->host;
    if (!strcmp (host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp (host, "::") || !strcmp (host, "0:0:0:0:0:0:0:0"))
        host = "::1";
    snprintf (out, cap, strchr (host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, port);
}

//  The "# try: ..." comments of the config file, {url} replaced, or one curl
//  line per route (a few at most) when there are none.
static void
s_print_try (s_dev_t *dev, const char *url, const baton_routes_t *routes)
{
    size_t shown = 0;
    FILE *f = fopen (dev->config_path, "r");
    char line[1024];
    while (f && shown < S_MAX_TRY_LINES && fgets (line, sizeof line, f)) {
        const char *p = line + strspn (line, " \t");
        if (*p != '#')
            continue;
        p += 1 + strspn (p + 1, " \t");
        if (strncmp (p, "try:", 4))
            continue;
        p += 4 + strspn (p + 4, " \t");
        size_t len = strcspn (p, "\r\n");
        char out[2048];
        size_t o = 0;
        size_t ulen = strlen (url);
        for (size_t i = 0; i < len && o + ulen < sizeof out - 1; i++) {
            if (!strncmp (p + i, "{url}", 5)) {
                memcpy (out + o, url, ulen);
                o += ulen;
                i += 4;
            } else
                out[o++] = p[i];
        }
        out[o] = '\0';
        s_outf (dev, "    %s\n", out);
        shown++;
    }
    if (f)
        fclose (f);
    for (size_t i = 0; shown == 0 && i < baton_routes_count (routes) && i < 3; i++) {
        const baton_config_route_t *r = baton_routes_at (routes, i);
        const char *method = r->method_count ? r->methods[0] : "GET";
        char path[BATON_ROUTES_MAX_PATTERN + 1];
        size_t o = 0;
        for (const char *p = r->path; *p && o < sizeof path - 1; p++)
            if (*p != '{' && *p != '}' && *p != '*')
                path[o++] = *p; //  "/users/{id}" -> "/users/id"
        path[o] = '\0';
        s_outf (dev, "    curl -s -i%s%s %s%s\n", strcmp (method, "GET") ? " -X " : "",
                strcmp (method, "GET") ? method : "", url, path);
    }
}

static void
s_print_ready (s_dev_t *dev)
{
    const baton_config_gateway_t *g = baton_config_gateway (dev->config);
    char url[320], admin[320];
    s_url (&g->listen, baton_gateway_port (dev->gw), url, sizeof url);
    s_url (&g->admin, baton_gateway_admin_port (dev->gw), admin, sizeof admin);
    const char *b = dev->color ? "\x1b[1;32m" : "", *e = dev->color ? "\x1b[0m" : "";
    s_outf (dev, "\n  %sready in %" PRIu64 "ms: %s%s   (admin: %s/-/metrics)\n\n  routes:\n", b,
            s_now_ms () - dev->t0_ms, url, e, admin);
    baton_routes_t *routes = baton_routes_new (dev->config);
    int wm = 0, wp = 0;
    char methods[BATON_ROUTES_ALLOW_MAX];
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < baton_routes_count (routes); i++) {
            const baton_config_route_t *r = baton_routes_at (routes, i);
            size_t o = 0;
            methods[0] = '\0';
            for (size_t m = 0; m < r->method_count && o < sizeof methods - 40; m++)
                o += (size_t) snprintf (methods + o, sizeof methods - o, "%s%s", m ? "," : "",
                                        r->methods[m]);
            if (!r->method_count)
                snprintf (methods, sizeof methods, "(any)");
            if (pass == 0) {
                wm = (int) strlen (methods) > wm ? (int) strlen (methods) : wm;
                wp = (int) strlen (r->path) > wp ? (int) strlen (r->path) : wp;
                continue;
            }
            char chain[2048];
            size_t c = 0;
            chain[0] = '\0';
            for (size_t k = 0; k < r->chain_len && c < sizeof chain - 100; k++)
                c += (size_t) snprintf (chain + c, sizeof chain - c, "%s%s", k ? " -> " : "",
                                        r->chain[k]->name);
            s_outf (dev, "    %-*s  %-*s  %s\n", wm, methods, wp, r->path, chain);
        }
    s_outf (dev, "\n  try:\n");
    s_print_try (dev, url, routes);
    s_outf (dev, "\n  Ctrl-C stops everything.\n\n");
    baton_routes_destroy (&routes);
}

static void
s_on_ready_timer (uv_timer_t *t)
{
    s_dev_t *dev = (s_dev_t *) t->data;
    uint64_t now = s_now_ms ();
    bool all = true;
    for (size_t i = 0; i < dev->replica_count; i++) {
        s_replica_t *r = &dev->replicas[i];
        struct stat st;
        if (!r->ready && r->running) {
            if (r->sock_path)
                r->ready = stat (r->sock_path, &st) == 0 && S_ISSOCK (st.st_mode);
            else
                r->ready = now - r->started_ms >= S_TCP_READY_MS;
            if (r->ready)
                r->started = true;
        }
        all = all && r->ready;
    }
    if (all && !dev->all_bound_ms)
        dev->all_bound_ms = now;
    if (all && now - dev->all_bound_ms >= S_SETTLE_MS) {
        uv_timer_stop (t);
        s_print_ready (dev);
        return;
    }
    if (!dev->ready_warned && now - dev->t0_ms >= S_READY_WARN_MS) {
        dev->ready_warned = true;
        for (size_t i = 0; i < dev->replica_count; i++)
            if (!dev->replicas[i].ready)
                s_say (dev, "still waiting for %s to bind %s", dev->replicas[i].label.name,
                       dev->replicas[i].endpoint);
    }
}

//  --- stopping ---------------------------------------------------------------------------

//  Every handle of ours closes; uv_run then returns.
static void
s_maybe_close (s_dev_t *dev)
{
    if (dev->state != S_STOPPING || s_running (dev) > 0)
        return;
    dev->state = S_CLOSED;
    s_say (dev, "stopped");
    uv_close ((uv_handle_t *) &dev->sigint, NULL);
    uv_close ((uv_handle_t *) &dev->sigterm, NULL);
    uv_close ((uv_handle_t *) &dev->sighup, NULL);
    uv_close ((uv_handle_t *) &dev->ready_timer, NULL);
    uv_close ((uv_handle_t *) &dev->kill_timer, NULL);
    uv_close ((uv_handle_t *) &dev->gw_done, NULL);
    for (size_t i = 0; i < dev->replica_count; i++)
        uv_close ((uv_handle_t *) &dev->replicas[i].restart, NULL);
    //  A pipe still open is held by a process that left its group: stop
    //  reading it rather than wait.
    for (s_stream_t *s = dev->streams; s; s = s->next)
        s_stream_close (s);
}

static void
s_on_kill_timer (uv_timer_t *t)
{
    s_dev_t *dev = (s_dev_t *) t->data;
    for (size_t i = 0; i < dev->replica_count; i++)
        if (dev->replicas[i].running) {
            s_say (dev, "%s did not stop within %dms: SIGKILL", dev->replicas[i].label.name,
                   S_TERM_GRACE_MS);
            kill (-dev->replicas[i].pid, SIGKILL);
        }
}

//  The gateway has drained: now the functions, each process group at once.
static void
s_stop_functions (s_dev_t *dev)
{
    dev->state = S_STOPPING;
    for (size_t i = 0; i < dev->replica_count; i++)
        if (dev->replicas[i].running)
            kill (-dev->replicas[i].pid, SIGTERM);
    if (s_running (dev) > 0)
        uv_timer_start (&dev->kill_timer, s_on_kill_timer, S_TERM_GRACE_MS, 0);
    s_maybe_close (dev);
}

static void
s_on_gw_stop (uv_async_t *a)
{
    s_dev_t *dev = (s_dev_t *) a->data;
    baton_gateway_shutdown (dev->gw);
    uv_close ((uv_handle_t *) a, NULL);
}

static void
s_gateway_thread (void *arg)
{
    s_dev_t *dev = (s_dev_t *) arg;
    uv_run (&dev->gwloop, UV_RUN_DEFAULT);
    uv_async_send (&dev->gw_done);
}

static void
s_on_gw_done (uv_async_t *a)
{
    s_dev_t *dev = (s_dev_t *) a->data;
    if (!dev->gwthread_live)
        return;
    uv_thread_join (&dev->gwthread);
    dev->gwthread_live = false;
    s_restore_stderr (dev); //  the gateway has written its last line
    if (dev->state == S_RUNNING) {
        s_say (dev, "the gateway stopped on its own");
        dev->exit_code = 1;
    }
    s_stop_functions (dev);
}

//  Starts the stop: the gateway first (no new requests, in-flight ones
//  finish while the functions still run), then the functions.
static void
s_stop (s_dev_t *dev, int code)
{
    if (code > dev->exit_code)
        dev->exit_code = code;
    if (dev->state != S_RUNNING)
        return;
    dev->state = S_DRAINING;
    uv_timer_stop (&dev->ready_timer);
    for (size_t i = 0; i < dev->replica_count; i++)
        uv_timer_stop (&dev->replicas[i].restart);
    s_say (dev, "stopping: the gateway first (in-flight requests finish), then the functions");
    uv_async_send (&dev->gw_stop);
}

static void
s_on_signal (uv_signal_t *s, int signum)
{
    s_dev_t *dev = (s_dev_t *) s->data;
    if (dev->state == S_RUNNING) {
        s_say (dev, "%s", signum == SIGINT ? "Ctrl-C" : s_signame (signum));
        s_stop (dev, 0);
        return;
    }
    //  A second signal: no more waiting for anyone.
    s_say (dev, "%s again: killing everything now", s_signame (signum));
    for (size_t i = 0; i < dev->replica_count; i++)
        if (dev->replicas[i].running)
            kill (-dev->replicas[i].pid, SIGKILL);
    s_restore_stderr (dev);
    s_remove_runtime_dir (dev);
    _exit (1);
}

//  --- setup ---------------------------------------------------------------------------------

static void
s_usage (FILE *out)
{
    fputs ("usage: baton dev [-c FILE] [-p PORT] [--admin-port PORT] [--color|--no-color]\n"
           "\n"
           "Runs a whole chain on this machine: the gateway of FILE in this process, and\n"
           "each function that has a run: command as child processes (replicas: N copies).\n"
           "\n"
           "  -c, --config FILE   the configuration (default: the pipeline example,\n"
           "                      " S_DEFAULT_CONFIG ")\n"
           "  -p, --port PORT     listen on PORT, not gateway.listen's (0: any free port)\n"
           "      --admin-port PORT   the same for gateway.admin\n"
           "      --color, --no-color   colour the name prefixes (default: when stdout is a\n"
           "                      terminal and NO_COLOR is not set)\n"
           "  -h, --help          this text\n"
           "\n"
           "Each function:\n"
           "  - run: is a /bin/sh -c command, run in the config file's directory, so a\n"
           "    relative path is relative to the config file. A simple command is exec'd\n"
           "    by the shell, so the function itself is the process dev mode watches.\n"
           "  - its environment has BATON_NAME, BATON_BIND (its inbox), BATON_REPLICA\n"
           "    (0..N-1), BATON_GATEWAY (gateway.control, if set) and BATON_BUILD_DIR (the\n"
           "    build tree this baton comes from: the examples find their binaries there).\n"
           "  - a function without endpoints: gets ipc://<runtime dir>/<name>-<replica>; the\n"
           "    runtime dir is private (under $XDG_RUNTIME_DIR or /tmp) and removed on exit.\n"
           "    With endpoints:, one process per endpoint. gateway.reply, unless set, is\n"
           "    ipc://<runtime dir>/reply.\n"
           "  - when it exits it is restarted after 100ms, doubling up to 5s (back to 100ms\n"
           "    once it ran 5s). One that never starts (exits 5 times in a row within 1s,\n"
           "    or exit 126/127 from the shell) stops dev mode with exit status 1.\n"
           "\n"
           "Output: one stream on stdout, each line prefixed with its process (gateway,\n"
           "auth.0, ...). When every inbox is bound it prints the routes and curl lines: the\n"
           "config's \"# try: ...\" comments ({url} is the gateway's URL), or one per route.\n"
           "\n"
           "Ctrl-C, SIGTERM or SIGHUP stops the gateway (in-flight requests finish), then\n"
           "the functions (SIGTERM to each process group, SIGKILL after 3s), and exits 0.\n"
           "A second Ctrl-C kills everything at once. If baton dev itself is killed, the\n"
           "kernel kills the functions (PR_SET_PDEATHSIG). Docs: docs/quickstart.md\n",
           out);
}

typedef struct {
    const char *config;
    bool config_default;
    int port, admin_port; //  -1: as configured
    int color;            //  -1 auto, 0 never, 1 always
} s_opts_t;

static int
s_port_arg (const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 65535)
        return -1;
    *out = (int) v;
    return 0;
}

//  Returns 0, 1 after --help, or 2 on a usage error (said on stderr).
static int
s_parse_args (int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){S_DEFAULT_CONFIG, true, -1, -1, -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
            s_usage (stdout);
            return 1;
        } else if (!strcmp (a, "--color"))
            o->color = 1;
        else if (!strcmp (a, "--no-color"))
            o->color = 0;
        else if ((!strcmp (a, "-c") || !strcmp (a, "--config")) && v) {
            o->config = v;
            o->config_default = false;
            i++;
        } else if (!strncmp (a, "--config=", 9)) {
            o->config = a + 9;
            o->config_default = false;
        } else if ((!strcmp (a, "-p") || !strcmp (a, "--port")) && v) {
            if (s_port_arg (v, &o->port) < 0)
                goto bad_port;
            i++;
        } else if (!strcmp (a, "--admin-port") && v) {
            if (s_port_arg (v, &o->admin_port) < 0)
                goto bad_port;
            i++;
        } else {
            fprintf (stderr, "baton dev: unexpected argument '%s'\n\n", a);
            s_usage (stderr);
            return 2;
        }
        continue;
    bad_port:
        fprintf (stderr, "baton dev: %s needs a port from 0 to 65535, not '%s'\n", a, v);
        return 2;
    }
    return 0;
}

//  Decides each function's processes and inboxes, and gives the config the
//  endpoints the gateway must connect to. Returns 0, or -1 with why in err.
static int
s_plan (s_dev_t *dev, char *err, size_t errlen)
{
    baton_config_t *cfg = dev->config;
    size_t nfn = baton_config_function_count (cfg), total = 0;
    for (size_t i = 0; i < nfn; i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        if (!f->run) {
            bool used = false;
            for (size_t r = 0; r < baton_config_route_count (cfg) && !used; r++)
                for (size_t k = 0; k < baton_config_route (cfg, r)->chain_len; k++)
                    used = used || baton_config_route (cfg, r)->chain[k] == f;
            if (used && f->endpoint_count == 0) {
                snprintf (err, errlen,
                          "%s:%zu: function %s has neither run: nor endpoints:, so dev mode "
                          "can neither start it nor reach it",
                          baton_config_name (cfg), f->line, f->name);
                return -1;
            }
            continue;
        }
        if (f->endpoint_count && f->replicas != 1 && f->replicas != f->endpoint_count) {
            snprintf (err, errlen,
                      "%s:%zu: function %s: replicas: %u but %zu endpoints; with endpoints:, "
                      "dev mode starts one process per endpoint",
                      baton_config_name (cfg), f->line, f->name, (unsigned) f->replicas,
                      f->endpoint_count);
            return -1;
        }
        for (size_t k = 0; k < f->endpoint_count; k++)
            if (!strncmp (f->endpoints[k], "inproc://", 9)) {
                snprintf (err, errlen,
                          "%s:%zu: function %s: %s cannot be reached from another process "
                          "(use ipc:// or tcp://, or no endpoints at all)",
                          baton_config_name (cfg), f->line, f->name, f->endpoints[k]);
                return -1;
            }
        total += f->endpoint_count ? f->endpoint_count : f->replicas;
    }
    dev->replicas = (s_replica_t *) s_alloc ((total ? total : 1) * sizeof (s_replica_t));
    static const int palette[] = {36, 33, 32, 35, 31, 96, 93, 92, 95, 91, 94};
    for (size_t i = 0; i < nfn; i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        if (!f->run)
            continue;
        size_t n = f->endpoint_count ? f->endpoint_count : f->replicas;
        char **eps = (char **) s_alloc (n * sizeof *eps);
        for (size_t k = 0; k < n; k++) {
            s_replica_t *r = &dev->replicas[dev->replica_count++];
            r->dev = dev;
            r->fn = f;
            r->index = (unsigned) k;
            r->backoff_ms = S_BACKOFF_MIN_MS;
            snprintf (r->label.name, sizeof r->label.name, "%s.%zu", f->name, k);
            r->label.color = palette[i % (sizeof palette / sizeof palette[0])];
            if (f->endpoint_count) {
                r->endpoint = s_strdup (f->endpoints[k]);
                if (!strncmp (r->endpoint, "ipc://", 6))
                    r->sock_path = s_strdup (r->endpoint + 6);
            } else {
                r->sock_path = s_printf ("%s/%s-%zu", dev->runtime_dir, f->name, k);
                r->endpoint = s_printf ("ipc://%s", r->sock_path);
            }
            eps[k] = r->endpoint;
            r->command = s_exec_form (f->run);
            int w = (int) strlen (r->label.name);
            dev->width = w > dev->width ? w : dev->width;
        }
        int rc = f->endpoint_count
                     ? 0
                     : baton_config_function_set_endpoints (cfg, i, (const char *const *) eps, n);
        free (eps);
        if (rc < 0) {
            snprintf (err, errlen, "function %s: cannot use %s as its inbox (too long for ipc://?)",
                      f->name, dev->replicas[dev->replica_count - 1].endpoint);
            return -1;
        }
    }
    for (size_t i = 0; i < dev->replica_count; i++)
        dev->replicas[i].env = s_make_env (dev, &dev->replicas[i]);
    if (baton_config_gateway (cfg)->reply_default) {
        char reply[PATH_MAX + 16];
        snprintf (reply, sizeof reply, "ipc://%s/reply", dev->runtime_dir);
        if (baton_config_gateway_set_reply (cfg, reply) < 0) {
            snprintf (err, errlen, "cannot use %s as the gateway's reply endpoint", reply);
            return -1;
        }
    }
    return 0;
}

static void
s_close_any (uv_handle_t *h, void *arg)
{
    (void) arg;
    if (!uv_is_closing (h))
        uv_close (h, h->type == UV_NAMED_PIPE ? s_on_stream_closed : NULL);
}

static void
s_teardown (s_dev_t *dev)
{
    if (dev->gw && !dev->gw_ran) {
        //  Setup failed before the gateway's loop ran: let it close now.
        baton_gateway_shutdown (dev->gw);
        uv_walk (&dev->gwloop, s_close_any, NULL);
        uv_run (&dev->gwloop, UV_RUN_DEFAULT);
    }
    baton_gateway_destroy (&dev->gw);
    if (dev->gwloop_live && uv_loop_close (&dev->gwloop) != 0)
        fputs ("baton dev: a handle of the gateway was left open\n", stderr);
    if (dev->loop_live) {
        if (dev->state != S_CLOSED) //  setup failed: nothing ran
            uv_walk (&dev->loop, s_close_any, NULL);
        uv_run (&dev->loop, UV_RUN_DEFAULT); //  close callbacks still due
        if (uv_loop_close (&dev->loop) != 0)
            fputs ("baton dev: a handle was left open\n", stderr);
    }
    s_restore_stderr (dev);
    s_remove_runtime_dir (dev);
    for (size_t i = 0; i < dev->replica_count; i++) {
        s_replica_t *r = &dev->replicas[i];
        free (r->endpoint);
        free (r->sock_path);
        free (r->command);
        for (char **e = r->env; e && *e; e++)
            free (*e);
        free (r->env);
    }
    free (dev->replicas);
    baton_config_destroy (&dev->config);
    free (dev);
}

//  Everything that can fail before the first process starts. Returns 0, or
//  -1 after saying why on stderr.
static int
s_setup (s_dev_t *dev, const s_opts_t *o)
{
    char err[BATON_CONFIG_MAX_ERROR + PATH_MAX];
    dev->config = baton_config_load (o->config, err, sizeof err);
    if (!dev->config) {
        fprintf (stderr, "baton dev: %s\n", err);
        if (o->config_default)
            fputs ("baton dev: (that is the default; pass -c FILE for another)\n", stderr);
        return -1;
    }
    dev->config_path = o->config;
    char *copy = s_strdup (o->config);
    char *slash = strrchr (copy, '/');
    if (slash)
        *(slash == copy ? slash + 1 : slash) = '\0';
    if (!realpath (slash ? copy : ".", dev->config_dir)) {
        fprintf (stderr, "baton dev: %s: %s\n", copy, strerror (errno));
        free (copy);
        return -1;
    }
    free (copy);
    if (baton_config_gateway_set_ports (dev->config, o->port, o->admin_port) < 0) {
        fputs ("baton dev: the public and admin listeners would be the same port\n", stderr);
        return -1;
    }
    s_find_build_dir (dev->build_dir, sizeof dev->build_dir);
    if (s_make_runtime_dir (dev) < 0) {
        fprintf (stderr, "baton dev: cannot make a runtime dir in %s: %s\n", dev->runtime_dir,
                 strerror (errno));
        return -1;
    }
    if (s_plan (dev, err, sizeof err) < 0) {
        fprintf (stderr, "baton dev: %s\n", err);
        return -1;
    }
    snprintf (dev->me.name, sizeof dev->me.name, "dev");
    dev->me.color = 1;
    snprintf (dev->gwlabel.name, sizeof dev->gwlabel.name, "gateway");
    dev->gwlabel.color = 34;
    dev->width = dev->width > 7 ? dev->width : 7;

    uv_loop_init (&dev->gwloop);
    dev->gwloop_live = true;
    if (s_redirect_stderr (dev) < 0) {
        fprintf (stderr, "baton dev: cannot pipe the gateway's log: %s\n", strerror (errno));
        return -1;
    }
    dev->gw = baton_gateway_new (dev->config, &dev->gwloop, err, sizeof err);
    if (!dev->gw) {
        s_restore_stderr (dev);
        fprintf (stderr, "baton dev: %s\n", err);
        if (strstr (err, "cannot listen"))
            fputs ("baton dev: -p PORT and --admin-port PORT choose others (0: any free port)\n",
                   stderr);
        return -1;
    }
    uv_async_init (&dev->gwloop, &dev->gw_stop, s_on_gw_stop);
    dev->gw_stop.data = dev;

    uv_loop_init (&dev->loop);
    dev->loop_live = true;
    uv_async_init (&dev->loop, &dev->gw_done, s_on_gw_done);
    uv_signal_init (&dev->loop, &dev->sigint);
    uv_signal_init (&dev->loop, &dev->sigterm);
    uv_signal_init (&dev->loop, &dev->sighup);
    uv_timer_init (&dev->loop, &dev->ready_timer);
    uv_timer_init (&dev->loop, &dev->kill_timer);
    dev->gw_done.data = dev->sigint.data = dev->sigterm.data = dev->sighup.data = dev;
    dev->ready_timer.data = dev->kill_timer.data = dev;
    for (size_t i = 0; i < dev->replica_count; i++) {
        uv_timer_init (&dev->loop, &dev->replicas[i].restart);
        dev->replicas[i].restart.data = &dev->replicas[i];
    }
    uv_signal_start (&dev->sigint, s_on_signal, SIGINT);
    uv_signal_start (&dev->sigterm, s_on_signal, SIGTERM);
    uv_signal_start (&dev->sighup, s_on_signal, SIGHUP); //  its terminal closed
    int fd = dev->gwlog_fd;
    dev->gwlog_fd = -1; //  the stream owns it now
    if (s_stream_new (dev, &dev->gwlabel, fd) < 0)
        fputs ("baton dev: cannot read the gateway's log\n", stderr);
    if (uv_thread_create (&dev->gwthread, s_gateway_thread, dev) != 0) {
        fputs ("baton dev: cannot start the gateway's thread\n", stderr);
        return -1;
    }
    dev->gwthread_live = dev->gw_ran = true;
    return 0;
}

int
baton__cmd_dev (int argc, char **argv)
{
    s_opts_t o;
    int rc = s_parse_args (argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    //  A reader that went away must not kill us (and with us the chain).
    signal (SIGPIPE, SIG_IGN);
    s_dev_t *dev = (s_dev_t *) s_alloc (sizeof *dev);
    dev->saved_stderr = dev->gwlog_fd = -1;
    dev->t0_ms = s_now_ms ();
    dev->color = o.color >= 0 ? o.color == 1
                              : isatty (STDOUT_FILENO) && !getenv ("NO_COLOR") &&
                                    !(getenv ("TERM") && !strcmp (getenv ("TERM"), "dumb"));
    if (s_setup (dev, &o) < 0) {
        s_teardown (dev);
        return 1;
    }
    s_say (dev, "config %s, runtime dir %s%s%s", dev->config_path, dev->runtime_dir,
           dev->build_dir[0] ? ", build dir " : "", dev->build_dir);
    for (size_t i = 0; i < baton_config_function_count (dev->config); i++) {
        const baton_config_function_t *f = baton_config_function (dev->config, i);
        if (!f->run)
            s_say (dev, "%s is not started here (no run:): the gateway sends to %s%s", f->name,
                   f->endpoint_count ? f->endpoints[0] : "(nothing)",
                   f->endpoint_count > 1 ? ", ..." : "");
    }
    for (size_t i = 0; i < dev->replica_count && dev->state == S_RUNNING; i++) {
        int src = s_spawn (&dev->replicas[i]);
        if (src < 0) {
            s_say (dev, "cannot start %s: %s", dev->replicas[i].label.name, uv_strerror (src));
            s_stop (dev, 1);
        }
    }
    if (dev->state == S_RUNNING)
        uv_timer_start (&dev->ready_timer, s_on_ready_timer, 0, S_READY_POLL_MS);
    uv_run (&dev->loop, UV_RUN_DEFAULT);
    rc = dev->exit_code;
    s_teardown (dev);
    return rc;
}

//  --- the child side --------------------------------------------------------------------------

int
baton__cmd_dev_child (int argc, char **argv)
{
    if (argc != 4 || strcmp (argv[2], "--")) {
        fputs ("baton __child: an internal command of baton dev\n", stderr);
        return 2;
    }
    long ppid = strtol (argv[1], NULL, 10);
    //  Dies with its parent, even a parent killed with SIGKILL. The setting
    //  survives exec; a parent that died before it was set is caught next.
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fprintf (stderr, "baton: prctl (PR_SET_PDEATHSIG): %s\n", strerror (errno));
        return 126;
    }
    if ((long) getppid () != ppid)
        return 126;
    execl ("/bin/sh", "sh", "-c", argv[3], (char *) NULL);
    fprintf (stderr, "baton: cannot run /bin/sh: %s\n", strerror (errno));
    return 126;
}
