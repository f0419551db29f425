#!/usr/bin/env bash
# Stops, or starts again, one PostgreSQL server of the running local control
# plane, so tests can see what a database outage does. Data, port, socket and
# credentials stay as up.sh made them.
#
#   pg.sh stop pg-1     fast shutdown (SIGINT), waits until every process is gone
#   pg.sh start pg-1    starts it again, waits until it accepts connections
#
# Only the process recorded in pids/pg-N.pid is signalled, and only while it is
# still the one that was started (pid and start time match). A restarted
# server is recorded the same way as up.sh records it, so down.sh stops it.
#
#   BOXOFFICE_RUN           state root (default <repo>/.run)
#   BOXOFFICE_UP_TIMEOUT    seconds to wait for the start (default 90)
#   BOXOFFICE_DOWN_TIMEOUT  seconds to wait before SIGKILL (default 20)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=boxoffice-pg
UP_TIMEOUT=${BOXOFFICE_UP_TIMEOUT:-90}
DOWN_TIMEOUT=${BOXOFFICE_DOWN_TIMEOUT:-20}
started=$SECONDS
log() { printf '[pg %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }
usage() {
    echo "usage: pg.sh stop|start pg-1|pg-2" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
cmd=$1
name=$2
[[ "$name" =~ ^pg-[12]$ ]] || usage

# The same lock as up.sh and down.sh: never race a cluster start or stop.
mkdir -p "$(dirname "$STATE")"
exec 8>"$STATE.lock"
flock -w 300 8 || { log "another up.sh/down.sh/pg.sh holds $STATE.lock"; exit 1; }

[[ -f "$STATE/cluster.env" && -f "$STATE/ports.env" ]] \
    || { log "no running local control plane in $STATE"; exit 1; }
data="$STATE/$name/data"
[[ -f "$data/PG_VERSION" ]] || { log "no data directory for $name in $STATE"; exit 1; }
port_var="PG${name#pg-}_PORT"
port=$(awk -F= -v key="$port_var" '$1 == key { print $2 }' "$STATE/ports.env")
[[ "$port" =~ ^[0-9]+$ ]] || { log "no $port_var in $STATE/ports.env"; exit 1; }

stop_server() {
    local pid procs
    if ! pid=$(component_pid "$name"); then
        log "$name is not running"
        return 0
    fi
    # The whole tree is noted first, so what remains can be waited for and
    # killed pid by pid. SIGINT is PostgreSQL's fast shutdown.
    procs=$(process_tree "$pid")
    log "stopping $name (pid $pid, SIGINT)"
    kill -INT -- "-$pid" 2>/dev/null || true
    local deadline=$((SECONDS + DOWN_TIMEOUT))
    while [[ -n "$procs" ]] && ((SECONDS < deadline)); do
        procs=$(still_alive <<<"$procs")
        [[ -n "$procs" ]] && sleep 0.1
    done
    if [[ -n "$procs" ]]; then
        log "still running after ${DOWN_TIMEOUT}s: SIGKILL to" \
            "$(awk '{ print $1 }' <<<"$procs" | xargs)"
        while read -r p _; do
            kill -KILL "$p" 2>/dev/null || true
        done <<<"$procs"
        local i
        for ((i = 0; i < 25; i++)); do
            procs=$(still_alive <<<"$procs")
            [[ -z "$procs" ]] && break
            sleep 0.2
        done
        [[ -z "$procs" ]] || { log "processes survived SIGKILL: $procs"; return 1; }
    fi
    log "$name stopped (port $port)"
}

start_server() {
    if component_pid "$name" >/dev/null; then
        log "$name is already running"
        return 0
    fi
    # As up.sh starts it: its own session, as the unprivileged user, logging to
    # logs/NAME.log, recorded as "PID START_TIME" in pids/NAME.pid.
    (cd "$STATE/$name" && start_component "$name" setpriv --reuid="$PG_USER" --regid="$PG_USER" \
        --init-groups -- "$PG_BIN/postgres" -D "$data")
    TIMEOUT=$UP_TIMEOUT wait_for "$name on :$port" "$name" \
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1
}

case $cmd in
    stop) stop_server ;;
    start) start_server ;;
    *) usage ;;
esac
