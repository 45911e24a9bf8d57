#!/usr/bin/env bash
# Issue 11: private matching. Builds bench/src/bin/psi.rs (release), creates bench/.venv-psi
# with OpenMined's openmined-psi from PyPI, and in one session runs, on the same sets:
#   - end to end, both parties in one process, SIZE selectors each side, half overlapping:
#     liaison (`psi e2e`) then openmined-psi (bench/psi_peer.py), ROUNDS times for sizes below
#     2^18 and ROUNDS_LARGE times from 2^18 on; openmined-psi only at the sizes in PEER_SIZES;
#   - unbalanced: 1,000 asker selectors against HOLDER precomputed ones;
#   - normalisation throughput (names, phone numbers);
# and prints the medians and the ratio table. Results (JSON lines) go to bench/out/.
#
#   bench/psi.sh                                  # 2^16, 2^18, 2^20; peer at 2^16, 2^18; 10^7 held
#   PEER_SIZES="16 18 20" bench/psi.sh            # the peer at 2^20 too (~7-10 min more)
#   QUICK=1 bench/psi.sh                          # 2^12, 2^14 (peer too), 10^5 held: ~2 min
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${QUICK:-}" ]]; then
    sizes="${SIZES:-12 14}" peer_sizes="${PEER_SIZES:-12 14}" holder="${HOLDER:-100000}"
    rounds="${ROUNDS:-1}" rounds_large="${ROUNDS_LARGE:-1}"
else
    sizes="${SIZES:-16 18 20}" peer_sizes="${PEER_SIZES:-16 18}" holder="${HOLDER:-10000000}"
    rounds="${ROUNDS:-3}" rounds_large="${ROUNDS_LARGE:-1}"
fi
out=bench/out
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$out/psi-$stamp.jsonl"
sets="$(mktemp -d)"
trap 'rm -rf "$sets"' EXIT

cargo build --release -q -p liaison-bench --bin psi
venv=bench/.venv-psi
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q openmined-psi==2.0.6

{ date -u; nproc; lscpu | grep -E 'Model name|^CPU\(s\)|Thread'; free -h | head -2; uptime; } \
    | tee "$out/psi-machine-$stamp.txt"

for size_log in $sizes; do
    size=$((1 << size_log))
    n=$rounds
    if ((size_log >= 18)); then n=$rounds_large; fi
    for r in $(seq "$n"); do
        echo "== 2^$size_log, round $r/$n: liaison" >&2
        target/release/psi e2e "$size" "$sets/$size_log" | tee -a "$results"
        if [[ " $peer_sizes " == *" $size_log "* ]]; then
            echo "== 2^$size_log, round $r/$n: openmined-psi" >&2
            "$venv/bin/python" bench/psi_peer.py "$sets/$size_log" | tee -a "$results"
        fi
    done
    rm -rf "${sets:?}/$size_log"
done
echo "== unbalanced: 1000 against $holder" >&2
target/release/psi unbalanced "$holder" 1000 11 | tee -a "$results"
echo "== normalisation" >&2
target/release/psi normalise 200000 200000 | tee -a "$results"
uptime | tee -a "$out/psi-machine-$stamp.txt"

python3 - "$results" <<'PY'
import json, math, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(bench, size, key="total_s"):
    xs = [r[key] for r in rows if r["bench"] == bench and r.get("size") == size]
    return (statistics.median(xs), len(xs)) if xs else (None, 0)
sizes = sorted({r["size"] for r in rows if r["bench"] == "e2e"})
print(f"\n{'e2e, each side':<16}{'liaison s':>11}{'runs':>6}{'openmined s':>13}{'runs':>6}{'ratio':>8}")
for s in sizes:
    (l, ln), (o, on) = med("e2e", s), med("openmined-psi", s)
    ratio, peer = (f"{o / l:.2f}x", f"{o:.2f}") if o else ("-", "-")
    print(f"2^{int(math.log2(s)):<14}{l:>11.2f}{ln:>6}{peer:>13}{on:>6}{ratio:>8}")
    phases = ", ".join(f"{k[:-2]} {med('e2e', s, k)[0]:.2f}" for k in
                       ["precompute_s", "blind_s", "evaluate_s", "finish_s"])
    print(f"{'':<16}liaison phases (s): {phases}")
for r in rows:
    if r["bench"] == "unbalanced":
        print(f"\nunbalanced {r['asker']} vs {r['holder']:,} (padded {r['padded_holder']:,}): "
              f"online {r['online_ms_median']:.0f} ms median of {r['runs']} "
              f"(holder's part {r['holder_evaluate_ms_median']:.0f} ms); epoch set "
              f"{r['epoch_set_bytes'] / 1e6:.1f} MB; precompute {r['precompute_s']:.0f} s "
              f"({r['precompute_us_per_selector']:.0f} us/selector)")
    if r["bench"] == "normalise":
        print(f"normalise: {r['names_per_s']:,.0f} names/s, {r['phones_per_s']:,.0f} phone numbers/s")
PY
echo "results in $results"
