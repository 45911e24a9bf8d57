"""Private matching through the binary, as operators run it: RUS's node (the one the demo
leaves in `nodes/rus`, holding a threat actor under a Cyrillic name that it releases to the
USA, and one it keeps to itself) serves with `liaison serve --region RU`; the USA runs
`liaison match --partner RUS --selectors FILE`; RUS's operator reads `liaison match budgets`.
"""

import json
import os
import re
import subprocess

import pytest

from conftest import BIN, COMMAND_TIMEOUT, serve

# What the holder's history may show of a request: never a selector.
HISTORY_FIELDS = {"index", "partner", "epoch", "event", "count", "request", "padded_size",
                  "sha256", "public_key", "normaliser"}

# The secret the demo gave the USA at RUS (crates/cli/src/demo.rs, USA_SECRET_AT_RUS).
USA_AT_RUS = "demo-secret-usa-at-rus-03"

WATCHLIST = """# kind,value, or a bare value
person,Timur Bekmurzayev
Islam Dudayev
t.bekmurzaev@example.ru
8 (928) 555-01-23
organisation,Nobody Holds This Group
phone,12
"""


@pytest.fixture(scope="module")
def rus(node):
    yield from serve(node.home / "nodes" / "rus", "--region", "RU")


def liaison(*args, secret=None):
    env = dict(os.environ)
    env.pop("LIAISON_PULL_SECRET", None)
    if secret is not None:
        env["LIAISON_PULL_SECRET"] = secret
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        env=env, stdin=subprocess.DEVNULL,
    )


def budgets(rus):
    done = liaison("--home", str(rus.home), "match", "budgets", "--format", "json")
    assert done.returncode == 0, done.stderr
    return {b["partner"]: b for b in json.loads(done.stdout)}


def ask(node, rus, path, *extra, fmt="json"):
    return liaison(
        "--home", str(node.home), "match", "--partner", "RUS", "--selectors", str(path),
        "--url", rus.url, "--fingerprint", rus.fingerprint, "--format", fmt, *extra,
        secret=USA_AT_RUS,
    )


def test_match_finds_the_cyrillic_name_and_the_contact_and_nothing_withheld(node, rus, tmp_path):
    path = tmp_path / "watchlist.txt"
    path.write_text(WATCHLIST, encoding="utf-8")
    before = budgets(rus)["USA"]["used"]
    done = ask(node, rus, path, "--region", "RU")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    found = {m["selector"]: m for m in report["matches"]}
    assert set(found) == {"Timur Bekmurzayev", "t.bekmurzaev@example.ru", "8 (928) 555-01-23"}
    assert found["8 (928) 555-01-23"]["keys"] == ["+79285550123"]
    assert found["8 (928) 555-01-23"]["strength"] == "exact"
    # RUS holds `Islam Dudayev` as SECRET//REL TO RUS: never matched.
    assert "Islam Dudayev" not in found
    # RUS's operator sees the request in its history, with what it was charged, never the
    # selectors.
    done = liaison("--home", str(rus.home), "match", "history", "--partner", "USA",
                   "--format", "json")
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    evaluated = [e for e in events if e["event"] == "evaluated"]
    assert evaluated and all(e["partner"] == "USA" for e in events)
    now = budgets(rus)["USA"]
    assert sum(e["count"] for e in evaluated if e["epoch"] == now["epoch"]) == now["used"]
    # The digests and keys are random hex, where "928" may well occur: look at the rest.
    words = re.sub(r"\b[0-9a-f]{32,}\b", "", done.stdout)
    assert "Bekmurzayev" not in words and "928" not in words
    assert all(set(e) <= HISTORY_FIELDS for e in events), events
    unknown = liaison("--home", str(rus.home), "match", "history", "--partner", "BRA")
    assert unknown.returncode != 0 and "not a partner" in unknown.stderr
    # `12` is no phone number: reported with its line, not asked.
    assert [n["line"] for n in report["not_asked"]] == [7]
    # RUS's operator sees the count charged, and nothing else.
    after = budgets(rus)["USA"]
    assert after["used"] - before == report["evaluated"]
    assert after["budget"] == 4096 and after["max_set_size"] == 1024


def test_match_in_human_form_names_the_matches(node, rus, tmp_path):
    path = tmp_path / "watchlist.txt"
    path.write_text("person,Тимур Бекмурзаев\n", encoding="utf-8")
    done = ask(node, rus, path, fmt="human")
    assert done.returncode == 0, done.stderr
    assert "RUS holds 1 of our 1 selectors" in done.stdout
    assert "Тимур Бекмурзаев" in done.stdout


def test_match_refusals_are_clear_and_charge_nothing(node, rus, tmp_path):
    before = budgets(rus)["USA"]["used"]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    done = ask(node, rus, empty)
    assert done.returncode != 0 and "holds no selectors" in done.stderr

    missing = ask(node, rus, tmp_path / "missing.txt")
    assert missing.returncode != 0 and "missing.txt" in missing.stderr

    path = tmp_path / "one.txt"
    path.write_text("a@example.org\n", encoding="utf-8")
    wrong = liaison(
        "--home", str(node.home), "match", "--partner", "RUS", "--selectors", str(path),
        "--url", rus.url, "--fingerprint", rus.fingerprint, secret="not-the-secret-at-all",
    )
    assert wrong.returncode != 0 and "401" in wrong.stderr
    nosecret = liaison(
        "--home", str(node.home), "match", "--partner", "RUS", "--selectors", str(path),
        "--url", rus.url, "--fingerprint", rus.fingerprint,
    )
    assert nosecret.returncode != 0 and "LIAISON_PULL_SECRET" in nosecret.stderr
    assert budgets(rus)["USA"]["used"] == before
