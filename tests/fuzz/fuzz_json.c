/*  fuzz_json.c - libFuzzer target for the JSON reader of `baton ctl` and the
 *  tables made of what it accepts. A tree it accepts must hold to the limits
 *  it was given; every string must be valid UTF-8; a refusal says where.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl/json.h"
#include "ctl/render.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Small limits reach every limit check with small inputs.
static const baton_jsonr_limits_t s_limits = {
    .max_size = 1 << 16, .max_depth = 12, .max_nodes = 512, .max_string = 64};

static void
s_check_utf8 (const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        if ((unsigned char) s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = baton_jsonr_utf8_len (s + i, len - i);
        if (k == 0)
            abort ();
        i += k;
    }
    if (s[len] != '\0')
        abort ();
}

//  Checks v, depth containers deep, and all below it; returns how many
//  values that is. Recurses at most s_limits.max_depth times.
static size_t
s_check (const baton_jsonr_value_t *v, size_t depth)
{
    if (v->key) {
        if (v->key_len > s_limits.max_string)
            abort ();
        s_check_utf8 (v->key, v->key_len);
    }
    if (v->type == BATON_JSONR_STRING || v->type == BATON_JSONR_NUMBER) {
        if (!v->str || v->len > s_limits.max_string || v->first)
            abort ();
        s_check_utf8 (v->str, v->len);
        return 1;
    }
    if (v->type != BATON_JSONR_ARRAY && v->type != BATON_JSONR_OBJECT)
        return 1;
    if (depth >= s_limits.max_depth)
        abort ();
    size_t n = 0, total = 1;
    for (const baton_jsonr_value_t *c = v->first; c; c = c->next, n++) {
        if ((v->type == BATON_JSONR_OBJECT) != (c->key != NULL))
            abort ();
        total += s_check (c, depth + 1);
    }
    if (n != v->count)
        abort ();
    return total;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[256];
    baton_jsonr_t *doc = baton_jsonr_parse ((const char *) data, size, &s_limits, err, sizeof err);
    if (!doc) {
        if (strncmp (err, "at byte ", 8) != 0)
            abort ();
        return 0;
    }
    const baton_jsonr_value_t *root = baton_jsonr_root (doc);
    if (!root || s_check (root, 0) > s_limits.max_nodes)
        abort ();
    //  Whatever the shape, the tables print or refuse; never crash.
    FILE *null = fopen ("/dev/null", "w");
    if (null) {
        baton__ctl_render_routes (null, root);
        baton__ctl_render_topology (null, root);
        baton__ctl_render_config (null, root);
        baton__ctl_render_overrides (null, root);
        baton__ctl_render_override (null, "added", root);
        baton__ctl_render_replica (null, "draining", root);
        baton__ctl_render_reload (null, root);
        baton__ctl_status_t st = {"http://x", true, true, root, root, root};
        baton__ctl_render_status (null, &st);
        fclose (null);
    }
    baton_jsonr_destroy (&doc);
    return 0;
}
