/*  overrides.c - the override store: at most BATON_OVERRIDES_MAX overrides,
 *  in creation order, each with its expiry. A chain override holds one copy
 *  of every route it covers; a copy outlives its override (retired) for as
 *  long as a request that took it may still read it.  */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin/json.h"
#include "admin/overrides.h"
#include "config/values.h"
#include "log.h"
#include "status.h"

#define S_COMP "admin"

typedef enum { S_CHAIN = 0, S_PIN, S_WEIGHT, S_FAIL } s_kind_t;

static const char *const s_kind_names[] = {"chain", "pin", "weight", "fail"};

//  The fields each kind takes, besides kind and ttl.
static const char *const s_kind_fields[][5] = {
    {"route", "method", "chain", NULL},
    {"function", "replicas", NULL},
    {"function", "weights", NULL},
    {"route", "method", "status", "body", "content_type"},
};

//  A chain override's route copies and their chain: one block, retired whole.
typedef struct s_copies {
    struct s_copies *next; //  in the retired list
    uint64_t free_ms;      //  retired: freed from then on
    uint64_t hold_ms;      //  how long a request may use a copy
    const baton_config_function_t **chain;
    size_t chain_len;
    size_t count;
    baton_config_route_t routes[]; //  count copies
} s_copies_t;

typedef struct {
    char id[BATON_CONFIG_MAX_ENDPOINT + 1]; //  an instance id or an endpoint
    uint32_t weight;                        //  weights only
} s_pick_t;

typedef struct {
    unsigned seq; //  the id is "o<seq>"
    s_kind_t kind;
    uint64_t ttl_ms, expires_ms;
    char created_by[64];
    //  chain and fail: a route pattern, the method ("" for any) and the
    //  config's routes it covers; pin and weight: a function.
    char target[BATON_CONFIG_MAX_STRING + 1];
    char method[BATON_CONFIG_MAX_METHOD + 1];
    const baton_config_route_t **covered;
    size_t covered_count;
    size_t fn;
    s_copies_t *copies; //  chain
    s_pick_t *picks;    //  pin and weight
    size_t pick_count;
    baton_override_fail_t fail;
} s_override_t;

struct baton_overrides {
    baton__overrides_head_t head;             //  first: baton_overrides_active () reads it
    baton_topology_t *topo;                   //  and its config, the one in force
    s_override_t *items[BATON_OVERRIDES_MAX]; //  oldest first
    size_t count;
    unsigned next_seq;
    uint64_t next_expiry_ms; //  UINT64_MAX when nothing expires
    s_copies_t *retired;
};

static const baton_config_t *
s_config (const baton_overrides_t *self)
{
    return baton_topology_config (self->topo);
}

static void *
s_alloc (size_t size)
{
    void *p = calloc (1, size ? size : 1);
    if (!p)
        abort ();
    return p;
}

static char *
s_strdup (const char *s, size_t len)
{
    char *p = (char *) s_alloc (len + 1);
    memcpy (p, s, len);
    return p;
}

baton_overrides_t *
baton_overrides_new (baton_topology_t *topo)
{
    baton_overrides_t *self = (baton_overrides_t *) s_alloc (sizeof *self);
    self->topo = topo;
    self->next_seq = 1;
    self->next_expiry_ms = UINT64_MAX;
    return self;
}

static void
s_override_free (s_override_t *o)
{
    free (o->copies);
    free (o->covered);
    free (o->picks);
    free ((char *) o->fail.body);
    free ((char *) o->fail.content_type);
    free (o);
}

void
baton_overrides_destroy (baton_overrides_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    baton_overrides_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_override_free (self->items[i]);
    while (self->retired) {
        s_copies_t *next = self->retired->next;
        free (self->retired);
        self->retired = next;
    }
    free (self);
    *self_p = NULL;
}

//  --- replicas and their weights -----------------------------------------------------

static bool
s_replica_is (const baton_replica_t *r, const char *id)
{
    return (r->instance[0] && strcmp (r->instance, id) == 0) || strcmp (r->endpoint, id) == 0;
}

static const s_override_t *
s_find_kind (const baton_overrides_t *self, s_kind_t kind, size_t fn)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->items[i]->kind == kind && self->items[i]->fn == fn)
            return self->items[i];
    return NULL;
}

static const s_pick_t *
s_pick_of (const s_override_t *o, const baton_replica_t *r)
{
    for (size_t i = 0; o && i < o->pick_count; i++)
        if (s_replica_is (r, o->picks[i].id))
            return &o->picks[i];
    return NULL;
}

//  r's weight under the overrides in force: 0 outside a pin, the weight an
//  override gives it, else the default.
static uint32_t
s_weight (const baton_overrides_t *self, const baton_replica_t *r)
{
    const s_override_t *pin = s_find_kind (self, S_PIN, r->function);
    if (pin && !s_pick_of (pin, r))
        return 0;
    const s_pick_t *w = s_pick_of (s_find_kind (self, S_WEIGHT, r->function), r);
    return w ? w->weight : BATON_TOPOLOGY_WEIGHT;
}

static void
s_reweigh (baton_overrides_t *self, size_t fn)
{
    for (size_t i = 0; i < baton_topology_count (self->topo, fn); i++) {
        baton_replica_t *r = baton_topology_at (self->topo, fn, i);
        r->weight = s_weight (self, r);
    }
}

void
baton_overrides_replica_added (baton_overrides_t *self, baton_replica_t *r)
{
    r->weight = s_weight (self, r);
}

baton_replica_t *
baton_overrides_find_replica (const baton_overrides_t *self, const char *id)
{
    for (size_t f = 0; f < baton_config_function_count (s_config (self)); f++)
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++) {
            baton_replica_t *r = baton_topology_at (self->topo, f, i);
            if (s_replica_is (r, id))
                return r;
        }
    return NULL;
}

//  --- describing one ---------------------------------------------------------------

static void
s_id (const s_override_t *o, char id[BATON_OVERRIDES_ID_MAX])
{
    snprintf (id, BATON_OVERRIDES_ID_MAX, "o%u", o->seq);
}

static void
s_describe (const baton_overrides_t *self, const s_override_t *o, char *buf, size_t cap)
{
    baton_text_t t = {NULL, 0, 0};
    char ttl[32];
    baton_text_fmt (&t, "o%u %s ", o->seq, s_kind_names[o->kind]);
    if (o->kind == S_CHAIN || o->kind == S_FAIL) {
        baton_text_lit (&t, "route=");
        baton_text_str (&t, o->target);
        if (o->method[0])
            baton_text_fmt (&t, " method=%s", o->method);
    } else
        baton_text_fmt (&t, "function=%s", baton_config_function (s_config (self), o->fn)->name);
    if (o->kind == S_CHAIN) {
        baton_text_lit (&t, " chain=");
        for (size_t i = 0; i < o->copies->chain_len; i++)
            baton_text_fmt (&t, "%s%s", i ? "," : "", o->copies->chain[i]->name);
    } else if (o->kind == S_FAIL)
        baton_text_fmt (&t, " status=%u", o->fail.status);
    else {
        baton_text_str (&t, o->kind == S_PIN ? " replicas=" : " weights=");
        for (size_t i = 0; i < o->pick_count; i++) {
            baton_text_fmt (&t, "%s%s", i ? "," : "", o->picks[i].id);
            if (o->kind == S_WEIGHT)
                baton_text_fmt (&t, ":%" PRIu32, o->picks[i].weight);
        }
    }
    baton_text_fmt (&t, " ttl=%s", baton_value_format_duration (o->ttl_ms, ttl, sizeof ttl));
    snprintf (buf, cap, "%s", t.data);
    free (t.data);
}

static void
s_json (const baton_overrides_t *self, const s_override_t *o, uint64_t now_ms, baton_text_t *t)
{
    baton_text_fmt (t, "{\"id\":\"o%u\",\"kind\":\"%s\",", o->seq, s_kind_names[o->kind]);
    if (o->kind == S_CHAIN || o->kind == S_FAIL) {
        baton_text_lit (t, "\"route\":");
        baton_json_str (t, o->target);
        if (o->method[0]) {
            baton_text_lit (t, ",\"method\":");
            baton_json_str (t, o->method);
        }
    } else {
        baton_text_lit (t, "\"function\":");
        baton_json_str (t, baton_config_function (s_config (self), o->fn)->name);
    }
    if (o->kind == S_CHAIN) {
        baton_text_lit (t, ",\"chain\":[");
        for (size_t i = 0; i < o->copies->chain_len; i++) {
            if (i)
                baton_text_lit (t, ",");
            baton_json_str (t, o->copies->chain[i]->name);
        }
        baton_text_lit (t, "]");
    } else if (o->kind == S_FAIL) {
        baton_text_fmt (t, ",\"status\":%u,\"body\":", o->fail.status);
        baton_json_str (t, o->fail.body);
        baton_text_lit (t, ",\"content_type\":");
        baton_json_str (t, o->fail.content_type);
    } else {
        baton_text_str (t, o->kind == S_PIN ? ",\"replicas\":[" : ",\"weights\":{");
        for (size_t i = 0; i < o->pick_count; i++) {
            if (i)
                baton_text_lit (t, ",");
            baton_json_str (t, o->picks[i].id);
            if (o->kind == S_WEIGHT)
                baton_text_fmt (t, ":%" PRIu32, o->picks[i].weight);
        }
        baton_text_str (t, o->kind == S_PIN ? "]" : "}");
    }
    uint64_t left = o->expires_ms > now_ms ? o->expires_ms - now_ms : 0;
    baton_text_fmt (t, ",\"ttl_ms\":%" PRIu64 ",\"expires_in_ms\":%" PRIu64 ",\"created_by\":",
                    o->ttl_ms, left);
    baton_json_str (t, o->created_by);
    baton_text_lit (t, "}");
}

static s_override_t *
s_find_id (const baton_overrides_t *self, const char *id, size_t *at)
{
    for (size_t i = 0; i < self->count; i++) {
        char own[BATON_OVERRIDES_ID_MAX];
        s_id (self->items[i], own);
        if (strcmp (own, id) == 0) {
            if (at)
                *at = i;
            return self->items[i];
        }
    }
    return NULL;
}

bool
baton_overrides_describe (const baton_overrides_t *self, const char *id, char *buf, size_t cap)
{
    const s_override_t *o = s_find_id (self, id, NULL);
    if (o)
        s_describe (self, o, buf, cap);
    return o != NULL;
}

void
baton_overrides_json (const baton_overrides_t *self, uint64_t now_ms, baton_text_t *t)
{
    baton_text_lit (t, "{\"overrides\":[");
    for (size_t i = 0; i < self->count; i++) {
        if (i)
            baton_text_lit (t, ",");
        s_json (self, self->items[i], now_ms, t);
    }
    baton_text_lit (t, "]}\n");
}

bool
baton_overrides_json_one (const baton_overrides_t *self, const char *id, uint64_t now_ms,
                          baton_text_t *t)
{
    const s_override_t *o = s_find_id (self, id, NULL);
    if (o) {
        s_json (self, o, now_ms, t);
        baton_text_lit (t, "\n");
    }
    return o != NULL;
}

//  --- ending them ---------------------------------------------------------------------

static void
s_recount (baton_overrides_t *self)
{
    self->head.routed = 0;
    self->next_expiry_ms = UINT64_MAX;
    for (size_t i = 0; i < self->count; i++) {
        const s_override_t *o = self->items[i];
        if (o->kind == S_CHAIN || o->kind == S_FAIL)
            self->head.routed++;
        if (o->expires_ms < self->next_expiry_ms)
            self->next_expiry_ms = o->expires_ms;
    }
}

//  Takes the override at index at out of force (route copies retired, with
//  reweigh the weights of its function recomputed) and frees it.
static void
s_end (baton_overrides_t *self, size_t at, uint64_t now_ms, bool reweigh)
{
    s_override_t *o = self->items[at];
    memmove (&self->items[at], &self->items[at + 1], (self->count - at - 1) * sizeof o);
    self->count--;
    if (o->copies) {
        o->copies->free_ms = now_ms + o->copies->hold_ms;
        o->copies->next = self->retired;
        self->retired = o->copies;
        o->copies = NULL;
    }
    if (reweigh && (o->kind == S_PIN || o->kind == S_WEIGHT))
        s_reweigh (self, o->fn);
    s_override_free (o);
    s_recount (self);
}

int
baton_overrides_remove (baton_overrides_t *self, const char *id, char *removed, size_t removed_cap)
{
    size_t at;
    s_override_t *o = s_find_id (self, id, &at);
    if (!o)
        return -1;
    s_describe (self, o, removed, removed_cap);
    s_end (self, at, baton_topology_now_ms (), true);
    return 0;
}

void
baton_overrides_tick (baton_overrides_t *self, uint64_t now_ms)
{
    while (now_ms >= self->next_expiry_ms) {
        for (size_t i = 0; i < self->count; i++)
            if (self->items[i]->expires_ms <= now_ms) {
                char what[BATON_OVERRIDES_DESCRIBE_MAX], q[BATON_OVERRIDES_DESCRIBE_MAX + 16];
                s_describe (self, self->items[i], what, sizeof what);
                baton__log (BATON_LOG_INFO, S_COMP, "override expired", "override=%s",
                            baton__log_quote (q, sizeof q, what, strlen (what)));
                s_end (self, i, now_ms, true);
                break;
            }
    }
    for (s_copies_t **p = &self->retired; *p;) {
        s_copies_t *c = *p;
        if (c->free_ms <= now_ms) {
            *p = c->next;
            free (c);
        } else
            p = &c->next;
    }
}

void
baton_overrides_clear (baton_overrides_t *self)
{
    const baton_config_t *config = s_config (self);
    uint64_t now = baton_topology_now_ms ();
    //  The functions' indices are the new config's: weights are reset below.
    while (self->count)
        s_end (self, self->count - 1, now, false);
    for (size_t f = 0; f < baton_config_function_count (config); f++)
        for (size_t i = 0; i < baton_topology_count (self->topo, f); i++)
            baton_topology_at (self->topo, f, i)->weight = BATON_TOPOLOGY_WEIGHT;
}

//  --- the request path ------------------------------------------------------------------

const baton_config_route_t *
baton_overrides_route (baton_overrides_t *self, const baton_config_route_t *matched,
                       const char *method, size_t method_len, uint64_t now_ms,
                       const baton_override_fail_t **fail)
{
    *fail = NULL;
    if (now_ms >= self->next_expiry_ms)
        baton_overrides_tick (self, now_ms);
    const baton_config_route_t *route = matched;
    for (size_t i = 0; i < self->count; i++) {
        const s_override_t *o = self->items[i];
        if (o->kind != S_CHAIN && o->kind != S_FAIL)
            continue;
        if (o->method[0] &&
            (strlen (o->method) != method_len || memcmp (o->method, method, method_len) != 0))
            continue;
        for (size_t k = 0; k < o->covered_count; k++)
            if (o->covered[k] == matched) {
                if (o->kind == S_FAIL) {
                    *fail = &o->fail;
                    return matched;
                }
                route = &o->copies->routes[k];
            }
    }
    return route;
}

//  --- making one ------------------------------------------------------------------------

typedef struct {
    char *why;
    size_t whylen;
} s_err_t;

__attribute__ ((format (printf, 2, 3))) static int
s_invalid (s_err_t *e, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    if (e->whylen > 0)
        vsnprintf (e->why, e->whylen, fmt, ap);
    va_end (ap);
    return BATON_OVERRIDES_INVALID;
}

//  A required field of the form; NULL (and *rc set) if it is missing or empty.
static const char *
s_required (const baton_form_t *form, const char *name, s_err_t *e, int *rc)
{
    const char *v = baton_form_get (form, name, NULL);
    if (!v || !*v) {
        *rc = s_invalid (e, "%s: required", name);
        return NULL;
    }
    return v;
}

//  The function called name, by index; -1 (why set) if it is not declared.
static int
s_function (const baton_overrides_t *self, const char *name, size_t len, size_t *fn, s_err_t *e)
{
    const baton_config_function_t *f = baton_config_function_find (s_config (self), name, len);
    if (!f)
        return s_invalid (e, "no function \"%.*s\" in the config", (int) (len > 64 ? 64 : len),
                          name);
    *fn = f->index;
    return 0;
}

//  Splits list at commas into up to cap items (each non-empty); returns how
//  many, or -1 if one is empty or there are more.
static int
s_split (const char *list, const char *items[], size_t lens[], size_t cap)
{
    size_t n = 0;
    for (const char *p = list;; n++) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        if (len == 0 || n == cap)
            return -1;
        items[n] = p;
        lens[n] = len;
        if (!comma)
            return (int) n + 1;
        p = comma + 1;
    }
}

//  route= and method=: the routes they cover, into o->covered.
static int
s_routes (baton_overrides_t *self, const baton_form_t *form, s_override_t *o, s_err_t *e)
{
    int rc = 0;
    const char *route = s_required (form, "route", e, &rc);
    if (!route)
        return rc;
    const char *method = baton_form_get (form, "method", NULL);
    char why[200];
    if (method && baton_value_method (method, strlen (method), why, sizeof why) != 0)
        return s_invalid (e, "method: %s", why);
    if (strlen (route) >= sizeof o->target)
        return s_invalid (e, "route: longer than any route's path");
    snprintf (o->target, sizeof o->target, "%s", route);
    snprintf (o->method, sizeof o->method, "%s", method ? method : "");
    size_t n = baton_config_route_count (s_config (self));
    o->covered = (const baton_config_route_t **) s_alloc (n * sizeof *o->covered);
    bool pattern = false;
    for (size_t i = 0; i < n; i++) {
        const baton_config_route_t *r = baton_config_route (s_config (self), i);
        if (strcmp (r->path, route) != 0)
            continue;
        pattern = true;
        bool allows = !method || r->method_count == 0;
        for (size_t m = 0; !allows && m < r->method_count; m++)
            allows = strcmp (r->methods[m], method) == 0;
        if (allows)
            o->covered[o->covered_count++] = r;
    }
    if (!pattern)
        return s_invalid (e, "route: no route has the path \"%.200s\" (see /-/routes)", route);
    if (!o->covered_count)
        return s_invalid (e, "method: no route \"%.200s\" allows %s", route, method);
    return 0;
}

static int
s_make_chain (baton_overrides_t *self, const baton_form_t *form, s_override_t *o, s_err_t *e)
{
    int rc = s_routes (self, form, o, e);
    const char *list = rc == 0 ? s_required (form, "chain", e, &rc) : NULL;
    if (!list)
        return rc;
    const char *names[BATON_CONFIG_MAX_CHAIN];
    size_t lens[BATON_CONFIG_MAX_CHAIN];
    uint32_t budget = baton_config_gateway (s_config (self))->max_budget;
    int n = s_split (list, names, lens, BATON_CONFIG_MAX_CHAIN);
    if (n < 0 || (uint32_t) n > budget)
        return s_invalid (e,
                          "chain: 1 to %" PRIu32 " function names (gateway.max_budget), "
                          "comma-separated",
                          budget);
    s_copies_t *c = (s_copies_t *) s_alloc (sizeof *c + o->covered_count * sizeof c->routes[0] +
                                            (size_t) n * sizeof *c->chain);
    o->copies = c;
    c->chain = (const baton_config_function_t **) (void *) &c->routes[o->covered_count];
    c->chain_len = (size_t) n;
    for (int i = 0; i < n; i++) {
        size_t fn = 0;
        if (s_function (self, names[i], lens[i], &fn, e) != 0)
            return BATON_OVERRIDES_INVALID;
        c->chain[i] = baton_config_function (s_config (self), fn);
    }
    //  A request holds its route until it is answered: at the latest its
    //  deadline after its head, plus the time its body may take to come.
    uint64_t hold = 0;
    c->count = o->covered_count;
    for (size_t k = 0; k < o->covered_count; k++) {
        c->routes[k] = *o->covered[k];
        c->routes[k].chain = c->chain;
        c->routes[k].chain_len = c->chain_len;
        if (c->routes[k].deadline_ms > hold)
            hold = c->routes[k].deadline_ms;
    }
    c->hold_ms = hold + baton_config_limits (s_config (self))->body_timeout_ms + 1000;
    return 0;
}

static int
s_make_picks (baton_overrides_t *self, const baton_form_t *form, s_override_t *o, s_err_t *e)
{
    int rc = 0;
    const char *fname = s_required (form, "function", e, &rc);
    const char *field = o->kind == S_PIN ? "replicas" : "weights";
    const char *list = fname ? s_required (form, field, e, &rc) : NULL;
    if (!list || s_function (self, fname, strlen (fname), &o->fn, e) != 0)
        return BATON_OVERRIDES_INVALID;
    const char *items[BATON_TOPOLOGY_MAX_REPLICAS];
    size_t lens[BATON_TOPOLOGY_MAX_REPLICAS];
    int n = s_split (list, items, lens, BATON_TOPOLOGY_MAX_REPLICAS);
    if (n < 0)
        return s_invalid (e, "%s: 1 to %d comma-separated %s", field, BATON_TOPOLOGY_MAX_REPLICAS,
                          o->kind == S_PIN ? "replica ids" : "ID:WEIGHT pairs");
    o->picks = (s_pick_t *) s_alloc ((size_t) n * sizeof *o->picks);
    for (int i = 0; i < n; i++) {
        s_pick_t *p = &o->picks[i];
        size_t idlen = lens[i];
        if (o->kind == S_WEIGHT) {
            //  The last colon: an endpoint has colons of its own.
            const char *colon = NULL;
            for (size_t k = 0; k < lens[i]; k++)
                if (items[i][k] == ':')
                    colon = items[i] + k;
            uint64_t w;
            char why[200];
            if (!colon || baton_value_uint (colon + 1, (size_t) (items[i] + lens[i] - colon - 1), 0,
                                            BATON_TOPOLOGY_MAX_WEIGHT, &w, why, sizeof why) != 0)
                return s_invalid (e, "weights: \"%.*s\": write ID:WEIGHT, WEIGHT 0 to %d",
                                  (int) (lens[i] > 200 ? 200 : lens[i]), items[i],
                                  BATON_TOPOLOGY_MAX_WEIGHT);
            p->weight = (uint32_t) w;
            idlen = (size_t) (colon - items[i]);
        }
        if (idlen == 0 || idlen >= sizeof p->id)
            return s_invalid (e, "%s: an empty or overlong replica id", field);
        memcpy (p->id, items[i], idlen);
        bool known = false;
        for (size_t k = 0; !known && k < baton_topology_count (self->topo, o->fn); k++)
            known = s_replica_is (baton_topology_at (self->topo, o->fn, k), p->id);
        if (!known)
            return s_invalid (e, "%s: function %s has no replica \"%.200s\" (see /-/topology)",
                              field, baton_config_function (s_config (self), o->fn)->name, p->id);
        for (int k = 0; k < i; k++)
            if (strcmp (o->picks[k].id, p->id) == 0)
                return s_invalid (e, "%s: \"%.200s\" given twice", field, p->id);
        o->pick_count++;
    }
    return 0;
}

static int
s_make_fail (baton_overrides_t *self, const baton_form_t *form, s_override_t *o, s_err_t *e)
{
    int rc = s_routes (self, form, o, e);
    const char *status = rc == 0 ? s_required (form, "status", e, &rc) : NULL;
    if (!status)
        return rc;
    uint64_t st;
    char why[200];
    if (baton_value_uint (status, strlen (status), 400, 599, &st, why, sizeof why) != 0)
        return s_invalid (e, "status: %s", why);
    o->fail.status = (unsigned) st;
    size_t len;
    const char *body = baton_form_get (form, "body", &len);
    if (!body) {
        body = baton__http_reason (o->fail.status);
        len = strlen (body);
    }
    if (len > BATON_OVERRIDES_MAX_BODY)
        return s_invalid (e, "body: over %d bytes", BATON_OVERRIDES_MAX_BODY);
    const char *ctype = baton_form_get (form, "content_type", NULL);
    if (!ctype)
        ctype = "text/plain; charset=utf-8";
    //  It goes into a header field: visible ASCII and spaces, type/subtype.
    size_t clen = strlen (ctype);
    bool ok = clen > 2 && clen <= 128 && strchr (ctype, '/') && ctype[0] != '/';
    for (size_t i = 0; ok && i < clen; i++)
        ok = ctype[i] >= 0x20 && ctype[i] < 0x7f;
    if (!ok)
        return s_invalid (e, "content_type: a media type (\"type/subtype\"), at most 128 bytes");
    o->fail.body = s_strdup (body, len);
    o->fail.body_len = len;
    o->fail.content_type = s_strdup (ctype, clen);
    return 0;
}

//  True if a and b are of the same kind and target (the newer replaces).
static bool
s_same_target (const s_override_t *a, const s_override_t *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == S_PIN || a->kind == S_WEIGHT)
        return a->fn == b->fn;
    return strcmp (a->target, b->target) == 0 && strcmp (a->method, b->method) == 0;
}

int
baton_overrides_add (baton_overrides_t *self, const baton_form_t *form, const char *peer,
                     uint64_t now_ms, char id[BATON_OVERRIDES_ID_MAX], char *replaced,
                     size_t replaced_cap, char *why, size_t whylen)
{
    s_err_t e = {why, whylen};
    const char *kind = baton_form_get (form, "kind", NULL);
    size_t k = 0;
    while (kind && k < 4 && strcmp (kind, s_kind_names[k]) != 0)
        k++;
    if (!kind || k == 4)
        return s_invalid (&e, "kind: one of chain, pin, weight, fail");
    for (size_t i = 0; i < form->count; i++) {
        const char *name = form->fields[i].name;
        bool known = strcmp (name, "kind") == 0 || strcmp (name, "ttl") == 0;
        for (size_t f = 0; !known && f < 5 && s_kind_fields[k][f]; f++)
            known = strcmp (name, s_kind_fields[k][f]) == 0;
        if (!known)
            return s_invalid (&e, "%s: not a field of a %s override", name, kind);
    }
    uint64_t ttl = BATON_OVERRIDES_TTL_DEFAULT_MS;
    const char *ttl_s = baton_form_get (form, "ttl", NULL);
    char vwhy[200];
    if (ttl_s && baton_value_duration (ttl_s, strlen (ttl_s), 1, &ttl, vwhy, sizeof vwhy) != 0)
        return s_invalid (&e, "ttl: %s", vwhy);
    s_override_t *o = (s_override_t *) s_alloc (sizeof *o);
    o->kind = (s_kind_t) k;
    o->ttl_ms = ttl;
    o->expires_ms = now_ms + ttl;
    snprintf (o->created_by, sizeof o->created_by, "%s", peer);
    int rc = o->kind == S_CHAIN  ? s_make_chain (self, form, o, &e)
             : o->kind == S_FAIL ? s_make_fail (self, form, o, &e)
                                 : s_make_picks (self, form, o, &e);
    size_t old = self->count;
    for (size_t i = 0; rc == 0 && i < self->count; i++)
        if (s_same_target (self->items[i], o))
            old = i;
    if (rc == 0 && old == self->count && self->count == BATON_OVERRIDES_MAX) {
        snprintf (why, whylen, "%d overrides in force already: delete one first",
                  BATON_OVERRIDES_MAX);
        rc = BATON_OVERRIDES_FULL;
    }
    if (rc != 0) {
        s_override_free (o);
        return rc;
    }
    snprintf (replaced, replaced_cap, "-");
    if (old < self->count) {
        s_describe (self, self->items[old], replaced, replaced_cap);
        s_end (self, old, now_ms, true);
    }
    o->seq = self->next_seq++;
    self->items[self->count++] = o;
    if (o->kind == S_PIN || o->kind == S_WEIGHT)
        s_reweigh (self, o->fn);
    s_recount (self);
    s_id (o, id);
    return 0;
}
