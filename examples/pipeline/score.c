/*  score.c - the pipeline's scoring hop: reads the order enrich computed and
 *  sends a large one (a total of SCORE_REVIEW_OVER or more, default 100)
 *  through the route's review branch, any other through ok. The gateway
 *  sealed both: this hop can take one of them, nothing else.  */
#include <baton/baton.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static int
s_score (baton_ctx_t *ctx, void *arg)
{
    double over = *(const double *) arg;
    baton_slice_t body = baton_ctx_body (ctx);
    json_t *order = json_loadb (body.ptr, body.len, 0, NULL);
    json_t *total = json_object_get (order, "total");
    if (!json_is_number (total)) {
        json_decref (order);
        return baton_ctx_fail (ctx, 502, "the order from the previous hop has no total");
    }
    const char *branch = json_number_value (total) >= over ? "review" : "ok";
    json_decref (order);
    int rc = baton_ctx_branch (ctx, branch);
    if (rc != 0) {
        char why[128];
        snprintf (why, sizeof why,
                  "cannot take the branch %s: %s (is score before the route's "
                  "{branch: {ok: ..., review: ...}}?)",
                  branch, baton_errname (rc));
        return baton_ctx_fail (ctx, 502, why);
    }
    return baton_ctx_next (ctx);
}

int
main (void)
{
    const char *env = getenv ("SCORE_REVIEW_OVER");
    double over = env && *env ? strtod (env, NULL) : 100.0;
    return baton_main (s_score, &over);
}
