#!/usr/bin/env bash
# liaison's full test suite: the one command for local runs and CI (.ci/run).
#
#   1. Python env (OASIS stix2-validator, stix2, taxii2-client) via scripts/python-env.sh,
#      and a throwaway PostgreSQL 15 cluster via scripts/pg-test-cluster.sh (stopped on exit)
#   2. cargo fmt --check
#   3. cargo clippy -D warnings (all targets)
#   4. TAXII 2.1 interoperability: pytest (tests/python) drives a real `liaison serve` (debug
#      build) with the OASIS taxii2-client and checks what it serves with stix2-validator;
#      then the tests that use the shared node again, with that node moved onto PostgreSQL
#      (`liaison migrate`) and served from there
#   5. tests: cargo nextest (falls back to cargo test when nextest is absent)
#   6. doctests (nextest doesn't run them)
#   7. fuzz smoke run, if fuzz/smoke.sh exists
#
# Exported for integration tests:
#   LIAISON_PYTHON          python of the venv
#   LIAISON_VALIDATE        command line of the STIX 2.1 validator (append file names)
#   LIAISON_REQUIRE_PYTHON  =1: tests must fail, not skip, when Python tooling is missing
#   LIAISON_TEST_PG_URL     maintenance URL of the PostgreSQL cluster (store tests make a
#                           database per test in it)
#   LIAISON_REQUIRE_PG      =1: store tests must fail, not skip, without LIAISON_TEST_PG_URL
#   LIAISON_BIN             the liaison binary the Python interop tests run
#   LIAISON_INTEROP_BACKEND sqlite (first run) or postgres (second run) for the shared node
#   LIAISON_INTEROP_PG_URL  an empty database the second run migrates the shared node into
#   LIAISON_REQUIRE_BROWSER =1: the console's browser test must fail, not skip, without
#                           chromium and chromedriver (set once they are installed here)
#
# Works from any cwd. Output ends with the test runner's summary line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [[ -n "${CI:-}" ]]; then
    export CARGO_TERM_COLOR=never
fi

section_start=$SECONDS
section() {
    if [[ -n "${section_name:-}" ]]; then
        echo "--- ${section_name}: done in $((SECONDS - section_start))s"
    fi
    section_name="$1"
    section_start=$SECONDS
    echo
    echo "=== $1"
}

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/liaison-test.XXXXXX")"
pg_dir=""
cleanup() {
    if [[ -n "$pg_dir" ]]; then
        scripts/pg-test-cluster.sh stop "$pg_dir" || true
    fi
    rm -rf "$log_dir"
}
trap cleanup EXIT

section "python environment"
export LIAISON_VENV="${LIAISON_VENV:-$repo_root/.venv}"
scripts/python-env.sh
export LIAISON_PYTHON="$LIAISON_VENV/bin/python"
export LIAISON_VALIDATE="$LIAISON_PYTHON $repo_root/tests/python/validate.py"
export LIAISON_REQUIRE_PYTHON=1
echo "LIAISON_PYTHON=$LIAISON_PYTHON"
echo "LIAISON_VALIDATE=$LIAISON_VALIDATE"
echo "LIAISON_REQUIRE_PYTHON=$LIAISON_REQUIRE_PYTHON"

section "postgresql test cluster"
scripts/pg-test-cluster.sh start >"$log_dir/pg.env"
# shellcheck disable=SC1091
source "$log_dir/pg.env"
pg_dir="$LIAISON_TEST_PG_DIR"
export LIAISON_REQUIRE_PG=1
echo "LIAISON_TEST_PG_URL=$LIAISON_TEST_PG_URL"
echo "LIAISON_REQUIRE_PG=$LIAISON_REQUIRE_PG"

section "headless chromium (console browser test)"
# Debian's chromium and chromium-driver, installed only when missing (apt-get update once,
# only then). Without root or without the packages the browser test skips, saying why.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium and chromium-driver with apt-get"
        apt-get update -qq >/dev/null || echo "apt-get update failed" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            chromium chromium-driver fonts-dejavu-core >/dev/null \
            || echo "cannot install chromium: the console's browser test will skip" >&2
    else
        echo "chromium or chromedriver missing and no root to install them: the browser test will skip" >&2
    fi
fi
if command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1; then
    export LIAISON_REQUIRE_BROWSER=1
    chromedriver --version
fi
echo "LIAISON_REQUIRE_BROWSER=${LIAISON_REQUIRE_BROWSER:-}"

section "toolchain"
cargo --version
rustc --version

section "cargo fmt --check"
cargo fmt --all --check

section "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "taxii interop (pytest)"
cargo build -p liaison-cli --locked
export LIAISON_BIN="${CARGO_TARGET_DIR:-$repo_root/target}/debug/liaison"
echo "LIAISON_BIN=$LIAISON_BIN"
# Bounded: the tests bound every request and process wait; this bounds the whole run too.
pytest_rc=0
timeout 900 "$LIAISON_PYTHON" -m pytest tests/python -p no:cacheprovider -q -rfEXx \
    --basetemp "$log_dir/pytest" 2>&1 | tee "$log_dir/pytest.log" || pytest_rc=$?
if [[ $pytest_rc -eq 5 ]]; then
    echo "pytest collected no tests: the TAXII interop tests in tests/python must exist" >&2
    exit 1
elif [[ $pytest_rc -ne 0 ]]; then
    echo "pytest failed (exit $pytest_rc)" >&2
    exit "$pytest_rc"
fi
pytest_summary="$(grep -E '^=*[[:space:]]*[0-9]+ (passed|failed)' "$log_dir/pytest.log" | tail -n1 | tr -d "=" | sed "s/^ *//; s/ *$//" || true)"

section "taxii interop on postgresql (pytest)"
# The tests that use the shared demo node, with that node moved onto PostgreSQL by
# `liaison migrate` (its checks must all hold) and served from there (about 25 s).
"${PG_BIN:-/usr/lib/postgresql/15/bin}/psql" "$LIAISON_TEST_PG_URL" -q -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE liaison_interop"
pg_pytest_rc=0
LIAISON_INTEROP_BACKEND=postgres LIAISON_INTEROP_PG_URL="${LIAISON_TEST_PG_URL%/*}/liaison_interop" \
    timeout 600 "$LIAISON_PYTHON" -m pytest tests/python/test_taxii_interop.py \
    tests/python/test_fingerprint.py tests/python/test_matching.py tests/python/test_curation.py \
    tests/python/test_misp.py tests/python/test_servers.py -p no:cacheprovider -q -rfEXx --basetemp "$log_dir/pytest-pg" 2>&1 \
    | tee "$log_dir/pytest-pg.log" || pg_pytest_rc=$?
if [[ $pg_pytest_rc -ne 0 ]]; then
    echo "pytest on postgresql failed (exit $pg_pytest_rc)" >&2
    exit "$pg_pytest_rc"
fi
pg_pytest_summary="$(grep -E '^=*[[:space:]]*[0-9]+ (passed|failed)' "$log_dir/pytest-pg.log" | tail -n1 | tr -d "=" | sed "s/^ *//; s/ *$//" || true)"

# Tests. Output is teed to a log so the runner's summary can be repeated at the end.
if cargo nextest --version >/dev/null 2>&1; then
    section "cargo nextest run"
    cargo nextest run --workspace --locked 2>&1 | tee "$log_dir/tests.log"
    summary="$(grep -E '^[[:space:]]*Summary \[' "$log_dir/tests.log" | tail -n1 || true)"
else
    section "cargo test (cargo-nextest not installed)"
    cargo test --workspace --locked 2>&1 | tee "$log_dir/tests.log"
    summary=""
fi

section "doctests"
cargo test --workspace --doc --locked 2>&1 | tee "$log_dir/doctests.log"

if [[ -f fuzz/smoke.sh ]]; then
    section "fuzz smoke"
    bash fuzz/smoke.sh
fi

# Totals of libtest "test result:" lines: "<passed> passed; <failed> failed; <ignored> ignored".
libtest_totals() {
    awk '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i+1) ~ /^passed/) p += $i
                if ($(i+1) ~ /^failed/) f += $i
                if ($(i+1) ~ /^ignored/) g += $i
            }
        }
        END { printf "%d passed; %d failed; %d ignored", p, f, g }' "$1"
}

section "summary"
echo "taxii interop (pytest): ${pytest_summary:-?}"
echo "taxii interop on postgresql (pytest): ${pg_pytest_summary:-?}"
echo "doctests: $(libtest_totals "$log_dir/doctests.log")"
echo "all checks passed in ${SECONDS}s"
if [[ -n "$summary" ]]; then
    echo "$summary"
else
    echo "test result: ok. $(libtest_totals "$log_dir/tests.log")"
fi
