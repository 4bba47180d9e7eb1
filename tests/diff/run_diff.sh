#!/bin/sh
#  run_diff.sh - CTest entry of the llhttp differential test (see diff_driver.js).
#  Usage: run_diff.sh HTTP_PARSE_CLI CASES_DIR. Exits 77 (CTest: skipped)
#  when node is not installed.
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node not found; the llhttp differential test needs Node.js"
    exit 77
fi
exec node "$(dirname "$0")/diff_driver.js" "$@"
