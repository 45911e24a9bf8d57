//! The console in a real browser: headless Chromium driven through WebDriver (Debian's
//! `chromium` and `chromium-driver`; `scripts/test.sh` installs them when missing). Logs in,
//! reads the inbox, views as RUS (compared id by id with RUS's TAXII view), records an
//! officer's consent and finds it in the audit list, holds an item from RUS on the release
//! queue and releases it again (RUS's view loses it, then has it back, as the policy says),
//! traces RUS's leaked copy, and keeps a
//! screenshot of each page under the test's temporary directory (copied to
//! `$LIAISON_SCREENSHOTS` when that is set). Skips, saying why, when no browser is
//! installed, unless `LIAISON_REQUIRE_BROWSER=1`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::{console, party, released_to_rus, ANALYST, ASSESSMENT, ISR_REPORT, OFFICER, WITHHELD};

/// The W3C WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session (W3C protocol over HTTP/1.1, one connection per command).
struct Browser {
    addr: SocketAddr,
    session: String,
    shots: PathBuf,
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<Value> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes())?;
    // Read the head, then exactly Content-Length bytes (chromedriver may keep the
    // connection open after answering).
    let mut reply = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&reply[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(length) = length {
                if reply.len() >= end + 4 + length {
                    let body = &reply[end + 4..end + 4 + length];
                    return serde_json::from_slice(body).map_err(std::io::Error::other);
                }
            }
        }
        let n = tcp.read(&mut chunk)?;
        if n == 0 {
            let text = String::from_utf8_lossy(&reply);
            let (_, body) = text.split_once("\r\n\r\n").unwrap_or(("", ""));
            return serde_json::from_str(body.trim()).map_err(std::io::Error::other);
        }
        reply.extend_from_slice(&chunk[..n]);
    }
}

impl Driver {
    fn start(program: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        // Ready when /status says so: bounded polling of a process we started.
        loop {
            let status = http(addr, "GET", "/status", None);
            if status.as_ref().is_ok_and(|v| v["value"]["ready"] == true) {
                break;
            }
            assert!(
                Instant::now() < until,
                "chromedriver did not start: {status:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, addr }
    }

    fn browser(&self, chromium: &Path, shots: PathBuf) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--no-default-browser-check"]
            }
        }}});
        let v = http(self.addr, "POST", "/session", Some(&caps)).unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            addr: self.addr,
            session,
            shots,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

impl Browser {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = http(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
        .unwrap();
        assert!(
            v["value"].get("error").is_none(),
            "{method} {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_owned()
    }

    fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    fn texts(&self, css: &str) -> Vec<String> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let id = e[ELEMENT].as_str().unwrap();
                self.cmd("GET", &format!("/element/{id}/text"), None)
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// Waits (bounded) until an element matches `css`: after a click that navigates, the
    /// next page may still be on its way.
    fn wait_for(&self, css: &str) {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            let found = http(
                self.addr,
                "POST",
                &format!("/session/{}/elements", self.session),
                Some(&json!({"using": "css selector", "value": css})),
            );
            if found
                .as_ref()
                .is_ok_and(|v| v["value"].as_array().is_some_and(|a| !a.is_empty()))
            {
                return;
            }
            assert!(Instant::now() < until, "`{css}` never appeared: {found:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (bounded) until the page's source holds every one of `parts`, and returns it:
    /// right after a navigation the driver has more than once answered with the page before.
    fn wait_for_source(&self, parts: &[&str]) -> String {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            let source = self.source();
            if parts.iter().all(|p| source.contains(p)) {
                return source;
            }
            assert!(
                Instant::now() < until,
                "never found {parts:?} at {}: {source}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (bounded) until the address holds `part`.
    fn wait_for_url(&self, part: &str) {
        let until = Instant::now() + Duration::from_secs(120);
        while !self.url().contains(part) {
            assert!(
                Instant::now() < until,
                "never reached `{part}`: {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn screenshot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    fn login(&self, base: &str, (name, password): (&str, &str)) {
        self.cmd("DELETE", "/cookie", None);
        self.go(&format!("{base}login"));
        self.type_in("input[name=name]", name);
        self.type_in("input[name=password]", password);
        self.click("form[action='/login'] button[type=submit]");
        self.wait_for("nav");
        assert!(self.url().ends_with("/inbox"), "logged in: {}", self.url());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser() {
    let required = std::env::var("LIAISON_REQUIRE_BROWSER").as_deref() == Ok("1");
    let (Some(driver), Some(chromium)) = (
        find_program(&["chromedriver", "chromium-driver"]),
        find_program(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        assert!(
            !required,
            "LIAISON_REQUIRE_BROWSER=1 but chromium or chromedriver is missing"
        );
        eprintln!("SKIPPED: chromium and chromedriver are not installed (scripts/test.sh installs Debian's chromium and chromium-driver)");
        return;
    };
    let c = console();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = c.app.clone();
    let server = tokio::spawn(async move {
        let config = liaison_server::Config::default();
        liaison_server::serve_router(listener, None, app, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    let item = released_to_rus(&c);
    let (view_ids, leak, withheld, item_as_rus) = {
        let mut node = c.node.lock().unwrap();
        let view = node.view(&party("RUS")).unwrap();
        let mut ids: Vec<String> = view.entries.iter().map(|e| e.id.clone()).collect();
        ids.sort();
        let objects: Vec<Value> = view
            .entries
            .iter()
            .map(|e| serde_json::from_str(&e.json).unwrap())
            .collect();
        let leak = json!({"type": "bundle", "id": "bundle--5a0c7a44-0b3a-4bb4-9d1f-43b3c1f1c0de",
                          "objects": objects})
        .to_string();
        let mut withheld: Vec<String> = WITHHELD.iter().map(|s| s.to_string()).collect();
        for id in WITHHELD {
            withheld.push(node.delivered_id(&party("RUS"), id).unwrap());
        }
        let item_as_rus = node.delivered_id(&party("RUS"), &item).unwrap();
        assert!(
            ids.contains(&item_as_rus),
            "the item held below goes to RUS now"
        );
        (ids, leak, withheld, item_as_rus)
    };
    let dir = tempfile::tempdir().unwrap();
    let shots = dir.path().join("screenshots");
    let base2 = base.clone();
    let shots2 = shots.clone();
    tokio::task::spawn_blocking(move || {
        let driver = Driver::start(&driver);
        let b = driver.browser(&chromium, shots2);
        let base = base2;

        b.go(&format!("{base}inbox"));
        assert!(b.url().ends_with("/login"), "sent to the login form");
        b.screenshot("login");
        b.login(&base, ANALYST);
        let inbox = b.source();
        assert!(inbox.contains(ISR_REPORT), "the inbox lists ISR's report");
        b.screenshot("inbox");

        b.go(&format!("{base}view/RUS"));
        let mut shown = b.texts("td.id");
        shown.sort();
        assert_eq!(shown, view_ids, "the page holds exactly RUS's TAXII view");
        let page = b.source();
        for id in &withheld {
            assert!(!page.contains(id.as_str()), "withheld `{id}` shown as RUS");
        }
        b.screenshot("view-as-rus");

        b.go(&format!("{base}queue/RUS"));
        b.wait_for_source(&["third_party_rule"]);
        b.screenshot("release-queue-rus");
        b.go(&format!("{base}object/{ASSESSMENT}?for=RUS"));
        // Waited for, not read at once: under load the graph was once not yet in the source
        // the driver returned right after navigating.
        b.wait_for("main svg");
        b.screenshot("object");
        b.go(&format!("{base}ledger"));
        b.screenshot("ledger");
        b.go(&format!("{base}log"));
        b.screenshot("log");

        // An analyst is not offered the consent form; an officer records one.
        b.go(&format!("{base}object/{ASSESSMENT}"));
        assert!(!b.source().contains("Record our consent"));
        b.login(&base, OFFICER);
        b.go(&format!("{base}object/{ASSESSMENT}"));
        b.click("form[action$='/consent'] option[value=RUS]");
        b.click("form[action$='/consent'] button[type=submit]");
        b.wait_for_url("?for=RUS");
        assert!(
            b.url().contains(ASSESSMENT),
            "back on the object: {}",
            b.url()
        );
        b.go(&format!("{base}audit"));
        let audit = b.source();
        assert!(
            audit.contains("consent") && audit.contains(ASSESSMENT),
            "audited"
        );
        b.screenshot("audit");

        // Holding an item from RUS on its release queue, then releasing it again: RUS's view
        // loses it and has it back, exactly as the policy decides with and without the hold.
        b.go(&format!("{base}queue/RUS"));
        let hold_form = format!("form[action='/object/{item}/hold']");
        let lift_form = format!("form[action='/object/{item}/lift']");
        b.type_in(
            &format!("{hold_form} input[name=reason]"),
            "source re-check before release",
        );
        b.click(&format!("{hold_form} button[type=submit]"));
        b.wait_for(&lift_form);
        assert!(
            b.url().ends_with("/queue/RUS"),
            "back on the queue: {}",
            b.url()
        );
        // The reason code, the officer's reason and name.
        b.wait_for_source(&[
            "held_by_officer",
            "source re-check before release",
            OFFICER.0,
        ]);
        b.screenshot("release-queue-held");
        b.go(&format!("{base}view/RUS"));
        b.wait_for_source(&["objects in the view"]);
        let shown = b.texts("td.id");
        assert!(!shown.contains(&item_as_rus), "held: not in RUS's view");
        assert_eq!(
            shown.len() + 1,
            view_ids.len(),
            "only the item left the view"
        );
        b.go(&format!("{base}queue/RUS"));
        b.click(&format!("{lift_form} button[type=submit]"));
        b.wait_for(&hold_form);
        let queue = b.wait_for_source(&["Nothing is held from RUS"]);
        assert!(!queue.contains("held_by_officer"), "no longer held");
        b.go(&format!("{base}view/RUS"));
        b.wait_for_source(&["objects in the view"]);
        let mut shown = b.texts("td.id");
        shown.sort();
        assert_eq!(shown, view_ids, "released again: RUS's view as before");
        b.go(&format!("{base}audit"));
        // Audited, the hold and its lifting.
        b.wait_for_source(&["hold_lift", item.as_str()]);

        b.go(&format!("{base}trace"));
        b.type_in("textarea[name=leak]", &leak);
        b.click("form[action='/trace'] button[type=submit]");
        b.wait_for("main table");
        b.screenshot("trace");
        let traced = b.source();
        assert!(traced.contains("Trace: accused"), "accused: {traced}");
        assert!(traced.contains("<strong>RUS</strong>"), "RUS accused");
    })
    .await
    .unwrap();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    for name in [
        "login",
        "inbox",
        "view-as-rus",
        "release-queue-rus",
        "object",
        "ledger",
        "log",
        "audit",
        "release-queue-held",
        "trace",
    ] {
        assert!(shots.join(format!("{name}.png")).is_file(), "{name}");
    }
    eprintln!("screenshots in {}", shots.display());
    if let Ok(keep) = std::env::var("LIAISON_SCREENSHOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        for e in std::fs::read_dir(&shots).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), Path::new(&keep).join(e.file_name())).unwrap();
        }
    }
}
