#!/usr/bin/env bash
# Check that CI passes without local state: clone the committed HEAD into a
# temporary directory (next to a symlink to ../shared, as in the real layout)
# and run `bash .ci/run` there with CI=true, no stdin, and a clean environment
# for liaison's variables (fresh venv, fresh target dir).
#
#   scripts/fresh-clone-check.sh [--keep]    --keep: leave the temp dir for inspection
#
# Uncommitted changes are NOT included (a warning is printed if there are any).
set -euo pipefail

keep=0
case "${1:-}" in
    --keep) keep=1 ;;
    "") ;;
    *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
head="$(git -C "$repo_root" rev-parse HEAD)"

if [[ -n "$(git -C "$repo_root" status --porcelain)" ]]; then
    echo "fresh-clone-check: warning: working tree has uncommitted changes; testing committed HEAD $head only" >&2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/liaison-fresh.XXXXXX")"
if [[ $keep == 1 ]]; then
    echo "fresh-clone-check: keeping $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

shared="$(cd "$repo_root/.." && pwd)/shared"
if [[ -e "$shared" ]]; then
    ln -s "$shared" "$work/shared"
fi

git clone --quiet --no-hardlinks "$repo_root" "$work/main"
git -C "$work/main" checkout --quiet --detach "$head"

echo "fresh-clone-check: running bash .ci/run in $work/main at $head" >&2
cd "$work/main"
status=0
env -u LIAISON_VENV -u LIAISON_PYTHON -u LIAISON_VALIDATE -u LIAISON_REQUIRE_PYTHON \
    -u CARGO_TARGET_DIR -u RUSTFLAGS \
    CI=true bash .ci/run </dev/null || status=$?
echo "fresh-clone-check: .ci/run exited with status $status (took ${SECONDS}s)" >&2
exit "$status"
