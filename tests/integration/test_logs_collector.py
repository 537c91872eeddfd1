"""Logs and gaps through the real collector (issues "Logs" and "Reliability"; PROTOCOL.md section 11):
a Python agent sends log batches and gap reports over the agent socket; acks on the logs stream,
one stored copy of a resent batch, live logs sockets with level/search/source filters and history,
a subscriber that stops reading (it loses entries, is told how many, and ingest does not wait for
it), the REST routes with their filters and cursor, and invalid log messages."""
import asyncio
import json
import os
import socket
import sqlite3
import time
import unittest
import urllib.parse

import websockets

from harness import (CorvidTestCase, add_server, add_user, frontend, http, login, recv_json, recv_until)

VIEWER_PASSWORD = "viewer-password-1"


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def entry(ts_ms, message, level="INFO", source="/var/log/app.log", **extra):
    e = {"timestamp": iso(ts_ms), "level": level, "source": source, "message": message}
    e.update(extra)
    return e


def log_frame(seq, entries):
    return json.dumps({"type": "log", "seq": seq, "entries": entries}, separators=(",", ":"))


class FakeAgent:
    """The agent side of the socket, as far as logs go: auth, send, and read acks and errors."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def connect(cls, ws_url, api_key):
        ws = await websockets.connect(f"{ws_url}/api/v1/agents/ws", open_timeout=10, close_timeout=5,
                                      max_queue=None)
        await ws.send(json.dumps({"type": "auth", "api_key": api_key, "agent_version": "logs-test",
                                  "hostname": "fake"}))
        reply = await recv_json(ws)
        assert reply["type"] == "auth_success", reply
        return cls(ws)

    async def send_logs(self, seq, entries):
        await self.ws.send(log_frame(seq, entries))

    async def next_reply(self, timeout=15):
        """The next ack or error (pongs and commands are not expected here)."""
        return await recv_until(self.ws, lambda m: m["type"] in ("ack", "error"), timeout)

    async def close(self):
        await self.ws.close()


class LogsCollector(CorvidTestCase):
    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "admin", "admin")
        add_user(self.data_dir, "viewer", "viewer", password=VIEWER_PASSWORD)
        self.server = add_server(self.data_dir, "web-1")
        self.collector = self.start_collector()
        self.token = login(self.collector.url)
        self.viewer_token = login(self.collector.url, "viewer", VIEWER_PASSWORD)
        self.now = int(time.time() * 1000)

    def agent(self):
        return FakeAgent.connect(self.collector.ws_url, self.server["api_key"])

    def stored_count(self):
        con = sqlite3.connect(f"file:{os.path.join(self.data_dir, 'corvid.db')}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute("SELECT count(*) FROM log_entries WHERE server_id = ?",
                               (self.server["id"],)).fetchone()[0]
        finally:
            con.close()

    def rest_logs(self, token=None, **params):
        query = urllib.parse.urlencode(params)
        return http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/logs?{query}",
                    token=token or self.token)

    # ---- the agent socket --------------------------------------------------------------------

    def test_batches_are_acked_on_the_logs_stream_and_a_resent_batch_is_stored_once(self):
        async def talk():
            agent = await self.agent()
            replies = []
            await agent.send_logs(1, [entry(self.now, "one"), entry(self.now + 1, "two", truncated=True)])
            replies.append(await agent.next_reply())
            await agent.send_logs(2, [entry(self.now + 2, "three", "ERROR")])
            replies.append(await agent.next_reply())
            # The ack of 1 was "lost": the agent sends batch 1 again after reconnecting.
            await agent.close()
            agent = await self.agent()
            await agent.send_logs(1, [entry(self.now, "one"), entry(self.now + 1, "two", truncated=True)])
            replies.append(await agent.next_reply())
            await agent.close()
            return replies

        replies = self.run_async(talk(), timeout=30)
        self.assertEqual(replies, [{"type": "ack", "seq": 1, "stream": "logs"},
                                   {"type": "ack", "seq": 2, "stream": "logs"},
                                   {"type": "ack", "seq": 1, "stream": "logs"}])
        self.assertEqual(self.stored_count(), 3)
        status, body, _ = self.rest_logs()
        self.assertEqual(status, 200)
        self.assertEqual([e["message"] for e in body["entries"]], ["three", "two", "one"])
        self.assertEqual(body["entries"][1], {"timestamp": iso(self.now + 1), "level": "INFO",
                                              "source": "/var/log/app.log", "message": "two", "truncated": True})
        self.assertNotIn("truncated", body["entries"][0])
        self.assertIsNone(body["next"])

    def test_invalid_log_and_gap_messages_get_invalid_message_and_the_socket_stays_open(self):
        good = entry(self.now, "fine")
        cases = [
            (log_frame(1, [entry(self.now, "x", "LOUD")]), "log.entries[0].level"),
            (log_frame(1, []), "log.entries: must not be empty"),
            (log_frame(0, [good]), "log.seq: must be at least 1"),
            (log_frame(1, [dict(good, message="m" * 65537)]), "log.entries[0].message: longer than 65536 bytes"),
            (log_frame(1, [dict(good, source="s" * 1025)]), "log.entries[0].source: longer than 1024 bytes"),
            (log_frame(1, [dict(good, timestamp="yesterday")]), "log.entries[0].timestamp"),
            (log_frame(1, [good] * 1001), "log.entries: more than 1000 entries"),
            (json.dumps({"type": "log", "seq": 1}), "log.entries: missing"),
            (json.dumps({"type": "gap", "stream": "logs", "first_seq": 5, "last_seq": 4, "count": 1,
                         "reason": "spool_full"}), "gap.last_seq: less than first_seq"),
            (json.dumps({"type": "gap", "stream": "disk", "first_seq": 1, "last_seq": 1, "count": 1,
                         "reason": "x"}), "gap.stream"),
        ]

        async def talk():
            agent = await self.agent()
            answers = []
            for frame, _ in cases:
                await agent.ws.send(frame)
                answers.append(await agent.next_reply())
            await agent.send_logs(9, [good])
            ack = await agent.next_reply()
            await agent.close()
            return answers, ack

        answers, ack = self.run_async(talk(), timeout=30)
        for (frame, expected), answer in zip(cases, answers):
            with self.subTest(frame=frame[:80]):
                self.assertEqual(answer["type"], "error")
                self.assertEqual(answer["code"], "invalid_message")
                self.assertIn(expected, answer["message"])
        self.assertEqual(ack, {"type": "ack", "seq": 9, "stream": "logs"})
        self.assertEqual(self.stored_count(), 1)

    def test_gaps_are_stored_once_and_listed(self):
        gap = {"type": "gap", "stream": "logs", "first_seq": 10, "last_seq": 19, "count": 10,
               "from": iso(self.now - 60000), "to": iso(self.now - 1000), "reason": "spool_full"}

        async def talk():
            agent = await self.agent()
            await agent.ws.send(json.dumps(gap))
            await agent.ws.send(json.dumps(dict(gap, last_seq=25, count=16)))  # reported again, wider
            await agent.ws.send(json.dumps({"type": "gap", "stream": "metrics", "first_seq": 3, "last_seq": 3,
                                            "count": 1, "reason": "spool_age"}))
            # Gaps are not acked; a batch behind them is, and is handled after them.
            await agent.send_logs(1, [entry(self.now, "after the gaps")])
            reply = await agent.next_reply()
            await agent.close()
            return reply

        self.assertEqual(self.run_async(talk(), timeout=30), {"type": "ack", "seq": 1, "stream": "logs"})
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/gaps",
                               token=self.viewer_token)
        self.assertEqual(status, 200)
        self.assertEqual(len(body["gaps"]), 2)
        by_stream = {g["stream"]: g for g in body["gaps"]}
        logs_gap = by_stream["logs"]
        self.assertEqual((logs_gap["first_seq"], logs_gap["last_seq"], logs_gap["count"], logs_gap["reason"]),
                         (10, 25, 16, "spool_full"))
        self.assertEqual((logs_gap["from"], logs_gap["to"]), (gap["from"], gap["to"]))
        self.assertIsNotNone(logs_gap["reported_at"])
        self.assertEqual((by_stream["metrics"]["from"], by_stream["metrics"]["to"]), (None, None))
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/gaps?limit=1",
                               token=self.token)
        self.assertEqual((status, len(body["gaps"])), (200, 1))
        self.assertIn("reports a gap in its logs: seq 10 to 19, 10 records lost", self.collector.log_text())

    # ---- the logs socket ---------------------------------------------------------------------

    def test_live_socket_filters_history_and_resubscribe(self):
        n = self.now
        stored = [entry(n - 5000, "request timeout on /api", "WARN"),
                  entry(n - 4000, "request ok", "WARN"),
                  entry(n - 3000, "Timeout talking to db", "ERROR"),
                  entry(n - 2000, "timeout but only info", "INFO"),
                  entry(n - 1000, "timeout elsewhere", "CRIT", source="/var/log/other.log")]

        async def talk():
            agent = await self.agent()
            await agent.send_logs(1, stored)
            await agent.next_reply()
            # A viewer may read logs; the short alias path works as well.
            ws = await websockets.connect(f"{self.collector.ws_url}/ws/logs/{self.server['id']}", open_timeout=10)
            await ws.send(json.dumps({"type": "auth", "token": self.viewer_token}))
            hello = await recv_json(ws)
            status = await recv_until(ws, lambda m: m["type"] == "status")
            await ws.send(json.dumps({"type": "subscribe", "level": "LOUD"}))
            bad_level = await recv_until(ws, lambda m: m["type"] == "error")
            await ws.send(json.dumps({"type": "subscribe", "history": 5000}))
            bad_history = await recv_until(ws, lambda m: m["type"] == "error")
            await ws.send(json.dumps({"type": "subscribe", "level": "WARN", "search": "timeout",
                                      "source": "/var/log/app.log", "history": 10}))
            history = [await recv_until(ws, lambda m: m["type"] == "log") for _ in range(2)]
            await agent.send_logs(2, [entry(n + 1, "timeout again", "WARN"),              # matches
                                      entry(n + 2, "timeout again", "INFO"),              # level too low
                                      entry(n + 3, "no match here", "ERROR"),             # search
                                      entry(n + 4, "timeout", "ERROR", source="/x.log"),  # source
                                      entry(n + 5, "TIMEOUT, last", "CRIT")])             # matches
            await agent.next_reply()
            live = [await recv_until(ws, lambda m: m["type"] == "log") for _ in range(2)]
            # A new subscription replaces the filter; with history it sends that first.
            await ws.send(json.dumps({"type": "subscribe", "search": "request", "history": 1}))
            again = await recv_until(ws, lambda m: m["type"] == "log")
            await agent.send_logs(3, [entry(n + 6, "timeout (not wanted now)", "CRIT"),
                                      entry(n + 7, "request done", "DEBUG")])
            await agent.next_reply()
            after = await recv_until(ws, lambda m: m["type"] == "log")
            await ws.send(json.dumps({"type": "ping"}))
            pong = await recv_until(ws, lambda m: m["type"] in ("pong", "log"))
            await ws.close()
            await agent.close()
            return hello, status, bad_level, bad_history, history, live, again, after, pong

        hello, status, bad_level, bad_history, history, live, again, after, pong = self.run_async(talk(), timeout=30)
        self.assertEqual(hello["type"], "auth_success")
        self.assertEqual(status["data"]["online"], True)
        self.assertEqual((bad_level["code"], bad_history["code"]), ("invalid_subscription", "invalid_subscription"))
        self.assertIn("level", bad_level["message"])
        self.assertIn("history", bad_history["message"])
        # History: the matching stored entries, oldest first.
        self.assertEqual([h["data"]["message"] for h in history], ["request timeout on /api", "Timeout talking to db"])
        self.assertEqual(history[0]["data"], stored[0])
        self.assertEqual([m["data"]["message"] for m in live], ["timeout again", "TIMEOUT, last"])
        self.assertEqual([m["data"]["level"] for m in live], ["WARN", "CRIT"])
        self.assertEqual(again["data"]["message"], "request ok")
        self.assertEqual(after["data"]["message"], "request done")
        self.assertEqual(pong["type"], "pong")

    def test_unknown_server_and_bad_token_are_refused(self):
        async def talk():
            ws, reply = await frontend(self.collector.ws_url, "00000000-0000-4000-8000-000000000000", self.token,
                                       path="logs")
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                code = closed.code
            ws2, reply2 = await frontend(self.collector.ws_url, self.server["id"], "not-a-token", path="logs")
            try:
                await asyncio.wait_for(ws2.recv(), 10)
            except websockets.ConnectionClosed as closed:
                code2 = closed.code
            return reply, code, reply2, code2

        reply, code, reply2, code2 = self.run_async(talk(), timeout=30)
        self.assertEqual((reply["code"], code), ("not_found", 1008))
        self.assertEqual((reply2["code"], code2), ("auth_failed", 1008))

    def test_a_subscriber_that_does_not_read_loses_entries_and_is_told_while_ingest_goes_on(self):
        batches, per_batch = 40, 500  # 20 000 entries, ~15 MB of frames: far more than socket buffers
        filler = "x" * 600

        async def talk():
            # A logs socket that reads nothing: a small receive buffer and a one-message queue, so
            # the collector's writes back up at once.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            sock.connect(("127.0.0.1", self.collector.port))
            slow = await websockets.connect(f"{self.collector.ws_url}/api/v1/ws/logs/{self.server['id']}",
                                            sock=sock, open_timeout=10, max_queue=1)
            await slow.send(json.dumps({"type": "auth", "token": self.token}))
            assert (await recv_json(slow))["type"] == "auth_success"
            # A second, reading subscriber with a narrow filter gets everything it asked for.
            fast, _ = await frontend(self.collector.ws_url, self.server["id"], self.token, path="logs")
            await fast.send(json.dumps({"type": "subscribe", "search": "7777"}))
            await fast.send(json.dumps({"type": "ping"}))
            await recv_until(fast, lambda m: m["type"] == "pong")  # the subscription is in force

            agent = await self.agent()
            started = time.monotonic()
            acks = []

            async def read_acks():
                while len(acks) < batches:
                    reply = await agent.next_reply(20)
                    assert reply["type"] == "ack", reply
                    acks.append(reply["seq"])

            reader = asyncio.ensure_future(read_acks())
            for b in range(batches):
                await agent.send_logs(b + 1, [entry(self.now + b * per_batch + i,
                                                    f"burst {b * per_batch + i:06d} {filler}")
                                              for i in range(per_batch)])
            await asyncio.wait_for(reader, 25)
            ingest_s = time.monotonic() - started
            fast_msgs = []
            while len(fast_msgs) < 2:  # 007777 and 017777
                fast_msgs.append(await recv_until(fast, lambda m: m["type"] == "log", 10))

            # Now read the slow socket: what was queued, and how many were left out, until every
            # entry is accounted for. A slow machine (ASan) lets the reader drain now and then during
            # the burst, so there may be several drop episodes, each with its own marker.
            got, dropped = 0, []
            while got + sum(dropped) < batches * per_batch:
                m = await recv_json(slow, 10)
                if m["type"] == "log":
                    got += 1
                elif m["type"] == "dropped":
                    dropped.append(m["count"])
            await agent.send_logs(batches + 1, [entry(self.now + batches * per_batch, "after the burst")])
            await agent.next_reply()
            tail = await recv_until(slow, lambda m: m["type"] == "log" and "after the burst" in m["data"]["message"])
            for ws in (slow, fast, agent.ws):
                await ws.close()
            return acks, ingest_s, fast_msgs, got, dropped, tail

        acks, ingest_s, fast_msgs, got, dropped, tail = self.run_async(talk(), timeout=60)
        self.assertEqual(acks, list(range(1, batches + 1)))
        self.assertEqual([m["data"]["message"][:12] for m in fast_msgs], ["burst 007777", "burst 017777"])
        self.assertGreaterEqual(len(dropped), 1)
        self.assertTrue(all(n > 0 for n in dropped))
        self.assertEqual(got + sum(dropped), batches * per_batch, "every entry received or counted, none twice")
        self.assertEqual(tail["data"]["message"], "after the burst")
        self.assertEqual(self.stored_count(), batches * per_batch + 1)
        print(f"\n[figure] ingest of {batches * per_batch} log entries: {ingest_s:.1f} s; "
              f"a reader that paused got {got}, dropped {sum(dropped)} in {len(dropped)} episode(s)")

    # ---- REST --------------------------------------------------------------------------------

    def test_rest_filters_cursor_paging_and_errors(self):
        n = self.now

        async def fill():
            agent = await self.agent()
            for b in range(3):
                await agent.send_logs(b + 1, [
                    entry(n + b * 100 + i, f"line {b * 100 + i} {'disk full' if i % 10 == 0 else 'ok'}",
                          "ERROR" if i % 10 == 0 else "INFO", "/var/log/a.log" if i % 2 else "/var/log/b.log")
                    for i in range(100)])
                await agent.next_reply()
            await agent.close()

        self.run_async(fill(), timeout=30)
        # Paging newest first: 300 entries in pages of 120, each once.
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 120}
            if cursor:
                params["cursor"] = cursor
            status, body, _ = self.rest_logs(token=self.viewer_token, **params)
            self.assertEqual(status, 200, body)
            seen += [e["message"] for e in body["entries"]]
            cursor, pages = body["next"], pages + 1
            if not cursor:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 300)
        self.assertEqual(len(set(seen)), 300)
        self.assertEqual(seen[0], "line 299 ok")
        # Filters.
        status, body, _ = self.rest_logs(level="error")
        self.assertEqual((status, len(body["entries"])), (200, 30))
        status, body, _ = self.rest_logs(search="DISK FULL", source="/var/log/b.log", limit=1000)
        self.assertEqual(len(body["entries"]), 30)  # every 10th line is even, so in b.log
        status, body, _ = self.rest_logs(search='"line 1" OR "line 2"', limit=1000)  # a query
        self.assertTrue(all("line 1" in e["message"] or "line 2" in e["message"] for e in body["entries"]))
        self.assertEqual(len(body["entries"]), 222)
        status, body, _ = self.rest_logs(search='"unbalanced (', limit=5)  # not a query: a literal, not a 500
        self.assertEqual((status, body["entries"]), (200, []))
        status, body, _ = self.rest_logs(**{"from": iso(n + 100), "to": iso(n + 199)})
        self.assertEqual(len(body["entries"]), 100)
        self.assertTrue(all(e["message"].startswith("line 1") for e in body["entries"]))
        status, body, _ = self.rest_logs(**{"from": (n + 250) // 1000 + 1})
        self.assertEqual(status, 200)
        # Bad parameters are 400 with a message naming the parameter.
        for params, fragment in [({"level": "LOUD"}, "'level'"), ({"limit": 0}, "'limit'"),
                                 ({"limit": 1001}, "'limit'"), ({"from": "yesterday"}, "'from'"),
                                 ({"from": n // 1000 + 10, "to": n // 1000}, "'from' is after 'to'"),
                                 ({"cursor": "nope"}, "'cursor'"), ({"search": "s" * 1025}, "'search'"),
                                 ({"source": "s" * 1025}, "'source'")]:
            with self.subTest(params=str(params)[:60]):
                status, body, _ = self.rest_logs(**params)
                self.assertEqual(status, 400)
                self.assertIn(fragment, body["error"])
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/logs?search=%ff",
                               token=self.token)
        self.assertEqual((status, "UTF-8" in body["error"]), (400, True))
        # Unknown server, no token.
        status, _, _ = http("GET", f"{self.collector.url}/api/v1/servers/00000000-0000-4000-8000-000000000000/logs",
                            token=self.token)
        self.assertEqual(status, 404)
        status, _, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/logs")
        self.assertEqual(status, 401)


if __name__ == "__main__":
    unittest.main()
