#!/usr/bin/env bash
# Installs what running or testing TaskManager needs beyond the .NET SDK, and nothing that is already there.
# Today: PostgreSQL server binaries, used when no container runtime (Docker/Podman) is healthy.
set -euo pipefail

say() { printf '[prerequisites] %s\n' "$*"; }

if ! command -v dotnet >/dev/null 2>&1; then
  say "The .NET SDK 10 is required: https://dotnet.microsoft.com/download"; exit 1
fi

have_postgres_binaries() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
container_runtime_healthy() {
  local runtime="${ASPIRE_CONTAINER_RUNTIME:-docker}"
  command -v "$runtime" >/dev/null 2>&1 && timeout 10 "$runtime" container ls -n 1 >/dev/null 2>&1
}

if have_postgres_binaries; then
  say "PostgreSQL server binaries: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
elif container_runtime_healthy; then
  say "Container runtime is healthy: PostgreSQL will run as a container."
else
  say "No container runtime and no PostgreSQL server binaries: installing PostgreSQL from apt."
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "Run as root or install sudo, or install the 'postgresql' package yourself."; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
  have_postgres_binaries || { say "PostgreSQL was installed but no server binaries were found under /usr/lib/postgresql."; exit 1; }
fi
