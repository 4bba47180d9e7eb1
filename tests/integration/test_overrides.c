/*  test_overrides.c - the admin API's overrides, drains and token, end to
 *  end: a real gateway and fn_test replicas, the admin API driven with
 *  libcurl as curl --data-urlencode drives it, data requests over raw
 *  HTTP/1.1. fn_test appends "|<hop>" to the body and names its replica in
 *  X-Replica, so every response says which chain and replica served it.  */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "harness.h"

TestSuite (overrides, .init = h_setup, .fini = h_teardown, .timeout = 60);

#define S_TOKEN "s3cret-admin-token-0123456789"

//  Function a has two static replicas (a0, a1); dbg and b one each.
static const char *s_yaml = "gateway:\n"
                            "  listen: 127.0.0.1:0\n"
                            "  admin: 127.0.0.1:0\n"
                            "  reply: ipc://@D/reply\n"
                            "%s"
                            "functions:\n"
                            "  a:\n"
                            "    endpoints: [ipc://@D/a0, ipc://@D/a1]\n"
                            "  dbg:\n"
                            "    endpoints: [ipc://@D/dbg]\n"
                            "  b:\n"
                            "    endpoints: [ipc://@D/b0]\n"
                            "routes:\n"
                            "  - path: /x\n"
                            "    chain: [a]\n"
                            "  - path: /y\n"
                            "    chain: [b]\n";

//  Starts the replicas (mode for a's) and a gateway, with a token file
//  unless token is false.
static void
s_start (const char *mode, bool token)
{
    const char *env_a[] = {"BATON_TEST_FUNCTION=a", "BATON_TEST_SLEEP_MS=300", NULL};
    h_fn_env ("a0", mode, env_a);
    h_fn_env ("a1", mode, env_a);
    h_fn ("dbg", "append", NULL);
    h_fn ("b0", "append", "BATON_TEST_FUNCTION=b");
    char *yaml = (char *) h_alloc (strlen (s_yaml) + 128);
    if (token)
        h_write_file ("token", S_TOKEN "\n");
    sprintf (yaml, s_yaml, token ? "  admin_token_file: @D/token\n" : "");
    h_gateway (yaml);
}

//  --- the admin API through libcurl -------------------------------------------------

typedef struct {
    long status;
    char body[16384];
    size_t len;
    char www_auth[128];
    char ctype[128];
} s_resp_t;

static size_t
s_on_body (char *data, size_t size, size_t n, void *arg)
{
    s_resp_t *r = (s_resp_t *) arg;
    size_t len = size * n, room = sizeof r->body - 1 - r->len;
    memcpy (r->body + r->len, data, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static size_t
s_on_header (char *data, size_t size, size_t n, void *arg)
{
    s_resp_t *r = (s_resp_t *) arg;
    size_t len = size * n;
    if (len > 18 && strncasecmp (data, "WWW-Authenticate: ", 18) == 0)
        snprintf (r->www_auth, sizeof r->www_auth, "%.*s", (int) (len - 20), data + 18);
    if (len > 14 && strncasecmp (data, "Content-Type: ", 14) == 0)
        snprintf (r->ctype, sizeof r->ctype, "%.*s", (int) (len - 16), data + 14);
    return len;
}

//  method on the admin listener's path with the form (NULL: no body) and
//  the bearer token (NULL: none).
static s_resp_t
s_admin (const char *method, const char *path, const char *form, const char *token)
{
    s_resp_t r;
    memset (&r, 0, sizeof r);
    CURL *curl = curl_easy_init ();
    char url[512], auth[256];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", h_admin_port (), path);
    struct curl_slist *headers = NULL;
    if (token) {
        snprintf (auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append (headers, auth);
    }
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    if (form)
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) H_WAIT_MS);
    CURLcode rc = curl_easy_perform (curl);
    cr_assert_eq (rc, CURLE_OK, "%s %s: %s\n%s", method, path, curl_easy_strerror (rc), h_logs ());
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    return r;
}

//  A form of NULL-terminated name, value pairs, each value escaped as
//  curl --data-urlencode does (h_alloc'd).
static const char *
s_form (const char *name, ...)
{
    char *out = (char *) h_alloc (4096);
    out[0] = '\0';
    va_list ap;
    va_start (ap, name);
    CURL *curl = curl_easy_init ();
    for (const char *n = name; n; n = va_arg (ap, const char *)) {
        char *v = curl_easy_escape (curl, va_arg (ap, const char *), 0);
        snprintf (out + strlen (out), 4096 - strlen (out), "%s%s=%s", out[0] ? "&" : "", n, v);
        curl_free (v);
    }
    curl_easy_cleanup (curl);
    va_end (ap);
    return out;
}

//  POSTs an override with the token; asserts 201 and returns its body.
static const char *
s_override (const char *form)
{
    s_resp_t r = s_admin ("POST", "/-/overrides", form, S_TOKEN);
    cr_assert_eq (r.status, 201, "%s -> %ld %s", form, r.status, r.body);
    cr_assert_str_eq (r.ctype, "application/json");
    char *copy = (char *) h_alloc (r.len + 1);
    memcpy (copy, r.body, r.len + 1);
    return copy;
}

//  --- data requests -------------------------------------------------------------------

//  GET path on c; returns the response (asserting one came).
static h_resp_t
s_get (h_conn_t *c, const char *path)
{
    char req[256];
    snprintf (req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    cr_assert (h_send_str (c, req));
    return h_read (c, H_WAIT_MS);
}

//  Which replica served r: its endpoint's last path part, or "-".
static const char *
s_replica (const h_resp_t *r)
{
    const char *rep = h_header (r, "X-Replica");
    const char *slash = rep ? strrchr (rep, '/') : NULL;
    return slash ? slash + 1 : "-";
}

static const char *
s_endpoint (const char *name)
{
    char *ep = (char *) h_alloc (256);
    snprintf (ep, 256, "ipc://%s/%s", h_dir (), name);
    return ep;
}

//  /-/replicas/<endpoint of name, percent-encoded>/verb
static const char *
s_replica_path (const char *name, const char *verb)
{
    CURL *curl = curl_easy_init ();
    char *id = curl_easy_escape (curl, s_endpoint (name), 0);
    char *path = (char *) h_alloc (512);
    snprintf (path, 512, "/-/replicas/%s/%s", id, verb);
    curl_free (id);
    curl_easy_cleanup (curl);
    return path;
}

//  --- the tests ---------------------------------------------------------------------------

Test (overrides, a_chain_override_changes_responses_and_expires_on_its_own)
{
    s_start ("append", true);
    h_conn_t *c = h_connect (h_port ());
    cr_assert_str_eq (s_get (c, "/x").body, "|a");
    const char *o =
        s_override (s_form ("kind", "chain", "route", "/x", "chain", "dbg,a,b", "ttl", "1s", NULL));
    cr_assert (strstr (o, "\"id\":\"o1\",\"kind\":\"chain\",\"route\":\"/x\","
                          "\"chain\":[\"dbg\",\"a\",\"b\"],\"ttl_ms\":1000"),
               "%s", o);
    cr_assert (strstr (o, "\"created_by\":\"127.0.0.1:"), "%s", o);
    cr_assert_str_eq (s_get (c, "/x").body, "|dbg|a|b");
    cr_assert_str_eq (s_get (c, "/y").body, "|b", "another route keeps its chain");
    s_resp_t list = s_admin ("GET", "/-/overrides", NULL, NULL);
    cr_assert_eq (list.status, 200);
    cr_assert (strstr (list.body, "\"id\":\"o1\""), "%s", list.body);
    //  Nobody asks: it ends on its own within a second of its ttl.
    h_sleep_ms (1000 + 1100);
    cr_assert_str_eq (s_admin ("GET", "/-/overrides", NULL, NULL).body, "{\"overrides\":[]}\n");
    cr_assert_str_eq (s_get (c, "/x").body, "|a");
    const char *log = h_read_file ("gateway.log");
    cr_assert (strstr (log, "msg=audit peer=127.0.0.1:") &&
                   strstr (log, "action=override.add target=o1 before=- after=\"o1 chain "
                                "route=/x chain=dbg,a,b ttl=1s\""),
               "%s", log);
    cr_assert (strstr (log, "msg=\"override expired\""), "%s", log);
    h_close (c, false);
    h_stop_all ();
}

Test (overrides, a_fail_override_answers_with_its_status_and_body_until_deleted)
{
    s_start ("append", true);
    s_override (s_form ("kind", "fail", "route", "/x", "status", "503", "body",
                        "down for maintenance\n", NULL));
    h_conn_t *c = h_connect (h_port ());
    h_resp_t r = s_get (c, "/x");
    cr_assert_eq (r.status, 503);
    cr_assert_str_eq (r.body, "down for maintenance\n");
    cr_assert_str_eq (h_header (&r, "Content-Type"), "text/plain; charset=utf-8");
    cr_assert_eq (s_get (c, "/y").status, 200);
    cr_assert_eq (h_metric ("baton_requests_total{route=\"/x\",status=\"503\"}"), 1);
    s_resp_t d = s_admin ("DELETE", "/-/overrides/o1", NULL, S_TOKEN);
    cr_assert_eq (d.status, 200);
    cr_assert_str_eq (d.body, "{\"removed\":\"o1\"}\n");
    cr_assert_eq (s_get (c, "/x").status, 200);
    cr_assert_eq (s_admin ("DELETE", "/-/overrides/o1", NULL, S_TOKEN).status, 404);
    h_close (c, false);
    h_stop_all ();
}

Test (overrides, pins_and_weights_steer_the_replicas)
{
    s_start ("append", true);
    h_conn_t *c = h_connect (h_port ());
    s_override (s_form ("kind", "pin", "function", "a", "replicas", s_endpoint ("a1"), NULL));
    for (int i = 0; i < 20; i++) {
        h_resp_t r = s_get (c, "/x");
        cr_assert_str_eq (s_replica (&r), "a1", "request %d", i);
    }
    cr_assert_eq (s_admin ("DELETE", "/-/overrides/o1", NULL, S_TOKEN).status, 200);
    char weights[600];
    snprintf (weights, sizeof weights, "%s:0,%s:1000", s_endpoint ("a1"), s_endpoint ("a0"));
    s_override (s_form ("kind", "weight", "function", "a", "weights", weights, NULL));
    for (int i = 0; i < 20; i++) {
        h_resp_t r = s_get (c, "/x");
        cr_assert_str_eq (s_replica (&r), "a0", "request %d", i);
    }
    s_resp_t topo = s_admin ("GET", "/-/topology", NULL, NULL);
    cr_assert (strstr (topo.body, "\"weight\":1000"), "%s", topo.body);
    cr_assert_eq (s_admin ("DELETE", "/-/overrides/o2", NULL, S_TOKEN).status, 200);
    int a0 = 0, a1 = 0;
    for (int i = 0; i < 20; i++) {
        h_resp_t r = s_get (c, "/x");
        a0 += strcmp (s_replica (&r), "a0") == 0;
        a1 += strcmp (s_replica (&r), "a1") == 0;
    }
    cr_assert (a0 > 0 && a1 > 0, "both back: a0 %d, a1 %d", a0, a1);
    h_close (c, false);
    h_stop_all ();
}

Test (overrides, a_drain_lets_outstanding_requests_finish_and_takes_no_new_one)
{
    s_start ("sleep", true); //  300 ms a request
    //  Both replicas serve first: just after the gateway starts, a replica
    //  whose connection is still in its handshake is passed over for the
    //  other, and on a loaded machine all six below could go to a1.
    h_conn_t *warm = h_connect (h_port ());
    bool served0 = false, served1 = false;
    uint64_t end = h_mono_ms () + H_WAIT_MS;
    while (!(served0 && served1) && h_mono_ms () < end) {
        h_resp_t r = s_get (warm, "/x");
        served0 = served0 || strcmp (s_replica (&r), "a0") == 0;
        served1 = served1 || strcmp (s_replica (&r), "a1") == 0;
    }
    h_close (warm, false);
    cr_assert (served0 && served1, "a0 served: %d, a1 served: %d", served0, served1);
    enum { N = 6 };
    h_conn_t *conns[N];
    for (int i = 0; i < N; i++) {
        conns[i] = h_connect (h_port ());
        cr_assert (h_send_str (conns[i], "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    //  All in flight, spread over a0 and a1 (each takes 300 ms, one at a time).
    cr_assert_eq (h_metric_wait ("baton_inflight_requests", N, 5000), N);
    s_resp_t d = s_admin ("POST", s_replica_path ("a0", "drain"), NULL, S_TOKEN);
    cr_assert_eq (d.status, 200, "%s", d.body);
    cr_assert (strstr (d.body, "\"state\":\"draining\",\"drained_by\":\"admin\""), "%s", d.body);
    cr_assert (strstr (d.body, "\"outstanding\":") && !strstr (d.body, "\"outstanding\":0,"),
               "requests were in flight at a0: %s", d.body);
    int a0 = 0;
    for (int i = 0; i < N; i++) {
        h_resp_t r = h_read (conns[i], H_WAIT_MS);
        cr_assert_eq (r.status, 200, "request %d: %d %s", i, r.status, r.body);
        a0 += strcmp (s_replica (&r), "a0") == 0;
    }
    cr_assert_gt (a0, 0, "a0 finished what it held");
    for (int i = 0; i < 6; i++) {
        h_resp_t r = s_get (conns[0], "/x");
        cr_assert_eq (r.status, 200);
        cr_assert_str_eq (s_replica (&r), "a1", "request %d after the drain", i);
    }
    s_resp_t topo = s_admin ("GET", "/-/topology", NULL, NULL);
    cr_assert (strstr (topo.body, "\"state\":\"draining\",\"drained_by\":\"admin\""), "%s",
               topo.body);
    s_resp_t u = s_admin ("POST", s_replica_path ("a0", "undrain"), NULL, S_TOKEN);
    cr_assert_eq (u.status, 200, "%s", u.body);
    cr_assert (strstr (u.body, "\"state\":\"alive\",\"drained_by\":null"), "%s", u.body);
    //  Two at once: least outstanding puts one on each.
    cr_assert (h_send_str (conns[0], "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    cr_assert (h_send_str (conns[1], "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    h_resp_t r0 = h_read (conns[0], H_WAIT_MS), r1 = h_read (conns[1], H_WAIT_MS);
    cr_assert (strcmp (s_replica (&r0), "a0") == 0 || strcmp (s_replica (&r1), "a0") == 0,
               "a0 is back: %s %s", s_replica (&r0), s_replica (&r1));
    cr_assert_eq (s_admin ("POST", "/-/replicas/nope/drain", NULL, S_TOKEN).status, 404);
    const char *log = h_read_file ("gateway.log");
    cr_assert (strstr (log, "action=replica.drain") && strstr (log, "before=alive after=draining"),
               "%s", log);
    for (int i = 0; i < N; i++)
        h_close (conns[i], false);
    h_stop_all ();
}

Test (overrides, mutations_need_the_token_and_refusals_are_logged)
{
    s_start ("append", true);
    const char *form = s_form ("kind", "fail", "route", "/x", "status", "503", NULL);
    s_resp_t r = s_admin ("POST", "/-/overrides", form, NULL);
    cr_assert_eq (r.status, 401);
    cr_assert_str_eq (r.www_auth, "Bearer realm=\"baton-admin\"");
    cr_assert_str_eq (r.ctype, "application/problem+json");
    cr_assert (strstr (r.body, "\"status\":401"), "%s", r.body);
    cr_assert_eq (s_admin ("POST", "/-/overrides", form, "not-the-token-at-all").status, 401);
    cr_assert_eq (s_admin ("POST", "/-/reload", NULL, "x").status, 401);
    cr_assert_eq (s_admin ("DELETE", "/-/overrides/o1", NULL, NULL).status, 401);
    cr_assert_eq (s_admin ("POST", s_replica_path ("a0", "drain"), NULL, NULL).status, 401);
    //  Nothing changed; reads stay open.
    cr_assert_str_eq (s_admin ("GET", "/-/overrides", NULL, NULL).body, "{\"overrides\":[]}\n");
    cr_assert_eq (s_admin ("GET", "/-/topology", NULL, NULL).status, 200);
    //  Bad forms and methods.
    s_resp_t bad =
        s_admin ("POST", "/-/overrides", "kind=fail&route=/x&status=503&colour=red", S_TOKEN);
    cr_assert_eq (bad.status, 400);
    cr_assert (strstr (bad.body, "colour: not a field of a fail override"), "%s", bad.body);
    cr_assert_eq (s_admin ("POST", "/-/overrides", "kind=fail&kind=pin", S_TOKEN).status, 400);
    cr_assert_eq (s_admin ("PUT", "/-/overrides", NULL, S_TOKEN).status, 405);
    cr_assert_eq (s_admin ("GET", "/-/reload", NULL, S_TOKEN).status, 405);
    const char *log = h_read_file ("gateway.log");
    cr_assert (strstr (log, "msg=\"admin mutation refused\" peer=127.0.0.1:") &&
                   strstr (log, "reason=no_token") && strstr (log, "reason=wrong_token"),
               "%s", log);
    cr_assert_null (strstr (log, "msg=audit"), "%s", log);
    h_stop_all ();
}

Test (overrides, without_a_token_file_mutations_are_forbidden)
{
    s_start ("append", false);
    s_resp_t r = s_admin ("POST", "/-/overrides",
                          s_form ("kind", "fail", "route", "/x", "status", "503", NULL), S_TOKEN);
    cr_assert_eq (r.status, 403);
    cr_assert (strstr (r.body, "gateway.admin_token_file"), "%s", r.body);
    cr_assert_eq (s_admin ("GET", "/-/overrides", NULL, NULL).status, 200);
    h_stop_all ();
}
