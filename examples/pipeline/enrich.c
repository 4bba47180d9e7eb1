/*  enrich.c - the pipeline's middle hop: reads the order in the body,
 *      {"items": [{"sku": "tea", "qty": 2, "price": 3.5}, ...]}
 *  checks it, and passes on the order with what it computed: each line's
 *  total, the item count, the total, the order id (the request id) and the
 *  user auth found. A body that is not such an order is answered 400 at
 *  once, with a problem+json body saying what is wrong.  */
#include <baton/baton.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 100
#define MAX_SKU   64
#define MAX_QTY   1000
#define MAX_PRICE 1000000.0

static int
s_bad (baton_ctx_t *ctx, const char *detail)
{
    json_t *p = json_pack ("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title",
                           "Bad Request", "status", 400, "detail", detail, "hop", "enrich");
    char *text = p ? json_dumps (p, JSON_COMPACT) : NULL;
    baton_ctx_set_header (ctx, "Content-Type", "application/problem+json");
    baton_ctx_set_body_str (ctx, text ? text : "{\"status\":400}");
    free (text);
    json_decref (p);
    return baton_ctx_reply (ctx, 400);
}

//  Money is counted in cents so that totals add up exactly.
static json_t *
s_money (long long cents)
{
    return json_real ((double) cents / 100.0);
}

static int
s_enrich (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    baton_slice_t body = baton_ctx_body (ctx);
    json_error_t jerr;
    json_t *order = json_loadb (body.ptr, body.len, JSON_REJECT_DUPLICATES, &jerr);
    char detail[256];
    if (!order) {
        snprintf (detail, sizeof detail, "the body is not JSON: %s (line %d, column %d)", jerr.text,
                  jerr.line, jerr.column);
        return s_bad (ctx, detail);
    }
    int rc;
    json_t *items = json_object_get (order, "items");
    size_t n = json_array_size (items);
    if (!json_is_object (order) || !json_is_array (items) || n == 0 || n > MAX_ITEMS) {
        rc = s_bad (ctx, "expected {\"items\": [{\"sku\": ..., \"qty\": ..., \"price\": ...}]} "
                         "with 1 to 100 items");
        goto out;
    }
    json_t *lines = json_array ();
    long long total = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get (items, i);
        json_t *sku = json_object_get (it, "sku");
        json_t *qty = json_object_get (it, "qty");
        json_t *price = json_object_get (it, "price");
        const char *why = NULL;
        if (!json_is_object (it))
            why = "is not an object";
        else if (!json_is_string (sku) || json_string_length (sku) == 0 ||
                 json_string_length (sku) > MAX_SKU)
            why = "needs a sku: a string of 1 to 64 bytes";
        else if (!json_is_integer (qty) || json_integer_value (qty) < 1 ||
                 json_integer_value (qty) > MAX_QTY)
            why = "needs a qty: a whole number from 1 to 1000";
        else if (!json_is_number (price) || !(json_number_value (price) >= 0) ||
                 json_number_value (price) > MAX_PRICE)
            why = "needs a price: a number from 0 to 1000000";
        if (why) {
            snprintf (detail, sizeof detail, "items[%zu] %s", i, why);
            json_decref (lines);
            rc = s_bad (ctx, detail);
            goto out;
        }
        long long cents = llround (json_number_value (price) * 100.0);
        long long q = json_integer_value (qty);
        json_array_append_new (lines, json_pack ("{s:O, s:I, s:o, s:o}", "sku", sku, "qty",
                                                 (json_int_t) q, "price", s_money (cents),
                                                 "line_total", s_money (cents * q)));
        total += cents * q;
        count += q;
    }
    baton_slice_t id = baton_envelope_id (baton_ctx_envelope (ctx));
    baton_slice_t user = {"", 0};
    baton_ctx_meta_get (ctx, "user", &user);
    json_t *out = json_pack ("{s:s%, s:s%, s:o, s:I, s:o}", "order", id.ptr, id.len, "user",
                             user.ptr, user.len, "items", lines, "item_count", (json_int_t) count,
                             "total", s_money (total));
    //  15 digits: 0.3 stays "0.3", not 0.29999999999999999.
    char *text = out ? json_dumps (out, JSON_COMPACT | JSON_REAL_PRECISION (15)) : NULL;
    json_decref (out);
    if (!text) {
        rc = baton_ctx_fail (ctx, 500, "cannot write the order");
        goto out;
    }
    baton_ctx_set_header (ctx, "Content-Type", "application/json");
    baton_ctx_set_body_str (ctx, text);
    free (text);
    rc = baton_ctx_next (ctx);
out:
    json_decref (order);
    return rc;
}

int
main (void)
{
    return baton_main (s_enrich, NULL);
}
