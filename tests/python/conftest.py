"""Fixtures for the TAXII 2.1 interoperability tests: a real `liaison serve` on 127.0.0.1.

The node is the one `liaison demo --keep` leaves behind (USA, partners GBR and RUS, the
airline-plot data), with secrets set for RUS and GBR. With LIAISON_INTEROP_BACKEND=postgres
the node is then moved onto PostgreSQL with `liaison migrate --to $LIAISON_INTEROP_PG_URL` (an
empty database; scripts/test.sh makes one on its throwaway cluster) and served from there. The binary comes from $LIAISON_BIN
(default: <repo>/target/debug/liaison); scripts/test.sh builds it before running pytest.
"""

import json
import os
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from taxii2client.common import _HTTPConnection

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LIAISON_BIN", REPO / "target" / "debug" / "liaison"))

# Bounds: nothing in these tests may hang.
COMMAND_TIMEOUT = 300  # seconds for `liaison demo` / `partner secret`
STARTUP_TIMEOUT = 60  # seconds for `liaison serve` to print its JSON line
STOP_TIMEOUT = 15  # seconds for the server to stop after SIGTERM
HTTP_TIMEOUT = (10, 60)  # connect, read (seconds) for every HTTP request

SECRETS = {"RUS": "rus-interop-secret-0001", "GBR": "gbr-interop-secret-0002"}

# Which store the shared node runs on: sqlite (default) or postgres.
BACKEND = os.environ.get("LIAISON_INTEROP_BACKEND", "sqlite")


_original_request = requests.Session.request


def _bounded_request(self, method, url, **kwargs):
    """Every request (taxii2-client's own sessions included) gets a bounded timeout
    (taxii2-client sets none) and verifies TLS against the session's `verify`: requests lets
    $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE override a session-level `verify` (they are set on
    many machines), which would check the node's self-signed certificate against the system CAs
    instead of the certificate file the tests pass. Verification stays on either way."""
    if kwargs.get("timeout") is None:
        kwargs["timeout"] = HTTP_TIMEOUT
    if kwargs.get("verify") is None:
        kwargs["verify"] = self.verify
    return _original_request(self, method, url, **kwargs)


@pytest.fixture(autouse=True)
def _bounded_requests(monkeypatch):
    monkeypatch.setattr(requests.Session, "request", _bounded_request)


@dataclass
class Node:
    home: Path
    url: str  # e.g. https://127.0.0.1:PORT/
    certificate: str  # path of the self-signed certificate (PEM), used to verify TLS
    fingerprint: str
    process: subprocess.Popen
    stderr_path: Path

    def as_received(self, party, oid):
        """The id `party` receives our object `oid` under (fingerprinting remaps ids per
        recipient), whether or not it is released to it."""
        said = json.loads(run([
            "--home", str(self.home), "explain", oid, "--to", party, "--format", "json",
        ]).stdout)
        return said.get("fingerprinted_as", oid)

    @property
    def discovery_url(self):
        return self.url + "taxii2/"

    @property
    def api_root_url(self):
        return self.url + "liaison/"

    def conn(self, user, password=None):
        """A taxii2-client connection for `user` (its real secret unless `password` is given),
        verifying the server against the node's certificate, with bounded timeouts."""
        if password is None:
            password = SECRETS[user]
        return _HTTPConnection(user, password, verify=self.certificate, version="2.1")

    def session(self, user=None, password=None):
        """A plain requests session (for status codes and headers taxii2-client hides)."""
        s = requests.Session()
        s.verify = self.certificate
        if user is not None:
            s.auth = (user, SECRETS[user] if password is None else password)
        return s


def run(args, env=None):
    result = subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`liaison {' '.join(args)}` exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def stop_process(process):
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def node(tmp_path_factory):
    if not BIN.is_file() or not os.access(BIN, os.X_OK):
        pytest.fail(
            f"liaison binary not found at {BIN}: build it with `cargo build -p liaison-cli` "
            "or point LIAISON_BIN at it"
        )
    home = tmp_path_factory.mktemp("usa-node")
    run(["--home", str(home), "demo", "--keep", str(home), "--format", "json"])
    for party, secret in SECRETS.items():
        env = dict(os.environ, LIAISON_INTEROP_SECRET=secret)
        run(
            [
                "--home", str(home), "partner", "secret", party,
                "--from-env", "LIAISON_INTEROP_SECRET", "--format", "json",
            ],
            env=env,
        )
    if BACKEND == "postgres":
        url = os.environ.get("LIAISON_INTEROP_PG_URL", "")
        if not url:
            pytest.fail("LIAISON_INTEROP_BACKEND=postgres needs LIAISON_INTEROP_PG_URL (an empty database)")
        report = json.loads(run(["--home", str(home), "migrate", "--to", url, "--format", "json"]).stdout)
        assert report["switched"] and all(c["ok"] for c in report["checks"]), report
        assert "postgres" in (home / "store.toml").read_text()
    elif BACKEND != "sqlite":
        pytest.fail(f"LIAISON_INTEROP_BACKEND={BACKEND!r}: sqlite or postgres")

    yield from serve(home)


def serve(home, *extra):
    """Runs `liaison serve` for the node at `home` on 127.0.0.1 (any free port) and yields its
    `Node` once it serves; stops it afterwards. `extra` are more `serve` arguments."""
    # Several servers of one home (tests/python/test_servers.py) each keep their own.
    stderr_path = home / "serve.stderr"
    n = 0
    while stderr_path.exists():
        n += 1
        stderr_path = home / f"serve-{n}.stderr"
    stderr_file = open(stderr_path, "wb")
    process = subprocess.Popen(
        [str(BIN), "--home", str(home), "serve", "--listen", "127.0.0.1:0", "--console", "off",
         "--format", "json",
         *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
    )
    try:
        # Readiness is the JSON line on stdout; read it in a thread so the wait is bounded.
        lines = queue.Queue()
        threading.Thread(
            target=lambda: lines.put(process.stdout.readline()), daemon=True
        ).start()
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"`liaison serve` printed nothing in {STARTUP_TIMEOUT}s")
        if not line:
            process.wait(timeout=STOP_TIMEOUT)
            pytest.fail(
                f"`liaison serve` exited {process.returncode} before serving:\n"
                + stderr_path.read_text(errors="replace")[-4000:]
            )
        info = json.loads(line)
        url = info["url"]
        assert url.startswith("https://127.0.0.1:"), info
        if not url.endswith("/"):
            url += "/"
        yield Node(
            home=home,
            url=url,
            certificate=info["certificate"],
            fingerprint=info["fingerprint"],
            process=process,
            stderr_path=stderr_path,
        )
    finally:
        stop_process(process)
        process.stdout.close()
        stderr_file.close()


@pytest.fixture(autouse=True)
def _server_alive(request):
    """Every test that used the node leaves it serving."""
    yield
    if "node" in request.fixturenames:
        n = request.getfixturevalue("node")
        assert n.process.poll() is None, (
            f"`liaison serve` died (exit {n.process.returncode}):\n"
            + n.stderr_path.read_text(errors="replace")[-4000:]
        )
