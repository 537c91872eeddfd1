"""Hostile input against the real collector (issue 6, "No gaps, no crashes"): garbage on the agent
socket, the frontend sockets and the REST routes, oversized frames and bodies, messages before
auth, a second auth, another server's id, slowloris headers, message floods and connection floods.
Each gets the answer PROTOCOL.md (sections 7 and 8) gives it, and throughout a real agent keeps
streaming: its samples still reach a live frontend socket after the garbage."""
import asyncio
import json
import os
import socket
import time
import unittest

import websockets

from harness import (COLLECTOR, Collector, CorvidTestCase, Process, add_server, add_user, frontend, http, login,
                     recv_json, recv_until, wait_until)

MIB = 1 << 20


class ConfiguredCollector(Collector):
    """The collector with a config file (the harness's Collector takes flags only)."""

    def __init__(self, data_dir, log_path, config_path):
        Process.__init__(self, [COLLECTOR, "serve", "--config", config_path, "--data-dir", data_dir, "--listen",
                                "127.0.0.1:0", "--log-level", "debug"], log_path)
        line = self._read_listen_line()
        self.url = line.rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[-1])
        self.ws_url = "ws" + self.url[len("http"):]


def metrics_frame(server_id, seq, **extra):
    frame = {"type": "metrics", "server_id": server_id, "seq": seq,
             "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
    frame.update(extra)
    return json.dumps(frame, separators=(",", ":"))


async def send_oversized(ws, size):
    """Sends a text frame of `size` bytes. The collector may refuse it (1009) before the client has
    finished writing it; the close code is then read by closed_code, not raised here."""
    try:
        await ws.send("x" * size)
    except websockets.ConnectionClosed:
        pass


async def closed_code(ws, timeout=10.0):
    """Reads until the collector closes the socket; returns (close code, reason)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the collector did not close the socket in time")
            await asyncio.wait_for(ws.recv(), left)
    except websockets.ConnectionClosed as closed:
        return closed.code, closed.reason


async def expect_error(ws, timeout=10.0):
    return await recv_until(ws, lambda m: m["type"] == "error", timeout)


class HostileInput(CorvidTestCase):
    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "admin", "admin")
        self.good = add_server(self.data_dir, "good-1")   # the real agent streams for this one
        self.other = add_server(self.data_dir, "other-1") # the python agent plays this one
        self.collector = self.start_collector()
        self.token = login(self.collector.url)
        self.start_agent(self.collector.ws_url, self.good["api_key"], interval=1)

    # ---- helpers -----------------------------------------------------------------------------

    async def live_frontend(self):
        """A frontend socket on the good server that has seen one live sample; returns (ws, ts)."""
        ws, reply = await frontend(self.collector.ws_url, self.good["id"], self.token)
        self.assertEqual(reply["type"], "auth_success")
        m = await recv_until(ws, lambda m: m["type"] == "metrics", 20)
        return ws, m["data"]["timestamp"]

    async def assert_still_streaming(self, ws, after_ts):
        """Two newer samples of the real agent reach the frontend socket that was open all along."""
        seen = []
        while len(seen) < 2:
            m = await recv_until(ws, lambda m: m["type"] == "metrics" and m["data"]["timestamp"] > after_ts, 15)
            after_ts = m["data"]["timestamp"]
            seen.append(after_ts)
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(http("GET", f"{self.collector.url}/api/v1/health")[0], 200)

    async def python_agent(self, server):
        ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/agents/ws", open_timeout=10, close_timeout=5,
                                      max_queue=None)
        await ws.send(json.dumps({"type": "auth", "api_key": server["api_key"], "agent_version": "hostile",
                                  "hostname": "h"}))
        reply = await recv_json(ws)
        self.assertEqual(reply["type"], "auth_success")
        return ws

    def raw_http(self, data, timeout=10.0):
        """Sends raw bytes, returns (status line, parsed JSON body or None) of the response."""
        with socket.create_connection(("127.0.0.1", self.collector.port), timeout=timeout) as s:
            s.sendall(data)
            buf = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                buf += chunk
                head, sep, body = buf.partition(b"\r\n\r\n")
                if sep:
                    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length and len(body) >= length[0]:
                        break
        head, _, body = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n")[0].decode()
        return status, (json.loads(body) if body.startswith(b"{") else None)

    # ---- the agent socket ---------------------------------------------------------------------

    def test_agent_socket_garbage_gets_invalid_message_with_the_field_and_the_socket_stays_open(self):
        other_id, good_id = self.other["id"], self.good["id"]
        cases = [
            ("not json at all", "JSON"),
            ("[1,2,3]", "expected a JSON object"),
            ('{"type":"metrics"', "invalid JSON"),
            ('{"type":42}', "type: expected string"),
            ('{"type":"bogus"}', "unknown message type 'bogus'"),
            ('{"type":"subscribe","metrics":[]}', "unexpected message type 'subscribe'"),
            (metrics_frame(other_id, "7"), "metrics.seq: expected unsigned integer"),
            (metrics_frame(other_id, -1), "metrics.seq: expected unsigned integer"),
            (metrics_frame(other_id, 1.5), "metrics.seq: expected unsigned integer"),
            (metrics_frame(other_id, 2 ** 64), "metrics.seq:"),
            (metrics_frame(other_id, 1).replace('"seq":1', '"seq":1e400'), "metrics.seq:"),
            (metrics_frame(other_id, 1, cpu_percent=-5), "metrics.cpu_percent: expected number from 0 to 100"),
            (metrics_frame(other_id, 1, cpu_percent=1e308), "metrics.cpu_percent: expected number from 0 to 100"),
            (metrics_frame(other_id, 1).replace('"seq":1', '"seq":1,"cpu_percent":NaN'), "invalid JSON"),
            (metrics_frame(other_id, 1, memory_percent="12"), "metrics.memory_percent: expected number"),
            (metrics_frame(other_id, 1, timestamp="yesterday"), "metrics.timestamp: expected ISO 8601"),
            (metrics_frame(other_id, 1, disk_usage=[{"mount": "/"}]), "metrics.disk_usage[0]."),
            ('{"type":"ping","x":' + "[" * 100 + "]" * 100 + "}", "nested too deep"),
            (metrics_frame("\ud800", 1), "metrics.server_id"),  # json.dumps writes a lone surrogate escape
            (json.dumps({"type": "auth", "api_key": self.other["api_key"], "agent_version": "x", "hostname": "h"}),
             "already authenticated"),
            (metrics_frame(good_id, 1), "metrics.server_id"),  # another server's id
        ]

        async def talk():
            live, ts = await self.live_frontend()
            ws = await self.python_agent(self.other)
            answers = []
            for frame, _ in cases:
                await ws.send(frame)
                answers.append(await expect_error(ws))
            await ws.send(b"\x00\x01binary")
            binary = await expect_error(ws)
            # Still open and still served: a ping is answered and a valid sample of its own is acked.
            await ws.send(json.dumps({"type": "ping"}))
            pong = await recv_until(ws, lambda m: m["type"] in ("pong", "error"))
            await ws.send(metrics_frame(other_id, 1, cpu_percent=1.5))
            ack = await recv_until(ws, lambda m: m["type"] in ("ack", "error"))
            await self.assert_still_streaming(live, ts)
            # An oversized frame ends the session with 1009 (PROTOCOL.md, section 8).
            await send_oversized(ws, MIB + 1)
            code = await closed_code(ws)
            await self.assert_still_streaming(live, ts)
            await live.close()
            return answers, binary, pong, ack, code

        answers, binary, pong, ack, code = self.run_async(talk(), timeout=120)
        for (frame, expected), answer in zip(cases, answers):
            with self.subTest(frame=frame[:80]):
                self.assertEqual(answer["code"], "invalid_message")
                self.assertIn(expected, answer["message"])
        self.assertEqual(binary["code"], "invalid_message")
        self.assertEqual(pong["type"], "pong")
        self.assertEqual((ack["type"], ack["seq"]), ("ack", 1))
        self.assertEqual(code[0], 1009)

    def test_agent_socket_before_auth_invalid_utf8_and_floods(self):
        async def talk():
            live, ts = await self.live_frontend()
            results = {}
            # A first frame that is not auth: invalid_message, then 1008 (PROTOCOL.md, section 3).
            for name, first in [("metrics", metrics_frame(self.other["id"], 1)), ("garbage", "{{{{"),
                                ("ping", '{"type":"ping"}'), ("binary", b"\x00\x01")]:
                ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/agents/ws", open_timeout=10)
                await ws.send(first)
                err = await expect_error(ws)
                results[name] = (err["code"], await closed_code(ws))
            # A wrong key: auth_failed, 1008.
            ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/agents/ws", open_timeout=10)
            await ws.send(json.dumps({"type": "auth", "api_key": 12345, "agent_version": "x", "hostname": "h"}))
            err = await expect_error(ws)
            results["key_of_wrong_type"] = (err["code"], await closed_code(ws))
            # Invalid UTF-8 in a text frame is a WebSocket protocol error (RFC 6455: close 1007).
            ws = await self.python_agent(self.other)
            await ws.write_frame(True, websockets.frames.Opcode.TEXT, b'{"type":"ping","x":"\xff\xfe"}')
            results["invalid_utf8"] = await closed_code(ws)
            # A flood: beyond the burst (1000 messages) the agent gets rate_limit_exceeded and 1008.
            ws = await self.python_agent(self.other)
            ping = json.dumps({"type": "ping"})
            for _ in range(1100):
                await ws.send(ping)
            err = await recv_until(ws, lambda m: m["type"] == "error", 20)
            results["flood"] = (err, await closed_code(ws, 20))
            await self.assert_still_streaming(live, ts)
            await live.close()
            return results

        r = self.run_async(talk(), timeout=120)
        for name in ("metrics", "garbage", "ping", "binary"):
            self.assertEqual((r[name][0], r[name][1][0]), ("invalid_message", 1008), name)
        self.assertIn(r["key_of_wrong_type"][0], ("invalid_message", "auth_failed"))
        self.assertEqual(r["key_of_wrong_type"][1][0], 1008)
        self.assertEqual(r["invalid_utf8"][0], 1007)
        err, (code, reason) = r["flood"]
        self.assertEqual(err["code"], "rate_limit_exceeded")
        self.assertGreaterEqual(err["retry_after"], 1)
        self.assertEqual((code, reason), (1008, "rate_limit_exceeded"))

    # ---- the frontend sockets -----------------------------------------------------------------

    def test_frontend_sockets_garbage_before_and_after_auth(self):
        ws_base, sid = self.collector.ws_url, self.good["id"]

        async def talk():
            live, ts = await self.live_frontend()
            before = {}
            for path in (f"metrics/{sid}", f"logs/{sid}"):
                for name, first in [("subscribe", '{"type":"subscribe","metrics":[]}'), ("garbage", "\x00garbage"),
                                    ("token_of_wrong_type", '{"type":"auth","token":["x"]}'),
                                    ("deep", '{"type":"auth","token":' + "[" * 64 + "]" * 64 + "}")]:
                    ws = await websockets.connect(f"{ws_base}/api/v1/ws/{path}", open_timeout=10)
                    await ws.send(first)
                    err = await expect_error(ws)
                    before[(path, name)] = (err["code"], (await closed_code(ws))[0])
                ws = await websockets.connect(f"{ws_base}/api/v1/ws/{path}", open_timeout=10)
                await ws.send(b"\x01binary first")
                err = await expect_error(ws)
                before[(path, "binary")] = (err["code"], (await closed_code(ws))[0])
            # Unknown server and unknown command: not_found, 1008.
            ws, reply = await frontend(ws_base, "00000000-0000-4000-8000-000000000000", self.token)
            before["unknown_server"] = (reply["code"], (await closed_code(ws))[0])
            ws, reply = await frontend(ws_base, "00000000-0000-4000-8000-000000000000", self.token, path="commands")
            before["unknown_command"] = (reply["code"], (await closed_code(ws))[0])

            after = {}
            ws, _ = await frontend(ws_base, sid, self.token)
            cases = [("not json", "JSON"), ("42", "expected a JSON object"), ("[]", "expected a JSON object"),
                     ('{"type":"subscribe","metrics":"cpu_percent"}', "subscribe.metrics: expected array"),
                     ('{"type":"subscribe","min_interval_ms":"5"}', "subscribe.min_interval_ms"),
                     ('{"type":"subscribe","history_s":1e400}', "subscribe.history_s"),
                     ('{"type":"subscribe","metrics":[' + ",".join(['"cpu_percent"'] * 65) + "]}",
                      "subscribe.metrics: more than 64 entries"),
                     ('{"type":"ping","a":' + "{\"a\":" * 40 + "1" + "}" * 40 + "}", "nested too deep"),
                     ('{"type":"metrics","server_id":"x","seq":1,"timestamp":"2026-01-01T00:00:00.000Z"}',
                      "unexpected message type 'metrics'"),
                     (json.dumps({"type": "auth", "token": self.token}), "already authenticated")]
            for frame, expected in cases:
                await ws.send(frame)
                err = await expect_error(ws)
                after[frame] = (err["code"], err["message"], expected)
            # In range for the decoder, out of range for a subscription: invalid_subscription.
            await ws.send('{"type":"subscribe","min_interval_ms":5}')
            after["min_interval_out_of_range"] = (await expect_error(ws))["code"]
            await ws.send(b"\xff binary")
            after["binary"] = ((await expect_error(ws))["code"], "", "")
            await ws.send(json.dumps({"type": "ping"}))
            after["pong"] = (await recv_until(ws, lambda m: m["type"] in ("pong", "error")))["type"]
            await send_oversized(ws, MIB + 1)
            after["oversized"] = (await closed_code(ws))[0]
            await self.assert_still_streaming(live, ts)
            await live.close()
            return before, after

        before, after = self.run_async(talk(), timeout=120)
        for key, value in before.items():
            with self.subTest(before=key):
                if key == "unknown_server" or key == "unknown_command":
                    self.assertEqual(value, ("not_found", 1008))
                else:
                    self.assertEqual(value, ("auth_failed", 1008))
        for frame, answer in after.items():
            if frame in ("pong", "oversized", "min_interval_out_of_range"):
                continue
            code, message, expected = answer
            with self.subTest(after=frame[:60]):
                self.assertEqual(code, "invalid_message")
                self.assertIn(expected, message)
        self.assertEqual(after["pong"], "pong")
        self.assertEqual(after["min_interval_out_of_range"], "invalid_subscription")
        self.assertEqual(after["oversized"], 1009)

    def test_frontend_flood_is_rate_limited_then_closed(self):
        async def talk():
            live, ts = await self.live_frontend()
            ws, _ = await frontend(self.collector.ws_url, self.good["id"], self.token)
            received = []

            async def reader():
                try:
                    while True:
                        received.append(json.loads(await ws.recv()))
                except websockets.ConnectionClosed:
                    pass

            reading = asyncio.ensure_future(reader())
            ping = json.dumps({"type": "ping"})
            for _ in range(80):  # beyond the burst of 50
                await ws.send(ping)
            await asyncio.wait_for(self._until(lambda: any(m["type"] == "error" for m in received)), 10)
            first_error = next(m for m in received if m["type"] == "error")
            # Dropped, not closed: after retry_after a ping is answered again.
            await asyncio.sleep(first_error["retry_after"] + 0.5)
            pongs_before = sum(m["type"] == "pong" for m in received)
            await ws.send(ping)
            await asyncio.wait_for(self._until(lambda: sum(m["type"] == "pong" for m in received) > pongs_before), 10)
            # A flood of 100/s for more than 5 s: closed 1008.
            started = time.monotonic()
            try:
                while time.monotonic() - started < 15:
                    await ws.send(ping)
                    await asyncio.sleep(0.01)
            except websockets.ConnectionClosed:
                pass
            await asyncio.wait_for(reading, 10)
            flood_s = time.monotonic() - started
            await self.assert_still_streaming(live, ts)
            await live.close()
            return first_error, ws.close_code, ws.close_reason, flood_s

        err, code, reason, flood_s = self.run_async(talk(), timeout=90)
        self.assertEqual(err["code"], "rate_limit_exceeded")
        self.assertGreaterEqual(err["retry_after"], 1)
        self.assertEqual((code, reason), (1008, "rate_limit_exceeded"))
        self.assertLess(flood_s, 12)

    @staticmethod
    async def _until(predicate):
        while not predicate():
            await asyncio.sleep(0.02)

    # ---- REST and raw HTTP --------------------------------------------------------------------

    def test_rest_garbage_gets_json_errors(self):
        base, sid = self.collector.url, self.good["id"]
        servers = f"{base}/api/v1/servers"
        cases = [
            (("GET", f"{base}/api/v1/nope"), 404),
            (("GET", f"{base}/api/v1/servers/{sid}/nope"), 404),
            (("DELETE", f"{base}/api/v1/health"), 405),
            (("PUT", f"{base}/api/v1/auth/login"), 405),
            (("GET", f"{base}/api/v1/ws/metrics/{sid}"), 400),  # no upgrade
            (("GET", f"{base}/api/v1/agents/ws"), 400),
            (("POST", f"{base}/api/v1/auth/login", {"raw": b"not json"}), 400),
            (("POST", f"{base}/api/v1/auth/login", {"raw": b"[1,2]"}), 400),
            (("POST", f"{base}/api/v1/auth/login", {"body": {"username": 5, "password": None}}), 400),
            (("POST", f"{base}/api/v1/auth/login", {"raw": b'{"username":"\xff\xfe","password":"x"}'}), 400),
            (("POST", f"{base}/api/v1/auth/login", {"raw": b"[" * 5000 + b"]" * 5000}), 400),
            (("POST", servers, {"raw": b'{"name":' + b"[" * 3000 + b"]" * 3000 + b"}", "token": True}), 400),
            (("POST", servers, {"body": {"name": 1e308}, "token": True}), 400),
            (("POST", servers, {"body": {"name": ""}, "token": True}), 400),
            (("GET", f"{servers}/{sid}/metrics?from=NaN", {"token": True}), 400),
            (("GET", f"{servers}/{sid}/metrics?limit=-1", {"token": True}), 400),
            (("GET", f"{servers}/{sid}/metrics?to=99999999999999999999999", {"token": True}), 400),
            (("POST", f"{servers}/{sid}/commands", {"body": {"command": "true", "timeout_s": -1}, "token": True}), 400),
            (("POST", f"{servers}/{sid}/commands", {"body": {"command": ["true"]}, "token": True}), 400),
            (("POST", f"{servers}/{sid}/commands", {"raw": b"\x00" * 100, "token": True}), 400),
            (("POST", servers, {"raw": b"x" * (65 * 1024), "token": True}), 413),
        ]
        for (method, url, *opts), expected in cases:
            o = opts[0] if opts else {}
            with self.subTest(method=method, url=url, o=str(o)[:60]):
                status, body, _ = http(method, url, body=o.get("body"), raw=o.get("raw"),
                                       token=self.token if o.get("token") else None)
                self.assertEqual(status, expected)
                self.assertIsInstance(body, dict)
                self.assertIsInstance(body.get("error"), str)

        # Raw HTTP: malformed request line, headers over 8 KiB, a body over max_body_bytes announced.
        status, body = self.raw_http(b"GARBAGE\r\n\r\n")
        self.assertIn(" 400 ", status)
        self.assertIn("malformed request", body["error"])
        status, body = self.raw_http(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertIn(" 413 ", status)
        status, body = self.raw_http(b"POST /api/v1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        self.assertIn(" 413 ", status)
        self.assertEqual(body, {"error": "request too large"})
        status, body = self.raw_http(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        self.assertIn(" 400 ", status)

        async def still():
            live, ts = await self.live_frontend()
            await self.assert_still_streaming(live, ts)
            await live.close()

        self.run_async(still())

    def test_slowloris_headers_are_cut_off_at_the_header_deadline(self):
        header_deadline = 10  # http_server.cpp, PROTOCOL.md section 8
        s = socket.create_connection(("127.0.0.1", self.collector.port), timeout=2)
        started = time.monotonic()
        closed_after = None
        request = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        try:
            for i, byte in enumerate(request):
                s.sendall(bytes([byte]))
                # Meanwhile the collector serves everyone else.
                if i == 3:
                    self.assertEqual(http("GET", f"{self.collector.url}/api/v1/health")[0], 200)
                try:
                    s.settimeout(1.0)
                    if s.recv(1024) == b"":
                        closed_after = time.monotonic() - started
                        break
                except socket.timeout:
                    pass
                if time.monotonic() - started > header_deadline + 10:
                    break
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - started
        finally:
            s.close()
        self.assertIsNotNone(closed_after, "the dribbling connection was never closed")
        self.assertGreater(closed_after, header_deadline - 2)
        self.assertLess(closed_after, header_deadline + 3)

        async def still():
            live, ts = await self.live_frontend()
            await self.assert_still_streaming(live, ts)
            await live.close()

        self.run_async(still())


class ConnectionLimit(CorvidTestCase):
    def test_connections_beyond_the_per_address_limit_are_closed_at_accept_and_logged_once(self):
        add_user(self.data_dir, "admin", "admin")
        config = os.path.join(self.tmp, "collector.toml")
        with open(config, "w") as f:
            f.write("max_connections_per_address = 4\n")
        c = ConfiguredCollector(self.data_dir, os.path.join(self.tmp, "collector.log"), config)
        self.processes.append(c)
        held = [socket.create_connection(("127.0.0.1", c.port), timeout=5) for _ in range(4)]
        try:
            refused = []
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", c.port), timeout=5)
                try:
                    refused.append(s.recv(1) == b"")
                except ConnectionResetError:
                    refused.append(True)
                s.close()
            self.assertEqual(refused, [True] * 5)
            wait_until(lambda: "refusing connections from 127.0.0.1" in c.log_text(), 5, what="the refusal log line")
            self.assertEqual(c.log_text().count("refusing connections from 127.0.0.1"), 1)
            # One held connection ends: a new one is served.
            held.pop().close()
            status = wait_until(lambda: self._health(c.url), 5, what="a connection to be served again")
            self.assertEqual(status, 200)
        finally:
            for s in held:
                s.close()

    @staticmethod
    def _health(url):
        try:
            return http("GET", f"{url}/api/v1/health")[0]
        except OSError:
            return None


if __name__ == "__main__":
    unittest.main()
