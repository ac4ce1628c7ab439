#!/usr/bin/env bash
# Cold start and idle memory of api and mcp, Native AOT (what the images run) against JIT, measured side by side.
#   bash bench/startup/measure.sh [runs]        (default 7 runs per variant; results in docs/deployment-figures.md)
# Publishes both services both ways, starts a throwaway PostgreSQL, then for each run and variant (alternating, so
# background load hits both alike) spawns the service with the environment its image has and times spawn -> first
# 200 on /health; RSS is VmRSS after 5 s idle. Also prints the publish sizes the image estimates start from.
# Needs: the .NET SDK, clang + zlib1g-dev (Native AOT), PostgreSQL server binaries, curl (eng/prerequisites.sh --test).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-7}"
work="$(mktemp -d /tmp/taskmanager-startup.XXXXXX)"
chmod 755 "$work"
trap 'cleanup' EXIT
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${pg_bin:-}" ] && as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
say() { printf '[startup] %s\n' "$*" >&2; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for project in Api Mcp; do
  say "publishing $project (Native AOT, linux-x64, as the Dockerfile does)"
  dotnet publish "src/TaskManager.$project" -c Release -r linux-x64 -o "$work/aot-$project" -v quiet -nologo >/dev/null
  say "publishing $project (JIT, framework-dependent)"
  dotnet publish "src/TaskManager.$project" -c Release -p:PublishAot=false -p:UseAppHost=false -o "$work/jit-$project" -v quiet -nologo >/dev/null
done

pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
pg_port="$(free_port)"
mkdir -p "$work/pg" && chown "$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un)" "$work/pg"
as_postgres "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" -l "$work/pg/log" -w start >/dev/null
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
connection="Host=127.0.0.1;Port=$pg_port;Database=postgres;Username=postgres"

# Starts one variant on a free port; prints "<ms to healthy> <VmRSS KiB after 5 s>".
measure() {
  local variant="$1" project="$2" port start_ns end_ns pid rss
  port="$(free_port)"
  local cmd=("$work/$variant-$project/TaskManager.$project")
  [ "$variant" = jit ] && cmd=("$(command -v dotnet)" "$work/$variant-$project/TaskManager.$project.dll")
  start_ns="$(date +%s%N)"
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$work" DOTNET_ROOT="${DOTNET_ROOT:-/usr/share/dotnet}" \
    ASPNETCORE_HTTP_PORTS="$port" DOTNET_RUNNING_IN_CONTAINER=true \
    ConnectionStrings__tasks="$connection" Auth__AdminToken="$token" \
    services__api__http__0="http://127.0.0.1:$api_port" \
    "${cmd[@]}" >"$work/$variant-$project.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  until curl -fs -o /dev/null "http://127.0.0.1:$port/health"; do
    kill -0 "$pid" 2>/dev/null || { say "$variant $project exited:"; cat "$work/$variant-$project.log" >&2; exit 1; }
    sleep 0.005
  done
  end_ns="$(date +%s%N)"
  sleep 5
  rss="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( (end_ns - start_ns) / 1000000 )) $rss"
}

# The api the mcp runs against (its /health does not need the api, but its tools do).
api_port="$(free_port)"
env -i PATH=/usr/bin:/bin ASPNETCORE_HTTP_PORTS="$api_port" ConnectionStrings__tasks="$connection" Auth__AdminToken="$token" \
  "$work/aot-Api/TaskManager.Api" >"$work/api-for-mcp.log" 2>&1 &
pids+=("$!")
until curl -fs -o /dev/null "http://127.0.0.1:$api_port/health"; do sleep 0.05; done

declare -A times rss
for ((i = 1; i <= runs; i++)); do
  for project in Api Mcp; do
    for variant in aot jit; do
      read -r ms kib < <(measure "$variant" "$project")
      times[$variant-$project]+="$ms "
      rss[$variant-$project]+="$kib "
      say "run $i: $variant $project healthy in $ms ms, RSS $((kib / 1024)) MiB"
    done
  done
done

stats() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {printf "%d / %d / %d", a[1], a[int((NR+1)/2)], a[NR]}'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
size_mb() { du -sb --exclude='*.dbg' --exclude='*.pdb' "$1" | awk '{printf "%.1f", $1 / 1000000}'; }

echo
echo "| $(date -u +%Y-%m-%d) ($runs runs, $(nproc) cores) | healthy ms (min / median / max) | idle RSS MiB (median) | publish output MB |"
echo "|---|---|---|---|"
for project in Api Mcp; do
  for variant in aot jit; do
    key="$variant-$project"
    echo "| ${project,,} $variant | $(echo "${times[$key]}" | stats) | $(( $(echo "${rss[$key]}" | median) / 1024 )) | $(size_mb "$work/$key") |"
  done
done
