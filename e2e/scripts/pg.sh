#!/usr/bin/env bash
# A PostgreSQL 15 server for the demo and the benchmark, in a folder of its own.
#   pg.sh start DIR PORT [setting=value ...]   initdb if needed, start on 127.0.0.1:PORT
#   pg.sh stop DIR                              fast shutdown
# initdb refuses root, so as root the server runs as the unprivileged user `nobody`.
# The superuser `postgres` is trusted on loopback: these servers hold demo data only.
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?start or stop}
dir=${2:?data folder}
dir=$(realpath -m "$dir")

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    port=${3:?port}
    shift 3
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1
    fi
    opts="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir"
    opts+=" -c max_connections=500 -c shared_buffers=256MB"
    for setting in "$@"; do opts+=" -c $setting"; done
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "PostgreSQL already running in $dir"
      exit 0
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: pg.sh start DIR PORT [setting=value ...] | stop DIR" >&2
    exit 2
    ;;
esac
