#!/usr/bin/env bash
# Runs every test: fast api tests and whole-app tests through the AppHost, on a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/prerequisites.sh --test
dotnet test "$@"
