#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for liaison's store tests.
#
#   eval "$(scripts/pg-test-cluster.sh start)"   # or just: scripts/pg-test-cluster.sh
#   ... cargo test -p liaison-store ...
#   scripts/pg-test-cluster.sh stop              # uses $LIAISON_TEST_PG_DIR, or pass the dir
#
# `start` makes a cluster in a fresh temp directory, listening only on 127.0.0.1 on a free
# port (no Unix socket outside that directory), trust auth for loopback, durability off
# (fsync, synchronous_commit, full_page_writes) since the data is thrown away. It prints, on
# stdout and nothing else:
#   export LIAISON_TEST_PG_URL=postgres://postgres@127.0.0.1:<port>/postgres
#   export LIAISON_TEST_PG_DIR=<the temp directory>
# PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` system user
# (created if missing). If /usr/lib/postgresql/15/bin is missing it installs postgresql-15
# with apt-get (root only). Set PG_BIN to use binaries elsewhere.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { echo "pg-test-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

ensure_binaries() {
    [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "no PostgreSQL 15 at $PG_BIN (install postgresql-15, or set PG_BIN)"
    log "installing postgresql-15 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql-15 >&2
    [[ -x "$PG_BIN/initdb" ]] || die "postgresql-15 installed but $PG_BIN/initdb is missing"
}

ensure_user() {
    [[ $(id -u) -eq 0 ]] || return 0
    id postgres >/dev/null 2>&1 && return 0
    log "creating the postgres system user"
    useradd --system --no-create-home --shell /bin/sh postgres
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    ensure_binaries
    ensure_user
    local dir parent="${TMPDIR:-/tmp}"
    # As root, the postgres user must be able to reach the directory: /root/... won't do.
    [[ $(id -u) -eq 0 ]] && parent=/tmp
    dir="$(mktemp -d "$parent/liaison-pg.XXXXXX")"
    chmod 700 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
    fi
    if ! as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed"
    fi
    local port="" attempt
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null; then
            break
        fi
        log "start on port $port failed (attempt $attempt)"
        port=""
    done
    if [[ -z "$port" ]]; then
        tail -n 20 "$dir/server.log" >&2 || true
        rm -rf "$dir"
        die "could not start PostgreSQL"
    fi
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
    echo "export LIAISON_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export LIAISON_TEST_PG_DIR=$dir"
}

stop() {
    local dir="${1:-${LIAISON_TEST_PG_DIR:-}}"
    [[ -n "$dir" ]] || die "stop: which cluster? pass its directory or set LIAISON_TEST_PG_DIR"
    [[ -d "$dir" ]] || { log "stop: $dir is already gone"; return 0; }
    [[ -f "$dir/data/PG_VERSION" ]] || die "stop: $dir is not a cluster made by this script"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    log "stopped and removed $dir"
}

case "${1:-start}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) die "usage: $0 [start | stop [dir]]" ;;
esac
