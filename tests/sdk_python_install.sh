#!/usr/bin/env bash
#  tests/sdk_python_install.sh - `pip install ./sdk/python` into a fresh venv
#  works offline: Debian's python3 with --system-site-packages (pyzmq from
#  Debian), --no-deps --no-index, then `import baton` from the venv, outside
#  the source tree, must load the installed copy.  Exits 77 (skipped) only
#  when /usr/bin/python3 lacks the venv module, zmq or msgpack.
#      tests/sdk_python_install.sh [SOURCE_ROOT]   (default: this file's ../)
set -euo pipefail

ROOT=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import venv, ensurepip, zmq, msgpack' >/dev/null 2>&1; then
    echo "sdk_python_install: skipped: $PY lacks venv (python3-venv) or zmq/msgpack" \
         "(Debian: python3-zmq python3-msgpack)" >&2
    exit 77
fi
[ -f "$ROOT/sdk/python/pyproject.toml" ] || { echo "sdk_python_install: no $ROOT/sdk/python/pyproject.toml" >&2; exit 1; }

TMP=$(mktemp -d /tmp/baton-sdk-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
VENV=$TMP/venv

timeout 120 "$PY" -m venv --system-site-packages "$VENV"
#  pip builds in a copy of the source; the tree gets no build/ or egg-info.
cp -r "$ROOT/sdk/python" "$TMP/src"
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 timeout 300 \
    "$VENV/bin/pip" install --quiet --no-deps --no-build-isolation --no-index "$TMP/src"

#  Outside the source tree, with nothing on PYTHONPATH: only the venv can
#  provide baton.
cd "$TMP"
out=$(env -u PYTHONPATH PYTHONDONTWRITEBYTECODE=1 timeout 60 "$VENV/bin/python" -c '
import os, sys
import baton
assert callable(baton.main), "baton.main is not callable"
print(os.path.realpath(baton.__file__))
print(os.path.realpath(sys.prefix))
')
file=$(sed -n 1p <<<"$out")
prefix=$(sed -n 2p <<<"$out")
real_venv=$(realpath "$VENV")
[ "$prefix" = "$real_venv" ] || { echo "sdk_python_install: the venv's python runs with prefix $prefix, not $real_venv" >&2; exit 1; }
case "$file" in
"$real_venv"/*) ;;
*) echo "sdk_python_install: baton was imported from $file, not from the venv $real_venv" >&2; exit 1 ;;
esac
echo "sdk_python_install: ok: baton installed at $file"
