"""Any TAXII 2.1 server is a partner: `liaison pull` from the OASIS reference server,
medallion (memory backend, on 127.0.0.1), which has no `/log/` and no agreement endpoint. The
pull needs `--without-log-check`, says plainly that the partner keeps no verifiable log,
follows `next` across pages, upgrades the STIX 2.0 objects it gets, and a second pull takes
only what is new.
"""

import json
import os
import subprocess
import sys
import threading
import queue
from pathlib import Path

import pytest

import medallion_server
from conftest import BIN, COMMAND_TIMEOUT, STARTUP_TIMEOUT, run, stop_process

USER, SECRET = "USA", "medallion-secret-0001"
PARTNER = "NLD"


def indicator(i):
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{i:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": f"relay {i}", "pattern": f"[ipv4-addr:value = '198.51.100.{i}']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }


def malware20(i):
    """STIX 2.0, as a feed publishes it: no spec_version, no is_family."""
    return {
        "type": "malware", "id": f"malware--{i:08d}-0000-4000-8000-000000000000",
        "created": "2017-05-31T21:32:40.301Z", "modified": "2024-04-11T00:00:00.000Z",
        "name": f"Don\u2019t {i}", "labels": ["malware"],
    }


OBJECTS = [indicator(i) for i in range(1, 21)] + [malware20(i) for i in range(1, 6)]


def start_medallion(data_path):
    """medallion on a free port; returns (process, port)."""
    process = subprocess.Popen(
        [sys.executable, str(Path(medallion_server.__file__)), str(data_path), USER, SECRET],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        process.kill()
        pytest.fail("medallion did not start")
    if not line.strip().isdigit():
        process.kill()
        pytest.fail(f"medallion did not start: {line!r}")
    return process, int(line)


@pytest.fixture
def medallion(tmp_path):
    data = tmp_path / "medallion.json"
    data.write_text(json.dumps(medallion_server.data(OBJECTS, max_page_size=10)))
    process, port = start_medallion(data)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process(process)


def liaison(home, *args, check=True):
    env = dict(os.environ, LIAISON_PULL_SECRET=SECRET)
    result = subprocess.run(
        [str(BIN), "--home", str(home), *args], capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT, env=env, stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, f"liaison {args}: {result.stderr[-3000:]}"
    return result


def test_pull_from_medallion_with_paging(medallion, tmp_path):
    home = tmp_path / "usa"
    agreement = tmp_path / "nld.toml"
    agreement.write_text('ceiling = "SECRET"\n[scope]\nmax_tlp = "amber"\n')
    run(["--home", str(home), "init", "--party", USER])
    run(["--home", str(home), "partner", "add", PARTNER, "--agreement", str(agreement)])
    run(["--home", str(home), "partner", "add", "GBR", "--agreement", str(agreement)])

    # No log key registered for it: refused unless the operator says so; nothing fetched.
    refused = liaison(home, "pull", PARTNER, "--url", medallion, check=False)
    assert refused.returncode != 0
    assert "no log key registered for NLD" in refused.stderr, refused.stderr

    pulled = liaison(home, "pull", PARTNER, "--url", medallion, "--limit", "10",
                     "--without-log-check")
    assert "pulled 25 objects from NLD in 3 pages: 25 stored, 0 refused" in pulled.stdout, \
        pulled.stdout
    assert "NLD keeps no verifiable log" in pulled.stdout, pulled.stdout

    # The STIX 2.0 objects were upgraded on receipt, and explain says what was added.
    explained = liaison(home, "explain", "malware--00000001-0000-4000-8000-000000000000",
                        "--to", "GBR", "--format", "json")
    added = [u["property"] for u in json.loads(explained.stdout)["upgraded_from_stix20"]]
    assert added == ["spec_version", "is_family", "malware_types"]

    # Where the last pull stopped is remembered: nothing new, nothing taken twice.
    again = liaison(home, "pull", PARTNER, "--without-log-check", "--format", "json")
    summary = json.loads(again.stdout)
    assert (summary["received"], summary["keeps_log"], summary["log"]) == (0, False, None)
