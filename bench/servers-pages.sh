#!/usr/bin/env bash
# Several servers on one PostgreSQL database (issue 14): TAXII pages/s of 1 `liaison serve`
# against 3 on the same node's database, the partner (GBR) asking `limit=100` pages of its
# outbound collection with wrk (16 connections in all; with 3 servers split over them), after
# one full walk has brought the view up to date. Results to bench/out/servers-pages-<stamp>/.
#
#   bench/servers-pages.sh            # N=20000 objects, SECS=15 per run, RUNS=3
#   LIAISON_MAIN=/tmp/liaison-main bench/servers-pages.sh
#                                     # and, in each round, one server of that build (another
#                                     # commit's `liaison`, same schema) on the same database
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
SECS=${SECS:-15}
RUNS=${RUNS:-3}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
w=$(mkdir -p "bench/out/servers-pages-$stamp" && cd "bench/out/servers-pages-$stamp" && pwd)
log() { echo "== $*" | tee -a "$w/summary.txt" >&2; }
{ date -u; nproc; lscpu | sed -n 1,20p; free -h; uptime; } > "$w/machine.txt"

[[ -n ${SKIP_BUILD:-} ]] || cargo build --release -p liaison-cli -p liaison-bench
L=$PWD/target/release/liaison
B=$PWD/target/release/liaison-bench
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

pids=()
pg_env="$(scripts/pg-test-cluster.sh start)"
pg_dir="$(sed -n 's/^export LIAISON_TEST_PG_DIR=//p' <<<"$pg_env")"
pg_url="$(sed -n 's/^export LIAISON_TEST_PG_URL=//p' <<<"$pg_env")"
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/pg-test-cluster.sh stop "$pg_dir"
}
trap cleanup EXIT
psql "$pg_url" -qc "CREATE DATABASE liaison_pages"
db="${pg_url%/*}/liaison_pages"

export LIAISON_S=bench-secret-$stamp
home=$w/node
$L --home "$home" init --party USA --database "$db" > /dev/null
printf 'ceiling = "SECRET"\n[scope]\nmax_tlp = "amber"\n' > "$w/gbr.toml"
$L --home "$home" partner add GBR --agreement "$w/gbr.toml" > /dev/null
$L --home "$home" partner secret GBR --from-env LIAISON_S > /dev/null
$B bundle --objects "$N" --out "$w/bundle.json" --format json > /dev/null
$L --home "$home" ingest "$w/bundle.json" --label "SECRET//REL TO USA, GBR" > /dev/null
rm -f "$w/bundle.json"

urls=()
start_server() { # start_server [BINARY]
  local f=$w/serve-$RANDOM.json
  "${1:-$L}" --home "$home" serve --listen 127.0.0.1:0 --console off --format json > "$f" 2> "$f.err" &
  pids+=("$!")
  for _ in $(seq 1 300); do [[ -s $f ]] && break; sleep 0.1; done
  urls+=("$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$f")")
}
for _ in 1 2 3; do start_server; done
[[ -z ${LIAISON_MAIN:-} ]] || start_server "$LIAISON_MAIN"
fp=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get("fingerprint") or "")' "$(ls "$w"/serve-*.json | head -1)")
$B walk --url "${urls[0]}" ${fp:+--fingerprint "$fp"} --limit 1000 --walks 1 --format json > "$w/walk.json"

auth="Authorization: Basic $(printf 'GBR:%s' "$LIAISON_S" | base64 -w0)"
acc="Accept: application/taxii+json;version=2.1"
rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
: > "$w/rates.tsv"
for r in $(seq 1 "$RUNS"); do
  wrk -t2 -c16 -d"${SECS}s" -H "$auth" -H "$acc" "${urls[0]}liaison/collections/outbound/objects/?limit=100" > "$w/one-$r.txt"
  running=()
  for i in 0 1 2; do
    wrk -t1 -c$((i == 0 ? 6 : 5)) -d"${SECS}s" -H "$auth" -H "$acc" "${urls[$i]}liaison/collections/outbound/objects/?limit=100" > "$w/three-$r-$i.txt" &
    running+=("$!")
  done
  wait "${running[@]}"
  three=$(for i in 0 1 2; do rate "$w/three-$r-$i.txt"; done | paste -sd+ | bc)
  other=
  if [[ -n ${LIAISON_MAIN:-} ]]; then
    wrk -t2 -c16 -d"${SECS}s" -H "$auth" -H "$acc" "${urls[3]}liaison/collections/outbound/objects/?limit=100" > "$w/other-$r.txt"
    other=$(rate "$w/other-$r.txt")
  fi
  echo -e "$r\t$(rate "$w/one-$r.txt")\t$three${other:+\t$other}" | tee -a "$w/rates.tsv"
done
log "pages/s (run, 1 server, 3 servers${LIAISON_MAIN:+, 1 server of $LIAISON_MAIN}): $(tr '\n' ' ' < "$w/rates.tsv")"
log "results in $w"
