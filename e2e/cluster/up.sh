#!/usr/bin/env bash
# Starts the local control plane on loopback: etcd, kube-apiserver (RBAC,
# token auth), kube-controller-manager, kube-scheduler, three Node objects
# kept Ready by a stand-in kubelet, and two PostgreSQL 15 servers.
#
# State (pids, logs, certificates, kubeconfigs, databases) lives in
# ${BOXOFFICE_RUN:-<repo>/.run}/cluster; down.sh stops it all and removes it.
# Running it again while everything is up only says so.
#
#   BOXOFFICE_RUN          state root (default <repo>/.run)
#   BOXOFFICE_CACHE        where build.sh caches the binaries
#   BOXOFFICE_NODE_CPU     allocatable CPU per node (default 8)
#   BOXOFFICE_NODE_MEMORY  allocatable memory per node (default 32Gi)
#   BOXOFFICE_UP_TIMEOUT   seconds to wait for each component (default 90)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODES=(node-1 node-2 node-3)
NODE_CPU=${BOXOFFICE_NODE_CPU:-8}
NODE_MEMORY=${BOXOFFICE_NODE_MEMORY:-32Gi}
TIMEOUT=${BOXOFFICE_UP_TIMEOUT:-90}
PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=boxoffice-pg
PG_ADMIN=boxoffice_admin
# Controllers a kubelet-less cluster can use. nodelifecycle is left out on
# purpose: with no kubelet heartbeats it would taint every node unreachable
# and evict every pod. resourcequota is needed because tenants' namespaces
# carry a ResourceQuota, and admission rejects pods until its usage is known.
CONTROLLERS=namespace,garbagecollector,deployment,replicaset,serviceaccount,serviceaccount-token
CONTROLLERS+=,endpoint,endpointslice,disruption,resourcequota

started=$SECONDS
log() { printf '[up %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }

print_usage_hint() {
    # shellcheck disable=SC1091
    source "$STATE/cluster.env"
    echo "export KUBECONFIG=$KUBECONFIG"
    echo "export PATH=$KUBE_BIN:\$PATH   # kubectl matching the server (v1.20.2)"
    echo "# PostgreSQL: set -a; . $STATE/pg-1.env; set +a   (and pg-2.env)"
}

all_running() {
    local c
    for c in "${COMPONENTS[@]}"; do
        component_pid "$c" >/dev/null || return 1
    done
    [[ -f "$STATE/cluster.env" ]]
}

# One up.sh or down.sh at a time per state dir.
mkdir -p "$(dirname "$STATE")"
exec 8>"$STATE.lock"
flock -w 300 8 || { log "another up.sh/down.sh holds $STATE.lock"; exit 1; }

if [[ -d "$STATE" ]]; then
    if all_running; then
        log "already up ($STATE)"
        print_usage_hint
        exit 0
    fi
    log "found a partly running cluster in $STATE: stopping what is left of it first"
    BOXOFFICE_LOCK_HELD=1 "$CLUSTER_DIR/down.sh"
fi

BIN=$("$CLUSTER_DIR/build.sh" | tail -n1)
[[ -x "$BIN/kube-apiserver" ]] || { log "build.sh did not yield binaries"; exit 1; }
KUBECTL="$BIN/kubectl"

# If anything below fails, keep the logs for inspection and stop what was
# started, so a failed start never leaves half a cluster running.
on_failure() {
    local rc=$?
    trap - ERR EXIT
    ((rc == 0)) && return 0
    local keep
    keep="$(dirname "$STATE")/cluster-failed-logs"
    rm -rf "$keep"
    cp -r "$LOGS" "$keep" 2>/dev/null || true
    log "start failed (exit $rc); logs kept in $keep; stopping what was started"
    BOXOFFICE_LOCK_HELD=1 "$CLUSTER_DIR/down.sh" || true
    exit "$rc"
}
trap on_failure EXIT

mkdir -p "$STATE" "$PIDS" "$LOGS"
# The PostgreSQL servers run as their own user and must be able to reach their data
# directories below the state folder, whatever umask or mktemp made its parents.
chmod o+x "$(dirname "$STATE")"
chmod 755 "$STATE"

# --- ports -----------------------------------------------------------------
# Free loopback ports below the kernel's ephemeral range (32768+), so an
# outgoing connection cannot grab one between this check and the bind.
read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT PG1_PORT PG2_PORT < <(
    "$PYTHON" - 7 <<'EOF'
import random, socket, sys
want, picked = int(sys.argv[1]), []
for port in random.sample(range(20000, 32000), 3000):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    picked.append(port)
    if len(picked) == want:
        break
print(*picked)
EOF
)
[[ -n "${PG2_PORT:-}" ]] || { log "could not find 7 free loopback ports"; exit 1; }
cat >"$STATE/ports.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$API_PORT
CONTROLLER_MANAGER_PORT=$KCM_PORT
SCHEDULER_PORT=$SCHED_PORT
PG1_PORT=$PG1_PORT
PG2_PORT=$PG2_PORT
EOF
SERVER="https://127.0.0.1:$API_PORT"

# --- certificates, keys, tokens, kubeconfigs --------------------------------
PKI="$STATE/pki"
mkdir -p "$PKI"
(
    umask 077
    cd "$PKI"
    cat >openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = boxoffice-local
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, IP:10.96.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
authorityKeyIdentifier = keyid
EOF
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
    openssl req -x509 -new -config openssl.cnf -extensions ca -key ca.key -days 3650 \
        -subj "/CN=boxoffice-local-ca" -out ca.crt
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out apiserver.key 2>/dev/null
    openssl req -new -config openssl.cnf -key apiserver.key -subj "/CN=kube-apiserver" \
        -out apiserver.csr
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile openssl.cnf -extensions server -out apiserver.crt 2>/dev/null
    # Service-account tokens are signed with this pair.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub
    chmod 644 ca.crt
)
log "certificates in $PKI"

new_token() { openssl rand -hex 24; }
ADMIN_TOKEN=$(new_token)
OPERATOR_TOKEN=$(new_token)
KCM_TOKEN=$(new_token)
SCHED_TOKEN=$(new_token)
KUBELET_TOKEN=$(new_token)
# token,user,uid,"groups". system:kube-controller-manager and
# system:kube-scheduler are the users RBAC's bootstrap policy grants their
# roles to. The operator gets no group: its chart or test grants it RBAC.
(
    umask 077
    cat >"$STATE/tokens.csv" <<EOF
$ADMIN_TOKEN,boxoffice-admin,boxoffice-admin,"system:masters"
$KUBELET_TOKEN,boxoffice-stand-in-kubelet,boxoffice-stand-in-kubelet,"system:masters"
$KCM_TOKEN,system:kube-controller-manager,system:kube-controller-manager
$SCHED_TOKEN,system:kube-scheduler,system:kube-scheduler
$OPERATOR_TOKEN,boxoffice-operator,boxoffice-operator
EOF
    echo "$KUBELET_TOKEN" >"$STATE/stand-in-kubelet.token"
    echo "$OPERATOR_TOKEN" >"$STATE/operator.token"
)

write_kubeconfig() {
    local file=$1 user=$2 token=$3
    (
        umask 077
        cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: boxoffice-local
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    token: $token
contexts:
- name: boxoffice-local
  context:
    cluster: boxoffice-local
    user: $user
current-context: boxoffice-local
EOF
    )
}
write_kubeconfig "$STATE/kubeconfig" boxoffice-admin "$ADMIN_TOKEN"
write_kubeconfig "$STATE/operator.kubeconfig" boxoffice-operator "$OPERATOR_TOKEN"
write_kubeconfig "$STATE/kube-controller-manager.kubeconfig" system:kube-controller-manager "$KCM_TOKEN"
write_kubeconfig "$STATE/kube-scheduler.kubeconfig" system:kube-scheduler "$SCHED_TOKEN"
kubectl() { "$KUBECTL" --kubeconfig "$STATE/kubeconfig" "$@"; }

# --- etcd --------------------------------------------------------------------
start_component etcd /usr/bin/etcd \
    --name boxoffice \
    --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "boxoffice=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new
wait_for "etcd on :$ETCD_PORT" etcd curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver ----------------------------------------------------------
# --insecure-port=0: v1.20 still opens an unauthenticated port 8080 otherwise.
# --endpoint-reconciler-type=none: nothing in the cluster talks to the API
# server through the "kubernetes" Service, so its Endpoints (which would name
# the loopback advertise address) are not maintained.
start_component kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 \
    --advertise-address 127.0.0.1 \
    --secure-port "$API_PORT" \
    --insecure-port 0 \
    --tls-cert-file "$PKI/apiserver.crt" \
    --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --token-auth-file "$STATE/tokens.csv" \
    --authorization-mode Node,RBAC \
    --service-account-key-file "$PKI/sa.pub" \
    --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --endpoint-reconciler-type none \
    --allow-privileged=true \
    --profiling=false \
    --cert-dir "$PKI/kube-apiserver" \
    --v 1

# --- PostgreSQL (while the API server starts) -------------------------------
# initdb refuses to run as root: the servers run as an unprivileged system user.
if ! id "$PG_USER" >/dev/null 2>&1; then
    log "creating system user $PG_USER"
    group_flag=(--user-group)
    getent group "$PG_USER" >/dev/null && group_flag=(--gid "$PG_USER")
    useradd --system "${group_flag[@]}" --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$PG_USER"
fi
as_pg() { setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups -- "$@"; }

start_postgres() {
    local name=$1 port=$2
    local dir="$STATE/$name"
    local data="$dir/data"
    # Unix socket paths are limited to 107 bytes; a deep state dir falls back
    # to a short directory under /tmp, removed again by down.sh.
    local socket="$dir/socket"
    if ((${#socket} + 20 > 100)); then
        socket=$(mktemp -d /tmp/boxoffice-pg.XXXXXX)
        echo "$socket" >"$STATE/$name.socket-dir"
    fi
    mkdir -p "$data" "$socket"
    chown -R "$PG_USER:$PG_USER" "$dir" "$socket"
    chmod 700 "$data"
    chmod 755 "$socket"

    # The superuser "postgres" may log in only over the socket, without a
    # password; every other role authenticates with SCRAM over TCP or socket.
    (cd "$dir" && as_pg "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=reject >>"$LOGS/$name.log" 2>&1)
    cat >"$data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER      ADDRESS       METHOD
local   all       postgres                trust
local   all       all                     scram-sha-256
host    all       postgres  127.0.0.1/32  reject
host    all       postgres  ::1/128       reject
host    all       all       127.0.0.1/32  scram-sha-256
host    all       all       ::1/128       scram-sha-256
EOF
    cat >>"$data/postgresql.conf" <<EOF

# Local control plane ($name)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket'
max_connections = 500
password_encryption = 'scram-sha-256'
logging_collector = off
EOF
    chown "$PG_USER:$PG_USER" "$data/pg_hba.conf" "$data/postgresql.conf"

    (cd "$dir" && start_component "$name" setpriv --reuid="$PG_USER" --regid="$PG_USER" \
        --init-groups -- "$PG_BIN/postgres" -D "$data")
    wait_for "PostgreSQL $name on :$port" "$name" \
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1

    local password
    password=$(new_token)
    # The password goes in on stdin, so it shows in no process list.
    "$PG_BIN/psql" -q -X -h "$socket" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -v role="$PG_ADMIN" -v password="$password" >/dev/null <<'EOF'
CREATE ROLE :"role" LOGIN CREATEROLE CREATEDB PASSWORD :'password';
EOF
    (
        umask 077
        cat >"$STATE/$name.env" <<EOF
# PostgreSQL 15 server $name of the local control plane.
# Use: set -a; . $STATE/$name.env; set +a
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=$PG_ADMIN
PGPASSWORD=$password
PGDATABASE=postgres
DATABASE_URL=postgres://$PG_ADMIN:$password@127.0.0.1:$port/postgres
# The superuser "postgres" logs in without a password over this socket only.
PG_SOCKET_DIR=$socket
EOF
    )
    log "PostgreSQL $name: role $PG_ADMIN, details in $STATE/$name.env"
}
start_postgres pg-1 "$PG1_PORT"
start_postgres pg-2 "$PG2_PORT"

api_ready() {
    curl -sf --cacert "$PKI/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" "$SERVER/readyz"
}
wait_for "kube-apiserver on :$API_PORT" kube-apiserver api_ready

# --- controller manager and scheduler ----------------------------------------
# --port=0 closes the insecure ports v1.20 still opens by default; leader
# election is pointless with one instance and only delays the start. No
# --authentication-kubeconfig: their secure ports serve only /healthz here
# (always allowed), and delegated authentication would complain every few
# seconds about the front-proxy CA this API server does not have.
start_component kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$KCM_PORT" \
    --port 0 \
    --cert-dir "$PKI/kube-controller-manager" \
    --leader-elect=false \
    --controllers "$CONTROLLERS" \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" \
    --root-ca-file "$PKI/ca.crt" \
    --profiling=false \
    --v 1
start_component kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$STATE/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$SCHED_PORT" \
    --port 0 \
    --cert-dir "$PKI/kube-scheduler" \
    --leader-elect=false \
    --profiling=false \
    --v 1
# Their serving certificates are self-signed; -k is fine for a health probe.
wait_for "kube-controller-manager on :$KCM_PORT" kube-controller-manager \
    curl -sfk "https://127.0.0.1:$KCM_PORT/healthz"
wait_for "kube-scheduler on :$SCHED_PORT" kube-scheduler \
    curl -sfk "https://127.0.0.1:$SCHED_PORT/healthz"

# --- nodes ---------------------------------------------------------------------
api_patch_status() {
    curl -sf --cacert "$PKI/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
        -X PATCH -H 'Content-Type: application/merge-patch+json' \
        --data-binary @- "$SERVER/api/v1/nodes/$1/status" >/dev/null
}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for node in "${NODES[@]}"; do
    kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $node
  labels:
    kubernetes.io/hostname: $node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
spec:
  podCIDR: 10.$((243 + ${node#node-})).0.0/16
EOF
    # Node status is a subresource kubectl v1.20 cannot patch.
    api_patch_status "$node" <<EOF
{"status": {
  "capacity":    {"cpu": "$NODE_CPU", "memory": "$NODE_MEMORY", "pods": "110", "ephemeral-storage": "100Gi"},
  "allocatable": {"cpu": "$NODE_CPU", "memory": "$NODE_MEMORY", "pods": "110", "ephemeral-storage": "100Gi"},
  "conditions": [
    {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "stand-in kubelet",
     "lastHeartbeatTime": "$now", "lastTransitionTime": "$now"},
    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
     "lastHeartbeatTime": "$now", "lastTransitionTime": "$now"},
    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
     "lastHeartbeatTime": "$now", "lastTransitionTime": "$now"},
    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
     "lastHeartbeatTime": "$now", "lastTransitionTime": "$now"}
  ],
  "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": "$node"}],
  "nodeInfo": {"machineID": "$node", "systemUUID": "$node", "bootID": "$node",
    "kernelVersion": "$(uname -r)", "osImage": "boxoffice local control plane",
    "containerRuntimeVersion": "none://0", "kubeletVersion": "v1.20.2",
    "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux", "architecture": "amd64"}
}}
EOF
    # Admission added node.kubernetes.io/not-ready at creation; nothing here
    # would ever lift it, so the scheduler would place no pod.
    kubectl patch node "$node" --type merge -p '{"spec":{"taints":null}}' >/dev/null
done
nodes_ready() {
    local out
    out=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}/{.spec.taints}{"\n"}{end}')
    [[ "$(grep -c '=True/$' <<<"$out")" == "${#NODES[@]}" ]]
}
wait_for "nodes ${NODES[*]}" kube-apiserver nodes_ready

# --- namespaces ------------------------------------------------------------------
# Kubernetes 1.20 does not set kubernetes.io/metadata.name; NetworkPolicy
# namespace selectors in this project rely on it. The stand-in kubelet keeps
# labelling namespaces created later.
for ns in $(kubectl get namespaces -o jsonpath='{.items[*].metadata.name}'); do
    kubectl label namespace "$ns" --overwrite "kubernetes.io/metadata.name=$ns" >/dev/null
done

# --- stand-in kubelet --------------------------------------------------------------
start_component stand-in-kubelet "$PYTHON" -u "$CLUSTER_DIR/stand_in_kubelet.py" \
    --server "$SERVER" \
    --token-file "$STATE/stand-in-kubelet.token" \
    --ca-file "$PKI/ca.crt" \
    --nodes "$(IFS=,; echo "${NODES[*]}")" \
    --pid-file "$PIDS/stand-in-kubelet.pid"
wait_for "stand-in kubelet" stand-in-kubelet grep -q started "$LOGS/stand-in-kubelet.log"

cat >"$STATE/cluster.env" <<EOF
# The local control plane (e2e/cluster/up.sh). Use: set -a; . $STATE/cluster.env; set +a
KUBECONFIG=$STATE/kubeconfig
KUBE_BIN=$BIN
KUBECTL=$KUBECTL
KUBE_APISERVER=$SERVER
KUBE_CA_FILE=$PKI/ca.crt
OPERATOR_KUBECONFIG=$STATE/operator.kubeconfig
OPERATOR_TOKEN_FILE=$STATE/operator.token
ETCD_ENDPOINT=http://127.0.0.1:$ETCD_PORT
PG1_ENV=$STATE/pg-1.env
PG2_ENV=$STATE/pg-2.env
EOF

trap - EXIT
log "up: API server $SERVER, nodes ${NODES[*]}, PostgreSQL on :$PG1_PORT and :$PG2_PORT"
print_usage_hint
