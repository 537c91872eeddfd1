"""Issue 12, items 8 and 10, against the real collector: one peer cannot make it store huge samples,
answer with huge bodies, or keep a sample from year 9999 that hides every later one; the database
files are readable by their owner only."""
import asyncio
import datetime
import json
import os
import stat
import time

import websockets

from harness import (CorvidTestCase, add_server, add_user, frontend, http, login, recv_json, recv_until,
                     stored_timestamps, wait_until)

MAX_SAMPLE_FRAME = 256 * 1024  # proto::max_sample_frame_bytes, PROTOCOL.md section 8


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


def now_ms():
    return int(time.time() * 1000)


def sample(server_id, seq, ts_ms, interfaces=0, name_bytes=12):
    """A metrics message as an agent sends it; `interfaces` adds network entries (a container host's veths)."""
    frame = {"type": "metrics", "server_id": server_id, "seq": seq, "timestamp": iso(ts_ms), "cpu_percent": 12.5,
             "memory_percent": 40.25, "load": [0.5, 0.4, 0.3]}
    if interfaces:
        frame["network"] = [{"interface": f"veth{i:07x}".ljust(name_bytes, "0"), "rx_bytes_per_s": 1500.5,
                             "tx_bytes_per_s": 250.25, "rx_bytes_total": 123456789, "tx_bytes_total": 23456789}
                            for i in range(interfaces)]
    return json.dumps(frame, separators=(",", ":"))


class PeerBounds(CorvidTestCase):
    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "admin", "admin")
        self.server = add_server(self.data_dir, "web-1")
        self.collector = self.start_collector()
        self.token = login(self.collector.url)

    async def python_agent(self):
        ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/agents/ws", open_timeout=10, close_timeout=5,
                                      max_size=None)
        await ws.send(json.dumps({"type": "auth", "api_key": self.server["api_key"], "agent_version": "test",
                                  "hostname": "h"}))
        self.assertEqual((await recv_json(ws))["type"], "auth_success")
        return ws

    async def closed(self, ws, timeout=10.0):
        """Reads until the collector closes; returns (messages read, close code)."""
        seen = []
        try:
            while True:
                seen.append(await recv_json(ws, timeout))
        except websockets.ConnectionClosed as closed:
            return seen, closed.code

    def test_issue12_8_a_sample_over_256_kib_is_refused_with_1009_and_not_stored(self):
        async def talk():
            ws = await self.python_agent()
            ok_ts = now_ms() - 10_000
            await ws.send(sample(self.server["id"], 1, ok_ts))
            self.assertEqual((await recv_until(ws, lambda m: m["type"] == "ack"))["seq"], 1)
            big = sample(self.server["id"], 2, ok_ts + 1000, interfaces=1000, name_bytes=200)
            self.assertGreater(len(big), MAX_SAMPLE_FRAME)
            self.assertLess(len(big), 1 << 20)  # within the WebSocket limit: it is the sample cap that refuses it
            await ws.send(big)
            seen, code = await self.closed(ws)
            self.assertEqual(code, 1009)
            self.assertIn("message_too_big", [m.get("code") for m in seen if m["type"] == "error"])
            self.assertNotIn("ack", [m["type"] for m in seen])
            return ok_ts
        ok_ts = self.run_async(talk())
        self.assertEqual(stored_timestamps(self.data_dir, self.server["id"]), [ok_ts])

    def test_issue12_8_a_sample_from_year_9999_is_acked_not_stored_and_does_not_freeze_the_live_view(self):
        async def talk():
            watcher, reply = await frontend(self.collector.ws_url, self.server["id"], self.token)
            self.assertEqual(reply["type"], "auth_success")
            ws = await self.python_agent()
            far = int(datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
            old = now_ms() - 40 * 86_400_000  # older than the default retention of 30 days
            await ws.send(sample(self.server["id"], 1, far))
            await ws.send(sample(self.server["id"], 2, old))
            errors = []
            acks = []
            while len(acks) < 2:
                m = await recv_json(ws)
                (errors if m["type"] == "error" else acks).append(m)
            self.assertEqual([a["seq"] for a in acks], [1, 2])
            self.assertEqual([e["code"] for e in errors], ["timestamp_out_of_range"] * 2)
            self.assertIn("ahead of the collector's clock", errors[0]["message"])
            self.assertIn("older than the retention", errors[1]["message"])
            # A real sample after them is stored and reaches the live socket.
            real = now_ms()
            await ws.send(sample(self.server["id"], 3, real))
            await recv_until(ws, lambda m: m["type"] == "ack" and m["seq"] == 3)
            live = await recv_until(watcher, lambda m: m["type"] == "metrics")
            self.assertEqual(live["data"]["timestamp"], iso(real))
            await ws.close()
            await watcher.close()
            return real
        real = self.run_async(talk())
        self.assertEqual(stored_timestamps(self.data_dir, self.server["id"]), [real])

    def test_issue12_8_log_entries_out_of_range_are_left_out_and_the_rest_stored(self):
        async def talk():
            ws = await self.python_agent()
            entry = lambda ts, text: {"timestamp": iso(ts), "level": "INFO", "source": "/var/log/app.log",
                                      "message": text}
            await ws.send(json.dumps({"type": "log", "seq": 7, "entries": [
                entry(now_ms() - 1000, "kept"), entry(now_ms() + 86_400_000, "from tomorrow"),
                entry(now_ms() - 30 * 86_400_000, "older than the log retention")]}))
            error = await recv_until(ws, lambda m: m["type"] == "error")
            self.assertEqual(error["code"], "timestamp_out_of_range")
            self.assertIn("2 entries not stored", error["message"])
            await recv_until(ws, lambda m: m["type"] == "ack" and m["seq"] == 7 and m["stream"] == "logs")
            await ws.close()
        self.run_async(talk())
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/logs",
                               token=self.token)
        self.assertEqual(status, 200)
        self.assertEqual([e["message"] for e in body["entries"]], ["kept"])

    def test_issue12_8_history_answers_are_cut_by_bytes_and_say_so(self):
        # 40 samples of ~250 KiB (a big container host): 10 MB in all, over the 8 MiB body budget.
        start = now_ms() - 600_000

        async def feed():
            ws = await self.python_agent()
            for seq in range(1, 41):
                frame = sample(self.server["id"], seq, start + seq * 1000, interfaces=1000, name_bytes=120)
                self.assertLess(len(frame), MAX_SAMPLE_FRAME)
                await ws.send(frame)
            await recv_until(ws, lambda m: m["type"] == "ack" and m["seq"] == 40, 60)
            await ws.close()
        self.run_async(feed())

        url = f"{self.collector.url}/api/v1/servers/{self.server['id']}/metrics?from={start // 1000}"
        status, body, headers = http("GET", url, token=self.token)
        self.assertEqual(status, 200)
        self.assertTrue(body["truncated"])
        self.assertLess(int(headers["Content-Length"]), 9 * 1024 * 1024)
        first = len(body["samples"])
        self.assertTrue(20 < first < 40, first)
        # The rest is one more request away, from the last timestamp received.
        last = body["samples"][-1]["timestamp"]
        last_s = int(datetime.datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ")
                     .replace(tzinfo=datetime.timezone.utc).timestamp()) + 1
        status, rest, _ = http("GET", f"{url.split('?')[0]}?from={last_s}", token=self.token)
        self.assertEqual(status, 200)
        self.assertFalse(rest["truncated"])
        self.assertEqual(first + len(rest["samples"]), 40)

        async def socket_history():
            ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/ws/metrics/{self.server['id']}",
                                          open_timeout=10, close_timeout=5, max_size=None)
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
            await recv_until(ws, lambda m: m["type"] == "auth_success")
            await ws.send(json.dumps({"type": "subscribe", "history_s": 3600}))
            history = await recv_until(ws, lambda m: m["type"] == "history", 30)
            await ws.close()
            return history
        history = self.run_async(socket_history())
        self.assertEqual(len(history["data"]), first)

    def test_issue12_10_the_database_and_its_wal_and_shm_are_owner_only(self):
        db = os.path.join(self.data_dir, "corvid.db")
        # The collector has written (users, servers) and holds the database open: WAL and SHM exist.
        wait_until(lambda: os.path.exists(db + "-wal") and os.path.exists(db + "-shm"), 10, what="WAL and SHM")
        for path in (db, db + "-wal", db + "-shm"):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)

    def test_issue12_10_an_older_group_readable_database_is_made_owner_only(self):
        self.collector.stop()
        db = os.path.join(self.data_dir, "corvid.db")
        os.chmod(db, 0o644)
        self.start_collector(name="again")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
