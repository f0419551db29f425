#!/usr/bin/env bash
# Prints which parts of the local control plane run, their ports and files.
# Exits 0 when everything is up, 1 otherwise.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -d "$STATE" ]]; then
    echo "down ($STATE does not exist)"
    exit 1
fi

declare -A port_of=()
if [[ -f "$STATE/ports.env" ]]; then
    # shellcheck disable=SC1091
    source "$STATE/ports.env"
    port_of=(
        [etcd]=${ETCD_PORT:-} [kube-apiserver]=${APISERVER_PORT:-}
        [kube-controller-manager]=${CONTROLLER_MANAGER_PORT:-}
        [kube-scheduler]=${SCHEDULER_PORT:-} [pg-1]=${PG1_PORT:-} [pg-2]=${PG2_PORT:-}
    )
fi

all_up=true
printf '%-26s %-8s %-8s %s\n' COMPONENT STATE PID PORT
for c in "${COMPONENTS[@]}"; do
    if pid=$(component_pid "$c"); then
        state=running
    else
        pid=- state=stopped all_up=false
    fi
    printf '%-26s %-8s %-8s %s\n' "$c" "$state" "$pid" "${port_of[$c]:--}"
done

echo
echo "state:      $STATE"
echo "logs:       $LOGS"
[[ -f "$STATE/cluster.env" ]] && echo "kubeconfig: $STATE/kubeconfig" \
    && echo "env files:  $STATE/cluster.env $STATE/pg-1.env $STATE/pg-2.env"
$all_up
