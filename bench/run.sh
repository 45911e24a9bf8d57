#!/usr/bin/env bash
# Runs the full benchmark set in release mode and writes results to bench/out/.
# Usage: bench/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
cargo build --release -p liaison-bench
b=target/release/liaison-bench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
{ date -u; nproc; lscpu | head -20; free -h; } > "$out/machine-$stamp.txt"
if [[ "${1:-}" == "--quick" ]]; then
  $b all --quick --format json | tee "$out/quick-$stamp.json"
  exit 0
fi
# 1. ingest: 1M objects, per-100k slices (median over slices; run twice)
for r in 1 2; do
  $b ingest --objects 1000000 --format json > "$out/ingest-$stamp-$r.json"
done
# 2. effective labels: 1M objects, 3M derived-from edges (4M items), median of 3 builds
$b labels --objects 1000000 --edges 3000000 --runs 3 --format json > "$out/labels-$stamp.json"
# 3. decisions: same world; and a variant without derivation edges
$b decisions --objects 1000000 --edges 3000000 --runs 3 --budget-secs 30 --format json > "$out/decisions-$stamp.json"
$b decisions --objects 1000000 --edges 0 --runs 3 --format json > "$out/decisions-noedges-$stamp.json"
echo "results in $out/*-$stamp*"
