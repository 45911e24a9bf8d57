#!/usr/bin/env bash
# Maintained views (issue 14): what a partner waits for after the holdings change, and
# what a restart costs, for this tree's `liaison` and, in the same run, another build (the
# current main's, to compare) when LIAISON_MAIN names its binary.
#
#   bench/views.sh                                        # N=1000000 objects, 10 partners
#   N=100000 bench/views.sh                               # a smaller node
#   LIAISON_MAIN=/tmp/liaison-main N=100000 bench/views.sh   # with main's behaviour beside
#
# For each binary, on a node of its own:
# 1. `liaison ingest` of N objects (the `liaison-bench bundle` generator) under
#    SECRET//REL TO USA and the 10 partners; 10 partners (ceiling SECRET), each with a secret.
# 2. `liaison serve` (plain HTTP on loopback): start-up time (launch to the first answered
#    request), then GBR's first page (limit 1000; its view computed on first use), then the
#    first page of each of the 9 others while GBR asks for 10 pages every second or so
#    beside them (its latency while views are computed), then a full walk of GBR's view.
# 3. `liaison ingest` of MORE (1000) more objects while it serves; then, straight away, the
#    first page of each partner, ROUNDS times over (`liaison-bench first-pages`): p50, p99.
# 4. A full walk of GBR's view (warm), then a full walk of every partner's view, one after
#    another (the server's memory after them); a restart (start-up time); a full walk after it.
# 6. While that server serves, `liaison ingest` of DURING (270,000: about 200 MB) more objects
#    into its node, GBR asking for 10 first pages every second or so meanwhile: their latency
#    (a page whose view is behind waits for the upkeep, then gets 503 with Retry-After) and
#    the server's peak memory. DURING=0 skips it.
# 5. The serialisation limit the walks are compared with: serde_json writing the same
#    generator's objects (a 100,000-object bundle: the rate is per object) into envelopes of
#    1000 (`liaison-bench serialize`, as bench/taxii.sh). The server's peak RSS (VmHWM) is
#    logged before each stop.
# Results: bench/out/views-<stamp>/ (JSON per step, logs, machine.txt, summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
MORE=${MORE:-1000}
DURING=${DURING:-270000}
ROUNDS=${ROUNDS:-3}
PARTNERS=GBR,FRA,DEU,ITA,ESP,NLD,BEL,CAN,AUS,NZL
stamp=$(date -u +%Y%m%dT%H%M%SZ)
w=bench/out/views-$stamp
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

[[ -n ${SKIP_BUILD:-} ]] || cargo build --release -p liaison-cli -p liaison-bench
B=$PWD/target/release/liaison-bench
export LIAISON_S=bench-secret-$stamp
printf 'ceiling = "SECRET"\n[scope]\nmax_tlp = "amber"\n' > "$w/partner.toml"
label="SECRET//REL TO USA, ${PARTNERS//,/, }"

$B bundle --objects "$N" --out "$w/bundle.json" --format json > "$w/bundle.meta.json"
$B bundle --objects $((N + MORE)) --from "$N" --out "$w/more.json" --format json > "$w/more.meta.json"
if ((DURING > 0)); then
  $B bundle --objects $((N + MORE + DURING)) --from $((N + MORE)) --out "$w/during.json" --format json > "$w/during.meta.json"
fi

cat > "$w/pct.py" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))[0]
print("p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d pages, %d requests timed out (408) and retried" % (r["page_ms_p50"], r["page_ms_p99"], r["page_ms_max"], r["pages"], r.get("timeouts_retried", 0)))
EOF
cat > "$w/merge.py" <<'EOF'
import json, sys
ms = sorted(t for f in sys.argv[1:] for t in json.load(open(f))[0]["page_ms"])
pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
print("p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d pages" % (pick(0.5), pick(0.99), ms[-1], len(ms)))
EOF
cat > "$w/count.py" <<'EOF'
import json, sys
print(json.load(sys.stdin)[0]["walks"][0]["objects"])
EOF

cat > "$w/walks.py" <<'EOF'
import json, sys
rates = [json.load(open(f))[0]["walks"][0].get("objects_per_s", 0) for f in sys.argv[1:]]
print("%d walks, %.0f-%.0f objects/s" % (len(rates), min(rates), max(rates)))
EOF

now() { date +%s.%N; }
memory() { awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {printf "RSS %.0f MB, peak %.0f MB", r / 1024, h / 1024}' /proc/$serve_pid/status 2>/dev/null || echo '?'; }
since() { echo "$(now) - $1" | bc; }

serve_pid=
start_server() { # start_server BINARY HOME: sets url serve_pid startup
  local f=$w/serve-$RANDOM.json t0
  t0=$(now)
  LIAISON_LOG=${LIAISON_LOG:-info} setsid "$1" --home "$2" serve --listen 127.0.0.1:0 --insecure-http --console off --format json > "$f" 2> "$f.err" &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 6000); do [[ -s $f ]] && break; sleep 0.01; done
  url=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$f")
  local auth
  auth="Authorization: Basic $(printf 'GBR:%s' "$LIAISON_S" | base64 -w0)"
  until curl -sf -o /dev/null -H "$auth" -H "Accept: application/taxii+json;version=2.1" "${url}taxii2/"; do
    sleep 0.01
  done
  startup=$(since "$t0")
}
stop_server() {
  log "$name: server peak RSS $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' /proc/$serve_pid/status 2>/dev/null || echo '?')"
  kill -TERM -- "-$serve_pid" 2>/dev/null || kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}

gbr_pages_while() { # gbr_pages_while PID PREFIX: GBR asks for 10 first pages every second or
  # so while PID runs; each round's results go to PREFIX-<round>.json
  local k=0
  while kill -0 "$1" 2>/dev/null; do
    $B first-pages --url "$url" --partners GBR --rounds 10 --format json > "$2-$k.json"
    k=$((k + 1))
    sleep 1
  done
}

run() { # run NAME BINARY
  local name=$1 L=$2 home=$w/node-$1 t0
  $L --home "$home" init --party USA > /dev/null
  for p in ${PARTNERS//,/ }; do
    $L --home "$home" partner add "$p" --agreement "$w/partner.toml" > /dev/null
    $L --home "$home" partner secret "$p" --from-env LIAISON_S > /dev/null
  done
  t0=$(now)
  $L --home "$home" ingest "$w/bundle.json" --label "$label" > "$w/$name-ingest.log"
  log "$name: ingest of $N objects $(since "$t0") s"

  start_server "$L" "$home"
  log "$name: start-up (new node) ${startup} s"
  t0=$(now)
  $B first-pages --url "$url" --partners GBR --rounds 1 --format json > "$w/$name-first-use-gbr.json"
  log "$name: GBR's first page, its view computed on first use: $(since "$t0") s ($(python3 "$w/pct.py" "$w/$name-first-use-gbr.json"))"
  # The other 9 views are computed while GBR keeps paging: GBR's pages must keep their
  # latency (a view is computed off the node's lock, by the upkeep thread).
  t0=$(now)
  $B first-pages --url "$url" --partners "${PARTNERS#GBR,}" --rounds 1 --format json > "$w/$name-first-use.json" &
  local others=$!
  gbr_pages_while "$others" "$w/$name-beside"
  wait "$others"
  log "$name: first page of each of the 9 others, views computed on first use: $(since "$t0") s ($(python3 "$w/pct.py" "$w/$name-first-use.json"))"
  log "$name: GBR's pages meanwhile, 10 every second or so: $(python3 "$w/merge.py" "$w/$name-beside-"*.json)"
  $B walk --url "$url" --limit 1000 --walks 1 --format json > "$w/$name-walk-first.json"

  t0=$(now)
  $L --home "$home" ingest "$w/more.json" --label "$label" > "$w/$name-ingest-more.log"
  log "$name: ingest of $MORE more while serving $(since "$t0") s"
  $B first-pages --url "$url" --partners "$PARTNERS" --rounds "$ROUNDS" --format json > "$w/$name-after-ingest.json"
  log "$name: first pages after the ingest: $(python3 "$w/pct.py" "$w/$name-after-ingest.json")"
  $B walk --url "$url" --limit 1000 --walks 3 --format json > "$w/$name-walk-warm.json"
  log "$name: server after the warm walks: $(memory)"
  for p in ${PARTNERS//,/ }; do
    $B walk --url "$url" --user "$p" --limit 1000 --walks 1 --format json > "$w/$name-walk-all-$p.json"
  done
  log "$name: every partner walked its whole view: $(python3 "$w/walks.py" "$w"/"$name"-walk-all-*.json); server $(memory)"
  stop_server
  start_server "$L" "$home"
  log "$name: start-up (restart, $((N + MORE)) objects) ${startup} s"
  $B walk --url "$url" --limit 1000 --walks 1 --format json > "$w/$name-walk-restart.json"
  if ((DURING > 0)); then
    t0=$(now)
    $L --home "$home" ingest "$w/during.json" --label "$label" > "$w/$name-ingest-during.log" 2>&1 &
    local ing=$!
    gbr_pages_while "$ing" "$w/$name-during"
    wait "$ing"
    log "$name: ingest of $DURING more ($(du -m "$w/during.json" | cut -f1) MB) while serving: $(since "$t0") s; GBR's pages meanwhile: $(python3 "$w/merge.py" "$w/$name-during-"*.json); server $(memory)"
  fi
  stop_server
  # The background upkeep's rounds (this tree: `views maintained`, with their time).
  grep -h "views maintained" "$w"/serve-*.err | sed "s/^/== $name: /" | cut -c1-300 | tee -a "$w/summary.txt" >&2 || true
  python3 - "$w" "$name" >> "$w/summary.txt" <<'EOF'
import json, sys
w, name = sys.argv[1], sys.argv[2]
def rows(f):
    return json.load(open(f"{w}/{name}-{f}.json"))[0]["walks"]
for f in ("walk-first", "walk-warm", "walk-restart"):
    for row in rows(f):
        print(f"== {name}: {f}: {row.get('objects')} objects in {row.get('total_s', 0):.2f} s "
              f"({row.get('objects_per_s', 0):.0f}/s, first page {row.get('first_page_s', 0):.3f} s)")
EOF
  tail -n 4 "$w/summary.txt" >&2
  du -sh "$home" | sed "s/^/== $name: node size /" | tee -a "$w/summary.txt" >&2
}

$B bundle --objects $((N < 100000 ? N : 100000)) --out "$w/limit.json" --format json > /dev/null
$B serialize --bundle "$w/limit.json" --limits 1000 --runs 3 --format json > "$w/serialize.json"
rm -f "$w/limit.json"
log "serialisation limit (serde_json, pages of 1000): $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]["rows"][0]; print("%.0f objects/s, pre-serialised texts %.0f objects/s" % (r["median_objects_per_s"], r["raw_median_objects_per_s"]))' "$w/serialize.json")"

run views "$PWD/target/release/liaison"
if [[ -n ${LIAISON_MAIN:-} ]]; then
  run main "$LIAISON_MAIN"
fi
log "results in $w"
