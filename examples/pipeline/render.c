/*  render.c - the pipeline's last hop: turns the order enrich computed into
 *  the response. HTML by default; the JSON itself when the client prefers it
 *  (Accept: application/json ranked above text/html).  */
#include <baton/baton.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  A growing string; aborts when out of memory (an example keeps it short).
typedef struct {
    char *data;
    size_t len, cap;
} text_t;

static void
s_put (text_t *t, const char *s, size_t n)
{
    if (t->cap - t->len < n + 1) {
        size_t cap = (t->cap ? t->cap * 2 : 1024) + n;
        t->data = realloc (t->data, cap);
        if (!t->data)
            abort ();
        t->cap = cap;
    }
    memcpy (t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void
s_puts (text_t *t, const char *s)
{
    s_put (t, s, strlen (s));
}

//  s with & < > " ' escaped for HTML text and attributes.
static void
s_put_html (text_t *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        switch (s[i]) {
        case '&':
            s_puts (t, "&amp;");
            break;
        case '<':
            s_puts (t, "&lt;");
            break;
        case '>':
            s_puts (t, "&gt;");
            break;
        case '"':
            s_puts (t, "&quot;");
            break;
        case '\'':
            s_puts (t, "&#39;");
            break;
        default:
            s_put (t, s + i, 1);
        }
}

static void
s_put_money (text_t *t, json_t *v)
{
    long long cents = llround (json_number_value (v) * 100.0);
    char buf[48];
    snprintf (buf, sizeof buf, "%lld.%02lld", cents / 100, cents % 100);
    s_puts (t, buf);
}

//  The q value Accept gives to type/subtype: that of the most specific range
//  that matches (type/subtype, then type/*, then */*), or 0 if none does.
static double
s_accept_q (const char *accept, const char *type, const char *subtype)
{
    int best = -1;
    double q = 0;
    char copy[1024];
    snprintf (copy, sizeof copy, "%s", accept);
    char *save = NULL;
    for (char *range = strtok_r (copy, ",", &save); range; range = strtok_r (NULL, ",", &save)) {
        char *params = strchr (range, ';');
        if (params)
            *params++ = '\0';
        char *media = range + strspn (range, " \t");
        media[strcspn (media, " \t")] = '\0';
        char *slash = strchr (media, '/');
        if (!slash)
            continue;
        *slash = '\0';
        const char *t = media, *st = slash + 1;
        int spec = !strcasecmp (t, type) && !strcasecmp (st, subtype) ? 2
                   : !strcasecmp (t, type) && !strcmp (st, "*")       ? 1
                   : !strcmp (t, "*") && !strcmp (st, "*")            ? 0
                                                                      : -1;
        if (spec <= best)
            continue;
        best = spec;
        q = 1;
        for (char *p = params; p && *p; p = strchr (p, ';') ? strchr (p, ';') + 1 : NULL) {
            p += strspn (p, " \t");
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                q = strtod (p + 2, NULL);
        }
    }
    return best < 0 ? 0 : q;
}

static bool
s_wants_json (baton_ctx_t *ctx)
{
    baton_slice_t v;
    if (!baton_ctx_request_header_find (ctx, "accept", &v))
        return false;
    char accept[1024];
    snprintf (accept, sizeof accept, "%.*s", (int) (v.len < 1023 ? v.len : 1023), v.ptr);
    return s_accept_q (accept, "application", "json") > s_accept_q (accept, "text", "html");
}

static void
s_html (text_t *t, json_t *order)
{
    const char *id = json_string_value (json_object_get (order, "order"));
    const char *user = json_string_value (json_object_get (order, "user"));
    json_t *items = json_object_get (order, "items");
    s_puts (t, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Order ");
    s_put_html (t, id ? id : "", id ? strlen (id) : 0);
    s_puts (t, "</title></head>\n<body>\n<h1>Order ");
    s_put_html (t, id ? id : "", id ? strlen (id) : 0);
    s_puts (t, "</h1>\n<p>for ");
    s_put_html (t, user ? user : "", user ? strlen (user) : 0);
    s_puts (t, "</p>\n<table>\n<tr><th>item</th><th>qty</th><th>price</th><th>total</th></tr>\n");
    for (size_t i = 0; i < json_array_size (items); i++) {
        json_t *it = json_array_get (items, i);
        const char *sku = json_string_value (json_object_get (it, "sku"));
        char qty[32];
        snprintf (qty, sizeof qty, "%lld",
                  (long long) json_integer_value (json_object_get (it, "qty")));
        s_puts (t, "<tr><td>");
        s_put_html (t, sku ? sku : "", sku ? strlen (sku) : 0);
        s_puts (t, "</td><td>");
        s_puts (t, qty);
        s_puts (t, "</td><td>");
        s_put_money (t, json_object_get (it, "price"));
        s_puts (t, "</td><td>");
        s_put_money (t, json_object_get (it, "line_total"));
        s_puts (t, "</td></tr>\n");
    }
    char count[32];
    snprintf (count, sizeof count, "%lld",
              (long long) json_integer_value (json_object_get (order, "item_count")));
    s_puts (t, "</table>\n<p><strong>");
    s_puts (t, count);
    s_puts (t, " items, total ");
    s_put_money (t, json_object_get (order, "total"));
    s_puts (t, "</strong></p>\n");
    //  Set by review, on the branch score sends large orders through.
    const char *held =
        json_string_value (json_object_get (json_object_get (order, "review"), "reason"));
    if (held) {
        s_puts (t, "<p>");
        s_put_html (t, held, strlen (held));
        s_puts (t, "</p>\n");
    }
    s_puts (t, "</body></html>\n");
}

static int
s_render (baton_ctx_t *ctx, void *arg)
{
    (void) arg;
    baton_slice_t body = baton_ctx_body (ctx);
    json_t *order = json_loadb (body.ptr, body.len, 0, NULL);
    if (!json_is_object (order) || !json_is_array (json_object_get (order, "items"))) {
        json_decref (order);
        return baton_ctx_fail (ctx, 502, "the order from the previous hop is not readable");
    }
    text_t t = {NULL, 0, 0};
    if (s_wants_json (ctx)) {
        char *json = json_dumps (order, JSON_COMPACT | JSON_REAL_PRECISION (15));
        if (json)
            s_puts (&t, json);
        s_puts (&t, "\n");
        free (json);
        baton_ctx_set_header (ctx, "Content-Type", "application/json");
    } else {
        s_html (&t, order);
        baton_ctx_set_header (ctx, "Content-Type", "text/html; charset=utf-8");
    }
    baton_ctx_set_header (ctx, "Vary", "Accept");
    int rc = baton_ctx_set_body (ctx, t.data, t.len);
    free (t.data);
    json_decref (order);
    if (rc < 0)
        return rc;
    baton_ctx_set_status (ctx, 200);
    return baton_ctx_next (ctx);
}

int
main (void)
{
    return baton_main (s_render, NULL);
}
