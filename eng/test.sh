#!/usr/bin/env bash
# Runs every test: fast api tests and whole-app tests through the AppHost, on a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/prerequisites.sh --test
# The output of a failing test can run to thousands of lines: the names and messages of the failures are repeated at
# the end, where a CI log's tail shows them.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo
    echo "=== failed tests (exit code $status) ==="
    grep -E -A4 "^\s*failed " "$log" | cut -c1-300 || echo "(no test failed: see the output above)"
fi
exit "$status"
