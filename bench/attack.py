#!/usr/bin/env python3
"""ATT&CK Enterprise (v15 as published: STIX 2.0, 19,981 objects) into liaison and into
medallion (the OASIS reference TAXII 2.1 server, memory backend), in the same run.

liaison: `liaison ingest` of the bundle under a REL TO USA, GBR label (upgraded from 2.0),
then `liaison serve` and the first full TAXII walk of GBR's outbound view (the view is
computed and every delivery logged on that walk).
medallion: the same objects POSTed into a writable collection (envelopes of 1000), then a
full TAXII walk of it.
Both walks: the same Python client code (requests, limit 1000, following `next`).
Each side --runs times, fresh node / fresh server each run; prints one JSON document.

Run by bench/attack.sh (which sets the binary and the venv).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import queue
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
import medallion_server  # noqa: E402

TAXII = "application/taxii+json;version=2.1"
LABEL = "UNCLASSIFIED//REL TO USA, GBR//TLP:CLEAR"
SECRET = "gbr-bench-secret-0001"


def first_line(process, what, timeout=120):
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        sys.exit(f"{what} did not start")


def walk(session, url, budget):
    """Every object of a collection, limit 1000, following `next`: (objects, pages). A page
    that takes longer than `budget` seconds ends the walk: (objects so far, None)."""
    objects, pages, nxt = 0, 0, None
    while True:
        params = {"limit": 1000}
        if nxt:
            params["next"] = nxt
        try:
            r = session.get(url, params=params, headers={"Accept": TAXII}, timeout=budget)
        except requests.exceptions.ReadTimeout:
            return objects, None
        r.raise_for_status()
        env = r.json()
        objects += len(env.get("objects", []))
        pages += 1
        if not env.get("more"):
            return objects, pages
        nxt = env["next"]


def liaison_run(binary, bundle, work, budget):
    home = work / "usa"
    agreement = work / "gbr.toml"
    agreement.write_text('ceiling = "UNCLASSIFIED"\n[scope]\nmax_tlp = "clear"\n')
    run = lambda *a, **k: subprocess.run([binary, "--home", str(home), *a], check=True,
                                         capture_output=True, text=True, **k)
    run("init", "--party", "USA")
    run("partner", "add", "GBR", "--agreement", str(agreement))
    run("partner", "secret", "GBR", "--from-env", "S", env=dict(os.environ, S=SECRET))
    t = time.monotonic()
    run("ingest", str(bundle), "--label", LABEL)
    ingest = time.monotonic() - t
    server = subprocess.Popen([binary, "--home", str(home), "serve", "--listen", "127.0.0.1:0",
                               "--console", "off", "--format", "json"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(first_line(server, "liaison serve"))
        s = requests.Session()
        s.trust_env = False  # $REQUESTS_CA_BUNDLE would replace the certificate given
        s.verify = info["certificate"]
        s.auth = ("GBR", SECRET)
        root = info["url"].rstrip("/") + "/liaison/"
        cols = s.get(root + "collections/", headers={"Accept": TAXII}, timeout=60).json()
        out = [c for c in cols["collections"] if c.get("alias") == "outbound"][0]["id"]
        t = time.monotonic()
        objects, pages = walk(s, f"{root}collections/{out}/objects/", budget)
        first_walk = time.monotonic() - t
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"ingest_s": ingest, "first_walk_s": first_walk, "objects": objects, "pages": pages}


def medallion_run(objects, work, budget):
    data = work / "medallion.json"
    data.write_text(json.dumps(medallion_server.data([], max_page_size=1000)))
    server = subprocess.Popen([sys.executable, medallion_server.__file__, str(data), "USA", SECRET],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, text=True)
    try:
        port = int(first_line(server, "medallion"))
        s = requests.Session()
        s.auth = ("USA", SECRET)
        url = (f"http://127.0.0.1:{port}/{medallion_server.API_ROOT}/collections/"
               f"{medallion_server.WRITABLE}/objects/")
        headers = {"Accept": TAXII, "Content-Type": TAXII}
        t = time.monotonic()
        for i in range(0, len(objects), 1000):
            body = json.dumps({"objects": objects[i:i + 1000]})
            r = s.post(url, data=body, headers=headers, timeout=3600)
            r.raise_for_status()
            assert r.json()["success_count"] == len(objects[i:i + 1000]), r.text[:500]
        post = time.monotonic() - t
        print(f"medallion: POST {post:.1f}s", file=sys.stderr)
        t = time.monotonic()
        n, pages = walk(s, url, budget)
        first_walk = time.monotonic() - t
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"post_s": post, "first_walk_s": first_walk, "objects": n, "pages": pages}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--budget", type=float, default=300,
                   help="seconds one page of a walk may take before the walk counts as timed out")
    a = p.parse_args()
    objects = json.loads(Path(a.bundle).read_text(encoding="utf-8"))["objects"]
    runs = {"liaison": [], "medallion": []}
    for i in range(a.runs):
        # Interleaved, so that load from other work on the machine falls on both.
        with tempfile.TemporaryDirectory() as w:
            runs["liaison"].append(liaison_run(a.binary, Path(a.bundle), Path(w), a.budget))
        print(f"liaison: {runs['liaison'][-1]}", file=sys.stderr)
        with tempfile.TemporaryDirectory() as w:
            runs["medallion"].append(medallion_run(objects, Path(w), a.budget))
        print(f"run {i + 1}: {json.dumps({k: v[-1] for k, v in runs.items()})}", file=sys.stderr)
    med = lambda side, key: statistics.median(r[key] for r in runs[side])
    summary = {
        "liaison_ingest_s": med("liaison", "ingest_s"),
        "liaison_first_walk_s": med("liaison", "first_walk_s"),
        "medallion_post_s": med("medallion", "post_s"),
        "medallion_first_walk_s": med("medallion", "first_walk_s"),
    }
    summary["medallion_walk_timed_out"] = any(r["pages"] is None for r in runs["medallion"])
    summary["liaison_in_and_out_s"] = summary["liaison_ingest_s"] + summary["liaison_first_walk_s"]
    summary["medallion_in_and_out_s"] = summary["medallion_post_s"] + summary["medallion_first_walk_s"]
    # With a timed-out medallion walk, its time and so the ratio are lower bounds.
    summary["ratio_medallion_over_liaison"] = (summary["medallion_in_and_out_s"]
                                               / summary["liaison_in_and_out_s"])
    print(json.dumps({"runs": runs, "median": summary}, indent=1))


if __name__ == "__main__":
    main()
