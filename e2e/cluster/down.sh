#!/usr/bin/env bash
# Stops the local control plane that up.sh started and removes its state
# directory. Only processes recorded in its pid files are signalled, and only
# while they are still the processes that were started (pid and start time
# match), so a recycled pid is never hit. Safe to run when nothing is up.
#
#   BOXOFFICE_RUN           state root (default <repo>/.run)
#   BOXOFFICE_DOWN_TIMEOUT  seconds to wait before SIGKILL (default 20)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIMEOUT=${BOXOFFICE_DOWN_TIMEOUT:-20}
started=$SECONDS
log() { printf '[down %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }

# up.sh calls this while holding the lock itself.
if [[ "${BOXOFFICE_LOCK_HELD:-0}" != 1 ]]; then
    mkdir -p "$(dirname "$STATE")"
    exec 8>"$STATE.lock"
    flock -w 300 8 || { log "another up.sh/down.sh holds $STATE.lock"; exit 1; }
fi

if [[ ! -d "$STATE" ]]; then
    log "nothing to stop ($STATE does not exist)"
    exit 0
fi

# Every component was started with setsid, so its pid is also its process
# group id. Its whole tree is noted before any signal, so what remains can be
# waited for and, if need be, killed pid by pid.
# PostgreSQL takes SIGINT as "fast shutdown"; SIGTERM would wait for clients.
procs=""
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name=${COMPONENTS[i]}
    if pid=$(component_pid "$name"); then
        case $name in
            pg-*) signal=INT ;;
            *) signal=TERM ;;
        esac
        procs+="$(process_tree "$pid")"$'\n'
        log "stopping $name (pid $pid, SIG$signal)"
        kill "-$signal" -- "-$pid" 2>/dev/null || true
    fi
done
procs=$(grep . <<<"$procs" || true)

deadline=$((SECONDS + TIMEOUT))
while [[ -n "$procs" ]] && ((SECONDS < deadline)); do
    procs=$(still_alive <<<"$procs")
    [[ -n "$procs" ]] && sleep 0.2
done
if [[ -n "$procs" ]]; then
    log "still running after ${TIMEOUT}s: SIGKILL to $(awk '{ print $1 }' <<<"$procs" | xargs)"
    while read -r pid _; do
        kill -KILL "$pid" 2>/dev/null || true
    done <<<"$procs"
    for ((i = 0; i < 25; i++)); do
        procs=$(still_alive <<<"$procs")
        [[ -z "$procs" ]] && break
        sleep 0.2
    done
    if [[ -n "$procs" ]]; then
        log "processes survived SIGKILL ($(awk '{ print $1 }' <<<"$procs" | xargs)); keeping $STATE"
        exit 1
    fi
fi

# Socket directories that did not fit under the state dir (see up.sh).
for f in "$STATE"/pg-*.socket-dir; do
    [[ -f "$f" ]] || continue
    dir=$(cat "$f")
    [[ "$dir" == /tmp/boxoffice-pg.* ]] && rm -rf "$dir"
done

rm -rf "$STATE"
log "stopped; removed $STATE"
