# Shared by up.sh, down.sh and status.sh: where the local control plane keeps
# its state, and how it starts, recognises and stops its own processes.
# Sourced, not run.

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CLUSTER_DIR/../.." && pwd)
STATE=${BOXOFFICE_RUN:-$REPO_ROOT/.run}/cluster
PIDS="$STATE/pids"
# Debian's interpreter, not whatever a version manager put first on PATH.
PYTHON=${BOXOFFICE_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
LOGS="$STATE/logs"

# Start order; stopped in reverse. The names are the pid and log file names.
COMPONENTS=(pg-1 pg-2 etcd kube-apiserver kube-controller-manager kube-scheduler stand-in-kubelet)

# Field 22 of /proc/PID/stat: when the process started, in clock ticks since
# boot. Stored next to the pid so a pid reused by someone else's process is
# never taken for ours.
proc_start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # The command name (field 2) may hold spaces; cut after its closing ')'.
    stat=${stat##*) }
    awk '{ print $20 }' <<<"$stat"
}

# Runs a command in a new session (so it is its own process group leader and
# outlives this shell), detached from our stdin and stdout, logging to
# $LOGS/NAME.log, and records "PID START_TIME" in $PIDS/NAME.pid.
start_component() {
    local name=$1
    shift
    mkdir -p "$PIDS" "$LOGS"
    # Fd 8 is the up.sh/down.sh lock: a component inheriting it would hold
    # the lock for as long as it runs.
    setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 8>&- &
    local pid=$!
    local start=""
    local i
    for ((i = 0; i < 50; i++)); do
        start=$(proc_start_time "$pid") && [[ -n "$start" ]] && break
        sleep 0.02
    done
    echo "$pid ${start:-0}" >"$PIDS/$name.pid"
}

# Prints the pid of component NAME when the process we started still runs.
component_pid() {
    local file="$PIDS/$1.pid" pid start
    [[ -f "$file" ]] || return 1
    read -r pid start <"$file" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ "$(proc_start_time "$pid" 2>/dev/null)" == "$start" ]] || return 1
    # A zombie has exited; only its parent has not reaped it yet.
    [[ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != Z ]] || return 1
    echo "$pid"
}

# Prints "PID START_TIME" for PID and every process below it: its
# descendants and the members of its process group. PostgreSQL puts each
# backend in a process group of its own, so the group alone is not enough.
process_tree() {
    local root=$1 pid start
    ps -e -o pid=,ppid=,pgid= | awk -v root="$root" '
        { ppid[$1] = $2; pgid[$1] = $3 }
        END {
            mine[root] = 1
            for (changed = 1; changed; ) {
                changed = 0
                for (p in ppid)
                    if (!(p in mine) && ((ppid[p] in mine) || pgid[p] == root)) {
                        mine[p] = 1
                        changed = 1
                    }
            }
            for (p in mine) print p
        }' | while read -r pid; do
        start=$(proc_start_time "$pid" 2>/dev/null) && echo "$pid $start"
    done
}

# Reads "PID START_TIME" lines on stdin; prints those still alive as the same
# process (not exited, not a zombie, pid not reused).
still_alive() {
    local pid start
    while read -r pid start; do
        [[ "$(proc_start_time "$pid" 2>/dev/null)" == "$start" ]] || continue
        [[ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != Z ]] || continue
        echo "$pid $start"
    done
}

# Waits until COMMAND succeeds, at most $TIMEOUT seconds; fails early when
# the component it waits for has died.
wait_for() {
    local what=$1 component=$2
    shift 2
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            log "$what ready"
            return 0
        fi
        if ! component_pid "$component" >/dev/null; then
            log "$what exited; last lines of $LOGS/$component.log:"
            tail -n 20 "$LOGS/$component.log" >&2 || true
            return 1
        fi
        sleep 0.3
    done
    log "$what not ready after ${TIMEOUT}s; last lines of $LOGS/$component.log:"
    tail -n 20 "$LOGS/$component.log" >&2 || true
    return 1
}
