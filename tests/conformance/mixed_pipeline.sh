#!/usr/bin/env bash
#  mixed_pipeline.sh - the pipeline example with its middle hop in Python
#  (examples/pipeline/baton-mixed.yaml: C auth -> Python enrich -> C score ->
#  C render, large orders through C review)
#  under `baton dev`, checked through the real gateway with curl, and compared
#  with the all-C chain (baton.yaml) answer for answer.
#  usage: mixed_pipeline.sh BATON_CLI EXAMPLES_PIPELINE_DIR
#  Exits 77 (skipped) without curl or a python3 that has pyzmq.
set -u
cli=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/python.sh"
if ! baton_pick_python zmq || ! command -v curl >/dev/null; then
    echo "mixed pipeline: skipped: needs curl and a python3 with pyzmq (Debian: python3-zmq)" >&2
    exit 77
fi
tmp=$(mktemp -d /tmp/baton-mixed-XXXXXX)
pids=()
passed=0
failed=0

cleanup() {
    local p i
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        for i in $(seq 1 100); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$failed" -eq 0 ]; then rm -rf "$tmp"; else echo "(logs kept in $tmp)"; fi
}
trap cleanup EXIT

report() { # report NAME ERROR-OR-EMPTY
    if [ -z "$2" ]; then
        passed=$((passed + 1))
        echo "ok    $1"
    else
        failed=$((failed + 1))
        echo "FAIL  $1: $2"
    fi
}

#  start NAME CONFIG: runs baton dev on free ports; sets url_NAME.
start() {
    local log=$tmp/$1.log i
    "$cli" dev -c "$2" -p 0 --admin-port 0 --no-color >"$log" 2>&1 &
    pids+=($!)
    for i in $(seq 1 300); do
        grep -q 'ready in' "$log" && break
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    local url
    url=$(sed -n 's/.*ready in [^:]*: \(http:[^ ]*\).*/\1/p' "$log" | head -n 1)
    if [ -z "$url" ]; then
        report "baton dev -c $(basename "$2") starts" "not ready within 30 s (see $log)"
        exit 1
    fi
    printf -v "url_$1" '%s' "$url"
}

#  post URL OUT BODY [curl args...]: POST /orders; OUT.status, OUT.head, OUT.body
post() {
    local url=$1 out=$2 body=$3
    shift 3
    curl -s -m 5 -o "$out.body" -D "$out.head" -w '%{http_code}' "$@" \
        --data-binary "$body" "$url/orders" >"$out.status"
}

header() { # header FILE NAME: the value of the first header NAME
    sed -n "s/^$2: \(.*\)\r$/\1/Ip" "$1" | head -n 1
}

start mixed "$dir/baton-mixed.yaml"
start c "$dir/baton.yaml"
token=(-H 'Authorization: Bearer demo-token')

#  An order through auth, the Python enrich, score and render: 200, each timed.
post "$url_mixed" "$tmp/order" '{"items":[{"sku":"tea","qty":2,"price":3.5},{"sku":"cake","qty":1,"price":4.25}]}' "${token[@]}"
timing=$(header "$tmp/order.head" Server-Timing)
err=""
[ "$(cat "$tmp/order.status")" = 200 ] || err="status $(cat "$tmp/order.status")"
[[ $timing =~ ^auth\;dur=[0-9.]+,\ enrich\;dur=[0-9.]+,\ score\;dur=[0-9.]+,\ render\;dur=[0-9.]+$ ]] ||
    err="${err:+$err, }Server-Timing '$timing'"
grep -q '<td>cake</td>' "$tmp/order.body" || err="${err:+$err, }no rendered order in the body"
report "an order: 200, HTML, Server-Timing names auth, enrich, score, render" "$err"

#  The JSON rendering, byte for byte.
post "$url_mixed" "$tmp/json" '{"items":[{"sku":"tea","qty":2,"price":3.5}]}' "${token[@]}" \
    -H 'Accept: application/json'
id=$(header "$tmp/json.head" X-Request-Id)
want="{\"order\":\"$id\",\"user\":\"alice\",\"items\":[{\"sku\":\"tea\",\"qty\":2,\"price\":3.5,\"line_total\":7.0}],\"item_count\":2,\"total\":7.0}"
got=$(cat "$tmp/json.body")
[ "$got" = "$want" ] && err="" || err="got $got"
report "an order as JSON, as enrich.c writes it" "$err"

post "$url_mixed" "$tmp/noauth" '{"items":[{"sku":"tea","qty":2,"price":3.5}]}'
[ "$(cat "$tmp/noauth.status")" = 401 ] && err="" || err="status $(cat "$tmp/noauth.status")"
report "no token: 401 from auth" "$err"

#  Each body through both chains: the same status and body (the order id,
#  which is the request id, set aside). One body per line.
cat >"$tmp/bodies" <<'EOF'
{"items":[{"sku":"tea","qty":2,"price":3.5},{"sku":"cake","qty":1,"price":4.25}]}
{"items":[{"sku":"a","qty":3,"price":0.1},{"sku":"b","qty":1,"price":0.2}]}
{"items":[{"sku":"r","qty":1,"price":0.005},{"sku":"s","qty":7,"price":1.005},{"sku":"t","qty":1,"price":2.675}]}
{"items":[{"sku":"big","qty":1000,"price":1000000}]}
{"items":[{"sku":"z","qty":1,"price":0}]}
{"items":[{"sku":"th\u00e9 \"vert\" \\ \t\u0001","qty":1,"price":12}]}
{"items":[{"sku":"thé","qty":1,"price":1e2}], "extra": [1, {"x": null}]}
{"items":[{"sku":"x","qty":0,"price":1}]}
{"items":[{"sku":"x","qty":1001,"price":1}]}
{"items":[{"sku":"x","qty":2.0,"price":1}]}
{"items":[{"sku":"x","qty":true,"price":1}]}
{"items":[{"sku":"x","qty":1,"price":-1}]}
{"items":[{"sku":"x","qty":1,"price":1000000.01}]}
{"items":[{"sku":"x","qty":1,"price":"3"}]}
{"items":[{"sku":"x","qty":1,"price":true}]}
{"items":[{"sku":"","qty":1,"price":1}]}
{"items":[{"sku":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","qty":1,"price":1}]}
{"items":[{"sku":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","qty":1,"price":1}]}
{"items":[{"sku":5,"qty":1,"price":1}]}
{"items":[{"sku":"ok","qty":1,"price":1}, 7]}
{"items":[]}
{"items":{}}
{"order":1}
[1,2]
EOF
#  101 items: one too many.
printf '{"items":[%s{"sku":"x","qty":1,"price":1}]}\n' \
    "$(for i in $(seq 1 100); do printf '{"sku":"x","qty":1,"price":1},'; done)" >>"$tmp/bodies"
n=0
diffs=""
while IFS= read -r body; do
    n=$((n + 1))
    post "$url_mixed" "$tmp/m$n" "$body" "${token[@]}" -H 'Accept: application/json'
    post "$url_c" "$tmp/c$n" "$body" "${token[@]}" -H 'Accept: application/json'
    for side in m c; do
        rid=$(header "$tmp/$side$n.head" X-Request-Id)
        { cat "$tmp/$side$n.status"; echo; sed "s/\"$rid\"/\"ID\"/" "$tmp/$side$n.body"; } \
            >"$tmp/$side$n.out"
    done
    cmp -s "$tmp/m$n.out" "$tmp/c$n.out" || diffs="$diffs $n"
done <"$tmp/bodies"
[ -z "$diffs" ] && err="" || err="bodies$diffs of $tmp/bodies differ (see $tmp/m<n>.out, c<n>.out)"
report "$n orders and bad orders: the Python enrich answers as enrich.c" "$err"

#  Bodies that are not JSON: 400 from both (the parsers' words differ).
n=0
err=""
for body in '' 'not json' '{"items":[1,' '{"a":1,"a":2}' "$(printf '\xff\xfe')" '{"items":[{"sku":"x","qty":1,"price":NaN}]}'; do
    n=$((n + 1))
    post "$url_mixed" "$tmp/pm$n" "$body" "${token[@]}"
    post "$url_c" "$tmp/pc$n" "$body" "${token[@]}"
    s_m=$(cat "$tmp/pm$n.status") s_c=$(cat "$tmp/pc$n.status")
    [ "$s_m" = 400 ] && [ "$s_c" = 400 ] || err="${err:+$err, }body $n: $s_m (Python) / $s_c (C)"
done
report "bodies that are not JSON: 400 from both" "$err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
