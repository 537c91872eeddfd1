"""The real agent binary against a small WebSocket endpoint written here (no collector involved):
the auth frame, metrics frames with consecutive seq, acks, pings, and reconnection after the
endpoint restarts, with unacknowledged samples sent again."""
import asyncio
import json
import os
import re
import socket
import unittest

import websockets

from harness import CorvidTestCase, recv_json

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SERVER_ID = "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f"
API_KEY = "cvd_" + "A" * 43


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Endpoint:
    """A stand-in collector: records every frame, acks metrics only when told to."""

    def __init__(self, port, ack=True):
        self.port = port
        self.ack = ack
        self.frames = asyncio.Queue()
        self.server = None

    async def handler(self, ws, path=None):
        try:
            await self.serve(ws)
        except websockets.ConnectionClosed:
            pass  # the agent went away (a test stopped it): nothing to answer

    async def serve(self, ws):
        async for raw in ws:
            msg = json.loads(raw)
            await self.frames.put(msg)
            if msg["type"] == "auth":
                await ws.send(json.dumps({"type": "auth_success", "server_id": SERVER_ID,
                                          "message": "Connected successfully"}))
            elif msg["type"] == "metrics" and self.ack:
                await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
            elif msg["type"] == "ping":
                await ws.send(json.dumps({"type": "pong", "timestamp": "2026-01-01T00:00:00.000Z"}))

    async def start(self):
        self.server = await websockets.serve(self.handler, "127.0.0.1", self.port)

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def next_frame(self, kind, timeout=15):
        while True:
            msg = await asyncio.wait_for(self.frames.get(), timeout)
            if msg["type"] == kind:
                return msg


class AgentUplinkTest(CorvidTestCase):
    def check_sample(self, m):
        self.assertEqual(m["server_id"], SERVER_ID)
        self.assertRegex(m["timestamp"], ISO_MS)
        self.assertTrue(0 <= m["cpu_percent"] <= 100)
        self.assertTrue(0 < m["memory_percent"] <= 100)
        self.assertEqual(len(m["load"]), 3)
        self.assertGreater(m["memory"]["total_bytes"], 0)
        self.assertGreater(len(m["cpu"]["cores"]), 0)
        self.assertGreater(m["uptime_s"], 0)

    def test_auth_then_metrics_then_reconnect_after_endpoint_restart(self):
        port = free_port()

        async def scenario():
            ep = Endpoint(port)
            await ep.start()
            agent = self.start_agent(f"ws://127.0.0.1:{port}", API_KEY)
            auth = await ep.next_frame("auth")
            self.assertEqual(auth["api_key"], API_KEY)
            self.assertTrue(auth["agent_version"])
            self.assertEqual(auth["hostname"], socket.gethostname())
            first = await ep.next_frame("metrics")
            second = await ep.next_frame("metrics")
            self.check_sample(first)
            self.check_sample(second)
            self.assertEqual(second["seq"], first["seq"] + 1)
            self.assertGreater(second["timestamp"], first["timestamp"])

            # Restart the endpoint on the same port: the agent must dial again and go on.
            await ep.stop()
            ep2 = Endpoint(port)
            await ep2.start()
            auth2 = await ep2.next_frame("auth", timeout=20)
            self.assertEqual(auth2["api_key"], API_KEY)
            third = await ep2.next_frame("metrics")
            self.assertGreater(third["seq"], second["seq"])
            self.check_sample(third)
            await ep2.stop()
            return agent

        agent = self.run_async(scenario())
        self.assertIn("connected to", agent.log_text())

    def test_unacked_samples_are_sent_again_after_reconnect(self):
        port = free_port()

        async def scenario():
            ep = Endpoint(port, ack=False)
            await ep.start()
            self.start_agent(f"ws://127.0.0.1:{port}", API_KEY)
            await ep.next_frame("auth")
            unacked = [(await ep.next_frame("metrics"))["seq"] for _ in range(2)]
            await ep.stop()
            ep2 = Endpoint(port, ack=True)
            await ep2.start()
            await ep2.next_frame("auth", timeout=20)
            resent = [(await ep2.next_frame("metrics"))["seq"] for _ in range(2)]
            await ep2.stop()
            return unacked, resent

        unacked, resent = self.run_async(scenario())
        self.assertEqual(resent, unacked)

    def test_sigterm_stops_the_agent_within_two_seconds(self):
        port = free_port()

        async def scenario():
            ep = Endpoint(port)
            await ep.start()
            agent = self.start_agent(f"ws://127.0.0.1:{port}", API_KEY)
            await ep.next_frame("metrics")
            loop = asyncio.get_running_loop()
            started = loop.time()
            rc = await loop.run_in_executor(None, lambda: agent.stop(timeout=2.0))
            elapsed = loop.time() - started
            await ep.stop()
            return rc, elapsed

        rc, elapsed = self.run_async(scenario())
        self.assertEqual(rc, 0, "the agent did not exit cleanly within 2 s of SIGTERM")

    def test_once_prints_one_sample(self):
        import subprocess
        from harness import AGENT
        out = subprocess.run([AGENT, "--once"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        data = json.loads(out.stdout)
        self.assertRegex(data["timestamp"], ISO_MS)
        self.assertGreater(data["memory"]["total_bytes"], 0)
        self.assertIn("cpu_percent", data)

    def test_invalid_config_exits_with_code_2_naming_the_key(self):
        import subprocess
        from harness import AGENT
        cfg = os.path.join(self.tmp, "agent.toml")
        with open(cfg, "w") as f:
            f.write('collector_url = "ws://127.0.0.1:1/api/v1/agents/ws"\napi_key = "x"\ninterval_s = 500\n')
        os.chmod(cfg, 0o600)
        out = subprocess.run([AGENT, "--config", cfg], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"interval_s", out.stderr)


if __name__ == "__main__":
    unittest.main()
