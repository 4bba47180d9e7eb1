#define _GNU_SOURCE
/*  test_topology.c - control messages and the gateway's replica table:
 *  announce, heartbeat expiry (static replicas that heartbeat too), goodbye
 *  and draining, least-outstanding pick, the states probes set.  */
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
