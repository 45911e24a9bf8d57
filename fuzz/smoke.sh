#!/usr/bin/env bash
# Fuzz smoke run, on the STABLE toolchain, no cargo-fuzz needed: builds every target in
# fuzz_targets/ exactly as `cargo fuzz build -s none` would (libFuzzer + SanitizerCoverage,
# which are stable `-C` flags), then fuzzes all of them at once, from the committed seeds,
# for LIAISON_FUZZ_SECONDS each (default 30). Fails if any target panics, times out or runs
# out of memory; the input is saved under fuzz/artifacts/<target>/ and the stack is printed.
#
#   bash fuzz/smoke.sh                 # all targets
#   bash fuzz/smoke.sh cut labels      # some
#   LIAISON_FUZZ_SECONDS=300 bash fuzz/smoke.sh cut
#
# Needs a C++ compiler (libfuzzer-sys compiles libFuzzer). Works from any cwd.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir"

seconds="${LIAISON_FUZZ_SECONDS:-30}"
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

# The libFuzzer dictionary each target uses.
dict_for() {
    case "$1" in
        agreement) echo dict/agreement.dict ;;
        labels | cut) echo dict/labels.dict ;;
        taxii_request) echo dict/taxii.dict ;;
        psi_messages) echo dict/psi.dict ;;
        *) echo dict/stix.dict ;;
    esac
}

if ! command -v "${CXX:-c++}" >/dev/null 2>&1; then
    echo "fuzz smoke: no C++ compiler (\`${CXX:-c++}\`); libFuzzer needs one (apt-get install g++)" >&2
    exit 1
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
# What `cargo fuzz build --sanitizer none` passes. An explicit --target keeps these flags off
# build scripts and proc macros, which must not be instrumented.
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=3 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing"
unset CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_DIR="$fuzz_dir/target"
export RUST_BACKTRACE=1

start=$SECONDS
bin_args=()
for t in "${targets[@]}"; do
    bin_args+=(--bin "$t")
done
cargo build --profile smoke --target "$host" "${bin_args[@]}"
echo "fuzz smoke: built ${#targets[@]} targets in $((SECONDS - start))s"

bin_dir="$CARGO_TARGET_DIR/$host/smoke"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/liaison-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# All targets at once: the time limit is wall-clock, so this bounds the whole run.
declare -A pids
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t" "artifacts/$t"
    # The first corpus directory receives new inputs: a scratch one, so the committed seeds
    # in corpus/<target>/ stay as they are.
    "$bin_dir/$t" \
        -max_total_time="$seconds" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -max_len=16384 \
        -print_final_stats=1 \
        -dict="$(dict_for "$t")" \
        -artifact_prefix="artifacts/$t/" \
        "$scratch/$t" "corpus/$t" \
        >"$scratch/$t.log" 2>&1 &
    pids[$t]=$!
done

failed=()
for t in "${targets[@]}"; do
    if wait "${pids[$t]}"; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log" | tail -n1)"
        cov="$(grep -Eo 'cov: [0-9]+' "$scratch/$t.log" | tail -n1 || true)"
        echo "fuzz smoke: $t ok (${runs:-?} runs, ${cov:-cov: ?})"
    else
        failed+=("$t")
        echo "fuzz smoke: $t FAILED; end of its log:" >&2
        tail -n 60 "$scratch/$t.log" >&2
        echo >&2
    fi
done

echo "fuzz smoke: done in $((SECONDS - start))s"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz smoke: failing targets: ${failed[*]} (inputs in fuzz/artifacts/; replay with" \
        "fuzz/target/$host/smoke/<target> <file>)" >&2
    exit 1
fi
