/*  render.c - tables and key-value lines of "baton ctl" (see render.h).  */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "ctl/render.h"

#define S_MAX_COLS 8

//  Members of an override that the columns ID, KIND, TARGET, EXPIRES and BY
//  show; the others make its CHANGE.
static const char *const s_override_shown[] = {"id",     "kind",   "route",         "function",
                                               "method", "ttl_ms", "expires_in_ms", "created_by"};

void
baton__ctl_put_safe (FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char) s[i];
        if (c >= 0x20 && c < 0x7f) {
            fputc (c, out);
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? baton_jsonr_utf8_len (s + i, len - i) : 0;
        //  U+0080..U+009F (C2 80..C2 9F) are C1 controls: escaped too.
        if (k > 0 && !(c == 0xc2 && (unsigned char) s[i + 1] < 0xa0)) {
            fwrite (s + i, 1, k, out);
            i += k;
        } else if (k > 0) {
            fprintf (out, "\\u%04x", (unsigned) (unsigned char) s[i + 1]);
            i += k;
        } else {
            fprintf (out, "\\x%02x", c);
            i++;
        }
    }
}

void
baton__ctl_format_ms (int64_t ms, char *buf, size_t cap)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf (buf, cap, "%" PRId64 "ms", ms);
    else if (ms < 60000)
        snprintf (buf, cap, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
    else if (ms < 3600000)
        snprintf (buf, cap, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms % 60000 / 1000);
    else
        snprintf (buf, cap, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms % 3600000 / 60000);
}

//  --- cells -------------------------------------------------------------------------------

//  A cell is text in a memory stream: open it, write, close it to a string.
typedef struct {
    char *text;
    size_t len;
    FILE *f;
} s_cell_t;

static FILE *
s_open (s_cell_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream (&c->text, &c->len);
    if (!c->f)
        abort ();
    return c->f;
}

static char *
s_close (s_cell_t *c)
{
    fclose (c->f);
    return c->text;
}

static void
s_put_str (FILE *f, const baton_jsonr_value_t *v, const char *absent)
{
    if (v && v->type == BATON_JSONR_STRING && v->len)
        baton__ctl_put_safe (f, v->str, v->len);
    else
        fputs (absent, f);
}

//  v on one line: strings as they are, arrays joined by ",", objects as
//  "key:value,...". Nested no deeper than the document (its depth limit).
static void
s_compact (FILE *f, const baton_jsonr_value_t *v)
{
    switch (v->type) {
    case BATON_JSONR_NULL:
        fputs ("null", f);
        break;
    case BATON_JSONR_FALSE:
        fputs ("false", f);
        break;
    case BATON_JSONR_TRUE:
        fputs ("true", f);
        break;
    case BATON_JSONR_NUMBER:
    case BATON_JSONR_STRING:
        baton__ctl_put_safe (f, v->str, v->len);
        break;
    case BATON_JSONR_ARRAY:
    case BATON_JSONR_OBJECT:
        for (const baton_jsonr_value_t *c = v->first; c; c = c->next) {
            if (c != v->first)
                fputc (',', f);
            if (c->key) {
                baton__ctl_put_safe (f, c->key, c->key_len);
                fputc (':', f);
            }
            s_compact (f, c);
        }
        break;
    }
}

static void
s_put_int (FILE *f, const baton_jsonr_value_t *v, const char *absent)
{
    int64_t n;
    if (baton_jsonr_int (v, &n))
        fprintf (f, "%" PRId64, n);
    else
        fputs (absent, f);
}

static void
s_put_ms (FILE *f, const baton_jsonr_value_t *v, const char *before, const char *absent)
{
    int64_t n;
    char buf[32];
    if (!baton_jsonr_int (v, &n)) {
        fputs (absent, f);
        return;
    }
    baton__ctl_format_ms (n, buf, sizeof buf);
    fprintf (f, "%s%s", before, buf);
}

//  --- tables ------------------------------------------------------------------------------

typedef struct {
    size_t cols;
    char **cells; //  row after row
    size_t n, cap;
} s_table_t;

static void
s_table_add (s_table_t *t, char *cell)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = (char **) realloc (t->cells, t->cap * sizeof *t->cells);
        if (!t->cells)
            abort ();
    }
    t->cells[t->n++] = cell;
}

static void
s_table_add_str (s_table_t *t, const char *text)
{
    s_cell_t c;
    fputs (text, s_open (&c));
    s_table_add (t, s_close (&c));
}

//  A cell of v's string, or absent when v is not a non-empty string.
static void
s_table_add_value (s_table_t *t, const baton_jsonr_value_t *v, const char *absent)
{
    s_cell_t c;
    s_put_str (s_open (&c), v, absent);
    s_table_add (t, s_close (&c));
}

//  Columns printed as wide as the widest cell (in characters), two spaces
//  apart; the last is not padded. Frees the cells.
static void
s_table_print (s_table_t *t, FILE *out)
{
    size_t width[S_MAX_COLS] = {0};
    size_t *chars = (size_t *) calloc (t->n ? t->n : 1, sizeof *chars);
    if (!chars)
        abort ();
    for (size_t i = 0; i < t->n; i++) {
        for (const char *p = t->cells[i]; *p; p++)
            chars[i] += ((unsigned char) *p & 0xc0) != 0x80;
        if (chars[i] > width[i % t->cols])
            width[i % t->cols] = chars[i];
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t col = i % t->cols;
        fputs (t->cells[i], out);
        if (col + 1 == t->cols)
            fputc ('\n', out);
        else
            fprintf (out, "%*s", (int) (width[col] - chars[i] + 2), "");
        free (t->cells[i]);
    }
    free (chars);
    free (t->cells);
}

//  --- the answers ----------------------------------------------------------------------

int
baton__ctl_render_routes (FILE *out, const baton_jsonr_value_t *root)
{
    const baton_jsonr_value_t *routes = baton_jsonr_get (root, "routes");
    if (!baton_jsonr_is_array (routes))
        return -1;
    s_table_t t = {4, NULL, 0, 0};
    static const char *const head[] = {"METHODS", "PATH", "CHAIN", "DEADLINE"};
    for (size_t i = 0; i < 4; i++)
        s_table_add_str (&t, head[i]);
    for (const baton_jsonr_value_t *r = routes->first; r; r = r->next) {
        s_cell_t c;
        const baton_jsonr_value_t *methods = baton_jsonr_get (r, "methods");
        FILE *f = s_open (&c);
        if (methods && methods->count)
            s_compact (f, methods);
        else
            fputs ("(any)", f);
        s_table_add (&t, s_close (&c));
        s_table_add_value (&t, baton_jsonr_get (r, "path"), "?");
        f = s_open (&c);
        const baton_jsonr_value_t *chain = baton_jsonr_get (r, "chain");
        for (const baton_jsonr_value_t *fn = chain ? chain->first : NULL; fn; fn = fn->next) {
            fputs (fn == chain->first ? "" : " -> ", f);
            s_put_str (f, fn, "?");
        }
        s_table_add (&t, s_close (&c));
        s_put_ms (s_open (&c), baton_jsonr_get (r, "deadline_ms"), "", "-");
        s_table_add (&t, s_close (&c));
    }
    s_table_print (&t, out);
    return 0;
}

int
baton__ctl_render_topology (FILE *out, const baton_jsonr_value_t *root)
{
    const baton_jsonr_value_t *fns = baton_jsonr_get (root, "functions");
    if (!baton_jsonr_is_array (fns))
        return -1;
    s_table_t t = {8, NULL, 0, 0};
    static const char *const head[] = {"FUNCTION",    "INSTANCE", "STATE",     "WEIGHT",
                                       "OUTSTANDING", "ROUTED",   "HEARTBEAT", "ENDPOINT"};
    for (size_t i = 0; i < 8; i++)
        s_table_add_str (&t, head[i]);
    for (const baton_jsonr_value_t *fn = fns->first; fn; fn = fn->next) {
        const baton_jsonr_value_t *reps = baton_jsonr_get (fn, "replicas");
        s_cell_t c;
        if (!reps || !reps->count) {
            s_table_add_value (&t, baton_jsonr_get (fn, "name"), "?");
            s_table_add_str (&t, "-");
            s_table_add_str (&t, "(no replica)");
            for (int i = 0; i < 5; i++)
                s_table_add_str (&t, "-");
            continue;
        }
        for (const baton_jsonr_value_t *r = reps->first; r; r = r->next) {
            s_table_add_value (&t, baton_jsonr_get (fn, "name"), "?");
            s_table_add_value (&t, baton_jsonr_get (r, "instance"), "-");
            FILE *f = s_open (&c);
            s_put_str (f, baton_jsonr_get (r, "state"), "?");
            const baton_jsonr_value_t *by = baton_jsonr_get (r, "drained_by");
            if (baton_jsonr_str (by) && by->len) {
                fputs (" (", f);
                s_put_str (f, by, "");
                fputc (')', f);
            }
            s_table_add (&t, s_close (&c));
            s_put_int (s_open (&c), baton_jsonr_get (r, "weight"), "-");
            s_table_add (&t, s_close (&c));
            s_put_int (s_open (&c), baton_jsonr_get (r, "outstanding"), "-");
            s_table_add (&t, s_close (&c));
            s_put_int (s_open (&c), baton_jsonr_get (r, "routed"), "-");
            s_table_add (&t, s_close (&c));
            const baton_jsonr_value_t *beat = baton_jsonr_get (r, "last_heartbeat_ms_ago");
            int64_t ms;
            f = s_open (&c);
            s_put_ms (f, beat, "", "-");
            if (baton_jsonr_int (beat, &ms))
                fputs (" ago", f);
            s_table_add (&t, s_close (&c));
            s_table_add_value (&t, baton_jsonr_get (r, "endpoint"), "?");
        }
    }
    s_table_print (&t, out);
    return 0;
}

int
baton__ctl_render_config (FILE *out, const baton_jsonr_value_t *root)
{
    if (!root || root->type != BATON_JSONR_OBJECT)
        return -1;
    s_table_t t = {2, NULL, 0, 0};
    static const char *const keys[] = {"generation", "sha256", "path", "loaded_at"};
    s_cell_t c;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const baton_jsonr_value_t *v = baton_jsonr_get (root, keys[i]);
        s_table_add_str (&t, keys[i]);
        FILE *f = s_open (&c);
        if (v)
            s_compact (f, v);
        else
            fputs ("-", f);
        s_table_add (&t, s_close (&c));
    }
    const baton_jsonr_value_t *reloads = baton_jsonr_get (root, "reloads");
    s_table_add_str (&t, "reloads");
    FILE *f = s_open (&c);
    for (const baton_jsonr_value_t *m = reloads ? reloads->first : NULL; m; m = m->next) {
        if (!m->key)
            continue;
        fputs (m == reloads->first ? "" : ", ", f);
        s_compact (f, m);
        fputc (' ', f);
        baton__ctl_put_safe (f, m->key, m->key_len);
    }
    if (!reloads || !reloads->first)
        fputs ("-", f);
    s_table_add (&t, s_close (&c));
    s_table_add_str (&t, "last_error");
    s_table_add_value (&t, baton_jsonr_get (root, "last_error"), "none");
    s_table_print (&t, out);
    return 0;
}

static bool
s_shown (const baton_jsonr_value_t *m)
{
    for (size_t i = 0; i < sizeof s_override_shown / sizeof s_override_shown[0]; i++)
        if (m->key_len == strlen (s_override_shown[i]) &&
            !memcmp (m->key, s_override_shown[i], m->key_len))
            return true;
    return false;
}

//  The target of override o: its route (and method) or its function.
static void
s_override_target (FILE *f, const baton_jsonr_value_t *o)
{
    const baton_jsonr_value_t *route = baton_jsonr_get (o, "route");
    s_put_str (f, route ? route : baton_jsonr_get (o, "function"), "?");
    const baton_jsonr_value_t *method = baton_jsonr_get (o, "method");
    if (baton_jsonr_str (method) && method->len) {
        fputs (" [", f);
        s_put_str (f, method, "");
        fputc (']', f);
    }
}

//  What override o changes: its members that no column shows, "k=v ...".
static void
s_override_change (FILE *f, const baton_jsonr_value_t *o)
{
    bool first = true;
    for (const baton_jsonr_value_t *m = o->first; m; m = m->next) {
        if (!m->key || s_shown (m))
            continue;
        fputs (first ? "" : " ", f);
        first = false;
        baton__ctl_put_safe (f, m->key, m->key_len);
        fputc ('=', f);
        s_compact (f, m);
    }
}

int
baton__ctl_render_overrides (FILE *out, const baton_jsonr_value_t *root)
{
    const baton_jsonr_value_t *list = baton_jsonr_get (root, "overrides");
    if (!baton_jsonr_is_array (list))
        return -1;
    if (!list->count) {
        fputs ("no override in force\n", out);
        return 0;
    }
    s_table_t t = {6, NULL, 0, 0};
    static const char *const head[] = {"ID", "KIND", "TARGET", "CHANGE", "EXPIRES", "BY"};
    for (size_t i = 0; i < 6; i++)
        s_table_add_str (&t, head[i]);
    for (const baton_jsonr_value_t *o = list->first; o; o = o->next) {
        s_cell_t c;
        s_table_add_value (&t, baton_jsonr_get (o, "id"), "?");
        s_table_add_value (&t, baton_jsonr_get (o, "kind"), "?");
        s_override_target (s_open (&c), o);
        s_table_add (&t, s_close (&c));
        s_override_change (s_open (&c), o);
        s_table_add (&t, s_close (&c));
        s_put_ms (s_open (&c), baton_jsonr_get (o, "expires_in_ms"), "in ", "-");
        s_table_add (&t, s_close (&c));
        s_table_add_value (&t, baton_jsonr_get (o, "created_by"), "-");
    }
    s_table_print (&t, out);
    return 0;
}

int
baton__ctl_render_override (FILE *out, const char *verb, const baton_jsonr_value_t *root)
{
    if (!baton_jsonr_str (baton_jsonr_get (root, "id")))
        return -1;
    fprintf (out, "%s ", verb);
    s_put_str (out, baton_jsonr_get (root, "id"), "?");
    fputs (": ", out);
    s_put_str (out, baton_jsonr_get (root, "kind"), "?");
    fputc (' ', out);
    s_override_target (out, root);
    fputc (' ', out);
    s_override_change (out, root);
    s_put_ms (out, baton_jsonr_get (root, "expires_in_ms"), ", expires in ", "");
    fputc ('\n', out);
    return 0;
}

int
baton__ctl_render_replica (FILE *out, const char *verb, const baton_jsonr_value_t *root)
{
    if (!baton_jsonr_str (baton_jsonr_get (root, "endpoint")))
        return -1;
    const baton_jsonr_value_t *instance = baton_jsonr_get (root, "instance");
    fprintf (out, "%s ", verb);
    s_put_str (out,
               baton_jsonr_str (instance) && instance->len ? instance
                                                           : baton_jsonr_get (root, "endpoint"),
               "?");
    fputs (" (", out);
    s_put_str (out, baton_jsonr_get (root, "endpoint"), "?");
    fputs (", state ", out);
    s_put_str (out, baton_jsonr_get (root, "state"), "?");
    fputs (", outstanding ", out);
    s_put_int (out, baton_jsonr_get (root, "outstanding"), "?");
    fputs (")\n", out);
    return 0;
}

int
baton__ctl_render_reload (FILE *out, const baton_jsonr_value_t *root)
{
    const baton_jsonr_value_t *gen = baton_jsonr_get (root, "generation");
    if (!gen)
        return -1;
    fputs ("reloaded: generation ", out);
    s_compact (out, gen);
    fputs (", sha256 ", out);
    s_put_str (out, baton_jsonr_get (root, "sha256"), "?");
    fputc ('\n', out);
    return 0;
}

//  "4 alive, 1 draining" for every replica of topology, and "  FN: no
//  replica alive" lines for each function without one.
static void
s_status_replicas (FILE *out, const baton_jsonr_value_t *topology)
{
    const char *states[16];
    size_t counts[16] = {0}, nstates = 0, total = 0;
    const baton_jsonr_value_t *fns = baton_jsonr_get (topology, "functions");
    for (const baton_jsonr_value_t *fn = fns ? fns->first : NULL; fn; fn = fn->next) {
        const baton_jsonr_value_t *reps = baton_jsonr_get (fn, "replicas");
        for (const baton_jsonr_value_t *r = reps ? reps->first : NULL; r; r = r->next) {
            const char *st = baton_jsonr_str (baton_jsonr_get (r, "state"));
            st = st ? st : "?";
            size_t k = 0;
            while (k < nstates && strcmp (states[k], st))
                k++;
            if (k == nstates && nstates < 16)
                states[nstates++] = st;
            counts[k < 16 ? k : 15]++;
            total++;
        }
    }
    fprintf (out, "replicas    %zu", total);
    for (size_t k = 0; k < nstates; k++) {
        fputs (k ? ", " : ": ", out);
        fprintf (out, "%zu ", counts[k]);
        baton__ctl_put_safe (out, states[k], strlen (states[k]));
    }
    fputc ('\n', out);
    for (const baton_jsonr_value_t *fn = fns ? fns->first : NULL; fn; fn = fn->next) {
        const baton_jsonr_value_t *reps = baton_jsonr_get (fn, "replicas");
        bool alive = false;
        for (const baton_jsonr_value_t *r = reps ? reps->first : NULL; r && !alive; r = r->next) {
            const char *st = baton_jsonr_str (baton_jsonr_get (r, "state"));
            alive = st && !strcmp (st, "alive");
        }
        if (!alive) {
            fputs ("            ", out);
            s_put_str (out, baton_jsonr_get (fn, "name"), "?");
            fputs (": no replica alive\n", out);
        }
    }
}

int
baton__ctl_render_status (FILE *out, const baton__ctl_status_t *st)
{
    fputs ("gateway     ", out);
    baton__ctl_put_safe (out, st->admin, strlen (st->admin));
    fprintf (out, "\nhealth      %s\nready       %s\n", st->healthy ? "ok" : "NOT OK",
             st->ready ? "yes" : "no (draining or starting)");
    if (st->config) {
        fputs ("config      generation ", out);
        s_put_int (out, baton_jsonr_get (st->config, "generation"), "?");
        fputs (", sha256 ", out);
        s_put_str (out, baton_jsonr_get (st->config, "sha256"), "?");
        fputs (", loaded ", out);
        s_put_str (out, baton_jsonr_get (st->config, "loaded_at"), "?");
        fputs ("\nreloads     ", out);
        const baton_jsonr_value_t *reloads = baton_jsonr_get (st->config, "reloads");
        for (const baton_jsonr_value_t *m = reloads ? reloads->first : NULL; m; m = m->next) {
            fputs (m == reloads->first ? "" : ", ", out);
            s_put_int (out, m, "?");
            fputc (' ', out);
            baton__ctl_put_safe (out, m->key ? m->key : "?", m->key ? m->key_len : 1);
        }
        const baton_jsonr_value_t *last = baton_jsonr_get (st->config, "last_error");
        if (baton_jsonr_str (last)) {
            fputs ("; last error: ", out);
            s_put_str (out, last, "");
        }
        fputc ('\n', out);
    } else
        fputs ("config      (this gateway has no /-/config)\n", out);
    if (st->topology)
        s_status_replicas (out, st->topology);
    const baton_jsonr_value_t *list = baton_jsonr_get (st->overrides, "overrides");
    if (baton_jsonr_is_array (list))
        fprintf (out, "overrides   %zu\n", list->count);
    else
        fputs ("overrides   (this gateway has no /-/overrides)\n", out);
    return 0;
}
