#!/usr/bin/env bash
# TAXII serving benchmark (issue 3), with the ingest peer of issue 2, all in one run.
#
#   bench/taxii.sh                  # 100k objects (N=... to change), medallion at 1k and 10k
#   MEDALLION_SIZES="1000" bench/taxii.sh     # skip medallion at 10k (it takes ~10 minutes)
#   N=5000 MEDALLION_SIZES=1000 MEDALLION_BUDGET=60 WRK_SECS=3 bench/taxii.sh   # smoke run
#
# 1. liaison: `liaison ingest` of the same unmarked objects at 10k and 100k (3 fresh nodes
#    each, median), labelled SECRET//REL TO USA, GBR; GBR is a partner (ceiling SECRET, TLP up
#    to amber) with a secret.
# 2. `liaison serve` (HTTPS, self-signed, pinned): full paged walks of GBR's outbound
#    collection as GBR (Basic auth) with liaison-client (`liaison-bench walk`), limit 1000 and
#    100; the first walk after a start is cold (the view is computed), the others warm; extra
#    restarts give three cold samples at limit 1000. The same over --insecure-http.
# 3. The limit: serde_json serializing the same objects (as serde_json::Value) into envelopes
#    of the same page sizes (`liaison-bench serialize`).
# 4. wrk, 2 threads, 16 connections, 30 s, GET .../objects/?limit=100 (HTTPS), --latency.
# 5. medallion (PyPI, memory backend, its own `medallion` command = Flask's server) in
#    bench/out/venv: POST the first 1k / 10k of the same objects (ingest rate), then the same
#    paged walks, each size bounded by MEDALLION_BUDGET seconds (a timeout is an outcome);
#    wrk against it at 1k.
# Results: bench/out/taxii-<stamp>/ (JSON per step, logs, machine.txt, summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
MEDALLION_SIZES=${MEDALLION_SIZES:-"1000 10000"}
MEDALLION_BUDGET=${MEDALLION_BUDGET:-600}
WRK_SECS=${WRK_SECS:-30}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
w=bench/out/taxii-$stamp
mkdir -p "$w"
w=$(cd "$w" && pwd)
log() { echo "== $*" | tee -a "$w/summary.txt" >&2; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

{ date -u; nproc; lscpu | sed -n 1,20p; free -h; uname -a; } > "$w/machine.txt"

# SKIP_BUILD=1 uses the binaries already in target/release (e.g. while the tree is mid-edit)
[[ -n ${SKIP_BUILD:-} ]] || cargo build --release -p liaison-cli -p liaison-bench
L=$PWD/target/release/liaison
B=$PWD/target/release/liaison-bench

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk
fi
venv=bench/out/venv
if [[ ! -x $venv/bin/medallion ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q medallion
fi
"$venv/bin/pip" show medallion 2>/dev/null | sed -n 1,2p > "$w/medallion-version.txt"

export LIAISON_S=bench-secret-$stamp
label="SECRET//REL TO USA, GBR"
printf 'ceiling = "SECRET"\n[scope]\nmax_tlp = "amber"\n' > "$w/gbr.toml"

# --- data: the same generator as `liaison-bench ingest`, unmarked (first 10k = prefix of 100k)
$B bundle --objects "$N" --out "$w/bundle.json" --format json > "$w/bundle-$N.meta.json"
$B bundle --objects 10000 --out "$w/bundle-10k.json" --format json > "$w/bundle-10k.meta.json"

# --- 1. liaison ingest, fresh node each time
node() { # node DIR: init + partner GBR with secret
  $L --home "$1" init --party USA > /dev/null
  $L --home "$1" partner add GBR --agreement "$w/gbr.toml" > /dev/null
  $L --home "$1" partner secret GBR --from-env LIAISON_S > /dev/null
}
: > "$w/ingest.tsv"
for size in 10000 "$N"; do
  f=$w/bundle.json; [[ $size == 10000 ]] && f=$w/bundle-10k.json
  for r in 1 2 3; do
    h=$w/node-$size-$r
    rm -rf "$h"; node "$h"
    t0=$(date +%s.%N)
    $L --home "$h" ingest "$f" --label "$label" > "$w/ingest-$size-$r.log"
    t1=$(date +%s.%N)
    echo -e "liaison\t$size\t$r\t$(echo "$t1 - $t0" | bc)" >> "$w/ingest.tsv"
    [[ $size == "$N" && $r == 3 ]] || rm -rf "$h"
  done
done
home=$w/node-$N-3
log "liaison ingest (seconds): $(awk '{printf "%s@%s=%.2fs ", $2, $3, $4}' "$w/ingest.tsv")"

# --- 2. serve and walk
serve_pid=
start_server() { # start_server [--insecure-http]; sets url fp serve_pid
  local f=$w/serve-$RANDOM.json
  setsid "$L" --home "$home" serve --listen 127.0.0.1:0 --format json "$@" > "$f" 2> "$f.err" &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 300); do [[ -s $f ]] && break; sleep 0.1; done
  url=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$f")
  fp=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get("fingerprint") or "")' "$f")
}
stop_server() {
  kill -TERM -- "-$serve_pid" 2>/dev/null || kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}
walk() { # walk LIMIT WALKS OUT
  $B walk --url "$url" ${fp:+--fingerprint "$fp"} --limit "$1" --walks "$2" --format json > "$3"
}

start_server
log "liaison serve (HTTPS) at $url"
walk 1000 6 "$w/walk-https-1000-a.json"
stop_server; start_server
walk 100 4 "$w/walk-https-100.json"
stop_server; start_server
walk 1000 1 "$w/walk-https-1000-b.json"
stop_server; start_server
walk 1000 1 "$w/walk-https-1000-c.json"

# --- 4. wrk on the warm HTTPS server (view already cached by the walk above)
auth="Authorization: Basic $(printf 'GBR:%s' "$LIAISON_S" | base64 -w0)"
acc="Accept: application/taxii+json;version=2.1"
page="${url}liaison/collections/outbound/objects/?limit=100"
curl -sk -o /dev/null -w '%{http_code} %{size_download}\n' -H "$auth" -H "$acc" "$page" > "$w/wrk-check.txt"
wrk -t2 -c16 -d"${WRK_SECS}s" --latency -H "$auth" -H "$acc" "$page" > "$w/wrk-liaison-https.txt"
log "wrk liaison https: $(grep -E '^ +(50|99)%' "$w/wrk-liaison-https.txt" | tr -s ' ' | tr '\n' ' ') $(grep Requests/sec "$w/wrk-liaison-https.txt")"
stop_server

start_server --insecure-http
walk 1000 4 "$w/walk-http-1000.json"
walk 100 3 "$w/walk-http-100.json"
page="${url}liaison/collections/outbound/objects/?limit=100"
wrk -t2 -c16 -d"${WRK_SECS}s" --latency -H "$auth" -H "$acc" "$page" > "$w/wrk-liaison-http.txt"
log "wrk liaison http: $(grep -E '^ +(50|99)%' "$w/wrk-liaison-http.txt" | tr -s ' ' | tr '\n' ' ') $(grep Requests/sec "$w/wrk-liaison-http.txt")"
stop_server

# liaison at medallion's sizes (1k, 10k: prefixes of the same objects), HTTPS, limit 1000 and 100
big_home=$home
$B bundle --objects 1000 --out "$w/bundle-1k.json" --format json > "$w/bundle-1k.meta.json"
for size in 1000 10000; do
  f=$w/bundle-10k.json; [[ $size == 1000 ]] && f=$w/bundle-1k.json
  home=$w/node-small-$size; rm -rf "$home"; node "$home"
  $L --home "$home" ingest "$f" --label "$label" > /dev/null
  start_server
  walk 1000 4 "$w/small-walk-$size-1000.json"
  walk 100 3 "$w/small-walk-$size-100.json"
  stop_server
done
home=$big_home

# --- 3. the serialization limit
$B serialize --bundle "$w/bundle.json" --limits 1000,100 --runs 5 --format json > "$w/serialize.json"

# --- 5. medallion
for n in $MEDALLION_SIZES; do
  keep=(); [[ $n == 1000 ]] && keep=(--keep)
  "$venv/bin/python" bench/taxii/medallion_bench.py --bundle "$w/bundle.json" --n "$n" \
    --workdir "$w" --out "$w/medallion-$n.json" --budget "$MEDALLION_BUDGET" \
    --walks "$([[ $n == 1000 ]] && echo 3 || echo 1)" "${keep[@]}" > "$w/medallion-$n.keep"
  if [[ $n == 1000 ]]; then
    mpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$w/medallion-$n.keep")
    mport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$w/medallion-$n.keep")
    mcoll=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection"])' "$w/medallion-$n.keep")
    pids+=("$mpid")
    mauth="Authorization: Basic $(printf 'GBR:%s' medallion-bench-secret | base64 -w0)"
    wrk -t2 -c16 -d"${WRK_SECS}s" --timeout 60s --latency -H "$mauth" -H "$acc" \
      "http://127.0.0.1:$mport/api1/collections/$mcoll/objects/?limit=100" > "$w/wrk-medallion-1000.txt" || true
    log "wrk medallion 1k: $(grep -E '^ +(50|99)%' "$w/wrk-medallion-1000.txt" | tr -s ' ' | tr '\n' ' ') $(grep Requests/sec "$w/wrk-medallion-1000.txt")"
    kill -TERM -- "-$mpid" 2>/dev/null || true
  fi
done

"$venv/bin/python" bench/taxii/report.py "$w" | tee -a "$w/summary.txt"
echo "results in $w"
