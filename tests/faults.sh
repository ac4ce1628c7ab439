#!/usr/bin/env bash
# The fault tests of issue 9 (tests/TaskManager.Tests/Api/FaultTests.cs; method and results: docs/reliability.md).
#   bash tests/faults.sh                 the short run: one of each fault (it is part of every test run too)
#   bash tests/faults.sh --long [ROUNDS] also the long run: ROUNDS (default 5) rounds of every fault, 20 s pauses
# The same as TASKMANAGER_FAULTS=long [TASKMANAGER_FAULT_ROUNDS=n] dotnet test ... --filter-class ...FaultTests.
# Prints the figures each run appended to its results file (dotnet test shows no output of passing tests).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "") ;;
  --long)
    export TASKMANAGER_FAULTS=long
    if [ -n "${2:-}" ]; then
      [[ "$2" =~ ^[1-9][0-9]?$ && "$2" -le 40 ]] || { echo "--long takes a number of rounds (1-40)" >&2; exit 2; }
      export TASKMANAGER_FAULT_ROUNDS="$2"
    fi ;;
  *) echo "usage: bash tests/faults.sh [--long [ROUNDS]]" >&2; exit 2 ;;
esac
# PostgreSQL server binaries: each run starts a server of its own.
bash eng/prerequisites.sh
dotnet build tests/TaskManager.Tests
results=tests/TaskManager.Tests/bin/Debug/net10.0/TestResults/faults.txt
rm -f "$results"
status=0
dotnet test --project tests/TaskManager.Tests --no-build -- --filter-class "TaskManager.Tests.Api.FaultTests" || status=$?
echo "bash tests/faults.sh $*"
cat "$results" 2>/dev/null || echo "No run wrote figures to $results."
exit "$status"
