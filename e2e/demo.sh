#!/usr/bin/env bash
# `make demo`: the whole platform on this machine, then a ticket rush.
#   demo.sh        start the local Kubernetes control plane and its two PostgreSQL servers,
#                  the operator, one Tenant; run the tenant's shop from the credentials the
#                  operator wrote; create an event; rush it; print what happened
#   demo.sh down   stop everything demo.sh started
# Everything listens on 127.0.0.1; state lives in .run/ and processes keep running.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export BOXOFFICE_RUN=${BOXOFFICE_RUN:-$root/.run}
run=$BOXOFFICE_RUN/demo
bin=$root/target/release
tenant=${DEMO_TENANT:-devoxx}
shop_ports=(${DEMO_SHOP_PORTS:-18081 18082 18083 18084})
metrics_port=${DEMO_OPERATOR_METRICS_PORT:-18090}

stop_all() {
  if [ -f "$run/pids" ]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$run/pids"
    for _ in $(seq 50); do
      alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$run/pids"
      [ $alive = 0 ] && break
      sleep 0.2
    done
    rm -f "$run/pids"
  fi
  "$root/e2e/cluster/down.sh"
}

if [ "${1:-}" = down ]; then
  stop_all
  echo "demo stopped"
  exit 0
fi

started=$(date +%s)
mkdir -p "$run"
echo "== local Kubernetes control plane and two PostgreSQL servers (built once, then cached)"
"$root/e2e/cluster/up.sh" >/dev/null
set -a
. "$BOXOFFICE_RUN/cluster/cluster.env"
. "$BOXOFFICE_RUN/cluster/pg-1.env"; PG1_PORT=$PGPORT PG1_USER=$PGUSER PG1_PASSWORD=$PGPASSWORD
. "$BOXOFFICE_RUN/cluster/pg-2.env"; PG2_PORT=$PGPORT PG2_USER=$PGUSER PG2_PASSWORD=$PGPASSWORD
set +a
unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
kubectl() { "$KUBECTL" "$@"; }

echo "== CRDs, DatabaseServers pg-1 and pg-2, Tenant $tenant"
kubectl apply -f "$root/crds/boxoffice.dev_crds.yaml" >/dev/null
kubectl wait --for condition=established --timeout=60s \
  crd/tenants.boxoffice.dev crd/databaseservers.boxoffice.dev >/dev/null
python3 -c 'import os, sys; sys.stdout.write(os.path.expandvars(sys.stdin.read()))' \
  <"$root/examples/database-servers.yaml" | kubectl apply -f - >/dev/null
kubectl apply -f "$root/examples/tenants/$tenant.yaml" >/dev/null

echo "== boxoffice-operator"
if ! curl -sf "http://127.0.0.1:$metrics_port/healthz" >/dev/null 2>&1; then
  LOG_FORMAT=text RUST_LOG=info setsid "$bin/boxoffice-operator" run \
    --shop-image boxoffice/ticketing-service:dev --metrics-addr "127.0.0.1:$metrics_port" \
    --namespace boxoffice-system --identity demo >"$run/operator.log" 2>&1 </dev/null &
  echo $! >>"$run/pids"
fi
kubectl wait --for=condition=Ready --timeout=120s "tenant/$tenant" >/dev/null
namespace=tenant-$tenant
secret() { kubectl -n "$namespace" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }
db_url=$(secret shop-db uri)
token=$(secret shop-admin token)
echo "   $tenant is Ready on $(kubectl get tenant "$tenant" -o jsonpath='{.status.databaseServer}')"

echo "== the shop: ${#shop_ports[@]} ticketing-service processes standing for the pods"
DATABASE_URL=$db_url RUST_LOG=warn "$bin/ticketing-service" migrate
shops=()
for port in "${shop_ports[@]}"; do
  shops+=("--shop" "http://127.0.0.1:$port")
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && continue
  DATABASE_URL=$db_url ADMIN_TOKEN=$token LISTEN_ADDR=127.0.0.1:$port DB_POOL_SIZE=10 \
    RUST_LOG=info setsid "$bin/ticketing-service" serve >"$run/shop-$port.log" 2>&1 </dev/null &
  echo $! >>"$run/pids"
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null \
    || { echo "shop on $port not ready; see $run/shop-$port.log" >&2; exit 1; }
done

event="rush-$(date +%Y%m%d-%H%M%S)"
api="http://127.0.0.1:${shop_ports[0]}"
echo "== the organizer creates $event: 2,000 seats in two categories, at most 10 each"
curl -sf -X POST "$api/admin/v1/events" -H "Authorization: Bearer $token" -d @- >/dev/null <<JSON
{"slug": "$event", "name": "Flash sale demo", "timezone": "Europe/Brussels",
 "currency": "EUR", "maxTicketsPerReservation": 10,
 "categories": [{"slug": "combi", "name": "Combi ticket", "price": "550.00", "seats": 1500},
                {"slug": "conference", "name": "Conference only", "price": "350.00", "seats": 500}]}
JSON

echo "== the rush: 1,000 attendees, 6,000 requests of 1-10 seats, over the 4 processes"
"$bin/flash-sale" "${shops[@]}" --event "$event" --category combi --category conference \
  --clients 1000 --requests 6000 --seconds 60 \
  --admin-token "$token" --database-url "$db_url" \
  --charts "$run/rush" --title "make demo: 1,000 attendees, 6,000 requests, 4 shop processes" \
  >"$run/rush.json" || true
curl -sf "$api/admin/v1/events/$event/stats" -H "Authorization: Bearer $token" >"$run/stats.json"

echo
echo "== what the operator made for Tenant $tenant"
kubectl get "tenant/$tenant"
kubectl -n "$namespace" get deployment,service,ingress,networkpolicy,resourcequota,serviceaccount,secret \
  -l app.kubernetes.io/managed-by=boxoffice-operator
kubectl -n "$namespace" get pods -o wide

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
ok &= held == rush['seatsReserved'] and rush['serverErrors'] == 0 and rush['transportErrors'] == 0
check = rush['check']
ok &= check['passed']
print()
print(f"flash-sale's check ({', '.join(check['checked'])}): "
      + ("passed" if check['passed'] else "FAILED: " + "; ".join(check['violations'])))
print("consistent: every seat is held or free, held = seats reserved, no errors" if ok
      else "INCONSISTENT: see the figures above")
sys.exit(0 if ok else 1)
PY

cat <<MSG

Everything keeps running ($(( $(date +%s) - started )) s since the build). Look around:
  export KUBECONFIG=$KUBECONFIG
  export PATH=$KUBE_BIN:\$PATH          # kubectl v1.20.2, matching the server
  kubectl get tenants,databaseservers
  kubectl describe tenant $tenant
  kubectl annotate tenant $tenant boxoffice.dev/rotate-credentials=\$(date +%s)   # rotate
    (the demo's shops are local processes holding the old password in open connections;
     new connections need the new Secret: run \`make down && make demo\` afterwards)
  admin token: kubectl -n tenant-$tenant get secret shop-admin -o jsonpath='{.data.token}' | base64 -d
  checkout, tickets, check-in: ticketing-service/API.md (the demo's event is sold out; create another)
  curl -s $api/api/v1/events/$event
  curl -s http://127.0.0.1:$metrics_port/metrics | grep boxoffice_operator_writes
  logs: $run/operator.log, $run/shop-*.log; rush report: $run/rush.json
  charts of the rush: $run/rush-timeline.svg, $run/rush-latency.svg
Stop everything with: make down
MSG
