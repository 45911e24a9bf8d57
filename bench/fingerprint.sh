#!/usr/bin/env bash
# Issue 10: the cost of fingerprinting. Builds bench/src/bin/delivery.rs (APIs older than
# fingerprinting) against the commit before fingerprinting was wired into delivery (BASE:
# unmarked delivery) and against the current tree, runs them alternately ROUNDS times on the
# same machine in one session, and prints the medians and their ratio. Then runs
# bench/src/bin/trace.rs (current tree only): `liaison trace` of a whole copy of OBJECTS_TRACE
# objects against 30 recipients, as delivered and with every id re-minted.
#
#   bench/fingerprint.sh                                  # 50,000 objects, 3 rounds; trace 10,000
#   OBJECTS=100000 ROUNDS=5 OBJECTS_TRACE=10000 bench/fingerprint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-14e5709}"
objects="${OBJECTS:-50000}"
rounds="${ROUNDS:-3}"
trace_objects="${OBJECTS_TRACE:-10000}"
out=bench/out
mkdir -p "$out"
work="$(mktemp -d)"
# shellcheck source=bench/base.sh
source bench/base.sh
trap 'remove_base "$work"' EXIT
build_both "$base" delivery "$work"

{ date -u; nproc; uptime; } | tee "$out/fingerprint-machine.txt"
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
cargo build --release -q -p liaison-bench --bin trace
echo "trace: $(target/release/trace "$trace_objects" 7)"
