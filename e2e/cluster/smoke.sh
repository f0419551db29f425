#!/usr/bin/env bash
# Checks that a running local control plane does what the end-to-end tests
# rely on: three Ready nodes; a 4-replica Deployment with a hard topology
# spread lands 2/1/1, becomes available, and its namespace deletes; RBAC
# denies a token without grants; both PostgreSQL servers take the admin role
# with its password over TCP and refuse a wrong one. Run up.sh first.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f "$STATE/cluster.env" ]] || { echo "no cluster in $STATE: run up.sh first" >&2; exit 1; }
# shellcheck disable=SC1091
source "$STATE/cluster.env"
kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }
NS=smoke-$$

passed=0 failed=0
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok    $what"
        passed=$((passed + 1))
    else
        echo "FAIL  $what"
        failed=$((failed + 1))
    fi
}
cleanup() { kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

three_nodes_ready() {
    local ready
    ready=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
    [[ "$(grep -c '^True$' <<<"$ready")" == 3 ]]
}
check "3 nodes Ready" three_nodes_ready

kubectl create namespace "$NS" >/dev/null
kubectl apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: $NS}
spec:
  replicas: 4
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: shop}}}
      containers:
      - {name: shop, image: ticketing-service:smoke, resources: {requests: {memory: 1Gi, cpu: 250m}, limits: {memory: 1Gi}}}
EOF
deployment_available() { kubectl -n "$NS" rollout status deploy/shop --timeout=60s >/dev/null; }
check "Deployment available" deployment_available

spread_2_1_1() {
    local spread
    spread=$(kubectl -n "$NS" get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' \
        | sort | uniq -c | awk '{ print $1 }' | sort -rn | xargs)
    echo "      spread over nodes: $spread"
    [[ "$spread" == "2 1 1" ]]
}
check "pods spread 2/1/1" spread_2_1_1

all_running_ready() {
    local states
    states=$(kubectl -n "$NS" get pods -o jsonpath='{range .items[*]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
    [[ "$(grep -c '^Running/True$' <<<"$states")" == 4 ]]
}
check "4 pods Running and Ready" all_running_ready

namespace_labelled() {
    [[ "$(kubectl get namespace "$NS" -o jsonpath='{.metadata.labels.kubernetes\.io/metadata\.name}')" == "$NS" ]]
}
check "namespace labelled kubernetes.io/metadata.name" namespace_labelled

namespace_deleted() { kubectl delete namespace "$NS" --timeout=90s >/dev/null; }
check "namespace deletion completes" namespace_deleted

operator_denied() {
    local answer
    answer=$(kubectl --kubeconfig "$OPERATOR_KUBECONFIG" auth can-i create deployments -n default || true)
    [[ "$answer" == no ]]
}
check "RBAC: a token without grants is denied" operator_denied

for env in "$PG1_ENV" "$PG2_ENV"; do
    name=$(basename "$env" .env)
    pg_password_works() (
        set -a
        # shellcheck disable=SC1090
        source "$env"
        [[ "$(psql -X -At -h 127.0.0.1 -c 'select current_user' 2>/dev/null)" == "$PGUSER" ]]
    )
    pg_wrong_password_refused() (
        set -a
        # shellcheck disable=SC1090
        source "$env"
        ! PGPASSWORD="not-$PGPASSWORD" psql -X -At -h 127.0.0.1 -c 'select 1' >/dev/null 2>&1
    )
    check "$name: admin role logs in with its password over TCP" pg_password_works
    check "$name: a wrong password is refused" pg_wrong_password_refused
done

echo "$passed passed, $failed failed"
((failed == 0))
