/*  test_intent.c - classification by intent end to end (issue 19): a real
 *  "baton gateway" and fn_test functions, requests over libcurl (and one raw
 *  absolute-form request). Beside a plain path route, a header-matched, a
 *  host-matched and a query-matched route of the same path pattern; each
 *  function appends its name to the body, so the body names who served.  */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite (intent, .init = s_init, .fini = s_fini, .timeout = 60);

#define S_CFG                                                                                      \
    "gateway:\n"                                                                                   \
    "  listen: 127.0.0.1:0\n"                                                                      \
    "  admin: 127.0.0.1:0\n"                                                                       \
    "  reply: ipc://@D/reply\n"                                                                    \
    "  deadline: 2s\n"                                                                             \
    "functions:\n"                                                                                 \
    "  path: {endpoints: [ipc://@D/path]}\n"                                                       \
    "  intent: {endpoints: [ipc://@D/intent]}\n"                                                   \
    "  host: {endpoints: [ipc://@D/host]}\n"                                                       \
    "  query: {endpoints: [ipc://@D/query]}\n"                                                     \
    "routes:\n"                                                                                    \
    "  - {path: '/orders/{id}', methods: [GET], chain: [path]}\n"                                  \
    "  - path: '/orders/{id}'\n"                                                                   \
    "    methods: [GET]\n"                                                                         \
    "    match: {headers: {x-intent: [checkout, quote]}}\n"                                        \
    "    chain: [intent]\n"                                                                        \
    "  - path: '/orders/{id}'\n"                                                                   \
    "    methods: [GET]\n"                                                                         \
    "    match: {host: api.example.com}\n"                                                         \
    "    chain: [host]\n"                                                                          \
    "  - path: '/orders/{id}'\n"                                                                   \
    "    methods: [GET]\n"                                                                         \
    "    match: {host: api.example.com, query: {v: '2'}}\n"                                        \
    "    chain: [query]\n"

static void
s_start (void)
{
    h_fn ("path", "append", NULL);
    h_fn ("intent", "append", NULL);
    h_fn ("host", "append", NULL);
    h_fn ("query", "append", NULL);
    h_gateway (S_CFG);
}

static size_t
s_on_data (char *data, size_t size, size_t n, void *arg)
{
    char *body = (char *) arg;
    size_t have = strlen (body), add = size * n;
    if (have + add >= 256)
        add = 255 - have;
    memcpy (body + have, data, add);
    body[have + add] = '\0';
    return size * n;
}

//  GETs target with the header lines given (NULL-terminated, may be NULL);
//  returns the status and copies the body into body (256 bytes).
static long
s_get (const char *target, const char *const *headers, char *body)
{
    char url[512];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", h_port (), target);
    body[0] = '\0';
    CURL *h = curl_easy_init ();
    cr_assert_not_null (h);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append (list, headers[i]);
    curl_easy_setopt (h, CURLOPT_URL, url);
    curl_easy_setopt (h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, (long) H_WAIT_MS);
    curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform (h);
    long status = 0;
    curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all (list);
    curl_easy_cleanup (h);
    cr_assert_eq (rc, CURLE_OK, "%s: %s\n%s", target, curl_easy_strerror (rc), h_logs ());
    return status;
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

//  Asserts that GET target with headers is served by function want.
static void
s_served_by (const char *target, const char *const *headers, const char *want)
{
    char body[256], tail[80];
    long status = s_get (target, headers, body);
    cr_assert_eq (status, 200, "%s: %ld %s\n%s", target, status, body, h_logs ());
    snprintf (tail, sizeof tail, "|%s", want);
    size_t n = strlen (body), t = strlen (tail);
    cr_assert (n >= t && !strcmp (body + n - t, tail), "%s: served by \"%s\", want %s", target,
               body, want);
}

Test (intent, header_and_host_matched_routes_beside_a_path_route)
{
    s_start ();
    s_served_by ("/orders/1", NULL, "path");
    s_served_by ("/orders/1", H ("X-Intent: quote"), "intent");
    s_served_by ("/orders/1", H ("x-intent: checkout"), "intent");
    s_served_by ("/orders/1", H ("X-Intent: browse"), "path");
    s_served_by ("/orders/1", H ("Host: api.example.com"), "host");
    s_served_by ("/orders/1", H ("Host: API.example.com:8080"), "host");
    s_served_by ("/orders/1", H ("Host: www.example.com"), "path");
    //  Two conditions (host, query) come before one; the query is decoded.
    s_served_by ("/orders/1?v=%32", H ("Host: api.example.com"), "query");
    s_served_by ("/orders/1?v=2", H ("Host: api.example.com", "X-Intent: quote"), "query");
    s_served_by ("/orders/1?v=2", NULL, "path");
    //  Same count: file order, the header route first.
    s_served_by ("/orders/1", H ("Host: api.example.com", "X-Intent: quote"), "intent");
    char body[256];
    cr_assert_eq (s_get ("/orders/1/x", H ("X-Intent: quote"), body), 404);
    h_stop_all ();
}

Test (intent, absolute_form_classifies_by_the_targets_authority)
{
    s_start ();
    h_conn_t *c = h_connect (h_port ());
    h_send_str (c, "GET http://api.example.com/orders/9?v=2 HTTP/1.1\r\n"
                   "Host: other.example.org\r\n\r\n");
    h_resp_t r = h_read (c, H_WAIT_MS);
    cr_assert_eq (r.status, 200, "%s", r.head);
    cr_assert (strstr (r.body, "|query"), "%s", r.body);
    h_close (c, false);
    h_stop_all ();
}
