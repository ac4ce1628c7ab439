#!/usr/bin/env bash
# Runs the whole application (AppHost: dashboard, postgres, api, mcp) for development.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/prerequisites.sh

# The first admin token (Aspire secret parameter "admin-token"): from the environment, else kept in .local/.
token="${TASKMANAGER_ADMIN_TOKEN:-}"
if [ -z "$token" ]; then
  mkdir -p .local
  if [ ! -s .local/admin-token ]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > .local/admin-token)
  fi
  token="$(cat .local/admin-token)"
  echo "Admin token: $(pwd)/.local/admin-token"
fi

exec env "Parameters__admin-token=$token" dotnet run --project src/TaskManager.AppHost "$@"
