/*  test_overrides.c - the admin API's strict form decoder, and the override
 *  store: chain and fail overrides where routes are matched, pins and
 *  weights on the replicas, replacement, expiry, the cap, and reloads.  */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "admin/form.h"
#include "admin/overrides.h"
#include "config/config.h"
#include "control.h"
#include "edge/topology.h"

//  --- form ------------------------------------------------------------------------

static int
decode (baton_form_t *f, const char *body)
{
    char why[200];
    return baton_form_decode (f, body, strlen (body), why, sizeof why);
}

Test (form, decodes_fields_escapes_and_plus)
{
    baton_form_t f;
    cr_assert_eq (decode (&f, "kind=chain&route=%2Forders%2F%7Bid%7D&body=a+b%20c&empty="), 0);
    cr_assert_eq (f.count, 4);
    cr_assert_str_eq (baton_form_get (&f, "kind", NULL), "chain");
    cr_assert_str_eq (baton_form_get (&f, "route", NULL), "/orders/{id}");
    size_t len;
    cr_assert_str_eq (baton_form_get (&f, "body", &len), "a b c");
    cr_assert_eq (len, 5);
    cr_assert_str_eq (baton_form_get (&f, "empty", NULL), "");
    cr_assert_null (baton_form_get (&f, "nope", NULL));
}

Test (form, raw_visible_ascii_is_taken_as_curl_d_sends_it)
{
    baton_form_t f;
    cr_assert_eq (decode (&f, "route=/orders/{id}&weights=tcp://h:5:50,i2:0"), 0);
    cr_assert_str_eq (baton_form_get (&f, "route", NULL), "/orders/{id}");
    cr_assert_str_eq (baton_form_get (&f, "weights", NULL), "tcp://h:5:50,i2:0");
}

Test (form, an_empty_body_has_no_field)
{
    baton_form_t f;
    cr_assert_eq (decode (&f, ""), 0);
    cr_assert_eq (f.count, 0);
}

Test (form, refuses_what_is_not_strictly_a_form)
{
    static const char *const bad[] = {
        "&a=1",
        "a=1&",
        "a=1&&b=2",
        "a",
        "=1",
        "a=1&a=2",
        "a=%",
        "a=%4",
        "a=%zz",
        "a=%00",
        "a=%01",
        "a=b c",
        "a=\xc3\xa9",
        "a=x=y",
        "a b=1",
        "n%61me=1",
        "a=%C3",
        "a=%C0%AF",
        "a=%ED%A0%80",
        "a=%F4%90%80%80",
        "a=\x7f",
        "a=%7F",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        baton_form_t f;
        char why[200] = "";
        cr_assert_eq (baton_form_decode (&f, bad[i], strlen (bad[i]), why, sizeof why), -1,
                      "accepted \"%s\"", bad[i]);
        cr_assert_eq (f.count, 0);
        cr_assert_neq (why[0], '\0');
    }
}

Test (form, takes_utf8_and_line_breaks_in_values)
{
    baton_form_t f;
    cr_assert_eq (decode (&f, "body=%C3%A9t%C3%A9%0Adown%09for%0D%0A%F0%9F%94%A7"), 0);
    cr_assert_str_eq (baton_form_get (&f, "body", NULL),
                      "\xc3\xa9t\xc3\xa9\ndown\tfor\r\n\xf0\x9f\x94\xa7");
}

Test (form, is_bounded)
{
    char body[BATON_FORM_MAX_BODY + 2];
    memset (body, 'x', sizeof body);
    memcpy (body, "a=", 2);
    baton_form_t f;
    char why[200];
    cr_assert_eq (baton_form_decode (&f, body, BATON_FORM_MAX_BODY, why, sizeof why), 0);
    cr_assert_eq (f.fields[0].value_len, BATON_FORM_MAX_BODY - 2);
    cr_assert_eq (baton_form_decode (&f, body, BATON_FORM_MAX_BODY + 1, why, sizeof why), -1);
    //  One field more than allowed.
    char many[400] = "";
    for (int i = 0; i <= BATON_FORM_MAX_FIELDS; i++)
        snprintf (many + strlen (many), sizeof many - strlen (many), "%sf%d=1", i ? "&" : "", i);
    cr_assert_eq (decode (&f, many), -1);
}

Test (form, unescapes_a_path_segment)
{
    char out[64];
    const char *ep = "ipc%3A%2F%2F%2Ftmp%2Fa";
    cr_assert_eq (baton_form_unescape (ep, strlen (ep), out, sizeof out), 12);
    cr_assert_str_eq (out, "ipc:///tmp/a");
    cr_assert_eq (baton_form_unescape ("a+b", 3, out, sizeof out), 3);
    cr_assert_str_eq (out, "a+b"); //  no "+" rule in a path
    cr_assert_eq (baton_form_unescape ("a%2", 3, out, sizeof out), -1);
    cr_assert_eq (baton_form_unescape ("abcdef", 6, out, 6), -1);
}

//  --- the store -------------------------------------------------------------------

static const char *s_yaml = "gateway:\n"
                            "  max_budget: 4\n"
                            "functions:\n"
                            "  a:\n"
                            "    endpoints: [inproc://a0, inproc://a1, inproc://a2]\n"
                            "  b:\n"
                            "    endpoints: [inproc://b0]\n"
                            "  debug:\n"
                            "    endpoints: [inproc://d0]\n"
                            "routes:\n"
                            "  - path: /x\n"
                            "    methods: [GET]\n"
                            "    chain: [a, b]\n"
                            "  - path: /x\n"
                            "    methods: [POST]\n"
                            "    chain: [a]\n"
                            "  - path: /y\n"
                            "    chain: [b]\n";

static baton_config_t *s_config;
static baton_topology_t *s_topo;
static baton_overrides_t *s_ov;

static void
setup (void)
{
    char err[BATON_CONFIG_MAX_ERROR];
    s_config = baton_config_parse (s_yaml, strlen (s_yaml), "t.yaml", err, sizeof err);
    cr_assert_not_null (s_config, "%s", err);
    s_topo = baton_topology_new (s_config, NULL);
    s_ov = baton_overrides_new (s_topo);
}

static void
teardown (void)
{
    baton_overrides_destroy (&s_ov);
    baton_topology_destroy (&s_topo);
    baton_config_destroy (&s_config);
}

TestSuite (overrides, .init = setup, .fini = teardown);

//  Adds the override of body at now; returns the outcome, the id in id.
static int
add (const char *body, uint64_t now, char id[BATON_OVERRIDES_ID_MAX], char *why, size_t whylen)
{
    baton_form_t f;
    char fwhy[200], replaced[BATON_OVERRIDES_DESCRIBE_MAX];
    cr_assert_eq (baton_form_decode (&f, body, strlen (body), fwhy, sizeof fwhy), 0, "%s", fwhy);
    return baton_overrides_add (s_ov, &f, "127.0.0.1:1", now, id, replaced, sizeof replaced, why,
                                whylen);
}

static void
add_ok (const char *body, uint64_t now, char id[BATON_OVERRIDES_ID_MAX])
{
    char why[400] = "";
    cr_assert_eq (add (body, now, id, why, sizeof why), 0, "%s: %s", body, why);
}

static const baton_config_route_t *
route (size_t i)
{
    return baton_config_route (s_config, i);
}

static size_t
fn (const char *name)
{
    return baton_config_function_find (s_config, name, strlen (name))->index;
}

Test (overrides, none_set_is_inactive)
{
    cr_assert_not (baton_overrides_active (s_ov));
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=pin&function=a&replicas=inproc://a0", 0, id);
    cr_assert_not (baton_overrides_active (s_ov), "a pin is not a route override");
}

Test (overrides, chain_replaces_the_chain_of_every_route_with_the_pattern)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=chain&route=/x&chain=debug,a,b", 100, id);
    cr_assert_str_eq (id, "o1");
    cr_assert (baton_overrides_active (s_ov));
    const baton_override_fail_t *fail;
    for (size_t i = 0; i < 2; i++) {
        const char *m = i ? "POST" : "GET";
        const baton_config_route_t *r =
            baton_overrides_route (s_ov, route (i), m, strlen (m), 200, &fail);
        cr_assert_null (fail);
        cr_assert_neq (r, route (i), "a copy");
        cr_assert_eq (r->chain_len, 3);
        cr_assert_str_eq (r->chain[0]->name, "debug");
        cr_assert_str_eq (r->chain[2]->name, "b");
        cr_assert_str_eq (r->path, "/x");
        cr_assert_eq (r->index, route (i)->index, "counted as the route");
        cr_assert_eq (r->method_count, 1);
    }
    cr_assert_eq (baton_overrides_route (s_ov, route (2), "GET", 3, 200, &fail), route (2));
}

Test (overrides, method_narrows_a_route_override)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=chain&route=/x&method=POST&chain=b", 0, id);
    const baton_override_fail_t *fail;
    cr_assert_eq (baton_overrides_route (s_ov, route (0), "GET", 3, 1, &fail), route (0));
    cr_assert_eq (baton_overrides_route (s_ov, route (1), "POST", 4, 1, &fail)->chain_len, 1);
    char why[400];
    cr_assert_eq (add ("kind=chain&route=/x&method=PUT&chain=b", 0, id, why, sizeof why),
                  BATON_OVERRIDES_INVALID);
    cr_assert (strstr (why, "allows PUT"), "%s", why);
}

Test (overrides, fail_answers_and_wins_over_a_chain)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=chain&route=/y&chain=a", 0, id);
    add_ok ("kind=fail&route=/y&status=503&body=maintenance%0A&content_type=text/plain", 0, id);
    const baton_override_fail_t *fail;
    const baton_config_route_t *r = baton_overrides_route (s_ov, route (2), "GET", 3, 1, &fail);
    cr_assert_not_null (fail);
    cr_assert_eq (r, route (2));
    cr_assert_eq (fail->status, 503);
    cr_assert_str_eq (fail->body, "maintenance\n");
    cr_assert_eq (fail->body_len, 12);
    cr_assert_str_eq (fail->content_type, "text/plain");
}

Test (overrides, fail_defaults_to_the_reason_phrase)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=fail&route=/y&status=503", 0, id);
    const baton_override_fail_t *fail;
    baton_overrides_route (s_ov, route (2), "GET", 3, 1, &fail);
    cr_assert_str_eq (fail->body, "Service Unavailable");
    cr_assert_str_eq (fail->content_type, "text/plain; charset=utf-8");
}

Test (overrides, refuses_bad_forms_and_changes_nothing)
{
    static const char *const bad[] = {
        "",
        "kind=nope",
        "kind=chain&route=/x",
        "kind=chain&route=/nope&chain=a",
        "kind=chain&route=/x&chain=a,zz",
        "kind=chain&route=/x&chain=a,,b",
        "kind=chain&route=/x&chain=a,b,a,b,a",
        "kind=chain&route=/x&chain=a&function=a",
        "kind=chain&route=/x&chain=a&ttl=25h",
        "kind=chain&route=/x&chain=a&ttl=soon",
        "kind=chain&route=/x&chain=a&method=get",
        "kind=pin&function=a",
        "kind=pin&function=zz&replicas=inproc://a0",
        "kind=pin&function=a&replicas=inproc://b0",
        "kind=pin&function=a&replicas=inproc://a0,inproc://a0",
        "kind=weight&function=a&weights=inproc://a0",
        "kind=weight&function=a&weights=inproc://a0:1001",
        "kind=weight&function=a&weights=inproc://a0:-1",
        "kind=weight&function=a&weights=:5",
        "kind=fail&route=/y&status=200",
        "kind=fail&route=/y&status=600",
        "kind=fail&route=/y&status=503&content_type=text%0D%0AX-Evil:%201",
        "kind=fail&route=/y&status=503&content_type=plain",
        "kind=fail&route=/y&status=503&chain=a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char id[BATON_OVERRIDES_ID_MAX], why[400] = "";
        cr_assert_eq (add (bad[i], 0, id, why, sizeof why), BATON_OVERRIDES_INVALID, "took %s",
                      bad[i]);
        cr_assert_neq (why[0], '\0');
    }
    baton_text_t t = {NULL, 0, 0};
    baton_overrides_json (s_ov, 0, &t);
    cr_assert_str_eq (t.data, "{\"overrides\":[]}\n");
    free (t.data);
    for (size_t i = 0; i < baton_topology_count (s_topo, fn ("a")); i++)
        cr_assert_eq (baton_topology_at (s_topo, fn ("a"), i)->weight, BATON_TOPOLOGY_WEIGHT);
}

Test (overrides, fail_body_is_bounded)
{
    char body[BATON_OVERRIDES_MAX_BODY + 64];
    int n = snprintf (body, sizeof body, "kind=fail&route=/y&status=503&body=");
    memset (body + n, 'x', BATON_OVERRIDES_MAX_BODY);
    body[n + BATON_OVERRIDES_MAX_BODY] = '\0';
    char id[BATON_OVERRIDES_ID_MAX], why[400];
    cr_assert_eq (add (body, 0, id, why, sizeof why), 0, "%s", why);
    strcat (body, "x");
    cr_assert_eq (add (body, 0, id, why, sizeof why), BATON_OVERRIDES_INVALID);
}

Test (overrides, pin_leaves_only_its_replicas_picked)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=pin&function=a&replicas=inproc://a1", 0, id);
    size_t a = fn ("a");
    cr_assert_eq (baton_topology_at (s_topo, a, 0)->weight, 0);
    cr_assert_eq (baton_topology_at (s_topo, a, 1)->weight, BATON_TOPOLOGY_WEIGHT);
    cr_assert_eq (baton_topology_at (s_topo, a, 2)->weight, 0);
    for (int i = 0; i < 10; i++)
        cr_assert_str_eq (baton_topology_pick (s_topo, a)->endpoint, "inproc://a1");
    //  A replica that joins later is not in the pin.
    baton_control_msg_t m;
    memset (&m, 0, sizeof m);
    m.type = BATON_CONTROL_ANNOUNCE;
    snprintf (m.function, sizeof m.function, "a");
    snprintf (m.endpoint, sizeof m.endpoint, "inproc://a9");
    snprintf (m.instance, sizeof m.instance, "i9");
    m.interval_ms = 100;
    baton_replica_t *r;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 1, &r), BATON_TOPO_ADDED);
    baton_overrides_replica_added (s_ov, r);
    cr_assert_eq (r->weight, 0);
    //  Removed: every replica is back.
    char removed[BATON_OVERRIDES_DESCRIBE_MAX];
    cr_assert_eq (baton_overrides_remove (s_ov, "o1", removed, sizeof removed), 0);
    cr_assert (strstr (removed, "o1 pin function=a replicas=inproc://a1"), "%s", removed);
    for (size_t i = 0; i < baton_topology_count (s_topo, a); i++)
        cr_assert_eq (baton_topology_at (s_topo, a, i)->weight, BATON_TOPOLOGY_WEIGHT);
    cr_assert_eq (baton_overrides_remove (s_ov, "o1", removed, sizeof removed), -1);
}

Test (overrides, weights_set_replicas_and_combine_with_a_pin)
{
    char id[BATON_OVERRIDES_ID_MAX];
    size_t a = fn ("a");
    add_ok ("kind=weight&function=a&weights=inproc://a0:300,inproc://a2:0", 0, id);
    cr_assert_eq (baton_topology_at (s_topo, a, 0)->weight, 300);
    cr_assert_eq (baton_topology_at (s_topo, a, 1)->weight, BATON_TOPOLOGY_WEIGHT);
    cr_assert_eq (baton_topology_at (s_topo, a, 2)->weight, 0);
    add_ok ("kind=pin&function=a&replicas=inproc://a0,inproc://a2", 0, id);
    cr_assert_eq (baton_topology_at (s_topo, a, 0)->weight, 300);
    cr_assert_eq (baton_topology_at (s_topo, a, 1)->weight, 0);
    cr_assert_eq (baton_topology_at (s_topo, a, 2)->weight, 0);
}

Test (overrides, a_newer_one_of_the_same_kind_and_target_replaces)
{
    char id[BATON_OVERRIDES_ID_MAX], why[400], replaced[BATON_OVERRIDES_DESCRIBE_MAX];
    add_ok ("kind=chain&route=/y&chain=a", 0, id);
    baton_form_t f;
    const char *body = "kind=chain&route=/y&chain=debug&ttl=1m";
    cr_assert_eq (baton_form_decode (&f, body, strlen (body), why, sizeof why), 0);
    cr_assert_eq (
        baton_overrides_add (s_ov, &f, "peer", 0, id, replaced, sizeof replaced, why, sizeof why),
        0);
    cr_assert_str_eq (id, "o2");
    cr_assert (strstr (replaced, "o1 chain route=/y chain=a ttl=10m"), "%s", replaced);
    baton_text_t t = {NULL, 0, 0};
    baton_overrides_json (s_ov, 1000, &t);
    cr_assert_str_eq (t.data, "{\"overrides\":[{\"id\":\"o2\",\"kind\":\"chain\",\"route\":\"/y\","
                              "\"chain\":[\"debug\"],\"ttl_ms\":60000,\"expires_in_ms\":59000,"
                              "\"created_by\":\"peer\"}]}\n");
    free (t.data);
    //  Another method is another target.
    add_ok ("kind=chain&route=/x&method=GET&chain=a", 0, id);
    add_ok ("kind=chain&route=/x&chain=a", 0, id);
    t = (baton_text_t){NULL, 0, 0};
    baton_overrides_json (s_ov, 0, &t);
    cr_assert (strstr (t.data, "\"id\":\"o3\"") && strstr (t.data, "\"id\":\"o4\""), "%s", t.data);
    free (t.data);
}

Test (overrides, json_shows_each_kind)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=weight&function=a&weights=inproc://a0:7&ttl=10s", 0, id);
    add_ok ("kind=fail&route=/y&method=GET&status=503&body=%22down%22", 0, id);
    baton_text_t t = {NULL, 0, 0};
    cr_assert (baton_overrides_json_one (s_ov, "o1", 0, &t));
    cr_assert_str_eq (t.data, "{\"id\":\"o1\",\"kind\":\"weight\",\"function\":\"a\","
                              "\"weights\":{\"inproc://a0\":7},\"ttl_ms\":10000,"
                              "\"expires_in_ms\":10000,\"created_by\":\"127.0.0.1:1\"}\n");
    free (t.data);
    t = (baton_text_t){NULL, 0, 0};
    cr_assert (baton_overrides_json_one (s_ov, "o2", 0, &t));
    cr_assert (strstr (t.data, "\"route\":\"/y\",\"method\":\"GET\",\"status\":503,"
                               "\"body\":\"\\\"down\\\"\",\"content_type\":"),
               "%s", t.data);
    free (t.data);
    cr_assert_not (baton_overrides_json_one (s_ov, "o9", 0, &t));
}

Test (overrides, expire_on_tick_and_on_lookup)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=chain&route=/y&chain=a&ttl=1s", 1000, id);
    add_ok ("kind=pin&function=a&replicas=inproc://a0&ttl=2s", 1000, id);
    const baton_override_fail_t *fail;
    cr_assert_neq (baton_overrides_route (s_ov, route (2), "GET", 3, 1999, &fail), route (2));
    cr_assert_eq (baton_overrides_route (s_ov, route (2), "GET", 3, 2000, &fail), route (2));
    cr_assert_not (baton_overrides_active (s_ov));
    cr_assert_eq (baton_topology_at (s_topo, fn ("a"), 1)->weight, 0);
    baton_overrides_tick (s_ov, 3000);
    cr_assert_eq (baton_topology_at (s_topo, fn ("a"), 1)->weight, BATON_TOPOLOGY_WEIGHT);
    baton_text_t t = {NULL, 0, 0};
    baton_overrides_json (s_ov, 3000, &t);
    cr_assert_str_eq (t.data, "{\"overrides\":[]}\n");
    free (t.data);
}

Test (overrides, at_most_64)
{
    char id[BATON_OVERRIDES_ID_MAX], why[400], body[128];
    //  Distinct targets: route /y (any method) narrowed to 64 methods.
    int n = 0;
    for (int k = 0; n < BATON_OVERRIDES_MAX; k++) {
        snprintf (body, sizeof body, "kind=fail&route=/y&method=M%d&status=503", k);
        cr_assert_eq (add (body, 0, id, why, sizeof why), 0, "%s", why);
        n++;
    }
    cr_assert_eq (add ("kind=chain&route=/y&chain=a", 0, id, why, sizeof why),
                  BATON_OVERRIDES_FULL);
    cr_assert (strstr (why, "64"), "%s", why);
    //  Replacing one is still allowed.
    cr_assert_eq (add ("kind=fail&route=/y&method=M0&status=500", 0, id, why, sizeof why), 0);
}

Test (overrides, a_reload_clears_them_but_not_drains)
{
    char id[BATON_OVERRIDES_ID_MAX];
    add_ok ("kind=chain&route=/y&chain=a", 0, id);
    add_ok ("kind=pin&function=a&replicas=inproc://a0", 0, id);
    baton_topology_at (s_topo, fn ("a"), 2)->held = true;
    baton_overrides_clear (s_ov);
    cr_assert_not (baton_overrides_active (s_ov));
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq (baton_topology_at (s_topo, fn ("a"), i)->weight, BATON_TOPOLOGY_WEIGHT);
    cr_assert (baton_topology_at (s_topo, fn ("a"), 2)->held);
    //  Ids go on.
    add_ok ("kind=chain&route=/y&chain=a", 0, id);
    cr_assert_str_eq (id, "o3");
}

Test (overrides, finds_replicas_by_instance_or_endpoint)
{
    cr_assert_str_eq (baton_overrides_find_replica (s_ov, "inproc://b0")->endpoint, "inproc://b0");
    cr_assert_null (baton_overrides_find_replica (s_ov, "inproc://zz"));
    cr_assert_null (baton_overrides_find_replica (s_ov, ""));
}
