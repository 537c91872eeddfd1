#!/usr/bin/env python3
"""Runs the installed daemons the way their systemd units do, without systemd: as the packages'
service users, from /usr/bin, with the installed /etc/corvid configs (overriding only the listen
address and the collector URL), and with the environment systemd gives a Type=notify service
(NOTIFY_SOCKET, WATCHDOG_USEC, JOURNAL_STREAM). Checks that each daemon

  - starts as its unprivileged user with the installed config and state directory,
  - sends READY=1, then WATCHDOG=1 at the requested rate, and STOPPING=1 on SIGTERM,
  - logs with sd-daemon <N> priority prefixes when JOURNAL_STREAM is set,
  - and that the agent, enrolled with `corvid-collector server add`, connects to the collector.

Called by test_packages.sh after `dpkg -i`; every wait has a deadline and every process started
here is stopped here. Exit code 0 on success, 1 with a message on failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

WATCHDOG_USEC = 400_000  # 0.4 s: pings every 0.2 s


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    raise SystemExit(1)


def as_user(user, args):
    # setpriv changes nothing but the credentials: the environment (NOTIFY_SOCKET, ...) stays.
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *args]


class NotifySocket:
    """The datagram socket systemd would listen on for sd_notify messages."""

    def __init__(self, directory, name):
        self.path = os.path.join(directory, name)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)  # the daemons send as their service users
        self.sock.settimeout(0.1)
        self.messages = []

    def drain(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                return
            self.messages.extend(data.decode("utf-8", "replace").split("\n"))

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            if predicate(self.messages):
                return
        fail(f"timed out after {timeout}s waiting for {what}; got {self.messages}")

    def close(self):
        self.sock.close()
        os.unlink(self.path)


class Daemon:
    def __init__(self, name, args, notify, log_dir):
        self.name = name
        self.notify = notify
        self.log_path = os.path.join(log_dir, f"{name}.stderr")
        self.log = open(self.log_path, "wb")
        env = dict(os.environ)
        env.update(NOTIFY_SOCKET=notify.path, WATCHDOG_USEC=str(WATCHDOG_USEC), JOURNAL_STREAM="8:1234")
        env.pop("WATCHDOG_PID", None)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=env)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def check_started(self):
        self.notify.wait_for(lambda m: "READY=1" in m, 20, f"{self.name}: READY=1")
        # Several pings within a few periods: WATCHDOG_USEC is honoured, not just read.
        self.notify.wait_for(lambda m: m.count("WATCHDOG=1") >= 3, 3, f"{self.name}: WATCHDOG=1 pings")
        if self.proc.poll() is not None:
            fail(f"{self.name} exited with {self.proc.returncode}: {self.log_text()}")
        print(f"ok: {self.name} sent READY=1 and WATCHDOG=1 every ~{WATCHDOG_USEC // 2000} ms", flush=True)

    def stop(self, expect_clean=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                if expect_clean:
                    fail(f"{self.name} did not stop within 10 s of SIGTERM")
        self.proc.stdout.close()
        self.log.close()
        if expect_clean:
            if self.proc.returncode != 0:
                fail(f"{self.name} exited with {self.proc.returncode} after SIGTERM: {self.log_text()}")
            self.notify.wait_for(lambda m: "STOPPING=1" in m, 2, f"{self.name}: STOPPING=1")
            lines = [l for l in self.log_text().splitlines() if l]
            bad = [l for l in lines if not re.match(r"^<[0-7]>", l)]
            if not lines or bad:
                fail(f"{self.name}: stderr lines without an sd-daemon <N> prefix: {bad[:3]}")
            print(f"ok: {self.name} stopped cleanly; {len(lines)} log lines, all with <N> prefixes", flush=True)


def read_line(proc, timeout):
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    buf = b""
    while time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            buf += chunk
            if b"\n" in buf:
                return buf.split(b"\n", 1)[0].decode()
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    fail("the collector did not print its address")


def health(base):
    with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5) as r:
        return json.loads(r.read())


def main():
    work = tempfile.mkdtemp(prefix="corvid-pkg-run-")
    os.chmod(work, 0o755)  # the service users reach the notify sockets in here
    daemons = []
    sockets = []
    try:
        # The collector, as its unit starts it, on a free port instead of 8080.
        ns = NotifySocket(work, "collector.notify")
        sockets.append(ns)
        collector = Daemon("corvid-collector", as_user("corvid-collector", [
            "/usr/bin/corvid-collector", "serve", "--config", "/etc/corvid/collector.toml",
            "--listen", "127.0.0.1:0"]), ns, work)
        daemons.append(collector)
        line = read_line(collector.proc, 20)
        m = re.search(r"listening on (http://127\.0\.0\.1:(\d+))$", line)
        if not m:
            fail(f"unexpected first line from the collector: {line!r}")
        base, port = m.group(1), int(m.group(2))
        collector.check_started()
        if health(base).get("status") != "healthy":
            fail("the collector's health endpoint is not healthy")
        if not os.path.exists("/var/lib/corvid/corvid.db"):
            fail("the collector did not create /var/lib/corvid/corvid.db")

        # Enrol the agent the way packaging/README.md tells operators to.
        out = subprocess.run(as_user("corvid-collector", [
            "/usr/bin/corvid-collector", "server", "add", "package-test", "--config", "/etc/corvid/collector.toml"]),
            capture_output=True, timeout=30)
        if out.returncode != 0:
            fail(f"server add failed: {out.stderr.decode()}")
        api_key = json.loads(out.stdout)["api_key"]
        # The key belongs to the agent's user alone (0600), as README tells operators.
        fd = os.open("/etc/corvid/agent.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(api_key + "\n")
        subprocess.run(["chown", "corvid-agent:corvid-agent", "/etc/corvid/agent.key"], check=True)

        na = NotifySocket(work, "agent.notify")
        sockets.append(na)
        agent = Daemon("corvid-agent", as_user("corvid-agent", [
            "/usr/bin/corvid-agent", "--config", "/etc/corvid/agent.toml",
            "--collector-url", f"ws://127.0.0.1:{port}/api/v1/agents/ws", "--interval", "1"]), na, work)
        daemons.append(agent)
        agent.check_started()
        deadline = time.monotonic() + 20
        while health(base).get("agents_connected", 0) < 1:
            if time.monotonic() > deadline:
                fail(f"the agent did not connect; its log: {agent.log_text()}")
            if agent.proc.poll() is not None:
                fail(f"the agent exited with {agent.proc.returncode}: {agent.log_text()}")
            time.sleep(0.1)
        print("ok: the installed agent connected to the installed collector", flush=True)
        # The installed modes (agent.toml root:corvid-agent 0640, the key 0600) draw no warning.
        if "chmod" in agent.log_text():
            fail(f"the agent warned about the installed file modes: {agent.log_text()}")

        agent.stop()
        collector.stop()
        daemons.clear()
        return 0
    finally:
        for d in reversed(daemons):
            d.stop(expect_clean=False)
        for s in sockets:
            s.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
