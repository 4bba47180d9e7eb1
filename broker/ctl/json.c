/*  json.c - the bounded JSON reader of `baton ctl` (see json.h): one pass,
 *  an explicit stack instead of recursion, values in fixed blocks so that
 *  pointers stay put, strings decoded into one buffer sized from the input.  */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl/json.h"

#define S_BLOCK 1024 //  values per allocation

const baton_jsonr_limits_t baton_jsonr_default_limits = {
    .max_size = 8u << 20, .max_depth = 32, .max_nodes = 1u << 20, .max_string = 64u << 10};

typedef struct s_block {
    struct s_block *next;
    size_t used;
    baton_jsonr_value_t v[S_BLOCK];
} s_block_t;

struct baton_json {
    s_block_t *blocks; //  newest first
    size_t nodes;
    char *strings; //  every decoded string and number text, NUL-terminated
    size_t slen, scap;
    const baton_jsonr_value_t *root;
};

typedef struct {
    baton_jsonr_value_t *node;
    baton_jsonr_value_t *last; //  its last child so far
} s_frame_t;

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    const baton_jsonr_limits_t *lim;
    baton_jsonr_t *doc;
    char *err;
    size_t errlen;
} s_parser_t;

static void *
s_alloc (size_t size)
{
    void *p = calloc (1, size);
    if (!p)
        abort ();
    return p;
}

//  Writes "at byte N: ..." into the parser's err. Returns -1.
__attribute__ ((format (printf, 2, 3))) static int
s_fail (s_parser_t *ps, const char *fmt, ...)
{
    if (ps->errlen == 0)
        return -1;
    int n = snprintf (ps->err, ps->errlen, "at byte %zu: ", ps->pos);
    if (n >= 0 && (size_t) n < ps->errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (ps->err + n, ps->errlen - (size_t) n, fmt, ap);
        va_end (ap);
    }
    return -1;
}

static void
s_ws (s_parser_t *ps)
{
    while (ps->pos < ps->len && (ps->p[ps->pos] == ' ' || ps->p[ps->pos] == '\t' ||
                                 ps->p[ps->pos] == '\n' || ps->p[ps->pos] == '\r'))
        ps->pos++;
}

static baton_jsonr_value_t *
s_new_value (s_parser_t *ps)
{
    baton_jsonr_t *doc = ps->doc;
    if (doc->nodes >= ps->lim->max_nodes) {
        s_fail (ps, "more than %zu values", ps->lim->max_nodes);
        return NULL;
    }
    if (!doc->blocks || doc->blocks->used == S_BLOCK) {
        s_block_t *b = (s_block_t *) s_alloc (sizeof *b);
        b->next = doc->blocks;
        doc->blocks = b;
    }
    doc->nodes++;
    return &doc->blocks->v[doc->blocks->used++];
}

//  --- strings -----------------------------------------------------------------------------

static int
s_hex4 (const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned) (c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned) (c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned) (c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

size_t
baton_jsonr_utf8_len (const char *str, size_t avail)
{
    const unsigned char *s = (const unsigned char *) str;
    unsigned char c = s[0];
    size_t n;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000, cp = c & 0x07u;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static size_t
s_utf8_put (char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char) (0xc0 | cp >> 6);
        out[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char) (0xe0 | cp >> 12);
        out[1] = (char) (0x80 | (cp >> 6 & 0x3f));
        out[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char) (0xf0 | cp >> 18);
    out[1] = (char) (0x80 | (cp >> 12 & 0x3f));
    out[2] = (char) (0x80 | (cp >> 6 & 0x3f));
    out[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

//  Reads the "\uXXXX" escape (one, or a surrogate pair) after the backslash
//  at ps->pos - 1 and writes its UTF-8 to out. Returns the bytes written, or
//  -1.
static int
s_unicode_escape (s_parser_t *ps, char *out)
{
    unsigned hi, lo;
    if (ps->len - ps->pos < 5 || s_hex4 (ps->p + ps->pos + 1, &hi) < 0)
        return s_fail (ps, "\\u needs four hex digits");
    ps->pos += 5;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return s_fail (ps, "a low surrogate \\u%04X without a high one before it", hi);
    if (hi < 0xd800 || hi > 0xdbff)
        return (int) s_utf8_put (out, hi);
    if (ps->len - ps->pos < 6 || ps->p[ps->pos] != '\\' || ps->p[ps->pos + 1] != 'u' ||
        s_hex4 (ps->p + ps->pos + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
        return s_fail (ps, "a high surrogate \\u%04X without a low one after it", hi);
    ps->pos += 6;
    return (int) s_utf8_put (out, 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
}

//  Reads the string that starts at ps->pos (a '"') into the document's
//  buffer and sets *out and *out_len. Returns 0 or -1.
static int
s_string (s_parser_t *ps, const char **out, size_t *out_len)
{
    baton_jsonr_t *doc = ps->doc;
    char *start = doc->strings + doc->slen;
    size_t n = 0;
    ps->pos++;
    while (true) {
        if (ps->pos >= ps->len)
            return s_fail (ps, "a string without its closing quote");
        if (n > ps->lim->max_string)
            return s_fail (ps, "a string longer than %zu bytes", ps->lim->max_string);
        unsigned char c = ps->p[ps->pos];
        if (c == '"') {
            ps->pos++;
            break;
        }
        if (c < 0x20)
            return s_fail (ps, "control character 0x%02x in a string (write it as \\u%04x)", c, c);
        if (c >= 0x80) {
            size_t k = baton_jsonr_utf8_len ((const char *) ps->p + ps->pos, ps->len - ps->pos);
            if (k == 0)
                return s_fail (ps, "bytes that are not UTF-8 in a string");
            memcpy (start + n, ps->p + ps->pos, k);
            n += k;
            ps->pos += k;
            continue;
        }
        if (c != '\\') {
            start[n++] = (char) c;
            ps->pos++;
            continue;
        }
        if (ps->pos + 1 >= ps->len)
            return s_fail (ps, "a string without its closing quote");
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        unsigned char e = ps->p[ps->pos + 1];
        const char *hit = e ? strchr (from, e) : NULL;
        if (hit) {
            start[n++] = to[hit - from];
            ps->pos += 2;
        } else if (e == 'u') {
            ps->pos++;
            int k = s_unicode_escape (ps, start + n);
            if (k < 0)
                return -1;
            n += (size_t) k;
        } else {
            ps->pos++;
            return s_fail (ps, "unknown escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
        }
    }
    if (n > ps->lim->max_string)
        return s_fail (ps, "a string longer than %zu bytes", ps->lim->max_string);
    start[n] = '\0';
    doc->slen += n + 1;
    *out = start;
    *out_len = n;
    return 0;
}

//  --- numbers and literals ------------------------------------------------------------------

static size_t
s_digits (s_parser_t *ps)
{
    size_t n = 0;
    while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9')
        ps->pos++, n++;
    return n;
}

//  -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
static int
s_number (s_parser_t *ps, baton_jsonr_value_t *v)
{
    size_t start = ps->pos;
    if (ps->p[ps->pos] == '-')
        ps->pos++;
    if (ps->pos < ps->len && ps->p[ps->pos] == '0') {
        ps->pos++;
        if (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9')
            return s_fail (ps, "a number with a leading zero");
    } else if (s_digits (ps) == 0)
        return s_fail (ps, "a number needs a digit here");
    if (ps->pos < ps->len && ps->p[ps->pos] == '.') {
        ps->pos++;
        if (s_digits (ps) == 0)
            return s_fail (ps, "a number needs a digit after its '.'");
    }
    if (ps->pos < ps->len && (ps->p[ps->pos] == 'e' || ps->p[ps->pos] == 'E')) {
        ps->pos++;
        if (ps->pos < ps->len && (ps->p[ps->pos] == '+' || ps->p[ps->pos] == '-'))
            ps->pos++;
        if (s_digits (ps) == 0)
            return s_fail (ps, "a number needs a digit in its exponent");
    }
    size_t n = ps->pos - start;
    if (n > ps->lim->max_string)
        return s_fail (ps, "a number longer than %zu bytes", ps->lim->max_string);
    char *text = ps->doc->strings + ps->doc->slen;
    memcpy (text, ps->p + start, n);
    text[n] = '\0';
    ps->doc->slen += n + 1;
    v->type = BATON_JSONR_NUMBER;
    v->str = text;
    v->len = n;
    v->num = strtod (text, NULL);
    return 0;
}

static int
s_literal (s_parser_t *ps, baton_jsonr_value_t *v)
{
    static const struct {
        const char *word;
        baton_jsonr_type_t type;
    } lits[] = {
        {"true", BATON_JSONR_TRUE}, {"false", BATON_JSONR_FALSE}, {"null", BATON_JSONR_NULL}};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        size_t n = strlen (lits[i].word);
        if (ps->len - ps->pos >= n && !memcmp (ps->p + ps->pos, lits[i].word, n)) {
            ps->pos += n;
            v->type = lits[i].type;
            return 0;
        }
    }
    return s_fail (ps, "expected a value (an object, array, string, number, true, false or null)");
}

//  --- the document ----------------------------------------------------------------------

//  Reads a whole JSON text. Returns 0 and sets doc->root, or -1.
static int
s_document (s_parser_t *ps)
{
    s_frame_t stack[BATON_JSONR_MAX_DEPTH];
    size_t depth = 0;
    while (true) {
        s_ws (ps);
        baton_jsonr_value_t *parent = depth ? stack[depth - 1].node : NULL;
        const char *key = NULL;
        size_t key_len = 0;
        if (parent && parent->type == BATON_JSONR_OBJECT) {
            if (ps->pos >= ps->len || ps->p[ps->pos] != '"')
                return s_fail (ps, "expected a member name in double quotes");
            if (s_string (ps, &key, &key_len) < 0)
                return -1;
            s_ws (ps);
            if (ps->pos >= ps->len || ps->p[ps->pos] != ':')
                return s_fail (ps, "expected ':' after a member name");
            ps->pos++;
            s_ws (ps);
        }
        if (ps->pos >= ps->len)
            return s_fail (ps, "the text ends where a value should be");
        baton_jsonr_value_t *v = s_new_value (ps);
        if (!v)
            return -1;
        v->key = key;
        v->key_len = key_len;
        if (!parent)
            ps->doc->root = v;
        else {
            if (stack[depth - 1].last)
                stack[depth - 1].last->next = v;
            else
                parent->first = v;
            stack[depth - 1].last = v;
            parent->count++;
        }
        unsigned char c = ps->p[ps->pos];
        if (c == '[' || c == '{') {
            if (depth >= ps->lim->max_depth)
                return s_fail (ps, "nested more than %zu deep", ps->lim->max_depth);
            ps->pos++;
            v->type = c == '[' ? BATON_JSONR_ARRAY : BATON_JSONR_OBJECT;
            stack[depth++] = (s_frame_t){v, NULL};
            s_ws (ps);
            if (ps->pos < ps->len && ps->p[ps->pos] == (c == '[' ? ']' : '}')) {
                ps->pos++;
                depth--;
            } else
                continue;
        } else if (c == '"') {
            v->type = BATON_JSONR_STRING;
            if (s_string (ps, &v->str, &v->len) < 0)
                return -1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (s_number (ps, v) < 0)
                return -1;
        } else if (s_literal (ps, v) < 0)
            return -1;
        //  After a value: a ',' for the next one, or the end of containers.
        while (true) {
            s_ws (ps);
            if (depth == 0) {
                if (ps->pos != ps->len)
                    return s_fail (ps, "bytes after the end of the JSON text");
                return 0;
            }
            bool array = stack[depth - 1].node->type == BATON_JSONR_ARRAY;
            if (ps->pos >= ps->len)
                return s_fail (ps, "the text ends inside an %s", array ? "array" : "object");
            c = ps->p[ps->pos];
            if (c == ',') {
                ps->pos++;
                break;
            }
            if (c != (array ? ']' : '}'))
                return s_fail (ps, "expected ',' or '%c'", array ? ']' : '}');
            ps->pos++;
            depth--;
        }
    }
}

baton_jsonr_t *
baton_jsonr_parse (const char *data, size_t len, const baton_jsonr_limits_t *limits, char *err,
                   size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (!limits)
        limits = &baton_jsonr_default_limits;
    baton_jsonr_t *self = (baton_jsonr_t *) s_alloc (sizeof *self);
    s_parser_t ps = {(const unsigned char *) data, len, 0, limits, self, err, errlen};
    baton_jsonr_limits_t lim = *limits;
    if (lim.max_depth > BATON_JSONR_MAX_DEPTH)
        lim.max_depth = BATON_JSONR_MAX_DEPTH;
    ps.lim = &lim;
    if (len > lim.max_size) {
        s_fail (&ps, "the text is %zu bytes, more than %zu", len, lim.max_size);
        goto error;
    }
    //  A string's decoded bytes and NUL never outgrow its quoted text; a
    //  number's text and NUL take one byte more than it, and numbers are
    //  separated: twice the input is room for all.
    self->scap = 2 * len + 2;
    self->strings = (char *) s_alloc (self->scap);
    if (s_document (&ps) < 0)
        goto error;
    return self;
error:
    baton_jsonr_destroy (&self);
    return NULL;
}

void
baton_jsonr_destroy (baton_jsonr_t **self_p)
{
    baton_jsonr_t *self = *self_p;
    if (!self)
        return;
    while (self->blocks) {
        s_block_t *next = self->blocks->next;
        free (self->blocks);
        self->blocks = next;
    }
    free (self->strings);
    free (self);
    *self_p = NULL;
}

const baton_jsonr_value_t *
baton_jsonr_root (const baton_jsonr_t *self)
{
    return self->root;
}

const baton_jsonr_value_t *
baton_jsonr_get (const baton_jsonr_value_t *v, const char *key)
{
    if (!v || v->type != BATON_JSONR_OBJECT)
        return NULL;
    size_t n = strlen (key);
    for (const baton_jsonr_value_t *m = v->first; m; m = m->next)
        if (m->key_len == n && !memcmp (m->key, key, n))
            return m;
    return NULL;
}

const char *
baton_jsonr_str (const baton_jsonr_value_t *v)
{
    return v && v->type == BATON_JSONR_STRING ? v->str : NULL;
}

bool
baton_jsonr_int (const baton_jsonr_value_t *v, int64_t *out)
{
    if (!v || v->type != BATON_JSONR_NUMBER || strpbrk (v->str, ".eE"))
        return false;
    errno = 0;
    long long n = strtoll (v->str, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = (int64_t) n;
    return true;
}

bool
baton_jsonr_is_true (const baton_jsonr_value_t *v)
{
    return v && v->type == BATON_JSONR_TRUE;
}

bool
baton_jsonr_is_array (const baton_jsonr_value_t *v)
{
    return v && v->type == BATON_JSONR_ARRAY;
}
