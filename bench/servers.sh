#!/usr/bin/env bash
# Several servers on one PostgreSQL database (issue 14): log appends/s of 1 server against 3,
# on two clusters started here: the throwaway test cluster (fsync off) and a durable primary
# with a synchronous hot standby (what a deployment runs). Results to bench/out/.
# Usage: bench/servers.sh [SECS] [RUNS]       # defaults 5 3
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
runs="${2:-3}"
out=bench/out
mkdir -p "$out"
cargo build --release -p liaison-bench --bin servers
b=target/release/servers
stamp=$(date -u +%Y%m%dT%H%M%SZ)
{ date -u; nproc; lscpu | head -20; free -h; uptime; } > "$out/machine-servers-$stamp.txt"

test_env="$(scripts/pg-test-cluster.sh start)"
pair_env="$(scripts/pg-failover-pair.sh start)"
test_dir="$(sed -n 's/^export LIAISON_TEST_PG_DIR=//p' <<<"$test_env")"
pair_dir="$(sed -n 's/^export LIAISON_FAILOVER_DIR=//p' <<<"$pair_env")"
trap 'scripts/pg-test-cluster.sh stop "$test_dir"; scripts/pg-failover-pair.sh stop "$pair_dir"' EXIT
test_url="$(sed -n 's/^export LIAISON_TEST_PG_URL=//p' <<<"$test_env")"
pair_url="$(sed -n 's/^export LIAISON_FAILOVER_PRIMARY_URL=//p' <<<"$pair_env")"

echo "fsync off:" | tee "$out/servers-$stamp.txt"
$b "$test_url" 3 "$secs" "$runs" | tee -a "$out/servers-$stamp.txt"
echo "durable, synchronous standby:" | tee -a "$out/servers-$stamp.txt"
$b "$pair_url" 3 "$secs" "$runs" | tee -a "$out/servers-$stamp.txt"
echo "results in $out/servers-$stamp.txt"
