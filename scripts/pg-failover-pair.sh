#!/usr/bin/env bash
# A throwaway PostgreSQL 15 primary with a synchronous hot standby, on loopback, for the
# failover test (crates/release/tests/failover.rs).
#
#   scripts/pg-failover-pair.sh start            # prints export lines (see below), nothing else
#   scripts/pg-failover-pair.sh kill-primary DIR # SIGKILL to the primary's postmaster
#   scripts/pg-failover-pair.sh promote DIR      # the standby becomes the primary
#   scripts/pg-failover-pair.sh stop DIR         # stops what runs and removes DIR
#
# Unlike scripts/pg-test-cluster.sh, durability is ON (fsync, synchronous_commit = on): the
# point is what survives. The standby is made with pg_basebackup and named in the primary's
# `synchronous_standby_names`, so a commit returns only once the standby has flushed its WAL:
# what the node was told is written is on both servers. `start` prints:
#   export LIAISON_FAILOVER_PRIMARY_URL=postgres://postgres@127.0.0.1:<port>/postgres
#   export LIAISON_FAILOVER_STANDBY_URL=postgres://postgres@127.0.0.1:<port>/postgres
#   export LIAISON_FAILOVER_DIR=<the temp directory>
# As root, the servers run as the `postgres` system user (as in pg-test-cluster.sh).
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STANDBY_NAME=liaison_standby

log() { echo "pg-failover-pair: $*" >&2; }
die() { log "$*"; exit 1; }

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

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_server() { # data dir, port, log file
    as_owner "$PG_BIN/pg_ctl" -D "$1" -l "$3" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $2 -k $(dirname "$1")" start >/dev/null
}

start() {
    # pg-test-cluster.sh installs the binaries and the postgres user when they are missing.
    [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_basebackup" ]] ||
        die "no PostgreSQL 15 at $PG_BIN (run scripts/pg-test-cluster.sh once, or set PG_BIN)"
    local dir parent="${TMPDIR:-/tmp}"
    [[ $(id -u) -eq 0 ]] && parent=/tmp
    dir="$(mktemp -d "$parent/liaison-failover.XXXXXX")"
    chmod 700 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    mkdir -p "$dir/p" "$dir/s"
    chmod 700 "$dir/p" "$dir/s"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/p" "$dir/s"

    if ! as_owner "$PG_BIN/initdb" -D "$dir/p/data" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    local pport sport
    pport="$(free_port)"
    sport="$(free_port)"
    cat >>"$dir/p/data/postgresql.conf" <<EOF
wal_level = replica
max_wal_senders = 4
synchronous_commit = on
synchronous_standby_names = '$STANDBY_NAME'
max_connections = 100
EOF
    start_server "$dir/p/data" "$pport" "$dir/p/server.log" || {
        tail -n 20 "$dir/p/server.log" >&2
        die "the primary did not start"
    }
    if ! as_owner "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
        -D "$dir/s/data" -X stream -R >"$dir/basebackup.log" 2>&1; then
        cat "$dir/basebackup.log" >&2
        die "pg_basebackup failed"
    fi
    # The standby must announce the name the primary waits for (later lines win).
    # Once promoted it has no standby of its own: it must not wait for one (the copied
    # configuration names one), or every commit after the failover would hang. An HA manager
    # (Patroni) sets this as standbys come and go.
    {
        echo "primary_conninfo = 'host=127.0.0.1 port=$pport user=postgres application_name=$STANDBY_NAME'"
        echo "synchronous_standby_names = ''"
    } >>"$dir/s/data/postgresql.auto.conf"
    start_server "$dir/s/data" "$sport" "$dir/s/server.log" || {
        tail -n 20 "$dir/s/server.log" >&2
        die "the standby did not start"
    }
    # Wait until the primary sees the standby as synchronous, or commits would hang.
    local state="" i
    for i in $(seq 1 60); do
        state="$(as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$pport" -U postgres -At \
            -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$STANDBY_NAME'" \
            2>/dev/null || true)"
        [[ "$state" == sync ]] && break
        sleep 0.5
    done
    [[ "$state" == sync ]] || die "the standby never became synchronous (state: '${state}')"
    log "primary 127.0.0.1:$pport, synchronous standby 127.0.0.1:$sport, in $dir"
    echo "export LIAISON_FAILOVER_PRIMARY_URL=postgres://postgres@127.0.0.1:$pport/postgres"
    echo "export LIAISON_FAILOVER_STANDBY_URL=postgres://postgres@127.0.0.1:$sport/postgres"
    echo "export LIAISON_FAILOVER_DIR=$dir"
}

kill_primary() {
    local dir="$1" pid
    pid="$(head -n 1 "$dir/p/data/postmaster.pid")"
    kill -KILL "$pid"
    log "SIGKILL to the primary's postmaster ($pid)"
}

promote() {
    as_owner "$PG_BIN/pg_ctl" -D "$1/s/data" -w -t 60 promote >/dev/null
    log "the standby is promoted"
}

stop() {
    local dir="$1" d
    [[ -d "$dir" ]] || return 0
    [[ -d "$dir/p" && -d "$dir/s" ]] || die "stop: $dir is not a pair made by this script"
    for d in "$dir/s/data" "$dir/p/data"; do
        if [[ -f "$d/postmaster.pid" ]]; then
            as_owner "$PG_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    # A SIGKILLed postmaster leaves its backends to exit on their own; make sure they do.
    pkill -KILL -f -- "-D $dir/" 2>/dev/null || true
    rm -rf "$dir"
    log "stopped and removed $dir"
}

case "${1:-}" in
    start) start ;;
    kill-primary) kill_primary "${2:?directory}" ;;
    promote) promote "${2:?directory}" ;;
    stop) stop "${2:?directory}" ;;
    *) die "usage: $0 start | kill-primary DIR | promote DIR | stop DIR" ;;
esac
