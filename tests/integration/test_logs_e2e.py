"""Logs end to end with the real agent and collector: files under a temp dir appended, rotated
(rename + create, copytruncate) and truncated while the agent follows them; a journal written by
systemd-journal-remote into a directory the agent reads; every line reaches the collector's
database (through REST search) and a live log socket exactly once, also across an agent restart
(SIGTERM and SIGKILL); a flood is cut to the rate limit with an explicit "lines dropped" entry.
"""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import CorvidTestCase, add_server, add_user, frontend, http, login, recv_until, wait_until

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def append(path, lines):
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


class LogsEndToEnd(CorvidTestCase):
    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "admin", "admin")
        self.server = add_server(self.data_dir, "web-1")
        self.sid = self.server["id"]
        self.collector = self.start_collector()
        self.token = login(self.collector.url)
        self.logs = os.path.join(self.tmp, "logs")
        self.journal = os.path.join(self.tmp, "journal")
        os.makedirs(self.logs)
        os.makedirs(self.journal)

    def start_logging_agent(self, rate=1000, journal=False, name="agent"):
        config = os.path.join(self.tmp, f"{name}.toml")
        with open(config, "w") as f:
            f.write(f"[logs]\nrate_limit_per_s = {rate}\n\n[[logs.files]]\npath = \"{self.logs}/*.log\"\n")
            if journal:
                f.write(f"\n[logs.journal]\nenabled = true\nmin_priority = \"info\"\ndirectory = \"{self.journal}\"\n")
        return self.start_agent(self.collector.ws_url, self.server["api_key"], name=name, extra=("--config", config))

    def search(self, **params):
        """Every stored entry matching params, newest first, following the cursor."""
        entries, cursor = [], None
        while True:
            q = dict(params, limit=1000, **({"cursor": cursor} if cursor else {}))
            status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.sid}/logs?"
                                   + urllib.parse.urlencode(q), token=self.token)
            self.assertEqual(status, 200, body)
            entries += body["entries"]
            cursor = body["next"]
            if not cursor:
                return entries

    def messages(self, prefix):
        return [e["message"] for e in self.search(search=prefix) if e["message"].startswith(prefix)]

    def wait_for_messages(self, prefix, count, timeout=30):
        return wait_until(lambda: len(m := self.messages(prefix)) >= count and m, timeout, interval=0.25,
                          what=f"{count} stored lines starting {prefix!r}")

    def assert_each_once(self, prefix, expected):
        got = self.messages(prefix)
        self.assertEqual(sorted(got), sorted(expected), f"lines {prefix!r}: each exactly once")

    def wait_agent_following(self, agent, path):
        """The agent has started at the end of `path` once a probe line written after start arrives."""
        probe = f"probe-{os.path.basename(path)}-{time.monotonic_ns()}"

        def arrived():
            append(path, [probe])
            return self.messages(probe)
        wait_until(arrived, 20, interval=0.5, what=f"the agent following {path}")

    def test_appends_rotation_truncation_reach_storage_and_live_socket_once(self):
        app = os.path.join(self.logs, "app.log")
        append(app, ["old line written before the agent started"])
        agent = self.start_logging_agent()
        self.wait_agent_following(agent, app)

        async def scenario():
            ws, reply = await frontend(self.collector.ws_url, self.sid, self.token, path="logs")
            self.assertEqual(reply["type"], "auth_success")
            await ws.send(json.dumps({"type": "subscribe", "search": "e2e-"}))
            await asyncio.sleep(0.5)
            expected, live = [], []

            async def receive_all():
                """Reads until every expected line has come live (or 30 s pass: the caller compares)."""
                try:
                    while len(live) < len(expected):
                        msg = await recv_until(ws, lambda m: m["type"] in ("log", "dropped"), timeout=30)
                        self.assertEqual(msg["type"], "log", "no drops for a subscriber that reads")
                        live.append(msg["data"])
                except (AssertionError, asyncio.TimeoutError):
                    pass

            # Appends, including a level token.
            batch = [f"e2e-{i} [error] something failed" if i == 3 else f"e2e-{i} fine" for i in range(10)]
            append(app, batch)
            expected += batch
            await receive_all()
            # Rotation by rename + create: lines written to the old file just before and after the
            # rename are still read, then the new file from its start.
            append(app, ["e2e-before-rotate"])
            os.rename(app, app + ".1")
            append(app + ".1", ["e2e-after-rename-old-file"])
            append(app, ["e2e-new-file-1", "e2e-new-file-2"])
            expected += ["e2e-before-rotate", "e2e-after-rename-old-file", "e2e-new-file-1", "e2e-new-file-2"]
            await receive_all()
            # copytruncate: copy away, truncate in place, keep writing (what was written between the
            # copy and the truncation is lost to any reader; here nothing is).
            append(app, ["e2e-before-copytruncate"])
            expected.append("e2e-before-copytruncate")
            await receive_all()
            shutil.copy(app, app + ".2")
            os.truncate(app, 0)
            append(app, ["e2e-after-truncate"])
            expected.append("e2e-after-truncate")
            await receive_all()
            await ws.close()
            return expected, live

        expected, live = self.run_async(scenario(), timeout=90)
        self.assertEqual(sorted(d["message"] for d in live), sorted(expected))
        by_message = {d["message"]: d for d in live}
        self.assertEqual(by_message["e2e-3 [error] something failed"]["level"], "ERROR")
        self.assertEqual(by_message["e2e-0 fine"]["level"], "INFO")
        self.assertEqual(by_message["e2e-0 fine"]["source"], app)
        self.wait_for_messages("e2e-", len(expected))
        time.sleep(1)
        self.assert_each_once("e2e-", expected)
        self.assertEqual(self.messages("old line"), [], "a first start begins at the end")
        # The level filter of the REST API: only the error line is WARN or worse.
        errors = [e["message"] for e in self.search(level="WARN") if e["message"].startswith("e2e-")]
        self.assertEqual(errors, ["e2e-3 [error] something failed"])

    def watch_live(self, search):
        """Collects the live log messages matching `search` on a socket of its own (a thread), until
        the returned stop() is called; stop() returns the messages."""
        got, ready, done = [], threading.Event(), threading.Event()

        async def run():
            ws, _ = await frontend(self.collector.ws_url, self.sid, self.token, path="logs")
            await ws.send(json.dumps({"type": "subscribe", "search": search}))
            ready.set()
            while not done.is_set():
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except asyncio.TimeoutError:
                    continue
                if msg["type"] in ("log", "dropped"):
                    got.append(msg)
            await ws.close()

        thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
        thread.start()
        ready.wait(10)

        def stop():
            done.set()
            thread.join(10)
            return got
        return stop

    def test_lines_written_while_the_agent_is_down_arrive_once_after_sigterm_and_sigkill(self):
        app = os.path.join(self.logs, "app.log")
        agent = self.start_logging_agent()
        self.wait_agent_following(agent, app)
        stop_watching = self.watch_live("restart-")
        expected = []
        for round_, sig in enumerate((signal.SIGTERM, signal.SIGKILL, signal.SIGKILL)):
            before = [f"restart-{round_}-before-{i}" for i in range(50)]
            append(app, before)
            expected += before
            if sig == signal.SIGKILL:
                time.sleep(0.3 * round_)  # kill at different points of reading and spooling
            agent.stop(sig)
            down = [f"restart-{round_}-down-{i}" for i in range(50)]
            append(app, down)
            expected += down
            agent = self.start_logging_agent()
            self.wait_for_messages(f"restart-{round_}-down-", 50)
        time.sleep(1.5)  # anything that would arrive twice has arrived by now
        self.assert_each_once("restart-", expected)
        live = stop_watching()
        self.assertEqual([m["type"] for m in live if m["type"] != "log"], [], "a reading viewer loses nothing")
        self.assertEqual(sorted(m["data"]["message"] for m in live), sorted(expected),
                         "the live socket saw each line exactly once too")

    def test_a_flood_is_cut_to_the_rate_limit_with_a_dropped_entry(self):
        app = os.path.join(self.logs, "flood.log")
        agent = self.start_logging_agent(rate=50)
        self.wait_agent_following(agent, app)
        append(app, [f"flood-{i}" for i in range(5000)])
        report = wait_until(lambda: [e for e in self.search(search="dropped") if "lines dropped from" in e["message"]],
                            20, interval=0.5, what="a 'lines dropped' entry")
        self.assertIn(app, report[0]["message"])
        self.assertEqual(report[0]["level"], "WARN")

        def kept_and_dropped():
            kept = len(self.messages("flood-"))
            dropped = sum(int(e["message"].split()[0]) for e in self.search(search="dropped")
                          if "lines dropped from" in e["message"])
            return kept, dropped
        # The last drop report comes when the flood is over; a slow machine ships the rest later.
        wait_until(lambda: sum(kept_and_dropped()) >= 5000, 30, interval=0.5, what="the whole flood accounted for")
        kept, dropped = kept_and_dropped()
        self.assertLess(kept, 1000, "the rate limit held (50/s, bursts of 100)")
        self.assertEqual(kept + dropped, 5000, "every line is either shipped or counted as dropped")

    @unittest.skipUnless(os.path.exists(JOURNAL_REMOTE), "systemd-journal-remote is not installed "
                         "(packaging/build-deps.sh installs it)")
    def test_journal_entries_are_shipped_with_their_levels(self):
        def write_journal(name, entries):
            export = os.path.join(self.tmp, name + ".export")
            now_us = int(time.time() * 1e6)
            with open(export, "w") as f:
                for i, (prio, unit, msg) in enumerate(entries):
                    f.write(f"__REALTIME_TIMESTAMP={now_us + i}\n__MONOTONIC_TIMESTAMP={now_us + i}\n"
                            f"_BOOT_ID=6d2b0c3ae4f44a5e9f6f1b1c2d3e4f50\nPRIORITY={prio}\n"
                            f"_SYSTEMD_UNIT={unit}\nMESSAGE={msg}\n\n")
            subprocess.run([JOURNAL_REMOTE, "-o", os.path.join(self.journal, name + ".journal"), export],
                           check=True, capture_output=True, timeout=30)

        write_journal("first", [(6, "seed.service", "journal seed")])
        self.start_logging_agent(journal=True)
        # The agent starts at the end of the journal: once a probe written after its start arrives,
        # it is following.
        probes = iter(range(1000))

        def probe_arrived():
            n = next(probes)
            write_journal(f"probe-{n}", [(6, "probe.service", f"journal probe {n}")])
            return self.messages("journal probe")
        wait_until(probe_arrived, 30, interval=0.5, what="the agent following the journal")
        write_journal("second", [(3, "nginx.service", "jrn-error"), (4, "nginx.service", "jrn-warning"),
                                 (6, "ssh.service", "jrn-info"), (7, "ssh.service", "jrn-debug")])
        entries = wait_until(lambda: len(e := [x for x in self.search(search="jrn") if x["message"].startswith("jrn-")]) >= 3 and e,
                             30, interval=0.5, what="journal entries")
        time.sleep(1)
        got = {e["message"]: (e["level"], e["source"]) for e in self.search(search="jrn")}
        self.assertEqual(got, {"jrn-error": ("ERROR", "journal:nginx.service"),
                               "jrn-warning": ("WARN", "journal:nginx.service"),
                               "jrn-info": ("INFO", "journal:ssh.service")},
                         "debug is below min_priority = info")
        self.assertEqual(self.messages("journal seed"), [], "a first start begins at the end of the journal")


if __name__ == "__main__":
    unittest.main()
