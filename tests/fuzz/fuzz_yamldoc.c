/*  fuzz_yamldoc.c - libFuzzer target for the YAML reader and, behind it, the
 *  gateway's schema. A tree the reader accepts must hold to the limits it was
 *  given; a refusal, by either, must name the file in its message.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "config/yamldoc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Small limits reach every limit check with small inputs.
static const baton_yamldoc_limits_t s_limits = {
    .max_file = 1 << 16, .max_depth = 6, .max_items = 16, .max_nodes = 256, .max_string = 64};

//  Checks node, a container depth containers deep, and all below it; returns
//  how many nodes that is. Recurses at most s_limits.max_depth times.
static size_t
s_check (const baton_yamldoc_node_t *node, size_t depth)
{
    if (node->line == 0 || node->column == 0)
        abort ();
    if (node->kind == BATON_YAMLDOC_SCALAR) {
        if (!node->str || node->str[node->len] != '\0' || node->len > s_limits.max_string ||
            node->first || node->count)
            abort ();
        for (size_t i = 0; i < node->len; i++)
            if ((unsigned char) node->str[i] < 0x20 || node->str[i] == 0x7f)
                abort (); //  control characters are refused
        return 1;
    }
    if (depth >= s_limits.max_depth || node->null)
        abort ();
    bool map = node->kind == BATON_YAMLDOC_MAPPING;
    size_t n = 0, total = 1;
    for (const baton_yamldoc_node_t *child = node->first; child; child = child->next, n++) {
        if (map && n % 2 == 0 && child->kind != BATON_YAMLDOC_SCALAR)
            abort (); //  a key that is not a string
        total += s_check (child, depth + 1);
    }
    if (n != node->count || n > (map ? 2 : 1) * s_limits.max_items || (map && n % 2))
        abort ();
    return total;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[BATON_CONFIG_MAX_ERROR];
    const char *text = (const char *) data;
    baton_yamldoc_t *doc = baton_yamldoc_parse (text, size, "f.yaml", &s_limits, err, sizeof err);
    if (doc) {
        const baton_yamldoc_node_t *root = baton_yamldoc_root (doc);
        if (root && s_check (root, 0) > s_limits.max_nodes)
            abort ();
        baton_yamldoc_destroy (&doc);
    } else if (strncmp (err, "f.yaml:", 7) != 0)
        abort ();

    baton_config_t *cfg = baton_config_parse (text, size, "f.yaml", err, sizeof err);
    if (!cfg && strncmp (err, "f.yaml:", 7) != 0)
        abort ();
    baton_config_destroy (&cfg);
    return 0;
}
