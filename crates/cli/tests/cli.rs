//! The `liaison` binary, driven as an operator drives it. Everything it writes out is checked
//! with the OASIS stix2-validator (from the virtualenv `scripts/test.sh` creates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn liaison(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env("COLUMNS", "120")
        .env_remove("LIAISON_HOME")
        .env_remove("LIAISON_DATABASE_URL")
        .env_remove("LIAISON_DATABASE_PASSWORD")
        .env_remove("LIAISON_DATABASE_PASSWORD_FILE")
        .output()
        .expect("run liaison")
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = liaison(home, args);
    assert!(
        out.status.success(),
        "liaison {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(home: &Path, args: &[&str]) -> String {
    let out = liaison(home, args);
    assert!(!out.status.success(), "liaison {args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

/// Runs the OASIS validator on `files`; fails the test if any has an error. Without the
/// virtualenv the check is skipped, unless `LIAISON_REQUIRE_PYTHON=1` (as in scripts/test.sh).
fn validate(files: &[PathBuf]) {
    let Ok(cmd) = std::env::var("LIAISON_VALIDATE") else {
        assert!(
            std::env::var("LIAISON_REQUIRE_PYTHON").as_deref() != Ok("1"),
            "LIAISON_VALIDATE is not set but LIAISON_REQUIRE_PYTHON=1: run scripts/test.sh"
        );
        eprintln!("stix2-validator not available: run scripts/test.sh for the full check");
        return;
    };
    let mut parts = cmd.split_whitespace();
    let out = Command::new(parts.next().unwrap())
        .args(parts)
        .args(files)
        .output()
        .expect("run the validator");
    assert!(
        out.status.success(),
        "stix2-validator refused liaison's output:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

fn indicator(n: u32, extra: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{n:012}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.{n}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"{extra}}}"#
    )
}

fn bundle(objects: &[String]) -> String {
    format!(
        r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[{}]}}"#,
        objects.join(",")
    )
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    ok(&home, &["init", "--party", "USA"]);
    let agreement = dir.path().join("gbr.toml");
    std::fs::write(&agreement, AGREEMENT).unwrap();
    ok(
        &home,
        &[
            "partner",
            "add",
            "GBR",
            "--agreement",
            agreement.to_str().unwrap(),
        ],
    );
    (dir, home)
}

#[test]
fn a_bad_object_names_file_index_id_and_field_and_nothing_is_written() {
    let (dir, home) = setup();
    let bad = indicator(2, "").replace(
        "\"2026-01-01T00:00:00.000Z\",\"pattern\"",
        "\"last tuesday\",\"pattern\"",
    );
    let file = dir.path().join("bad.json");
    std::fs::write(&file, bundle(&[indicator(1, ""), bad])).unwrap();
    let err = fails(&home, &["ingest", file.to_str().unwrap()]);
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("object 1"), "{err}");
    assert!(
        err.contains("indicator--00000000-0000-4000-8000-000000000002"),
        "{err}"
    );
    assert!(err.contains("field `modified`"), "{err}");
    let preview = ok(
        &home,
        &["release", "preview", "--to", "GBR", "--format", "json"],
    );
    let entries: serde_json::Value = serde_json::from_str(&preview).unwrap();
    assert_eq!(
        entries.as_array().unwrap().len(),
        0,
        "half a bundle was ingested"
    );
}

#[test]
fn several_files_are_all_checked_before_any_is_written() {
    let (dir, home) = setup();
    let good = dir.path().join("good.json");
    std::fs::write(&good, bundle(&[indicator(1, "")])).unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"type\": \"bundle\", ").unwrap();
    let err = fails(
        &home,
        &["ingest", good.to_str().unwrap(), broken.to_str().unwrap()],
    );
    assert!(
        err.contains("broken.json") && err.contains("not valid JSON"),
        "{err}"
    );
    let preview = ok(
        &home,
        &["release", "preview", "--to", "GBR", "--format", "json"],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&preview).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn bad_labels_agreements_and_parties_are_refused_precisely() {
    let (dir, home) = setup();
    let file = dir.path().join("one.json");
    std::fs::write(&file, bundle(&[indicator(1, "")])).unwrap();
    let err = fails(
        &home,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--label",
            "SEKRET//REL TO USA",
        ],
    );
    assert!(err.contains("--label") && err.contains("SEKRET"), "{err}");
    let err = fails(
        &home,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--label",
            "SECRET//REL TO XYZ",
        ],
    );
    assert!(err.contains("XYZ"), "{err}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\ntypo = 1\n",
    )
    .unwrap();
    let err = fails(
        &home,
        &[
            "partner",
            "add",
            "RUS",
            "--agreement",
            bad.to_str().unwrap(),
        ],
    );
    assert!(err.contains("bad.toml") && err.contains("typo"), "{err}");
    let err = fails(&home, &["release", "preview", "--to", "FRA"]);
    assert!(err.contains("`FRA` is not a partner"), "{err}");
    let err = fails(&home, &["release", "preview", "--to", "ZZZ"]);
    assert!(err.contains("ZZZ"), "{err}");
}

/// Fails if `stderr` says something twice: split on ": " (how a chain of causes is joined),
/// no segment of 20 characters or more may appear in the message twice.
fn says_each_thing_once(args: &[&str], stderr: &str) {
    let message = stderr.trim_end();
    for segment in message.split(": ") {
        let segment = segment.trim();
        if segment.chars().count() >= 20 {
            assert_eq!(
                message.matches(segment).count(),
                1,
                "liaison {args:?} repeats `{segment}`:\n{message}"
            );
        }
    }
}

/// Regression: many errors read "X: X" (an error printed its source in its own message and
/// the chain printed the source again).
#[test]
fn error_messages_say_each_thing_once() {
    let (dir, home) = setup();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let one = write("one.json", &bundle(&[indicator(1, "")]));
    ok(&home, &["ingest", &one]);
    let changed = write(
        "changed.json",
        &bundle(&[indicator(1, "").replace("198.51.100.1", "203.0.113.1")]),
    );
    let typo = write(
        "typo.toml",
        "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\ntypo = 1\n",
    );
    let bad_type = write(
        "type.toml",
        "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\ntypes = [\"indicatr\"]\n",
    );
    let bad_echo = write(
        "echo.toml",
        "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n[reciprocity]\necho_factor = 7\n",
    );
    let broken = write("broken.json", "{\"type\": \"bundle\"");
    let report = "report--00000000-0000-4000-8000-000000000001";
    let cases: Vec<Vec<&str>> = vec![
        vec!["partner", "add", "RUS", "--agreement", &typo],
        vec!["partner", "add", "RUS", "--agreement", &bad_type],
        vec!["partner", "add", "RUS", "--agreement", &bad_echo],
        vec!["agreement", "set", "GBR", &typo],
        vec!["consent", "send", "USA", "--file", "/dev/null"],
        vec!["consent", "add", "--file", "/dev/null"],
        vec![
            "consent", "add", "--object", report, "--to", "GBR", "--by", "ISR",
        ],
        vec![
            "consent", "add", "--object", report, "--to", "GBR", "--by", "USA",
        ],
        vec!["ingest", &changed],
        vec!["ingest", &broken],
        vec!["ingest", "/nonexistent/file.json"],
        vec!["ingest", &one, "--label", "SECRET//BOGUS//REL TO USA, GBR"],
        vec!["ingest", &one, "--label", "SECRET//NOFRON"],
        vec!["release", "preview", "--to", "FRA"],
        vec!["explain", report, "--to", "GBR"],
        vec!["pull", "GBR"],
    ];
    for args in &cases {
        let err = fails(&home, args);
        says_each_thing_once(args, &err);
    }
    let nowhere = dir.path().join("nowhere");
    let err = fails(&nowhere, &["release", "preview", "--to", "GBR"]);
    says_each_thing_once(&["release", "preview"], &err);
}

#[test]
fn unmarked_objects_stay_home_unless_labelled_on_ingest() {
    let (dir, home) = setup();
    let a = dir.path().join("a.json");
    std::fs::write(&a, bundle(&[indicator(1, "")])).unwrap();
    let said = ok(&home, &["ingest", a.to_str().unwrap()]);
    assert!(
        said.contains("1 object, 1 new, 0 already held, 1 without a label: owner only"),
        "{said}"
    );
    let b = dir.path().join("b.json");
    std::fs::write(&b, bundle(&[indicator(2, "")])).unwrap();
    let said = ok(
        &home,
        &[
            "ingest",
            b.to_str().unwrap(),
            "--label",
            "CONFIDENTIAL//REL TO FVEY",
        ],
    );
    assert!(
        said.contains("1 given the label CONFIDENTIAL//REL TO FVEY"),
        "{said}"
    );

    let preview: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &["release", "preview", "--to", "GBR", "--format", "json"],
    ))
    .unwrap();
    let by_id = |n: u32| {
        preview
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["object"] == format!("indicator--00000000-0000-4000-8000-{n:012}"))
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(1)["decision"], "withhold");
    assert_eq!(by_id(1)["reasons"][0]["code"], "not_releasable_to");
    assert_eq!(by_id(2)["decision"], "release", "{preview}");

    let out = dir.path().join("gbr.json");
    ok(
        &home,
        &[
            "release",
            "export",
            "--to",
            "GBR",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    // GBR receives the released indicator under its own id for it, as the preview says.
    let as_gbr = by_id(2)["delivered_as"].as_str().unwrap().to_owned();
    assert_ne!(as_gbr, "indicator--00000000-0000-4000-8000-000000000002");
    assert!(text.contains(&as_gbr));
    assert!(!text.contains("indicator--00000000-0000-4000-8000-000000000001"));
    assert!(by_id(1).get("delivered_as").is_none(), "nothing goes");
    let doc = liaison_stix::parse_document(&text).unwrap();
    let delivered = doc
        .objects
        .iter()
        .find(|o| o.object_type() == "indicator")
        .unwrap();
    let label = &delivered.object_marking_refs()[0];
    assert!(
        doc.objects.iter().any(|o| o.id() == label),
        "the delivered copy's label travels with it"
    );
    validate(&[out]);
}

/// Regression: ingesting a held object again with another `--label` said nothing (and
/// counted it as "given the default label") while the object kept the label it had.
#[test]
fn a_held_object_ingested_again_with_another_label_says_it_kept_its_label() {
    let (dir, home) = setup();
    let a = dir.path().join("a.json");
    std::fs::write(&a, bundle(&[indicator(1, "")])).unwrap();
    let a = a.to_str().unwrap();
    ok(&home, &["ingest", a, "--label", "SECRET//REL TO USA"]);
    let said = ok(&home, &["ingest", a, "--label", "SECRET//REL TO USA, GBR"]);
    assert!(said.contains("1 object, 0 new, 1 already held"), "{said}");
    assert!(!said.contains("given the label"), "{said}");
    assert!(
        said.contains("1 object already held kept the label it had (`indicator--00000000-0000-4000-8000-000000000001`)"),
        "{said}"
    );
    // Still not releasable to GBR: the first label holds.
    let preview: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &["release", "preview", "--to", "GBR", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(preview[0]["decision"], "withhold", "{preview}");
    // The same label again is no news; JSON says which ids kept theirs.
    let said = ok(&home, &["ingest", a, "--label", "SECRET//REL TO USA"]);
    assert!(!said.contains("kept the label"), "{said}");
    let json: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &["ingest", a, "--label", "TOP SECRET", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(
        json[0]["summary"]["kept_label"][0],
        "indicator--00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(json[0]["summary"]["labelled"], 0);
}

/// Regression: with no partner's log key registered, `log verify` checked nothing and said
/// nothing (after asking for a secret it did not need).
#[test]
fn log_verify_says_what_it_could_not_check() {
    let (_dir, home) = setup();
    let out = liaison(&home, &["log", "verify"]);
    assert!(
        !out.status.success(),
        "nothing was verified, yet it succeeded"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("nothing verified: no partner's log key is registered")
            && err.contains("not checked: GBR")
            && err.contains("liaison partner logkey"),
        "{err}"
    );
    let err = fails(&home, &["log", "verify", "--partner", "GBR"]);
    assert!(
        err.contains("GBR's log cannot be checked: no log key is registered for GBR"),
        "{err}"
    );
    let err = fails(&home, &["log", "verify", "--partner", "FRA"]);
    assert!(err.contains("`FRA` is not a partner"), "{err}");
    let fresh = home.with_file_name("fresh");
    ok(&fresh, &["init", "--party", "USA"]);
    let err = fails(&fresh, &["log", "verify"]);
    assert!(err.contains("this node has no partners"), "{err}");
}

/// The minimum length of a partner's secret is stated when it is not met.
#[test]
fn a_short_partner_secret_is_refused_with_the_minimum() {
    let (_dir, home) = setup();
    let out = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .args([
            "--home",
            home.to_str().unwrap(),
            "partner",
            "secret",
            "GBR",
            "--from-env",
            "SHORT",
        ])
        .env("SHORT", "eleven-char")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("at least 12 characters"), "{err}");
}

/// Regression: the forged-history step printed the node's raw `ERROR` log line, which read
/// like the demo failing; it narrates the refusal instead.
#[test]
fn the_demo_narrates_the_forged_history_and_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = liaison(&dir.path().join("demo"), &["demo"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("ERROR") && !stdout.contains("ERROR"),
        "{stderr}"
    );
    assert!(stdout.contains("GBR refused it, as it should"), "{stdout}");
    assert!(stdout.contains("Every check of the demo held."), "{stdout}");
}

/// STIX 2.0 as published (no `spec_version` on its objects, `is_family` unknown) goes in; the
/// operator is told it was upgraded, `explain` says what was added, and what goes out is valid
/// STIX 2.1 with every byte received kept.
#[test]
fn a_stix20_bundle_is_upgraded_on_ingest_and_explained() {
    let (dir, home) = setup();
    let file = dir.path().join("attack.json");
    let malware = r#"{"type":"malware","id":"malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b","created":"2017-05-31T21:32:40.301Z","modified":"2024-04-11T00:00:00.000Z","name":"LOWBALL","description":"malware that\u2019s used","labels":["malware"],"x_mitre_version":"1.1"}"#;
    std::fs::write(
        &file,
        format!(r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","spec_version":"2.0","objects":[{malware}]}}"#),
    )
    .unwrap();
    let said = ok(
        &home,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--label",
            "UNCLASSIFIED//REL TO USA, GBR//TLP:CLEAR",
        ],
    );
    assert!(
        said.contains("1 object read as STIX 2.0 and upgraded to 2.1"),
        "{said}"
    );
    let id = "malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b";
    let explained = ok(&home, &["explain", id, "--to", "GBR"]);
    assert!(
        explained.contains("upgraded from STIX 2.0 on the way in"),
        "{explained}"
    );
    assert!(
        explained.contains("  added `is_family: true` (STIX 2.1 requires it, and STIX 2.0 malware describes families)"),
        "{explained}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &["explain", id, "--to", "GBR", "--format", "json"],
    ))
    .unwrap();
    let added: Vec<&str> = json["upgraded_from_stix20"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["property"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["spec_version", "is_family", "malware_types"]);

    let out = dir.path().join("gbr.json");
    ok(
        &home,
        &[
            "release",
            "export",
            "--to",
            "GBR",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    // The bytes received, the label reference and the upgrade's additions at the end.
    let received = malware.trim_end_matches('}');
    assert!(text.contains(received), "{text}");
    assert!(text.contains(r#""is_family":true"#), "{text}");
    validate(&[out]);
}

#[test]
fn demo_runs_checks_itself_and_writes_valid_stix() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("demo");
    let out = ok(
        &home,
        &["demo", "--keep", home.to_str().unwrap(), "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["checks"], "passed");
    let rus = std::fs::read_to_string(home.join("rus.json")).unwrap();
    assert!(
        !rus.contains("report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77"),
        "the ISR-derived assessment reached RUS"
    );
    validate(&[home.join("rus.json"), home.join("gbr.json")]);

    // The node the demo leaves behind answers the ordinary commands.
    let why = ok(
        &home,
        &[
            "explain",
            "report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77",
            "--to",
            "RUS",
        ],
    );
    assert!(
        why.contains("WITHHOLD") && why.contains("third_party_rule"),
        "{why}"
    );
    let preview = ok(&home, &["release", "preview", "--to", "RUS"]);
    insta::assert_snapshot!("demo_preview_rus", preview);
    let partners = ok(&home, &["partner", "list"]);
    insta::assert_snapshot!("partner_list", partners);
}

/// A real `liaison serve` process, stopped when dropped.
struct Served {
    child: std::process::Child,
    url: String,
    fingerprint: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(home: &Path) -> Served {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(home)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--console",
            "127.0.0.1:0",
        ])
        .args(["--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    Served {
        child,
        url: v["url"].as_str().unwrap().to_owned(),
        fingerprint: v["fingerprint"].as_str().unwrap().to_owned(),
    }
}

fn pull(home: &Path, from: &str, secret: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(home)
        .args(["pull", from, "--format", "json"])
        .args(extra)
        .env("LIAISON_PULL_SECRET", secret)
        .output()
        .unwrap()
}

/// The demo's USA node (kept) with a secret for RUS, and a fresh RUS node whose agreement
/// with the USA is `AGREEMENT`: (usa home, rus home, RUS's secret at the USA).
fn usa_and_rus(dir: &Path) -> (PathBuf, PathBuf, &'static str) {
    let usa = dir.join("usa");
    ok(
        &usa,
        &["demo", "--keep", usa.to_str().unwrap(), "--format", "json"],
    );
    let secret = "rus-secret-for-this-test";
    secret_for(&usa, "RUS", secret);
    let rus = dir.join("rus");
    ok(&rus, &["init", "--party", "RUS"]);
    let agreement = dir.join("usa.toml");
    std::fs::write(&agreement, AGREEMENT).unwrap();
    ok(
        &rus,
        &[
            "partner",
            "add",
            "USA",
            "--agreement",
            agreement.to_str().unwrap(),
        ],
    );
    (usa, rus, secret)
}

/// The id RUS receives ISR's tear line under, from the USA's `release preview --to RUS`.
fn isr_tearline_as_received(preview: &serde_json::Value) -> String {
    preview
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["tearline"] == "report--9c3e1a75-2b8d-4f60-a4c7-5e1d0b3f9a55")
        .and_then(|e| e["delivered_as"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn two_processes_exchange_over_https_and_the_third_party_rule_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (usa, rus, secret) = usa_and_rus(dir.path());
    let served = serve(&usa);
    // RUS has not registered the USA's log key: every pull here says it goes on unchecked.

    // A wrong fingerprint is refused before any credential is sent.
    let wrong = "00".repeat(32);
    let out = pull(
        &rus,
        "USA",
        secret,
        &[
            "--url",
            &served.url,
            "--fingerprint",
            &wrong,
            "--without-log-check",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fingerprint"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong secret is a 401.
    let out = pull(
        &rus,
        "USA",
        "not-the-secret-at-all",
        &[
            "--url",
            &served.url,
            "--fingerprint",
            &served.fingerprint,
            "--without-log-check",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    let out = pull(
        &rus,
        "USA",
        secret,
        &[
            "--url",
            &served.url,
            "--fingerprint",
            &served.fingerprint,
            "--limit",
            "1",
            "--without-log-check",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["stored"].as_u64().unwrap() >= 4, "{summary}");
    assert_eq!(summary["pages"], summary["received"], "one object a page");

    // Nothing new: the next pull starts where this one stopped.
    let again: serde_json::Value =
        serde_json::from_slice(&pull(&rus, "USA", secret, &["--without-log-check"]).stdout)
            .unwrap();
    assert_eq!(again["received"], 0, "{again}");

    // What RUS's node now holds: the tear line, never the ISR-derived assessment or ISR's report.
    let rus_gbr = dir.path().join("gbr.toml");
    std::fs::write(&rus_gbr, AGREEMENT).unwrap();
    ok(
        &rus,
        &[
            "partner",
            "add",
            "GBR",
            "--agreement",
            rus_gbr.to_str().unwrap(),
        ],
    );
    let held: serde_json::Value = serde_json::from_str(&ok(
        &rus,
        &["release", "preview", "--to", "GBR", "--format", "json"],
    ))
    .unwrap();
    let ids: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["object"].as_str().unwrap())
        .collect();
    // RUS holds exactly what the USA delivers to RUS, under the ids RUS received: the tear
    // line among it, never the ISR-derived assessment or ISR's report under any id.
    let usa_says: serde_json::Value = serde_json::from_str(&ok(
        &usa,
        &["release", "preview", "--to", "RUS", "--format", "json"],
    ))
    .unwrap();
    let goes: Vec<&str> = usa_says
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["decision"] != "withhold")
        .map(|e| {
            e["delivered_as"]
                .as_str()
                .unwrap_or_else(|| e["object"].as_str().unwrap())
        })
        .collect();
    let tearline = isr_tearline_as_received(&usa_says);
    assert!(ids.contains(&tearline.as_str()), "{ids:?}");
    for id in &ids {
        // Liaison's own identity travels with the labels (it is no decision of its own).
        let travels = *id == liaison_labels::LIAISON_IDENTITY_ID;
        assert!(
            travels || goes.contains(id),
            "RUS holds `{id}`, which the USA does not deliver to it"
        );
    }
    assert!(!ids.contains(&"report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77"));
    assert!(!ids.contains(&"report--2f6d9b13-7e4a-4c58-b1d2-9a0e3c5f7b44"));
}

/// Regression: a pull from a partner whose log key was not registered silently skipped the
/// log check (no checkpoint, no cosignature, nothing provable later).
#[test]
fn a_pull_from_a_partner_whose_log_key_is_not_registered_is_refused_unless_the_operator_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (usa, rus, secret) = usa_and_rus(dir.path());
    let served = serve(&usa);
    let log_size = |home: &Path| {
        let v: serde_json::Value =
            serde_json::from_str(&ok(home, &["log", "show", "--format", "json"])).unwrap();
        v["size"].as_u64().unwrap()
    };
    let before = log_size(&rus);
    let address = ["--url", &served.url, "--fingerprint", &served.fingerprint];
    let out = pull(&rus, "USA", secret, &address);
    assert!(!out.status.success(), "pulled without the log check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no log key registered for USA")
            && err.contains("no inclusion proofs, no cosignature")
            && err.contains("`liaison partner logkey USA VKEY`")
            && err.contains("`--without-log-check`"),
        "{err}"
    );
    assert_eq!(log_size(&rus), before, "a refused pull took something");

    let mut args = address.to_vec();
    args.push("--without-log-check");
    let out = pull(&rus, "USA", secret, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the partner's log is not checked: no inclusion proofs, no cosignature"),
        "no warning: {err}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["stored"].as_u64().unwrap() >= 4, "{summary}");
    assert_eq!(summary["log"], serde_json::Value::Null, "{summary}");
    assert!(log_size(&rus) > before);

    // For people, the summary says it too.
    let out = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(&rus)
        .args(["pull", "USA", "--without-log-check"])
        .env("LIAISON_PULL_SECRET", secret)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("USA's log: NOT checked"), "{said}");
}

fn secret_for(home: &Path, party: &str, secret: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(home)
        .args(["partner", "secret", party, "--from-env", "S"])
        .env("S", secret)
        .output()
        .unwrap();
    assert!(out.status.success());
}

fn keys(home: &Path) -> (String, String) {
    let v: serde_json::Value =
        serde_json::from_str(&ok(home, &["log", "key", "--format", "json"])).unwrap();
    (
        v["verifier_key"].as_str().unwrap().to_owned(),
        v["cosigner_key"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn pulls_check_and_cosign_the_partners_log_and_a_forged_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (usa, rus, secret) = usa_and_rus(dir.path());
    let (usa_vkey, _) = keys(&usa);
    let (rus_vkey, rus_cosigner) = keys(&rus);
    ok(&rus, &["partner", "logkey", "USA", &usa_vkey]);
    ok(&usa, &["partner", "cosigner", "RUS", &rus_cosigner]);
    // A key of the wrong kind is refused.
    fails(&rus, &["partner", "logkey", "USA", &rus_cosigner]);

    let served = serve(&usa);
    // The USA does not know this RUS node's key yet (it holds the demo's RUS key): the pull
    // stands, RUS's countersignature of the USA's terms is refused, and the summary says so.
    let out = pull(
        &rus,
        "USA",
        secret,
        &["--url", &served.url, "--fingerprint", &served.fingerprint],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["agreement"]["countersigned"], false, "{first}");
    assert!(
        first["agreement"]["problem"]
            .as_str()
            .unwrap()
            .contains("not countersigned by RUS's registered key"),
        "{first}"
    );
    // Once the USA registers it, the next pull sends the countersignature again.
    ok(&usa, &["partner", "logkey", "RUS", &rus_vkey]);
    let out = pull(
        &rus,
        "USA",
        secret,
        &["--url", &served.url, "--fingerprint", &served.fingerprint],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let size = summary["log"]["size"].as_u64().unwrap();
    assert!(size > 0 && summary["log"]["cosigned"] == true, "{summary}");
    assert_eq!(summary["agreement"]["countersigned"], true, "{summary}");
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&usa, &["agreement", "show", "RUS", "--format", "json"])).unwrap();
    assert_eq!(
        shown["signed"]["ours"]["signed_by"],
        serde_json::json!(["USA", "RUS"])
    );

    // USA kept RUS's cosignature; RUS's log verify finds everything it received in USA's log.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&usa, &["log", "show", "--format", "json"])).unwrap();
    assert!(
        shown["cosignatures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["cosigner"] == "liaison.RUS" && c["size"] == size),
        "{shown}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(&rus)
        .args(["log", "verify", "--partner", "USA", "--format", "json"])
        .env("LIAISON_PULL_SECRET", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["ok"], true, "{report}");
    assert_eq!(report[0]["terms_in_log"], true, "{report}");
    // The checkpoint RUS accepted last (the USA's log grew by the countersigned terms).
    let accepted = report[0]["checkpoint_size"].as_u64().unwrap();
    assert!(accepted > size, "{report}");
    assert!(report[0]["included"].as_u64().unwrap() >= 4, "{report}");
    drop(served);

    // A second USA node with the same log key and another history.
    let forged = dir.path().join("forged");
    ok(&forged, &["init", "--party", "USA"]);
    std::fs::copy(usa.join("log.key"), forged.join("log.key")).unwrap();
    let rus_agreement = dir.path().join("rus.toml");
    std::fs::write(&rus_agreement, AGREEMENT).unwrap();
    ok(
        &forged,
        &[
            "partner",
            "add",
            "RUS",
            "--agreement",
            rus_agreement.to_str().unwrap(),
        ],
    );
    secret_for(&forged, "RUS", secret);
    let served = serve(&forged);
    let out = pull(
        &rus,
        "USA",
        secret,
        &["--url", &served.url, "--fingerprint", &served.fingerprint],
    );
    assert!(!out.status.success(), "a forged history must be refused");
    let err = String::from_utf8_lossy(&out.stderr);
    // The checkpoint it names is the last one RUS accepted, after the pull's (not always the
    // size the verify's proofs were given at: the served log grows as the server's upkeep
    // logs deliveries, between the verify's requests).
    assert!(err.contains("USA's log FORKED"), "{err}");
    let named: u64 = err
        .split("the checkpoint of size ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no accepted size in {err}"));
    assert!(
        size <= named && named <= accepted,
        "{named} outside {size}..={accepted}: {err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(&rus)
        .args(["log", "verify", "--partner", "USA", "--format", "json"])
        .env("LIAISON_PULL_SECRET", secret)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report[0]["forks"], 2, "evidence kept: {report}");
}

#[test]
fn consents_are_signed_by_the_originator_checked_on_add_and_sent_over_the_liaison_api() {
    let (dir, usa) = setup();
    let isr = dir.path().join("isr");
    ok(&isr, &["init", "--party", "ISR"]);
    let file = dir.path().join("isr.json");
    std::fs::write(&file, bundle(&[indicator(7, ""), indicator(8, "")])).unwrap();
    ok(
        &isr,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--label",
            "SECRET//REL TO USA, GBR, ISR",
        ],
    );
    let obj = "indicator--00000000-0000-4000-8000-000000000007";
    let note = dir.path().join("consent.note");
    ok(
        &isr,
        &[
            "consent",
            "sign",
            "--object",
            obj,
            "--to",
            "GBR",
            "-o",
            note.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&note).unwrap();
    assert!(text.starts_with(&format!(
        "liaison consent v1\nobject {obj}\nto GBR\nby ISR\n"
    )));
    // Printed when no file is given.
    assert!(
        ok(&isr, &["consent", "sign", "--object", obj, "--to", "GBR"])
            .contains("\u{2014} liaison.ISR ")
    );

    let isr_agreement = dir.path().join("isr.toml");
    std::fs::write(&isr_agreement, AGREEMENT).unwrap();
    let n = note.to_str().unwrap();
    // Not a partner yet, then no key registered.
    let err = fails(&usa, &["consent", "add", "--file", n]);
    assert!(err.contains("ISR, which is not a partner"), "{err}");
    ok(
        &usa,
        &[
            "partner",
            "add",
            "ISR",
            "--agreement",
            isr_agreement.to_str().unwrap(),
        ],
    );
    let err = fails(&usa, &["consent", "add", "--file", n]);
    assert!(err.contains("no log key registered for ISR"), "{err}");
    let (isr_vkey, _) = keys(&isr);
    ok(&usa, &["partner", "logkey", "ISR", &isr_vkey]);
    // Tampered.
    let tampered = dir.path().join("tampered.note");
    std::fs::write(&tampered, text.replacen("to GBR", "to RUS", 1)).unwrap();
    let err = fails(
        &usa,
        &["consent", "add", "--file", tampered.to_str().unwrap()],
    );
    assert!(err.contains("does not verify"), "{err}");
    // Typed by our operator for ISR: refused.
    let err = fails(
        &usa,
        &[
            "consent", "add", "--object", obj, "--to", "GBR", "--by", "ISR",
        ],
    );
    assert!(
        err.contains(
            "a consent by ISR must be signed by ISR's node (liaison consent sign on ISR's node)"
        ),
        "{err}"
    );
    let out = ok(&usa, &["consent", "add", "--file", n, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["by"].as_str(), v["signed"].as_bool()),
        (Some("ISR"), Some(true))
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&usa, &["consent", "list", "--format", "json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["signed"], true);

    // Over the liaison API: ISR sends its consents to the USA's server.
    let secret = "isr-secret-for-this-test";
    secret_for(&usa, "ISR", secret);
    let usa_agreement = dir.path().join("usa.toml");
    std::fs::write(&usa_agreement, AGREEMENT).unwrap();
    ok(
        &isr,
        &[
            "partner",
            "add",
            "USA",
            "--agreement",
            usa_agreement.to_str().unwrap(),
        ],
    );
    let served = serve(&usa);
    let out = pull(
        &isr,
        "USA",
        secret,
        &[
            "--url",
            &served.url,
            "--fingerprint",
            &served.fingerprint,
            "--without-log-check",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let send = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_liaison"))
            .arg("--home")
            .arg(&isr)
            .args(args)
            .env("LIAISON_PULL_SECRET", secret)
            .output()
            .unwrap()
    };
    let other = "indicator--00000000-0000-4000-8000-000000000008";
    let out = send(&[
        "consent", "sign", "--object", other, "--to", "GBR", "--send", "USA",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = send(&[
        "consent",
        "send",
        "USA",
        "--file",
        tampered.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
    drop(served);
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&usa, &["consent", "list", "--format", "json"])).unwrap();
    let objects: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["object"].as_str().unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{listed}");
    assert!(objects.contains(&other), "{listed}");
}

/// The log survives `kill -9` at any moment: a real `liaison log stress` process appends
/// batches and acknowledges each (size and root) after its durable append and signed
/// checkpoint; it is killed at a random moment, 15 times. After each kill the reopened node
/// still has every acknowledged entry, every acknowledged root is a prefix of the current
/// tree (consistency proof verifies), the checkpoint kept for each acknowledged size is the
/// acknowledged one (never a second root for a size), and the latest signed checkpoint is
/// consistent with all of them.
#[test]
fn the_log_survives_kill_9_in_a_loop() {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use liaison_log::{verify_consistency, Hash};
    use liaison_release::Node;
    use liaison_store::SqliteStore;

    let random = |below: u64| RandomState::new().build_hasher().finish() % below;
    let parse_hash = |s: &str| -> Hash {
        use base64::Engine as _;
        let v = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        Hash(v.try_into().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("usa");
    ok(&home, &["init", "--party", "USA"]);
    let started = std::time::Instant::now();
    let mut acked: Vec<(u64, Hash)> = Vec::new();
    for round in 0..15 {
        let batch = [1, 10, 100][round % 3].to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_liaison"))
            .arg("--home")
            .arg(&home)
            .args(["log", "stress", "--batch", &batch])
            .env_remove("LIAISON_HOME")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run liaison log stress");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    // A line cut by the kill was not acknowledged.
                    Ok(_) if line.ends_with('\n') => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                    Ok(_) => break,
                }
            }
        });
        // Wait for a first acknowledgement, then kill at a random moment (0 to 300 ms later).
        let first = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a first acknowledgement");
        std::thread::sleep(std::time::Duration::from_millis(random(300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        for line in std::iter::once(first).chain(rx.try_iter()) {
            let mut parts = line.split_whitespace();
            assert_eq!(parts.next(), Some("ack"), "{line}");
            let size: u64 = parts.next().unwrap().parse().unwrap();
            acked.push((size, parse_hash(parts.next().unwrap())));
        }

        let mut node: Node<SqliteStore> = Node::open(&home).unwrap();
        let size = node.log_size().unwrap();
        let last = acked.last().unwrap().0;
        assert!(
            size >= last,
            "round {round}: size {size} < acknowledged {last}"
        );
        let cp = node.checkpoint().unwrap();
        let (cur, cur_root) = (cp.checkpoint().size(), cp.checkpoint().root());
        assert_eq!(cur, size, "round {round}");
        for &(s, r) in &acked {
            let proof = node.consistency_proof(s, cur).unwrap();
            verify_consistency(s, r, cur, cur_root, &proof)
                .unwrap_or_else(|e| panic!("round {round}: acknowledged size {s}: {e}"));
            let kept = node
                .checkpoint_at(s)
                .unwrap()
                .expect("the acknowledged checkpoint");
            assert_eq!(
                kept.checkpoint().root(),
                r,
                "round {round}: size {s} re-signed"
            );
        }
        // Every checkpoint kept is consistent with the latest one.
        let latest = node.checkpoint().unwrap();
        assert_eq!(latest.checkpoint().root(), cur_root);
    }
    assert!(acked.len() >= 15);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// A node whose log key is gone refuses to start and says why; nothing makes a new key
/// behind the operator's back (a new key would look like a fork to every partner): not
/// `serve`, not a command that appends to the log, not `init` run again over a log with
/// entries. `log stress`, which writes fake leaves, refuses a node that has partners.
#[test]
fn a_node_without_its_log_key_refuses_to_start_and_makes_no_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("usa");
    ok(&home, &["init", "--party", "USA"]);
    let agreement = dir.path().join("rus.toml");
    std::fs::write(&agreement, AGREEMENT).unwrap();
    ok(
        &home,
        &[
            "partner",
            "add",
            "RUS",
            "--agreement",
            agreement.to_str().unwrap(),
        ],
    );
    let stress = fails(&home, &["log", "stress", "--batches", "1"]);
    assert!(stress.contains("scratch node"), "{stress}");
    assert!(stress.contains("1 partner"), "{stress}");

    let key = home.join(liaison_release::LOG_KEY_FILE);
    let before: serde_json::Value =
        serde_json::from_str(&ok(&home, &["log", "show", "--format", "json"])).unwrap();
    assert!(before["size"].as_u64().unwrap() > 0, "{before}");
    let kept = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["log", "show"][..],
        &[
            "consent",
            "add",
            "--object",
            "report--00000000-0000-4000-8000-000000000000",
            "--to",
            "RUS",
            "--by",
            "USA",
        ][..],
        &["init", "--party", "USA"][..],
    ] {
        let err = fails(&home, args);
        assert!(
            err.contains("log key") && err.contains("is missing") && err.contains("fork"),
            "liaison {args:?}: {err}"
        );
        assert!(!key.exists(), "liaison {args:?} made a new log key");
    }
    // Put back, the node carries on with the same history.
    std::fs::write(&key, kept).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&ok(&home, &["log", "show", "--format", "json"])).unwrap();
    assert_eq!(after["root"], before["root"]);
}

/// `serve --metrics ADDR` serves Prometheus metrics to operators on a listener of their own
/// (plain HTTP), not on the partners' port (see the server's tests for that port).
#[test]
fn serve_gives_metrics_on_the_operator_listener_only() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("usa");
    ok(&home, &["init", "--party", "USA"]);
    let child = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(&home)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--console",
            "127.0.0.1:0",
        ])
        .args(["--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut served = Served {
        child,
        url: String::new(),
        fingerprint: String::new(),
    };
    let mut line = String::new();
    std::io::BufReader::new(served.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let url = v["metrics"].as_str().unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    assert_ne!(addr, v["listening"].as_str().unwrap());
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    let _ = tcp.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains("liaison_taxii_auth_failures_total"),
        "{reply}"
    );
    served.url = url.to_owned();
}

/// The text between two marker lines of the README.
fn readme_block(start: &str, end: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let from = readme.find(start).expect("start marker in README.md") + start.len();
    let to = from + readme[from..].find(end).expect("end marker in README.md");
    readme[from..to]
        .lines()
        .filter(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The README's tour, every line as written, from the repository root (where `examples/`
/// is), with the debug `liaison` first on the PATH and `/tmp/` mapped to a temporary
/// directory. A line whose comment starts with "refused" must fail; every other line must
/// succeed. Then the README's complete marking-definition example is ingested as it is.
#[test]
fn the_readme_tour_runs_as_written() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let tmp = format!("{}/", dir.path().display());
    let lines: Vec<(String, bool)> = readme_block("<!-- tour:start -->", "<!-- tour:end -->")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let comment = l.find(" # ").map_or("", |i| l[i + 3..].trim());
            (l.replace("/tmp/", &tmp), comment.starts_with("refused"))
        })
        .collect();
    assert!(lines.len() > 10, "the tour is between the markers");
    let mut script = String::from("set -u\n");
    for (i, (line, _)) in lines.iter().enumerate() {
        // The line's own comment ends at the newline before the closing brace.
        script.push_str(&format!(
            "{{ {line}\n}} >{tmp}tour-out.{i} 2>&1; echo $? >{tmp}tour-rc.{i}\n"
        ));
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_liaison")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&repo)
        .env("PATH", path)
        .env("COLUMNS", "120")
        .env_remove("LIAISON_HOME")
        .output()
        .expect("run bash");
    assert!(run.status.success(), "{run:?}");
    let out = |i: usize| std::fs::read_to_string(format!("{tmp}tour-out.{i}")).unwrap();
    let mut explained = Vec::new();
    for (i, (line, refused)) in lines.iter().enumerate() {
        let rc: i32 = std::fs::read_to_string(format!("{tmp}tour-rc.{i}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            rc != 0,
            *refused,
            "tour line `{line}` exited {rc}, but the README says it {}:\n{}",
            if *refused { "is refused" } else { "works" },
            out(i)
        );
        if line.starts_with("liaison explain") {
            explained.push(out(i));
        }
    }
    // What the comments claim: withheld under the third-party rule, released once ISR's
    // consent is on record.
    assert!(
        explained[0].contains("WITHHOLD") && explained[0].contains("third_party_rule"),
        "{}",
        explained[0]
    );
    assert!(explained[1].contains("RELEASE"), "{}", explained[1]);
    let export = dir.path().join("rus.json");
    let bundle = std::fs::read_to_string(&export).unwrap();
    let preview = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .args([
            "--home",
            &format!("{tmp}usa"),
            "release",
            "preview",
            "--to",
            "RUS",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let preview: serde_json::Value = serde_json::from_slice(&preview.stdout).unwrap();
    let tearline = isr_tearline_as_received(&preview);
    assert!(bundle.contains(&tearline), "ISR's tear line goes to RUS");
    assert!(
        !bundle.contains("report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77"),
        "the assessment does not"
    );
    validate(&[export]);

    let marking = dir.path().join("marking.json");
    std::fs::write(
        &marking,
        readme_block("<!-- marking:start -->", "<!-- marking:end -->"),
    )
    .unwrap();
    let said = ok(
        &dir.path().join("usa"),
        &["ingest", marking.to_str().unwrap()],
    );
    assert!(said.contains("1 object, 1 new"), "{said}");
}

/// The trust boundary on the CLI: a newer version of our object sent as GBR's
/// (`ingest --from GBR`) is refused with a line naming file, index and id; the rest of the
/// file is stored, the exit status says not everything was, `liaison refused` lists it with
/// its sender, and `explain` shows who owns what.
#[test]
fn ingest_names_each_object_the_trust_boundary_refuses_and_stores_the_rest() {
    let (dir, home) = setup();
    let ours = dir.path().join("ours.json");
    std::fs::write(&ours, bundle(&[indicator(1, "")])).unwrap();
    ok(&home, &["ingest", ours.to_str().unwrap()]);
    let newer = indicator(1, "").replace(
        r#""modified":"2026-01-01T00:00:00.000Z""#,
        r#""modified":"2026-02-01T00:00:00.000Z""#,
    );
    let theirs = dir.path().join("theirs.json");
    std::fs::write(&theirs, bundle(&[indicator(2, ""), newer])).unwrap();
    let err = fails(
        &home,
        &["ingest", "--from", "GBR", theirs.to_str().unwrap()],
    );
    let line = format!(
        "{}: object 1 (`indicator--00000000-0000-4000-8000-000000000001`): refused: owned by this node",
        theirs.display()
    );
    assert!(err.contains(&line), "{err}");
    assert!(err.contains("1 object was refused"), "{err}");
    let listed: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &["refused", "--from", "GBR", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        listed[0]["id"],
        "indicator--00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(listed[0]["from"], "GBR");
    // GBR's own object is not explained for GBR (it is never sent back), and says why.
    let err = fails(
        &home,
        &[
            "explain",
            "indicator--00000000-0000-4000-8000-000000000002",
            "--to",
            "GBR",
        ],
    );
    assert!(err.contains("came from GBR"), "{err}");
    // It is explained for another partner.
    let rus = dir.path().join("rus.toml");
    std::fs::write(&rus, AGREEMENT).unwrap();
    ok(
        &home,
        &[
            "partner",
            "add",
            "RUS",
            "--agreement",
            rus.to_str().unwrap(),
        ],
    );
    let x: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &[
            "explain",
            "indicator--00000000-0000-4000-8000-000000000002",
            "--to",
            "RUS",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(x["owner"], "GBR", "{x}");
    let x: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &[
            "explain",
            "indicator--00000000-0000-4000-8000-000000000001",
            "--to",
            "GBR",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(x["owner"], "USA", "{x}");
}

/// `operator add` takes the password from stdin or an environment variable (never the
/// command line) and records the change in the audit list; `serve` gives the console a
/// listener of its own (plain HTTP on loopback, with its security headers), and refuses one
/// off loopback without TLS.
#[test]
fn operators_and_the_console_listener() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("usa");
    ok(&home, &["init", "--party", "USA"]);
    let add = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_liaison"))
            .arg("--home")
            .arg(&home)
            .args(["operator", "add"])
            .args(args)
            .env("OTTO_PASSWORD", "officer-password-1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(add(&["ana", "--role", "analyst"], "analyst-password-1\n")
        .status
        .success());
    let short = add(&["bob", "--role", "analyst"], "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("12"));
    assert!(!add(&["bob", "--role", "boss"], "analyst-password-1\n")
        .status
        .success());
    assert!(add(
        &["otto", "--role", "officer", "--from-env", "OTTO_PASSWORD"],
        ""
    )
    .status
    .success());
    let list: serde_json::Value =
        serde_json::from_str(&ok(&home, &["operator", "list", "--format", "json"])).unwrap();
    assert_eq!(
        list,
        serde_json::json!([{"operator": "ana", "role": "analyst"}, {"operator": "otto", "role": "officer"}])
    );

    let err = fails(
        &home,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--console",
            "0.0.0.0:0",
        ],
    );
    assert!(err.contains("TLS"), "{err}");

    let child = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(&home)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--console",
            "127.0.0.1:0",
        ])
        .args(["--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut served = Served {
        child,
        url: String::new(),
        fingerprint: String::new(),
    };
    let mut line = String::new();
    std::io::BufReader::new(served.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let console = v["console"].as_str().unwrap();
    let addr = console.trim_start_matches("http://").trim_end_matches('/');
    assert_ne!(addr, v["listening"].as_str().unwrap());
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    let _ = tcp.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let lower = reply.to_lowercase();
    assert!(
        lower.contains("content-security-policy: default-src 'self'"),
        "{reply}"
    );
    assert!(lower.contains("set-cookie: liaison_login="), "{reply}");
    served.url = console.to_owned();
}

// ---- PostgreSQL: a node on it, `liaison migrate` there and back ----
//
// Run when `LIAISON_TEST_PG_URL` names a maintenance URL of a throwaway cluster
// (scripts/pg-test-cluster.sh; scripts/test.sh sets it): each test makes a database of its
// own and drops it afterwards. With `LIAISON_REQUIRE_PG=1` a missing URL fails them.

fn pg_url() -> Option<String> {
    match std::env::var("LIAISON_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("LIAISON_REQUIRE_PG").as_deref() != Ok("1"),
                "LIAISON_REQUIRE_PG=1 but LIAISON_TEST_PG_URL is not set"
            );
            eprintln!("LIAISON_TEST_PG_URL is not set: the CLI on PostgreSQL is not tested");
            None
        }
    }
}

/// A database of its own for one test, dropped afterwards.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create(admin: &str) -> PgDb {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "liaison_cli_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        // The maintenance URL ends in its database (`.../postgres`): swap it.
        let base = admin.split('?').next().unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        PgDb {
            admin: admin.to_owned(),
            name,
            url,
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_node_on_postgres_ingests_previews_exports_and_logs() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    // The cluster trusts loopback, so the password is not checked; what is checked is that
    // it is read from the file and never written into the home.
    let password_file = dir.path().join("db-password");
    std::fs::write(&password_file, "correct-horse-battery\n").unwrap();
    let said = ok(
        &home,
        &[
            "init",
            "--party",
            "USA",
            "--database",
            &db.url,
            "--database-password-file",
            password_file.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(json_of(&said)["database"], format!("postgres {}", db.url));
    let config = std::fs::read_to_string(home.join("store.toml")).unwrap();
    assert!(config.contains("backend = \"postgres\""), "{config}");
    assert!(config.contains(password_file.to_str().unwrap()), "{config}");
    assert!(!config.contains("correct-horse"), "{config}");
    assert!(
        !home.join("node.db").exists(),
        "an SQLite store was made too"
    );

    let agreement = dir.path().join("gbr.toml");
    std::fs::write(&agreement, AGREEMENT).unwrap();
    ok(
        &home,
        &[
            "partner",
            "add",
            "GBR",
            "--agreement",
            agreement.to_str().unwrap(),
        ],
    );
    let file = dir.path().join("b.json");
    std::fs::write(&file, bundle(&[indicator(1, ""), indicator(2, "")])).unwrap();
    ok(
        &home,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--label",
            "SECRET//REL TO USA, GBR",
        ],
    );
    // The rows are in PostgreSQL, where another process sees them.
    let held: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM objects WHERE id LIKE 'indicator--%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(held, 2);

    let preview = json_of(&ok(
        &home,
        &["release", "preview", "--to", "GBR", "--format", "json"],
    ));
    let released = preview
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["decision"] == "release")
        .count();
    assert_eq!(released, 2, "{preview}");
    let partners = ok(&home, &["partner", "list", "--format", "json"]);
    assert!(partners.contains("GBR"), "{partners}");

    let out = dir.path().join("gbr-bundle.json");
    ok(
        &home,
        &[
            "release",
            "export",
            "--to",
            "GBR",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    validate(std::slice::from_ref(&out));
    let log = json_of(&ok(&home, &["log", "show", "--format", "json"]));
    assert!(
        log["size"].as_u64().unwrap() >= 2,
        "deliveries were logged: {log}"
    );
    let logged: i64 = db
        .client()
        .query_one("SELECT count(*) FROM log_entries", &[])
        .unwrap()
        .get(0);
    assert_eq!(logged as u64, log["size"].as_u64().unwrap());
}

#[test]
fn migrate_to_postgres_and_back_checks_the_copy_and_the_node_serves_in_between() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    let dir = tempfile::tempdir().unwrap();
    let (usa, rus, secret) = usa_and_rus(dir.path());
    let before = json_of(&ok(&usa, &["log", "show", "--format", "json"]));

    let report = json_of(&ok(&usa, &["migrate", "--to", &db.url, "--format", "json"]));
    assert_eq!(report["switched"], true, "{report}");
    let checks = report["checks"].as_array().unwrap();
    for name in [
        "log size",
        "log root",
        "objects",
        "releases to RUS (view)",
        "ledger with RUS",
        "table log_entries",
        "table audit",
    ] {
        let c = checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no check `{name}`: {report}"));
        assert_eq!(c["ok"], true, "{c}");
        assert_eq!(c["source"], c["target"], "{c}");
    }
    assert_eq!(
        checks.iter().find(|c| c["check"] == "log root").unwrap()["source"],
        before["root"]
    );
    assert!(
        !usa.join("node.db").exists(),
        "the old file was left where the node would read it"
    );
    assert!(report["old_store_kept_at"]
        .as_str()
        .unwrap()
        .contains("node.db.migrated-"));

    // On PostgreSQL now: the same log, and the node serves a partner's pull from it.
    let after = json_of(&ok(&usa, &["log", "show", "--format", "json"]));
    assert_eq!(
        (&after["size"], &after["root"]),
        (&before["size"], &before["root"])
    );
    let objects: i64 = db
        .client()
        .query_one("SELECT count(*) FROM objects", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        objects as u64,
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "objects")
            .unwrap()["source"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    );
    {
        let served = serve(&usa);
        let out = pull(
            &rus,
            "USA",
            secret,
            &[
                "--url",
                &served.url,
                "--fingerprint",
                &served.fingerprint,
                "--without-log-check",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(summary["stored"].as_u64().unwrap() >= 4, "{summary}");
    }
    // A write on PostgreSQL: a new agreement with GBR is signed and logged there.
    let terms = dir.path().join("gbr-new.toml");
    std::fs::write(&terms, AGREEMENT).unwrap();
    ok(&usa, &["agreement", "set", "GBR", terms.to_str().unwrap()]);
    let grown = json_of(&ok(&usa, &["log", "show", "--format", "json"]));
    assert!(
        grown["size"].as_u64() > before["size"].as_u64(),
        "the agreement was logged in PostgreSQL: {grown}"
    );

    // Back to SQLite, with the pull's entries; the database left behind is not empty, so a
    // second migration into it is refused and the node stays where it is.
    let back = json_of(&ok(
        &usa,
        &["migrate", "--to", "sqlite", "--format", "json"],
    ));
    assert_eq!(back["switched"], true, "{back}");
    assert!(usa.join("node.db").exists());
    let home_again = json_of(&ok(&usa, &["log", "show", "--format", "json"]));
    assert_eq!(
        (&home_again["size"], &home_again["root"]),
        (&grown["size"], &grown["root"])
    );
    let err = fails(&usa, &["migrate", "--to", &db.url]);
    assert!(err.contains("not empty"), "{err}");
    let config = std::fs::read_to_string(usa.join("store.toml")).unwrap();
    assert!(config.contains("backend = \"sqlite\""), "{config}");
}

#[test]
fn a_password_in_the_database_url_is_refused_and_never_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let url = "postgres://liaison:hunter2-secret@127.0.0.1:1/liaison";
    let err = fails(&home, &["init", "--party", "USA", "--database", url]);
    assert!(err.contains("holds a password"), "{err}");
    assert!(err.contains("LIAISON_DATABASE_PASSWORD"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!home.join("store.toml").exists());
    // From the environment, and in key=value form: the same.
    let out = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .arg("--home")
        .arg(&home)
        .args(["init", "--party", "USA"])
        .env(
            "LIAISON_DATABASE_URL",
            "postgresql://127.0.0.1:1/x?password=hunter2-secret",
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("holds a password") && !err.contains("hunter2"),
        "{err}"
    );
    // migrate says the same before touching anything.
    let (_dir, node) = setup();
    let err = fails(&node, &["migrate", "--to", url]);
    assert!(
        err.contains("holds a password") && !err.contains("hunter2"),
        "{err}"
    );
    assert!(node.join("node.db").exists() && !node.join("store.toml").exists());
}

#[test]
fn a_node_refuses_a_store_with_a_newer_schema_on_both_backends() {
    let (_dir, home) = setup();
    rusqlite::Connection::open(home.join("node.db"))
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = fails(&home, &["log", "show"]);
    assert!(err.contains("schema version 99"), "{err}");
    assert!(err.contains("newer liaison"), "{err}");

    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    ok(&home, &["init", "--party", "USA", "--database", &db.url]);
    db.client()
        .batch_execute("UPDATE schema_version SET version = 99")
        .unwrap();
    let err = fails(&home, &["partner", "list"]);
    assert!(err.contains("schema version 99"), "{err}");
    assert!(err.contains("newer liaison"), "{err}");
    let v: i64 = db
        .client()
        .query_one("SELECT max(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 99, "the refused database was changed");
}

/// Read-only commands used to fail with `database is locked` while an ingest wrote: opening
/// the store set its schema version (a write) every time, and so waited for the write lock
/// (5 s, then failed). Here a connection holds the write lock, as an ingest's transaction
/// does, for longer than the store's busy timeout.
#[test]
fn regression_read_commands_do_not_wait_for_the_write_lock() {
    let (dir, home) = setup();
    let file = dir.path().join("one.json");
    std::fs::write(&file, bundle(&[indicator(1, "")])).unwrap();
    ok(
        &home,
        &[
            "ingest",
            "--label",
            "SECRET//REL TO USA, GBR",
            file.to_str().unwrap(),
        ],
    );
    // The log's first checkpoint is signed and stored by the first `log show`.
    ok(&home, &["log", "show"]);

    let writer = rusqlite::Connection::open(home.join("node.db")).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    writer
        .execute(
            "INSERT INTO meta (key, value) VALUES ('held', 'by the test')",
            [],
        )
        .unwrap();
    for args in [
        &["log", "show"][..],
        &["partner", "list"],
        &["release", "preview", "--to", "GBR", "--format", "json"],
    ] {
        let started = std::time::Instant::now();
        let out = ok(&home, args);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(3),
            "liaison {args:?} waited {took:?} for the write lock"
        );
        if args[0] == "release" {
            let entries: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
        }
    }
    writer.execute_batch("ROLLBACK").unwrap();
}

/// A file is checked whole before anything is written, then written in batches (`--batch`),
/// each whole or not at all: a malformed object anywhere refuses the file with nothing
/// written; a conflict with a held version (found only when writing) refuses its batch, the
/// batches before it stay, the message says so, and the same ingest run again once the file
/// is corrected skips them as already held.
#[test]
fn ingest_checks_the_whole_file_then_writes_batch_by_batch() {
    let (dir, home) = setup();
    let count = |home: &Path| -> usize {
        let preview = ok(
            home,
            &["release", "preview", "--to", "GBR", "--format", "json"],
        );
        serde_json::from_str::<serde_json::Value>(&preview)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let label = "SECRET//REL TO USA, GBR";
    let held = dir.path().join("held.json");
    std::fs::write(&held, bundle(&[indicator(4, "")])).unwrap();
    ok(&home, &["ingest", "--label", label, held.to_str().unwrap()]);
    assert_eq!(count(&home), 1);

    // Malformed at the end, batches of one: nothing written.
    let mut objects: Vec<String> = (1..=3).map(|n| indicator(n, "")).collect();
    objects.push(indicator(9, "").replace(r#""pattern_type":"stix","#, ""));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, bundle(&objects)).unwrap();
    let err = fails(
        &home,
        &[
            "ingest",
            "--batch",
            "1",
            "--label",
            label,
            bad.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("bad.json")
            && err.contains("object 3")
            && err.contains("field `pattern_type`"),
        "{err}"
    );
    assert_eq!(count(&home), 1, "a malformed file was partly written");

    // A conflict with the held version in the second batch of two.
    let other = indicator(4, "").replace("198.51.100.4", "203.0.113.4");
    let objects = [
        indicator(1, ""),
        indicator(2, ""),
        indicator(3, ""),
        other,
        indicator(5, ""),
    ];
    let file = dir.path().join("five.json");
    std::fs::write(&file, bundle(&objects)).unwrap();
    let err = fails(
        &home,
        &[
            "ingest",
            "--batch",
            "2",
            "--label",
            label,
            file.to_str().unwrap(),
        ],
    );
    assert!(err.contains("five.json"), "{err}");
    assert!(
        err.contains("object 3 (`indicator--00000000-0000-4000-8000-000000000004`)"),
        "{err}"
    );
    assert!(err.contains("nothing from this batch was written"), "{err}");
    assert!(err.contains("the 2 objects before it are stored"), "{err}");
    assert_eq!(
        count(&home),
        3,
        "the first batch (two objects) stays, not the second"
    );

    let fixed = [
        indicator(1, ""),
        indicator(2, ""),
        indicator(3, ""),
        indicator(4, ""),
        indicator(5, ""),
    ];
    std::fs::write(&file, bundle(&fixed)).unwrap();
    let out = ok(
        &home,
        &[
            "ingest",
            "--batch",
            "2",
            "--label",
            label,
            file.to_str().unwrap(),
        ],
    );
    assert!(out.contains("5 objects, 2 new, 3 already held"), "{out}");
    assert_eq!(count(&home), 5);
}

/// `liaison hold add|lift|list`: a hold withholds from that partner only, with its own code
/// and the officer's words in `release preview` and `explain`; lifting it gives the policy's
/// decision back; refusals name the field; both are in the audit list.
#[test]
fn an_officer_holds_an_object_and_lifts_the_hold() {
    let (dir, home) = setup();
    let a = dir.path().join("a.json");
    std::fs::write(&a, bundle(&[indicator(1, ""), indicator(2, "")])).unwrap();
    ok(
        &home,
        &[
            "ingest",
            a.to_str().unwrap(),
            "--label",
            "CONFIDENTIAL//REL TO FVEY",
        ],
    );
    let held = "indicator--00000000-0000-4000-8000-000000000001";
    let preview = |home: &Path| -> serde_json::Value {
        serde_json::from_str(&ok(
            home,
            &["release", "preview", "--to", "GBR", "--format", "json"],
        ))
        .unwrap()
    };
    let decision_of = |p: &serde_json::Value, id: &str| -> serde_json::Value {
        p.as_array()
            .unwrap()
            .iter()
            .find(|e| e["object"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(decision_of(&preview(&home), held)["decision"], "release");
    let out = ok(
        &home,
        &[
            "hold",
            "add",
            "--object",
            held,
            "--to",
            "GBR",
            "--reason",
            "source check pending",
            "--by",
            "otto",
            "--format",
            "json",
        ],
    );
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&h["object"], &h["to"], &h["by"], &h["reason"]),
        (
            &serde_json::json!(held),
            &serde_json::json!("GBR"),
            &serde_json::json!("otto"),
            &serde_json::json!("source check pending")
        )
    );
    let e = decision_of(&preview(&home), held);
    assert_eq!(e["decision"], "withhold");
    assert_eq!(e["reasons"][0]["code"], "held_by_officer");
    let detail = e["reasons"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("otto") && detail.contains("source check pending"),
        "{detail}"
    );
    assert_eq!(
        decision_of(
            &preview(&home),
            "indicator--00000000-0000-4000-8000-000000000002"
        )["decision"],
        "release"
    );
    let explained = ok(&home, &["explain", held, "--to", "GBR"]);
    assert!(explained.contains("held_by_officer"), "{explained}");
    let listed: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &["hold", "list", "--to", "GBR", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["object"], held);
    // Refusals name the field.
    let err = fails(
        &home,
        &[
            "hold", "add", "--object", held, "--to", "GBR", "--reason", " ",
        ],
    );
    assert!(err.contains("field `reason`"), "{err}");
    let err = fails(
        &home,
        &[
            "hold", "add", "--object", "nonsense", "--to", "GBR", "--reason", "r",
        ],
    );
    assert!(err.contains("field `object`"), "{err}");
    let err = fails(
        &home,
        &[
            "hold", "add", "--object", held, "--to", "GBR", "--reason", "r",
        ],
    );
    assert!(err.contains("already held"), "{err}");
    let err = fails(
        &home,
        &[
            "hold", "add", "--object", held, "--to", "ISR", "--reason", "r",
        ],
    );
    assert!(err.contains("ISR"), "{err}");
    let out = ok(
        &home,
        &[
            "hold", "lift", "--object", held, "--to", "GBR", "--format", "json",
        ],
    );
    let lifted: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(lifted["lifted"]["object"], held);
    assert_eq!(decision_of(&preview(&home), held)["decision"], "release");
    let err = fails(&home, &["hold", "lift", "--object", held, "--to", "GBR"]);
    assert!(err.contains("no hold"), "{err}");
    assert!(ok(&home, &["hold", "list"]).contains("nothing is held"));
}
