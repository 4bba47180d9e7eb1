#!/usr/bin/env bash
#  run.sh - installs the build into a temp prefix, then builds a user's hello
#  function out of tree against the *installed* libbaton, with pkg-config and
#  with find_package(Baton) (shared and static), runs each one, sends it an
#  envelope and checks the answer, then SIGTERMs it and expects exit code 0.
#      run.sh <build dir> <cmake> <cc> [extra flags, e.g. -fsanitize=...]
set -euo pipefail
build=$1 cmake=$2 cc=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/baton-outoftree-XXXXXX)
pid=""
cleanup() {
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "outoftree: $*" >&2; exit 1; }

prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name baton.pc -print -quit)
[[ -n $pc ]] || fail "baton.pc was not installed"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir baton)
[[ $(cd "$libdir" && pwd -P) == "$(cd "$prefix" && pwd -P)"/* ]] || fail "libdir $libdir is outside $prefix"

#  $extra is a list of flags: split on purpose.
# shellcheck disable=SC2086
build_pc() {
    "$cc" -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/$1" "$here/$1.c" \
        $(pkg-config --cflags --libs baton $2) -Wl,-rpath,"$libdir"
}
build_pc hello ""
build_pc driver libzmq
#  ldd's output is taken whole before grep looks at it: with pipefail, grep -q
#  leaving early can SIGPIPE ldd and fail the pipeline though the line was there.
deps=$(ldd "$tmp/hello")
grep -q "$tmp/prefix/.*libbaton.so.0" <<<"$deps" || fail "hello does not load the installed libbaton"

#  check <binary> <function name>: serve one envelope, then stop on SIGTERM.
check() {
    local bin=$1 name=$2 rc=0
    BATON_NAME=$name BATON_BIND=ipc://$tmp/$name.sock "$bin" &
    pid=$!
    "$tmp/driver" "ipc://$tmp/$name.sock" "ipc://$tmp/gw-$name.sock" "$name" || fail "$name did not answer"
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "$name still running 10 s after SIGTERM"
    wait "$pid" || rc=$?
    pid=""
    [[ $rc -eq 0 ]] || fail "$name exited with $rc after SIGTERM, want 0"
}
check "$tmp/hello" hello-pkgconfig

"$cmake" -S "$here" -B "$tmp/fp" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null
"$cmake" --build "$tmp/fp" >/dev/null
deps=$(ldd "$tmp/fp/hello_static")
grep -q libbaton <<<"$deps" && fail "hello_static links libbaton.so"
check "$tmp/fp/hello_shared" hello-cmake-shared
check "$tmp/fp/hello_static" hello-cmake-static
echo "outoftree: pkg-config and find_package(Baton) builds (shared, static) answer and stop cleanly"
