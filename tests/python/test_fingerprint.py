"""Fingerprints survive the handling a leaked copy goes through, as the Python STIX tools do it:
re-serialisation, pretty printing, key reordering, a subset of objects, and a copy through the
OASIS `stix2` library and back. Each handled copy of GBR's bundle is handed to `liaison trace`,
which must accuse GBR and no one else; text retyped from it must give "cannot tell".

What `stix2` does to the marks (stix2 3.x): it keeps ids and list order, and rewrites
timestamps with trailing zeros trimmed, so the `form` family reads as all zeros after it (no
false accusation: the code's threshold is computed for the leak as read); the ids and the
`order` family carry the trace.
"""

import json

import stix2

from conftest import run

PARTNERS = ("GBR", "RUS")


def exported(node, party):
    """The bundle the demo delivered to `party` (fingerprinted for it)."""
    return json.loads((node.home / f"{party.lower()}.json").read_text(encoding="utf-8"))


def trace(node, tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return json.loads(
        run(["--home", str(node.home), "trace", str(path), "--format", "json"]).stdout
    )


def accused(t):
    return sorted(s["recipient"] for s in t["accused"])


def through_stix2(bundle):
    """The bundle parsed by `stix2` and written back out, as a tool built on it would."""
    parsed = stix2.parse(bundle, allow_custom=True)
    return parsed.serialize(pretty=True)


def handled(bundle):
    objects = bundle["objects"]
    intelligence = [o for o in objects if o["type"] not in ("marking-definition", "extension-definition")]
    yield "compact", json.dumps(bundle, separators=(",", ":"))
    yield "pretty-sorted", json.dumps(bundle, indent=4, sort_keys=True)
    yield "reversed-keys", json.dumps(
        {**bundle, "objects": [dict(reversed(list(o.items()))) for o in objects]}
    )
    yield "one-object", json.dumps(intelligence[-1], indent=2)
    yield "reports-only", json.dumps([o for o in objects if o["type"] == "report"])
    yield "stix2", through_stix2(bundle)


def test_marks_survive_the_usual_handling(node, tmp_path):
    for party in PARTNERS:
        bundle = exported(node, party)
        for how, text in handled(bundle):
            if how == "reports-only" and not any(o["type"] == "report" for o in bundle["objects"]):
                continue
            t = trace(node, tmp_path, text, f"{party}-{how}.json")
            assert accused(t) == [party], (party, how, t)
            assert "ids" in t["accused"][0]["families"], (party, how, t)


def test_a_copy_mixed_from_two_recipients_accuses_them_and_no_one_else(node, tmp_path):
    gbr, rus = exported(node, "GBR"), exported(node, "RUS")
    mixed = [o for pair in zip(gbr["objects"], rus["objects"]) for o in pair]
    t = trace(node, tmp_path, json.dumps({"type": "bundle", "id": gbr["id"], "objects": mixed}),
              "mixed.json")
    assert accused(t) and set(accused(t)) <= {"GBR", "RUS"}, t


def test_retyped_text_says_cannot_tell(node, tmp_path):
    bundle = exported(node, "GBR")
    prose = " ".join(
        f"Analysts describe {o['name']}." for o in bundle["objects"] if "name" in o
    )
    t = trace(node, tmp_path, prose, "prose.txt")
    assert t["verdict"] == "cannot tell", t
    assert t["accused"] == [], t
    assert "why_not" in t


def test_stix2_keeps_ids_and_list_order(node):
    """What the module docstring says of `stix2`, checked on a delivered copy."""
    bundle = exported(node, "GBR")
    back = json.loads(through_stix2(bundle))
    before = {o["id"]: o for o in bundle["objects"]}
    for o in back["objects"]:
        original = before[o["id"]]
        for key, value in original.items():
            if isinstance(value, list):
                assert o[key] == value, (o["id"], key)
