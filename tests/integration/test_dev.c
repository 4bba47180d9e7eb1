/*  test_dev.c - "baton dev" end to end: the real binary on the examples'
 *  own configs, driven with libcurl; restarts, the stop and what is left
 *  behind, checked by PID. Each test is its own process (Criterion) and a
 *  child subreaper, so whatever dev mode leaves behind comes to it: the
 *  .fini SIGKILLs and reaps every process it saw, by PID. Also the config
 *  calls dev mode relies on.  */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 //  realpath ()
#endif
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "baton/errors.h"
#include "config/config.h"

#ifndef BATON_CLI_PATH
#error "BATON_CLI_PATH must be defined"
#endif
#define EXAMPLES BATON_SOURCE_DIR "/examples"

//  The longest a test waits for one thing (a line, a process, an answer).
#define WAIT_MS  8000
#define MAX_PIDS 64

static struct {
    char dir[64];
    pid_t dev;      //  0 once reaped
    int dev_status; //  its wait status, once reaped
    pid_t seen[MAX_PIDS];
    size_t nseen;
    char *log;
} s_t;

//  --- time, files, processes ---------------------------------------------------------------

static uint64_t
s_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

static void
s_remember (pid_t pid)
{
    for (size_t i = 0; i < s_t.nseen; i++)
        if (s_t.seen[i] == pid)
            return;
    if (s_t.nseen < MAX_PIDS)
        s_t.seen[s_t.nseen++] = pid;
}

static const char *
s_path (const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf (buf[i], sizeof buf[i], "%s/%s", s_t.dir, name);
    return buf[i];
}

static void
s_write_file (const char *name, const char *text)
{
    FILE *f = fopen (s_path (name), "w");
    cr_assert_not_null (f);
    fputs (text, f);
    fclose (f);
}

//  Removes dir, its files and the files of its folders (dev mode's runtime
//  dir holds one: keys/).
static void
s_remove_dir (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir (d)))
        if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
            snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink (path) != 0)
                s_remove_dir (path);
        }
    closedir (d);
    rmdir (dir);
}

//  The parent pid of pid from /proc, or -1 if it is gone.
static pid_t
s_ppid (pid_t pid)
{
    char path[64], buf[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    const char *close = strrchr (buf, ')'); //  the name may hold spaces and ')'
    char state;
    int ppid;
    if (!close || sscanf (close + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return (pid_t) ppid;
}

//  Every live descendant of root, breadth first. Returns how many.
static size_t
s_descendants (pid_t root, pid_t *out, size_t cap)
{
    size_t n = 0;
    pid_t queue[MAX_PIDS];
    size_t head = 0, tail = 0;
    queue[tail++] = root;
    while (head < tail) {
        pid_t parent = queue[head++];
        DIR *d = opendir ("/proc");
        struct dirent *e;
        while (d && (e = readdir (d))) {
            char *end;
            long pid = strtol (e->d_name, &end, 10);
            if (*end || pid <= 0 || s_ppid ((pid_t) pid) != parent)
                continue;
            if (n < cap)
                out[n++] = (pid_t) pid;
            if (tail < MAX_PIDS)
                queue[tail++] = (pid_t) pid;
        }
        if (d)
            closedir (d);
    }
    return n;
}

static bool
s_gone (pid_t pid)
{
    return kill (pid, 0) == -1 && errno == ESRCH;
}

//  Reaps pid if it is our child and has exited (waiting at most timeout_ms).
//  Returns its wait status, or -1 if it did not exit in time or is not ours.
static int
s_reap (pid_t pid, int timeout_ms)
{
    uint64_t end = s_ms () + (uint64_t) timeout_ms;
    do {
        int st;
        pid_t r = waitpid (pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -1;
        s_sleep_ms (10);
    } while (s_ms () < end);
    return -1;
}

//  --- lifecycle -----------------------------------------------------------------------------

static void
s_init (void)
{
    memset (&s_t, 0, sizeof s_t);
    strcpy (s_t.dir, "/tmp/baton-devtest-XXXXXX");
    if (!mkdtemp (s_t.dir))
        s_t.dir[0] = '\0';
    //  Orphans of dev mode become our children, so we can reap and count them.
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
s_fini (void)
{
    //  A test that failed with dev mode running: let it stop in order first
    //  (and remove its runtime dir); then SIGKILL whatever is left.
    if (s_t.dev && kill (s_t.dev, SIGTERM) == 0 && s_reap (s_t.dev, 5000) != -1)
        s_t.dev = 0;
    pid_t more[MAX_PIDS];
    size_t n = s_descendants (getpid (), more, MAX_PIDS);
    for (size_t i = 0; i < n; i++)
        s_remember (more[i]);
    if (s_t.dev)
        s_remember (s_t.dev);
    for (size_t i = 0; i < s_t.nseen; i++)
        kill (s_t.seen[i], SIGKILL);
    //  Orphans reach us only after their parent dies: reap until all are gone.
    uint64_t end = s_ms () + 3000;
    for (size_t i = 0; i < s_t.nseen; i++)
        while (waitpid (s_t.seen[i], NULL, WNOHANG) == 0 && s_ms () < end)
            s_sleep_ms (5);
    free (s_t.log);
    if (s_t.dir[0])
        s_remove_dir (s_t.dir);
    curl_global_cleanup ();
}

TestSuite (dev, .init = s_init, .fini = s_fini, .timeout = 60);

//  --- baton dev --------------------------------------------------------------------------------

//  Starts "baton dev -c config -p 0 --admin-port 0 --no-color [extra]", its
//  stdout and stderr into <dir>/dev.log.
static pid_t
s_start_dev (const char *config, const char *extra)
{
    unlink (s_path ("dev.log")); //  no line of an earlier run may be read as this one's
    pid_t pid = fork ();
    cr_assert (pid >= 0);
    if (pid == 0) {
        int fd = open (s_path ("dev.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2 (fd, 1);
        dup2 (fd, 2);
        execl (BATON_CLI_PATH, "baton", "dev", "-c", config, "-p", "0", "--admin-port", "0",
               extra ? extra : "--no-color", (char *) NULL);
        _exit (127);
    }
    s_t.dev = pid;
    s_remember (pid);
    return pid;
}

//  The whole log so far (valid until the next call).
static const char *
s_log (void)
{
    free (s_t.log);
    s_t.log = NULL;
    FILE *f = fopen (s_path ("dev.log"), "r");
    if (!f)
        return "";
    size_t cap = 1 << 16, len = 0;
    s_t.log = malloc (cap + 1);
    size_t n;
    while ((n = fread (s_t.log + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            s_t.log = realloc (s_t.log, cap + 1);
        }
    }
    fclose (f);
    s_t.log[len] = '\0';
    return s_t.log;
}

//  Reaps dev if it has exited; true if it has.
static bool
s_dev_exited (void)
{
    if (!s_t.dev)
        return true;
    int st;
    if (waitpid (s_t.dev, &st, WNOHANG) == s_t.dev) {
        s_t.dev = 0;
        s_t.dev_status = st;
        return true;
    }
    return false;
}

//  Waits until the log holds text (or dev exits). Returns whether it does.
static bool
s_wait_log (const char *text, int timeout_ms)
{
    uint64_t end = s_ms () + (uint64_t) timeout_ms;
    while (true) {
        if (strstr (s_log (), text))
            return true;
        if (s_dev_exited () || s_ms () >= end)
            return strstr (s_log (), text) != NULL;
        s_sleep_ms (20);
    }
}

//  Waits for dev mode's ready block and returns the gateway's port.
static int
s_wait_ready (void)
{
    bool ready = s_wait_log ("ready in ", WAIT_MS);
    cr_assert (ready, "baton dev did not get ready; its log:\n%s", s_log ());
    const char *url = strstr (strstr (s_log (), "ready in "), "http://127.0.0.1:");
    cr_assert_not_null (url, "no URL after \"ready in\":\n%s", s_log ());
    int port = atoi (url + strlen ("http://127.0.0.1:"));
    cr_assert (port > 0 && port < 65536);
    return port;
}

//  The pid in the last "started <label> pid=N" line, or 0.
static pid_t
s_pid_of (const char *label)
{
    char key[96];
    snprintf (key, sizeof key, "started %s pid=", label);
    const char *log = s_log (), *last = NULL;
    for (const char *p = strstr (log, key); p; p = strstr (p + 1, key))
        last = p;
    return last ? (pid_t) atoi (last + strlen (key)) : 0;
}

//  Sends sig to dev and waits for its exit; returns its exit code, or -1 if
//  it did not exit normally in time.
static int
s_stop_dev (int sig)
{
    cr_assert (s_t.dev > 0);
    kill (s_t.dev, sig);
    int st = s_reap (s_t.dev, WAIT_MS);
    cr_assert (st != -1, "baton dev did not exit after %s; its log:\n%s", strsignal (sig),
               s_log ());
    s_t.dev = 0;
    s_t.dev_status = st;
    return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

//  Runs "baton dev" with argv to its end; returns its exit code (-1: killed or too slow).
static int
s_run_dev (const char *const *args)
{
    unlink (s_path ("dev.log")); //  no line of an earlier run may be read as this one's
    pid_t pid = fork ();
    cr_assert (pid >= 0);
    if (pid == 0) {
        int fd = open (s_path ("dev.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2 (fd, 1);
        dup2 (fd, 2);
        execv (BATON_CLI_PATH, (char *const *) args);
        _exit (127);
    }
    s_t.dev = pid;
    s_remember (pid);
    int st = s_reap (pid, WAIT_MS);
    if (st != -1)
        s_t.dev = 0;
    return st != -1 && WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

//  Writes yaml to <dir>/name and runs "baton dev -c" on it, on any free
//  ports, to its end; returns its exit code as s_run_dev () does.
static int
s_run_dev_on (const char *name, const char *yaml)
{
    s_write_file (name, yaml);
    const char *args[] = {"baton", "dev",          "-c", s_path (name), "-p",
                          "0",     "--admin-port", "0",  NULL};
    return s_run_dev (args);
}

//  --- HTTP (libcurl)
//  ------------------------------------------------------------------------------

typedef struct {
    long status; //  0: no response
    char head[8192];
    size_t head_len;
    char body[16384];
    size_t body_len;
} s_resp_t;

static size_t
s_on_header (char *data, size_t size, size_t n, void *arg)
{
    s_resp_t *r = (s_resp_t *) arg;
    size_t len = size * n;
    if (r->head_len + len < sizeof r->head) {
        memcpy (r->head + r->head_len, data, len);
        r->head_len += len;
        r->head[r->head_len] = '\0';
    }
    return len;
}

static size_t
s_on_body (char *data, size_t size, size_t n, void *arg)
{
    s_resp_t *r = (s_resp_t *) arg;
    size_t len = size * n;
    if (r->body_len + len < sizeof r->body) {
        memcpy (r->body + r->body_len, data, len);
        r->body_len += len;
        r->body[r->body_len] = '\0';
    }
    return len;
}

//  One request to 127.0.0.1:port; body NULL means GET. headers is
//  NULL-terminated (may be NULL).
static s_resp_t *
s_http (int port, const char *path, const char *const *headers, const char *body)
{
    static s_resp_t r;
    memset (&r, 0, sizeof r);
    char url[256];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init ();
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append (list, headers[i]);
    curl_easy_setopt (h, CURLOPT_URL, url);
    curl_easy_setopt (h, CURLOPT_HTTPHEADER, list);
    if (body)
        curl_easy_setopt (h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt (h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, (long) WAIT_MS);
    curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform (h) == CURLE_OK)
        curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all (list);
    curl_easy_cleanup (h);
    return &r;
}

//  The value of header name in r (case-insensitive), or NULL.
static const char *
s_header (const s_resp_t *r, const char *name)
{
    static char value[1024];
    size_t n = strlen (name);
    for (const char *p = r->head; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
        if (!strncasecmp (p, name, n) && p[n] == ':') {
            const char *v = p + n + 1 + strspn (p + n + 1, " ");
            snprintf (value, sizeof value, "%.*s", (int) strcspn (v, "\r\n"), v);
            return value;
        }
    return NULL;
}

#define ORDER                                                                                      \
    "{\"items\":[{\"sku\":\"tea\",\"qty\":2,\"price\":3.5},{\"sku\":\"cake\",\"qty\":1,\"price\":" \
    "4.25}]}"
static const char *const s_token[] = {"Authorization: Bearer demo-token", NULL};

//  --- the examples ------------------------------------------------------------------------------

Test (dev, hello_answers_then_sigterm_stops_it_cleanly)
{
    s_start_dev (EXAMPLES "/hello/baton.yaml", NULL);
    int port = s_wait_ready ();
    s_resp_t *r = s_http (port, "/hello", NULL, NULL);
    cr_assert_eq (r->status, 200, "status %ld, log:\n%s", r->status, s_log ());
    cr_assert_str_eq (r->body, "hello, world\n");
    cr_assert_str_eq (s_header (r, "Content-Type"), "text/plain; charset=utf-8");
    cr_assert_not_null (s_header (r, "Server-Timing"));
    cr_assert (strstr (s_header (r, "Server-Timing"), "hello;dur="));
    r = s_http (port, "/hello/ada", NULL, NULL);
    cr_assert_eq (r->status, 200);
    cr_assert_str_eq (r->body, "hello, ada\n");
    cr_assert_eq (s_http (port, "/nope", NULL, NULL)->status, 404);
    //  The ready block names the route and a curl line with the real port.
    char curl[128];
    snprintf (curl, sizeof curl, "curl -s -i http://127.0.0.1:%d/hello", port);
    cr_assert (strstr (s_log (), curl), "no \"%s\" in:\n%s", curl, s_log ());
    cr_assert (strstr (s_log (), "GET  /hello/{name}  hello"), "%s", s_log ());
    cr_assert_eq (s_stop_dev (SIGTERM), 0, "log:\n%s", s_log ());
    cr_assert (strstr (s_log (), "dev     | stopped"), "%s", s_log ());
}

Test (dev, pipeline_answers_401_without_a_good_token)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    int port = s_wait_ready ();
    s_resp_t *r = s_http (port, "/orders", NULL, ORDER);
    cr_assert_eq (r->status, 401, "status %ld, log:\n%s", r->status, s_log ());
    cr_assert_str_eq (s_header (r, "WWW-Authenticate"), "Bearer realm=\"baton\"");
    cr_assert_str_eq (s_header (r, "Content-Type"), "application/problem+json");
    cr_assert (strstr (r->body, "\"hop\":\"auth\""), "%s", r->body);
    //  Only auth ran: the early reply skipped enrich and render.
    cr_assert_not_null (s_header (r, "Server-Timing"));
    cr_assert (strstr (s_header (r, "Server-Timing"), "auth;dur="));
    cr_assert_null (strstr (s_header (r, "Server-Timing"), "enrich"));
    const char *const wrong[] = {"Authorization: Bearer not-the-token", NULL};
    cr_assert_eq (s_http (port, "/orders", wrong, ORDER)->status, 401);
    const char *const basic[] = {"Authorization: Basic ZGVtbzpkZW1v", NULL};
    cr_assert_eq (s_http (port, "/orders", basic, ORDER)->status, 401);
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

Test (dev, pipeline_renders_the_order_with_a_token)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    int port = s_wait_ready ();
    s_resp_t *r = s_http (port, "/orders", s_token, ORDER);
    cr_assert_eq (r->status, 200, "status %ld, body %s, log:\n%s", r->status, r->body, s_log ());
    cr_assert_str_eq (s_header (r, "Content-Type"), "text/html; charset=utf-8");
    const char *timing = s_header (r, "Server-Timing");
    cr_assert (timing && strstr (timing, "auth;dur=") && strstr (timing, "enrich;dur=") &&
                   strstr (timing, "render;dur="),
               "Server-Timing: %s", timing ? timing : "(none)");
    cr_assert (strstr (r->body, "<p>for alice</p>"), "%s", r->body);
    cr_assert (strstr (r->body, "<tr><td>tea</td><td>2</td><td>3.50</td><td>7.00</td></tr>"), "%s",
               r->body);
    cr_assert (strstr (r->body, "<tr><td>cake</td><td>1</td><td>4.25</td><td>4.25</td></tr>"), "%s",
               r->body);
    cr_assert (strstr (r->body, "3 items, total 11.25"), "%s", r->body);

    const char *const json[] = {s_token[0], "Accept: application/json", NULL};
    r = s_http (port, "/orders", json, ORDER);
    cr_assert_eq (r->status, 200);
    cr_assert_str_eq (s_header (r, "Content-Type"), "application/json");
    json_t *order = json_loads (r->body, 0, NULL);
    cr_assert_not_null (order, "not JSON: %s", r->body);
    cr_assert_str_eq (json_string_value (json_object_get (order, "user")), "alice");
    cr_assert_eq (json_integer_value (json_object_get (order, "item_count")), 3);
    cr_assert_float_eq (json_number_value (json_object_get (order, "total")), 11.25, 1e-9);
    json_t *tea = json_array_get (json_object_get (order, "items"), 0);
    cr_assert_float_eq (json_number_value (json_object_get (tea, "line_total")), 7.0, 1e-9);
    //  The order id is the request id the gateway gave it.
    cr_assert_str_eq (json_string_value (json_object_get (order, "order")),
                      s_header (r, "X-Request-Id"));
    json_decref (order);

    //  text/html ranked above JSON, and the curl default */*, get HTML.
    const char *const html[] = {s_token[0], "Accept: text/html, application/json;q=0.9", NULL};
    cr_assert (strstr (s_http (port, "/orders", html, ORDER)->body, "<!doctype html>"));
    const char *const any[] = {s_token[0], "Accept: */*", NULL};
    cr_assert (strstr (s_http (port, "/orders", any, ORDER)->body, "<!doctype html>"));
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

//  score sends an order of 100 or more through the sealed branch review:
//  in dev mode's CURVE mesh, with its mesh key.
Test (dev, pipeline_sends_a_large_order_through_review)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    int port = s_wait_ready ();
    s_resp_t *r = s_http (port, "/orders", s_token,
                          "{\"items\":[{\"sku\":\"tea\",\"qty\":40,\"price\":3.5}]}");
    cr_assert_eq (r->status, 200, "status %ld, body %s, log:\n%s", r->status, r->body, s_log ());
    const char *timing = s_header (r, "Server-Timing");
    cr_assert (timing && strstr (timing, "score;dur=") && strstr (timing, "review;dur=") &&
                   strstr (timing, "render;dur="),
               "Server-Timing: %s", timing ? timing : "(none)");
    cr_assert (strstr (r->body, "<p>a total of 140.00 is held for review</p>"), "%s", r->body);
    //  A small one goes through ok: no review.
    r = s_http (port, "/orders", s_token, ORDER);
    cr_assert_eq (r->status, 200);
    cr_assert_null (strstr (s_header (r, "Server-Timing"), "review"));
    cr_assert_null (strstr (r->body, "held for review"), "%s", r->body);
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

Test (dev, pipeline_answers_400_to_a_bad_order)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    int port = s_wait_ready ();
    s_resp_t *r = s_http (port, "/orders", s_token, "{\"items\":[");
    cr_assert_eq (r->status, 400, "status %ld", r->status);
    cr_assert_str_eq (s_header (r, "Content-Type"), "application/problem+json");
    cr_assert (strstr (r->body, "not JSON"), "%s", r->body);
    r = s_http (port, "/orders", s_token, "{\"items\":[{\"sku\":\"tea\",\"qty\":0,\"price\":1}]}");
    cr_assert_eq (r->status, 400);
    cr_assert (strstr (r->body, "items[0] needs a qty"), "%s", r->body);
    cr_assert_eq (s_http (port, "/orders", s_token, "{\"items\":[]}")->status, 400);
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

//  --- processes ---------------------------------------------------------------------------------

//  The value of key in /proc/<pid>/environ, or NULL.
static const char *
s_environ (pid_t pid, const char *key)
{
    static char buf[65536];
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/environ", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return NULL;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    size_t klen = strlen (key);
    for (size_t i = 0; i < n; i += strlen (buf + i) + 1)
        if (!strncmp (buf + i, key, klen) && buf[i + klen] == '=')
            return buf + i + klen + 1;
    return NULL;
}

Test (dev, each_replica_gets_its_own_inbox_environment_and_cwd)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    s_wait_ready ();
    pid_t e0 = s_pid_of ("enrich.0"), e1 = s_pid_of ("enrich.1");
    cr_assert (e0 > 0 && e1 > 0 && e0 != e1, "%s", s_log ());
    cr_assert_str_eq (s_environ (e1, "BATON_NAME"), "enrich");
    cr_assert_str_eq (s_environ (e1, "BATON_REPLICA"), "1");
    char bind0[512];
    snprintf (bind0, sizeof bind0, "%s", s_environ (e0, "BATON_BIND"));
    const char *bind1 = s_environ (e1, "BATON_BIND");
    cr_assert (!strncmp (bind0, "ipc://", 6) && strstr (bind0, "/enrich-0"), "%s", bind0);
    cr_assert (!strncmp (bind1, "ipc://", 6) && strstr (bind1, "/enrich-1"), "%s", bind1);
    //  The function itself is dev mode's child: the shell exec'd it.
    cr_assert_eq (s_ppid (e0), s_t.dev);
    char exe[512] = "", cwd[512] = "", want[512];
    char link[64];
    snprintf (link, sizeof link, "/proc/%d/exe", (int) e0);
    cr_assert (readlink (link, exe, sizeof exe - 1) > 0);
    cr_assert (strstr (exe, "/examples/pipeline/enrich"), "exe %s", exe);
    snprintf (link, sizeof link, "/proc/%d/cwd", (int) e0);
    cr_assert (readlink (link, cwd, sizeof cwd - 1) > 0);
    cr_assert_not_null (realpath (EXAMPLES "/pipeline", want));
    cr_assert_str_eq (cwd, want);
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

Test (dev, restarts_a_killed_function_with_growing_back_off)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    int port = s_wait_ready ();
    cr_assert_eq (s_http (port, "/orders", s_token, ORDER)->status, 200);
    pid_t first = s_pid_of ("auth.0");
    cr_assert (first > 0);
    cr_assert_eq (kill (first, SIGKILL), 0);
    cr_assert (s_wait_log ("auth.0 was killed by SIGKILL, restarting in 100ms", WAIT_MS), "%s",
               s_log ());
    uint64_t end = s_ms () + WAIT_MS;
    while (s_pid_of ("auth.0") == first && s_ms () < end)
        s_sleep_ms (20);
    pid_t second = s_pid_of ("auth.0");
    cr_assert (second > 0 && second != first, "not restarted:\n%s", s_log ());
    s_remember (second);
    //  Requests succeed again once the new auth has bound its inbox.
    long status = 0;
    end = s_ms () + WAIT_MS;
    while (status != 200 && s_ms () < end) {
        status = s_http (port, "/orders", s_token, ORDER)->status;
        if (status != 200)
            s_sleep_ms (50);
    }
    cr_assert_eq (status, 200, "no 200 after the restart; log:\n%s", s_log ());
    cr_assert (!s_gone (second));
    //  It lived less than 5 s: the next restart waits twice as long.
    cr_assert_eq (kill (second, SIGKILL), 0);
    cr_assert (s_wait_log ("auth.0 was killed by SIGKILL, restarting in 200ms", WAIT_MS), "%s",
               s_log ());
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

Test (dev, sigint_leaves_no_process_and_no_runtime_dir)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    s_wait_ready ();
    pid_t kids[MAX_PIDS];
    size_t n = s_descendants (s_t.dev, kids, MAX_PIDS);
    //  auth, enrich x2, score, review, render: the functions themselves, no
    //  shell between.
    cr_assert_eq (n, 6, "%zu descendants; log:\n%s", n, s_log ());
    for (size_t i = 0; i < n; i++)
        s_remember (kids[i]);
    const char *rt = strstr (s_log (), "runtime dir ");
    cr_assert_not_null (rt);
    char runtime[256];
    snprintf (runtime, sizeof runtime, "%.*s", (int) strcspn (rt + 12, ",\n"), rt + 12);
    struct stat st;
    cr_assert_eq (stat (runtime, &st), 0, "%s", runtime);

    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
    for (size_t i = 0; i < n; i++) {
        //  A zombie handed to us would still answer kill (): reap first.
        waitpid (kids[i], NULL, WNOHANG);
        cr_assert (s_gone (kids[i]), "pid %d is still there", (int) kids[i]);
    }
    cr_assert_neq (stat (runtime, &st), 0, "%s is still there", runtime);
    cr_assert (strstr (s_log (), "auth.0 exited with status 0"), "%s", s_log ());
}

Test (dev, functions_die_with_dev_even_when_it_is_killed)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
    s_wait_ready ();
    pid_t kids[MAX_PIDS];
    size_t n = s_descendants (s_t.dev, kids, MAX_PIDS);
    cr_assert_eq (n, 6);
    for (size_t i = 0; i < n; i++)
        s_remember (kids[i]);
    const char *rt = strstr (s_log (), "runtime dir ");
    char runtime[256];
    snprintf (runtime, sizeof runtime, "%.*s", (int) strcspn (rt + 12, ",\n"), rt + 12);
    kill (s_t.dev, SIGKILL);
    cr_assert_neq (s_reap (s_t.dev, WAIT_MS), -1);
    s_t.dev = 0;
    //  We are their subreaper: the kernel's SIGKILL (PR_SET_PDEATHSIG) makes
    //  them our zombies.
    for (size_t i = 0; i < n; i++) {
        int st = s_reap (kids[i], WAIT_MS);
        cr_assert (st != -1 && WIFSIGNALED (st) && WTERMSIG (st) == SIGKILL,
                   "pid %d outlived dev mode", (int) kids[i]);
    }
    s_remove_dir (runtime); //  nobody was left to remove it
}

//  --- the mesh: CURVE with fresh keys, or --insecure
//  ----------------------------------------------

//  The runtime dir dev mode named in its first line.
static const char *
s_runtime_dir (void)
{
    static char runtime[256];
    const char *rt = strstr (s_log (), "runtime dir ");
    cr_assert_not_null (rt, "%s", s_log ());
    snprintf (runtime, sizeof runtime, "%.*s", (int) strcspn (rt + 12, ",\n"), rt + 12);
    return runtime;
}

//  The contents of path (at most 4 KiB), or "" if it cannot be read.
static const char *
s_read (const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    FILE *f = fopen (path, "r");
    if (f) {
        buf[fread (buf, 1, sizeof buf - 1, f)] = '\0';
        fclose (f);
    }
    return buf;
}

//  The value of series in the gateway's /-/metrics (admin port from the
//  ready line), or -1.
static double
s_metric (const char *series)
{
    const char *admin = strstr (s_log (), "(admin: http://127.0.0.1:");
    cr_assert_not_null (admin, "%s", s_log ());
    int port = atoi (admin + strlen ("(admin: http://127.0.0.1:"));
    const char *body = s_http (port, "/-/metrics", NULL, NULL)->body;
    size_t n = strlen (series);
    for (const char *p = body; p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
        if (!strncmp (p, series, n) && p[n] == ' ')
            return atof (p + n + 1);
    return -1;
}

Test (dev, the_mesh_speaks_curve_with_keys_made_fresh_for_each_run)
{
    //  What the caller's environment says of security is not the children's.
    setenv ("BATON_SECURITY", "insecure", 1);
    setenv ("BATON_CERT", "/nonexistent/cert", 1);
    char first_key[1024] = "";
    for (int run = 0; run < 2; run++) {
        s_start_dev (EXAMPLES "/pipeline/baton.yaml", NULL);
        int port = s_wait_ready ();
        char runtime[256], keys[300], want[400];
        snprintf (runtime, sizeof runtime, "%s", s_runtime_dir ());
        snprintf (keys, sizeof keys, "%s/keys", runtime);
        snprintf (want, sizeof want, "mesh: CURVE on (keys in %s, fresh for this run)", keys);
        cr_assert (strstr (s_log (), want), "no \"%s\" in:\n%s", want, s_log ());
        cr_assert (strstr (s_log (), "security=curve"), "%s", s_log ());
        //  Each child: its own secret and the store, nothing inherited.
        pid_t e1 = s_pid_of ("enrich.1");
        snprintf (want, sizeof want, "%s/enrich.key_secret", keys);
        cr_assert_str_eq (s_environ (e1, "BATON_CERT"), want);
        cr_assert_str_eq (s_environ (e1, "BATON_TRUST"), keys);
        cr_assert_null (s_environ (e1, "BATON_SECURITY"));
        //  The store: a gateway key and one per function; secrets 0600, ours.
        struct stat st;
        cr_assert_eq (stat (keys, &st), 0);
        cr_assert_eq (st.st_mode & 0777, 0700);
        const char *names[] = {"dev.gateway", "auth", "enrich", "render"};
        for (size_t i = 0; i < 4; i++) {
            snprintf (want, sizeof want, "%s/%s.key_secret", keys, names[i]);
            cr_assert_eq (stat (want, &st), 0, "%s", want);
            cr_assert_eq (st.st_mode & 0777, 0600, "%s", want);
            cr_assert_eq (st.st_uid, getuid ());
            snprintf (want, sizeof want, "%s/%s.key", keys, names[i]);
            cr_assert_eq (stat (want, &st), 0, "%s", want);
        }
        //  The banner's ctl line names this run's admin token: 0600, ours.
        cr_assert (strstr (s_log (), "ctl:  baton ctl --admin http://127.0.0.1:"), "%s", s_log ());
        snprintf (want, sizeof want, "--token-file %s/admin-token status", runtime);
        cr_assert (strstr (s_log (), want), "no \"%s\" in:\n%s", want, s_log ());
        snprintf (want, sizeof want, "%s/admin-token", runtime);
        cr_assert_eq (stat (want, &st), 0, "%s", want);
        cr_assert_eq (st.st_mode & 0777, 0600, "%s", want);
        snprintf (want, sizeof want, "%s/auth.key", keys);
        if (run == 0)
            snprintf (first_key, sizeof first_key, "%s", s_read (want));
        else
            cr_assert_str_neq (s_read (want), first_key, "the second run reused the keys");
        //  The chain answers over CURVE: every hop's handshake went through.
        cr_assert_eq (s_http (port, "/orders", s_token, ORDER)->status, 200, "%s", s_log ());
        cr_assert_geq (s_metric ("baton_zap_accepted_total"), 1);
        cr_assert_eq (s_metric ("baton_zap_refused_total{reason=\"handshake\"}"), 0);
        cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
        cr_assert_neq (stat (keys, &st), 0, "%s is still there", keys);
        cr_assert_neq (stat (runtime, &st), 0, "%s is still there", runtime);
    }
}

Test (dev, insecure_runs_a_plaintext_mesh_and_says_so)
{
    s_start_dev (EXAMPLES "/pipeline/baton.yaml", "--insecure");
    int port = s_wait_ready ();
    cr_assert (strstr (s_log (), "mesh: plaintext (--insecure)"), "%s", s_log ());
    cr_assert_null (strstr (s_log (), "CURVE on"));
    pid_t a = s_pid_of ("auth.0");
    cr_assert_str_eq (s_environ (a, "BATON_SECURITY"), "insecure");
    cr_assert_null (s_environ (a, "BATON_CERT"));
    cr_assert_null (s_environ (a, "BATON_TRUST"));
    char keys[300];
    snprintf (keys, sizeof keys, "%s/keys", s_runtime_dir ());
    struct stat st;
    cr_assert_neq (stat (keys, &st), 0, "plaintext, yet %s exists", keys);
    cr_assert_eq (s_http (port, "/orders", s_token, ORDER)->status, 200, "%s", s_log ());
    cr_assert_eq (s_metric ("baton_zap_accepted_total"), 0);
    cr_assert_eq (s_stop_dev (SIGINT), 0, "log:\n%s", s_log ());
}

//  A function dev mode does not start cannot hold this run's keys: CURVE
//  refuses the config and names --insecure, which runs it. The config's
//  own security section is set aside either way, and said so.
Test (dev, a_function_it_does_not_start_needs_insecure)
{
    cr_assert_eq (s_run_dev_on ("ext.yaml", "security: {mode: insecure}\n"
                                            "functions:\n"
                                            "  ext:\n"
                                            "    endpoints: [ipc:///tmp/baton-devtest-nobody]\n"
                                            "routes:\n"
                                            "  - path: /x\n"
                                            "    chain: [ext]\n"),
                  1, "log:\n%s", s_log ());
    cr_assert (strstr (s_log (), "function ext is not started here (no run:), so it cannot hold "
                                 "this run's fresh CURVE keys: give it a run:, or use baton dev "
                                 "--insecure"),
               "%s", s_log ());
    cr_assert (strstr (s_log (), "the config's security section (mode insecure) is set aside"),
               "%s", s_log ());
    s_start_dev (s_path ("ext.yaml"), "--insecure");
    s_wait_ready ();
    cr_assert (strstr (s_log (), "ext is not started here (no run:): the gateway sends to ipc://"),
               "%s", s_log ());
    cr_assert_eq (s_stop_dev (SIGTERM), 0, "log:\n%s", s_log ());
}

//  --- functions that cannot start ----------------------------------------------------------------

Test (dev, exits_1_at_once_when_a_command_is_not_found)
{
    uint64_t t0 = s_ms ();
    cr_assert_eq (s_run_dev_on ("broken.yaml", "functions:\n"
                                               "  broken:\n"
                                               "    run: ./no-such-program --flag\n"
                                               "routes:\n"
                                               "  - path: /x\n"
                                               "    chain: [broken]\n"),
                  1, "log:\n%s", s_log ());
    cr_assert_lt (s_ms () - t0, 3000);
    cr_assert (strstr (s_log (), "broken.0 exited with status 127"), "%s", s_log ());
    cr_assert (strstr (s_log (), "it never started, giving up"), "%s", s_log ());
}

Test (dev, gives_up_on_a_function_that_keeps_exiting_at_once)
{
    cr_assert_eq (s_run_dev_on ("crash.yaml", "functions:\n"
                                              "  crash:\n"
                                              "    run: sh -c 'echo boom; exit 3'\n"
                                              "routes:\n"
                                              "  - path: /x\n"
                                              "    chain: [crash]\n"),
                  1, "log:\n%s", s_log ());
    const char *log = s_log ();
    //  Its output, under its name; each restart said, the delay doubling.
    cr_assert (strstr (log, "crash.0 | boom\n"), "%s", log);
    cr_assert (strstr (log, "crash.0 exited with status 3, restarting in 100ms"), "%s", log);
    cr_assert (strstr (log, "crash.0 exited with status 3, restarting in 200ms"), "%s", log);
    cr_assert (strstr (log, "crash.0 exited with status 3, restarting in 800ms"), "%s", log);
    cr_assert (strstr (log, "crash.0 exited with status 3: it never started, giving up"), "%s",
               log);
    cr_assert_null (strstr (log, "ready in"));
}

Test (dev, refuses_a_bad_config_and_bad_arguments)
{
    const char *missing[] = {"baton", "dev", "-c", "/nonexistent/baton.yaml", NULL};
    cr_assert_eq (s_run_dev (missing), 1);
    cr_assert (strstr (s_log (), "/nonexistent/baton.yaml: cannot open"), "%s", s_log ());
    s_write_file ("norun.yaml", "functions:\n"
                                "  lonely:\n"
                                "routes:\n"
                                "  - path: /x\n"
                                "    chain: [lonely]\n");
    const char *norun[] = {"baton", "dev", "-c", s_path ("norun.yaml"), NULL};
    cr_assert_eq (s_run_dev (norun), 1);
    cr_assert (strstr (s_log (), "function lonely has neither run: nor endpoints:"), "%s",
               s_log ());
    const char *bad[] = {"baton", "dev", "--frobnicate", NULL};
    cr_assert_eq (s_run_dev (bad), 2);
    const char *port[] = {"baton", "dev", "-p", "70000", NULL};
    cr_assert_eq (s_run_dev (port), 2);
    const char *help[] = {"baton", "dev", "--help", NULL};
    cr_assert_eq (s_run_dev (help), 0);
    cr_assert (strstr (s_log (), "usage: baton dev"));
}

Test (dev, output_is_one_aligned_stream_coloured_only_when_asked)
{
    s_start_dev (EXAMPLES "/hello/baton.yaml", NULL);
    s_wait_ready ();
    const char *log = s_log ();
    //  Labels padded to the widest ("gateway", "hello.0"), no escape codes.
    cr_assert (strstr (log, "dev     | started hello.0 pid="), "%s", log);
    cr_assert (strstr (log, "\ngateway | "), "%s", log);
    cr_assert (strstr (log, "\nhello.0 | "), "%s", log);
    cr_assert_null (strchr (log, '\x1b'));
    cr_assert_eq (s_stop_dev (SIGINT), 0);

    s_start_dev (EXAMPLES "/hello/baton.yaml", "--color");
    s_wait_ready ();
    cr_assert (strstr (s_log (), "\x1b[36mhello.0 |\x1b[0m "), "%s", s_log ());
    cr_assert_eq (s_stop_dev (SIGINT), 0);
}

//  --- the config calls dev mode uses
//  ---------------------------------------------------------------

static baton_config_t *
s_parse (const char *yaml)
{
    char err[BATON_CONFIG_MAX_ERROR];
    baton_config_t *cfg = baton_config_parse (yaml, strlen (yaml), "t.yaml", err, sizeof err);
    cr_assert_not_null (cfg, "%s", err);
    return cfg;
}

#define TWO_FNS                                                                                    \
    "functions:\n  a:\n    run: ./a\n  b:\n    endpoints: [tcp://127.0.0.1:5701]\n"                \
    "routes:\n  - path: /x\n    chain: [a, b]\n"

Test (dev_config, set_endpoints_copies_and_checks_them)
{
    baton_config_t *cfg = s_parse (TWO_FNS);
    char ep[64] = "ipc:///tmp/x/a-0";
    const char *eps[] = {ep, "ipc:///tmp/x/a-1"};
    cr_assert_eq (baton_config_function_set_endpoints (cfg, 0, eps, 2), 0);
    ep[0] = 'X'; //  the config holds its own copy
    const baton_config_function_t *a = baton_config_function (cfg, 0);
    cr_assert_eq (a->endpoint_count, 2);
    cr_assert_str_eq (a->endpoints[0], "ipc:///tmp/x/a-0");
    cr_assert_str_eq (a->endpoints[1], "ipc:///tmp/x/a-1");
    cr_assert_eq (baton_config_function_find (cfg, "a", 1)->endpoint_count, 2);
    const char *bad[] = {"http://nope"};
    cr_assert_eq (baton_config_function_set_endpoints (cfg, 0, bad, 1), BATON_EINVAL);
    const char *star[] = {"tcp://*:5700"}; //  the gateway connects: no wildcard
    cr_assert_eq (baton_config_function_set_endpoints (cfg, 0, star, 1), BATON_EINVAL);
    const char *twice[] = {"ipc:///tmp/y", "ipc:///tmp/y"};
    cr_assert_eq (baton_config_function_set_endpoints (cfg, 0, twice, 2), BATON_EINVAL);
    cr_assert_eq (baton_config_function_set_endpoints (cfg, 2, eps, 1), BATON_EINVAL);
    cr_assert_eq (baton_config_function_set_endpoints (cfg, 0, eps, BATON_CONFIG_MAX_ENDPOINTS + 1),
                  BATON_EINVAL);
    cr_assert_eq (a->endpoint_count, 2, "a refused call changed nothing");
    baton_config_destroy (&cfg);
}

Test (dev_config, set_reply_and_reply_default)
{
    baton_config_t *cfg = s_parse (TWO_FNS);
    cr_assert (baton_config_gateway (cfg)->reply_default);
    cr_assert_eq (baton_config_gateway_set_reply (cfg, "ipc:///tmp/x/reply"), 0);
    cr_assert_str_eq (baton_config_gateway (cfg)->reply, "ipc:///tmp/x/reply");
    cr_assert_not (baton_config_gateway (cfg)->reply_default);
    cr_assert_eq (baton_config_gateway_set_reply (cfg, "tcp://127.0.0.1:0"), BATON_EINVAL);
    baton_config_destroy (&cfg);

    cfg = s_parse (
        "gateway:\n  reply: tcp://127.0.0.1:5610\n  control: tcp://127.0.0.1:5611\n" TWO_FNS);
    cr_assert_not (baton_config_gateway (cfg)->reply_default);
    cr_assert_eq (baton_config_gateway_set_reply (cfg, "tcp://127.0.0.1:5611"), BATON_EINVAL);
    cr_assert_str_eq (baton_config_gateway (cfg)->reply, "tcp://127.0.0.1:5610");
    baton_config_destroy (&cfg);
}

Test (dev_config, set_ports_keeps_hosts_and_refuses_a_collision)
{
    baton_config_t *cfg =
        s_parse ("gateway:\n  listen: '[::1]:8080'\n  admin: 127.0.0.1:9090\n" TWO_FNS);
    cr_assert_eq (baton_config_gateway_set_ports (cfg, 0, -1), 0);
    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    cr_assert_eq (g->listen.port, 0);
    cr_assert_str_eq (g->listen.text, "[::1]:0");
    cr_assert_str_eq (g->listen.host, "::1");
    cr_assert_eq (g->admin.port, 9090);
    cr_assert_eq (baton_config_gateway_set_ports (cfg, -1, 9191), 0);
    cr_assert_str_eq (g->admin.text, "127.0.0.1:9191");
    cr_assert_eq (baton_config_gateway_set_ports (cfg, 65536, -1), BATON_EINVAL);
    baton_config_destroy (&cfg);

    cfg = s_parse (TWO_FNS);
    cr_assert_eq (baton_config_gateway_set_ports (cfg, 9090, -1), BATON_EINVAL); //  = admin
    cr_assert_eq (baton_config_gateway (cfg)->listen.port, 8080);
    cr_assert_eq (baton_config_gateway_set_ports (cfg, 0, 0), 0); //  port 0 never collides
    baton_config_destroy (&cfg);
}
