/*  replicas.c - the gateway's side of the replicas' lives: the control
 *  channel (announce, heartbeat, goodbye; who may say what), and the 50 ms
 *  tick that finds the dead, sends probes and ends overrides; a replica
 *  that dies or is ejected takes its requests with it (retried or failed
 *  at once).  */
#include <string.h>
#include <zmq.h>
#include "admin/overrides.h"
#include "config/values.h"
#include "gateway_int.h"

static baton_ratelimit_t s_control_rl = BATON_RATELIMIT_INIT (5, 1000);

//  Counts and logs (rate-limited) a control message not applied, with what
//  is known of its sender: address, identity, key.
static void
s_control_refuse (baton_gateway_t *gw, const zmq_msg_t *msg, const baton_control_msg_t *m,
                  baton_control_refusal_t why, const char *what)
{
    baton_metrics_control_refused (gw->metrics, why);
    if (!baton__ratelimit_allow (&s_control_rl))
        return;
    char qep[300], who[300];
    baton__log (BATON_LOG_WARN, S_COMP, what, "type=%s fn=%s endpoint=%s instance=%s %s",
                baton__control_type_name (m->type), m->function,
                baton__log_quote (qep, sizeof qep, m->endpoint, strlen (m->endpoint)), m->instance,
                baton__zap_describe (msg, who, sizeof who));
}

//  Who may say m: with CURVE, only a key of function m->function, whose key
//  goes into *key_p (NULL in plaintext); in a plaintext mesh that is not
//  insecure, only for an endpoint on this machine. Refuses (counts, logs)
//  and returns false otherwise.
static bool
s_control_allowed (baton_gateway_t *gw, const zmq_msg_t *msg, const baton_control_msg_t *m,
                   uint8_t key[BATON_KEY_SIZE], const uint8_t **key_p)
{
    *key_p = NULL;
    if (gw->zap) {
        baton_peer_t peer;
        if (baton__zap_peer (msg, &peer) != 0 || peer.role != BATON_ROLE_FUNCTION ||
            strlen (m->function) != peer.name_len ||
            memcmp (m->function, peer.name, peer.name_len) != 0 ||
            baton__zap_peer_key (msg, key) != 0) {
            s_control_refuse (gw, msg, m, BATON_CONTROL_REFUSED_IDENTITY,
                              "control message refused: not from a key of that function");
            return false;
        }
        *key_p = key;
    } else if (baton_config_security (gw->config)->mode == BATON_SECURITY_NONE &&
               !baton_value_endpoint_is_local (m->endpoint)) {
        s_control_refuse (gw, msg, m, BATON_CONTROL_REFUSED_ENDPOINT,
                          "control message refused: a plaintext mesh stays on this machine "
                          "(set security:)");
        return false;
    }
    return true;
}

static void
s_on_control (void *arg, zmq_msg_t *msg)
{
    baton_gateway_t *gw = (baton_gateway_t *) arg;
    const void *data = zmq_msg_data (msg);
    size_t len = zmq_msg_size (msg);
    baton_control_msg_t m;
    int rc = baton__control_decode (data, len, &m);
    if (rc) {
        baton_metrics_control_refused (gw->metrics, BATON_CONTROL_REFUSED_MALFORMED);
        if (baton__ratelimit_allow (&s_control_rl))
            baton__log (BATON_LOG_WARN, S_COMP, "control message dropped", "error=%s size=%zu",
                        baton_errname (rc), len);
        return;
    }
    uint8_t key[BATON_KEY_SIZE];
    const uint8_t *from;
    if (!s_control_allowed (gw, msg, &m, key, &from))
        return;
    baton_replica_t *r;
    baton_topo_event_t ev = baton_topology_apply (gw->topo, &m, from, baton_topology_now_ms (), &r);
    if (ev == BATON_TOPO_REFUSED) {
        s_control_refuse (gw, msg, &m, BATON_CONTROL_REFUSED_KEY,
                          "control message refused: another key announced this instance");
        return;
    }
    if (ev == BATON_TOPO_ADDED || ev == BATON_TOPO_REVIVED) {
        if (baton_dispatch_connect (gw->dispatch, r) != 0) {
            //  An endpoint we cannot even connect to is no replica.
            r->state = BATON_REPLICA_DEAD;
            baton_topology_log (r, "announced endpoint does not connect", BATON_LOG_WARN);
            return;
        }
        if (ev == BATON_TOPO_ADDED)
            baton_overrides_replica_added (gw->overrides, r);
        baton_topology_log (r, ev == BATON_TOPO_ADDED ? "replica joined" : "replica back",
                            BATON_LOG_INFO);
    } else if (ev == BATON_TOPO_REMOVED)
        baton_topology_log (r, "replica left (goodbye): draining", BATON_LOG_INFO);
    else if (ev == BATON_TOPO_FULL && baton__ratelimit_allow (&s_control_rl))
        baton__log (BATON_LOG_WARN, S_COMP, "announce refused: too many replicas", "fn=%s max=%d",
                    m.function, BATON_TOPOLOGY_MAX_REPLICAS);
    else if (ev == BATON_TOPO_IGNORED && m.type == BATON_CONTROL_ANNOUNCE &&
             baton__ratelimit_allow (&s_control_rl))
        baton__log (BATON_LOG_WARN, S_COMP, "announce ignored: no such function in the config",
                    "fn=%s", m.function);
}

void
baton__gw_on_control_ready (uv_poll_t *p, int status, int events)
{
    (void) status;
    (void) events;
    baton_gateway_t *gw = (baton_gateway_t *) p->data;
    baton__zmq_drain (gw->control_sock, s_on_control, gw);
}

//  r went from before to its state (missed heartbeats, or a probe): logged;
//  one that died or was ejected takes with it the requests routed through
//  it (retried or answered at once), but for one that said goodbye first:
//  it finished what it held.
void
baton__gw_on_replica_change (baton_replica_t *r, baton_replica_state_t before, void *arg)
{
    baton_gateway_t *gw = (baton_gateway_t *) arg;
    const char *what = r->state == BATON_REPLICA_ALIVE ? "replica back in rotation (probe answered)"
                       : r->state == BATON_REPLICA_EJECTED ? "replica ejected (probe failed)"
                       : before == BATON_REPLICA_DRAINING  ? "replica gone (drained)"
                                                           : "replica dead (missed heartbeats)";
    baton_topology_log (r, what, r->state == BATON_REPLICA_ALIVE ? BATON_LOG_INFO : BATON_LOG_WARN);
    if ((r->state == BATON_REPLICA_DEAD || r->state == BATON_REPLICA_EJECTED) &&
        before != BATON_REPLICA_DRAINING)
        baton_dispatch_replica_down (gw->dispatch, r);
}

void
baton__gw_on_topo_tick (uv_timer_t *t)
{
    baton_gateway_t *gw = (baton_gateway_t *) t->data;
    uint64_t now = baton_topology_now_ms ();
    baton_topology_tick (gw->topo, now, baton__gw_on_replica_change, gw);
    baton_probes_tick (gw->probes, now);
    baton_overrides_tick (gw->overrides, now);
}
