#!/usr/bin/env bash
# `make demo`: a shop on a local PostgreSQL, an event, and a ticket rush against it.
#   demo.sh        start everything (or reuse what runs), run the rush, print the result
#   demo.sh down   stop what demo.sh started
# Everything listens on 127.0.0.1 and lives in .run/demo; processes are left running.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=${BOXOFFICE_RUN:-$root/.run}/demo
bin=$root/target/release
pg_port=${DEMO_PG_PORT:-55439}
shop_ports=(${DEMO_SHOP_PORTS:-18081 18082})
token_file=$run/admin-token

stop_all() {
  if [ -f "$run/pids" ]; then
    while read -r pid; do
      kill -TERM "$pid" 2>/dev/null || true
    done <"$run/pids"
    for _ in $(seq 50); do
      alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$run/pids"
      [ $alive = 0 ] && break
      sleep 0.2
    done
    rm -f "$run/pids"
  fi
  "$root/e2e/scripts/pg.sh" stop "$run/pg"
}

if [ "${1:-}" = down ]; then
  stop_all
  echo "demo stopped"
  exit 0
fi

mkdir -p "$run"
[ -f "$token_file" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file"
token=$(cat "$token_file")
db_url="postgres://postgres@127.0.0.1:$pg_port/shop"

echo "== PostgreSQL 15 on 127.0.0.1:$pg_port"
"$root/e2e/scripts/pg.sh" start "$run/pg" "$pg_port"
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'shop'" \
  | grep -q 1 || psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE shop"
DATABASE_URL=$db_url RUST_LOG=warn "$bin/ticketing-service" migrate

echo "== ticketing-service x${#shop_ports[@]}"
shops=()
for port in "${shop_ports[@]}"; do
  shops+=("--shop" "http://127.0.0.1:$port")
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
    echo "   already serving on $port"
    continue
  fi
  DATABASE_URL=$db_url ADMIN_TOKEN=$token LISTEN_ADDR=127.0.0.1:$port DB_POOL_SIZE=16 \
    RUST_LOG=info setsid "$bin/ticketing-service" serve >"$run/shop-$port.log" 2>&1 </dev/null &
  echo $! >>"$run/pids"
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "shop on $port not ready; see $run/shop-$port.log" >&2; exit 1; }
  echo "   serving on http://127.0.0.1:$port"
done

event="rush-$(date +%Y%m%d-%H%M%S)"
api="http://127.0.0.1:${shop_ports[0]}"
echo "== event $event: 2,000 seats in two categories, at most 10 per reservation"
curl -sf -X POST "$api/admin/v1/events" -H "Authorization: Bearer $token" -d @- >/dev/null <<JSON
{"slug": "$event", "name": "Flash sale demo", "timezone": "Europe/Brussels",
 "currency": "EUR", "maxTicketsPerReservation": 10,
 "categories": [{"slug": "combi", "name": "Combi ticket", "price": "550.00", "seats": 1500},
                {"slug": "conference", "name": "Conference only", "price": "350.00", "seats": 500}]}
JSON

echo "== the rush: 1,000 attendees, 6,000 requests of 1-10 seats"
"$bin/flash-sale" "${shops[@]}" --event "$event" --category combi --category conference \
  --clients 1000 --requests 6000 --seconds 60 >"$run/rush.json"
curl -sf "$api/admin/v1/events/$event/stats" -H "Authorization: Bearer $token" >"$run/stats.json"

python3 - "$run/rush.json" "$run/stats.json" <<'PY'
import json, sys
rush = json.load(open(sys.argv[1]))
stats = json.load(open(sys.argv[2]))
print()
print(f"requests           {rush['requests']:>8}   in {rush['durationSeconds']:.1f} s "
      f"({rush['requestsPerSecond']:.0f} requests/s)")
for outcome, n in sorted(rush['outcomes'].items()):
    print(f"  {outcome:<28}{n:>6}")
print(f"seats reserved     {rush['seatsReserved']:>8}")
print(f"server errors      {rush['serverErrors']:>8}   transport errors {rush['transportErrors']}")
l = rush['latencyMs']
print(f"latency (ms)       p50 {l['p50']:.1f}  p95 {l['p95']:.1f}  p99 {l['p99']:.1f}  max {l['max']:.1f}")
print()
print(f"{'category':<12}{'seats':>7}{'held':>7}{'free':>7}")
ok = True
for c in stats['categories']:
    print(f"{c['slug']:<12}{c['seats']:>7}{c['held']:>7}{c['free']:>7}")
    ok &= c['held'] + c['free'] + c['awaitingPayment'] + c['sold'] == c['seats']
held = sum(c['held'] for c in stats['categories'])
ok &= held == rush['seatsReserved'] and rush['serverErrors'] == 0
print()
print("consistent: every seat is held or free, held = seats reserved, no 5xx" if ok
      else "INCONSISTENT: see the figures above")
sys.exit(0 if ok else 1)
PY

cat <<EOF

Look around (the shops keep running):
  curl -s $api/api/v1/events/$event
  curl -s -H 'Authorization: Bearer $token' $api/admin/v1/events/$event/stats
  curl -s $api/metrics | grep reservations_total
  logs: $run/shop-*.log      rush report: $run/rush.json
Stop everything with: make down
EOF
