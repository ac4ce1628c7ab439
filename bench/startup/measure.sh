#!/usr/bin/env bash
# Cold start and idle memory of api and mcp, Native AOT (what the images run) against JIT, measured side by side.
#   bash bench/startup/measure.sh [runs]        (default 7 runs per variant; results in docs/native-aot.md)
# Publishes both services both ways (bench/lib.sh; BENCH_PUBLISH_DIR reuses a publish output, as bench/run.sh --startup
# does), starts a throwaway PostgreSQL, then for each run and variant (alternating, so background load hits both
# alike) spawns the service with the environment its image has and times spawn -> first 200 on /health; RSS is VmRSS
# after 5 s idle. Also prints the publish sizes the image estimates start from.
# Needs: the .NET SDK; installs what else is missing from apt (clang + zlib1g-dev for Native AOT, PostgreSQL, curl).
set -euo pipefail
cd "$(dirname "$0")/../.."
bench_name=startup
source bench/lib.sh
runs="${1:-7}"
work="$(mktemp -d /tmp/taskmanager-startup.XXXXXX)"
chmod 755 "$work"
published="${BENCH_PUBLISH_DIR:-$work/publish}"
trap 'cleanup' EXIT
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pg_stop
  rm -rf "$work"
}

ensure_prerequisites
publish "$published" aot jit
pg_start "$work/pg"
token="$(random_hex 24)"
connection="$(pg_connection postgres)"

# Starts one variant on a free port; prints "<ms to healthy> <VmRSS KiB after 5 s>".
measure() {
  local variant="$1" project="$2" port start_ns end_ns pid rss
  port="$(free_port)"
  start_ns="$(date +%s%N)"
  spawn "$published" "$variant" "$project" "$port" "$work/$variant-$project.log" \
    ConnectionStrings__tasks="$connection" Auth__AdminToken="$token" services__api__http__0="http://127.0.0.1:$api_port"
  pid=$spawned
  pids+=("$pid")
  wait_healthy "$port" "$pid" "$work/$variant-$project.log"
  end_ns="$(date +%s%N)"
  sleep 5
  rss="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( (end_ns - start_ns) / 1000000 )) $rss"
}

# The api the mcp runs against (its /health does not need the api, but its tools do).
api_port="$(free_port)"
spawn "$published" aot Api "$api_port" "$work/api-for-mcp.log" ConnectionStrings__tasks="$connection" Auth__AdminToken="$token"
pids+=("$spawned")
wait_healthy "$api_port" "$spawned" "$work/api-for-mcp.log"

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
    echo "| ${project,,} $variant | $(echo "${times[$key]}" | stats) | $(( $(echo "${rss[$key]}" | median) / 1024 )) | $(size_mb "$published/$key") |"
  done
done
