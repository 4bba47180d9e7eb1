/*  review.c - the pipeline's review hop, on the branch score sends large
 *  orders through: holds the order for a person to look at. It adds
 *  "review": {"status": "pending", "reason": ...} to the order, which render
 *  then shows.  */
#include <baton/baton.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static int
s_review (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    baton_slice_t body = baton_ctx_body (ctx);
    json_t *order = json_loadb (body.ptr, body.len, 0, NULL);
    json_t *total = json_object_get (order, "total");
    if (!json_is_object (order) || !json_is_number (total)) {
        json_decref (order);
        return baton_ctx_fail (ctx, 502, "the order from the previous hop has no total");
    }
    char reason[96];
    snprintf (reason, sizeof reason, "a total of %.2f is held for review",
              json_number_value (total));
    json_object_set_new (order, "review",
                         json_pack ("{s:s, s:s}", "status", "pending", "reason", reason));
    char *text = json_dumps (order, JSON_COMPACT | JSON_REAL_PRECISION (15));
    json_decref (order);
    if (!text)
        return baton_ctx_fail (ctx, 500, "cannot write the order");
    int rc = baton_ctx_set_body_str (ctx, text);
    free (text);
    return rc < 0 ? rc : baton_ctx_next (ctx);
}

int
main (void)
{
    return baton_main (s_review, NULL);
}
