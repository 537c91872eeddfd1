"""Helpers for Corvid's integration tests: real binaries, real sockets on 127.0.0.1, real SQLite.

Every process a test starts is stopped by that test (SIGTERM, then SIGKILL after a deadline).
Every wait has a deadline; nothing sleeps for a fixed time where an event can be awaited.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import websockets

BUILD_DIR = os.environ.get("CORVID_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
COLLECTOR = os.path.join(BUILD_DIR, "collector", "corvid-collector")
AGENT = os.path.join(BUILD_DIR, "agent", "corvid-agent")
ADMIN_PASSWORD = "admin-password-1"
# What AddressSanitizer, LeakSanitizer and UBSan write when they find something.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
# scripts/test-sanitizers exports ASAN_OPTIONS: the binaries are instrumented, so memory figures
# (RSS, with ASan's shadow and quarantine) mean nothing there.
SANITIZED = "ASAN_OPTIONS" in os.environ


def wait_until(predicate, timeout=15.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """A child process whose stderr goes to a file, stopped by PID when the test ends."""

    def __init__(self, args, log_path, env=None):
        self.args = args
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=env)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Collector(Process):
    """`corvid-collector serve` on 127.0.0.1 (port 0: the OS picks); `extra` adds flags (--config)."""

    def __init__(self, data_dir, log_path, port=0, extra=()):
        super().__init__([COLLECTOR, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}",
                          "--log-level", "debug", *extra], log_path)
        line = self._read_listen_line()
        self.url = line.rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[-1])
        self.ws_url = "ws" + self.url[len("http"):]

    def _read_listen_line(self):
        # The collector prints one line once it listens; a deadline guards against a hang.
        deadline = time.monotonic() + 15
        os.set_blocking(self.proc.stdout.fileno(), False)
        buf = b""
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.read()
            if chunk:
                buf += chunk
                if b"\n" in buf:
                    return buf.split(b"\n", 1)[0].decode()
            if self.proc.poll() is not None:
                raise AssertionError(f"collector exited with {self.proc.returncode}: {self.log_text()}")
            time.sleep(0.02)
        raise AssertionError("collector did not report its address")


class Agent(Process):
    def __init__(self, collector_ws_url, api_key, log_path, state_dir, interval=1, extra=()):
        env = dict(os.environ)
        env["CORVID_API_KEY"] = api_key
        self.state_dir = state_dir  # spools and log positions; the same dir again resumes them
        super().__init__([AGENT, "--collector-url", f"{collector_ws_url}/api/v1/agents/ws", "--interval",
                          str(interval), "--log-level", "debug", "--state-dir", state_dir, *extra], log_path, env=env)


def run_cli(args, data_dir, stdin=None):
    out = subprocess.run([COLLECTOR, *args, "--data-dir", data_dir], input=stdin, capture_output=True, timeout=60)
    return out


def add_server(data_dir, name):
    out = run_cli(["server", "add", name], data_dir)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def add_user(data_dir, name, role, password=ADMIN_PASSWORD):
    out = run_cli(["user", "add", name, "--role", role], data_dir, stdin=(password + "\n").encode())
    assert out.returncode == 0, out.stderr


def http(method, url, body=None, token=None, headers=None, raw=None):
    """Returns (status, parsed JSON or None, headers)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            text = resp.read()
            return resp.status, (json.loads(text) if text else None), resp.headers
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return e.code, parsed, e.headers


def login(base_url, user="admin", password=ADMIN_PASSWORD):
    status, body, _ = http("POST", f"{base_url}/api/v1/auth/login", {"username": user, "password": password})
    assert status == 200, (status, body)
    return body["access_token"]


def forge_token(data_dir, sub, exp, iat=None):
    """A token signed with the collector's real secret, e.g. to test expiry."""
    with open(os.path.join(data_dir, "jwt.key"), "rb") as f:
        secret = f.read()

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": sub, "iat": iat or int(time.time()) - 10, "exp": exp}).encode())
    sig = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


def stored_timestamps(data_dir, server_id):
    con = sqlite3.connect(f"file:{os.path.join(data_dir, 'corvid.db')}?mode=ro", uri=True, timeout=10)
    try:
        return [r[0] for r in con.execute("SELECT ts FROM samples WHERE server_id = ? ORDER BY ts", (server_id,))]
    finally:
        con.close()


async def frontend(ws_base, server_id, token, path="metrics"):
    """Opens a frontend socket, authenticates, returns (websocket, auth reply)."""
    ws = await websockets.connect(f"{ws_base}/api/v1/ws/{path}/{server_id}", open_timeout=10, close_timeout=5)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return ws, reply


async def recv_json(ws, timeout=10.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, predicate, timeout=15.0):
    """Reads messages until one satisfies predicate; returns it (and fails at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for a matching message")
        msg = await recv_json(ws, left)
        if predicate(msg):
            return msg


class CorvidTestCase(unittest.TestCase):
    """Gives each test a temp dir and stops every process the test started."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="corvid-it-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.processes = []

    def tearDown(self):
        for p in reversed(self.processes):
            p.stop()
        failed = any(err for _, err in getattr(self._outcome, "errors", []) if err) if hasattr(self, "_outcome") else False
        # Sanitized builds (scripts/test-sanitizers): a report in a child's log fails the test, even
        # when the child's exit code (e.g. LeakSanitizer's at exit) goes unseen.
        sanitized = [p for p in self.processes if any(m in p.log_text() for m in SANITIZER_MARKERS)]
        if failed or sanitized or os.environ.get("CORVID_KEEP_LOGS"):
            for p in self.processes:
                text = p.log_text()
                # From the start of a sanitizer report (with some context), otherwise the tail.
                starts = [text.find(m) for m in SANITIZER_MARKERS if m in text]
                shown = text[max(0, min(starts) - 2000):][:20000] if starts else text[-6000:]
                print(f"--- log of {os.path.basename(p.args[0])} ---\n{shown}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        if sanitized:
            self.fail("sanitizer report in the log of " + ", ".join(os.path.basename(p.args[0]) for p in sanitized))

    def start_collector(self, port=0, name="collector"):
        c = Collector(self.data_dir, os.path.join(self.tmp, f"{name}.log"), port=port)
        self.processes.append(c)
        return c

    def start_agent(self, collector_ws_url, api_key, name="agent", interval=1, extra=()):
        """An agent named `name` keeps its state in the test's temp dir: starting one of the same name
        again continues its spool, as a restarted service would."""
        a = Agent(collector_ws_url, api_key, os.path.join(self.tmp, f"{name}.log"),
                  os.path.join(self.tmp, f"{name}-state"), interval=interval, extra=extra)
        self.processes.append(a)
        return a

    def run_async(self, coro, timeout=60):
        return asyncio.run(asyncio.wait_for(coro, timeout))
