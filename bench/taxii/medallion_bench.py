#!/usr/bin/env python3
"""The peer of bench/taxii.sh: medallion (the OASIS reference TAXII 2.1 server), memory backend.

For one collection size N (the first N objects of the same bundle liaison serves):
  1. starts medallion with one empty collection (can_read, can_write) and POSTs the N objects
     as envelopes of --post-batch objects: medallion's ingest rate;
  2. walks the collection with paged GET .../objects/?limit=L (following `next`), for each L,
     --walks times, each walk bounded by --budget seconds (a walk over budget is recorded as a
     timeout with its elapsed time and the objects it got);
  3. optionally leaves the server running (--keep) for wrk, printing its pid and port.
Writes one JSON document to --out.
"""
import argparse
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

COLL = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
MEDIA = "application/taxii+json;version=2.1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def config(workdir, n, secret, max_page):
    data = {
        "/discovery": {
            "title": "medallion bench",
            "default": "http://127.0.0.1/api1/",
            "api_roots": ["http://127.0.0.1/api1/"],
        },
        "api1": {
            "information": {
                "title": "api1",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 1024 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": COLL,
                    "title": "outbound",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    data_path = os.path.join(workdir, f"medallion-data-{n}.json")
    with open(data_path, "w") as f:
        json.dump(data, f)
    conf = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": data_path,
            "session_timeout": 3600,
        },
        "users": {"GBR": secret},
        "taxii": {"max_page_size": max_page},
    }
    conf_path = os.path.join(workdir, f"medallion-config-{n}.json")
    with open(conf_path, "w") as f:
        json.dump(conf, f)
    return conf_path


class Client:
    def __init__(self, port, secret, timeout):
        self.port = port
        self.auth = "Basic " + base64.b64encode(f"GBR:{secret}".encode()).decode()
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, timeout=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout or self.timeout)
        else:
            self.conn.timeout = timeout or self.timeout
            if self.conn.sock is not None:
                self.conn.sock.settimeout(self.conn.timeout)
        headers = {"Accept": MEDIA, "Authorization": self.auth}
        if body is not None:
            headers["Content-Type"] = MEDIA
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return data


def wait_up(port, deadline=60):
    t0 = time.time()
    while time.time() - t0 < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("medallion did not start")


def walk(c, limit, budget):
    t0 = time.perf_counter()
    n, pages, nxt, first = 0, 0, None, None
    while True:
        left = budget - (time.perf_counter() - t0)
        if left <= 0:
            return {"limit": limit, "timeout": True, "elapsed_s": time.perf_counter() - t0,
                    "objects": n, "pages": pages, "first_page_s": first}
        path = f"/api1/collections/{COLL}/objects/?limit={limit}"
        if nxt:
            path += f"&next={nxt}"
        try:
            env = json.loads(c.request("GET", path, timeout=left))
        except (socket.timeout, TimeoutError):
            return {"limit": limit, "timeout": True, "elapsed_s": time.perf_counter() - t0,
                    "objects": n, "pages": pages, "first_page_s": first}
        if first is None:
            first = time.perf_counter() - t0
        pages += 1
        objs = env.get("objects", [])
        n += len(objs)
        if len(objs) > limit:
            raise RuntimeError(f"page of {len(objs)} > limit {limit}")
        if not env.get("more"):
            break
        nxt = env.get("next")
    el = time.perf_counter() - t0
    return {"limit": limit, "timeout": False, "elapsed_s": el, "objects": n, "pages": pages,
            "first_page_s": first, "max_page_objects": None, "objects_per_s": n / el}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--secret", default="medallion-bench-secret")
    ap.add_argument("--limits", default="1000,100")
    ap.add_argument("--walks", type=int, default=3)
    ap.add_argument("--post-batch", type=int, default=1000)
    ap.add_argument("--max-page", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--keep", action="store_true", help="leave medallion running (prints pid, port)")
    a = ap.parse_args()

    with open(a.bundle) as f:
        objs = json.load(f)["objects"][: a.n]
    conf = config(a.workdir, a.n, a.secret, a.max_page)
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "medallion")
    log = open(os.path.join(a.workdir, f"medallion-{a.n}.log"), "w")
    proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), conf],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    res = {"bench": "medallion", "n": a.n, "post_batch": a.post_batch, "max_page_size": a.max_page,
           "medallion_pid": proc.pid, "port": port}
    try:
        wait_up(port)
        c = Client(port, a.secret, a.budget)
        # 1. ingest: POST envelopes
        t0 = time.perf_counter()
        batch_times = []
        for i in range(0, len(objs), a.post_batch):
            body = json.dumps({"objects": objs[i:i + a.post_batch]})
            tb = time.perf_counter()
            st = json.loads(c.request("POST", f"/api1/collections/{COLL}/objects/", body=body))
            batch_times.append(time.perf_counter() - tb)
            if st.get("success_count") != len(objs[i:i + a.post_batch]):
                raise RuntimeError(f"POST: {json.dumps(st)[:300]}")
            if time.perf_counter() - t0 > a.budget:
                res["ingest_timeout"] = True
                break
        el = time.perf_counter() - t0
        done = min(len(objs), len(batch_times) * a.post_batch)
        res["ingest"] = {"objects": done, "elapsed_s": el, "objects_per_s": done / el,
                         "batch_s": batch_times}
        print(f"  medallion {a.n}: ingest {done} objects in {el:.2f} s = {done / el:.0f}/s",
              file=sys.stderr)
        # 2. paged walks
        res["walks"] = []
        deadline = time.perf_counter() + a.budget  # one budget for all walks of this size
        for lim in [int(x) for x in a.limits.split(",")]:
            for w in range(a.walks):
                r = walk(c, lim, deadline - time.perf_counter())
                r["walk"] = w + 1
                res["walks"].append(r)
                if r["timeout"]:
                    print(f"  medallion {a.n} limit {lim}: TIMEOUT after {r['elapsed_s']:.0f} s "
                          f"({r['objects']} objects, {r['pages']} pages)", file=sys.stderr)
                    # the server is still busy with the abandoned request: restart is not
                    # needed for the record, but later walks would queue behind it
                    break
                print(f"  medallion {a.n} limit {lim} walk {w + 1}: {r['objects']} objects in "
                      f"{r['elapsed_s']:.2f} s = {r['objects_per_s']:.0f}/s "
                      f"(first page {r['first_page_s']:.2f} s)", file=sys.stderr)
            if res["walks"][-1]["timeout"]:
                break
    finally:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        if not a.keep:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    if a.keep:
        print(json.dumps({"pid": proc.pid, "port": port, "collection": COLL}))


if __name__ == "__main__":
    main()
