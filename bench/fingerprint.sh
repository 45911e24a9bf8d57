#!/usr/bin/env bash
# Issue 10: the cost of fingerprinting, and `liaison trace` on a large leak.
#
# 1. bench/src/bin/marked_pages.rs: the maintained path (issue 14), fingerprinted against
#    unmarked in one process: two nodes with the same OBJECTS objects for GBR, one delivering
#    unmarked copies (`Node::bench_deliver_unmarked`, a switch only liaison-bench builds); the
#    view computed whole, WALKS warm walks of the TAXII objects endpoint's store path (pages
#    of 1,000), then ROUNDS rounds of MORE new objects: the upkeep that marks them into the
#    stored view, and the first page after it. Medians and ratios from the same run.
# 2. bench/src/bin/trace.rs: `liaison trace` of a whole copy of OBJECTS_TRACE objects against
#    30 recipients, as delivered and with every id re-minted, TRACE_RUNS times each.
# 3. Only when BASE is set (e.g. BASE=14e5709, the main before fingerprinting): the earlier
#    comparison of a view computed whole, bench/src/bin/delivery.rs built at BASE (unmarked)
#    and in this tree, run alternately ROUNDS times (this builds the old tree: minutes).
#
#   bench/fingerprint.sh                              # 50,000 objects; trace 10,000
#   OBJECTS=100000 WALKS=5 ROUNDS=5 MORE=1000 OBJECTS_TRACE=10000 bench/fingerprint.sh
#   BASE=14e5709 bench/fingerprint.sh                 # and the computed view against BASE
set -euo pipefail
cd "$(dirname "$0")/.."
objects="${OBJECTS:-50000}"
walks="${WALKS:-5}"
rounds="${ROUNDS:-5}"
more="${MORE:-1000}"
trace_objects="${OBJECTS_TRACE:-10000}"
trace_runs="${TRACE_RUNS:-7}"
out=bench/out
mkdir -p "$out"

cargo build --release -q -p liaison-bench --bin marked_pages --bin trace
{ date -u; nproc; uptime; } | tee "$out/fingerprint-machine.txt"
target/release/marked_pages "$objects" "$walks" "$rounds" "$more" | tee "$out/fingerprint-pages.json"
uptime | tee -a "$out/fingerprint-machine.txt"
target/release/trace "$trace_objects" "$trace_runs" | tee "$out/fingerprint-trace.json"
uptime | tee -a "$out/fingerprint-machine.txt"

[[ -n ${BASE:-} ]] || exit 0
base="$BASE"
work="$(mktemp -d)"
# shellcheck source=bench/base.sh
source bench/base.sh
trap 'remove_base "$work"' EXIT
build_both "$base" delivery "$work"
for r in $(seq "$rounds"); do
    for which in base now; do
        "$work/delivery-$which" "$objects" >"$work/$which-$r.json"
        echo "round $r, $which: $(cat "$work/$which-$r.json")"
    done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
keys = ["cold_view_per_s", "warm_view_per_s", "bytes"]
med = {}
for which in ["base", "now"]:
    runs = [json.load(open(f"{work}/{which}-{r}.json")) for r in range(1, rounds + 1)]
    med[which] = {k: statistics.median(x[k] for x in runs) for k in keys}
print(f"{'median':<22}{'unmarked (base)':>17}{'fingerprinted':>15}{'ratio':>8}")
for k in keys:
    b, n = med["base"][k], med["now"][k]
    print(f"{k:<22}{b:>17,.0f}{n:>15,.0f}{n / b:>8.2f}")
PY
