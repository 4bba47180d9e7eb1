/*  fn_conformance.c - libbaton's conformance function: the behaviours the
 *  language-neutral suite (tests/conformance/conformance.py) drives every SDK
 *  through, chosen per request by the x-conformance header. Each SDK ships
 *  one that behaves exactly like this; the list is in tests/conformance/README.md.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <baton/baton.h>

//  Handler calls so far, for the cases that check a handler did not run.
static unsigned long s_calls;

//  Copies request header name into buf (NUL-terminated, cut to fit);
//  returns buf, or dflt if the header is absent.
static const char *
s_header (baton_ctx_t *ctx, const char *name, char *buf, size_t cap, const char *dflt)
{
    baton_slice_t v;
    if (!baton_ctx_request_header_find (ctx, name, &v))
        return dflt;
    snprintf (buf, cap, "%.*s", (int) v.len, v.ptr);
    return buf;
}

static void
s_put_slice (baton_ctx_t *ctx, const char *name, baton_slice_t v)
{
    char buf[1024];
    snprintf (buf, sizeof buf, "%.*s", (int) v.len, v.ptr);
    baton_ctx_set_header (ctx, name, buf);
}

static void
s_put_num (baton_ctx_t *ctx, const char *name, unsigned long long n)
{
    char buf[32];
    snprintf (buf, sizeof buf, "%llu", n);
    baton_ctx_set_header (ctx, name, buf);
}

//  What the handler sees, written into the message headers.
static int
s_info (baton_ctx_t *ctx)
{
    baton_slice_t v;
    s_put_slice (ctx, "x-method", baton_ctx_method (ctx));
    s_put_slice (ctx, "x-target", baton_ctx_target (ctx));
    s_put_slice (ctx, "x-path", baton_ctx_path (ctx));
    s_put_slice (ctx, "x-query", baton_ctx_query (ctx));
    s_put_slice (ctx, "x-hop", baton_ctx_hop_name (ctx));
    s_put_num (ctx, "x-index", baton_ctx_hop_index (ctx));
    s_put_num (ctx, "x-count", baton_ctx_hop_count (ctx));
    s_put_num (ctx, "x-request-headers", baton_ctx_request_header_count (ctx));
    s_put_slice (ctx, "x-id", baton_envelope_id (baton_ctx_envelope (ctx)));
    if (baton_ctx_request_header_find (ctx, "X-TAG", &v))
        s_put_slice (ctx, "x-first-tag", v);
    if (baton_ctx_meta_get (ctx, "user", &v))
        s_put_slice (ctx, "x-meta-user", v);
    int64_t left = baton_ctx_deadline_left_ms (ctx);
    baton_ctx_set_header (ctx, "x-deadline",
                          left == BATON_NO_DEADLINE ? "none"
                          : left > 0                ? "future"
                                                    : "past");
    return baton_ctx_next (ctx);
}

static int
s_mutate (baton_ctx_t *ctx)
{
    baton_ctx_set_status (ctx, 201);
    baton_ctx_set_header (ctx, "X-Mutated", "yes");
    baton_ctx_add_header (ctx, "X-Multi", "a");
    baton_ctx_add_header (ctx, "X-Multi", "b");
    baton_ctx_remove_header (ctx, "x-remove-me");
    baton_ctx_set_body_str (ctx, "mutated");
    baton_ctx_meta_set (ctx, "from-fn", "conf", 4);
    baton_ctx_meta_remove (ctx, "drop-me");
    return baton_ctx_next (ctx);
}

//  Endings refused: an invalid status leaves the hop open; a second ending
//  leaves the first standing.
static int
s_endings (baton_ctx_t *ctx)
{
    int invalid = baton_ctx_reply (ctx, 99);
    baton_ctx_next (ctx);
    int second = baton_ctx_reply (ctx, 201);
    baton_ctx_set_header (ctx, "x-invalid", invalid ? "refused" : "accepted");
    baton_ctx_set_header (ctx, "x-second", second ? "refused" : "accepted");
    return 0;
}

static int
s_conformance (baton_ctx_t *ctx, void *arg)
{
    char buf[256], num[32];
    const char *dflt = (const char *) arg;
    const char *what = s_header (ctx, "x-conformance", buf, sizeof buf, dflt);
    unsigned status = (unsigned) atoi (s_header (ctx, "x-status", num, sizeof num, "0"));
    s_calls++;
    if (!strcmp (what, "count")) {
        s_put_num (ctx, "x-calls", s_calls);
        return baton_ctx_next (ctx);
    }
    if (!strcmp (what, "info"))
        return s_info (ctx);
    if (!strcmp (what, "mutate"))
        return s_mutate (ctx);
    if (!strcmp (what, "endings"))
        return s_endings (ctx);
    if (!strcmp (what, "reply")) {
        baton_ctx_set_body_str (ctx, "replied");
        return baton_ctx_reply (ctx, status);
    }
    if (!strcmp (what, "fail")) {
        char reason[256];
        return baton_ctx_fail (ctx, status, s_header (ctx, "x-reason", reason, sizeof reason, ""));
    }
    if (!strcmp (what, "branch")) {
        char name[64];
        if (baton_ctx_branch (ctx, s_header (ctx, "x-branch", name, sizeof name, "")) != 0)
            return baton_ctx_fail (ctx, 400, "branch refused");
        return baton_ctx_next (ctx);
    }
    if (!strcmp (what, "error"))
        return -1; //  the handler's own failure: 502 "handler returned -1"
    if (!strcmp (what, "sleep")) {
        long ms = atol (s_header (ctx, "x-sleep-ms", num, sizeof num, "0"));
        struct timespec ts = {0, 0};
        ms = ms < 0 ? 0 : ms > 5000 ? 5000 : ms;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        while (nanosleep (&ts, &ts) != 0) {
        }
    }
    return baton_ctx_next (ctx); //  "echo", "sleep" and anything else
}

int
main (void)
{
    const char *dflt = getenv ("BATON_CONFORMANCE");
    return baton_main (s_conformance, (void *) (dflt && *dflt ? dflt : "echo"));
}
