#!/usr/bin/env bash
# TAXII pages from one `liaison serve` on PostgreSQL, for several builds in the same run
# (issue 14): each build gets a node of its own (the same N objects released to GBR, on the
# throwaway loopback cluster, fsync off), since builds of different schema versions cannot
# share a database; then, ROUNDS times, each build in turn serves its node, plain HTTP on
# loopback, its view computed and walked once, and wrk asks `limit=100` pages of GBR's
# outbound collection on 16 connections for SECS seconds. Results to bench/out/pg-pages-<stamp>/.
#
#   bench/pg-pages.sh /tmp/liaison-before target/release/liaison     # N=20000 SECS=10 ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
(($# > 0)) || { echo "usage: bench/pg-pages.sh LIAISON_BINARY..." >&2; exit 2; }
N=${N:-20000}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
w=$(mkdir -p "bench/out/pg-pages-$stamp" && cd "bench/out/pg-pages-$stamp" && pwd)
log() { echo "== $*" | tee -a "$w/summary.txt" >&2; }
{ date -u; nproc; lscpu | sed -n 1,20p; free -h; uptime; } > "$w/machine.txt"
[[ -n ${SKIP_BUILD:-} ]] || cargo build --release -p liaison-bench
B=$PWD/target/release/liaison-bench
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

pg_env="$(scripts/pg-test-cluster.sh start)"
pg_dir="$(sed -n 's/^export LIAISON_TEST_PG_DIR=//p' <<<"$pg_env")"
pg_url="$(sed -n 's/^export LIAISON_TEST_PG_URL=//p' <<<"$pg_env")"
spid=
cleanup() {
  [[ -z $spid ]] || kill -TERM -- "-$spid" 2>/dev/null || true
  scripts/pg-test-cluster.sh stop "$pg_dir"
}
trap cleanup EXIT

export LIAISON_S=bench-secret-$stamp
printf 'ceiling = "SECRET"\n[scope]\nmax_tlp = "amber"\n' > "$w/gbr.toml"
$B bundle --objects "$N" --out "$w/bundle.json" --format json > /dev/null
bins=()
for i in $(seq 1 $#); do
  L=$(realpath "${!i}")
  bins+=("$L")
  psql "$pg_url" -qc "CREATE DATABASE liaison_pages_$i"
  $L --home "$w/node-$i" init --party USA --database "${pg_url%/*}/liaison_pages_$i" > /dev/null
  $L --home "$w/node-$i" partner add GBR --agreement "$w/gbr.toml" > /dev/null
  $L --home "$w/node-$i" partner secret GBR --from-env LIAISON_S > /dev/null
  $L --home "$w/node-$i" ingest "$w/bundle.json" --label "SECRET//REL TO USA, GBR" > /dev/null
done
rm -f "$w/bundle.json"
auth="Authorization: Basic $(printf 'GBR:%s' "$LIAISON_S" | base64 -w0)"
acc="Accept: application/taxii+json;version=2.1"
for r in $(seq 1 "$ROUNDS"); do
  for i in "${!bins[@]}"; do
    f=$w/serve-$r-$i.json
    LIAISON_LOG=warn setsid "${bins[$i]}" --home "$w/node-$((i + 1))" serve --listen 127.0.0.1:0 \
      --insecure-http --console off --format json > "$f" 2> "$f.err" &
    spid=$!
    for _ in $(seq 1 300); do [[ -s $f ]] && break; sleep 0.1; done
    url=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$f")
    $B walk --url "$url" --user GBR --limit 1000 --walks 1 > /dev/null 2>&1
    wrk -t2 -c16 -d"${SECS}s" --latency -H "$auth" -H "$acc" \
      "${url}liaison/collections/outbound/objects/?limit=100" > "$w/wrk-$r-$i.txt"
    log "round $r, ${bins[$i]}: $(awk '/Requests\/sec/ {r=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {print r " pages/s, p50 " p50 ", p99 " p99}' "$w/wrk-$r-$i.txt")"
    kill -TERM -- "-$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    spid=
  done
done
log "results in $w"
