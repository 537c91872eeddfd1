"""Docker actions end to end: operator → collector (REST) → agent (signed docker_command) → the
Docker Engine API of podman's service with a real container → docker_response → stored result;
and the containers array of every sample reaching GET /api/v1/servers/{id}/containers.
Skipped, with the reason, where podman cannot run (see podman_service.py)."""
import json
import os
import textwrap
import unittest

import websockets

from harness import CorvidTestCase, add_server, add_user, http, login, recv_json, wait_until
from podman_service import PodmanService


class DockerEndToEnd(CorvidTestCase):
    @classmethod
    def setUpClass(cls):
        cls.podman = PodmanService().start()  # SkipTest with the reason when podman cannot run here

    @classmethod
    def tearDownClass(cls):
        cls.podman.stop()

    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "alice", "operator")
        self.server = add_server(self.data_dir, "docker-host")
        self.collector = self.start_collector()
        self.alice = login(self.collector.url, "alice")
        if self.podman.exists("web"):
            self.podman.podman("rm", "--force", "--time", "0", "web")
        self.container = self.podman.create_container("web")
        config = os.path.join(self.tmp, "agent.toml")
        with open(config, "w") as f:
            f.write(textwrap.dedent(f"""\
                collector_public_key = "{self.server['collector_public_key']}"
                [docker]
                enabled = true
                socket = "{self.podman.socket_path}"
                actions = ["start", "stop", "restart"]
                """))
        os.chmod(config, 0o600)
        self.start_agent(self.collector.ws_url, self.server["api_key"], extra=("--config", config))

    def containers(self):
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/containers",
                               token=self.alice)
        return body["containers"] if status == 200 else None

    def web(self):
        return next((c for c in self.containers() or [] if c["name"] == "web"), None)

    def act(self, action, container="web"):
        status, body, _ = http("POST", f"{self.collector.url}/api/v1/servers/{self.server['id']}/docker",
                               {"action": action, "container_id": container}, token=self.alice)
        self.assertEqual(status, 202, body)
        cid = body["command_id"]
        final = ("completed", "failed", "denied", "lost")
        return wait_until(lambda: (lambda r: r[1] if r[1]["status"] in final else None)(
            http("GET", f"{self.collector.url}/api/v1/commands/{cid}", token=self.alice)), 60,
            what=f"docker {action} to finish")

    def test_containers_in_samples_and_actions_on_a_real_container(self):
        web = wait_until(self.web, 30, what="the container in the collector's list")
        self.assertEqual(web["state"], "running")
        self.assertTrue(self.container.startswith(web["id"]) or web["id"].startswith(self.container[:12]))
        self.assertIn("corvid-busybox", web["image"])
        wait_until(lambda: (self.web() or {}).get("memory_bytes") is not None, 30, what="container stats")

        stopped = self.act("stop")
        self.assertEqual((stopped["status"], stopped["kind"]), ("completed", "docker"), stopped)
        self.assertEqual(stopped["output"], "Container stopped")
        self.assertFalse(self.podman.state("web")["Running"])
        wait_until(lambda: (self.web() or {}).get("state") == "exited", 30, what="exited in the list")

        again = self.act("stop")
        self.assertIn("already stopped", again["output"])

        started = self.act("start")
        self.assertEqual(started["status"], "completed", started)
        self.assertTrue(self.podman.state("web")["Running"])

        restarted = self.act("restart")
        self.assertEqual((restarted["status"], restarted["output"]), ("completed", "Container restarted"))

        missing = self.act("start", "no-such-container")
        self.assertEqual(missing["status"], "failed")
        self.assertIn("No such container", missing["output"])

        # kill is not in this agent's docker.actions: refused on the host, Docker never asked.
        status, body, _ = http("POST", f"{self.collector.url}/api/v1/servers/{self.server['id']}/docker",
                               {"action": "kill", "container_id": "web"}, token=self.alice)
        self.assertEqual(status, 202)
        kill = wait_until(lambda: (lambda r: r[1] if r[1]["status"] != "running" and r[1]["status"] != "pending"
                                   else None)(http("GET", f"{self.collector.url}/api/v1/commands/{body['command_id']}",
                                                   token=self.alice)), 30, what="kill refused")
        self.assertEqual(kill["status"], "denied")
        self.assertTrue(self.podman.state("web")["Running"])

    def test_live_socket_shows_the_docker_response(self):
        wait_until(self.web, 30, what="the container in the collector's list")
        status, body, _ = http("POST", f"{self.collector.url}/api/v1/servers/{self.server['id']}/docker",
                               {"action": "restart", "container_id": "web"}, token=self.alice)
        self.assertEqual(status, 202)

        async def watch():
            async with websockets.connect(
                    f"{self.collector.ws_url}/api/v1/ws/commands/{body['command_id']}", open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "auth", "token": self.alice}))
                self.assertEqual((await recv_json(ws))["type"], "auth_success")
                return await recv_json(ws, 60)

        final = self.run_async(watch())
        self.assertEqual((final["type"], final["success"], final["message"]),
                         ("docker_response", True, "Container restarted"))


if __name__ == "__main__":
    unittest.main()
