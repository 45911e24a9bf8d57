#!/usr/bin/env bash
# Issue 8: the trust boundary's cost. Builds the same benchmark (bench/src/bin/boundary.rs,
# which uses only APIs older than the boundary) against the previous main (BASE, default the
# commit before the boundary) and the current tree, then runs them alternately, ROUNDS times
# each, on the same machine in one session: Node::ingest (ours), Node::receive of new objects
# (a partner's), Node::receive again (exact duplicates). Prints each run and the medians;
# ratios are what count here.
#
#   bench/trust.sh                         # 50,000 objects, 3 rounds
#   OBJECTS=100000 ROUNDS=5 bench/trust.sh
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-b8e1225}"
objects="${OBJECTS:-50000}"
rounds="${ROUNDS:-3}"
out=bench/out
mkdir -p "$out"
work="$(mktemp -d)"
# shellcheck source=bench/base.sh
source bench/base.sh
trap 'remove_base "$work"' EXIT
build_both "$base" boundary "$work"

{ date -u; nproc; uptime; } | tee "$out/trust-machine.txt"
for r in $(seq "$rounds"); do
    for which in base now; do
        "$work/boundary-$which" "$objects" >"$work/$which-$r.json"
        echo "round $r, $which: $(cat "$work/$which-$r.json")"
    done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
keys = ["ingest_per_s", "receive_new_per_s", "receive_again_per_s"]
med = {}
for which in ["base", "now"]:
    runs = [json.load(open(f"{work}/{which}-{r}.json")) for r in range(1, rounds + 1)]
    med[which] = {k: statistics.median(x[k] for x in runs) for k in keys}
print(f"{'objects/s (median)':<22}{'previous main':>15}{'current':>15}{'ratio':>8}")
for k in keys:
    b, n = med["base"][k], med["now"][k]
    print(f"{k:<22}{b:>15,.0f}{n:>15,.0f}{n / b:>8.2f}")
PY
