"""The agent's Docker client (agent/docker/) against podman's Docker-compatible API service.

Real containers, no mocks: tests/integration/podman_service.py runs the service on a private socket
with private storage; corvid-docker-probe (tests/docker/docker_probe.cpp) drives the C++ client.
One service, one image import for the whole module; each test uses its own containers.
Run by ctest as `docker.podman`: exit code 77 (ctest: skipped) when podman cannot run here, with
the reason printed; it never passes without having run.
"""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import podman_service  # noqa: E402

BUILD_DIR = os.environ.get("CORVID_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
PROBE = os.environ.get("CORVID_DOCKER_PROBE", os.path.join(BUILD_DIR, "tests", "docker", "corvid-docker-probe"))


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class DockerClientTest(unittest.TestCase):
    podman = None

    @classmethod
    def setUpClass(cls):
        cls.podman = podman_service.PodmanService()
        cls.podman.start()  # SkipTest with the reason when podman cannot run here
        try:
            if not os.access(PROBE, os.X_OK):
                raise AssertionError(f"{PROBE} is not built (ninja corvid-docker-probe)")
            cls.web_id = cls.podman.create_container("corvid-web")
            cls.busy_id = cls.podman.create_container("corvid-busy", command=podman_service.BUSY_COMMAND)
            cls.created_id = cls.podman.create_container("corvid-created", start=False)
        except BaseException:
            cls.podman.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.podman:
            cls.podman.stop()

    # ---- helpers ---------------------------------------------------------------------------

    def probe(self, *args, socket_path=None, timeout=90):
        out = subprocess.run([PROBE, args[0], socket_path or self.podman.socket_path, *args[1:]],
                             capture_output=True, timeout=timeout)
        self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace"))
        return json.loads(out.stdout)

    def action(self, action, container, **kw):
        return self.probe("action", action, container, **kw)

    def assert_action(self, action, container, success, message):
        got = self.action(action, container)
        self.assertEqual(got, {"success": success, "message": message, "refused": False})

    def status(self, name):
        return self.podman.state(name)["Status"]

    @staticmethod
    def by_name(listing, name):
        found = [c for c in listing["containers"] if c["name"] == name]
        assert len(found) == 1, f"{name} listed {len(found)} times in {listing}"
        return found[0]

    # ---- listing -----------------------------------------------------------------------------

    def test_list_shows_every_container_with_name_image_state(self):
        listing = self.probe("list")
        self.assertEqual(listing["api"], "1.41")  # min(podman's 1.41, ours)
        web = self.by_name(listing, "corvid-web")
        self.assertEqual(web["id"], self.web_id)
        self.assertEqual(web["image"], podman_service.IMAGE)
        self.assertEqual(web["state"], "running")
        self.assertTrue(web["status"].startswith("Up"), web["status"])
        self.assertGreater(web["memory_bytes"], 0)
        self.assertIsNone(web["cpu_percent"])  # one reading: no delta yet
        self.assertFalse(web["stale"])
        created = self.by_name(listing, "corvid-created")
        self.assertEqual(created["state"], "created")
        self.assertIsNone(created["memory_bytes"])  # not running: no stats asked for

    def test_stats_give_cpu_memory_and_network_rates_after_two_refreshes(self):
        listing = self.probe("list", "--refreshes", "2", "--pause-ms", "1500")
        busy = self.by_name(listing, "corvid-busy")
        self.assertGreater(busy["cpu_percent"], 0.0)  # it spins a little every half second
        self.assertLess(busy["cpu_percent"], 100.0 * os.cpu_count())
        self.assertGreater(busy["memory_bytes"], 0)
        self.assertGreaterEqual(busy["memory_limit_bytes"], busy["memory_bytes"])
        # --network none: the counters exist and stay at zero
        self.assertEqual(busy["rx_bytes_per_s"], 0)
        self.assertEqual(busy["tx_bytes_per_s"], 0)
        web = self.by_name(listing, "corvid-web")
        self.assertGreaterEqual(web["cpu_percent"], 0.0)
        self.assertFalse(web["stale"])

    # ---- actions -------------------------------------------------------------------------------

    def test_stop_start_restart(self):
        self.podman.create_container("corvid-ssr")
        self.assert_action("stop", "corvid-ssr", True, "Container stopped")
        self.assertEqual(self.status("corvid-ssr"), "exited")
        self.assert_action("stop", "corvid-ssr", False, "Container already stopped")
        self.assert_action("start", "corvid-ssr", True, "Container started")
        self.assertEqual(self.status("corvid-ssr"), "running")
        self.assert_action("start", "corvid-ssr", False, "Container already started")
        started = self.podman.state("corvid-ssr")["StartedAt"]
        self.assert_action("restart", "corvid-ssr", True, "Container restarted")
        state = self.podman.state("corvid-ssr")
        self.assertEqual(state["Status"], "running")
        self.assertNotEqual(state["StartedAt"], started)

    def test_pause_and_unpause(self):
        cid = self.podman.create_container("corvid-pause")
        self.assert_action("pause", "corvid-pause", True, "Container paused")
        self.assertEqual(self.status("corvid-pause"), "paused")
        again = self.action("pause", "corvid-pause")
        self.assertFalse(again["success"])
        self.assertEqual(again["message"], f'"{cid}" is already paused')
        listing = self.probe("list")
        self.assertEqual(self.by_name(listing, "corvid-pause")["state"], "paused")
        self.assert_action("unpause", "corvid-pause", True, "Container unpaused")
        self.assertEqual(self.status("corvid-pause"), "running")

    def test_kill_then_remove(self):
        cid = self.podman.create_container("corvid-kill")
        refused = self.action("remove", "corvid-kill")  # no force: a running container stays
        self.assertFalse(refused["success"])
        self.assertIn("running", refused["message"])
        self.assertTrue(self.podman.exists("corvid-kill"))
        self.assert_action("kill", cid[:12], True, "Container killed")  # a short id works too
        self.assertEqual(self.status("corvid-kill"), "exited")
        again = self.action("kill", "corvid-kill")
        self.assertFalse(again["success"])
        self.assertIn("can only kill running containers", again["message"])
        self.assert_action("remove", "corvid-kill", True, "Container removed")
        self.assertFalse(self.podman.exists("corvid-kill"))
        self.assert_action("remove", "corvid-kill", False, "No such container: corvid-kill")

    def test_missing_container(self):
        for action in ("start", "stop", "restart", "pause", "unpause", "kill", "remove"):
            with self.subTest(action=action):
                self.assert_action(action, "corvid-missing", False, "No such container: corvid-missing")

    def test_invalid_input_is_refused_before_any_request(self):
        # Against a socket that does not exist: had a request been tried, the answer would say so.
        nowhere = "/nonexistent/corvid/docker.sock"
        for bad in ("../images/x", "a/b", "", "x" * 129, "a b", "a?force=1", ".."):
            with self.subTest(id=bad):
                got = self.action("stop", bad, socket_path=nowhere)
                self.assertEqual(got, {"success": False, "refused": True,
                                       "message": "Invalid container id (expected 1-128 characters of A-Z a-z 0-9 _ . -)"})
        for bad in ("exec", "Start", "rm", ""):
            with self.subTest(action=bad):
                got = self.action(bad, "corvid-web", socket_path=nowhere)
                self.assertTrue(got["refused"])
                self.assertIn("Unknown action", got["message"])
        self.assertEqual(self.status("corvid-web"), "running")

    # ---- a daemon that is not there, or does not answer -----------------------------------------

    def test_dead_socket_paths_give_a_clear_message(self):
        with tempfile.TemporaryDirectory(prefix="corvid-dead-") as d:
            missing = os.path.join(d, "docker.sock")
            got = self.action("start", "corvid-web", socket_path=missing)
            self.assertEqual(got["message"], f"Docker socket {missing} unreachable: No such file or directory")
            self.assertFalse(got["success"])
            stale = os.path.join(d, "stale.sock")  # a socket file nobody listens on
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(stale)
            s.close()
            got = self.action("start", "corvid-web", socket_path=stale)
            self.assertEqual(got["message"], f"Docker socket {stale} unreachable: Connection refused")
            listing = self.probe("list", socket_path=missing)
            self.assertIsNone(listing["containers"])  # nothing known yet: no containers array

    def test_silent_daemon_times_out(self):
        with tempfile.TemporaryDirectory(prefix="corvid-silent-") as d:
            path = os.path.join(d, "docker.sock")
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            server.listen(16)  # connections complete in the backlog; nothing ever answers
            try:
                started = time.monotonic()
                got = self.probe("action", "stop", "corvid-web", "--timeout-ms", "700", socket_path=path, timeout=30)
                took = time.monotonic() - started
            finally:
                server.close()
            self.assertEqual(got, {"success": False, "refused": False,
                                   "message": "Docker did not answer within 0.7 s"})
            self.assertLess(took, 10)

    def test_watcher_marks_stale_when_the_daemon_stops_answering_and_recovers(self):
        watch = subprocess.Popen([PROBE, "watch", self.podman.socket_path, "--interval-ms", "1000"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(json.loads(l)) for l in watch.stdout], daemon=True)
        reader.start()

        def wait_for(check, what, timeout=15):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=max(0.05, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if line["containers"] is not None and check(self.by_name(line, "corvid-busy"), line):
                    return line
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")

        try:
            fresh = wait_for(lambda busy, _: not busy["stale"] and busy["cpu_percent"] is not None, "fresh stats")
            self.podman.pause_service()  # a hung daemon: connects, never answers
            try:
                stale = wait_for(lambda _, line: all(c["stale"] for c in line["containers"]), "stale marks")
            finally:
                self.podman.resume_service()
            names = {c["name"] for c in stale["containers"]}
            self.assertTrue({"corvid-web", "corvid-busy", "corvid-created"} <= names)  # the last list, kept
            self.assertIsNotNone(self.by_name(stale, "corvid-busy")["memory_bytes"])   # with its last values
            wait_for(lambda busy, _: not busy["stale"], "fresh stats after SIGCONT")

            self.podman.stop_service()  # the daemon goes away
            try:
                wait_for(lambda _, line: all(c["stale"] for c in line["containers"]), "stale marks after stop")
            finally:
                self.podman.start_service()
            wait_for(lambda busy, _: not busy["stale"] and busy["cpu_percent"] is not None,
                     "fresh stats after the service came back")
            del fresh
        finally:
            watch.send_signal(signal.SIGTERM)
            try:
                rc = watch.wait(timeout=5)
            except subprocess.TimeoutExpired:
                watch.kill()
                watch.wait()
                rc = None
            log = watch.stderr.read().decode(errors="replace")
            watch.stdout.close()
            watch.stderr.close()
        self.assertEqual(rc, 0, f"watch did not end promptly on SIGTERM: {log}")
        # Logged once per change of state, not at every failed refresh.
        self.assertEqual(log.count("cannot list containers"), 2, log)
        self.assertEqual(log.count("containers listed again"), 2, log)
        self.assertIn("did not answer within", log)  # the hung daemon hit the refresh deadline
        self.assertIn("unreachable", log)            # the stopped one was not there


def main():
    result = unittest.main(exit=False, verbosity=2).result
    if not result.wasSuccessful() or (result.testsRun == 0 and not result.skipped):
        sys.exit(1)
    if result.skipped and len(result.skipped) >= result.testsRun:
        reasons = sorted({reason for _, reason in result.skipped})
        print("SKIPPED: " + "; ".join(reasons), flush=True)
        sys.exit(77)  # ctest: SKIP_RETURN_CODE
    sys.exit(0)


if __name__ == "__main__":
    main()
