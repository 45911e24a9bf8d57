#!/usr/bin/env python3
"""Summarises one bench/taxii.sh run directory: the figures for BENCHMARKS.md section 4."""
import glob
import json
import os
import re
import statistics
import sys

w = sys.argv[1]


def load(name):
    p = os.path.join(w, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        v = json.load(f)
    return v[0] if isinstance(v, list) else v


def wrk(name):
    p = os.path.join(w, name)
    if not os.path.exists(p):
        return None
    t = open(p).read()
    out = {}
    for q in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{q}%\s+(\S+)", t, re.M)
        out["p" + q] = m.group(1) if m else None
    m = re.search(r"Requests/sec:\s+(\S+)", t)
    out["rps"] = m.group(1) if m else None
    m = re.search(r"Socket errors: (.*)", t)
    out["errors"] = m.group(1) if m else ""
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    out["non2xx"] = m.group(1) if m else "0"
    return out


ing = {}
for line in open(os.path.join(w, "ingest.tsv")):
    _, size, _, s = line.split()
    ing.setdefault(int(size), []).append(float(s))
print("liaison ingest (liaison ingest, whole process, median of 3):")
for size, v in sorted(ing.items()):
    m = statistics.median(v)
    print(f"  {size}: {m:.2f} s = {size / m:,.0f} objects/s  (runs {', '.join(f'{x:.2f}' for x in v)})")

ser = load("serialize.json")
lim = {r["limit"]: r["median_objects_per_s"] for r in ser["rows"]}
print(f"serialization limit (serde_json, {ser['objects']} objects): " +
      ", ".join(f"limit {k}: {v:,.0f}/s" for k, v in lim.items()))
raw = {r["limit"]: r.get("raw_median_objects_per_s") for r in ser["rows"]}
if all(raw.values()):
    print("concatenating pre-serialized objects into envelopes: " +
          ", ".join(f"limit {k}: {v:,.0f}/s" for k, v in raw.items()))

for proto in ("https", "http"):
    for limit in (1000, 100):
        files = sorted(glob.glob(os.path.join(w, f"walk-{proto}-{limit}.json"))
                       + glob.glob(os.path.join(w, f"walk-{proto}-{limit}-*.json")))
        if not files:
            continue
        cold, warm, first = [], [], []
        n = None
        for f in files:
            r = json.load(open(f))[0]
            ws = r["walks"]
            n = ws[0]["objects"]
            if proto == "http" and limit == 100:
                # walked on the server the limit-1000 walks had warmed: no cold walk here
                warm += [x["objects_per_s"] for x in ws]
                continue
            cold.append(ws[0]["objects_per_s"])
            first.append(ws[0]["first_page_s"])
            warm += [x["objects_per_s"] for x in ws[1:]]
        wm = statistics.median(warm) if warm else float("nan")
        if not cold:
            print(f"liaison {proto} limit {limit} ({n} objects): warm median {wm:,.0f}/s "
                  f"({len(warm)} walks); warm / serialization limit = {wm / lim[limit]:.2f}")
            continue
        cm = statistics.median(cold)
        print(f"liaison {proto} limit {limit} ({n} objects): cold {cm:,.0f}/s "
              f"(first page {statistics.median(first):.2f} s; {len(cold)} cold walks "
              f"{', '.join(f'{x:,.0f}' for x in cold)}), warm median {wm:,.0f}/s "
              f"({len(warm)} walks); warm / serialization limit = {wm / lim[limit]:.2f}, "
              f"cold / limit = {cm / lim[limit]:.2f}")

for n in (1000, 10000):
    for limit in (1000, 100):
        r = load(f"small-walk-{n}-{limit}.json")
        if not r:
            continue
        ws = r["walks"]
        warm = [x["objects_per_s"] for x in (ws[1:] if limit == 1000 else ws)]
        cold = f"cold {ws[0]['objects_per_s']:,.0f}/s, " if limit == 1000 else ""
        print(f"liaison https {n} objects ({ws[0]['objects']} served), limit {limit}: {cold}"
              f"warm median {statistics.median(warm):,.0f}/s")

for n in (1000, 10000):
    m = load(f"medallion-{n}.json")
    if not m or m.get("bench") != "medallion":
        continue
    i = m.get("ingest", {})
    print(f"medallion {n}: ingest {i.get('objects_per_s', float('nan')):,.1f} objects/s "
          f"({i.get('elapsed_s', float('nan')):.2f} s, envelopes of {m['post_batch']}); "
          f"max_page_size {m['max_page_size']}")
    for r in m.get("walks", []):
        if r["timeout"]:
            print(f"  limit {r['limit']} walk {r.get('walk')}: TIMEOUT after {r['elapsed_s']:.0f} s, "
                  f"{r['objects']} objects in {r['pages']} pages")
        else:
            print(f"  limit {r['limit']} walk {r['walk']}: {r['objects_per_s']:,.1f} objects/s "
                  f"({r['elapsed_s']:.2f} s, first page {r['first_page_s']:.2f} s)")

for name in ("wrk-liaison-https.txt", "wrk-liaison-http.txt", "wrk-medallion-1000.txt"):
    r = wrk(name)
    if r:
        print(f"{name}: p50 {r['p50']} p90 {r['p90']} p99 {r['p99']} req/s {r['rps']} "
              f"non-2xx {r['non2xx']} {r['errors']}")
