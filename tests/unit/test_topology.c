#define _GNU_SOURCE
/*  test_topology.c - control messages and the gateway's replica table:
 *  announce, heartbeat expiry (static replicas that heartbeat too), goodbye
 *  and draining, least-outstanding pick, the states probes set, weights and
 *  holds, the remap a reload makes, and picks by version and zone.  */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "baton/errors.h"
#include "config/config.h"
#include "control.h"
#include "edge/topology.h"

static const char *s_yaml = "functions:\n"
                            "  a:\n"
                            "    endpoints: [inproc://a0, inproc://a1]\n"
                            "  b:\n"
                            "routes:\n"
                            "  - path: /x\n"
                            "    chain: [a, b]\n";

static baton_config_t *s_config;
static baton_topology_t *s_topo;

static void
setup (void)
{
    char err[BATON_CONFIG_MAX_ERROR];
    s_config = baton_config_parse (s_yaml, strlen (s_yaml), "t.yaml", err, sizeof err);
    cr_assert_not_null (s_config, "%s", err);
    baton_topology_opts_t opts = {3};
    s_topo = baton_topology_new (s_config, &opts);
}

static void
teardown (void)
{
    baton_topology_destroy (&s_topo);
    baton_config_destroy (&s_config);
}

static baton_control_msg_t
msg (baton_control_type_t type, const char *fn, const char *ep, const char *instance)
{
    baton_control_msg_t m;
    memset (&m, 0, sizeof m);
    m.type = type;
    snprintf (m.function, sizeof m.function, "%s", fn);
    snprintf (m.endpoint, sizeof m.endpoint, "%s", ep);
    snprintf (m.instance, sizeof m.instance, "%s", instance);
    snprintf (m.host, sizeof m.host, "box");
    m.pid = 42;
    m.interval_ms = 100;
    return m;
}

TestSuite (topology, .init = setup, .fini = teardown);

Test (topology, static_endpoints_are_alive_replicas)
{
    cr_assert_eq (baton_topology_count (s_topo, 0), 2);
    cr_assert_eq (baton_topology_count (s_topo, 1), 0);
    cr_assert_null (baton_topology_pick (s_topo, 1), "b has no replica yet");
}

Test (topology, pick_prefers_fewest_outstanding_then_round_robin)
{
    baton_replica_t *first = baton_topology_pick (s_topo, 0);
    baton_replica_t *second = baton_topology_pick (s_topo, 0);
    cr_assert_neq (first, second, "equals alternate");
    baton_topology_acquire (first);
    for (int i = 0; i < 5; i++)
        cr_assert_eq (baton_topology_pick (s_topo, 0), second, "the idle one wins");
    baton_topology_release (first);
    int seen_first = 0;
    for (int i = 0; i < 10; i++)
        seen_first += baton_topology_pick (s_topo, 0) == first;
    cr_assert_eq (seen_first, 5);
}

Test (topology, announce_adds_and_heartbeats_keep_alive)
{
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "i1");
    baton_replica_t *r;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 1000, &r), BATON_TOPO_ADDED);
    cr_assert_eq (baton_topology_pick (s_topo, 1), r);
    cr_assert_str_eq (r->host, "box");
    m.type = BATON_CONTROL_HEARTBEAT;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 1250, NULL), BATON_TOPO_REFRESHED);
    cr_assert_eq (baton_topology_tick (s_topo, 1500, NULL, NULL), 0, "heard 250 ms ago");
    cr_assert_eq (baton_topology_tick (s_topo, 1551, NULL, NULL), 1, "3 intervals of silence");
    cr_assert_eq (r->state, BATON_REPLICA_DEAD);
    cr_assert_null (baton_topology_pick (s_topo, 1));
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 1600, NULL), BATON_TOPO_REVIVED);
    cr_assert_eq (baton_topology_pick (s_topo, 1), r);
}

Test (topology, goodbye_removes_only_the_instance_that_says_it)
{
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "old");
    baton_topology_apply (s_topo, &m, NULL, 0, NULL);
    m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "new"); //  restarted
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 10, NULL), BATON_TOPO_REVIVED);
    m = msg (BATON_CONTROL_GOODBYE, "b", "ipc:///tmp/b0", "old");
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 20, NULL), BATON_TOPO_IGNORED);
    cr_assert_not_null (baton_topology_pick (s_topo, 1));
    m = msg (BATON_CONTROL_GOODBYE, "b", "ipc:///tmp/b0", "new");
    baton_replica_t *r;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 30, &r), BATON_TOPO_REMOVED);
    cr_assert_eq (r->state, BATON_REPLICA_DRAINING, "it finishes what it holds");
    cr_assert_null (baton_topology_pick (s_topo, 1));
    //  Once it stops heartbeating it is dead; back when it heartbeats again.
    cr_assert_eq (baton_topology_tick (s_topo, 400, NULL, NULL), 1);
    cr_assert_eq (r->state, BATON_REPLICA_DEAD);
    m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "newer");
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 500, NULL), BATON_TOPO_REVIVED);
    cr_assert_eq (baton_topology_pick (s_topo, 1), r);
}

//  With CURVE: whoever announced an instance is the only one that speaks for it.
Test (topology, only_the_announcing_key_speaks_for_an_instance)
{
    uint8_t k1[BATON_KEY_SIZE], k2[BATON_KEY_SIZE];
    memset (k1, 1, sizeof k1);
    memset (k2, 2, sizeof k2);
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "i1");
    baton_replica_t *r;
    cr_assert_eq (baton_topology_apply (s_topo, &m, k1, 0, &r), BATON_TOPO_ADDED);
    cr_assert (r->has_key && r->key[0] == 1);
    m.type = BATON_CONTROL_HEARTBEAT;
    cr_assert_eq (baton_topology_apply (s_topo, &m, k2, 10, NULL), BATON_TOPO_REFUSED);
    cr_assert_eq (r->last_seen_ms, 0, "a refused heartbeat changes nothing");
    m.type = BATON_CONTROL_ANNOUNCE;
    cr_assert_eq (baton_topology_apply (s_topo, &m, k2, 10, NULL), BATON_TOPO_REFUSED);
    m.type = BATON_CONTROL_GOODBYE;
    cr_assert_eq (baton_topology_apply (s_topo, &m, k2, 20, NULL), BATON_TOPO_REFUSED);
    cr_assert_eq (r->state, BATON_REPLICA_ALIVE);
    cr_assert_eq (r->key[0], 1);
    m.type = BATON_CONTROL_HEARTBEAT;
    cr_assert_eq (baton_topology_apply (s_topo, &m, k1, 30, NULL), BATON_TOPO_REFRESHED);
    //  A restart (a new instance) may come with a new key: the key rotated.
    m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "i2");
    cr_assert_eq (baton_topology_apply (s_topo, &m, k2, 40, NULL), BATON_TOPO_REVIVED);
    cr_assert_eq (r->key[0], 2);
    m.type = BATON_CONTROL_GOODBYE;
    cr_assert_eq (baton_topology_apply (s_topo, &m, k1, 50, NULL), BATON_TOPO_REFUSED);
    cr_assert_eq (baton_topology_apply (s_topo, &m, k2, 60, NULL), BATON_TOPO_REMOVED);
}

Test (topology, unknown_functions_are_ignored)
{
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "zzz", "ipc:///tmp/z", "i");
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 0, NULL), BATON_TOPO_IGNORED);
}

static int s_changes;
static int s_dead_when_told; //  replicas of a already dead at the first call
static baton_replica_state_t s_before;

static void
s_on_change (baton_replica_t *r, baton_replica_state_t before, void *arg)
{
    (void) r;
    (void) arg;
    if (s_changes++ == 0)
        for (size_t i = 0; i < baton_topology_count (s_topo, 0); i++)
            s_dead_when_told += baton_topology_at (s_topo, 0, i)->state == BATON_REPLICA_DEAD;
    s_before = before;
}

//  A host that goes away takes all its replicas at once: a request retried
//  because of the first must not be sent to the second.
Test (topology, a_tick_marks_every_dead_replica_before_telling_any)
{
    baton_control_msg_t m0 = msg (BATON_CONTROL_HEARTBEAT, "a", "inproc://a0", "i0");
    baton_control_msg_t m1 = msg (BATON_CONTROL_HEARTBEAT, "a", "inproc://a1", "i1");
    baton_topology_apply (s_topo, &m0, NULL, 0, NULL);
    baton_topology_apply (s_topo, &m1, NULL, 0, NULL);
    cr_assert_eq (baton_topology_tick (s_topo, 400, s_on_change, NULL), 2);
    cr_assert_eq (s_changes, 2);
    cr_assert_eq (s_dead_when_told, 2);
}

Test (topology, timeouts_judge_nothing_probes_do)
{
    baton_replica_t *r = baton_topology_at (s_topo, 0, 0);
    for (int i = 0; i < 10; i++) {
        baton_topology_acquire (r);
        baton_topology_release (r);
    }
    cr_assert_eq (r->state, BATON_REPLICA_ALIVE);
    cr_assert_eq (r->outstanding, 0);
    cr_assert_eq (r->routed, 10);
    baton_replica_change_t change;
    cr_assert (baton_topology_set_state (r, BATON_REPLICA_EJECTED, &change));
    cr_assert_eq (change.replica, r);
    cr_assert_eq (change.before, BATON_REPLICA_ALIVE);
    cr_assert_eq (r->ejections, 1);
    cr_assert_not (baton_topology_set_state (r, BATON_REPLICA_EJECTED, &change), "no change");
    for (int i = 0; i < 4; i++)
        cr_assert_neq (baton_topology_pick (s_topo, 0), r);
    //  Ejection has no end by time: it ends when a probe answers.
    cr_assert_eq (baton_topology_tick (s_topo, 1000000, NULL, NULL), 0);
    cr_assert_eq (r->state, BATON_REPLICA_EJECTED);
    cr_assert (baton_topology_set_state (r, BATON_REPLICA_ALIVE, &change));
    cr_assert_eq (r->state, BATON_REPLICA_ALIVE);
}

Test (topology, a_static_replica_that_heartbeats_is_watched)
{
    baton_replica_t *r = baton_topology_at (s_topo, 0, 0);
    cr_assert_eq (baton_topology_tick (s_topo, 100000, NULL, NULL), 0, "silent statics stay");
    //  Its first heartbeat finds its entry by endpoint.
    baton_control_msg_t m = msg (BATON_CONTROL_HEARTBEAT, "a", "inproc://a0", "i1");
    baton_replica_t *got;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 1000, &got), BATON_TOPO_REVIVED);
    cr_assert_eq (got, r);
    cr_assert (r->is_static);
    cr_assert_eq (baton_topology_count (s_topo, 0), 2, "no new replica");
    cr_assert_eq (baton_topology_tick (s_topo, 1300, s_on_change, NULL), 0);
    cr_assert_eq (baton_topology_tick (s_topo, 1301, s_on_change, NULL), 1, "3 intervals");
    cr_assert_eq (r->state, BATON_REPLICA_DEAD);
    cr_assert_eq (s_before, BATON_REPLICA_ALIVE);
    //  Back by a probe: no longer watched by heartbeats until it sends one.
    baton_replica_change_t change;
    baton_topology_set_state (r, BATON_REPLICA_ALIVE, &change);
    cr_assert_eq (r->interval_ms, 0);
    cr_assert_eq (baton_topology_tick (s_topo, 5000, NULL, NULL), 0);
    cr_assert_eq (r->state, BATON_REPLICA_ALIVE);
}

Test (topology, a_returning_replica_is_alive_whatever_its_ejection)
{
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "i1");
    baton_replica_t *r;
    baton_topology_apply (s_topo, &m, NULL, 0, &r);
    baton_replica_change_t change;
    baton_topology_set_state (r, BATON_REPLICA_EJECTED, &change);
    m.type = BATON_CONTROL_HEARTBEAT;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 100, NULL), BATON_TOPO_REFRESHED);
    cr_assert_eq (r->state, BATON_REPLICA_EJECTED, "a heartbeat says alive, not healthy");
    m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "i2"); //  restarted
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 200, NULL), BATON_TOPO_REVIVED);
    cr_assert_eq (r->state, BATON_REPLICA_ALIVE);
    cr_assert_eq (baton_topology_pick (s_topo, 1), r);
}

Test (topology, a_full_pool_refuses_more_replicas)
{
    char ep[64];
    for (int i = 0; i < BATON_TOPOLOGY_MAX_REPLICAS; i++) {
        snprintf (ep, sizeof ep, "ipc:///tmp/b%d", i);
        baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", ep, "i");
        cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 0, NULL), BATON_TOPO_ADDED);
    }
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/extra", "i");
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 0, NULL), BATON_TOPO_FULL);
    //  Once one is dead its slot is reused.
    baton_topology_tick (s_topo, 10000, NULL, NULL);
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 10000, NULL), BATON_TOPO_ADDED);
}

Test (topology, held_and_weightless_replicas_are_never_picked)
{
    baton_replica_t *a0 = baton_topology_at (s_topo, 0, 0), *a1 = baton_topology_at (s_topo, 0, 1);
    cr_assert_eq (a0->weight, BATON_TOPOLOGY_WEIGHT);
    a0->held = true;
    for (int i = 0; i < 4; i++)
        cr_assert_eq (baton_topology_pick (s_topo, 0), a1);
    a1->weight = 0;
    cr_assert_null (baton_topology_pick (s_topo, 0), "neither may take a request");
    cr_assert_not (baton_topology_has_alive (s_topo, 0, NULL));
    a0->held = false;
    cr_assert_eq (baton_topology_pick (s_topo, 0), a0);
}

Test (topology, weights_divide_the_load)
{
    baton_replica_t *a0 = baton_topology_at (s_topo, 0, 0), *a1 = baton_topology_at (s_topo, 0, 1);
    a0->weight = 300;
    int on_a0 = 0;
    //  Requests that stay outstanding: the heavier takes three for one.
    for (int i = 0; i < 40; i++) {
        baton_replica_t *r = baton_topology_pick (s_topo, 0);
        baton_topology_acquire (r);
        on_a0 += r == a0;
    }
    cr_assert_eq (on_a0, 30, "%d of 40", on_a0);
    cr_assert_eq (a1->outstanding, 10);
}

//  A reload's config: a dropped (b), a kept and moved (a, one static endpoint
//  dropped, one added), a new function (c).
static const char *s_next_yaml = "functions:\n"
                                 "  c:\n"
                                 "    endpoints: [inproc://c0]\n"
                                 "  a:\n"
                                 "    endpoints: [inproc://a1, inproc://a2]\n"
                                 "routes:\n"
                                 "  - path: /x\n"
                                 "    chain: [a, c]\n";

static baton_config_t *
s_next_config (void)
{
    char err[BATON_CONFIG_MAX_ERROR];
    baton_config_t *c =
        baton_config_parse (s_next_yaml, strlen (s_next_yaml), "n.yaml", err, sizeof err);
    cr_assert_not_null (c, "%s", err);
    return c;
}

Test (topology, a_reload_remaps_functions_by_name)
{
    baton_replica_t *a0 = baton_topology_at (s_topo, 0, 0), *a1 = baton_topology_at (s_topo, 0, 1);
    a1->held = true;
    a1->weight = 50;
    a1->user = (void *) a1;
    baton_topology_acquire (a1);
    baton_topology_acquire (a0); //  a request in flight holds it
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "b", "ipc:///tmp/b0", "i1");
    baton_replica_t *b0;
    baton_topology_apply (s_topo, &m, NULL, 0, &b0);
    baton_topology_acquire (b0);
    const baton_config_function_t *old_a = baton_config_function (s_config, 0);
    const baton_config_function_t *old_b = baton_config_function (s_config, 1);

    baton_config_t *next = s_next_config ();
    baton_topology_opts_t opts = {3};
    baton_topology_reconfigure (s_topo, next, &opts);
    cr_assert_eq (baton_topology_config (s_topo), next);
    //  a is function 1 now: a1 kept with all it had, a2 new, a0 dropped.
    cr_assert_eq (baton_topology_count (s_topo, 1), 2);
    cr_assert_eq (baton_topology_at (s_topo, 1, 0), a1, "the same replica, not a copy");
    cr_assert_eq (a1->function, 1);
    cr_assert (a1->held && a1->weight == 50 && a1->outstanding == 1 && a1->user == a1);
    baton_replica_t *a2 = baton_topology_at (s_topo, 1, 1);
    cr_assert_str_eq (a2->endpoint, "inproc://a2");
    cr_assert (a2->is_static && a2->state == BATON_REPLICA_ALIVE && !a2->user);
    cr_assert_eq (a2->weight, BATON_TOPOLOGY_WEIGHT);
    //  c is new, with its static replica; b is gone.
    cr_assert_eq (baton_topology_count (s_topo, 0), 1);
    cr_assert_str_eq (baton_topology_at (s_topo, 0, 0)->function_name, "c");
    //  A route of the old config still finds its functions by name.
    cr_assert_eq (baton_topology_function (s_topo, old_a), 1);
    cr_assert_eq (baton_topology_function (s_topo, old_b), BATON_TOPOLOGY_NO_FUNCTION);
    cr_assert_eq (baton_topology_function (s_topo, baton_config_function (next, 1)), 1);
    cr_assert_null (baton_topology_pick (s_topo, BATON_TOPOLOGY_NO_FUNCTION));
    //  The removed (a0, b0) are held by their requests: kept until released.
    cr_assert_eq (b0->function, BATON_TOPOLOGY_NO_FUNCTION);
    cr_assert_eq (baton_topology_removed (s_topo), 2);
    baton_topology_tick (s_topo, 0, NULL, NULL);
    cr_assert_eq (baton_topology_removed (s_topo), 2);
    cr_assert_eq (baton_topology_pick (s_topo, 1), a2, "a1 is held, a0 gone");
    baton_topology_release (a0);
    baton_topology_release (b0);
    baton_topology_tick (s_topo, 0, NULL, NULL);
    cr_assert_eq (baton_topology_removed (s_topo), 0, "freed once no request holds them");
    //  The old config may go now; the topology lives on the new one.
    baton_config_destroy (&s_config);
    s_config = next;
}

Test (topology, a_reload_keeps_an_announced_replica_on_a_dropped_static_endpoint)
{
    baton_control_msg_t m = msg (BATON_CONTROL_HEARTBEAT, "a", "inproc://a0", "i0");
    baton_replica_t *a0;
    baton_topology_apply (s_topo, &m, NULL, 0, &a0);
    cr_assert (a0->is_static && a0->instance[0]);
    baton_config_t *next = s_next_config ();
    baton_topology_reconfigure (s_topo, next, NULL);
    cr_assert_eq (baton_topology_count (s_topo, 1), 3, "a0 stays, as announced");
    cr_assert_eq (baton_topology_at (s_topo, 1, 0), a0);
    cr_assert_not (a0->is_static);
    baton_config_destroy (&s_config);
    s_config = next;
}

Test (control, round_trip)
{
    baton_control_msg_t m = msg (BATON_CONTROL_HEARTBEAT, "enrich", "tcp://10.0.0.1:5702", "abc");
    snprintf (m.version, sizeof m.version, "1.2.3");
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    size_t n = baton__control_encode (&m, buf, sizeof buf);
    cr_assert_gt (n, 0);
    baton_control_msg_t d;
    cr_assert_eq (baton__control_decode (buf, n, &d), 0);
    cr_assert_eq (d.type, BATON_CONTROL_HEARTBEAT);
    cr_assert_str_eq (d.function, "enrich");
    cr_assert_str_eq (d.endpoint, "tcp://10.0.0.1:5702");
    cr_assert_str_eq (d.instance, "abc");
    cr_assert_str_eq (d.version, "1.2.3");
    cr_assert_str_eq (d.zone, "", "no zone: none sent");
    cr_assert_eq (d.pid, 42);
    cr_assert_eq (d.interval_ms, 100);
    //  Every truncation fails cleanly.
    for (size_t cut = 0; cut < n; cut++)
        cr_assert_neq (baton__control_decode (buf, cut, &d), 0, "prefix %zu accepted", cut);
}

Test (control, rejects_hostile_and_incomplete_messages)
{
    baton_control_msg_t d;
    const unsigned char lie[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    cr_assert_eq (baton__control_decode (lie, sizeof lie, &d), BATON_ECOUNT);
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "f", "inproc://f", "i");
    m.interval_ms = 0;
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    cr_assert_eq (baton__control_encode (&m, buf, sizeof buf), 0, "interval is required");
    m.interval_ms = 5;
    size_t n = baton__control_encode (&m, buf, sizeof buf);
    cr_assert_eq (baton__control_encode (&m, buf, n - 1), 0, "short buffer");
    //  A control byte in a name would reach logs and JSON.
    unsigned char *box = memmem (buf, n, "box", 3);
    cr_assert_not_null (box);
    box[1] = 0x01;
    cr_assert_neq (baton__control_decode (buf, n, &d), 0);
}

//  A known key twice is refused, not read as its last value (the fuzzer
//  found "v" and "endpoint" twice accepted, the endpoint read as "v1").
Test (control, a_known_key_twice_is_refused)
{
    baton_control_msg_t m = msg (BATON_CONTROL_HEARTBEAT, "f", "tcp://10.0.0.7:7001", "i");
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    size_t n = baton__control_encode (&m, buf, sizeof buf);
    cr_assert_eq (buf[0], 0x89, "9 keys");
    baton_control_msg_t d;
    //  One more pair: a key Baton does not know is ignored, even twice.
    unsigned char more[BATON_CONTROL_MAX_SIZE];
    const unsigned char unknown[] = {0xa3, 'x', 'y', 'z', 0x01, 0xa3, 'x', 'y', 'z', 0x02};
    memcpy (more, buf, n);
    more[0] = 0x8b;
    memcpy (more + n, unknown, sizeof unknown);
    cr_assert_eq (baton__control_decode (more, n + sizeof unknown, &d), 0);
    cr_assert_str_eq (d.endpoint, "tcp://10.0.0.7:7001");
    //  A second endpoint.
    const unsigned char again[] = {0xa8, 'e', 'n', 'd', 'p', 'o', 'i', 'n', 't', 0xa2, 'v', '1'};
    memcpy (more, buf, n);
    more[0] = 0x8a;
    memcpy (more + n, again, sizeof again);
    cr_assert_eq (baton__control_decode (more, n + sizeof again, &d), BATON_EDUPKEY);
}

Test (control, zone_travels_only_when_set)
{
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "f", "inproc://f", "i");
    unsigned char buf[BATON_CONTROL_MAX_SIZE];
    size_t plain = baton__control_encode (&m, buf, sizeof buf);
    cr_assert_null (memmem (buf, plain, "zone", 4), "an old gateway sees what it always saw");
    snprintf (m.zone, sizeof m.zone, "eu-west-1a");
    size_t n = baton__control_encode (&m, buf, sizeof buf);
    cr_assert_eq (buf[0], 0x8a, "a tenth key");
    baton_control_msg_t d;
    cr_assert_eq (baton__control_decode (buf, n, &d), 0);
    cr_assert_str_eq (d.zone, "eu-west-1a");
    //  Too long for its field: refused, never cut.
    unsigned char *z = memmem (buf, n, "eu-west-1a", 10);
    cr_assert_not_null (z);
    z[-1] = (unsigned char) (0xa0 | 31); //  claims 31 bytes: runs into the next key
    cr_assert_neq (baton__control_decode (buf, n, &d), 0);
}

//  --- versions and zones ------------------------------------------------------------

//  f: static replicas declared with versions and zones (v1 in z1 and z2,
//  v2 in z1); g: none carries a version; h: unused.
static const char *s_placed_yaml =
    "gateway:\n"
    "  zone: z1\n"
    "  zone_spill_at: 2\n"
    "functions:\n"
    "  f:\n"
    "    endpoints:\n"
    "      - {endpoint: inproc://f0, version: v1, zone: z1}\n"
    "      - {endpoint: inproc://f1, version: v1, zone: z2}\n"
    "      - {endpoint: inproc://f2, version: v2, zone: z1}\n"
    "  g:\n"
    "    endpoints: [inproc://g0, {endpoint: inproc://g1, zone: z2}]\n"
    "routes:\n"
    "  - path: /x\n"
    "    chain: [f, g]\n";

static void
placed_setup (void)
{
    char err[BATON_CONFIG_MAX_ERROR];
    s_config =
        baton_config_parse (s_placed_yaml, strlen (s_placed_yaml), "p.yaml", err, sizeof err);
    cr_assert_not_null (s_config, "%s", err);
    s_topo = baton_topology_new (s_config, NULL);
}

TestSuite (placed, .init = placed_setup, .fini = teardown);

Test (placed, static_entries_carry_version_and_zone)
{
    baton_replica_t *f1 = baton_topology_at (s_topo, 0, 1), *g0 = baton_topology_at (s_topo, 1, 0);
    cr_assert_str_eq (f1->version, "v1");
    cr_assert_str_eq (f1->zone, "z2");
    cr_assert_str_eq (g0->version, "");
    cr_assert_str_eq (g0->zone, "");
    cr_assert (baton_topology_versioned (s_topo, 0));
    cr_assert_not (baton_topology_versioned (s_topo, 1));
}

Test (placed, a_version_is_never_mixed)
{
    baton_replica_t *f2 = baton_topology_at (s_topo, 0, 2);
    for (int i = 0; i < 6; i++) {
        baton_replica_t *r = baton_topology_pick_except (s_topo, 0, "v2", NULL, 0);
        cr_assert_eq (r, f2, "only v2 serves v2");
        baton_topology_acquire (r); //  however loaded it gets
    }
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq (baton_topology_pick_except (s_topo, 0, "v1", NULL, 0)->version, "v1");
    cr_assert_null (baton_topology_pick_except (s_topo, 0, "v3", NULL, 0), "none of v3");
    cr_assert_not (baton_topology_has_alive (s_topo, 0, "v3"));
    cr_assert (baton_topology_has_alive (s_topo, 0, "v2"));
    //  Gone: the request has no replica of its version, not another's.
    f2->state = BATON_REPLICA_EJECTED;
    cr_assert_null (baton_topology_pick_away (s_topo, 0, "v2", NULL));
    cr_assert_not (baton_topology_has_alive (s_topo, 0, "v2"));
}

Test (placed, an_unversioned_function_serves_every_version)
{
    cr_assert_not_null (baton_topology_pick_except (s_topo, 1, "v2", NULL, 0));
    cr_assert (baton_topology_has_alive (s_topo, 1, "v9"));
}

Test (placed, a_dead_versioned_replica_no_longer_versions_its_function)
{
    //  g9 announces with a version, then dies: g is unversioned again.
    baton_control_msg_t m = msg (BATON_CONTROL_ANNOUNCE, "g", "inproc://g9", "i");
    snprintf (m.version, sizeof m.version, "v1");
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 0, NULL), BATON_TOPO_ADDED);
    cr_assert (baton_topology_versioned (s_topo, 1));
    cr_assert_str_eq (baton_topology_pick_except (s_topo, 1, "v1", NULL, 0)->endpoint,
                      "inproc://g9");
    baton_topology_tick (s_topo, 10000, NULL, NULL);
    cr_assert_not (baton_topology_versioned (s_topo, 1));
    cr_assert_not_null (baton_topology_pick_except (s_topo, 1, "v1", NULL, 0));
}

Test (placed, the_local_zone_is_preferred_until_saturated)
{
    baton_replica_t *f0 = baton_topology_at (s_topo, 0, 0), *f1 = baton_topology_at (s_topo, 0, 1);
    //  v1 lives in z1 (f0) and z2 (f1): the gateway's zone wins while it
    //  holds fewer than zone_spill_at (2) outstanding, even when busier.
    for (int i = 0; i < 2; i++) {
        baton_replica_t *r = baton_topology_pick_except (s_topo, 0, "v1", NULL, 0);
        cr_assert_eq (r, f0, "pick %d", i);
        baton_topology_acquire (r);
        baton_topology_count_hop (s_topo, r);
    }
    cr_assert_eq (baton_topology_cross_zone_hops (s_topo, 0), 0);
    //  Saturated, and z2 has fewer: spill over, counted.
    baton_replica_t *r = baton_topology_pick_except (s_topo, 0, "v1", NULL, 0);
    cr_assert_eq (r, f1);
    baton_topology_acquire (r);
    baton_topology_count_hop (s_topo, r);
    cr_assert_eq (baton_topology_cross_zone_hops (s_topo, 0), 1);
    baton_topology_acquire (f1);
    baton_topology_acquire (f1);
    cr_assert_eq (baton_topology_pick_except (s_topo, 0, "v1", NULL, 0), f0,
                  "back home once the remote one is as busy");
    //  The local one gone: the remote one, whatever its load.
    f0->state = BATON_REPLICA_DEAD;
    cr_assert_eq (baton_topology_pick_except (s_topo, 0, "v1", NULL, 0), f1);
    cr_assert_eq (baton_topology_pick_away (s_topo, 0, "v1", f0), f1);
}

Test (placed, replicas_without_a_zone_are_remote)
{
    baton_replica_t *g0 = baton_topology_at (s_topo, 1, 0), *g1 = baton_topology_at (s_topo, 1, 1);
    //  Neither is in z1: the plain least-outstanding pick among them, and
    //  only the one in a known other zone counts as crossing.
    baton_topology_acquire (g0);
    cr_assert_eq (baton_topology_pick (s_topo, 1), g1);
    baton_topology_count_hop (s_topo, g0);
    cr_assert_eq (baton_topology_cross_zone_hops (s_topo, 1), 0);
    baton_topology_count_hop (s_topo, g1);
    cr_assert_eq (baton_topology_cross_zone_hops (s_topo, 1), 1);
}

Test (placed, an_announce_keeps_what_the_entry_declares_unless_it_says)
{
    baton_control_msg_t m = msg (BATON_CONTROL_HEARTBEAT, "f", "inproc://f1", "i");
    baton_replica_t *r;
    cr_assert_eq (baton_topology_apply (s_topo, &m, NULL, 0, &r), BATON_TOPO_REVIVED);
    cr_assert_str_eq (r->version, "v1");
    cr_assert_str_eq (r->zone, "z2");
    snprintf (m.zone, sizeof m.zone, "z3");
    snprintf (m.version, sizeof m.version, "v7");
    baton_topology_apply (s_topo, &m, NULL, 1, &r);
    cr_assert_str_eq (r->version, "v7");
    cr_assert_str_eq (r->zone, "z3");
}

Test (placed, a_reload_takes_the_new_declarations_and_zone)
{
    static const char *next_yaml = "functions:\n"
                                   "  f:\n"
                                   "    endpoints: [{endpoint: inproc://f0, version: v2}]\n"
                                   "routes:\n"
                                   "  - path: /x\n"
                                   "    chain: [f]\n";
    char err[BATON_CONFIG_MAX_ERROR];
    baton_config_t *next =
        baton_config_parse (next_yaml, strlen (next_yaml), "n.yaml", err, sizeof err);
    cr_assert_not_null (next, "%s", err);
    baton_replica_t *f0 = baton_topology_at (s_topo, 0, 0);
    baton_topology_reconfigure (s_topo, next, NULL);
    cr_assert_eq (baton_topology_at (s_topo, 0, 0), f0);
    cr_assert_str_eq (f0->version, "v2");
    cr_assert_str_eq (f0->zone, "");
    //  No gateway zone any more: no hop crosses.
    f0->zone[0] = 'z';
    baton_topology_count_hop (s_topo, f0);
    cr_assert_eq (baton_topology_cross_zone_hops (s_topo, 0), 0);
    baton_config_destroy (&s_config);
    s_config = next;
}
