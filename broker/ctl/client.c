/*  client.c - one request to a gateway's admin listener (see client.h).  */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl/client.h"

typedef struct {
    baton__ctl_answer_t *answer;
    size_t cap;
    bool too_long;
} s_sink_t;

static void *
s_realloc (void *p, size_t size)
{
    p = realloc (p, size);
    if (!p)
        abort ();
    return p;
}

static size_t
s_on_body (char *data, size_t size, size_t nmemb, void *arg)
{
    s_sink_t *sink = (s_sink_t *) arg;
    baton__ctl_answer_t *a = sink->answer;
    size_t n = size * nmemb;
    if (n > BATON_CTL_MAX_ANSWER - a->len) {
        sink->too_long = true;
        return 0; //  libcurl stops with CURLE_WRITE_ERROR
    }
    if (a->len + n + 1 > sink->cap) {
        sink->cap = (a->len + n + 1) * 2;
        a->body = (char *) s_realloc (a->body, sink->cap);
    }
    memcpy (a->body + a->len, data, n);
    a->len += n;
    a->body[a->len] = '\0';
    return n;
}

void
baton__ctl_client_init (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

int
baton__ctl_request (const char *base, const char *method, const char *path, const char *token,
                    const char *form, uint64_t timeout_ms, baton__ctl_answer_t *out, char *err,
                    size_t errlen)
{
    memset (out, 0, sizeof *out);
    out->body = (char *) s_realloc (NULL, 1);
    out->body[0] = '\0';
    s_sink_t sink = {out, 1, false};
    char *url = baton__ctl_path (base, "", path);
    char *auth = NULL;
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    CURL *h = curl_easy_init ();
    if (!h)
        abort ();
    curl_easy_setopt (h, CURLOPT_URL, url);
    curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (h, CURLOPT_PROXY, ""); //  an admin listener is never behind $http_proxy
    curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt (h, CURLOPT_USERAGENT, "baton-ctl");
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp (method, "HEAD"))
        curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
    if (form) {
        curl_easy_setopt (h, CURLOPT_POSTFIELDS, form);
        headers = curl_slist_append (headers, "Content-Type: application/x-www-form-urlencoded");
    } else if (!strcmp (method, "POST")) {
        curl_easy_setopt (h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (token) {
        size_t n = strlen (token) + 32;
        auth = (char *) s_realloc (NULL, n);
        snprintf (auth, n, "Authorization: Bearer %s", token);
        headers = curl_slist_append (headers, auth);
    }
    headers = curl_slist_append (headers, "Expect:"); //  no 100-continue round trip
    curl_easy_setopt (h, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform (h);
    int result = 0;
    if (rc != CURLE_OK) {
        if (sink.too_long)
            snprintf (err, errlen, "%s: the answer is longer than %u bytes", url,
                      BATON_CTL_MAX_ANSWER);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf (err, errlen, "%s: no answer within %llu ms (--timeout gives it longer)", url,
                      (unsigned long long) timeout_ms);
        else
            snprintf (err, errlen, "%s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror (rc));
        result = -1;
    } else {
        char *ct = NULL;
        curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_getinfo (h, CURLINFO_CONTENT_TYPE, &ct);
        snprintf (out->content_type, sizeof out->content_type, "%s", ct ? ct : "");
    }
    curl_slist_free_all (headers);
    curl_easy_cleanup (h);
    if (auth) {
        memset (auth, 0, strlen (auth));
        free (auth);
    }
    free (url);
    if (result < 0)
        baton__ctl_answer_free (out);
    return result;
}

void
baton__ctl_answer_free (baton__ctl_answer_t *answer)
{
    free (answer->body);
    answer->body = NULL;
    answer->len = 0;
}

//  --- encoding ------------------------------------------------------------------------------

//  Appends s percent-encoded (all but RFC 3986's unreserved characters) to
//  out at *len; out has room for 3 * strlen (s) more bytes.
static void
s_escape (char *out, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            out[(*len)++] = (char) *p;
        else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[*p >> 4];
            out[(*len)++] = hex[*p & 15];
        }
    }
    out[*len] = '\0';
}

char *
baton__ctl_form (const char *const *pairs, size_t count)
{
    size_t cap = 1;
    for (size_t i = 0; i + 1 < count; i += 2)
        if (pairs[i + 1])
            cap += 3 * (strlen (pairs[i]) + strlen (pairs[i + 1])) + 2;
    char *out = (char *) s_realloc (NULL, cap);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i + 1 < count; i += 2) {
        if (!pairs[i + 1])
            continue;
        if (len)
            out[len++] = '&';
        s_escape (out, &len, pairs[i]);
        out[len++] = '=';
        s_escape (out, &len, pairs[i + 1]);
    }
    return out;
}

char *
baton__ctl_path (const char *prefix, const char *s, const char *suffix)
{
    size_t cap = strlen (prefix) + 3 * strlen (s) + strlen (suffix) + 1;
    char *out = (char *) s_realloc (NULL, cap);
    size_t len = strlen (prefix);
    memcpy (out, prefix, len + 1);
    s_escape (out, &len, s);
    memcpy (out + len, suffix, strlen (suffix) + 1);
    return out;
}
