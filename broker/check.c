/*  check.c - "baton check -c FILE": loads a configuration as the gateway
 *  would and prints the routes in match order and the functions, or the first
 *  error with its file:line:column.  */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "config/config.h"
#include "config/values.h"
#include "edge/routes.h"

static void
s_usage (FILE *out)
{
    fputs ("usage: baton check -c FILE\n"
           "Checks a gateway configuration and prints the route table it resolves to.\n"
           "  -c, --config FILE   the configuration to check (docs/gateway.md)\n"
           "  -h, --help          show this help\n",
           out);
}

//  Writes route's methods as "GET,POST", or "(any)", into buf.
static const char *
s_methods (const baton_config_route_t *route, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    if (route->method_count == 0)
        snprintf (buf, cap, "(any)");
    for (size_t i = 0; i < route->method_count && n < cap; i++) {
        int w = snprintf (buf + n, cap - n, "%s%s", i ? "," : "", route->methods[i]);
        if (w < 0)
            break;
        n += (size_t) w;
    }
    return buf;
}

//  Appends the formatted text to buf (cap bytes) at *n, cutting it short.
static void s_put (char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_put (char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return;
    va_list ap;
    va_start (ap, fmt);
    int w = vsnprintf (buf + *n, cap - *n, fmt, ap);
    va_end (ap);
    *n = w < 0 ? cap : *n + (size_t) w;
}

//  Writes one condition: "name" when present is enough, else
//  "name=v1|v2"; prefix is "" for a header, "?" for a query parameter.
static void
s_condition (const baton_config_condition_t *c, const char *prefix, char *buf, size_t cap,
             size_t *n)
{
    s_put (buf, cap, n, " %s%s", prefix, c->name);
    for (size_t k = 0; c->kind == BATON_CONFIG_MATCH_ONE_OF && k < c->value_count; k++)
        s_put (buf, cap, n, "%s%s", k ? "|" : "=", c->values[k]);
}

//  Writes route's conditions as "host=H x-intent=a|b x-debug ?v=2", or "-"
//  when it has none, into buf.
static const char *
s_conditions (const baton_config_route_t *route, char *buf, size_t cap)
{
    const baton_config_match_t *m = &route->match;
    size_t n = 0;
    buf[0] = '\0';
    if (m->host)
        s_put (buf, cap, &n, " host=%s", m->host);
    for (size_t i = 0; i < m->header_count; i++)
        s_condition (&m->headers[i], "", buf, cap, &n);
    for (size_t i = 0; i < m->query_count; i++)
        s_condition (&m->query[i], "?", buf, cap, &n);
    return m->count ? buf + 1 : "-";
}

//  Writes "  version V" or "  split by header:NAME v1=90 v2=10" for route,
//  or "" when it pins no version, into buf.
static const char *
s_version (const baton_config_route_t *route, char *buf, size_t cap)
{
    const baton_config_split_t *sp = &route->split;
    size_t n = 0;
    buf[0] = '\0';
    if (route->version)
        s_put (buf, cap, &n, "  version %s", route->version);
    if (sp->count)
        s_put (buf, cap, &n, "  split by %s:%s",
               sp->by == BATON_CONFIG_SPLIT_HEADER ? "header" : "cookie", sp->key);
    for (size_t i = 0; i < sp->count; i++)
        s_put (buf, cap, &n, " %s=%u", sp->versions[i], (unsigned) sp->weights[i]);
    return buf;
}

static void
s_print (const baton_config_t *cfg, const baton_routes_t *routes)
{
    const baton_config_gateway_t *g = baton_config_gateway (cfg);
    char a[32], methods[BATON_ROUTES_ALLOW_MAX];
    size_t count = baton_routes_count (routes);
    printf ("%s: ok, %zu route%s, %zu function%s\n", baton_config_name (cfg), count,
            count == 1 ? "" : "s", baton_config_function_count (cfg),
            baton_config_function_count (cfg) == 1 ? "" : "s");
    printf ("gateway: listen %s, admin %s, reply %s, control %s, deadline %s, max budget %u\n",
            g->listen.text, g->admin.text, g->reply, g->control ? g->control : "(none)",
            baton_value_format_duration (g->deadline_ms, a, sizeof a), (unsigned) g->max_budget);
    char b[32];
    printf ("liveness: dead after %u missed heartbeats, probe timeout %s, probe interval %s\n",
            (unsigned) g->heartbeat_misses,
            baton_value_format_duration (g->probe_timeout_ms, a, sizeof a),
            baton_value_format_duration (g->probe_interval_ms, b, sizeof b));
    if (g->zone)
        printf (
            "zones: the gateway is in %s; a hop spills over to another zone at %u outstanding\n",
            g->zone, (unsigned) g->zone_spill_at);
    if (g->admin_token_file)
        printf ("admin api: mutations need the bearer token in %s\n", g->admin_token_file);
    const baton_config_security_t *sec = baton_config_security (cfg);
    if (sec->mode == BATON_SECURITY_CURVE)
        printf ("security: curve, gateway %s (key %s), trust store %s (%zu keys)\n",
                baton__cert_name (sec->cert), baton__cert_public_z85 (sec->cert), sec->trust_dir,
                baton__trust_count (sec->trust));
    else
        printf ("security: %s (plaintext mesh%s)\n", baton_config_security_mode_name (sec->mode),
                sec->mode == BATON_SECURITY_INSECURE ? ", on any address"
                                                     : ": loopback, ipc and inproc only");
    bool branches = false;
    for (size_t i = 0; i < baton_config_route_count (cfg); i++)
        branches = branches || baton_config_route (cfg, i)->branch_count > 0;
    if (sec->mesh_key)
        printf ("seal: routes are sealed with the mesh key in %s: every hop that has it "
                "(BATON_MESH_KEY) checks them\n",
                sec->mesh_key_path);
    else if (branches)
        printf ("seal: none: hops may take any branch and change their route (set "
                "security.mesh_key)\n");

    //  Columns are as wide as their widest cell, up to a point. The
    //  conditions' column is there only when some route has conditions.
    char conds[1024], chain[1024];
    size_t wm = 0, wp = 0, wd = 0, wc = 0;
    bool any_conditions = false;
    for (size_t i = 0; i < count; i++) {
        const baton_config_route_t *r = baton_routes_at (routes, i);
        size_t m = strlen (s_methods (r, methods, sizeof methods)), p = strlen (r->path),
               d = strlen (s_conditions (r, conds, sizeof conds)),
               c = strlen (baton_config_chain_text (r, chain, sizeof chain));
        wm = m > wm ? m : wm;
        wp = p > wp ? p : wp;
        wd = d > wd ? d : wd;
        wc = c > wc ? c : wc;
        any_conditions |= r->match.count > 0;
    }
    wm = wm > 24 ? 24 : wm;
    wp = wp > 48 ? 48 : wp;
    wd = wd > 64 ? 64 : wd;
    wc = wc > 48 ? 48 : wc;
    printf ("routes, in match order:\n");
    for (size_t i = 0; i < count; i++) {
        const baton_config_route_t *r = baton_routes_at (routes, i);
        printf ("  %-*s  %-*s  ", (int) wm, s_methods (r, methods, sizeof methods), (int) wp,
                r->path);
        if (any_conditions)
            printf ("%-*s  ", (int) wd, s_conditions (r, conds, sizeof conds));
        size_t c = strlen (baton_config_chain_text (r, chain, sizeof chain));
        printf ("%s", chain);
        char retry[32] = "", version[1024];
        if (r->retry_attempts)
            snprintf (retry, sizeof retry, "  retry %u", (unsigned) r->retry_attempts);
        printf ("%*s  deadline %s%s%s%s  (line %zu)\n", (int) (c < wc ? wc - c : 0), "",
                baton_value_format_duration (r->deadline_ms, a, sizeof a),
                r->deadline_default ? " (default)" : "", retry,
                s_version (r, version, sizeof version), r->line);
    }
    printf ("functions:\n");
    for (size_t i = 0; i < baton_config_function_count (cfg); i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        printf ("  %s:", f->name);
        if (f->endpoint_count == 0)
            printf (" no static endpoints (replicas announce themselves)");
        for (size_t k = 0; k < f->endpoint_count; k++) {
            printf ("%s %s", k ? "," : "", f->endpoints[k]);
            const baton_config_placement_t *p = f->placements ? &f->placements[k] : NULL;
            if (p && (p->version[0] || p->zone[0]))
                printf (" (%s%s%s%s%s)", p->version[0] ? "version " : "", p->version,
                        p->version[0] && p->zone[0] ? ", " : "", p->zone[0] ? "zone " : "",
                        p->zone);
        }
        if (f->run)
            printf ("; run (%u replica%s): %s", (unsigned) f->replicas, f->replicas == 1 ? "" : "s",
                    f->run);
        if (f->key && f->endpoint_count > 0)
            printf ("; key %s", baton__trust_find (sec->trust, f->key)->key_z85);
        printf ("\n");
    }
}

int
baton__cmd_check (int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp (arg, "-h") || !strcmp (arg, "--help")) {
            s_usage (stdout);
            return 0;
        }
        if (!strcmp (arg, "-c") || !strcmp (arg, "--config")) {
            if (i + 1 >= argc) {
                fprintf (stderr, "baton check: %s needs a file name\n", arg);
                s_usage (stderr);
                return 2;
            }
            file = argv[++i];
        } else if (!strncmp (arg, "--config=", 9))
            file = arg + 9;
        else if (!strncmp (arg, "-c", 2))
            file = arg + 2;
        else {
            fprintf (stderr, "baton check: unknown argument \"%s\"\n", arg);
            s_usage (stderr);
            return 2;
        }
    }
    if (!file || !*file) {
        fprintf (stderr, "baton check: which file? -c FILE is required\n");
        s_usage (stderr);
        return 2;
    }
    char err[BATON_CONFIG_MAX_ERROR + 4096];
    baton_config_t *cfg = baton_config_load (file, err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "%s\n", err);
        return 1;
    }
    //  The gateway would refuse to start: so does the check.
    if (baton_config_check_plaintext (cfg, err, sizeof err) < 0) {
        fprintf (stderr, "%s\n", err);
        baton_config_destroy (&cfg);
        return 1;
    }
    baton_routes_t *routes = baton_routes_new (cfg);
    s_print (cfg, routes);
    fflush (stdout);
    baton_routes_destroy (&routes);
    baton_config_destroy (&cfg);
    return 0;
}
