/*  test_branches.c - sealed branches end to end (issue 19, item 4): a real
 *  gateway with a mesh key and fn_test hops that have it. A hop takes the
 *  branch a request names; a stand-in hop over real ZeroMQ that changes the
 *  route, the budget or reply_to is refused by the next hop, naming it.  */
#include <baton/baton.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "harness.h"
#include "hop_send.h"

TestSuite (branches, .init = h_setup, .fini = h_teardown, .timeout = 90);

//  /orders: score picks a branch (fn_test's branch mode); /tampered: score
//  is played by the test itself.
static const char *s_yaml =
    "gateway:\n"
    "  listen: 127.0.0.1:0\n"
    "  admin: 127.0.0.1:0\n"
    "  reply: ipc://@D/reply\n"
    "  control: ipc://@D/control\n"
    "security:\n"
    "  mode: insecure\n"
    "  mesh_key: @D/mesh.key\n"
    "functions:\n"
    "  a: {endpoints: [ipc://@D/a]}\n"
    "  score: {endpoints: [ipc://@D/score]}\n"
    "  fraud: {endpoints: [ipc://@D/fraud]}\n"
    "  render: {endpoints: [ipc://@D/render]}\n"
    "  standin: {endpoints: [ipc://@D/standin]}\n"
    "routes:\n"
    "  - path: /orders\n"
    "    chain: [a, score, {branch: {ok: [render], review: [fraud, render]}}]\n"
    "  - path: /tampered\n"
    "    chain: [a, standin, render]\n";

//  Makes the mesh key, then starts the gateway and every hop but the
//  stand-in, each with the key.
static void
s_start (void)
{
    const char *argv[] = {BATON_CLI_PATH, "keys", "mesh", h_path ("mesh.key"), NULL};
    cr_assert_eq (h_run (argv, NULL, NULL), 0, "baton keys mesh");
    char *key_env = (char *) h_alloc (300);
    snprintf (key_env, 300, "BATON_MESH_KEY=%s", h_path ("mesh.key"));
    const char *env[] = {key_env, NULL};
    h_fn_env ("a", "append", env);
    h_fn_env ("score", "branch", env);
    h_fn_env ("fraud", "append", env);
    h_fn_env ("render", "append", env);
    h_gateway (s_yaml);
}

//  POSTs body to path with X-Branch: branch (NULL: none) on a new connection.
static h_resp_t
s_post (const char *path, const char *branch, const char *body)
{
    h_conn_t *c = h_connect (h_port ());
    char req[512];
    snprintf (req, sizeof req,
              "POST %s HTTP/1.1\r\nHost: t\r\n%s%s%sContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n%s",
              path, branch ? "X-Branch: " : "", branch ? branch : "", branch ? "\r\n" : "",
              strlen (body), body);
    cr_assert (h_send_str (c, req));
    h_resp_t r = h_read (c, H_WAIT_MS);
    h_close (c, false);
    return r;
}

Test (branches, a_branch_taken_runs_its_hops)
{
    s_start ();
    h_resp_t r = s_post ("/orders", "review", "order");
    cr_assert_eq (r.status, 200, "%s\n%s", r.body, h_logs ());
    cr_assert_str_eq (r.body, "order|a|score|fraud|render");
    r = s_post ("/orders", "ok", "order");
    cr_assert_eq (r.status, 200, "%s\n%s", r.body, h_logs ());
    cr_assert_str_eq (r.body, "order|a|score|render");
    //  No branch taken: the chain ends at score.
    r = s_post ("/orders", NULL, "order");
    cr_assert_eq (r.status, 200, "%s\n%s", r.body, h_logs ());
    cr_assert_str_eq (r.body, "order|a|score");
    //  Only a branch the gateway put there.
    r = s_post ("/orders", "elsewhere", "order");
    cr_assert_eq (r.status, 400, "%s\n%s", r.body, h_logs ());
    cr_assert (strstr (r.body, "BATON_EINVAL"), "%s", r.body);
    h_stop_all ();
    //  baton check shows the branches, and that routes are sealed.
    const char *argv[] = {BATON_CLI_PATH, "check", "-c", h_path ("gateway.yaml"), NULL};
    char *out = NULL;
    cr_assert_eq (h_run (argv, &out, NULL), 0, "%s", out);
    cr_assert (strstr (out, "a -> score -> {ok: render | review: fraud -> render}"), "%s", out);
    cr_assert (strstr (out, "seal: routes are sealed with the mesh key in "), "%s", out);
}

//  What the stand-in changes before it forwards.
typedef enum { S_ROUTE, S_BUDGET, S_REPLY_TO } s_tamper_t;

//  Plays the hop "standin" on its inbox for one request: answers probes as
//  a hop does, then changes the request's envelope as tamper says, takes its
//  step (record entry, index, budget) and forwards it to the next hop.
static void
s_standin (void *pull, void *zctx, s_tamper_t tamper)
{
    for (;;) {
        baton_envelope_t *env = h_hop_recv (pull);
        cr_assert_not_null (env, "stand-in got nothing\n%s", h_logs ());
        bool probe = baton_envelope_oam (env) & BATON_OAM_PROBE;
        if (!probe) {
            if (tamper == S_ROUTE)
                baton_envelope_route_append (env, "a", 1, h_path ("a"), strlen (h_path ("a")));
            else if (tamper == S_BUDGET)
                baton_envelope_set_budget (env, baton_envelope_budget (env) + 1);
        }
        cr_assert_eq (baton_envelope_advance (env, 1, 2), 0);
        baton_slice_t to = baton_envelope_reply_to (env);
        char ep[300];
        if (baton_envelope_route_done (env))
            snprintf (ep, sizeof ep, "%.*s", (int) to.len, to.ptr);
        else {
            baton_hop_t next = baton_envelope_route_hop (env, baton_envelope_index (env));
            snprintf (ep, sizeof ep, "%.*s", (int) next.endpoint.len, next.endpoint.ptr);
        }
        if (!probe && tamper == S_REPLY_TO) {
            char evil[300];
            snprintf (evil, sizeof evil, "ipc://%s/evil", h_dir ());
            baton_envelope_set_reply_to (env, evil, strlen (evil));
        }
        h_hop_send (zctx, ep, &env);
        if (!probe)
            return;
    }
}

//  Sends a request through the stand-in that tampers, and returns the
//  answer: from the gateway, or (tamper S_REPLY_TO) the envelope that reached
//  the reply-to the stand-in wrote, decoded.
static baton_envelope_t *
s_tampered (s_tamper_t tamper, h_resp_t *resp)
{
    void *zctx = zmq_ctx_new ();
    void *pull = h_hop_inbox (zctx, "standin", H_WAIT_MS);
    void *evil = h_hop_inbox (zctx, "evil", H_WAIT_MS);
    s_start ();
    h_conn_t *c = h_connect (h_port ());
    cr_assert (h_send_str (c, "POST /tampered HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                              "Connection: close\r\n\r\norder"));
    s_standin (pull, zctx, tamper);
    baton_envelope_t *got = NULL;
    if (tamper == S_REPLY_TO) {
        got = h_hop_recv (evil);
        cr_assert_not_null (got, "nothing at the new reply-to\n%s", h_logs ());
    } else
        *resp = h_read (c, H_WAIT_MS);
    h_close (c, true);
    zmq_close (pull);
    zmq_close (evil);
    zmq_ctx_term (zctx);
    return got;
}

//  Asserts that resp is render's 502 naming the stand-in.
static void
s_assert_refused (h_resp_t r)
{
    cr_assert_eq (r.status, 502, "%s\n%s", r.body, h_logs ());
    cr_assert (strstr (r.body, "\"standin\""), "the hop that broke the seal: %s", r.body);
    cr_assert (strstr (r.body, "seal does not match"), "%s", r.body);
    cr_assert (strstr (r.body, "before hop render"), "%s", r.body);
}

Test (branches, a_route_changed_is_refused_by_the_next_hop)
{
    h_resp_t r;
    s_tampered (S_ROUTE, &r);
    s_assert_refused (r);
    h_stop_all ();
}

Test (branches, a_budget_changed_is_refused_by_the_next_hop)
{
    h_resp_t r;
    s_tampered (S_BUDGET, &r);
    s_assert_refused (r);
    h_stop_all ();
}

Test (branches, a_reply_to_changed_is_refused_by_the_next_hop)
{
    h_resp_t r;
    baton_envelope_t *env = s_tampered (S_REPLY_TO, &r);
    cr_assert (baton_envelope_has_error (env));
    cr_assert_eq (baton_envelope_error_code (env), 502);
    baton_slice_t hop = baton_envelope_error_hop (env);
    cr_assert (baton_slice_eq_str (hop, "standin"), "%.*s", (int) hop.len, hop.ptr);
    baton_envelope_destroy (&env);
    h_stop_all ();
}
