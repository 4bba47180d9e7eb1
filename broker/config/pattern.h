/*  pattern.h - the syntax of a route's path pattern ("/orders/{id}",
 *  "/static/" + "*"): checking one, splitting it into segments, and telling
 *  when two patterns match the same paths. The rules are in docs/gateway.md;
 *  the configuration checks patterns with it, the route table splits them.  */
#ifndef BATON_PATTERN_H
#define BATON_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATON_PATTERN_MAX_LEN      1024 //  bytes in a pattern
#define BATON_PATTERN_MAX_SEGMENTS 32   //  segments in a pattern, "*" included
#define BATON_PATTERN_MAX_PARAMS   16   //  {params} in a pattern

//  One segment: a literal, or a {param}. off and len locate the literal, or
//  the param's name without its braces, in the pattern.
typedef struct {
    uint16_t off;
    uint16_t len;
    bool param;
} baton_pattern_segment_t;

//  A pattern split into segments; a plain value, it points into nothing.
typedef struct {
    bool prefix;  //  the pattern ends in "/*": it matches any rest of a path
    size_t count; //  segments before a final "*"
    baton_pattern_segment_t segment[BATON_PATTERN_MAX_SEGMENTS];
} baton_pattern_t;

//  Checks the len bytes of pattern and, when out is not NULL, splits them
//  into *out. Returns 0, or -1 with the reason written into why (whylen
//  bytes, NUL-terminated when whylen > 0). Never reads past len.
int baton_pattern_parse (const char *pattern, size_t len, baton_pattern_t *out, char *why,
                         size_t whylen);

//  True if the valid, NUL-terminated patterns a and b match the same paths:
//  they differ at most in the names of their {params}.
bool baton_pattern_same (const char *a, const char *b);

//  A hash of a valid, NUL-terminated pattern, the same for any two patterns
//  that baton_pattern_same () calls the same.
uint64_t baton_pattern_hash (const char *pattern);

#endif
