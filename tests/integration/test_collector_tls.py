"""https/wss from the real collector (tls_cert/tls_key), with a private CA made by the openssl CLI,
and the real agent verifying it: wss works with the CA; another CA, another host name or a wrong
tls_pin_sha256 is refused with a clear log line; plain http/ws to the TLS port fails cleanly;
SIGHUP swaps the certificate for new connections while open ones stay up, and a broken
certificate on reload keeps the old one."""
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import unittest
import urllib.error
import urllib.request

import websockets

from harness import AGENT, COLLECTOR, Collector, CorvidTestCase, add_server, add_user, stored_timestamps, wait_until
from test_agent_tls import make_ca, make_cert


class TlsCollector(Collector):
    """The collector started with a config file (tls_cert, tls_key) on a free port."""

    def __init__(self, data_dir, log_path, config_path):
        super().__init__(data_dir, log_path, extra=("--config", config_path))


def fingerprint(pem_path):
    """The certificate's SHA-256 as the openssl CLI prints it: "AB:CD:..."."""
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem_path],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    return out.strip().split("=", 1)[1]


def served_certificate_sha256(port, ca):
    """SHA-256 of the certificate a new TLS connection to the port gets (verified with `ca`)."""
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def pem_sha256(pem_path):
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


class CollectorTlsTest(CorvidTestCase):
    def setUp(self):
        super().setUp()
        self.pki = os.path.join(self.tmp, "pki")
        os.makedirs(self.pki)
        self.ca = make_ca(self.pki, "corvid-test-ca")
        self.other_ca = make_ca(self.pki, "other-ca")
        # Valid for 127.0.0.1 only: dialling "localhost" is the wrong host name.
        self.cert, self.key = make_cert(self.pki, "corvid-test-ca", "collector", "IP:127.0.0.1")
        # The files the collector reads; tests replace their contents and send SIGHUP.
        self.live_cert = os.path.join(self.tmp, "tls.crt")
        self.live_key = os.path.join(self.tmp, "tls.key")
        shutil.copy(self.cert, self.live_cert)
        shutil.copy(self.key, self.live_key)
        self.config = os.path.join(self.tmp, "collector.toml")
        with open(self.config, "w") as f:
            f.write(f'tls_cert = "{self.live_cert}"\ntls_key = "{self.live_key}"\n')

    def start_tls_collector(self):
        c = TlsCollector(self.data_dir, os.path.join(self.tmp, "collector.log"), self.config)
        self.processes.append(c)
        return c

    def https(self, url, ca=None, timeout=10):
        ctx = ssl.create_default_context(cafile=ca or self.ca)
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.status, json.loads(resp.read())

    def enrol(self, name="tls-host"):
        return add_server(self.data_dir, name)

    def wait_for_log(self, proc, text, timeout=15):
        wait_until(lambda: text in proc.log_text(), timeout, what=f"log line {text!r}")

    def test_https_and_wss_work_with_the_private_ca(self):
        server = self.enrol()
        collector = self.start_tls_collector()
        self.assertTrue(collector.url.startswith("https://127.0.0.1:"), collector.url)
        self.assertIn("TLS certificate loaded from", collector.log_text())
        self.assertIn(fingerprint(self.cert), collector.log_text())
        status, body = self.https(f"{collector.url}/api/v1/health")
        self.assertEqual((status, body["status"]), (200, "healthy"))

        agent = self.start_agent(f"wss://127.0.0.1:{collector.port}", server["api_key"], extra=("--ca-file", self.ca))
        wait_until(lambda: len(stored_timestamps(self.data_dir, server["id"])) >= 2, 20,
                   what="samples stored over wss")
        self.assertIn("connected to wss://", agent.log_text())

        # A dashboard's live socket over wss, with a login over https.
        add_user(self.data_dir, "admin", "admin")
        ctx = ssl.create_default_context(cafile=self.ca)

        async def live():
            req = urllib.request.Request(f"{collector.url}/api/v1/auth/login", method="POST",
                                         data=json.dumps({"username": "admin", "password": "admin-password-1"}).encode(),
                                         headers={"Content-Type": "application/json"})
            token = json.loads(urllib.request.urlopen(req, timeout=10, context=ctx).read())["access_token"]
            async with websockets.connect(f"wss://127.0.0.1:{collector.port}/api/v1/ws/metrics/{server['id']}",
                                          ssl=ctx, open_timeout=10, close_timeout=5) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                self.assertNotEqual(reply.get("type"), "error", reply)
        self.run_async(live())

    def test_issue12_10_hsts_on_every_tls_response_and_never_over_plain_http(self):
        collector = self.start_tls_collector()
        ctx = ssl.create_default_context(cafile=self.ca)
        for path, expected_status in (("/api/v1/health", 200), ("/", 200), ("/api/v1/servers", 401),
                                      ("/no/such/route", 404)):
            req = urllib.request.Request(f"{collector.url}{path}")
            try:
                with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
                    status, headers = resp.status, resp.headers
            except urllib.error.HTTPError as e:
                status, headers = e.code, e.headers
            self.assertEqual(status, expected_status, path)
            self.assertEqual(headers.get("Strict-Transport-Security"), "max-age=31536000", path)

        plain = self.start_collector(name="plain")
        with urllib.request.urlopen(f"{plain.url}/api/v1/health", timeout=10) as resp:
            self.assertIsNone(resp.headers.get("Strict-Transport-Security"))

    def test_an_agent_with_another_ca_is_refused_with_a_clear_log_line(self):
        server = self.enrol()
        collector = self.start_tls_collector()
        agent = self.start_agent(f"wss://127.0.0.1:{collector.port}", server["api_key"],
                                 extra=("--ca-file", self.other_ca))
        self.wait_for_log(agent, "TLS verification failed")
        self.assertIn("certificate verify failed", agent.log_text())
        self.assertEqual(stored_timestamps(self.data_dir, server["id"]), [])
        self.assertIsNone(agent.proc.poll(), "the agent keeps retrying")

    def test_an_agent_dialling_another_host_name_is_refused(self):
        server = self.enrol()
        collector = self.start_tls_collector()
        # The certificate names 127.0.0.1 only; "localhost" reaches the same socket.
        agent = self.start_agent(f"wss://localhost:{collector.port}", server["api_key"], extra=("--ca-file", self.ca))
        self.wait_for_log(agent, "TLS verification failed")
        self.assertIn("certificate verify failed", agent.log_text())
        self.assertEqual(stored_timestamps(self.data_dir, server["id"]), [])

    def test_a_matching_pin_connects_and_a_wrong_pin_is_refused_naming_both(self):
        server = self.enrol()
        collector = self.start_tls_collector()
        good = fingerprint(self.cert)  # "AB:CD:...", as operators copy it
        agent = self.start_agent(f"wss://127.0.0.1:{collector.port}", server["api_key"], name="pinned",
                                 extra=("--ca-file", self.ca, "--tls-pin-sha256", good.lower()))
        wait_until(lambda: stored_timestamps(self.data_dir, server["id"]), 20, what="a sample over a pinned wss")
        agent.stop()

        wrong = fingerprint(self.ca)  # a real fingerprint, of another certificate
        other = self.enrol("other-host")
        agent = self.start_agent(f"wss://127.0.0.1:{collector.port}", other["api_key"], name="mispinned",
                                 extra=("--ca-file", self.ca, "--tls-pin-sha256", wrong.replace(":", "")))
        self.wait_for_log(agent, "tls_pin_sha256 expects")
        log = agent.log_text()
        self.assertIn(f"fingerprint {good}, but tls_pin_sha256 expects {wrong}", log)
        self.assertIn("next connection attempt", log)
        self.assertEqual(stored_timestamps(self.data_dir, other["id"]), [])

    def test_a_malformed_pin_is_a_config_error(self):
        out = subprocess.run([AGENT,
                              "--collector-url", "wss://127.0.0.1:1/api/v1/agents/ws", "--tls-pin-sha256", "12:34"],
                             env={**os.environ, "CORVID_API_KEY": "cvd_x"}, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"--tls-pin-sha256", out.stderr)
        out = subprocess.run([AGENT,
                              "--collector-url", "ws://127.0.0.1:1/api/v1/agents/ws",
                              "--tls-pin-sha256", "ab" * 32], env={**os.environ, "CORVID_API_KEY": "cvd_x"},
                             capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"needs a wss://", out.stderr)

    def test_plain_http_and_ws_to_the_tls_port_fail_cleanly(self):
        server = self.enrol()
        collector = self.start_tls_collector()
        # Plain HTTP: a 400 that says what to do, then the connection closes; no hang.
        with socket.create_connection(("127.0.0.1", collector.port), timeout=10) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)
        self.assertIn(b"use https:// or wss://", reply)
        self.wait_for_log(collector, "plain HTTP from 127.0.0.1 on the TLS port refused")

        # A ws:// agent: refused, retried with backoff, never stored.
        agent = self.start_agent(f"ws://127.0.0.1:{collector.port}", server["api_key"])
        self.wait_for_log(agent, "next connection attempt", timeout=20)
        self.assertIn("cannot connect to ws://", agent.log_text())
        self.assertIsNone(agent.proc.poll())
        self.assertEqual(stored_timestamps(self.data_dir, server["id"]), [])

        # A client that sends garbage instead of a ClientHello: one line, and the collector serves on.
        with socket.create_connection(("127.0.0.1", collector.port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01\x00\x05hello")
            s.settimeout(10)
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        self.wait_for_log(collector, "TLS handshake with 127.0.0.1 failed")
        self.assertEqual(self.https(f"{collector.url}/api/v1/health")[0], 200)
        self.assertIsNone(collector.proc.poll())

    def test_sighup_reloads_the_certificate_for_new_connections_only(self):
        server = self.enrol()
        collector = self.start_tls_collector()
        agent = self.start_agent(f"wss://127.0.0.1:{collector.port}", server["api_key"], extra=("--ca-file", self.ca))
        wait_until(lambda: stored_timestamps(self.data_dir, server["id"]), 20, what="the agent's first sample")
        self.assertEqual(served_certificate_sha256(collector.port, self.ca), pem_sha256(self.cert))

        # A renewed certificate: new key, same CA, same name. Replaced the way certbot's deploy
        # hooks do it (write aside, rename over), then SIGHUP.
        new_cert, new_key = make_cert(self.pki, "corvid-test-ca", "collector-renewed", "IP:127.0.0.1")
        for src, dst in ((new_cert, self.live_cert), (new_key, self.live_key)):
            shutil.copy(src, dst + ".new")
            os.replace(dst + ".new", dst)
        collector.proc.send_signal(signal.SIGHUP)
        self.wait_for_log(collector, "TLS certificate reloaded from")
        self.assertIn("CN=collector-renewed", collector.log_text())
        self.assertEqual(served_certificate_sha256(collector.port, self.ca), pem_sha256(new_cert))

        # The agent's connection, made with the old certificate, is still the same one.
        before = len(stored_timestamps(self.data_dir, server["id"]))
        wait_until(lambda: len(stored_timestamps(self.data_dir, server["id"])) >= before + 2, 20,
                   what="samples after the reload")
        self.assertEqual(agent.log_text().count("connected to wss://"), 1, "the agent had to reconnect")
        self.assertNotIn("connection to the collector lost", agent.log_text())

        # A broken replacement: the reload fails loudly and the last good certificate stays.
        with open(self.live_key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        collector.proc.send_signal(signal.SIGHUP)
        self.wait_for_log(collector, "TLS reload failed")
        self.assertIn(f"tls_key {self.live_key}", collector.log_text())
        self.assertIn("still serving the previous certificate", collector.log_text())
        self.assertEqual(served_certificate_sha256(collector.port, self.ca), pem_sha256(new_cert))

        # A key that belongs to another certificate is refused the same way.
        shutil.copy(self.key, self.live_key)
        collector.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: collector.log_text().count("TLS reload failed") >= 2, 15, what="the second failed reload")
        self.assertIn("does not belong to the certificate", collector.log_text())
        self.assertIsNone(collector.proc.poll())
        # SIGTERM with a wss session open: the polite shutdown still completes.
        self.assertEqual(collector.stop(), 0)

    def test_sighup_without_tls_is_harmless(self):
        collector = self.start_collector()
        self.assertTrue(collector.url.startswith("http://"))
        collector.proc.send_signal(signal.SIGHUP)
        self.wait_for_log(collector, "SIGHUP: TLS is not configured")
        self.assertIsNone(collector.proc.poll())
        self.assertEqual(collector.stop(), 0)

    def test_half_a_tls_config_and_a_missing_file_stop_the_start(self):
        with open(self.config, "w") as f:
            f.write(f'tls_cert = "{self.live_cert}"\n')
        out = subprocess.run([COLLECTOR, "serve", "--config", self.config, "--data-dir", self.data_dir,
                              "--listen", "127.0.0.1:0"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"tls_key: tls_cert is set but tls_key is not", out.stderr)

        missing = os.path.join(self.tmp, "missing.crt")
        with open(self.config, "w") as f:
            f.write(f'tls_cert = "{missing}"\ntls_key = "{self.live_key}"\n')
        out = subprocess.run([COLLECTOR, "serve", "--config", self.config, "--data-dir", self.data_dir,
                              "--listen", "127.0.0.1:0"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"cannot set up TLS: cannot read tls_cert {missing}".encode(), out.stderr)


if __name__ == "__main__":
    unittest.main()
