/*  banner.c - what "baton dev" prints once the chain is ready (see
 *  banner.h).  */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "dev/banner.h"
#include "edge/routes.h"

#define S_MAX_TRY_LINES 8

//  The gateway's public URL, a wildcard listener written as loopback.
static void
s_url (const baton_config_addr_t *addr, int port, char *out, size_t cap)
{
    const char *host = addr->host;
    if (!strcmp (host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp (host, "::") || !strcmp (host, "0:0:0:0:0:0:0:0"))
        host = "::1";
    snprintf (out, cap, strchr (host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, port);
}

//  The "# try: ..." comments of the config file, {url} replaced, or one curl
//  line per route (a few at most) when there are none.
static void
s_print_try (baton__dev_output_t *out, const char *config_path, const char *url,
             const baton_routes_t *routes)
{
    size_t shown = 0;
    FILE *f = fopen (config_path, "r");
    char line[1024];
    while (f && shown < S_MAX_TRY_LINES && fgets (line, sizeof line, f)) {
        const char *p = line + strspn (line, " \t");
        if (*p != '#')
            continue;
        p += 1 + strspn (p + 1, " \t");
        if (strncmp (p, "try:", 4))
            continue;
        p += 4 + strspn (p + 4, " \t");
        size_t len = strcspn (p, "\r\n");
        char text[2048];
        size_t o = 0;
        size_t ulen = strlen (url);
        for (size_t i = 0; i < len && o + ulen < sizeof text - 1; i++) {
            if (!strncmp (p + i, "{url}", 5)) {
                memcpy (text + o, url, ulen);
                o += ulen;
                i += 4;
            } else
                text[o++] = p[i];
        }
        text[o] = '\0';
        baton__dev_output_printf (out, "    %s\n", text);
        shown++;
    }
    if (f)
        fclose (f);
    for (size_t i = 0; shown == 0 && i < baton_routes_count (routes) && i < 3; i++) {
        const baton_config_route_t *r = baton_routes_at (routes, i);
        const char *method = r->method_count ? r->methods[0] : "GET";
        char path[BATON_ROUTES_MAX_PATTERN + 1];
        size_t o = 0;
        for (const char *p = r->path; *p && o < sizeof path - 1; p++)
            if (*p != '{' && *p != '}' && *p != '*')
                path[o++] = *p; //  "/users/{id}" -> "/users/id"
        path[o] = '\0';
        baton__dev_output_printf (out, "    curl -s -i%s%s %s%s\n",
                                  strcmp (method, "GET") ? " -X " : "",
                                  strcmp (method, "GET") ? method : "", url, path);
    }
}

//  Each route: its methods, its path and its chain, in aligned columns.
static void
s_print_routes (baton__dev_output_t *out, const baton_routes_t *routes)
{
    int wm = 0, wp = 0;
    char methods[BATON_ROUTES_ALLOW_MAX];
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < baton_routes_count (routes); i++) {
            const baton_config_route_t *r = baton_routes_at (routes, i);
            size_t o = 0;
            methods[0] = '\0';
            for (size_t m = 0; m < r->method_count && o < sizeof methods - 40; m++)
                o += (size_t) snprintf (methods + o, sizeof methods - o, "%s%s", m ? "," : "",
                                        r->methods[m]);
            if (!r->method_count)
                snprintf (methods, sizeof methods, "(any)");
            if (pass == 0) {
                wm = (int) strlen (methods) > wm ? (int) strlen (methods) : wm;
                wp = (int) strlen (r->path) > wp ? (int) strlen (r->path) : wp;
                continue;
            }
            char chain[2048];
            baton__dev_output_printf (out, "    %-*s  %-*s  %s\n", wm, methods, wp, r->path,
                                      baton_config_chain_text (r, chain, sizeof chain));
        }
}

void
baton__dev_banner_print (baton__dev_output_t *out, const baton_config_t *config,
                         const char *config_path, int port, int admin_port, uint64_t elapsed_ms)
{
    const baton_config_gateway_t *g = baton_config_gateway (config);
    char url[320], admin[320];
    s_url (&g->listen, port, url, sizeof url);
    s_url (&g->admin, admin_port, admin, sizeof admin);
    bool color = baton__dev_output_color (out);
    const char *b = color ? "\x1b[1;32m" : "", *e = color ? "\x1b[0m" : "";
    baton__dev_output_printf (out, "\n  %sready in %" PRIu64 "ms: %s%s   (admin: %s/-/metrics)\n",
                              b, elapsed_ms, url, e, admin);
    const baton_config_security_t *sec = baton_config_security (config);
    if (sec->mode == BATON_SECURITY_CURVE)
        baton__dev_output_printf (out, "  mesh: CURVE on (keys in %s, fresh for this run)\n",
                                  sec->trust_dir);
    else
        baton__dev_output_printf (out, "  mesh: plaintext (--insecure): whoever reaches an inbox "
                                       "can run its function\n");
    if (sec->mesh_key)
        baton__dev_output_printf (out, "  seal: every route sealed with the mesh key %s\n",
                                  sec->mesh_key_path);
    if (g->admin_token_file)
        baton__dev_output_printf (out, "  ctl:  baton ctl --admin %s --token-file %s status\n",
                                  admin, g->admin_token_file);
    baton__dev_output_printf (out, "\n  routes:\n");
    baton_routes_t *routes = baton_routes_new (config);
    s_print_routes (out, routes);
    baton__dev_output_printf (out, "\n  try:\n");
    s_print_try (out, config_path, url, routes);
    baton__dev_output_printf (out, "\n  Ctrl-C stops everything.\n\n");
    baton_routes_destroy (&routes);
}
