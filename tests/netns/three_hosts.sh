#!/usr/bin/env bash
#  three_hosts.sh - issue 17's three hosts on one machine: network namespaces
#  A (gateway), B and C (a replica of each function of the chain f1 -> f2 ->
#  f3 on each), D (a second gateway sharing them), on one bridge, addresses in
#  198.18.0.0/15 only, tcp with CURVE. Under load through both gateways it
#  pulls B's cable, then plugs it back, and checks what issue 17 promises.
#      three_hosts.sh BATON FN_TEST BATON_LOAD       (CTest: netns_three_hosts)
#  Exits 0 when every check holds, 1 when one fails, 77 (skipped) when it
#  cannot make namespaces (not root, no iproute2, python3 or curl), saying why.
set -uo pipefail

[ $# -eq 3 ] || { echo "usage: three_hosts.sh BATON FN_TEST BATON_LOAD" >&2; exit 2; }
BATON=$1 FN_TEST=$2 LOAD=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

DEADLINE_MS=2000
CONNS=16 RATE=1000     #  per gateway: a bounded load, that leaves the cores room
CUT_AT=4 UP_AT=8 RUN=12 #  seconds from the start of the load
LIMIT_MS=1000          #  detect and recover within this

skip() { echo "netns_three_hosts: SKIPPED: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to make network namespaces (ip netns add)"
command -v ip >/dev/null || skip "no ip command (Debian: iproute2)"
command -v python3 >/dev/null || skip "no python3 to read /-/topology"
command -v curl >/dev/null || skip "no curl (Debian: curl)"
command -v unshare >/dev/null || skip "no unshare to give each host its own name (Debian: util-linux)"
for b in "$BATON" "$FN_TEST" "$LOAD"; do [ -x "$b" ] || { echo "netns_three_hosts: $b is missing" >&2; exit 1; }; done

#  Namespaces left by a run that was killed (SIGKILL, a CTest timeout) are
#  named after its PID: their processes are stopped and they are deleted.
for old in $(ip netns list 2>/dev/null | sed -n 's/^\(baton-\([0-9]*\)-[a-z]*\).*/\1 \2/p' | tr ' ' ':'); do
    faults_alive "${old#*:}" && continue
    echo "netns_three_hosts: deleting ${old%:*}, left by a run that was killed" >&2
    for pid in $(ip netns pids "${old%:*}" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "${old%:*}" 2>/dev/null || true
done
P=baton-$$
TMP=$(mktemp -d /tmp/baton-netns.XXXXXX)
cleanup() {
    faults_stop_all
    faults_mesh_down
    if [ "${KEEP:-0}" = 1 ]; then faults_log "netns_three_hosts: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
#  The namespaces: the first `ip netns add` failing means this machine cannot.
if ! ip netns add "$P-probe" 2>"$TMP/netns.err"; then
    skip "ip netns add fails here: $(cat "$TMP/netns.err")"
fi
ip netns del "$P-probe"
faults_mesh_up "$P" a b c d || { echo "netns_three_hosts: could not build the hosts" >&2; exit 1; }
A=198.18.0.1 B=198.18.0.2 C=198.18.0.3 D=198.18.0.4
ns() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }
#  What faults_start runs is a command, never a function such as ns: a
#  function would run in a subshell whose PID, stopped, leaves the process.

faults_keys "$TMP/keys" gwa:gateway gwd:gateway f1:function f2:function f3:function \
    || { echo "netns_three_hosts: baton keys new failed" >&2; exit 1; }
#  gateway NAME ADDR: the gateway's config; replicas announce themselves.
gateway_yaml() {
    cat <<EOF
gateway:
  listen: 127.0.0.1:8080
  admin: 127.0.0.1:9090
  reply: tcp://$2:5600
  control: tcp://$2:5601
  deadline: 2s
  drain: 1s
limits:
  requests_per_connection: 1000000
security: {mode: curve, cert: $TMP/keys/$1.key_secret, trust: $TMP/keys}
functions:
  f1:
  f2:
  f3:
routes:
  - path: /chain
    methods: [GET]
    chain: [f1, f2, f3]
    deadline: 2s
EOF
}
gateway_yaml gwa "$A" >"$TMP/a.yaml"
gateway_yaml gwd "$D" >"$TMP/d.yaml"
faults_start "$TMP/gw-a.log" ip netns exec "$P-a" "$BATON" gateway -c "$TMP/a.yaml"
faults_start "$TMP/gw-d.log" ip netns exec "$P-d" "$BATON" gateway -c "$TMP/d.yaml"
#  A host of its own has a hostname of its own, which replicas announce and
#  the gateway retries away from: `ip netns exec` shares this machine's, so
#  each replica gets a UTS namespace named after its host (ip, unshare and sh
#  exec: the PID is the replica's).
# shellcheck disable=SC2016 # expanded by the sh that runs it
NAMED='hostname "$0" && exec "$@"'
for h in b c; do
    addr=$B
    [ $h = c ] && addr=$C
    for f in f1 f2 f3; do
        faults_start "$TMP/$h-$f.log" ip netns exec "$P-$h" unshare --uts sh -c "$NAMED" "baton-$h" \
            env BATON_NAME=$f BATON_BIND="tcp://$addr:57${f#f}0" \
            BATON_CERT="$TMP/keys/$f.key_secret" BATON_TRUST="$TMP/keys" \
            BATON_GATEWAY="gwa@tcp://$A:5601,gwd@tcp://$D:5601" "$FN_TEST"
    done
done
TOPO=http://127.0.0.1:9090/-/topology
for h in a d; do
    ns $h python3 "$HERE/watch.py" wait "$TOPO" 6 15 || {
        echo "netns_three_hosts: gateway $h does not see the 6 replicas alive within 15 s" >&2
        tail -n 20 "$TMP"/gw-$h.log "$TMP"/b-f1.log >&2
        exit 1
    }
done
#  The instance of each gateway: the part of X-Request-Id before '-'.
instance() { ns "$1" curl -s -o /dev/null -D - --max-time 5 http://127.0.0.1:8080/chain | tr -d '\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: \([^-]*\)-.*/\1/p'; }
INST_A=$(instance a) INST_D=$(instance d)
if [ -z "$INST_A" ] || [ -z "$INST_D" ]; then echo "netns_three_hosts: a gateway does not answer GET /chain" >&2; exit 1; fi

#  The run: load through both gateways, B's cable pulled at CUT_AT, back at UP_AT.
faults_start "$TMP/watch-a.log" ip netns exec "$P-a" python3 "$HERE/watch.py" poll "$TOPO" "$TMP/topo-a.txt"
WATCH_A=$FAULTS_LAST
faults_start "$TMP/watch-d.log" ip netns exec "$P-d" python3 "$HERE/watch.py" poll "$TOPO" "$TMP/topo-d.txt"
WATCH_D=$FAULTS_LAST
T0=$(faults_now_us)
faults_start "$TMP/load-a.err" ip netns exec "$P-a" "$LOAD" -r $RATE 8080 /chain $CONNS $((RUN * 1000)) 6000 "$TMP/load-a.txt" "$B:"
LOAD_A=$FAULTS_LAST
faults_start "$TMP/load-d.err" ip netns exec "$P-d" "$LOAD" -r $RATE 8080 /chain $CONNS $((RUN * 1000)) 6000 "$TMP/load-d.txt" "$B:"
LOAD_D=$FAULTS_LAST
faults_sleep_until $((T0 + CUT_AT * 1000000))
T_CUT=$(faults_now_us)
faults_link "$P" b down
faults_sleep_until $((T0 + UP_AT * 1000000))
T_UP=$(faults_now_us)
faults_link "$P" b up
wait "$LOAD_A" "$LOAD_D"
sleep 0.2
faults_stop "$WATCH_A"
faults_stop "$WATCH_D"

#  --- figures and checks --------------------------------------------------------------------
FAILED=0
check() { #  check OK DESCRIPTION
    if [ "$1" = 1 ]; then echo "  ok    $2"; else echo "  FAIL  $2"; FAILED=1; fi
}
le() { [ "$1" != never ] && [ "$1" -le "$2" ] && echo 1 || echo 0; }
echo "netns_three_hosts: B's cable pulled at +$(((T_CUT - T0) / 1000)) ms, plugged back at +$(((T_UP - T0) / 1000)) ms; $CONNS connections and at most $RATE requests a second per gateway, deadline $DEADLINE_MS ms"
for g in a d; do
    G=${g^^}
    inst=$INST_A
    [ $g = d ] && inst=$INST_D
    rep=$(faults_load_report "$TMP/load-$g.txt" $DEADLINE_MS "$T_UP")
    total=$(faults_get "$rep" total) ok=$(faults_get "$rep" ok) late=$(faults_get "$rep" late)
    out=$(faults_topo_out "$TMP/topo-$g.txt" "$B:" "$T_CUT")
    back=$(faults_topo_back "$TMP/topo-$g.txt" "$B:" "$T_UP" 3)
    r1=$(faults_topo_routed "$TMP/topo-$g.txt" "$B:" $((T_CUT + LIMIT_MS * 1000)))
    r2=$(faults_topo_routed "$TMP/topo-$g.txt" "$B:" $((T_UP - 50000)))
    r3=$(faults_topo_routed "$TMP/topo-$g.txt" "$B:" $((T0 + RUN * 1000000 - 100000)))
    #  Answers that carry another gateway's request id, and requests never answered.
    other=$(awk -v i="$inst" '$3 != 0 && $5 != "-" && $5 != i { n++ } END { print n + 0 }' "$TMP/load-$g.txt")
    lost=$(awk '$3 == 0 { n++ } END { print n + 0 }' "$TMP/load-$g.txt")
    via_b=$(awk -v t="$T_UP" '$1 >= t && $4 == 1 { n++ } END { print n + 0 }' "$TMP/load-$g.txt")
    echo "gateway $G (instance $inst): $total requests, by status $(faults_get "$rep" status); slowest $(faults_get "$rep" max_ms) ms, $(faults_get "$rep" whole) waited the whole deadline, $late after it; longest without a 200: $(faults_get "$rep" gap_ms) ms"
    echo "  B's replicas out $out ms after the cut, back $back ms after the link came up; routed through B: $r1 at cut+${LIMIT_MS}ms, $r2 before the link came up, $r3 at the end; $via_b answers through B after it came back"
    check "$(le "$out" $LIMIT_MS)" "$G: B's replicas are out of rotation within $LIMIT_MS ms of the cut ($out ms)"
    check "$([ "$r1" = "$r2" ] && echo 1 || echo 0)" "$G: nothing is sent to B from cut+$LIMIT_MS ms until the link comes up ($r1 -> $r2 routed)"
    check "$([ "$total" -gt 0 ] && [ "$ok" = "$total" ] && echo 1 || echo 0)" "$G: every GET is answered 2xx, those caught on B retried on C ($ok of $total)"
    [ "$ok" = "$total" ] || sed -n 's/^baton_load: +/    not 2xx: +/p' "$TMP/load-$g.err"
    check "$([ "$late" = 0 ] && echo 1 || echo 0)" "$G: no request waits past its deadline + $FAULTS_SLACK_MS ms ($late did)"
    check "$(le "$back" $LIMIT_MS)" "$G: B's replicas are back within $LIMIT_MS ms of the link coming up ($back ms)"
    check "$([ "$r3" -gt "$r2" ] && [ "$via_b" -gt 0 ] && echo 1 || echo 0)" "$G: B serves again after it came back ($via_b answers through B)"
    check "$([ "$other" = 0 ] && [ "$lost" = 0 ] && echo 1 || echo 0)" "$G: every reply reaches the gateway that asked ($((total - lost)) of $total answered by $G, $other with another gateway's id)"
done
for g in a d; do
    ns $g curl -s --max-time 5 -o "$TMP/metrics-$g.txt" http://127.0.0.1:9090/-/metrics
    refused=$(faults_metric "$TMP/metrics-$g.txt" baton_replies_refused_total)
    echo "${g^^}'s /-/metrics: $(faults_metrics_line "$TMP/metrics-$g.txt")"
    check "$([ "$refused" = 0 ] && echo 1 || echo 0)" "${g^^}: no reply refused by the gateway ($refused)"
done
if [ "$FAILED" = 1 ]; then
    echo "netns_three_hosts: FAILED (run it with KEEP=1 to keep the logs)"
    exit 1
fi
echo "netns_three_hosts: passed"
