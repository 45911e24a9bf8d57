#!/usr/bin/env bash
# Issue 14: ingest to OBJECTS objects in slices, on SQLite and on PostgreSQL, in one session.
# `liaison-bench ingest` (bundles of 10,000: parse_document, then the store's ingest; the same
# synthetic objects on both) reports objects/s per slice of SLICE objects: flat throughput
# means the last slice is about as fast as the first.
#
# PostgreSQL runs on a throwaway cluster (scripts/pg-test-cluster.sh, loopback) made durable
# for the run: fsync, full_page_writes and synchronous_commit on, as a deployment would have
# them (the test cluster turns them off for speed). DURABLE=0 keeps them off.
#
#   bench/ingest.sh                                 # 10M objects, slices of 1M, both backends
#   OBJECTS=1000000 SLICE=100000 bench/ingest.sh    # shorter
#   BACKENDS=postgres bench/ingest.sh               # one backend
#   BATCH=100000 bench/ingest.sh                    # objects per bundle (default 10,000)
#   MAX_WAL_SIZE=16GB BACKENDS=postgres bench/ingest.sh   # PostgreSQL tuned for bulk loads
set -euo pipefail
cd "$(dirname "$0")/.."
objects="${OBJECTS:-10000000}"
slice="${SLICE:-1000000}"
backends="${BACKENDS:-sqlite postgres}"
out=bench/out
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$out/ingest-$stamp.json"

cargo build --release -q -p liaison-bench --bin liaison-bench
{ date -u; nproc; free -h | head -2; df -h "${DIR:-/tmp}" | tail -1; uptime; } \
    | tee "$out/ingest-machine-$stamp.txt"

cluster=""
cleanup() { [[ -n "$cluster" ]] && scripts/pg-test-cluster.sh stop "$cluster"; }
trap cleanup EXIT

echo "[" >"$results"
first=1
for backend in $backends; do
    args=(--format json ingest --objects "$objects" --slice "$slice" --batch "${BATCH:-10000}")
    [[ -n "${DIR:-}" ]] && args+=(--dir "$DIR")
    if [[ "$backend" == postgres ]]; then
        env_file="$(mktemp)"
        scripts/pg-test-cluster.sh start >"$env_file"
        # shellcheck source=/dev/null
        . "$env_file"
        rm -f "$env_file"
        cluster="$LIAISON_TEST_PG_DIR"
        if [[ "${DURABLE:-1}" == 1 ]]; then
            psql -q "$LIAISON_TEST_PG_URL" -c "ALTER SYSTEM SET fsync = on" \
                -c "ALTER SYSTEM SET full_page_writes = on" \
                -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
        fi
        if [[ -n "${MAX_WAL_SIZE:-}" ]]; then
            # As README's PostgreSQL section advises for bulk loads: fewer checkpoints, so
            # fewer full-page writes after each.
            psql -q "$LIAISON_TEST_PG_URL" -c "ALTER SYSTEM SET max_wal_size = '$MAX_WAL_SIZE'" \
                -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" -c "SELECT pg_reload_conf()" >/dev/null
        fi
        psql -q "$LIAISON_TEST_PG_URL" -c "CREATE DATABASE ingest_bench"
        args+=(--database "${LIAISON_TEST_PG_URL%/*}/ingest_bench")
    fi
    echo "== $backend: $objects objects, slices of $slice" >&2
    ((first)) || echo "," >>"$results"
    first=0
    /usr/bin/time -v target/release/liaison-bench "${args[@]}" 2>"$out/ingest-$backend-$stamp.err" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps(r[0] if isinstance(r, list) else r))' \
        >>"$results"
    grep -E 'ingest +[0-9]|Maximum resident' "$out/ingest-$backend-$stamp.err" >&2 || true
    if [[ "$backend" == postgres ]]; then
        psql -At "$LIAISON_TEST_PG_URL" -c "SELECT pg_size_pretty(pg_database_size('ingest_bench'))" \
            | sed 's/^/postgres database size: /' >&2
    fi
done
echo "]" >>"$results"
uptime | tee -a "$out/ingest-machine-$stamp.txt"

python3 - "$results" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    rates = [s["objects_per_s"] for s in r["slices"]]
    print(f"{r['backend']:<9} {r['objects']:>11,} objects: overall {r['overall_objects_per_s']:>8,.0f}/s, "
          f"slices {min(rates):,.0f}-{max(rates):,.0f}/s, last/first {r['last_over_first']:.2f}, "
          f"parse share {r['parse_share']:.2f}")
print(f"results in {sys.argv[1]}")
PY
