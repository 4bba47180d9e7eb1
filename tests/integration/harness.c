/*  harness.c - helpers for the gateway's integration tests (harness.h):
 *  child processes tracked by PID and always reaped, raw HTTP over TCP.  */
#include "harness.h"
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define S_MAX_PROCS 16
#define S_MAX_CONNS 256

typedef struct {
    pid_t pid;
    char name[32];
    bool reaped;
} s_proc_t;

static struct {
    char dir[64];
    s_proc_t procs[S_MAX_PROCS];
    size_t nprocs;
    pid_t gateway;
    int port, admin_port;
    void **allocs;
    size_t nallocs, allocs_cap;
    h_conn_t *conns[S_MAX_CONNS];
    size_t nconns;
    unsigned runs;
} s_h;

//  --- lifecycle ---------------------------------------------------------------------

void
h_setup (void)
{
    memset (&s_h, 0, sizeof s_h);
    strcpy (s_h.dir, "/tmp/baton-gw-XXXXXX");
    if (!mkdtemp (s_h.dir)) {
        perror ("harness: mkdtemp");
        s_h.dir[0] = '\0';
    }
}

static void
s_remove_dir (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir (d)) != NULL) {
        if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
            continue;
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        unlink (path);
    }
    closedir (d);
    rmdir (dir);
}

void
h_teardown (void)
{
    //  Every child we started dies and is reaped here, whatever the test did.
    for (size_t i = 0; i < s_h.nprocs; i++) {
        s_proc_t *p = &s_h.procs[i];
        if (p->reaped)
            continue;
        kill (p->pid, SIGKILL);
        while (waitpid (p->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        p->reaped = true;
    }
    for (size_t i = 0; i < s_h.nconns; i++) {
        if (s_h.conns[i]->fd >= 0)
            close (s_h.conns[i]->fd);
        free (s_h.conns[i]->buf);
        free (s_h.conns[i]);
    }
    s_h.nconns = 0;
    for (size_t i = 0; i < s_h.nallocs; i++)
        free (s_h.allocs[i]);
    free (s_h.allocs);
    s_h.allocs = NULL;
    s_h.nallocs = s_h.allocs_cap = 0;
    //  Keep the logs of a failed run when asked to.
    if (s_h.dir[0] && !getenv ("BATON_TEST_KEEP"))
        s_remove_dir (s_h.dir);
}

const char *
h_dir (void)
{
    return s_h.dir;
}

const char *
h_path (const char *name)
{
    static char bufs[16][256];
    static unsigned next;
    char *b = bufs[next++ % 16];
    snprintf (b, sizeof bufs[0], "%s/%s", s_h.dir, name);
    return b;
}

uint64_t
h_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

void
h_sleep_ms (int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR) {
    }
}

void *
h_alloc (size_t size)
{
    if (s_h.nallocs == s_h.allocs_cap) {
        size_t cap = s_h.allocs_cap ? s_h.allocs_cap * 2 : 64;
        void **p = (void **) realloc (s_h.allocs, cap * sizeof *p);
        if (!p)
            abort ();
        s_h.allocs = p;
        s_h.allocs_cap = cap;
    }
    void *mem = calloc (1, size ? size : 1);
    if (!mem)
        abort ();
    s_h.allocs[s_h.nallocs++] = mem;
    return mem;
}

static char *
s_strdup (const char *s, size_t len)
{
    char *p = (char *) h_alloc (len + 1);
    memcpy (p, s, len);
    p[len] = '\0';
    return p;
}

//  --- files -------------------------------------------------------------------------

//  Replaces every "@D" in text with the temp dir, and every "@@" with "@"
//  (h_literal () escapes text that must come through as written).
static char *
s_expand (const char *text)
{
    size_t dlen = strlen (s_h.dir), n = 0;
    for (const char *p = text; (p = strstr (p, "@D")) != NULL; p += 2)
        n++;
    char *out = (char *) h_alloc (strlen (text) + n * dlen + 1);
    char *o = out;
    for (const char *p = text; *p;) {
        if (p[0] == '@' && p[1] == '@') {
            *o++ = '@';
            p += 2;
        } else if (p[0] == '@' && p[1] == 'D') {
            memcpy (o, s_h.dir, dlen);
            o += dlen;
            p += 2;
        } else
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

const char *
h_literal (const char *text)
{
    char *out = (char *) h_alloc (2 * strlen (text) + 1), *o = out;
    for (const char *p = text; *p; p++) {
        if (*p == '@')
            *o++ = '@';
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

const char *
h_write_file (const char *name, const char *text)
{
    const char *path = h_path (name);
    char *data = s_expand (text);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f, "cannot write %s", path);
    fputs (data, f);
    fclose (f);
    return path;
}

const char *
h_read_file (const char *name)
{
    FILE *f = fopen (h_path (name), "r");
    if (!f)
        return "";
    size_t cap = 4096, len = 0;
    char *buf = (char *) malloc (cap);
    size_t n;
    while (buf && (n = fread (buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *p = (char *) realloc (buf, cap * 2);
            if (!p)
                break;
            buf = p;
            cap *= 2;
        }
    }
    fclose (f);
    if (!buf)
        return "";
    char *out = s_strdup (buf, len);
    free (buf);
    return out;
}

const char *
h_logs (void)
{
    const char *parts[S_MAX_PROCS * 2];
    size_t n = 0, total = 1;
    for (size_t i = 0; i < s_h.nprocs; i++) {
        char name[64], title[96];
        if (s_h.procs[i].pid == s_h.gateway)
            snprintf (name, sizeof name, "gateway.log");
        else
            snprintf (name, sizeof name, "fn-%s.log", s_h.procs[i].name);
        snprintf (title, sizeof title, "--- %s\n", name);
        parts[n] = s_strdup (title, strlen (title));
        parts[n + 1] = h_read_file (name);
        total += strlen (parts[n]) + strlen (parts[n + 1]);
        n += 2;
    }
    char *out = (char *) h_alloc (total);
    for (size_t i = 0; i < n; i++)
        strcat (out, parts[i]);
    return out;
}

//  --- processes ---------------------------------------------------------------------

static bool
s_env_overridden (const char *entry, const char *const *extra)
{
    const char *eq = strchr (entry, '=');
    size_t klen = eq ? (size_t) (eq - entry) : strlen (entry);
    for (size_t i = 0; extra[i]; i++)
        if (strncmp (extra[i], entry, klen) == 0 && extra[i][klen] == '=')
            return true;
    return false;
}

//  Starts argv[0] with our environment plus env (NULL-terminated "K=V"),
//  stdout into log and stderr into errlog (NULL: log too). Registers the
//  child for h_teardown ().
static pid_t
s_spawn (const char *name, const char *const argv[], const char *const env[], const char *log,
         const char *errlog)
{
    cr_assert_lt (s_h.nprocs, S_MAX_PROCS, "too many children");
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (env[extra])
        extra++;
    //  Built before fork (): the child only calls async-signal-safe functions.
    char **envp = (char **) h_alloc ((n + extra + 1) * sizeof (char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!s_env_overridden (environ[i], env))
            envp[k++] = environ[i];
    for (size_t i = 0; i < extra; i++)
        envp[k++] = (char *) env[i];
    envp[k] = NULL;
    int logfd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq (logfd, 0, "cannot open %s", log);
    int errfd =
        errlog ? open (errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : dup (logfd);
    cr_assert_geq (errfd, 0, "cannot open %s", errlog ? errlog : log);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    cr_assert_geq (pid, 0, "fork: %s", strerror (errno));
    if (pid == 0) {
        //  If the test process dies without its fini (a crash, a Criterion
        //  timeout), the kernel kills the child too.
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        //  A child starts as a shell would start it: default SIGPIPE, no
        //  blocked signals, no inherited descriptors.
        signal (SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        int null = open ("/dev/null", O_RDONLY);
        dup2 (null, 0);
        dup2 (logfd, 1);
        dup2 (errfd, 2);
        for (int fd = 3; fd < 4096; fd++)
            close (fd);
        execve (argv[0], (char *const *) argv, envp);
        _exit (127);
    }
    close (logfd);
    close (errfd);
    s_proc_t *p = &s_h.procs[s_h.nprocs++];
    p->pid = pid;
    p->reaped = false;
    snprintf (p->name, sizeof p->name, "%s", name);
    return pid;
}

static s_proc_t *
s_proc (pid_t pid)
{
    for (size_t i = 0; i < s_h.nprocs; i++)
        if (s_h.procs[i].pid == pid)
            return &s_h.procs[i];
    return NULL;
}

int
h_wait (pid_t pid, int timeout_ms)
{
    s_proc_t *p = s_proc (pid);
    cr_assert_not_null (p, "pid %d is not ours", (int) pid);
    cr_assert (!p->reaped, "pid %d was already reaped", (int) pid);
    uint64_t end = h_mono_ms () + (uint64_t) timeout_ms;
    while (true) {
        int status;
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid) {
            p->reaped = true;
            return status;
        }
        if (r < 0 && errno != EINTR)
            cr_assert_fail ("waitpid %d: %s", (int) pid, strerror (errno));
        if (h_mono_ms () >= end)
            return -1;
        h_sleep_ms (2);
    }
}

//  True if pid has exited (and reaps it).
static bool
s_exited (pid_t pid, int *status)
{
    s_proc_t *p = s_proc (pid);
    if (p->reaped)
        return true;
    if (waitpid (pid, status, WNOHANG) == pid) {
        p->reaped = true;
        return true;
    }
    return false;
}

static bool
s_is_socket (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

pid_t
h_fn (const char *name, const char *mode, const char *extra_env)
{
    const char *extra[] = {extra_env, NULL};
    return h_fn_env (name, mode, extra);
}

pid_t
h_fn_env (const char *name, const char *mode, const char *const extra_env[])
{
    char env_name[96], env_bind[256], env_mode[96], log[64];
    snprintf (env_name, sizeof env_name, "BATON_NAME=%s", name);
    snprintf (env_bind, sizeof env_bind, "BATON_BIND=ipc://%s/%s", s_h.dir, name);
    snprintf (env_mode, sizeof env_mode, "BATON_TEST_MODE=%s", mode);
    snprintf (log, sizeof log, "fn-%s.log", name);
    const char *env[8] = {env_name, env_bind, env_mode};
    for (size_t i = 0; extra_env[i] && i < 4; i++)
        env[3 + i] = extra_env[i];
    const char *argv[] = {BATON_FN_TEST_PATH, NULL};
    pid_t pid = s_spawn (name, argv, env, h_path (log), NULL);
    if (strcmp (mode, "absent") == 0)
        return pid;
    //  Bound means the ipc socket file exists; the gateway starts after, so
    //  its first connect already finds the peer.
    const char *sock = h_path (name);
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (!s_is_socket (sock)) {
        int status = 0;
        if (s_exited (pid, &status))
            cr_assert_fail ("fn_test %s exited (status %d) before binding:\n%s", name, status,
                            h_read_file (log));
        if (h_mono_ms () >= end)
            cr_assert_fail ("fn_test %s did not bind %s within %d ms:\n%s", name, sock, H_WAIT_MS,
                            h_read_file (log));
        h_sleep_ms (2);
    }
    return pid;
}

//  Reads "key=127.0.0.1:PORT" from the gateway's "listening" log line.
static int
s_log_port (const char *line, const char *key)
{
    const char *p = strstr (line, key);
    if (!p)
        return -1;
    p += strlen (key);
    const char *end = p + strcspn (p, " \n");
    const char *colon = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == ':')
            colon = q;
    return colon ? atoi (colon + 1) : -1;
}

//  Starts "baton gateway -c <dir>/<name>.yaml" logging to <dir>/<log> and
//  waits for its listening line and /-/health.
static pid_t
s_gateway (const char *name, const char *log_name, const char *yaml, int *port, int *admin_port)
{
    char file[80];
    snprintf (file, sizeof file, "%s.yaml", name);
    const char *config = h_write_file (file, yaml);
    const char *argv[] = {BATON_CLI_PATH, "gateway", "-c", config, NULL};
    //  The ports come from the "listening" line, an info line: whatever
    //  BATON_LOG the caller has, the gateway logs at info.
    const char *env[] = {"BATON_LOG=info", NULL};
    pid_t pid = s_spawn (name, argv, env, h_path (log_name), NULL);
    //  Port 0 in the config: the gateway logs the ports it got.
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (true) {
        const char *log = h_read_file (log_name);
        const char *line = strstr (log, "msg=listening");
        if (line) {
            *port = s_log_port (line, " http=");
            *admin_port = s_log_port (line, " admin=");
            cr_assert (*port > 0 && *admin_port > 0, "bad listening line:\n%s", log);
            break;
        }
        int status = 0;
        if (s_exited (pid, &status))
            cr_assert_fail ("the gateway exited (status %d) before listening:\n%s", status, log);
        if (h_mono_ms () >= end)
            cr_assert_fail ("the gateway did not listen within %d ms:\n%s", H_WAIT_MS, log);
        h_sleep_ms (2);
    }
    h_resp_t r = h_request (*admin_port, "GET", "/-/health", NULL);
    cr_assert_eq (r.status, 200, "/-/health answered %d", r.status);
    return pid;
}

pid_t
h_gateway (const char *yaml)
{
    s_h.gateway = s_gateway ("gateway", "gateway.log", yaml, &s_h.port, &s_h.admin_port);
    return s_h.gateway;
}

pid_t
h_gateway_more (const char *name, const char *yaml, int *port, int *admin_port)
{
    char log[80];
    snprintf (log, sizeof log, "fn-%s.log", name);
    return s_gateway (name, log, yaml, port, admin_port);
}

int
h_port (void)
{
    return s_h.port;
}

int
h_admin_port (void)
{
    return s_h.admin_port;
}

pid_t
h_gateway_pid (void)
{
    return s_h.gateway;
}

int
h_run (const char *const argv[], char **out, char **err)
{
    char out_name[32], err_name[32];
    unsigned n = s_h.runs++;
    snprintf (out_name, sizeof out_name, "run-%u.out", n);
    snprintf (err_name, sizeof err_name, "run-%u.err", n);
    const char *env[] = {NULL};
    pid_t pid = s_spawn (argv[0], argv, env, h_path (out_name), h_path (err_name));
    int status = h_wait (pid, H_WAIT_MS);
    cr_assert_neq (status, -1, "%s did not exit within %d ms", argv[0], H_WAIT_MS);
    if (out)
        *out = (char *) h_read_file (out_name);
    if (err)
        *err = (char *) h_read_file (err_name);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static const char *
s_describe (int status, char *buf, size_t cap)
{
    if (status == -1)
        snprintf (buf, cap, "still running");
    else if (WIFEXITED (status))
        snprintf (buf, cap, "exit %d", WEXITSTATUS (status));
    else if (WIFSIGNALED (status))
        snprintf (buf, cap, "killed by signal %d", WTERMSIG (status));
    else
        snprintf (buf, cap, "status %d", status);
    return buf;
}

void
h_assert_alive (pid_t pid)
{
    int status = 0;
    char why[64];
    if (s_exited (pid, &status))
        cr_assert_fail ("process %d ended (%s); gateway log:\n%s", (int) pid,
                        s_describe (status, why, sizeof why), h_read_file ("gateway.log"));
}

void
h_stop_all (void)
{
    //  The gateway first: it must drain and exit while its peers still run.
    s_proc_t *order[S_MAX_PROCS];
    size_t n = 0;
    for (size_t i = 0; i < s_h.nprocs; i++)
        if (s_h.procs[i].pid == s_h.gateway)
            order[n++] = &s_h.procs[i];
    for (size_t i = 0; i < s_h.nprocs; i++)
        if (s_h.procs[i].pid != s_h.gateway)
            order[n++] = &s_h.procs[i];
    for (size_t i = 0; i < n; i++) {
        s_proc_t *p = order[i];
        if (p->reaped)
            continue;
        kill (p->pid, SIGTERM);
        int status = h_wait (p->pid, H_WAIT_MS);
        char why[64], log[64];
        if (p->pid == s_h.gateway)
            snprintf (log, sizeof log, "gateway.log");
        else
            snprintf (log, sizeof log, "fn-%s.log", p->name);
        cr_assert (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
                   "%s did not exit 0 after SIGTERM (%s); its log:\n%s", p->name,
                   s_describe (status, why, sizeof why), h_read_file (log));
    }
}

//  --- raw HTTP --------------------------------------------------------------------

static h_conn_t *
s_connect (int port, int rcvbuf, bool must)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq (fd, 0);
    if (rcvbuf > 0)
        setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) port);
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int rc;
    while ((rc = connect (fd, (struct sockaddr *) &sa, sizeof sa)) < 0 && errno == EINTR) {
    }
    if (rc < 0) {
        int why = errno;
        close (fd);
        //  A connection queued on a listener that closes is reset, not refused.
        if (!must && (why == ECONNREFUSED || why == ECONNRESET))
            return NULL;
        cr_assert_fail ("connect to port %d: %s", port, strerror (why));
    }
    cr_assert_lt (s_h.nconns, S_MAX_CONNS, "too many connections");
    h_conn_t *c = (h_conn_t *) calloc (1, sizeof *c);
    if (!c)
        abort ();
    c->fd = fd;
    s_h.conns[s_h.nconns++] = c;
    return c;
}

h_conn_t *
h_connect (int port)
{
    return s_connect (port, 0, true);
}

h_conn_t *
h_try_connect (int port)
{
    return s_connect (port, 0, false);
}

h_conn_t *
h_connect_rcvbuf (int port, int rcvbuf)
{
    return s_connect (port, rcvbuf, true);
}

bool
h_send (h_conn_t *c, const void *data, size_t len)
{
    const char *p = (const char *) data;
    while (len > 0) {
        ssize_t n = send (c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t) n;
    }
    return true;
}

bool
h_send_str (h_conn_t *c, const char *s)
{
    return h_send (c, s, strlen (s));
}

//  Reads more bytes into c->buf, waiting until deadline (monotonic ms).
//  Returns the count, 0 on EOF or reset, -2 on timeout.
static ssize_t
s_fill (h_conn_t *c, uint64_t deadline)
{
    uint64_t now = h_mono_ms ();
    if (now >= deadline)
        return -2;
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int rc = poll (&pfd, 1, (int) (deadline - now));
    if (rc < 0 && errno == EINTR)
        return s_fill (c, deadline);
    if (rc == 0)
        return -2;
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        while (cap - c->len < 65536)
            cap *= 2;
        char *p = (char *) realloc (c->buf, cap);
        if (!p)
            abort ();
        c->buf = p;
        c->cap = cap;
    }
    ssize_t n;
    while ((n = recv (c->fd, c->buf + c->len, c->cap - c->len - 1, 0)) < 0 && errno == EINTR) {
    }
    if (n <= 0)
        return 0; //  EOF, or a reset (ECONNRESET): either way nothing more comes
    c->len += (size_t) n;
    c->buf[c->len] = '\0';
    return n;
}

static const char *
s_find (const char *hay, size_t len, const char *needle)
{
    size_t n = strlen (needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp (hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

//  The value of field name in head (case-insensitive), copied; or NULL.
static const char *
s_field (const char *head, const char *name, size_t nth)
{
    size_t nlen = strlen (name), seen = 0;
    const char *line = strstr (head, "\r\n");
    while (line) {
        line += 2;
        const char *eol = strstr (line, "\r\n");
        if (!eol)
            eol = line + strlen (line);
        if ((size_t) (eol - line) > nlen && strncasecmp (line, name, nlen) == 0 &&
            line[nlen] == ':') {
            if (seen++ == nth) {
                const char *v = line + nlen + 1;
                while (v < eol && (*v == ' ' || *v == '\t'))
                    v++;
                const char *e = eol;
                while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                    e--;
                return s_strdup (v, (size_t) (e - v));
            }
        }
        if (!*eol)
            break;
        line = eol;
    }
    return NULL;
}

static int
s_read_response (h_conn_t *c, h_resp_t *r, int timeout_ms, bool head_only)
{
    memset (r, 0, sizeof *r);
    uint64_t deadline = h_mono_ms () + (uint64_t) timeout_ms;
    const char *end;
    while (!c->buf || !(end = s_find (c->buf, c->len, "\r\n\r\n"))) {
        ssize_t n = s_fill (c, deadline);
        if (n <= 0)
            return n == -2 ? -2 : -1;
    }
    size_t head_len = (size_t) (end - c->buf) + 4;
    r->head = s_strdup (c->buf, head_len - 2);
    if (sscanf (r->head, "HTTP/1.%*1[01] %3d", &r->status) != 1)
        cr_assert_fail ("not an HTTP/1.x status line: %.80s", r->head);
    const char *cl = s_field (r->head, "Content-Length", 0);
    bool no_body = head_only || r->status < 200 || r->status == 204 || r->status == 304;
    size_t body_len = 0;
    if (cl)
        body_len = (size_t) strtoull (cl, NULL, 10);
    else if (!no_body) {
        //  Close-delimited (the gateway never does this, but be exact).
        while (s_fill (c, deadline) > 0) {
        }
        body_len = c->len - head_len;
    }
    if (no_body)
        body_len = 0;
    while (c->len < head_len + body_len) {
        ssize_t n = s_fill (c, deadline);
        if (n <= 0)
            return n == -2 ? -2 : -1;
    }
    r->body = s_strdup (c->buf + head_len, body_len);
    r->body_len = body_len;
    memmove (c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
    c->len -= head_len + body_len;
    return 0;
}

int
h_read_response (h_conn_t *c, h_resp_t *r, int timeout_ms)
{
    return s_read_response (c, r, timeout_ms, false);
}

h_resp_t
h_read_head_only (h_conn_t *c, int timeout_ms)
{
    h_resp_t r;
    int rc = s_read_response (c, &r, timeout_ms, true);
    cr_assert_eq (rc, 0, "no response (%s); logs:\n%s", rc == -2 ? "timeout" : "connection closed",
                  h_logs ());
    return r;
}

h_resp_t
h_read (h_conn_t *c, int timeout_ms)
{
    h_resp_t r;
    int rc = h_read_response (c, &r, timeout_ms);
    cr_assert_eq (rc, 0, "no response (%s); logs:\n%s", rc == -2 ? "timeout" : "connection closed",
                  h_logs ());
    return r;
}

int
h_read_eof (h_conn_t *c, int timeout_ms, size_t *extra)
{
    uint64_t deadline = h_mono_ms () + (uint64_t) timeout_ms;
    while (true) {
        ssize_t n = s_fill (c, deadline);
        if (n == -2) {
            *extra = c->len;
            return -2;
        }
        if (n == 0) {
            *extra = c->len;
            return 0;
        }
    }
}

bool
h_readable (h_conn_t *c, int timeout_ms)
{
    if (c->len)
        return true;
    struct pollfd pfd = {c->fd, POLLIN, 0};
    return poll (&pfd, 1, timeout_ms) > 0;
}

void
h_close (h_conn_t *c, bool abort_it)
{
    if (c->fd < 0)
        return;
    if (abort_it) {
        struct linger lg = {1, 0};
        setsockopt (c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close (c->fd);
    c->fd = -1;
}

const char *
h_header (const h_resp_t *r, const char *name)
{
    return r->head ? s_field (r->head, name, 0) : NULL;
}

size_t
h_header_count (const h_resp_t *r, const char *name)
{
    size_t n = 0;
    while (r->head && s_field (r->head, name, n))
        n++;
    return n;
}

h_resp_t
h_request (int port, const char *method, const char *path, const char *body)
{
    h_conn_t *c = h_connect (port);
    size_t blen = body ? strlen (body) : 0;
    char *req = (char *) h_alloc (strlen (method) + strlen (path) + blen + 128);
    if (body)
        sprintf (req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n%s", method,
                 path, blen, body);
    else
        sprintf (req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    cr_assert (h_send_str (c, req), "cannot send %s %s", method, path);
    h_resp_t r;
    int rc = h_read_response (c, &r, H_WAIT_MS);
    cr_assert_eq (rc, 0, "no response to %s %s (%s); logs:\n%s", method, path,
                  rc == -2 ? "timeout" : "connection closed", h_logs ());
    h_close (c, false);
    return r;
}

double
h_metric (const char *series)
{
    return h_metric_at (s_h.admin_port, series);
}

double
h_metric_at (int admin_port, const char *series)
{
    h_resp_t r = h_request (admin_port, "GET", "/-/metrics", NULL);
    cr_assert_eq (r.status, 200);
    size_t n = strlen (series);
    for (const char *line = r.body; line && *line;) {
        if (strncmp (line, series, n) == 0 && line[n] == ' ')
            return strtod (line + n + 1, NULL);
        line = strchr (line, '\n');
        if (line)
            line++;
    }
    return -1;
}

double
h_metric_wait (const char *series, double value, int timeout_ms)
{
    uint64_t end = h_mono_ms () + (uint64_t) timeout_ms;
    double v;
    while ((v = h_metric (series)) != value && h_mono_ms () < end)
        h_sleep_ms (5);
    return v;
}

double
h_metric_wait_min (const char *series, double min, int timeout_ms)
{
    uint64_t end = h_mono_ms () + (uint64_t) timeout_ms;
    double v;
    while ((v = h_metric (series)) < min && h_mono_ms () < end)
        h_sleep_ms (5);
    return v;
}
