#!/usr/bin/env bash
# `liaison trace` of one partner's whole copy (bench/src/bin/trace.rs: OBJECTS objects
# released to 30 partners, HELD more released to nobody beside them), as delivered and with
# every id re-minted, RUNS traces each; with BASE, the same benchmark built at that commit too
# (bench/base.sh) and the two run alternately ROUNDS times.
#
#   bench/trace.sh                                   # 10,000 objects, 9 traces
#   BASE=f2274e5 HELD=1000000 RUNS=3 ROUNDS=1 bench/trace.sh
#                                                    # against the build before content keys
set -euo pipefail
cd "$(dirname "$0")/.."
objects="${OBJECTS:-10000}"
runs="${RUNS:-9}"
held="${HELD:-0}"
rounds="${ROUNDS:-2}"
if [[ -z ${BASE:-} ]]; then
    cargo build --release -q -p liaison-bench --bin trace
    exec target/release/trace "$objects" "$runs" "$held"
fi
work="$(mktemp -d)"
# shellcheck source=bench/base.sh
source bench/base.sh
trap 'remove_base "$work"' EXIT
build_both "$BASE" trace "$work"
{ date -u; nproc; uptime; } >&2
for r in $(seq "$rounds"); do
    for which in base now; do
        echo "round $r, $which: $("$work/trace-$which" "$objects" "$runs" "$held")"
    done
done
