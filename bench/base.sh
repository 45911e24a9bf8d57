# Sourced by the bench scripts that compare the current tree with an earlier commit in one
# session (bench/trust.sh, bench/fingerprint.sh).
#
#   build_both BASE BIN WORK   builds bench/src/bin/BIN.rs (as it is now) at commit BASE and in
#                              the current tree; leaves WORK/BIN-base and WORK/BIN-now.
#
# BIN must use only APIs the base already has. The caller removes "$WORK/base" (a git
# worktree) on exit: `trap 'remove_base "$work"' EXIT`.

build_both() {
    local base="$1" bin="$2" work="$3"
    git worktree add --detach "$work/base" "$base" >/dev/null
    mkdir -p "$work/base/bench/src/bin"
    cp "bench/src/bin/$bin.rs" "$work/base/bench/src/bin/$bin.rs"
    # The base gets a target dir of its own: cargo names a workspace crate's artifacts by its
    # path inside the workspace, so two trees sharing one target dir overwrite each other's.
    (cd "$work/base" && CARGO_TARGET_DIR="$OLDPWD/target/bench-base" \
        cargo build --release -q -p liaison-bench --bin "$bin")
    cp "target/bench-base/release/$bin" "$work/$bin-base"
    cargo build --release -q -p liaison-bench --bin "$bin"
    cp "target/release/$bin" "$work/$bin-now"
}

remove_base() {
    git worktree remove --force "$1/base" >/dev/null 2>&1 || true
    rm -rf "$1"
}
