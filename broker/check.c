/*  check.c - "baton check -c FILE": loads a configuration as the gateway
 *  would and prints the routes in match order and the functions, or the first
 *  error with its file:line:column.  */
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

static size_t
s_chain_len (const baton_config_route_t *route)
{
    size_t n = 0;
    for (size_t i = 0; i < route->chain_len; i++)
        n += (i ? 4 : 0) + strlen (route->chain[i]->name);
    return n;
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
    const baton_config_security_t *sec = baton_config_security (cfg);
    if (sec->mode == BATON_SECURITY_CURVE)
        printf ("security: curve, gateway %s (key %s), trust store %s (%zu keys)\n",
                baton__cert_name (sec->cert), baton__cert_public_z85 (sec->cert), sec->trust_dir,
                baton__trust_count (sec->trust));
    else
        printf ("security: %s (plaintext mesh%s)\n", baton_config_security_mode_name (sec->mode),
                sec->mode == BATON_SECURITY_INSECURE ? ", on any address"
                                                     : ": loopback, ipc and inproc only");

    //  Columns are as wide as their widest cell, up to a point.
    size_t wm = 0, wp = 0, wc = 0;
    for (size_t i = 0; i < count; i++) {
        const baton_config_route_t *r = baton_routes_at (routes, i);
        size_t m = strlen (s_methods (r, methods, sizeof methods)), p = strlen (r->path),
               c = s_chain_len (r);
        wm = m > wm ? m : wm;
        wp = p > wp ? p : wp;
        wc = c > wc ? c : wc;
    }
    wm = wm > 24 ? 24 : wm;
    wp = wp > 48 ? 48 : wp;
    wc = wc > 48 ? 48 : wc;
    printf ("routes, in match order:\n");
    for (size_t i = 0; i < count; i++) {
        const baton_config_route_t *r = baton_routes_at (routes, i);
        printf ("  %-*s  %-*s  ", (int) wm, s_methods (r, methods, sizeof methods), (int) wp,
                r->path);
        for (size_t k = 0; k < r->chain_len; k++)
            printf ("%s%s", k ? " -> " : "", r->chain[k]->name);
        size_t c = s_chain_len (r);
        char retry[32] = "";
        if (r->retry_attempts)
            snprintf (retry, sizeof retry, "  retry %u", (unsigned) r->retry_attempts);
        printf ("%*s  deadline %s%s%s  (line %zu)\n", (int) (c < wc ? wc - c : 0), "",
                baton_value_format_duration (r->deadline_ms, a, sizeof a),
                r->deadline_default ? " (default)" : "", retry, r->line);
    }
    printf ("functions:\n");
    for (size_t i = 0; i < baton_config_function_count (cfg); i++) {
        const baton_config_function_t *f = baton_config_function (cfg, i);
        printf ("  %s:", f->name);
        if (f->endpoint_count == 0)
            printf (" no static endpoints (replicas announce themselves)");
        for (size_t k = 0; k < f->endpoint_count; k++)
            printf ("%s %s", k ? "," : "", f->endpoints[k]);
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
