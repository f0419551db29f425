#!/usr/bin/env bash
# `make bench`: everything on one PostgreSQL 15 (fsync on) with 4 shop processes (a
# tenant's 4 replicas) and the load generator, on this machine:
#
#   throughput  committed reservations/s (201 only) at 16, 64 and 256 clients on a
#               2,000,000-seat event, beside pgbench running alf.io's reservation statement
#               on a 2,000,000-seat table at the same client counts;
#   latency     an open model at 2,000 requests/s for 60 s on a fresh 2,000,000-seat event;
#   the rush    2,000 seats in two categories, at most 10 a reservation, 20,000 requests,
#               at 100, 500, 1,000 (the standard rush) and 2,000 attendees.
#
# Every run ends with flash-sale's correctness check (admin API and database). Prints one
# table and writes bench/results/<date>.json with the charts beside it; exits non-zero on
# any 5xx, transport error or failed check.
#
#   BENCH_SECONDS (20) each throughput step   BENCH_CLIENTS ("16 64 256")
#   BENCH_RATE (2000) and BENCH_RATE_SECONDS (60) the open model
#   BENCH_ATTENDEES ("100 500 1000 2000") the rush sizes   BENCH_SHOPS (4)
#   BENCH_OUT (bench/results) where the results and charts go
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=${BOXOFFICE_RUN:-$root/.run}/bench
bin=$root/target/release
out=${BENCH_OUT:-$root/bench/results}
name=$(date -u +%Y-%m-%d)
seconds=${BENCH_SECONDS:-20}
rate=${BENCH_RATE:-2000}
rate_seconds=${BENCH_RATE_SECONDS:-60}
shop_count=${BENCH_SHOPS:-4}
read -ra clients <<<"${BENCH_CLIENTS:-16 64 256}"
read -ra attendees <<<"${BENCH_ATTENDEES:-100 500 1000 2000}"
pg_port=${BENCH_PG_PORT:-55440}
psql=(psql -q -X -h 127.0.0.1 -p "$pg_port" -U postgres)
token=bench-token
db_url="postgres://postgres@127.0.0.1:$pg_port/shop"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$root/e2e/scripts/pg.sh" stop "$run/pg"
}
trap cleanup EXIT

# Thousands of attendees hold a connection each.
ulimit -n 20000 2>/dev/null || true
rm -rf "$run"
mkdir -p "$run" "$out"
echo "== PostgreSQL 15 (fsync on) on 127.0.0.1:$pg_port"
"$root/e2e/scripts/pg.sh" start "$run/pg" "$pg_port"
"${psql[@]}" -c "CREATE DATABASE shop" -c "CREATE DATABASE alfio"

echo "== alf.io's table: 2,000,000 free seats"
"${psql[@]}" -d alfio -f "$root/e2e/bench/alfio-schema.sql"

echo "== $shop_count shop processes"
DATABASE_URL=$db_url RUST_LOG=warn "$bin/ticketing-service" migrate
shops=()
for i in $(seq "$shop_count"); do
  port=$((18180 + i))
  DATABASE_URL=$db_url ADMIN_TOKEN=$token LISTEN_ADDR=127.0.0.1:$port DB_POOL_SIZE=16 \
    RUST_LOG=warn "$bin/ticketing-service" serve >"$run/shop-$port.log" 2>&1 </dev/null &
  pids+=($!)
  shops+=(--shop "http://127.0.0.1:$port")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done

# create_event SLUG CATEGORY:SEATS...
create_event() {
  local slug=$1 categories="" c
  shift
  for c in "$@"; do
    categories+="${categories:+,}{\"slug\":\"${c%%:*}\",\"name\":\"${c%%:*}\",\"price\":\"550.00\",\"seats\":${c##*:}}"
  done
  local start
  start=$(date +%s%N)
  curl -sf -X POST "http://127.0.0.1:18181/admin/v1/events" -H "Authorization: Bearer $token" \
    -d "{\"slug\":\"$slug\",\"name\":\"$slug\",\"timezone\":\"Europe/Brussels\",\"currency\":\"EUR\",
         \"maxTicketsPerReservation\":10,\"categories\":[$categories]}" >/dev/null
  echo "   event $slug ($*) created in $(( ($(date +%s%N) - start) / 1000000 )) ms"
}

# flash_sale OUTPUT ARGS...: a rush, checked against the admin API and the database.
flash_sale() {
  local output=$1
  shift
  "$bin/flash-sale" "${shops[@]}" --admin-token "$token" --database-url "$db_url" --quiet \
    "$@" >"$run/$output.json" || echo "   flash-sale reported a problem; see $run/$output.json"
}

echo "== throughput: event with 2,000,000 seats"
create_event large combi:2000000
"${psql[@]}" -d shop -c "VACUUM ANALYZE"
for c in "${clients[@]}"; do
  echo "== $c clients: Boxoffice over HTTP, ${seconds}s"
  flash_sale "throughput-$c" --event large --category combi --clients "$c" \
    --requests 100000000 --seconds "$seconds"
  sleep 2
  echo "== $c clients: alf.io's statement with pgbench, ${seconds}s"
  pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$c" -j 2 -T "$seconds" \
    -f "$root/e2e/bench/alfio-reserve.sql" alfio >"$run/alfio-$c.txt" 2>&1
  sleep 2
done

echo "== latency: $rate requests/s for ${rate_seconds}s (open model) on a fresh 2,000,000-seat event"
create_event steady combi:2000000
"${psql[@]}" -d shop -c "VACUUM ANALYZE"
flash_sale latency --event steady --category combi --rate "$rate" --seconds "$rate_seconds" \
  --requests $((rate * rate_seconds)) --charts "$out/$name-open" \
  --title "$rate requests/s for ${rate_seconds}s, open model, 4 shops"

for a in "${attendees[@]}"; do
  echo "== the rush: $a attendees, 20,000 requests, 2,000 seats in two categories"
  create_event "rush-$a" combi:1600 conference:400
  charts=()
  [ "$a" = 1000 ] && charts=(--charts "$out/$name-rush" --title "The standard rush: 1,000 attendees, 20,000 requests, 2,000 seats")
  flash_sale "rush-$a" --event "rush-$a" --category combi --category conference \
    --clients "$a" --requests 20000 --seconds 300 "${charts[@]}"
  sleep 1
done

"$bin/bench-report" --run "$run" --out "$out" --name "$name" \
  --fact "shops=$shop_count" --fact "seconds=$seconds" --fact "rate=$rate" \
  --fact "postgres=$("${psql[@]}" -Atc 'SHOW server_version')" \
  --fact "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
