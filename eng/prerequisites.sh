#!/usr/bin/env bash
# Installs what running or testing TaskManager needs beyond the .NET SDK, and nothing that is already there:
#  * PostgreSQL server binaries, used when no container runtime (Docker/Podman) is healthy, and always by the tests
#    (the shared test app pins Postgres:Mode=local, so every machine runs the same suite);
#  * Node.js and npm, which the build uses to fetch the board's pinned browser libraries;
#  * with --test: Chromium for the browser tests, docker-compose to validate deploy/compose (no engine needed), clang
#    and zlib for the Native AOT publish the deployment tests run, and the pinned npm tools the tests run (eng/tools).
#    (The image tests install podman and make their stand-in base images themselves: eng/containers/standin-images.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[prerequisites] %s\n' "$*"; }
for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true

if ! command -v dotnet >/dev/null 2>&1; then
  say "The .NET SDK 10 is required: https://dotnet.microsoft.com/download"; exit 1
fi

apt_updated=false
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "Run as root or install sudo, or install these packages yourself: $*"; exit 1; }
    sudo="sudo"
  fi
  if [ "$apt_updated" = false ]; then
    $sudo apt-get update -q
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

have_postgres_binaries() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
container_runtime_healthy() {
  local runtime="${ASPIRE_CONTAINER_RUNTIME:-docker}"
  command -v "$runtime" >/dev/null 2>&1 && timeout 10 "$runtime" container ls -n 1 >/dev/null 2>&1
}

if have_postgres_binaries; then
  say "PostgreSQL server binaries: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
elif [ "$for_tests" = false ] && container_runtime_healthy; then
  say "Container runtime is healthy: PostgreSQL will run as a container."
else
  say "No PostgreSQL server binaries$([ "$for_tests" = true ] && echo " (the tests need them)" || echo " and no container runtime"): installing PostgreSQL from apt."
  apt_install postgresql
  have_postgres_binaries || { say "PostgreSQL was installed but no server binaries were found under /usr/lib/postgresql."; exit 1; }
fi

if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  say "Node.js $(node --version), npm $(npm --version)"
else
  say "Node.js and npm are missing (the build fetches the board's libraries with npm): installing them from apt."
  apt_install nodejs npm
fi

if [ "$for_tests" = true ]; then
  if [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then
    say "Chromium for browser tests: $(command -v chromium || echo /usr/lib/chromium/chromium)"
  else
    say "Installing Chromium from apt for the browser tests."
    apt_install chromium
  fi
  if command -v docker-compose >/dev/null 2>&1; then
    say "docker-compose (validates deploy/compose without an engine): $(docker-compose version --short 2>/dev/null)"
  else
    say "Installing docker-compose from apt: the deployment tests validate deploy/compose with it (no engine needed)."
    apt_install docker-compose
  fi
  if command -v clang >/dev/null 2>&1 && [ -f /usr/include/zlib.h ]; then
    say "Native AOT prerequisites: $(clang --version | head -n 1), zlib"
  else
    say "Installing clang and zlib1g-dev from apt: the deployment tests publish api and mcp with Native AOT, as the images do."
    apt_install clang zlib1g-dev
  fi
  if [ -f eng/tools/package-lock.json ] && ! cmp -s eng/tools/package-lock.json eng/tools/node_modules/.package-lock.json.installed 2>/dev/null; then
    say "Installing the pinned test tools (eng/tools: Redocly CLI)."
    (cd eng/tools && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.package-lock.json.installed)
  fi
fi
