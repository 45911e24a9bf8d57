"""Curated intelligence through the binary, on the node the demo leaves: GBR relayed RUS's
report on the Kavkaz National Front in its own words (one source, circular), and RUS alone
calls the group `terrorist`. Grading is tried on a copy of the node, so the shared node the
other tests serve stays as the demo left it.
"""

import json
import shutil

from conftest import run

GBR_RELAY = "report--8c1f5a39-2e7b-4d60-9a3c-6e0b2d4f7a82"


def liaison_json(home, *args):
    return json.loads(run(["--home", str(home), *args, "--format", "json"]).stdout)


def test_assess_counts_the_relay_as_no_new_source_and_flags_it(node):
    report = liaison_json(node.home, "assess", GBR_RELAY)
    a = report["assessment"]
    indicator = next(c for c in a["claims"] if c["claim"]["kind"] == "indicator")
    assert indicator["sources"] == 1
    reasons = {m["id"]: m["reason"] for c in indicator["clusters"] for m in c["members"]}
    assert reasons[GBR_RELAY] == "near-duplicate"
    assert a["echo"]["kind"] == "already-held"
    assert a["echo"]["echoes_from"] == "RUS"
    assert a["echo"]["evidence"]["kind"] == "similarity"
    assert report["track_record"]["partner"] == "GBR"
    echoes = liaison_json(node.home, "echoes")
    assert any(e["item"] == GBR_RELAY for e in echoes)


def test_framing_names_rus_terrorist_against_gbr_and_ours(node):
    framing = liaison_json(node.home, "framing", "--partner", "RUS")
    terrorist = next(d for d in framing["divergences"] if d["value"] == "terrorist")
    entity = terrorist["entities"][0]
    assert entity["entity"] == "threat-actor:kavkaz national front"
    assert entity["others"] == {"activist": ["GBR"]}
    assert entity["ours"] == ["activist"]
    human = run(["--home", str(node.home), "framing", "--partner", "RUS"]).stdout
    assert "RUS calls 1 entity `terrorist` (threat_actor_types)" in human


def test_an_analysts_disagreement_regrades_and_enters_the_partners_record(node, tmp_path):
    home = tmp_path / "usa"
    shutil.copytree(node.home, home, ignore=shutil.ignore_patterns("serve.stderr"))
    before = liaison_json(home, "partner", "record", "GBR", "--period", "year")
    graded = liaison_json(
        home, "grade", GBR_RELAY, "--grading", "D4", "--opinion", "disagree",
        "--explanation", "a relay of RUS's report",
    )
    assert graded["opinion"].startswith("opinion--")
    after = liaison_json(home, "partner", "record", "GBR", "--period", "year")
    assert after["total"]["contradicted"]["count"] == before["total"]["contradicted"]["count"] + 1
    assess = liaison_json(home, "assess", GBR_RELAY)["assessment"]
    assert assess["grading"] == {"reliability": "D", "credibility": "4"}
    # The opinion stays home: RUS's preview withholds it.
    preview = liaison_json(home, "release", "preview", "--to", "RUS")
    entry = next(e for e in preview if e["object"] == graded["opinion"])
    assert entry["decision"] == "withhold"
