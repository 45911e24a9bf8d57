"""Several `liaison serve` processes on one PostgreSQL database (issue 14), driven as a partner
drives them: three servers of the same node (same home, same keys, same `store.toml`) answer GBR
while an analyst ingests more on the command line. Afterwards every server gives GBR the same
view, byte for byte and in the same `date_added` order; each object entered the view once
(one delivery leaf each in the log, as GBR can read it from any server); and the servers sign
the same checkpoint.

Runs only with LIAISON_INTEROP_BACKEND=postgres (scripts/test.sh's second interop pass): on
SQLite one file has one writer, and several servers on one host is not the deployment this is
for.
"""

import json
import threading
import time
from contextlib import ExitStack, contextmanager

import pytest

from conftest import BACKEND, SECRETS, run, serve
from test_taxii_interop import fetch_all, outbound

NEW_OBJECTS = 300
SETTLE_TIMEOUT = 120  # seconds for every server to show what was ingested

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres", reason="several servers share one PostgreSQL database"
)


def bundle(n):
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--7e57c0de-0000-4000-8000-{i:012d}",
            "created": "2026-11-30T00:00:00.000Z",
            "modified": "2026-11-30T00:00:00.000Z",
            "name": f"Courier relay {i}",
            "pattern": f"[ipv4-addr:value = '203.0.113.{i % 250}']",
            "pattern_type": "stix",
            "valid_from": "2026-11-30T00:00:00Z",
            "labels": ["terrorism"],
        }
        for i in range(n)
    ]
    return {"type": "bundle", "id": "bundle--7e57c0de-0000-4000-8000-000000000000", "objects": objects}


def view(server):
    """GBR's outbound collection as that server serves it: (id, bytes) in order."""
    return [(o["id"], json.dumps(o, sort_keys=True)) for o in fetch_all(outbound(server, "GBR"))]


def deliveries(server):
    """GBR's delivery leaves as that server's log gives them: (delivered id, version) each."""
    s = server.session("GBR")
    out = []
    url = server.url + "log/deliveries?limit=1000"
    for _ in range(1000):
        r = s.get(url)
        assert r.status_code == 200, r.text
        page = r.json()
        for proof in page["proofs"]:
            leaf = json.loads(proof["leaf"])
            if "delivered" in leaf:
                out.append((leaf["delivered"], leaf["version"]))
        if not page.get("more"):
            return out
        url = f"{server.url}log/deliveries?limit=1000&next={page['next']}"
    pytest.fail("/log/deliveries pages do not end")


def checkpoint(server):
    r = server.session("GBR").get(server.url + "log/checkpoint")
    assert r.status_code == 200, r.text
    return r.text


def test_three_servers_on_one_database_answer_one_view(node, tmp_path):
    with ExitStack() as stack:
        servers = [node] + [stack.enter_context(_served(node.home)) for _ in range(2)]
        before = [view(s) for s in servers]
        assert all(v == before[0] for v in before), "servers disagree before any change"

        # GBR keeps pulling from every server while the analyst ingests.
        failures = []
        stop = threading.Event()

        def pull(server):
            while not stop.is_set():
                try:
                    view(server)
                except Exception as e:  # noqa: BLE001 - reported below
                    failures.append(f"{server.url}: {e!r}")
                    return

        pullers = [threading.Thread(target=pull, args=(s,), daemon=True) for s in servers]
        for t in pullers:
            t.start()
        path = tmp_path / "more.json"
        path.write_text(json.dumps(bundle(NEW_OBJECTS)))
        run(["--home", str(node.home), "ingest", str(path), "--label",
             "UNCLASSIFIED//REL TO USA, GBR, RUS", "--format", "json"])
        time.sleep(1)
        stop.set()
        for t in pullers:
            t.join(timeout=120)
        assert not failures, failures

        # Every server settles on the same view, with the new objects in it.
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            views = [view(s) for s in servers]
            new = sum(1 for _, text in views[0] if '"name": "Courier relay ' in text)
            if all(v == views[0] for v in views) and new == NEW_OBJECTS:
                break
            assert time.monotonic() < deadline, (
                f"servers did not settle in {SETTLE_TIMEOUT}s: sizes {[len(v) for v in views]}, "
                f"before {len(before[0])}, new objects in the first {new}"
            )
            time.sleep(1)
        ids = [oid for oid, _ in views[0]]
        assert len(ids) == len(set(ids)), "an object twice in one view"

        # One delivery leaf per object and version, whichever server is asked.
        logs = [deliveries(s) for s in servers]
        assert logs[0] and all(sorted(l) == sorted(logs[0]) for l in logs), "logs differ"
        assert len(logs[0]) == len(set(logs[0])), "an object was logged as delivered twice"
        delivered = {d for d, _ in logs[0]}
        assert {oid for oid in ids if oid.startswith("indicator--")} <= delivered

        # The same signed checkpoint from each (nothing is appended while we ask).
        points = [checkpoint(s) for s in servers]
        assert all(p.splitlines()[:3] == points[0].splitlines()[:3] for p in points), points


@contextmanager
def _served(home):
    gen = serve(home)
    server = next(gen)
    try:
        yield server
    finally:
        gen.close()
