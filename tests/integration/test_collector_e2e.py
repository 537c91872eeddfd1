"""The whole path with the real collector and the real agent as processes on port 0 with a temp
data dir: samples reach frontend sockets and the database, snapshot and history, field selection
and throttling, refusals, isolation between servers, and recovery across a collector restart."""
import asyncio
import json
import time
import unittest

import websockets

from harness import (CorvidTestCase, add_server, add_user, forge_token, frontend, http, login, recv_json,
                     recv_until, stored_timestamps, wait_until)


class CollectorEndToEnd(CorvidTestCase):
    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "admin", "admin")
        self.server = add_server(self.data_dir, "web-1")
        self.collector = self.start_collector()
        self.token = login(self.collector.url)

    def agent_for(self, server, name="agent"):
        return self.start_agent(self.collector.ws_url, server["api_key"], name=name)

    def wait_for_samples(self, server_id, count, timeout=20):
        return wait_until(lambda: len(stored_timestamps(self.data_dir, server_id)) >= count, timeout,
                          what=f"{count} stored samples")

    def test_samples_reach_a_frontend_socket_and_the_database(self):
        self.agent_for(self.server)

        async def watch():
            ws, reply = await frontend(self.collector.ws_url, self.server["id"], self.token)
            self.assertEqual(reply, {"type": "auth_success", "server_id": self.server["id"],
                                     "message": "Connected successfully"})
            live = [await recv_until(ws, lambda m: m["type"] == "metrics") for _ in range(2)]
            await ws.close()
            return live

        live = self.run_async(watch())
        for m in live:
            self.assertEqual(m["server_id"], self.server["id"])
            self.assertIn("cpu_percent", m["data"])
            self.assertGreater(m["data"]["memory"]["total_bytes"], 0)
        self.assertLess(live[0]["data"]["timestamp"], live[1]["data"]["timestamp"])
        self.wait_for_samples(self.server["id"], 2)

        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/metrics",
                               token=self.token)
        self.assertEqual(status, 200)
        stamps = [s["timestamp"] for s in body["samples"]]
        self.assertIn(live[1]["data"]["timestamp"], stamps)
        self.assertEqual(stamps, sorted(stamps))

        status, servers, _ = http("GET", f"{self.collector.url}/api/v1/servers", token=self.token)
        self.assertEqual(status, 200)
        self.assertEqual([(s["id"], s["online"]) for s in servers], [(self.server["id"], True)])
        status, health, _ = http("GET", f"{self.collector.url}/api/v1/health")
        self.assertEqual((status, health["status"], health["agents_connected"]), (200, "healthy", 1))

    def test_snapshot_history_field_selection_and_throttling(self):
        self.agent_for(self.server)
        self.wait_for_samples(self.server["id"], 4)

        async def watch():
            ws, _ = await frontend(self.collector.ws_url, self.server["id"], self.token)
            snapshot = await recv_json(ws)
            self.assertEqual(snapshot["type"], "metrics")  # the latest stored sample, at once
            await ws.send(json.dumps({"type": "subscribe", "metrics": ["cpu_percent", "load"],
                                      "min_interval_ms": 2500, "history_s": 600}))
            history = await recv_until(ws, lambda m: m["type"] == "history")
            live = []
            while len(live) < 3:
                m = await recv_until(ws, lambda m: m["type"] == "metrics")
                live.append((time.monotonic(), m))
            await ws.close()
            return snapshot, history, live

        snapshot, history, live = self.run_async(watch())
        self.assertIn("memory", snapshot["data"])
        self.assertGreaterEqual(len(history["data"]), 4)
        for h in history["data"]:
            self.assertEqual(set(h), {"timestamp", "cpu_percent", "load"})
        stamps = [h["timestamp"] for h in history["data"]]
        self.assertEqual(stamps, sorted(stamps))
        for _, m in live:
            self.assertEqual(set(m["data"]), {"timestamp", "cpu_percent", "load"})
        # The agent samples every second; throttled to one message per 2.5 s the frontend skips samples.
        gaps = [b[0] - a[0] for a, b in zip(live, live[1:])]
        self.assertTrue(all(g > 2.0 for g in gaps), gaps)

    def test_invalid_subscription_and_invalid_frames_keep_the_socket_open(self):
        async def talk():
            ws, _ = await frontend(self.collector.ws_url, self.server["id"], self.token)
            await ws.send(json.dumps({"type": "subscribe", "metrics": ["nope"]}))
            e1 = await recv_until(ws, lambda m: m["type"] == "error")
            await ws.send(json.dumps({"type": "subscribe", "min_interval_ms": 5}))
            e2 = await recv_until(ws, lambda m: m["type"] == "error")
            await ws.send("this is not json")
            e3 = await recv_until(ws, lambda m: m["type"] == "error")
            await ws.send(json.dumps({"type": "ping"}))
            pong = await recv_until(ws, lambda m: m["type"] == "pong")
            await ws.close()
            return e1, e2, e3, pong

        e1, e2, e3, pong = self.run_async(talk())
        self.assertEqual(e1["code"], "invalid_subscription")
        self.assertIn("nope", e1["message"])
        self.assertEqual(e2["code"], "invalid_subscription")
        self.assertEqual(e3["code"], "invalid_message")
        self.assertIn("timestamp", pong)

    def test_wrong_api_key_is_refused_with_1008(self):
        async def dial():
            ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/agents/ws")
            await ws.send(json.dumps({"type": "auth", "api_key": "cvd_" + "B" * 43, "agent_version": "t",
                                      "hostname": "h"}))
            err = await recv_json(ws)
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return err, closed.code
            return err, None

        err, code = self.run_async(dial())
        self.assertEqual(err, {"type": "error", "code": "auth_failed", "message": "Invalid or inactive API key"})
        self.assertEqual(code, 1008)

    def test_tokens_and_roles_are_enforced(self):
        base = self.collector.url
        servers = f"{base}/api/v1/servers"
        self.assertEqual(http("GET", servers)[0], 401)
        self.assertEqual(http("GET", servers, token="not.a.token")[0], 401)
        expired = forge_token(self.data_dir, "admin", exp=int(time.time()) - 5, iat=int(time.time()) - 100)
        self.assertEqual(http("GET", servers, token=expired)[0], 401)
        valid_forged = forge_token(self.data_dir, "admin", exp=int(time.time()) + 60)
        self.assertEqual(http("GET", servers, token=valid_forged)[0], 200)

        add_user(self.data_dir, "vera", "viewer")
        viewer = login(base, "vera")
        self.assertEqual(http("GET", servers, token=viewer)[0], 200)
        status, body, _ = http("POST", servers, {"name": "x"}, token=viewer)
        self.assertEqual((status, body), (403, {"error": "this needs the admin role"}))
        self.assertEqual(http("DELETE", f"{servers}/{self.server['id']}", token=viewer)[0], 403)
        self.assertEqual(http("POST", f"{servers}/{self.server['id']}/api-key", token=viewer)[0], 403)

        status, body, _ = http("POST", f"{base}/api/v1/auth/login", {"username": "admin", "password": "wrong"})
        self.assertEqual((status, body), (401, {"error": "invalid credentials"}))

        async def frontend_with(token):
            ws, reply = await frontend(self.collector.ws_url, self.server["id"], token)
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return reply, closed.code
            return reply, None

        reply, code = self.run_async(frontend_with(expired))
        self.assertEqual((reply["type"], reply["code"], code), ("error", "auth_failed", 1008))

    def test_failed_logins_are_rate_limited_per_address(self):
        url = f"{self.collector.url}/api/v1/auth/login"
        codes = [http("POST", url, {"username": "admin", "password": f"wrong{i}"})[0] for i in range(5)]
        self.assertEqual(codes, [401] * 5)
        status, body, headers = http("POST", url, {"username": "admin", "password": "admin-password-1"})
        self.assertEqual(status, 429)
        self.assertGreater(body["retry_after"], 0)
        self.assertEqual(headers["Retry-After"], str(body["retry_after"]))

    def test_a_frontend_for_server_a_never_receives_server_b_data(self):
        other = add_server(self.data_dir, "db-1")
        self.agent_for(self.server, "agent-a")
        self.agent_for(other, "agent-b")
        self.wait_for_samples(other["id"], 1)

        async def watch():
            ws, _ = await frontend(self.collector.ws_url, self.server["id"], self.token)
            seen = []
            end = time.monotonic() + 15
            while sum(m["type"] == "metrics" for m in seen) < 3 and time.monotonic() < end:
                try:
                    seen.append(await recv_json(ws, max(0.1, end - time.monotonic())))
                except asyncio.TimeoutError:
                    break
            await ws.close()
            return seen

        seen = self.run_async(watch())
        metrics = [m for m in seen if m["type"] == "metrics"]
        self.assertGreaterEqual(len(metrics), 3)
        self.assertTrue(all(m["server_id"] == self.server["id"] for m in metrics))
        self.assertNotIn(other["id"], json.dumps(seen))

    def test_agent_reconnects_after_collector_restart_without_duplicates(self):
        self.agent_for(self.server)
        self.wait_for_samples(self.server["id"], 2)
        port = self.collector.port
        self.assertEqual(self.collector.stop(), 0)
        self.processes.remove(self.collector)
        before = stored_timestamps(self.data_dir, self.server["id"])
        self.collector = self.start_collector(port=port, name="collector-2")
        self.wait_for_samples(self.server["id"], len(before) + 3, timeout=40)
        token = login(self.collector.url)
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/metrics",
                               token=token)
        self.assertEqual(status, 200)
        stamps = [s["timestamp"] for s in body["samples"]]
        self.assertEqual(len(stamps), len(set(stamps)), "duplicate timestamps in the history")
        self.assertGreater(len(stamps), len(before))

    def test_key_rotation_closes_the_agent_and_the_old_key_stops_working(self):
        agent = self.agent_for(self.server)
        self.wait_for_samples(self.server["id"], 1)
        status, body, _ = http("POST", f"{self.collector.url}/api/v1/servers/{self.server['id']}/api-key",
                               token=self.token)
        self.assertEqual(status, 200)
        self.assertNotEqual(body["api_key"], self.server["api_key"])
        wait_until(lambda: "refused authentication" in agent.log_text(), 20, what="the agent's key to be refused")
        servers = http("GET", f"{self.collector.url}/api/v1/servers", token=self.token)[1]
        self.assertFalse(servers[0]["online"])

    def test_rest_errors(self):
        base = self.collector.url
        self.assertEqual(http("GET", f"{base}/api/v1/nope", token=self.token)[0], 404)
        status, _, headers = http("PUT", f"{base}/api/v1/servers", token=self.token)
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET, POST")
        self.assertEqual(http("POST", f"{base}/api/v1/servers", raw=b"{not json", token=self.token)[0], 400)
        self.assertEqual(http("POST", f"{base}/api/v1/servers", raw=b"x" * 200000, token=self.token)[0], 413)
        self.assertEqual(http("POST", f"{base}/api/v1/servers", {"name": 5}, token=self.token)[0], 400)
        sid = self.server["id"]
        self.assertEqual(http("GET", f"{base}/api/v1/servers/{sid}/metrics?from=abc", token=self.token)[0], 400)
        self.assertEqual(http("GET", f"{base}/api/v1/servers/{sid}/metrics?from=20&to=10", token=self.token)[0], 400)
        missing = "00000000-0000-4000-8000-000000000000"
        self.assertEqual(http("GET", f"{base}/api/v1/servers/{missing}/metrics", token=self.token)[0], 404)

        status, created, _ = http("POST", f"{base}/api/v1/servers", {"name": "new"}, token=self.token)
        self.assertEqual(status, 201)
        self.assertTrue(created["api_key"].startswith("cvd_"))
        self.assertEqual(http("DELETE", f"{base}/api/v1/servers/{created['id']}", token=self.token)[0], 204)
        self.assertEqual(http("DELETE", f"{base}/api/v1/servers/{created['id']}", token=self.token)[0], 404)

    def test_openapi_document_is_served_without_a_token(self):
        status, doc, headers = http("GET", f"{self.collector.url}/api/v1/openapi.json")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(doc["openapi"], "3.1.0")
        self.assertEqual(doc["paths"]["/api/v1/servers"]["post"]["x-corvid-role"], "admin")

    def test_sigterm_shuts_down_within_five_seconds(self):
        self.agent_for(self.server)
        self.wait_for_samples(self.server["id"], 1)
        started = time.monotonic()
        self.assertEqual(self.collector.stop(timeout=5), 0)
        self.assertLess(time.monotonic() - started, 5.5)

    def test_oversized_frames_close_with_1009_and_others_keep_being_served(self):
        self.agent_for(self.server)

        async def scenario():
            big = "x" * (2 * 1024 * 1024)

            async def close_code_after_sending(ws, text):
                # The collector may close (from the frame header) before the whole frame is sent.
                try:
                    await ws.send(text)
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else closed.code

            ws, _ = await frontend(self.collector.ws_url, self.server["id"], self.token)
            frontend_code = await close_code_after_sending(ws, json.dumps({"type": "ping", "pad": big}))
            agent_ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/agents/ws", max_size=None)
            agent_code = await close_code_after_sending(agent_ws, big)
            # The collector keeps serving everyone else.
            other, reply = await frontend(self.collector.ws_url, self.server["id"], self.token)
            live = await recv_until(other, lambda m: m["type"] == "metrics")
            await other.close()
            return frontend_code, agent_code, reply, live

        frontend_code, agent_code, reply, live = self.run_async(scenario())
        self.assertEqual(frontend_code, 1009)
        self.assertEqual(agent_code, 1009)
        self.assertEqual(reply["type"], "auth_success")
        self.assertEqual(live["server_id"], self.server["id"])

    def test_short_socket_paths_and_unknown_servers(self):
        async def scenario():
            ws = await websockets.connect(f"{self.collector.ws_url}/ws/metrics/{self.server['id']}")
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
            ok = await recv_json(ws)
            await ws.close()
            missing = "00000000-0000-4000-8000-000000000000"
            ws2, refused = await frontend(self.collector.ws_url, missing, self.token)
            try:
                await asyncio.wait_for(ws2.recv(), 10)
                code = None
            except websockets.ConnectionClosed as closed:
                code = closed.code
            logs, logs_reply = await frontend(self.collector.ws_url, self.server["id"], self.token, path="logs")
            await logs.send(json.dumps({"type": "ping"}))
            pong = await recv_until(logs, lambda m: m["type"] == "pong")
            await logs.close()
            return ok, refused, code, logs_reply, pong

        ok, refused, code, logs_reply, pong = self.run_async(scenario())
        self.assertEqual(ok["type"], "auth_success")
        self.assertEqual((refused["type"], refused["code"], code), ("error", "not_found", 1008))
        self.assertEqual(logs_reply["type"], "auth_success")
        self.assertEqual(pong["type"], "pong")

    def test_a_frontend_that_sends_no_auth_frame_is_dropped(self):
        async def scenario():
            ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/ws/metrics/{self.server['id']}")
            started = time.monotonic()
            try:
                await asyncio.wait_for(ws.recv(), 20)
            except websockets.ConnectionClosed:
                pass
            return time.monotonic() - started

        elapsed = self.run_async(scenario())
        self.assertGreater(elapsed, 9)
        self.assertLess(elapsed, 15)


if __name__ == "__main__":
    unittest.main()
