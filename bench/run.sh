#!/usr/bin/env bash
# Throughput of the api and the mcp under load, against the PostgreSQL ceiling of the same SQL (issue 8; docs/benchmarks.md).
#   bash bench/run.sh [--quick] [--warmup S] [--duration S] [--build aot|jit|both] [--no-ceiling] [--startup]
#                     [--statements] [--record] [--rev REV] [workload...]
# Workloads: list get create patch mix mcp-find mcp-update (default: all of them).
# Publishes api and mcp (Release; Native AOT as the images run them and/or JIT) from a copy of the working tree (or of
# commit REV), starts a throwaway PostgreSQL, seeds 100 projects x 1,000 tasks (projects and a write token through the
# REST api, tasks with bench/seed.sql) and keeps that as a template. Each workload then gets a fresh copy of the database
# and freshly started services (the environment their images give them, request logging off), a warm-up and a measured
# wrk run (2 threads x 32 connections over loopback, bench/wrk/<workload>.lua) with the CPU time of api, mcp and the
# PostgreSQL process tree read from /proc around it. The ceiling is the same work as plain SQL (bench/pgbench/*.sql),
# run by pgbench -M prepared with 32 clients. Prints a markdown table; --record also appends it to docs/benchmarks.md,
# --startup adds bench/startup/measure.sh's cold start and idle memory on the same publish output, --statements what
# pg_stat_statements saw per request (its overhead lowers the other figures of that run).
# Installs what is missing from apt (wrk, PostgreSQL server binaries with pgbench, clang + zlib for Native AOT).
set -euo pipefail
cd "$(dirname "$0")/.."
bench_name=bench
source bench/lib.sh

all_workloads=(list get create patch mix mcp-find mcp-update)
threads=2 connections=32 warmup=3 duration=10
builds=(aot jit) workloads=() ceiling=true startup=false statements=false record=false source_rev=""
command_line="bash bench/run.sh${*:+ $*}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) warmup=1 duration=3 ;;
    --warmup | --duration) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "$1 takes whole seconds"; declare "${1#--}=$2"; shift ;;
    --build) case "${2:-}" in aot | jit) builds=("$2") ;; both) builds=(aot jit) ;; *) die "--build takes aot, jit or both" ;; esac; shift ;;
    --no-ceiling) ceiling=false ;;
    --startup) startup=true ;;
    --statements) statements=true ;;
    --record) record=true ;;
    --rev) source_rev="${2:?--rev takes a commit}"; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ " ${all_workloads[*]} " == *" $1 "* ]] || die "unknown workload $1: use ${all_workloads[*]}"; workloads+=("$1") ;;
  esac
  shift
done
[ "${#workloads[@]}" -gt 0 ] || workloads=("${all_workloads[@]}")

ensure_prerequisites wrk:wrk
work="$(mktemp -d /tmp/taskmanager-bench.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

# BENCH_PUBLISH_DIR keeps the publish output between runs (what is there is not rebuilt: for working on this script).
published="${BENCH_PUBLISH_DIR:-$work/publish}"
publish "$published" "${builds[@]}"
if [ "$startup" = true ]; then publish "$published" aot jit; fi   # measure.sh compares both
if [ "$statements" = true ]; then
  pg_start "$work/pg" shared_preload_libraries=pg_stat_statements pg_stat_statements.track_planning=on
else
  pg_start "$work/pg"
fi
psql_as() { PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -X -q -v ON_ERROR_STOP=1 -d "$@"; }
admin_token="$(random_hex 24)"
logging=(Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning)

# start_api <build> <database>: sets api_port and api_pid. Limits off: one token at full speed is what a runaway agent
# looks like, and the benchmark measures the api, not its rate limiter (Limits in README.md).
start_api() {
  api_port="$(free_port)"
  spawn "$published" "$1" Api "$api_port" "$work/api.log" \
    ConnectionStrings__tasks="$(pg_connection "$2")" Auth__AdminToken="$admin_token" Limits__Enabled=false "${logging[@]}"
  api_pid=$spawned
  pids+=("$api_pid")
  wait_healthy "$api_port" "$api_pid" "$work/api.log"
}
start_mcp() {
  mcp_port="$(free_port)"
  spawn "$published" "$1" Mcp "$mcp_port" "$work/mcp.log" services__api__http__0="http://127.0.0.1:$api_port" "${logging[@]}"
  mcp_pid=$spawned
  pids+=("$mcp_pid")
  wait_healthy "$mcp_port" "$mcp_pid" "$work/mcp.log"
}
stop() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
# curl_api <token> <path> [curl args...]: fails with the response shown when the api does not answer 2xx.
curl_api() {
  local token="$1" path="$2"
  shift 2
  curl -sS --fail-with-body -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@" \
    "http://127.0.0.1:$api_port$path" || die "the api refused ${path}: see above"
}

# --- Seed: the template database every workload starts from -----------------------------------------------------------
say "seeding 100 projects x 1,000 tasks"
psql_as postgres -c "CREATE DATABASE seed"
start_api "${builds[0]}" seed   # applies the migrations
# The benchmark's own write token, created as a client would (the admin token is compared in memory, not looked up).
token="$(curl_api "$admin_token" /api/tokens -d '{"name":"bench","scopes":["write"]}' | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')"
[ -n "$token" ] || die "no secret in the token response"
letters=ABCDEFGHIJKLMNOPQRSTUVWXYZ
for i in $(seq 0 99); do
  key="P${letters:i/26:1}${letters:i%26:1}"   # PAA ... PDV
  curl_api "$token" /api/projects -o /dev/null \
    -d "{\"key\":\"$key\",\"title\":\"Project $key\",\"description\":\"Benchmark project $key.\"}"
done
stop "$api_pid"
psql_as seed -v actor=bench -f bench/seed.sql
mkdir -p "$work/data"
psql_as seed -At -c "SELECT key FROM projects ORDER BY key" >"$work/data/projects.txt"
psql_as seed -At -c "SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id ORDER BY p.key, t.number" >"$work/data/task-ids.txt"
[ "$(wc -l <"$work/data/task-ids.txt")" -eq 100000 ] || die "expected 100,000 seeded tasks"
[ "$statements" = false ] || psql_as seed -c "CREATE EXTENSION pg_stat_statements"
psql_as postgres -c CHECKPOINT

# fresh_database <name>: a copy of the seed (a file copy: about a second), so every run starts from the same data.
fresh_database() {
  psql_as postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1 TEMPLATE seed STRATEGY FILE_COPY"
}

# --- CPU accounting from /proc (clock ticks) ----------------------------------------------------------------------------
tick_ms=$((1000 / $(getconf CLK_TCK)))
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# The postmaster, every process it started (backends, autovacuum, WAL writer...) and what exited children used.
pg_ticks() {
  local postmaster
  postmaster="$(head -n 1 "$pg_data/postmaster.pid")"
  # (Processes that end between the glob and the read are skipped.)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$postmaster" '
    { pid = $1; sub(/.*\) /, "") }
    pid == pm { sum += $12 + $13 + $14 + $15 } $2 == pm { sum += $12 + $13 }
    END { print sum }'
}
rss_mib() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# CPU ms of this shell's finished children (wrk), from the `times` builtin (in this shell: a subshell would see none).
children_ms() {
  times >"$work/times"
  awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); sum += t[1] * 60 + t[2] } printf "%d", sum * 1000 }' "$work/times"
}

# --- One workload -------------------------------------------------------------------------------------------------------
declare -A result
export LUA_PATH="$PWD/bench/wrk/?.lua;;" BENCH_DATA="$work/data" BENCH_THREADS="$threads"
run_wrk() {   # run_wrk <script> <seconds> <phase> <url>: prints the RESULT line's fields
  BENCH_PHASE="$3" wrk -t "$threads" -c "$connections" -d "${2}s" --timeout 10s -s "bench/wrk/$1.lua" "$4" \
    >"$work/wrk.out" 2>"$work/wrk.err" || { cat "$work/wrk.out" "$work/wrk.err" >&2; die "wrk failed"; }
  grep '^RESULT ' "$work/wrk.out" | cut -d' ' -f2-
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
# Numbers as people read them: 12,345 / 123 / 12.3 / 1.23.
num() {
  awk -v x="$1" 'BEGIN {
    if (x < 10) { printf "%.2f", x; exit } if (x < 100) { printf "%.1f", x; exit }
    s = sprintf("%.0f", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'
}

# mcp_handshake: initialize + initialized with curl; exports the protocol version and session id (if any) for Lua.
mcp_handshake() {
  local url="http://127.0.0.1:$mcp_port/mcp" headers=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json'
    -H 'Accept: application/json, text/event-stream')
  curl -sS --fail-with-body -D "$work/mcp-init.headers" -o "$work/mcp-init.body" "${headers[@]}" "$url" \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1.0"}}}' \
    || die "MCP initialize failed: $(cat "$work/mcp-init.body")"
  BENCH_MCP_PROTOCOL="$(grep -o '"protocolVersion":"[^"]*"' "$work/mcp-init.body" | cut -d'"' -f4)"
  BENCH_MCP_SESSION="$(tr -d '\r' <"$work/mcp-init.headers" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: *//p')"
  [ -n "$BENCH_MCP_PROTOCOL" ] || die "MCP initialize gave no protocol version: $(cat "$work/mcp-init.body")"
  export BENCH_MCP_PROTOCOL BENCH_MCP_SESSION
  curl -sS --fail-with-body -o /dev/null "${headers[@]}" -H "MCP-Protocol-Version: $BENCH_MCP_PROTOCOL" \
    ${BENCH_MCP_SESSION:+-H "Mcp-Session-Id: $BENCH_MCP_SESSION"} "$url" \
    -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' || die "MCP notifications/initialized failed"
}

# statements_rows <build> <workload> <requests>: all statements of the measured run per request, then the top 6 by time
# (executions and plans per request, mean execution and planning ms), as table rows.
statements_rows() {
  psql_as bench -At -F $'\t' -v requests="$3" <<'SQL' | awk -F '\t' -v b="$1" -v w="$2" '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", b, w, $1, $2, $3, $4, $5 }'
    WITH s AS (
        SELECT * FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%')
    (SELECT round(sum(calls) / :requests, 2), round(sum(plans) / :requests, 2), NULL, NULL, '**all statements**' FROM s)
    UNION ALL
    (SELECT round(calls::numeric / :requests, 2), round(plans::numeric / :requests, 2), round(mean_exec_time::numeric, 3),
            round(mean_plan_time::numeric, 3), '`' || replace(left(regexp_replace(query, '\s+', ' ', 'g'), 120), '|', '\|') || '`'
     FROM s ORDER BY total_exec_time + total_plan_time DESC LIMIT 6)
SQL
}

run_workload() {   # run_workload <build> <workload>
  local build="$1" workload="$2" url out api0 mcp0=0 pg0 busy0 wrk0 api1 mcp1=0 pg1 busy1 wrk1 rss requests errors
  fresh_database bench
  start_api "$build" bench
  url="http://127.0.0.1:$api_port"
  if [[ "$workload" == mcp-* ]]; then
    start_mcp "$build"
    mcp_handshake
    url="http://127.0.0.1:$mcp_port"
  fi
  export BENCH_TOKEN="$token"
  out="$(run_wrk "$workload" "$warmup" warmup "$url")"
  errors=$(($(field "$out" status_errors) + $(field "$out" socket_errors) + $(field "$out" app_errors)))
  [ "$errors" -eq 0 ] || say "$build $workload: $errors errors in the warm-up"

  [ "$statements" = false ] || psql_as bench -c "SELECT pg_stat_statements_reset()" >/dev/null
  api0="$(ticks "$api_pid")" pg0="$(pg_ticks)" busy0="$(busy_ticks)"
  [ -z "${mcp_pid:-}" ] || mcp0="$(ticks "$mcp_pid")"
  wrk0="$(children_ms)"
  out="$(run_wrk "$workload" "$duration" measure "$url")"
  wrk1="$(children_ms)"
  kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log" >&2; die "the api exited during $build $workload"; }
  api1="$(ticks "$api_pid")" pg1="$(pg_ticks)" busy1="$(busy_ticks)"
  rss="$(rss_mib "$api_pid")"
  if [ -n "${mcp_pid:-}" ]; then
    kill -0 "$mcp_pid" 2>/dev/null || { cat "$work/mcp.log" >&2; die "the mcp exited during $build $workload"; }
    mcp1="$(ticks "$mcp_pid")"
    rss+=" / $(rss_mib "$mcp_pid")"
    stop "$mcp_pid"
    mcp_pid=""
  fi
  stop "$api_pid"

  requests="$(field "$out" requests)"
  errors=$(($(field "$out" status_errors) + $(field "$out" socket_errors) + $(field "$out" app_errors)))
  if [ "$errors" -gt 0 ]; then
    say "$build $workload: $errors errors; the api's last log lines:"
    tail -n 20 "$work/api.log" >&2
  fi
  [ "$statements" = false ] || statements_rows "$build" "$workload" "$requests" >>"$work/statements.md"
  local key="$build:$workload"
  result[$key]="$out errors=$errors api_ms=$(((api1 - api0) * tick_ms)) mcp_ms=$(((mcp1 - mcp0) * tick_ms))"
  result[$key]+=" rss=${rss// /} pg_ms=$(((pg1 - pg0) * tick_ms)) busy_ms=$(((busy1 - busy0) * tick_ms)) wrk_ms=$((wrk1 - wrk0))"
  say "$build $workload: $(awk -v r="$requests" -v d="$(field "$out" duration_us)" 'BEGIN { printf "%.0f", r / d * 1e6 }') req/s, $errors errors"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for build in "${builds[@]}"; do
  for workload in "${workloads[@]}"; do
    run_workload "$build" "$workload"
  done
done

# --- Ceiling: the same work as plain SQL, straight to PostgreSQL --------------------------------------------------------
declare -A ceiling_of=([list]=list [get]=get [create]=create [patch]=patch [mix]=mix [mcp-find]=list [mcp-update]=patch)
declare -A ceiling_result
run_pgbench() {   # run_pgbench <seconds> <script args...>
  local seconds="$1"
  shift
  (cd bench/pgbench && "$pg_bin/pgbench" -n -M prepared -c "$connections" -j "$threads" -T "$seconds" \
    -h 127.0.0.1 -p "$pg_port" -U postgres "$@" ceiling) >"$work/pgbench.out" 2>&1 \
    || { cat "$work/pgbench.out" >&2; die "pgbench failed"; }
}
if [ "$ceiling" = true ]; then
  for name in $(for w in "${workloads[@]}"; do echo "${ceiling_of[$w]}"; done | sort -u); do
    scripts=(-f "$name.sql")
    [ "$name" = mix ] && scripts=(-f list.sql@4 -f get.sql@4 -f create.sql@1 -f patch.sql@1)
    fresh_database ceiling
    run_pgbench "$warmup" "${scripts[@]}"
    sleep 1   # the warm-up's backends exit after pgbench does; their CPU must not land in the measured window
    pg0="$(pg_ticks)"
    run_pgbench "$duration" "${scripts[@]}"
    pg1="$(pg_ticks)"
    tps="$(sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' "$work/pgbench.out")"
    done_count="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")"
    failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")"
    ceiling_result[$name]="tps=$tps count=$done_count failed=${failed:-0} pg_ms=$(((pg1 - pg0) * tick_ms))"
    say "ceiling $name: $(num "$tps") statements/s"
  done
fi

# --- Report -------------------------------------------------------------------------------------------------------------
declare -A target=([list]="≥ 1,600" [get]="≥ 17,000" [create]="≥ 9,600" [patch]="≥ 10,400" [mix]="≥ 3,200"
  [mcp-find]="p50 ≤ REST + 2 ms" [mcp-update]="p50 ≤ REST + 2 ms")
declare -A rest_of=([mcp-find]=list [mcp-update]=patch)
calc() { awk "BEGIN { $1 }"; }   # calc 'printf "%.2f", 1 / 3'

# table_row <build> <workload>: one line of the results table.
table_row() {
  local r="${result[$1:$2]}" requests seconds rate of_ceiling="–" mcp_cpu="–" overhead="–" rest other
  requests="$(field "$r" requests)" seconds="$(calc "print $(field "$r" duration_us) / 1e6")"
  rate="$(calc "print $requests / $seconds")"
  per_request() { calc "printf \"%.3f\", $(field "$r" "$1") / $requests"; }
  [ -z "${ceiling_result[${ceiling_of[$2]}]:-}" ] \
    || of_ceiling="$(calc "printf \"%.1f %%\", 100 * $rate / $(field "${ceiling_result[${ceiling_of[$2]}]}" tps)")"
  if [[ "$2" == mcp-* ]]; then
    mcp_cpu="$(per_request mcp_ms)"
    rest="${result[$1:${rest_of[$2]}]:-}"
    [ -z "$rest" ] || overhead="$(calc "printf \"%+.2f ms\", ($(field "$r" p50_us) - $(field "$rest" p50_us)) / 1000")"
  fi
  # CPU the machine spent on anything but api, mcp, PostgreSQL and wrk during the measured run, in cores.
  other="$(calc "o = ($(field "$r" busy_ms) - $(field "$r" api_ms) - $(field "$r" mcp_ms) - $(field "$r" pg_ms) - $(field "$r" wrk_ms)) / 1000 / $seconds; printf \"%.2f\", o < 0 ? 0 : o")"
  echo "| $1 | $2 | $(num "$rate") | $(calc "printf \"%.2f\", $(field "$r" p50_us) / 1000")" \
    "| $(calc "printf \"%.2f\", $(field "$r" p99_us) / 1000") | $(field "$r" errors)" \
    "| $(calc "printf \"%.1f\", $(field "$r" bytes) / $requests / 1024") | $(per_request api_ms) | $mcp_cpu | $(per_request pg_ms)" \
    "| $of_ceiling | $overhead | ${target[$2]} | $(field "$r" rss | sed 's|/| / |') | $other |"
}

report="$work/report.md"
{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): \`$command_line\`"
  echo
  cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
  memory="$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  postgres_version="$("$pg_bin/postgres" --version | awk '{ print $3 }')"
  echo "$(nproc) cores ($cpu), $memory, PostgreSQL $postgres_version, .NET SDK $(dotnet --version)," \
    "wrk $threads threads x $connections connections, ${warmup} s warm-up + ${duration} s measured;" \
    "source: $(cat "$published/source"); load average before: $load_before."
  echo
  echo "| build | workload | req/s | p50 ms | p99 ms | errors | KB/resp | api CPU ms/req | mcp CPU ms/req | PG CPU ms/req | of PG ceiling | MCP p50 over REST | target (issue) | RSS MiB api / mcp | other load (cores) |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  for build in "${builds[@]}"; do
    for workload in "${workloads[@]}"; do
      table_row "$build" "$workload"
    done
  done
  if [ "$ceiling" = true ]; then
    echo
    echo "| ceiling: bench/pgbench/*.sql, pgbench -M prepared -c $connections -j $threads | statements/s | PG CPU ms/statement | failed |"
    echo "|---|--:|--:|--:|"
    for name in list get create patch mix; do
      c="${ceiling_result[$name]:-}"
      [ -n "$c" ] || continue
      echo "| $name$([ "$name" = mix ] && echo " (list 4 : get 4 : create 1 : patch 1)") | $(num "$(field "$c" tps)")" \
        "| $(calc "printf \"%.3f\", $(field "$c" pg_ms) / $(field "$c" count)") | $(field "$c" failed) |"
    done
  fi
  if [ "$statements" = true ]; then
    echo
    echo "| build | workload | executions/req | plans/req | mean exec ms | mean plan ms | statement (pg_stat_statements, measured run; top 6 by time) |"
    echo "|---|---|--:|--:|--:|--:|---|"
    cat "$work/statements.md"
  fi
} >"$report"

if [ "$startup" = true ]; then
  say "cold start and idle memory: bench/startup/measure.sh on the same publish output"
  { echo; BENCH_PUBLISH_DIR="$published" bash bench/startup/measure.sh 5; } >>"$report"
fi

echo
cat "$report"
if [ "$record" = true ]; then
  { echo; cat "$report"; } >>docs/benchmarks.md
  say "appended to docs/benchmarks.md"
fi
