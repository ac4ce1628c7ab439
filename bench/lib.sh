# shellcheck shell=bash
# Shell helpers shared by the benchmarks (bench/run.sh, bench/startup/measure.sh). Sourced, not run, from the repository
# root under set -euo pipefail:
#   bench_name=startup; source bench/lib.sh
# The caller sets `work`, a throwaway directory the postgres user can read, before starting PostgreSQL or a service.

repo="$PWD"
# Source mirror and build output live outside the repository and survive runs, so rebuilds are incremental.
bench_cache="${TASKMANAGER_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmanager-bench}"

say() { printf '[%s] %s\n' "${bench_name:-bench}" "$*" >&2; }
die() { say "$*"; exit 1; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Installs Debian packages that are missing (apt-get update once; sudo when not root), as eng/prerequisites.sh does.
apt_updated=false
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "Run as root or install sudo, or install these packages yourself: $*"
    sudo="sudo"
  fi
  if [ "$apt_updated" = false ]; then
    $sudo apt-get update -q >&2
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >&2
}

# What every benchmark needs beyond the .NET SDK; pass extra "command:package" pairs (e.g. wrk:wrk).
ensure_prerequisites() {
  command -v dotnet >/dev/null 2>&1 || die "The .NET SDK 10 is required: https://dotnet.microsoft.com/download"
  local missing=() pair
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
  # Native AOT links with clang and zlib.
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  for pair in curl:curl python3:python3 node:nodejs npm:npm "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing from apt: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
}

# Copies the source to build into the cache and prints where: the working tree as it is now (tracked and untracked
# files, not ignored ones, uncommitted changes included; files that are gone are removed), or with $source_rev set, that
# commit. Publishing from the copy leaves the repository's obj/ and bin/ alone, which a build or test run in the
# repository may be using at the same time. The working-tree copy keeps file times, so rebuilds are incremental; each
# commit gets its own copy (git archive's file times would fool an incremental build).
mirror_tree() {
  local tree wanted present
  if [ -n "${source_rev:-}" ]; then
    tree="$bench_cache/rev-$(git -C "$repo" rev-parse --verify "$source_rev^{commit}")"
    [ -d "$tree" ] || { mkdir -p "$tree.tmp" && git -C "$repo" archive "$source_rev" | tar -C "$tree.tmp" -xf - && mv "$tree.tmp" "$tree"; }
    echo "$tree"
    return
  fi
  tree="$bench_cache/tree"
  wanted="$(mktemp)" present="$(mktemp)"
  mkdir -p "$tree"
  git -C "$repo" ls-files -z --cached --others --exclude-standard --deduplicate \
    | (cd "$repo" && xargs -0 -r sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh) | sort -z >"$wanted"
  tar -C "$repo" --null -T "$wanted" -cf - | tar -C "$tree" -xf -
  (cd "$tree" && find . \( -name bin -o -name obj -o -name node_modules -o -path ./src/TaskManager.Api/wwwroot/lib \) -prune \
    -o -type f -printf '%P\0' | sort -z >"$present")
  comm -z -13 "$wanted" "$present" | (cd "$tree" && xargs -0 -r rm -f)
  rm -f "$wanted" "$present"
  echo "$tree"
}

# What is being built, for reports: a commit, or the commit and whether src/ has uncommitted changes.
source_description() {
  if [ -n "${source_rev:-}" ]; then
    echo "$(git -C "$repo" rev-parse --short "$source_rev") (--rev $source_rev)"
  elif [ -n "$(git -C "$repo" status --porcelain -- src)" ]; then
    echo "working tree: $(git -C "$repo" rev-parse --short HEAD) + uncommitted changes in src/"
  else
    echo "working tree: $(git -C "$repo" rev-parse --short HEAD)"
  fi
}

# publish <dir> <aot|jit>...: Release publish of api and mcp into <dir>/<variant>-<Project>, skipping what is already
# there. aot is what the images run (Native AOT, linux-x64); jit is framework-dependent, run with `dotnet <dll>`.
# Holds a lock on the cache meanwhile, so two benchmark runs never build in the same copy at once.
publish() {
  local dir="$1" variant project out tree="" lock
  shift
  mkdir -p "$bench_cache" "$dir"
  exec {lock}>"$bench_cache/lock"
  flock "$lock"
  for variant in "$@"; do
    for project in Api Mcp; do
      out="$dir/$variant-$project"
      [ -e "$out/TaskManager.$project" ] || [ -e "$out/TaskManager.$project.dll" ] && continue
      if [ -z "$tree" ]; then
        tree="$(mirror_tree)"
        source_description >"$dir/source"
      fi
      say "publishing $project ($variant, Release) from ${source_rev:-the working tree}"
      if [ "$variant" = aot ]; then
        dotnet publish "$tree/src/TaskManager.$project" -c Release -r linux-x64 -o "$out" -v quiet -nologo >&2
      else
        dotnet publish "$tree/src/TaskManager.$project" -c Release -p:PublishAot=false -p:UseAppHost=false \
          -o "$out" -v quiet -nologo >&2
      fi
    done
  done
  exec {lock}>&-
}

# pg_start <data dir> [setting=value...]: a throwaway PostgreSQL (initdb defaults, trust auth) on 127.0.0.1:$pg_port.
pg_start() {
  pg_data="$1"
  shift
  local settings="" setting
  for setting in "$@"; do settings+=" -c $setting"; done
  pg_port="$(free_port)"
  mkdir -p "$pg_data" && chown "$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un)" "$pg_data"
  as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust >/dev/null
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1$settings" \
    -l "$pg_data/log" -w start >/dev/null
}
pg_stop() { [ -n "${pg_data:-}" ] && as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true; }
pg_connection() { echo "Host=127.0.0.1;Port=$pg_port;Database=$1;Username=postgres"; }

# spawn <published dir> <aot|jit> <Api|Mcp> <port> <log> [NAME=value...]: starts a service with only the environment
# its image gives it (plus the arguments), in the background; its pid is in $spawned.
spawn() {
  local dir="$1" variant="$2" project="$3" port="$4" log="$5"
  shift 5
  local cmd=("$dir/$variant-$project/TaskManager.$project")
  [ "$variant" = jit ] && cmd=("$(command -v dotnet)" "$dir/$variant-$project/TaskManager.$project.dll")
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$work" DOTNET_ROOT="${DOTNET_ROOT:-/usr/share/dotnet}" \
    ASPNETCORE_HTTP_PORTS="$port" DOTNET_RUNNING_IN_CONTAINER=true "$@" \
    "${cmd[@]}" >"$log" 2>&1 &
  spawned=$!
}

# wait_healthy <port> <pid> <log>: polls /health until 200; fails with the service's output if it exits first.
wait_healthy() {
  until curl -fs -o /dev/null "http://127.0.0.1:$1/health"; do
    kill -0 "$2" 2>/dev/null || { say "the service on port $1 exited:"; cat "$3" >&2; exit 1; }
    sleep 0.005
  done
}
