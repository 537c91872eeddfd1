"""Faults with real processes: the collector killed with SIGKILL while an agent streams, and a link
black-holed (half-open) by a TCP proxy between agent and collector. After each, once the agent has
caught up, the stored series holds every sampling instant exactly once: the agent samples on
wall-clock multiples of its interval, keeps unacknowledged samples in its outbox and sends them
again after reconnecting, and the collector stores each (server_id, timestamp) once.

(Kill -9 of the agent itself needs the on-disk spool, which does not exist yet.)
"""
import signal
import socket
import time
import unittest

from harness import CorvidTestCase, add_server, add_user, http, login, stored_timestamps, wait_until
from tcp_proxy import TcpProxy

INTERVAL_MS = 1000
DETECTED = ("nothing heard from the collector", "connection to the collector lost")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_ms():
    return int(time.time() * 1000)


def series_faults(ts):
    """Duplicates and holes in a series that should step by exactly one interval; [] if none."""
    faults = []
    for a, b in zip(ts, ts[1:]):
        if b == a:
            faults.append(f"duplicate {a}")
        elif b - a != INTERVAL_MS:
            faults.append(f"step {a} -> {b} ({b - a} ms)")
    return faults


def log_event(process, needles):
    text = process.log_text()
    return next((line for line in text.splitlines() if any(n in line for n in needles)), None)


class FaultTest(CorvidTestCase):
    def setUp(self):
        super().setUp()
        self.server = add_server(self.data_dir, "web-1")
        self.sid = self.server["id"]

    def stamps(self):
        return stored_timestamps(self.data_dir, self.sid)

    def wait_caught_up(self, since_ms, timeout):
        """Waits until a sample taken 2 intervals after since_ms is stored. The agent sends its
        outbox in seq order and the collector commits in order, so everything older is in by then."""
        wait_until(lambda: (s := self.stamps()) and s[-1] >= since_ms + 2 * INTERVAL_MS, timeout,
                   interval=0.1, what=f"a sample newer than {since_ms + 2 * INTERVAL_MS}")

    def assert_every_instant_once(self, ts, around_ms):
        self.assertLess(ts[0], around_ms, "the series must start before the fault")
        self.assertGreater(ts[-1], around_ms, "the series must go past the fault")
        self.assertEqual(series_faults(ts), [], f"stored series {ts[0]}..{ts[-1]} ({len(ts)} samples)")

    def test_kill9_collector_then_restart_has_every_timestamp_once(self):
        port = free_port()
        collector = self.start_collector(port=port, name="collector-1")
        self.start_agent(collector.ws_url, self.server["api_key"], interval=1)
        wait_until(lambda: len(self.stamps()) >= 3, 20, what="3 stored samples")

        # SIGKILL: no close frames, no graceful shutdown; an ack may be lost after its commit.
        killed_at = now_ms()
        collector.stop(signal.SIGKILL)
        before = self.stamps()
        # The agent keeps sampling into its outbox while nothing listens.
        wait_until(lambda: now_ms() >= killed_at + 5 * INTERVAL_MS, 10, what="5 intervals down")

        restarted = time.monotonic()
        collector = self.start_collector(port=port, name="collector-2")
        restart_ms = now_ms()
        # Every sample taken while the collector was down is replayed: wait for them with a deadline.
        wait_until(lambda: set(range(before[-1], restart_ms - INTERVAL_MS, INTERVAL_MS)) <= set(self.stamps()),
                   40, interval=0.1, what="samples taken while the collector was down")
        catch_up_s = time.monotonic() - restarted
        self.wait_caught_up(restart_ms, 20)

        ts = self.stamps()
        self.assert_every_instant_once(ts, killed_at)
        self.assertGreaterEqual(ts[-1] - before[-1], 5 * INTERVAL_MS)
        print(f"\n[figure] kill -9: {len(ts) - len(before)} samples after the kill, "
              f"down {(restart_ms - killed_at) / 1000:.1f} s, outbox replayed {catch_up_s:.1f} s after restart")

    def test_blackholed_link_is_detected_and_the_gap_is_replayed(self):
        add_user(self.data_dir, "admin", "admin")
        collector = self.start_collector()
        token = login(collector.url)
        proxy = TcpProxy("127.0.0.1", collector.port).start()
        self.addCleanup(proxy.close)
        agent = self.start_agent(f"ws://127.0.0.1:{proxy.port}", self.server["api_key"], interval=1)
        wait_until(lambda: len(self.stamps()) >= 3, 20, what="3 stored samples")

        holed = time.monotonic()
        holed_ms = now_ms()
        proxy.blackhole()
        # Nothing moves either way; the agent must see it from the silence within ~3 intervals.
        line = wait_until(lambda: log_event(agent, DETECTED), 8, what="the agent to detect the dead link")
        detect_s = time.monotonic() - holed
        wait_until(lambda: time.monotonic() >= holed + 5, 10, what="5 intervals of black hole")
        self.assertEqual((collector.proc.poll(), agent.proc.poll()), (None, None), "both processes still run")

        proxy.restore()
        restored = time.monotonic()
        restore_ms = now_ms()
        hole = set(range(holed_ms // INTERVAL_MS * INTERVAL_MS + INTERVAL_MS, restore_ms - INTERVAL_MS, INTERVAL_MS))
        wait_until(lambda: hole <= set(self.stamps()), 40, interval=0.1,
                   what="samples taken during the black hole")
        catch_up_s = time.monotonic() - restored
        self.wait_caught_up(restore_ms, 20)

        ts = self.stamps()
        self.assert_every_instant_once(ts, holed_ms)
        status, body, _ = http("GET", f"{collector.url}/api/v1/servers/{self.sid}", token=token)
        self.assertEqual((status, body["online"]), (200, True))
        print(f"\n[figure] black hole: agent detected it after {detect_s:.1f} s ({line.strip()[-80:]}); "
              f"caught up {catch_up_s:.1f} s after the link returned")

    def test_collector_frees_a_half_open_agent_link_and_shows_the_server_offline(self):
        # The collector ends a half-open agent link after three of the agent's intervals plus 2 s
        # (PROTOCOL.md 3.7: 5 s at interval 1); the proxy refuses new connections meanwhile, so no
        # newer link replaces it. Without that rule only the 30 s WebSocket idle timeout would.
        add_user(self.data_dir, "admin", "admin")
        collector = self.start_collector()
        token = login(collector.url)
        proxy = TcpProxy("127.0.0.1", collector.port).start()
        self.addCleanup(proxy.close)
        self.start_agent(f"ws://127.0.0.1:{proxy.port}", self.server["api_key"], interval=1)
        wait_until(lambda: len(self.stamps()) >= 2, 20, what="2 stored samples")

        def online():
            status, body, _ = http("GET", f"{collector.url}/api/v1/servers/{self.sid}", token=token)
            self.assertEqual(status, 200)
            return body["online"]

        wait_until(online, 10, what="the server shown online")
        holed = time.monotonic()
        proxy.blackhole()
        wait_until(lambda: not online(), 45, interval=0.25, what="the server shown offline")
        offline_s = time.monotonic() - holed
        # Well before the 30 s idle timeout: the interval-based deadline ended it.
        self.assertLess(offline_s, 20)
        print(f"\n[figure] half-open agent link: collector showed the server offline after {offline_s:.1f} s "
              f"({proxy.refused} agent reconnects refused meanwhile)")


if __name__ == "__main__":
    unittest.main()
