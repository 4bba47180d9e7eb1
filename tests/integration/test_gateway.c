/*  test_gateway.c - the gateway end to end: real "baton gateway" and fn_test
 *  processes, real HTTP (libcurl, or raw sockets where the bytes matter),
 *  real ZeroMQ over ipc:// in a temp dir. Every test starts its own gateway
 *  on ports the system picks, so tests run in parallel; every child is
 *  killed and reaped by PID in the suite's fini (harness.c).  */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <curl/curl.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "harness.h"

static void
s_init (void)
{
    h_setup ();
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
s_fini (void)
{
    h_teardown ();
    curl_global_cleanup ();
}

TestSuite (gateway, .init = s_init, .fini = s_fini, .timeout = 60);

//  --- configurations ----------------------------------------------------------------
//  "@D" is the test's temp dir. Ports 0: the harness reads the real ones from
//  the gateway's log.

#define S_GATEWAY_HEAD                                                                             \
    "gateway:\n"                                                                                   \
    "  listen: 127.0.0.1:0\n"                                                                      \
    "  admin: 127.0.0.1:0\n"                                                                       \
    "  reply: ipc://@D/reply\n"                                                                    \
    "  deadline: 2s\n"                                                                             \
    "  drain: 3s\n"

//  One function, a, behind /x.
#define S_CFG_ONE                                                                                  \
    S_GATEWAY_HEAD "functions:\n"                                                                  \
                   "  a: {endpoints: [ipc://@D/a]}\n"                                              \
                   "routes:\n"                                                                     \
                   "  - {path: /x, methods: [GET, POST], chain: [a]}\n"

//  a -> up -> c behind /x: the middle hop upper-cases what a wrote.
#define S_CFG_THREE                                                                                \
    S_GATEWAY_HEAD "functions:\n"                                                                  \
                   "  a: {endpoints: [ipc://@D/a]}\n"                                              \
                   "  up: {endpoints: [ipc://@D/up]}\n"                                            \
                   "  c: {endpoints: [ipc://@D/c]}\n"                                              \
                   "routes:\n"                                                                     \
                   "  - {path: /x, methods: [GET, POST], chain: [a, up, c]}\n"

static void
s_start_three (void)
{
    h_fn ("a", "append", NULL);
    h_fn ("up", "upper", NULL);
    h_fn ("c", "append", NULL);
    h_gateway (S_CFG_THREE);
}

//  --- libcurl ------------------------------------------------------------------------

typedef struct {
    long status;
    char *head; //  the last response's head (a 100 Continue is dropped)
    size_t head_len;
    char *body;
    size_t body_len;
    long local_port;
    long connects;
    bool continued; //  a 100 Continue came first
} s_curl_t;

static void
s_grow (char **buf, size_t *len, const char *data, size_t n)
{
    char *p = (char *) realloc (*buf, *len + n + 1);
    if (!p)
        abort ();
    memcpy (p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
}

static size_t
s_on_curl_header (char *data, size_t size, size_t n, void *arg)
{
    s_curl_t *r = (s_curl_t *) arg;
    if (size * n >= 5 && memcmp (data, "HTTP/", 5) == 0) {
        r->head_len = 0; //  a new response starts (after a 1xx)
        if (size * n >= 12 && memcmp (data + 8, " 100", 4) == 0)
            r->continued = true;
    }
    s_grow (&r->head, &r->head_len, data, size * n);
    return size * n;
}

static size_t
s_on_curl_data (char *data, size_t size, size_t n, void *arg)
{
    s_curl_t *r = (s_curl_t *) arg;
    s_grow (&r->body, &r->body_len, data, size * n);
    return size * n;
}

//  Performs the request set up on h; the result's strings live until the test
//  ends.
static s_curl_t
s_curl_perform (CURL *h)
{
    s_curl_t r;
    memset (&r, 0, sizeof r);
    curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, s_on_curl_header);
    curl_easy_setopt (h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_on_curl_data);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, (long) H_WAIT_MS);
    curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform (h);
    //  Copy into harness memory so a failed assertion leaks nothing.
    char *head = (char *) h_alloc (r.head_len + 1), *body = (char *) h_alloc (r.body_len + 1);
    if (r.head)
        memcpy (head, r.head, r.head_len);
    if (r.body)
        memcpy (body, r.body, r.body_len);
    free (r.head);
    free (r.body);
    r.head = head;
    r.body = body;
    cr_assert_eq (rc, CURLE_OK, "curl: %s; logs:\n%s", curl_easy_strerror (rc), h_logs ());
    curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo (h, CURLINFO_LOCAL_PORT, &r.local_port);
    curl_easy_getinfo (h, CURLINFO_NUM_CONNECTS, &r.connects);
    return r;
}

static void
s_curl_url (CURL *h, const char *path)
{
    char url[256];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", h_port (), path);
    curl_easy_setopt (h, CURLOPT_URL, url);
}

//  One request on a new handle. body NULL: GET; else POST.
static s_curl_t
s_curl (const char *path, const char *body, struct curl_slist *headers)
{
    CURL *h = curl_easy_init ();
    cr_assert_not_null (h);
    s_curl_url (h, path);
    if (body) {
        curl_easy_setopt (h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
    }
    if (headers)
        curl_easy_setopt (h, CURLOPT_HTTPHEADER, headers);
    s_curl_t r = s_curl_perform (h);
    curl_easy_cleanup (h);
    return r;
}

//  A curl head as a harness response, for h_header ().
static h_resp_t
s_as_resp (const s_curl_t *r)
{
    h_resp_t x;
    memset (&x, 0, sizeof x);
    x.status = (int) r->status;
    x.head = r->head;
    x.body = r->body;
    x.body_len = r->body_len;
    return x;
}

static const char *
s_curl_header (const s_curl_t *r, const char *name)
{
    h_resp_t x = s_as_resp (r);
    return h_header (&x, name);
}

//  --- checks -----------------------------------------------------------------------

//  For a curl or a raw response: the status, with the body and every log when
//  it is wrong.
#define S_ASSERT_STATUS(r, want)                                                                   \
    cr_assert_eq ((long) (r).status, (long) (want), "status %ld, want %d; body: %s\nlogs:\n%s",    \
                  (long) (r).status, want, (r).body ? (r).body : "", h_logs ())

//  Sends method path until the answer is anything but 503 (or 504, if
//  lost_reply_is_504), at most 10 s. On a loaded machine the ZeroMQ
//  connections of a fresh gateway and fresh functions can take longer to
//  handshake than the 100 ms a send may wait: the gateway's to the first hop
//  (made at start) gives a 503; each hop's to the next (made on first use)
//  gives a 503 from the SDK; a last hop's to reply-to (made on first use)
//  loses the reply, so the gateway answers 504 at the deadline. Tests about
//  what a chain answers start once that is over.
static void
s_warm_until (const char *method, const char *path, bool lost_reply_is_504)
{
    uint64_t end = h_mono_ms () + 10000;
    while (true) {
        h_resp_t r = h_request (h_port (), method, path, NULL);
        if (r.status != 503 && (r.status != 504 || !lost_reply_is_504))
            return;
        fprintf (stderr, "warm-up: %s %s answered %d: %s\n", method, path, r.status, r.body);
        cr_assert_lt (h_mono_ms (), end, "%s %s still %d after 10 s; logs:\n%s", method, path,
                      r.status, h_logs ());
        h_sleep_ms (20);
    }
}

static void
s_warm (const char *method, const char *path)
{
    s_warm_until (method, path, true);
}

static bool
s_matches (const char *text, const char *pattern)
{
    regex_t re;
    cr_assert_eq (regcomp (&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "bad regex %s", pattern);
    bool ok = text && regexec (&re, text, 0, NULL, 0) == 0;
    regfree (&re);
    return ok;
}

//  Asserts Server-Timing is exactly the hops named in want, in order, each
//  with a dur= in milliseconds.
static void
s_assert_server_timing (const char *value, const char *const *want, size_t count)
{
    cr_assert_not_null (value, "no Server-Timing");
    char *copy = (char *) h_alloc (strlen (value) + 1);
    strcpy (copy, value);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save), n++) {
        while (*tok == ' ')
            tok++;
        cr_assert_lt (n, count, "Server-Timing has more entries than hops: %s", value);
        char pattern[128];
        snprintf (pattern, sizeof pattern, "^%s;dur=[0-9]+(\\.[0-9]+)?$", want[n]);
        cr_assert (s_matches (tok, pattern), "Server-Timing entry %zu is \"%s\", want %s;dur=N", n,
                   tok, want[n]);
    }
    cr_assert_eq (n, count, "Server-Timing has %zu entries, want %zu: %s", n, count, value);
}

#define S_TRACEPARENT_RE "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

static void
s_assert_traceparent (const char *tp)
{
    cr_assert_not_null (tp, "no traceparent");
    cr_assert (s_matches (tp, S_TRACEPARENT_RE), "traceparent is not valid: %s", tp);
    cr_assert_neq (strncmp (tp + 3, "00000000000000000000000000000000", 32), 0,
                   "all-zero trace-id: %s", tp);
    cr_assert_neq (strncmp (tp + 36, "0000000000000000", 16), 0, "all-zero parent-id: %s", tp);
}

//  --- requests through chains ----------------------------------------------------------

Test (gateway, one_hop_get_answers_with_the_hop_output)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    s_warm ("GET", "/x");
    s_curl_t r = s_curl ("/x", NULL, NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "|a");
    cr_assert_str_eq (s_curl_header (&r, "X-Hop"), "a");
    const char *const hops[] = {"a"};
    s_assert_server_timing (s_curl_header (&r, "Server-Timing"), hops, 1);
    h_stop_all ();
}

Test (gateway, one_hop_post_transforms_the_body)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    s_warm ("GET", "/x");
    s_curl_t r = s_curl ("/x", "hello", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "hello|a");
    cr_assert_str_eq (s_curl_header (&r, "Content-Length"), "7");
    h_stop_all ();
}

Test (gateway, three_hop_chain_transforms_body_in_order)
{
    s_start_three ();
    s_warm ("GET", "/x");
    //  a appends "|a", up upper-cases everything so far, c appends "|c": only
    //  the order a, up, c gives this body.
    s_curl_t r = s_curl ("/x", "hello", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "HELLO|A|up|c");
    s_curl_t g = s_curl ("/x", NULL, NULL);
    S_ASSERT_STATUS (g, 200);
    cr_assert_str_eq (g.body, "|A|up|c");
    //  Each hop's X-Hop, in hop order.
    const char *p1 = strstr (r.head, "X-Hop: a\r\n"), *p2 = strstr (r.head, "X-Hop: up\r\n"),
               *p3 = strstr (r.head, "X-Hop: c\r\n");
    cr_assert (p1 && p2 && p3 && p1 < p2 && p2 < p3, "X-Hop fields out of order:\n%s", r.head);
    h_stop_all ();
}

Test (gateway, server_timing_names_the_three_hops_in_order_with_dur)
{
    s_start_three ();
    s_warm ("GET", "/x");
    const char *const hops[] = {"a", "up", "c"};
    s_curl_t r = s_curl ("/x", "t", NULL);
    S_ASSERT_STATUS (r, 200);
    s_assert_server_timing (s_curl_header (&r, "Server-Timing"), hops, 3);
    s_curl_t g = s_curl ("/x", NULL, NULL);
    s_assert_server_timing (s_curl_header (&g, "Server-Timing"), hops, 3);
    h_stop_all ();
}

//  The same chain, its three functions in one host process: hops after the
//  first go in memory, and the client cannot tell.
Test (gateway, a_chain_served_by_one_host_process_answers_as_three_processes_do)
{
    const char *const env[] = {"BATON_TEST_HOST=up:upper c:append", NULL};
    h_fn_env ("a", "append", env);
    h_gateway (S_CFG_THREE);
    s_warm ("GET", "/x");
    const char *const hops[] = {"a", "up", "c"};
    for (int i = 0; i < 3; i++) {
        s_curl_t r = s_curl ("/x", "hello", NULL);
        S_ASSERT_STATUS (r, 200);
        cr_assert_str_eq (r.body, "HELLO|A|up|c");
        const char *p1 = strstr (r.head, "X-Hop: a\r\n"), *p2 = strstr (r.head, "X-Hop: up\r\n"),
                   *p3 = strstr (r.head, "X-Hop: c\r\n");
        cr_assert (p1 && p2 && p3 && p1 < p2 && p2 < p3, "X-Hop fields out of order:\n%s", r.head);
        s_assert_server_timing (s_curl_header (&r, "Server-Timing"), hops, 3);
    }
    h_stop_all ();
}

Test (gateway, a_hop_failing_inside_a_host_answers_502_naming_it)
{
    const char *const env[] = {"BATON_TEST_HOST=up:fail c:append", NULL};
    h_fn_env ("a", "append", env);
    h_gateway (S_CFG_THREE);
    s_warm ("GET", "/x");
    s_curl_t r = s_curl ("/x", "hello", NULL);
    S_ASSERT_STATUS (r, 502);
    cr_assert (strstr (r.body, "\"hop\":\"up\"") != NULL, "body: %s", r.body);
    const char *const hops[] = {"a", "up"};
    s_assert_server_timing (s_curl_header (&r, "Server-Timing"), hops, 2);
    h_stop_all ();
}

Test (gateway, responses_carry_a_request_id_and_a_valid_traceparent)
{
    s_start_three ();
    s_warm ("GET", "/x");
    s_curl_t r1 = s_curl ("/x", "1", NULL);
    s_curl_t r2 = s_curl ("/x", NULL, NULL);
    S_ASSERT_STATUS (r1, 200);
    S_ASSERT_STATUS (r2, 200);
    const char *id1 = s_curl_header (&r1, "X-Request-Id"),
               *id2 = s_curl_header (&r2, "X-Request-Id");
    cr_assert (s_matches (id1, "^[0-9a-f]{8}-[0-9]+$"), "X-Request-Id: %s", id1 ? id1 : "(none)");
    cr_assert (s_matches (id2, "^[0-9a-f]{8}-[0-9]+$"), "X-Request-Id: %s", id2 ? id2 : "(none)");
    cr_assert_str_neq (id1, id2, "two requests, one id");
    const char *tp1 = s_curl_header (&r1, "traceparent"), *tp2 = s_curl_header (&r2, "traceparent");
    s_assert_traceparent (tp1);
    s_assert_traceparent (tp2);
    //  Without a traceparent of its own, each request starts a new trace.
    cr_assert_neq (strncmp (tp1 + 3, tp2 + 3, 32), 0, "two requests, one trace: %s", tp1);
    h_stop_all ();
}

Test (gateway, incoming_valid_traceparent_keeps_its_trace_id)
{
    s_start_three ();
    s_warm ("GET", "/x");
    static const char in[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    struct curl_slist *hdrs = curl_slist_append (
        NULL, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    s_curl_t r = s_curl ("/x", "t", hdrs);
    curl_slist_free_all (hdrs);
    S_ASSERT_STATUS (r, 200);
    const char *tp = s_curl_header (&r, "traceparent");
    s_assert_traceparent (tp);
    cr_assert_eq (strncmp (tp + 3, in + 3, 32), 0, "trace-id not kept: sent %s, got %s", in, tp);
    cr_assert_str_eq (tp + 53, "01", "trace flags not kept: %s", tp);
    cr_assert_neq (strncmp (tp + 36, in + 36, 16), 0, "the gateway's span is the caller's: %s", tp);
    h_stop_all ();
}

Test (gateway, incoming_invalid_traceparent_starts_a_new_trace)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    s_warm ("GET", "/x");
    //  An all-zero trace-id is invalid (W3C trace-context): never continued.
    struct curl_slist *hdrs = curl_slist_append (
        NULL, "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01");
    s_curl_t r = s_curl ("/x", NULL, hdrs);
    curl_slist_free_all (hdrs);
    S_ASSERT_STATUS (r, 200);
    s_assert_traceparent (s_curl_header (&r, "traceparent"));
    h_stop_all ();
}

//  --- connections: chunked upload, keep-alive, pipelining ----------------------------------

typedef struct {
    const char *data;
    size_t len, pos, piece;
} s_upload_t;

static size_t
s_on_curl_read (char *buf, size_t size, size_t n, void *arg)
{
    s_upload_t *u = (s_upload_t *) arg;
    size_t room = size * n, left = u->len - u->pos;
    size_t take = left < u->piece ? left : u->piece;
    if (take > room)
        take = room;
    memcpy (buf, u->data + u->pos, take);
    u->pos += take;
    return take;
}

static int
s_on_curl_debug (CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void) h;
    //  Records that the request head really said chunked.
    if (type == CURLINFO_HEADER_OUT) {
        char *copy = (char *) h_alloc (size + 1);
        memcpy (copy, data, size);
        *(const char **) arg = copy;
    }
    return 0;
}

Test (gateway, chunked_upload_arrives_whole)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    s_warm ("GET", "/x");
    size_t len = 200 * 1000;
    char *data = (char *) h_alloc (len + 1);
    for (size_t i = 0; i < len; i++)
        data[i] = (char) ('a' + (i * 7 + i / 1000) % 26);
    s_upload_t up = {data, len, 0, 997}; //  997-byte chunks: none aligned to anything
    const char *sent_head = NULL;
    CURL *h = curl_easy_init ();
    s_curl_url (h, "/x");
    struct curl_slist *hdrs = curl_slist_append (NULL, "Transfer-Encoding: chunked");
    curl_easy_setopt (h, CURLOPT_POST, 1L);
    curl_easy_setopt (h, CURLOPT_READFUNCTION, s_on_curl_read);
    curl_easy_setopt (h, CURLOPT_READDATA, &up);
    curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt (h, CURLOPT_DEBUGFUNCTION, s_on_curl_debug);
    curl_easy_setopt (h, CURLOPT_DEBUGDATA, &sent_head);
    curl_easy_setopt (h, CURLOPT_VERBOSE, 1L);
    s_curl_t r = s_curl_perform (h);
    curl_slist_free_all (hdrs);
    curl_easy_cleanup (h);
    cr_assert_not_null (sent_head);
    cr_assert_not_null (strstr (sent_head, "Transfer-Encoding: chunked"), "not chunked:\n%s",
                        sent_head);
    cr_assert_null (strstr (sent_head, "Content-Length"), "curl sent a length:\n%s", sent_head);
    //  curl asks before an upload of unknown size; the gateway says go on.
    if (strstr (sent_head, "Expect: 100-continue"))
        cr_assert (r.continued, "no 100 Continue for Expect: 100-continue");
    cr_assert_eq (up.pos, len, "curl did not read the whole body");
    S_ASSERT_STATUS (r, 200);
    cr_assert_eq (r.body_len, len + 2, "body is %zu bytes, want %zu", r.body_len, len + 2);
    cr_assert_eq (memcmp (r.body, data, len), 0, "the body changed on the way");
    cr_assert_str_eq (r.body + len, "|a");
    h_stop_all ();
}

Test (gateway, head_request_gets_the_length_but_no_body)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "routes:\n"
                              "  - {path: /x, methods: [HEAD, GET], chain: [a]}\n");
    s_warm ("GET", "/x");
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    h_resp_t r = h_read_head_only (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (h_header (&r, "Content-Length"), "2");
    //  Had body bytes followed, they would prefix the next response.
    h_send_str (c, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "|a");
    h_stop_all ();
}

Test (gateway, keep_alive_reuses_one_connection_for_two_requests)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    s_warm ("GET", "/x");
    CURL *h = curl_easy_init ();
    s_curl_url (h, "/x");
    s_curl_t r1 = s_curl_perform (h);
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, "two");
    s_curl_t r2 = s_curl_perform (h);
    curl_easy_cleanup (h);
    S_ASSERT_STATUS (r1, 200);
    S_ASSERT_STATUS (r2, 200);
    cr_assert_str_eq (r2.body, "two|a");
    cr_assert_eq (r1.connects, 1);
    cr_assert_eq (r2.connects, 0, "the second request opened a new connection");
    cr_assert_eq (r1.local_port, r2.local_port);
    cr_assert_null (s_curl_header (&r1, "Connection"), "keep-alive response says Connection: %s",
                    s_curl_header (&r1, "Connection"));
    h_stop_all ();
}

Test (gateway, three_pipelined_requests_are_answered_in_order)
{
    h_fn ("a", "append", NULL);
    h_fn ("s", "sleep", "BATON_TEST_SLEEP_MS=200");
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "  s: {endpoints: [ipc://@D/s]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [a]}\n"
                              "  - {path: /slow, chain: [s]}\n");
    s_warm ("GET", "/x");
    s_warm ("GET", "/slow");
    //  The first is the slowest: answers in request order prove the gateway
    //  serves one request of a connection at a time.
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none"
                   "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\ntwo"
                   "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    const char *want[] = {"one|s", "two|a", "|a"};
    for (int i = 0; i < 3; i++) {
        h_resp_t r;
        r = h_read (c, H_WAIT_MS);
        cr_assert_eq (r.status, 200, "response %d: %d", i + 1, r.status);
        cr_assert_str_eq (r.body, want[i], "response %d out of order", i + 1);
    }
    cr_assert (!h_readable (c, 100), "a fourth response arrived");
    h_stop_all ();
}

Test (gateway, requests_per_connection_closes_after_the_last_one)
{
    h_gateway (S_GATEWAY_HEAD "limits: {requests_per_connection: 2}\n"
                              "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [a]}\n");
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "GET /n1 HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /n2 HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /n3 HTTP/1.1\r\nHost: t\r\n\r\n");
    h_resp_t r1, r2;
    r1 = h_read (c, H_WAIT_MS);
    r2 = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r1, 404);
    S_ASSERT_STATUS (r2, 404);
    cr_assert_null (h_header (&r1, "Connection"));
    cr_assert_str_eq (h_header (&r2, "Connection"), "close");
    size_t extra;
    cr_assert_eq (h_read_eof (c, H_WAIT_MS, &extra), 0, "still open after the last request");
    cr_assert_eq (extra, 0, "the third request was answered");
    h_stop_all ();
}

//  --- the parser's rules, over raw sockets ---------------------------------------------
//  A gateway with no function process: route /x leads to an endpoint nobody
//  binds. A rejected request never reaches it; the valid request sent after
//  it (a 404 if it were read) must never be answered.

#define S_CFG_ALONE_ROUTES                                                                         \
    "functions:\n"                                                                                 \
    "  a: {endpoints: [ipc://@D/a]}\n"                                                             \
    "routes:\n"                                                                                    \
    "  - {path: /x, chain: [a]}\n"

#define S_FOLLOW_UP "GET /after HTTP/1.1\r\nHost: t\r\n\r\n"

//  Sends len bytes of req, then a valid request; expects status, Connection:
//  close, and EOF with nothing more.
static void
s_expect_rejected_n (const char *req, size_t len, int status)
{
    h_conn_t *c = h_connect (h_port ());
    h_send (c, req, len);
    h_send_str (c, S_FOLLOW_UP);
    h_resp_t r;
    int rc = h_read_response (c, &r, H_WAIT_MS);
    cr_assert_eq (rc, 0, "no response to the bad request (%s); logs:\n%s",
                  rc == -2 ? "timeout" : "closed", h_logs ());
    cr_assert_eq (r.status, status, "status %d, want %d; body: %s", r.status, status, r.body);
    const char *conn = h_header (&r, "Connection");
    cr_assert (conn && strcmp (conn, "close") == 0, "no Connection: close");
    cr_assert_str_eq (h_header (&r, "Content-Type"), "application/problem+json");
    size_t extra;
    cr_assert_eq (h_read_eof (c, H_WAIT_MS, &extra), 0, "the connection stayed open");
    cr_assert_eq (extra, 0, "%zu bytes came after the rejection", extra);
}

static void
s_expect_rejected (const char *req, int status)
{
    s_expect_rejected_n (req, strlen (req), status);
}

static void
s_gateway_alone (void)
{
    h_gateway (S_GATEWAY_HEAD S_CFG_ALONE_ROUTES);
}

Test (gateway, follow_up_request_alone_is_answered_404)
{
    //  The control for the tests below: the follow-up request is valid and
    //  answered when nothing bad comes before it.
    s_gateway_alone ();
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, S_FOLLOW_UP);
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 404);
    cr_assert_null (h_header (&r, "Connection"));
    h_stop_all ();
}

Test (gateway, bare_lf_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("GET /x HTTP/1.1\nHost: t\r\n\r\n", 400);
    s_expect_rejected ("GET /x HTTP/1.1\r\nHost: t\n\r\n", 400);
    h_stop_all ();
}

Test (gateway, rejection_reaches_a_client_that_keeps_sending)
{
    //  The client sends a bad head and goes on sending (a body we will never
    //  read). Closing with its bytes unread would reset the connection and
    //  could destroy the 400 in flight; the gateway shuts its side and drops
    //  what comes until the client closes.
    s_gateway_alone ();
    h_conn_t *c = h_connect (h_port ());
    cr_assert (h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"));
    //  Right behind the head, so it is in the gateway's buffers when it closes.
    static char junk[256 * 1024];
    memset (junk, 'x', sizeof junk);
    for (int i = 0; i < 4; i++)
        h_send (c, junk, sizeof junk); //  may fail once the gateway is gone: fine
    h_resp_t r;
    cr_assert_eq (h_read_response (c, &r, 5000), 0, "the 400 was lost");
    cr_assert_eq (r.status, 400);
    //  And the connection ends in an orderly close (FIN), not a reset: the
    //  reset is what can destroy a response still on its way.
    struct timeval tv = {5, 0};
    setsockopt (c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n;
    while ((n = recv (c->fd, buf, sizeof buf, 0)) > 0) {
    }
    cr_assert_eq (n, 0, "the connection ended in %s, not an orderly close",
                  n < 0 ? strerror (errno) : "?");
    h_stop_all ();
}

Test (gateway, obs_fold_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("GET /x HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n", 400);
    h_stop_all ();
}

Test (gateway, space_before_colon_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("GET /x HTTP/1.1\r\nHost: t\r\nX-A : v\r\n\r\n", 400);
    h_stop_all ();
}

Test (gateway, nul_in_field_value_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    static const char req[] = "GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n";
    s_expect_rejected_n (req, sizeof req - 1, 400);
    h_stop_all ();
}

Test (gateway, missing_host_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("GET /x HTTP/1.1\r\nX-A: v\r\n\r\n", 400);
    h_stop_all ();
}

Test (gateway, two_hosts_are_rejected_400_and_close)
{
    s_gateway_alone ();
    s_expect_rejected ("GET /x HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n", 400);
    h_stop_all ();
}

Test (gateway, content_length_with_transfer_encoding_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                       400);
    h_stop_all ();
}

Test (gateway, duplicate_content_length_is_rejected_400_even_with_equal_values)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                       "Content-Length: 3\r\n\r\nabc",
                       400);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                       "Content-Length: 4\r\n\r\nabcd",
                       400);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc", 400);
    h_stop_all ();
}

Test (gateway, content_length_with_sign_or_non_digit_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc", 400);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3a\r\n\r\nabc", 400);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0x3\r\n\r\nabc", 400);
    h_stop_all ();
}

Test (gateway, transfer_encoding_gzip_is_answered_501_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                       501);
    h_stop_all ();
}

Test (gateway, transfer_encoding_in_http10_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "0\r\n\r\n",
                       400);
    h_stop_all ();
}

Test (gateway, http20_request_line_is_answered_505_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("GET /x HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    h_stop_all ();
}

Test (gateway, invalid_method_chars_are_rejected_400_and_close)
{
    s_gateway_alone ();
    s_expect_rejected ("G@T /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    s_expect_rejected ("GE(T) /x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    h_stop_all ();
}

Test (gateway, bad_chunk_size_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "zz\r\nab\r\n0\r\n\r\n",
                       400);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2 \r\nab\r\n0\r\n\r\n",
                       400);
    h_stop_all ();
}

Test (gateway, chunk_data_not_followed_by_crlf_is_rejected_400_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabcX\r\n0\r\n\r\n",
                       400);
    h_stop_all ();
}

Test (gateway, expectation_other_than_100_continue_is_answered_417_and_closes)
{
    s_gateway_alone ();
    s_expect_rejected (
        "POST /x HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\nhi", 417);
    h_stop_all ();
}

Test (gateway, body_sent_to_an_unknown_path_is_never_read_as_a_request)
{
    s_gateway_alone ();
    //  The 404 comes before the body is read, so the connection closes: the
    //  body, which looks like a request, is never parsed.
    s_expect_rejected ("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 34\r\n\r\n"
                       "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
                       404);
    h_stop_all ();
}

Test (gateway, cl_te_smuggling_attempt_gets_exactly_one_response)
{
    s_gateway_alone ();
    //  A front end that believes Content-Length sends all this as one request;
    //  one that believes Transfer-Encoding sees a second request, GET /smuggled.
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 38\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"
                       "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
                       400);
    //  The same, framing fields the other way round (TE.CL).
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                       "Content-Length: 4\r\n\r\n"
                       "27\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n\r\n0\r\n\r\n",
                       400);
    h_stop_all ();
}

//  The limits at their defaults.

//  "GET /aaa... HTTP/1.1": a request-line of exactly line_len bytes.
static char *
s_long_get (size_t line_len)
{
    char *req = (char *) h_alloc (line_len + 64);
    size_t target = line_len - strlen ("GET  HTTP/1.1");
    strcpy (req, "GET /");
    memset (req + 5, 'a', target - 1);
    strcpy (req + 4 + target, " HTTP/1.1\r\nHost: t\r\n\r\n");
    return req;
}

Test (gateway, request_line_over_8kib_is_answered_414_and_closes)
{
    s_gateway_alone ();
    //  At the limit: read whole, then routed (nothing there: 404).
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, s_long_get (8192));
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 404, "a request-line of 8 KiB got %d", r.status);
    s_expect_rejected (s_long_get (8193), 414);
    s_expect_rejected (s_long_get (20000), 414);
    h_stop_all ();
}

//  A GET /x head with count fields in all (Host included), each line padded
//  so the field section is block bytes (final CR LF included).
static char *
s_head_with_fields (size_t count, size_t block)
{
    char *req = (char *) h_alloc (block + 64);
    strcpy (req, "GET /n HTTP/1.1\r\nHost: t\r\n");
    size_t used = 9 + 2; //  "Host: t\r\n" and the final CR LF
    for (size_t i = 1; i < count; i++) {
        //  Spread the rest over the lines: "X-Fnnnn: " value CR LF.
        size_t left = count - i, room = block - used;
        size_t line = room / left;
        cr_assert_geq (line, 12, "block too small for that many fields");
        char *p = req + strlen (req);
        int n = sprintf (p, "X-F%04zu: ", i);
        memset (p + n, 'v', line - (size_t) n - 2);
        strcpy (p + line - 2, "\r\n");
        used += line;
    }
    cr_assert_eq (used, block, "internal: block is %zu", used);
    strcat (req, "\r\n");
    return req;
}

Test (gateway, header_block_over_16kib_is_answered_431_and_closes)
{
    s_gateway_alone ();
    h_resp_t r = h_request (h_port (), "GET", "/n", NULL);
    S_ASSERT_STATUS (r, 404);
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, s_head_with_fields (20, 16384));
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 404, "a 16 KiB field section got %d", r.status);
    s_expect_rejected (s_head_with_fields (20, 16385), 431);
    s_expect_rejected (s_head_with_fields (40, 40000), 431);
    h_stop_all ();
}

Test (gateway, more_than_100_fields_are_answered_431_and_close)
{
    s_gateway_alone ();
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, s_head_with_fields (100, 2000));
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 404, "100 fields got %d", r.status);
    s_expect_rejected (s_head_with_fields (101, 2020), 431);
    h_stop_all ();
}

Test (gateway, declared_body_over_1mib_is_answered_413_before_the_body_is_sent)
{
    s_gateway_alone ();
    //  Only the head goes out: the 413 must come without any body byte.
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n");
    h_resp_t r;
    uint64_t t0 = h_mono_ms ();
    int rc = h_read_response (c, &r, H_WAIT_MS);
    cr_assert_eq (rc, 0, "no 413 without the body (%s)", rc == -2 ? "timeout" : "closed");
    S_ASSERT_STATUS (r, 413);
    cr_assert_lt (h_mono_ms () - t0, 2000);
    cr_assert_str_eq (h_header (&r, "Connection"), "close");
    size_t extra;
    cr_assert_eq (h_read_eof (c, H_WAIT_MS, &extra), 0, "the connection stayed open");
    cr_assert_eq (extra, 0);
    //  An unroutable path is answered before the body too, and closes.
    h_conn_t *d = h_connect (h_port ());
    h_send_str (d, "POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n");
    r = h_read (d, H_WAIT_MS);
    cr_assert_eq (r.status, 413, "the size limit comes before routing");
    h_stop_all ();
}

//  The limits made small in the config.

#define S_CFG_SMALL                                                                                \
    S_GATEWAY_HEAD "limits:\n"                                                                     \
                   "  request_line: 64B\n"                                                         \
                   "  header_block: 256B\n"                                                        \
                   "  header_count: 4\n"                                                           \
                   "  body: 16B\n" S_CFG_ALONE_ROUTES

Test (gateway, configured_request_line_limit_gives_414)
{
    h_gateway (S_CFG_SMALL);
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, s_long_get (64));
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 404, "a 64-byte request-line got %d", r.status);
    s_expect_rejected (s_long_get (65), 414);
    h_stop_all ();
}

Test (gateway, configured_header_limits_give_431)
{
    h_gateway (S_CFG_SMALL);
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, s_head_with_fields (4, 256));
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 404, "4 fields in 256 bytes got %d", r.status);
    s_expect_rejected (s_head_with_fields (4, 257), 431);
    s_expect_rejected (s_head_with_fields (5, 100), 431);
    h_stop_all ();
}

Test (gateway, configured_body_limit_gives_413_for_length_and_chunked)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_SMALL);
    s_warm ("GET", "/x");
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 200, "a 16-byte body got %d", r.status);
    cr_assert_str_eq (r.body, "0123456789abcdef|a");
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n");
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 200, "a 16-byte chunked body got %d", r.status);
    cr_assert_str_eq (r.body, "0123456789abcdef|a");
    //  17 bytes: the head alone is enough for a 413; chunked, the size line
    //  that crosses the limit is.
    h_conn_t *d = h_connect (h_port ());
    h_send_str (d, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n");
    r = h_read (d, H_WAIT_MS);
    S_ASSERT_STATUS (r, 413);
    s_expect_rejected ("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "a\r\n0123456789\r\n7\r\n",
                       413);
    h_stop_all ();
}

Test (gateway, well_formed_framing_variants_are_served)
{
    //  The other side of the rules above: what a strict parser must still take.
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    s_warm ("GET", "/x");
    h_conn_t *c = h_connect (h_port ());
    h_resp_t r;
    //  Leading zeros in Content-Length; one empty line before a request line.
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 005\r\n\r\nhello");
    r = h_read (c, H_WAIT_MS);
    cr_assert_str_eq (r.body, "hello|a");
    h_send_str (c, "\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "|a");
    //  Chunk extensions, upper-case hex, a trailer, "chunked" in any case.
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n"
                   "5;name=value;flag\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: v\r\n\r\n");
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "hello, world!!!|a");
    cr_assert_null (h_header (&r, "Connection"), "the connection should stay open");
    //  Absolute-form target: the path is what follows the authority.
    h_send_str (c, "GET http://example.test:8080/x?q=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
    r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 200, "absolute-form got %d", r.status);
    cr_assert_str_eq (r.body, "|a");
    //  Upgrade is never honoured, and the connection closes after the answer.
    h_send_str (c, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (h_header (&r, "Connection"), "close");
    size_t extra;
    cr_assert_eq (h_read_eof (c, H_WAIT_MS, &extra), 0, "open after an Upgrade request");
    //  HTTP/1.0 without keep-alive: answered, then closed.
    h_conn_t *d = h_connect (h_port ());
    h_send_str (d, "POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
    r = h_read (d, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "hi|a");
    cr_assert_eq (h_read_eof (d, H_WAIT_MS, &extra), 0);
    h_stop_all ();
}

//  --- timeouts -------------------------------------------------------------------------

#define S_CFG_TIMEOUTS(header, body, idle)                                                         \
    S_GATEWAY_HEAD "limits:\n"                                                                     \
                   "  header_timeout: " header "\n"                                                \
                   "  body_timeout: " body "\n"                                                    \
                   "  idle_timeout: " idle "\n" S_CFG_ALONE_ROUTES

Test (gateway, head_not_complete_within_header_timeout_closes_the_connection)
{
    h_gateway (S_CFG_TIMEOUTS ("300ms", "10s", "10s"));
    uint64_t t0 = h_mono_ms ();
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "GET /x HTTP/1.1\r\nHo");
    size_t extra;
    cr_assert_eq (h_read_eof (c, 3000, &extra), 0, "still open after the header timeout");
    uint64_t took = h_mono_ms () - t0;
    cr_assert_eq (extra, 0, "the gateway answered a timed-out head");
    cr_assert_geq (took, 290, "closed after %llu ms, before the timeout",
                   (unsigned long long) took);
    cr_assert_lt (took, 2300, "closed after %llu ms", (unsigned long long) took);
    //  A silent connection owes a head too.
    t0 = h_mono_ms ();
    h_conn_t *d = h_connect (h_port ());
    cr_assert_eq (h_read_eof (d, 3000, &extra), 0, "an idle new connection stayed open");
    cr_assert_geq (h_mono_ms () - t0, 290);
    cr_assert_eq (h_metric ("baton_rejects_total{reason=\"header_timeout\"}"), 2);
    h_stop_all ();
}

Test (gateway, body_not_complete_within_body_timeout_is_answered_408_and_closes)
{
    h_gateway (S_CFG_TIMEOUTS ("10s", "300ms", "10s"));
    uint64_t t0 = h_mono_ms ();
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    h_resp_t r;
    r = h_read (c, 3000);
    uint64_t took = h_mono_ms () - t0;
    S_ASSERT_STATUS (r, 408);
    cr_assert_str_eq (h_header (&r, "Connection"), "close");
    cr_assert_geq (took, 290, "408 after %llu ms, before the timeout", (unsigned long long) took);
    cr_assert_lt (took, 2300, "408 after %llu ms", (unsigned long long) took);
    size_t extra;
    cr_assert_eq (h_read_eof (c, H_WAIT_MS, &extra), 0);
    cr_assert_eq (extra, 0);
    h_stop_all ();
}

Test (gateway, idle_keep_alive_connection_closes_after_idle_timeout)
{
    h_gateway (S_CFG_TIMEOUTS ("10s", "10s", "300ms"));
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "GET /n HTTP/1.1\r\nHost: t\r\n\r\n");
    h_resp_t r;
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 404);
    cr_assert_null (h_header (&r, "Connection"), "keep-alive expected");
    uint64_t t0 = h_mono_ms ();
    size_t extra;
    cr_assert_eq (h_read_eof (c, 3000, &extra), 0, "the idle connection stayed open");
    uint64_t took = h_mono_ms () - t0;
    cr_assert_eq (extra, 0);
    cr_assert_geq (took, 250, "closed after %llu ms idle", (unsigned long long) took);
    cr_assert_lt (took, 2300, "closed after %llu ms idle", (unsigned long long) took);
    h_stop_all ();
}

Test (gateway, function_that_never_answers_gives_504_at_the_route_deadline)
{
    h_fn ("quiet", "silent", NULL);
    //  The warm-up's 504 has quiet probed: a probe slower than the test keeps
    //  it in rotation (a failed probe would eject it and fail the POST fast).
    h_gateway (S_GATEWAY_HEAD "  probe_timeout: 60s\n"
                              "functions:\n"
                              "  quiet: {endpoints: [ipc://@D/quiet]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [quiet], deadline: 500ms}\n");
    s_warm_until ("GET", "/x", false); //  a 504 after 500 ms
    uint64_t t0 = h_mono_ms ();
    s_curl_t r = s_curl ("/x", "hello", NULL);
    uint64_t took = h_mono_ms () - t0;
    S_ASSERT_STATUS (r, 504);
    cr_assert_geq (took, 500, "504 after %llu ms, before the deadline", (unsigned long long) took);
    cr_assert_lt (took, 2500, "504 after %llu ms", (unsigned long long) took);
    cr_assert_str_eq (s_curl_header (&r, "Content-Type"), "application/problem+json");
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    h_stop_all ();
}

//  --- answers the chain or the gateway makes ------------------------------------------------

Test (gateway, early_reply_401_skips_the_rest_of_the_chain)
{
    h_fn ("auth", "reply401", NULL);
    h_fn ("b", "append", NULL);
    h_fn ("c", "append", NULL);
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  auth: {endpoints: [ipc://@D/auth]}\n"
                              "  b: {endpoints: [ipc://@D/b]}\n"
                              "  c: {endpoints: [ipc://@D/c]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [auth, b, c]}\n");
    s_warm ("GET", "/x");
    s_curl_t r = s_curl ("/x", "secret", NULL);
    S_ASSERT_STATUS (r, 401);
    cr_assert_str_eq (r.body, "unauthorized\n");
    const char *const hops[] = {"auth"};
    s_assert_server_timing (s_curl_header (&r, "Server-Timing"), hops, 1);
    cr_assert_null (s_curl_header (&r, "X-Hop"), "a later hop ran");
    h_stop_all ();
}

Test (gateway, failing_hop_gives_502_problem_json_naming_the_hop)
{
    h_fn ("a", "append", NULL);
    h_fn ("bad", "fail", NULL);
    h_fn ("c", "append", NULL);
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "  bad: {endpoints: [ipc://@D/bad]}\n"
                              "  c: {endpoints: [ipc://@D/c]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [a, bad, c]}\n");
    s_warm ("GET", "/x");
    s_curl_t r = s_curl ("/x", "in", NULL);
    S_ASSERT_STATUS (r, 502);
    cr_assert_str_eq (s_curl_header (&r, "Content-Type"), "application/problem+json");
    json_error_t jerr;
    json_t *doc = json_loads (r.body, 0, &jerr);
    cr_assert_not_null (doc, "not JSON (%s): %s", jerr.text, r.body);
    const char *hop = json_string_value (json_object_get (doc, "hop"));
    const char *detail = json_string_value (json_object_get (doc, "detail"));
    json_int_t status = json_integer_value (json_object_get (doc, "status"));
    bool ok = hop && strcmp (hop, "bad") == 0 && status == 502 && detail &&
              strstr (detail, "test failure");
    json_decref (doc);
    cr_assert (ok, "problem does not name the hop: %s", r.body);
    const char *const hops[] = {"a", "bad"};
    s_assert_server_timing (s_curl_header (&r, "Server-Timing"), hops, 2);
    h_stop_all ();
}

Test (gateway, unknown_path_gives_404)
{
    h_gateway (S_GATEWAY_HEAD S_CFG_ALONE_ROUTES);
    s_curl_t r = s_curl ("/nope", NULL, NULL);
    S_ASSERT_STATUS (r, 404);
    cr_assert_str_eq (s_curl_header (&r, "Content-Type"), "application/problem+json");
    cr_assert_not_null (strstr (r.body, "/nope"), "404 body: %s", r.body);
    cr_assert_eq (h_metric ("baton_rejects_total{reason=\"no_route\"}"), 1);
    h_stop_all ();
}

Test (gateway, wrong_method_gives_405_with_allow_listing_the_methods)
{
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "routes:\n"
                              "  - {path: /x, methods: [POST, GET], chain: [a]}\n"
                              "  - {path: /x, methods: [PUT], chain: [a]}\n"
                              "  - {path: /y, methods: [PATCH], chain: [a]}\n");
    h_resp_t r = h_request (h_port (), "DELETE", "/x", NULL);
    S_ASSERT_STATUS (r, 405);
    cr_assert_str_eq (h_header (&r, "Allow"), "GET, POST, PUT");
    r = h_request (h_port (), "GET", "/y", NULL);
    S_ASSERT_STATUS (r, 405);
    cr_assert_str_eq (h_header (&r, "Allow"), "PATCH");
    h_stop_all ();
}

Test (gateway, in_flight_cap_answers_503_with_retry_after_at_once)
{
    h_fn ("s", "sleep", "BATON_TEST_SLEEP_MS=600");
    h_gateway (S_GATEWAY_HEAD "  max_inflight: 1\n"
                              "functions:\n"
                              "  s: {endpoints: [ipc://@D/s]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [s]}\n");
    s_warm ("GET", "/x");
    h_conn_t *first = h_connect (h_port ());
    h_send_str (first, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq (h_metric_wait ("baton_inflight_requests", 1, H_WAIT_MS), 1);
    uint64_t t0 = h_mono_ms ();
    h_resp_t r = h_request (h_port (), "GET", "/x", NULL);
    uint64_t took = h_mono_ms () - t0;
    S_ASSERT_STATUS (r, 503);
    cr_assert_not_null (h_header (&r, "Retry-After"));
    cr_assert_lt (took, 400, "the 503 took %llu ms: it waited for the slow request",
                  (unsigned long long) took);
    cr_assert (!h_readable (first, 0), "the first request finished before the 503 came");
    r = h_read (first, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "|s");
    //  The cap frees up with the reply.
    r = h_request (h_port (), "GET", "/x", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_eq (h_metric ("baton_rejects_total{reason=\"overload\"}"), 1);
    h_stop_all ();
}

Test (gateway, unreachable_first_hop_gives_503_naming_the_function_quickly)
{
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  ghost: {endpoints: [ipc://@D/ghost]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [ghost]}\n");
    uint64_t t0 = h_mono_ms ();
    s_curl_t r = s_curl ("/x", "hello", NULL);
    uint64_t took = h_mono_ms () - t0;
    S_ASSERT_STATUS (r, 503);
    cr_assert_not_null (strstr (r.body, "ghost"), "503 does not name the function: %s", r.body);
    cr_assert_not_null (s_curl_header (&r, "Retry-After"));
    //  A replica that never took a message gets 1 s (its handshake may be
    //  under way), then 503; a second request fails after 100 ms. Bounds are
    //  for correctness, with room for a loaded machine.
    cr_assert_lt (took, 2000, "the first 503 took %llu ms", (unsigned long long) took);
    t0 = h_mono_ms ();
    r = s_curl ("/x", "hello", NULL);
    took = h_mono_ms () - t0;
    S_ASSERT_STATUS (r, 503);
    cr_assert_lt (took, 1000, "the second 503 took %llu ms", (unsigned long long) took);
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    h_stop_all ();
}

//  --- clients that leave ----------------------------------------------------------------------

Test (gateway, client_gone_while_pending_leaves_the_gateway_healthy)
{
    h_fn ("quiet", "silent", NULL);
    h_fn ("a", "append", NULL);
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  quiet: {endpoints: [ipc://@D/quiet]}\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "routes:\n"
                              "  - {path: /hang, chain: [quiet], deadline: 300ms}\n"
                              "  - {path: /x, chain: [a]}\n");
    s_warm ("GET", "/x");
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "POST /hang HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    cr_assert_eq (h_metric_wait ("baton_inflight_requests", 1, H_WAIT_MS), 1);
    h_close (c, false);
    cr_assert_eq (h_metric_wait ("baton_clients_gone_total", 1, H_WAIT_MS), 1);
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    h_resp_t r = h_request (h_admin_port (), "GET", "/-/health", NULL);
    S_ASSERT_STATUS (r, 200);
    r = h_request (h_port (), "POST", "/x", "later");
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "later|a");
    //  Past the forgotten request's deadline: no 504 for a client that is
    //  gone (its timer went with it), and the gateway still serves.
    h_sleep_ms (400);
    cr_assert_eq (h_metric ("baton_timeouts_total"), 0);
    cr_assert_eq (h_metric ("baton_clients_gone_total"), 1);
    r = h_request (h_port (), "POST", "/x", "again");
    cr_assert_str_eq (r.body, "again|a");
    h_stop_all ();
}

Test (gateway, client_reset_while_pending_is_forgotten_too)
{
    h_fn ("quiet", "silent", NULL);
    //  The warm-up's 504 has quiet probed: a probe slower than the test keeps
    //  it in rotation (a failed probe would eject it and fail the POST fast).
    h_gateway (S_GATEWAY_HEAD "  probe_timeout: 60s\n"
                              "functions:\n"
                              "  quiet: {endpoints: [ipc://@D/quiet]}\n"
                              "routes:\n"
                              "  - {path: /hang, chain: [quiet], deadline: 300ms}\n");
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq (h_metric_wait ("baton_inflight_requests", 1, H_WAIT_MS), 1);
    h_close (c, true);
    cr_assert_eq (h_metric_wait ("baton_clients_gone_total", 1, H_WAIT_MS), 1);
    cr_assert_eq (h_metric ("baton_inflight_requests"), 0);
    h_sleep_ms (400);
    cr_assert_eq (h_metric ("baton_timeouts_total"), 0);
    h_resp_t r = h_request (h_admin_port (), "GET", "/-/health", NULL);
    S_ASSERT_STATUS (r, 200);
    h_stop_all ();
}

Test (gateway, client_reset_while_its_response_is_written_does_not_kill_the_gateway)
{
    //  A response far bigger than the socket buffers, a client that reads
    //  none of it, half-closes (the gateway stops reading), then resets: the
    //  gateway's next write meets a reset socket.
    h_fn ("a", "append", NULL);
    h_gateway (S_GATEWAY_HEAD "limits: {body: 8MiB}\n"
                              "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "routes:\n"
                              "  - {path: /x, chain: [a]}\n");
    s_warm ("GET", "/x");
    size_t len = 6u << 20;
    char *req = (char *) h_alloc (len + 128);
    int n = sprintf (req, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", len);
    memset (req + n, 'z', len);
    h_conn_t *c = h_connect_rcvbuf (h_port (), 4096);
    cr_assert (h_send (c, req, (size_t) n + len));
    cr_assert (h_readable (c, H_WAIT_MS), "the response did not start");
    shutdown (c->fd, SHUT_WR);
    h_sleep_ms (100);
    h_close (c, true);
    h_sleep_ms (100);
    h_assert_alive (h_gateway_pid ());
    h_resp_t r = h_request (h_admin_port (), "GET", "/-/health", NULL);
    S_ASSERT_STATUS (r, 200);
    r = h_request (h_port (), "POST", "/x", "after");
    cr_assert_str_eq (r.body, "after|a");
    h_stop_all ();
}

//  --- shutdown ------------------------------------------------------------------------------

Test (gateway, sigterm_drains_in_flight_request_refuses_new_ones_and_exits_0)
{
    h_fn ("s", "sleep", "BATON_TEST_SLEEP_MS=500");
    pid_t gw = h_gateway (S_GATEWAY_HEAD "functions:\n"
                                         "  s: {endpoints: [ipc://@D/s]}\n"
                                         "routes:\n"
                                         "  - {path: /x, chain: [s]}\n");
    s_warm ("GET", "/x");
    int port = h_port (), admin = h_admin_port ();
    h_conn_t *c = h_connect (port);
    h_send_str (c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\ninflight");
    cr_assert_eq (h_metric_wait ("baton_inflight_requests", 1, H_WAIT_MS), 1);
    //  A keep-alive admin connection opened before the signal.
    h_conn_t *probe = h_connect (admin);
    h_send_str (probe, "GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n");
    h_resp_t r;
    r = h_read (probe, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    uint64_t t0 = h_mono_ms ();
    kill (gw, SIGTERM);
    //  The listener closes at once: new connections are refused.
    h_conn_t *late = NULL;
    do {
        late = h_try_connect (port);
        if (late) {
            h_close (late, false);
            h_sleep_ms (5);
        }
    } while (late && h_mono_ms () - t0 < 1000);
    cr_assert_null (late, "new connections still accepted 1 s after SIGTERM");
    cr_assert (!h_readable (c, 0), "the in-flight request ended before the check");
    //  While draining, readiness says so.
    h_conn_t *ready = h_connect (admin);
    h_send_str (ready, "GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n");
    r = h_read (ready, 1000);
    cr_assert_eq (r.status, 503, "/-/ready while draining: %d", r.status);
    //  The in-flight request still completes.
    r = h_read (c, H_WAIT_MS);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "inflight|s");
    cr_assert_str_eq (h_header (&r, "Connection"), "close");
    int status = h_wait (gw, H_WAIT_MS);
    cr_assert_neq (status, -1, "the gateway did not exit after draining");
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "gateway exit status %d; log:\n%s",
               status, h_read_file ("gateway.log"));
    h_stop_all ();
}

//  --- admin ---------------------------------------------------------------------------------

Test (gateway, admin_health_and_ready_answer_200)
{
    h_gateway (S_GATEWAY_HEAD S_CFG_ALONE_ROUTES);
    h_resp_t r = h_request (h_admin_port (), "GET", "/-/health", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "ok\n");
    r = h_request (h_admin_port (), "GET", "/-/ready", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "ready\n");
    r = h_request (h_admin_port (), "POST", "/-/health", "x");
    S_ASSERT_STATUS (r, 405);
    cr_assert_str_eq (h_header (&r, "Allow"), "GET, HEAD");
    h_stop_all ();
}

Test (gateway, admin_routes_lists_the_routes_as_json)
{
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "  b: {endpoints: [ipc://@D/b]}\n"
                              "routes:\n"
                              "  - {path: /x, methods: [GET, POST], chain: [a, b], deadline: 3s}\n"
                              "  - {path: /static/*, chain: [b]}\n");
    h_resp_t r = h_request (h_admin_port (), "GET", "/-/routes", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (h_header (&r, "Content-Type"), "application/json");
    json_error_t jerr;
    json_t *doc = json_loads (r.body, 0, &jerr);
    cr_assert_not_null (doc, "not JSON (%s): %s", jerr.text, r.body);
    char *got = json_dumps (json_object_get (doc, "routes"), JSON_COMPACT);
    json_decref (doc);
    char *copy = got ? (char *) h_alloc (strlen (got) + 1) : NULL;
    if (got)
        strcpy (copy, got);
    free (got);
    cr_assert_str_eq (copy,
                      "[{\"path\":\"/x\",\"methods\":[\"GET\",\"POST\"],\"chain\":[\"a\",\"b\"],"
                      "\"deadline_ms\":3000},"
                      "{\"path\":\"/static/*\",\"methods\":[],\"chain\":[\"b\"],"
                      "\"deadline_ms\":2000}]");
    h_stop_all ();
}

Test (gateway, admin_metrics_count_requests_by_route_and_status)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    static const char ok[] = "baton_requests_total{route=\"/x\",status=\"200\"}";
    cr_assert_leq (h_metric (ok), 0, "a count before any request");
    s_warm ("GET", "/x");
    cr_assert_eq (h_metric (ok), 1);
    h_resp_t r = h_request (h_port (), "GET", "/x", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_eq (h_metric (ok), 2);
    r = h_request (h_port (), "POST", "/x", "b");
    S_ASSERT_STATUS (r, 200);
    cr_assert_eq (h_metric (ok), 3);
    r = h_request (h_port (), "PUT", "/x", NULL);
    S_ASSERT_STATUS (r, 405);
    cr_assert_eq (h_metric ("baton_rejects_total{reason=\"method\"}"), 1);
    cr_assert_eq (h_metric ("baton_hop_duration_seconds_count{function=\"a\"}"), 3);
    //  Every answer on the route is timed, the warm-up's 503s included.
    double warm_503 = h_metric ("baton_requests_total{route=\"/x\",status=\"503\"}");
    cr_assert_eq (h_metric ("baton_request_duration_seconds_count{route=\"/x\"}"),
                  3 + (warm_503 > 0 ? warm_503 : 0));
    h_stop_all ();
}

Test (gateway, admin_endpoints_live_on_the_admin_port_only)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_CFG_ONE);
    h_resp_t r = h_request (h_port (), "GET", "/-/health", NULL);
    cr_assert_eq (r.status, 404, "the public port answered /-/health with %d", r.status);
    r = h_request (h_port (), "GET", "/-/metrics", NULL);
    S_ASSERT_STATUS (r, 404);
    r = h_request (h_admin_port (), "GET", "/x", NULL);
    cr_assert_eq (r.status, 404, "the admin port served a route");
    h_stop_all ();
}

Test (gateway, public_dash_path_goes_to_its_chain_when_routed)
{
    h_fn ("a", "append", NULL);
    h_gateway (S_GATEWAY_HEAD "functions:\n"
                              "  a: {endpoints: [ipc://@D/a]}\n"
                              "routes:\n"
                              "  - {path: /-/health, chain: [a]}\n");
    s_warm ("GET", "/-/health");
    h_resp_t r = h_request (h_port (), "GET", "/-/health", NULL);
    S_ASSERT_STATUS (r, 200);
    cr_assert_str_eq (r.body, "|a");
    r = h_request (h_admin_port (), "GET", "/-/health", NULL);
    cr_assert_str_eq (r.body, "ok\n");
    h_stop_all ();
}

//  --- baton check ---------------------------------------------------------------------------

Test (gateway, check_prints_the_route_table_and_exits_0_for_a_good_file)
{
    const char *path = h_write_file ("good.yaml", S_CFG_THREE);
    const char *argv[] = {BATON_CLI_PATH, "check", "-c", path, NULL};
    char *out, *err;
    int code = h_run (argv, &out, &err);
    cr_assert_eq (code, 0, "exit %d; stderr: %s", code, err);
    char want[300];
    snprintf (want, sizeof want, "%s: ok, 1 route, 3 functions\n", path);
    cr_assert_eq (strncmp (out, want, strlen (want)), 0, "first line; output:\n%s", out);
    cr_assert (s_matches (out, "GET,POST +/x +a -> up -> c +deadline 2s \\(default\\)"),
               "no route line:\n%s", out);
    cr_assert_str_eq (err, "");
}

Test (gateway, check_reports_file_and_line_and_exits_1_for_a_bad_file)
{
    const char *path = h_write_file ("bad.yaml", "functions:\n"
                                                 "  a: {endpoints: [ipc://@D/a]}\n"
                                                 "routes:\n"
                                                 "  - path: /x\n"
                                                 "    chain: [a, nobody]\n");
    const char *argv[] = {BATON_CLI_PATH, "check", "-c", path, NULL};
    char *out, *err;
    int code = h_run (argv, &out, &err);
    cr_assert_eq (code, 1, "exit %d; stdout: %s", code, out);
    char want[300];
    snprintf (want, sizeof want, "%s:5:", path);
    cr_assert_eq (strncmp (err, want, strlen (want)), 0, "stderr does not start with %s: %s", want,
                  err);
    cr_assert_not_null (strstr (err, "nobody"), "the error does not name the problem: %s", err);
    cr_assert_str_eq (out, "");
}
