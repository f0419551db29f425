#!/usr/bin/env bash
# `make bench`: committed reservations per second over HTTP at 16, 64 and 256 clients on a
# 2,000,000-seat event, beside pgbench running alf.io's reservation statement on a
# 2,000,000-seat table, in the same PostgreSQL, in the same run. Prints one table and
# writes bench/results/<date>.json.
#
# BENCH_SECONDS (default 20) sets each step's length; BENCH_SHOPS (default 4) the number
# of shop processes (a tenant's 4 replicas); BENCH_CLIENTS the client counts.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=${BOXOFFICE_RUN:-$root/.run}/bench
bin=$root/target/release
seconds=${BENCH_SECONDS:-20}
shop_count=${BENCH_SHOPS:-4}
clients=(${BENCH_CLIENTS:-16 64 256})
pg_port=${BENCH_PG_PORT:-55440}
psql=(psql -q -X -h 127.0.0.1 -p "$pg_port" -U postgres)
token=bench-token
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$root/e2e/scripts/pg.sh" stop "$run/pg"
}
trap cleanup EXIT

rm -rf "$run"
mkdir -p "$run" "$root/bench/results"
echo "== PostgreSQL 15 (fsync on) on 127.0.0.1:$pg_port"
"$root/e2e/scripts/pg.sh" start "$run/pg" "$pg_port"
"${psql[@]}" -c "CREATE DATABASE shop" -c "CREATE DATABASE alfio"

echo "== alf.io's table: 2,000,000 free seats"
"${psql[@]}" -d alfio -f "$root/e2e/bench/alfio-schema.sql"

echo "== $shop_count shop processes"
db_url="postgres://postgres@127.0.0.1:$pg_port/shop"
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

echo "== event with 2,000,000 seats"
start=$(date +%s%N)
curl -sf -X POST "http://127.0.0.1:18181/admin/v1/events" -H "Authorization: Bearer $token" \
  -d '{"slug": "large", "name": "Large", "timezone": "Europe/Brussels", "currency": "EUR",
       "categories": [{"slug": "combi", "name": "Combi", "price": "550.00", "seats": 2000000}]}' \
  >/dev/null
echo "   created in $(( ($(date +%s%N) - start) / 1000000 )) ms"
"${psql[@]}" -d shop -c "VACUUM ANALYZE"

for c in "${clients[@]}"; do
  echo "== $c clients: Boxoffice over HTTP, ${seconds}s"
  "$bin/flash-sale" "${shops[@]}" --event large --category combi --clients "$c" \
    --requests 100000000 --seconds "$seconds" --quiet >"$run/ours-$c.json"
  sleep 2
  echo "== $c clients: alf.io's statement with pgbench, ${seconds}s"
  pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$c" -j 2 -T "$seconds" \
    -f "$root/e2e/bench/alfio-reserve.sql" alfio >"$run/alfio-$c.txt" 2>&1
  sleep 2
done
"${psql[@]}" -d shop -Atc "SELECT count(*) FROM reservations WHERE NOT seats_assigned" \
  >"$run/unassigned.txt"

python3 - "$run" "$root/bench/results" "${clients[@]}" <<'PY'
import datetime, json, os, re, sys
run, out, clients = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
for c in clients:
    ours = json.load(open(f"{run}/ours-{c}.json"))
    text = open(f"{run}/alfio-{c}.txt").read()
    m = re.search(r"tps = ([0-9.]+)", text)
    alfio = float(m.group(1)) if m else 0.0
    rows.append({
        "clients": int(c),
        "boxofficeReservationsPerSecond": round(ours["reservationsPerSecond"], 1),
        "boxofficeRequestsPerSecond": round(ours["requestsPerSecond"], 1),
        "boxofficeP50Ms": round(ours["latencyMs"]["p50"], 2),
        "boxofficeP99Ms": round(ours["latencyMs"]["p99"], 2),
        "boxofficeServerErrors": ours["serverErrors"],
        "boxofficeOutcomes": ours["outcomes"],
        "alfioTps": round(alfio, 1),
        "ratio": round(ours["reservationsPerSecond"] / alfio, 1) if alfio else None,
    })
print()
print(f"{'clients':>8} {'Boxoffice res/s':>16} {'p50 ms':>8} {'p99 ms':>8} {'5xx':>5} "
      f"{'alf.io tps':>11} {'ratio':>7}")
for r in rows:
    print(f"{r['clients']:>8} {r['boxofficeReservationsPerSecond']:>16.0f} "
          f"{r['boxofficeP50Ms']:>8.1f} {r['boxofficeP99Ms']:>8.1f} "
          f"{r['boxofficeServerErrors']:>5} {r['alfioTps']:>11.0f} {r['ratio']:>6}x")
unassigned = int(open(f"{run}/unassigned.txt").read().strip() or 0)
print(f"\nreservations still waiting for seat rows at the end: {unassigned}")
result = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cores": os.cpu_count()},
    "throughput": rows,
    "unassignedAtEnd": unassigned,
}
os.makedirs(out, exist_ok=True)
path = f"{out}/{datetime.date.today().isoformat()}.json"
json.dump(result, open(path, "w"), indent=2)
print(f"written to {path}")
PY
