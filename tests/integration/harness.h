/*  harness.h - helpers for the gateway's integration tests: a temp dir per
 *  test, real child processes (baton gateway, fn_test) started with their
 *  environment and always killed and reaped by PID, and raw HTTP/1.1 over TCP.
 *  Criterion runs each test in its own process, so the state is per test:
 *  h_setup () and h_teardown () are the suite's .init and .fini.  */
#ifndef BATON_TEST_HARNESS_H
#define BATON_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

//  Paths of the binaries under test (compile definitions from CMake).
#ifndef BATON_CLI_PATH
#error "BATON_CLI_PATH must be defined"
#endif
#ifndef BATON_FN_TEST_PATH
#error "BATON_FN_TEST_PATH must be defined"
#endif

//  The longest any helper waits for one thing (a process, a response).
#define H_WAIT_MS 5000

//  --- lifecycle ---------------------------------------------------------------------

//  .init: makes the temp dir. Never asserts (Criterion cannot abort an init).
void h_setup (void);
//  .fini: SIGKILLs every child still alive, reaps it, frees what the helpers
//  allocated and removes the temp dir. Runs even when an assertion failed.
void h_teardown (void);

//  The test's temp dir ("/tmp/baton-gw-XXXXXX"), and name inside it (a ring
//  of static buffers: valid for the next 16 calls).
const char *h_dir (void);
const char *h_path (const char *name);

uint64_t h_mono_ms (void);
void h_sleep_ms (int ms);

//  Memory that lives until h_teardown (); never NULL.
void *h_alloc (size_t size);

//  --- processes ---------------------------------------------------------------------

//  Starts fn_test as function name, bound at ipc://<dir>/<name>, in mode
//  (BATON_TEST_MODE), with extra_env ("KEY=VALUE", may be NULL) too. Returns
//  once the endpoint is bound (at once in mode "absent", which binds
//  nothing). Its log is <dir>/fn-<name>.log.
pid_t h_fn (const char *name, const char *mode, const char *extra_env);
//  Same with up to four extra "KEY=VALUE" entries, NULL-terminated.
pid_t h_fn_env (const char *name, const char *mode, const char *const extra_env[]);

//  Writes yaml to <dir>/gateway.yaml, "@D" replaced by the temp dir, starts
//  "baton gateway -c" on it and returns once it listens and its /-/health
//  answers 200. Its log is <dir>/gateway.log. Give both listeners port 0:
//  the ports the system picked are read from the log's "listening" line, so
//  parallel tests never race for a port.
pid_t h_gateway (const char *yaml);
//  Starts one more gateway (its config <dir>/<name>.yaml, its log
//  <dir>/fn-<name>.log) and returns once its /-/health answers; sets its ports.
//  Stopped by h_stop_all () after the first gateway, before the functions.
pid_t h_gateway_more (const char *name, const char *yaml, int *port, int *admin_port);
int h_port (void);
int h_admin_port (void);
pid_t h_gateway_pid (void);

//  text with every "@" doubled, so that h_write_file () and the config
//  helpers write it as it is (a CURVE key may contain "@D").
const char *h_literal (const char *text);
//  Writes text to <dir>/name ("@D" replaced, "@@" made "@") and returns the path.
const char *h_write_file (const char *name, const char *text);

//  Runs argv to its end (at most H_WAIT_MS), stdout and stderr into files
//  under the temp dir whose contents land in *out and *err (h_alloc'd, may be
//  NULL). Returns the exit code, or -1 if it did not exit normally.
int h_run (const char *const argv[], char **out, char **err);

//  Waits until pid exits (at most timeout_ms) and reaps it. Returns its wait
//  status, or -1 if it is still running (then it stays registered).
int h_wait (pid_t pid, int timeout_ms);

//  Asserts that pid (one of ours) is still running; if it ended, says how,
//  with the log of the gateway.
void h_assert_alive (pid_t pid);

//  Sends SIGTERM to every child still running, the gateway first, and asserts
//  that each exits with status 0 (so sanitizer reports fail the test).
void h_stop_all (void);

//  The contents of <dir>/name (h_alloc'd), or "" if it cannot be read.
const char *h_read_file (const char *name);

//  Every child's log, each under a "--- name" line (h_alloc'd): for the
//  message of an assertion that failed.
const char *h_logs (void);

//  --- raw HTTP --------------------------------------------------------------------

typedef struct {
    int fd;
    char *buf; //  bytes received and not yet taken by a response
    size_t len, cap;
} h_conn_t;

typedef struct {
    int status;
    char *head; //  status line and fields, NUL-terminated (h_alloc'd)
    char *body; //  NUL-terminated (h_alloc'd)
    size_t body_len;
} h_resp_t;

//  A blocking TCP connection to 127.0.0.1:port; asserts it connects.
h_conn_t *h_connect (int port);
//  Like h_connect () but returns NULL when the connection is refused (or
//  reset before it was accepted).
h_conn_t *h_try_connect (int port);
//  Sets SO_RCVBUF before connecting (small windows make writes block).
h_conn_t *h_connect_rcvbuf (int port, int rcvbuf);

//  Writes all len bytes (MSG_NOSIGNAL); returns false if the peer is gone.
bool h_send (h_conn_t *c, const void *data, size_t len);
bool h_send_str (h_conn_t *c, const char *s);

//  Reads one response (Content-Length framing, or none for 1xx/204/304).
//  Returns 0, or -1 on EOF/reset before a whole response, -2 on timeout.
int h_read_response (h_conn_t *c, h_resp_t *r, int timeout_ms);

//  Like h_read_response () but asserts that a response came, showing the
//  logs if not.
h_resp_t h_read (h_conn_t *c, int timeout_ms);

//  Like h_read () for the answer to a HEAD request: its fields only, since
//  no body follows whatever Content-Length says.
h_resp_t h_read_head_only (h_conn_t *c, int timeout_ms);

//  Reads until EOF (or a reset). Returns 0 and sets *extra to the bytes that
//  came before it (plus any left over from earlier reads), or -2 on timeout.
int h_read_eof (h_conn_t *c, int timeout_ms, size_t *extra);

//  True if the connection has bytes or EOF to read within timeout_ms.
bool h_readable (h_conn_t *c, int timeout_ms);

//  Closes the socket (abort: with SO_LINGER 0, so the peer gets a reset).
void h_close (h_conn_t *c, bool abort);

//  The value of the first field called name (case-insensitive), h_alloc'd,
//  or NULL.
const char *h_header (const h_resp_t *r, const char *name);
//  How many fields are called name.
size_t h_header_count (const h_resp_t *r, const char *name);

//  One request on a new connection ("GET", "/-/health", NULL body): sends it,
//  reads the response, closes. Asserts a response came.
h_resp_t h_request (int port, const char *method, const char *path, const char *body);

//  The value of the metric line that starts with series (exactly, then a
//  space) in /-/metrics, or -1 if absent.
double h_metric (const char *series);
//  The same from the admin listener at admin_port (another gateway's).
double h_metric_at (int admin_port, const char *series);
//  Polls h_metric () until it equals value or timeout_ms passes; returns the
//  last value seen.
double h_metric_wait (const char *series, double value, int timeout_ms);
//  Polls h_metric () until it is at least min or timeout_ms passes; returns
//  the last value seen.
double h_metric_wait_min (const char *series, double min, int timeout_ms);

#endif
