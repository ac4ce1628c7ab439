#!/usr/bin/env bash
# Runs the whole application (AppHost: dashboard, postgres, api, mcp) for development.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/prerequisites.sh

# The first admin token (Aspire secret parameter "admin-token"): from the environment, else kept in .local/.
token="${TASKMANAGER_ADMIN_TOKEN:-}"
if [ -n "$token" ]; then
  sign_in='paste the value of $TASKMANAGER_ADMIN_TOKEN'
else
  mkdir -p .local
  if [ ! -s .local/admin-token ]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > .local/admin-token)
  fi
  token="$(cat .local/admin-token)"
  sign_in="paste the admin token from $(pwd)/.local/admin-token"
fi

# The api serves the board at / on its launch-profile address; the token itself is never printed.
api_url="$(sed -n 's/.*"applicationUrl": *"\([^";]*\).*/\1/p' src/TaskManager.Api/Properties/launchSettings.json | head -n 1)"
cat <<MESSAGE

  Board:     ${api_url:-http://localhost:8000}/  (ready once the app has started)
  Sign in:   $sign_in
  Dashboard: the "Login URL" printed below

MESSAGE

exec env "Parameters__admin-token=$token" dotnet run --project src/TaskManager.AppHost "$@"
