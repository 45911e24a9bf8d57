#!/usr/bin/env bash
# The transparency log benchmarks (issue 4), release build; results to bench/out/.
# Usage: bench/log.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
cargo build --release -p liaison-bench
b=target/release/liaison-bench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
{ date -u; nproc; lscpu | head -20; free -h; } > "$out/machine-log-$stamp.txt"
$b --runs 3 --format json log append --batches 1,10,100,1000,10000 --leaves 200000 > "$out/log-append-$stamp.json"
for size in 200000 1000000; do
  $b --runs 3 --format json log proofs --size $size --proofs 100000 > "$out/log-proofs-$size-$stamp.json"
done
for rate in 1000 10000 30000; do
  $b --format json log latency --rate $rate --secs 20 > "$out/log-latency-$rate-$stamp.json"
done
echo "results in $out/log-*-$stamp*"
