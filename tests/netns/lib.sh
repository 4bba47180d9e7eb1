# shellcheck shell=bash
#  tests/netns/lib.sh - what the fault tests share (tests/netns/three_hosts.sh
#  and bench/faults): processes started and stopped by PID, hosts made of
#  network namespaces on one bridge (198.18.0.0/15 only), and the figures read
#  from baton_load's lines and watch.py's topology lines. Sourced, never run.

FAULTS_PIDS=()
FAULTS_NETNS=()
FAULTS_SLACK_MS=100 #  a reply later than deadline + this counts as after its deadline

faults_log() { printf '%s\n' "$*" >&2; }
#  CLOCK_REALTIME in microseconds, as baton_load and watch.py write it.
faults_now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
#  faults_sleep_until T_US: sleeps until the realtime clock reaches T_US.
faults_sleep_until() {
    local left=$(($1 - $(faults_now_us)))
    ((left <= 0)) || sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
}

#  faults_start LOG CMD...: runs CMD in the background, output to LOG; its PID
#  is recorded for faults_stop_all and left in FAULTS_LAST.
faults_start() {
    local logf=$1
    shift
    "$@" >"$logf" 2>&1 &
    FAULTS_LAST=$!
    FAULTS_PIDS+=("$FAULTS_LAST")
}
faults_alive() { kill -0 "$1" 2>/dev/null; }
#  faults_stop PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (5); reaps it.
faults_stop() {
    local pid=$1 end=$((SECONDS + ${2:-5}))
    kill -TERM "$pid" 2>/dev/null || true
    while faults_alive "$pid" && ((SECONDS < end)); do sleep 0.05; done
    if faults_alive "$pid"; then
        faults_log "faults: pid $pid ignored SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
#  Stops every process faults_start started, newest first.
faults_stop_all() {
    local i
    for ((i = ${#FAULTS_PIDS[@]} - 1; i >= 0; i--)); do faults_stop "${FAULTS_PIDS[i]}"; done
    FAULTS_PIDS=()
}

#  faults_keys DIR NAME:ROLE...: a CURVE key set made by `baton keys new` (BATON
#  is the CLI) in DIR, which then is the trust store too.
faults_keys() {
    local dir=$1 k
    shift
    for k in "$@"; do
        "$BATON" keys new "${k%%:*}" --role "${k#*:}" --dir "$dir" >/dev/null || return 1
    done
}

#  --- hosts: network namespaces on one bridge -------------------------------------------------
#  faults_mesh_up PREFIX HOST...: namespace PREFIX-br holds the bridge; each
#  HOST (the Nth, from 1) is namespace PREFIX-HOST with lo up and eth0 at
#  198.18.0.N/24, joined to the bridge by a veth whose bridge end is named
#  HOST. Returns non-zero at the first step that fails (the caller cleans up).
faults_mesh_up() {
    local prefix=$1 h n=0
    shift
    ip netns add "$prefix-br" || return 1
    FAULTS_NETNS+=("$prefix-br")
    ip -n "$prefix-br" link add name br0 type bridge || return 1
    ip -n "$prefix-br" link set br0 up || return 1
    for h in "$@"; do
        n=$((n + 1))
        ip netns add "$prefix-$h" || return 1
        FAULTS_NETNS+=("$prefix-$h")
        ip -n "$prefix-$h" link set lo up || return 1
        ip -n "$prefix-br" link add name "$h" type veth peer name eth0 netns "$prefix-$h" || return 1
        ip -n "$prefix-br" link set dev "$h" master br0 up || return 1
        ip -n "$prefix-$h" addr add "198.18.0.$n/24" dev eth0 || return 1
        ip -n "$prefix-$h" link set eth0 up || return 1
    done
}
#  faults_link PREFIX HOST up|down: plugs or pulls HOST's cable (the bridge end).
faults_link() { ip -n "$1-br" link set dev "$2" "$3"; }
#  Deletes every namespace faults_mesh_up made (stop their processes first).
faults_mesh_down() {
    local ns
    for ns in "${FAULTS_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    FAULTS_NETNS=()
}

#  --- figures ------------------------------------------------------------------------------
#  faults_load_report LOG DEADLINE_MS [RESTART_US]: one line of key=value read
#  from baton_load's LOG: total, ok (2xx), status (status:count,...; 0 = no
#  answer), late (answered later than deadline + FAULTS_SLACK_MS), whole (waited
#  the whole deadline or more), max_ms (the slowest answer), gap_ms (the longest
#  time between two 200s, or from the last 200 to the end) and gap_at_s (when it
#  began, from the first request), recover_ms (from RESTART_US to the first 200
#  through the marked replica among requests started after it; never if none).
faults_load_report() {
    sort -n -k2 "$1" | awk -v d="$2" -v r="${3:-0}" -v slack="$FAULTS_SLACK_MS" '
        NR == 1 || $1 < t0 { t0 = $1 }
        {
            n++; st[$3]++; lat = ($2 - $1) / 1000
            if (lat > maxl) maxl = lat
            if (lat > d + slack) late++
            if (lat >= d) whole++
            if ($3 >= 200 && $3 < 300) ok++
            if ($3 == 200) {
                if (last != "" && $2 - last > gap) { gap = $2 - last; gap_at = last }
                last = $2
            }
            if ($3 == 200 && $4 == 1 && r > 0 && $1 >= r && (rec == "" || $2 - r < rec)) rec = $2 - r
            end = $2
        }
        END {
            if (last != "" && end - last > gap) { gap = end - last; gap_at = last }
            if (last == "") { gap = end - t0; gap_at = t0 }
            s = ""
            for (k in st) s = s (s == "" ? "" : ",") k ":" st[k]
            printf "total=%d ok=%d status=%s late=%d whole=%d max_ms=%.0f gap_ms=%.0f gap_at_s=%.1f recover_ms=%s\n",
                n, ok, s == "" ? "none" : s, late, whole, maxl, gap / 1000, (gap_at - t0) / 1e6,
                rec == "" ? "never" : sprintf("%.0f", rec / 1000)
        }'
}
#  faults_metric FILE NAME: the sum of the samples in the Prometheus text FILE
#  whose name (with its labels) starts with NAME.
faults_metric() { awk -v m="$2" 'index($1, m) == 1 { n += $NF } END { print n + 0 }' "$1"; }
#  faults_metrics_line FILE: the health counters of a gateway's /-/metrics.
faults_metrics_line() {
    echo "retries $(faults_metric "$1" baton_retries_total), answered 502 at once $(faults_metric "$1" baton_fail_fast_total), probes ok $(faults_metric "$1" 'baton_probes_total{result="ok"}') failed $(faults_metric "$1" 'baton_probes_total{result="failed"}'), 504s $(faults_metric "$1" baton_timeouts_total), late replies $(faults_metric "$1" baton_late_replies_total) + $(faults_metric "$1" baton_replies_late_total) after a retry"
}
#  faults_get LINE KEY: KEY's value in a key=value line.
faults_get() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

#  faults_topo_out WATCH MATCH T_US: milliseconds from T_US to the first poll of
#  watch.py's lines WATCH in which no replica whose endpoint holds MATCH is
#  alive; "never" if none.
faults_topo_out() {
    awk -v m="$2" -v t="$3" '
        function check() { if (cur != "" && !alive && !found) { printf "%.0f\n", (cur - t) / 1000; found = 1 } }
        $1 < t || $4 == "unreachable" { next }
        $1 != cur { check(); cur = $1; alive = 0 }
        index($3, m) && $4 == "alive" { alive++ }
        END { check(); if (!found) print "never" }' "$1"
}
#  faults_topo_back WATCH MATCH T_US N: milliseconds from T_US to the first poll
#  with N replicas alive whose endpoint holds MATCH; "never" if none.
faults_topo_back() {
    awk -v m="$2" -v t="$3" -v want="$4" '
        function check() { if (cur != "" && alive >= want && !found) { printf "%.0f\n", (cur - t) / 1000; found = 1 } }
        $1 < t || $4 == "unreachable" { next }
        $1 != cur { check(); cur = $1; alive = 0 }
        index($3, m) && $4 == "alive" { alive++ }
        END { check(); if (!found) print "never" }' "$1"
}
#  faults_topo_others WATCH MATCH T_US: the replicas whose endpoint does not
#  hold MATCH that some poll at or after T_US showed other than alive, as
#  "function:endpoint:state ..." (each state once), or "none".
faults_topo_others() {
    awk -v m="$2" -v t="$3" '
        $1 < t || $4 == "unreachable" || index($3, m) || $4 == "alive" { next }
        !seen[$2 ":" $3 ":" $4]++ { s = s (s == "" ? "" : " ") $2 ":" $3 ":" $4 }
        END { print s == "" ? "none" : s }' "$1"
}
#  faults_topo_routed WATCH MATCH T_US: the requests routed through the replicas
#  whose endpoint holds MATCH, summed, at the first poll at or after T_US.
faults_topo_routed() {
    awk -v m="$2" -v t="$3" '
        $1 < t || $4 == "unreachable" { next }
        cur == "" { cur = $1 }
        $1 != cur { exit }
        index($3, m) { sum += $5 }
        END { print sum + 0 }' "$1"
}
