"""Shell commands end to end with the real collector, the real agent and real child processes:
dispatch over REST, live output on /api/v1/ws/commands/{id}, the stored result and the audit log,
roles, the agent's local policy (disabled, not allow-listed), timeouts and lost commands."""
import asyncio
import hashlib
import json
import os
import signal
import textwrap
import time
import unittest

import websockets

from harness import CorvidTestCase, add_server, add_user, http, login, recv_json, wait_until

ALLOW = [r"echo [a-z ]+; echo [a-z]+ >&2; exit [0-9]+", r"sleep [0-9]+", r"id -un", r"printf '%s' [a-z]+"]


def agent_config(path, public_key, server_id, enabled=True, allow=ALLOW, extra=""):
    """Tests run as root: commands run as nobody (none of these needs root), and run as root only
    where a test says run_as = "root" itself."""
    patterns = ", ".join(json.dumps(p) for p in allow)
    with open(path, "w") as f:
        f.write(textwrap.dedent(f"""\
            collector_public_key = "{public_key}"
            server_id = "{server_id}"
            [commands]
            enabled = {"true" if enabled else "false"}
            allow = [{patterns}]
            run_as = "nobody"
            timeout_s = 20
            """) + extra)
    os.chmod(path, 0o600)
    return path


class CommandsEndToEnd(CorvidTestCase):
    def setUp(self):
        super().setUp()
        add_user(self.data_dir, "admin", "admin")
        add_user(self.data_dir, "alice", "operator")
        add_user(self.data_dir, "bob", "operator")
        add_user(self.data_dir, "vic", "viewer")
        self.server = add_server(self.data_dir, "web-1")
        self.collector = self.start_collector()
        self.admin = login(self.collector.url)
        self.alice = login(self.collector.url, "alice")
        self.bob = login(self.collector.url, "bob")
        self.vic = login(self.collector.url, "vic")

    def start_agent_with(self, **kwargs):
        path = agent_config(os.path.join(self.tmp, "agent.toml"), self.server["collector_public_key"],
                            self.server["id"], **kwargs)
        agent = self.start_agent(self.collector.ws_url, self.server["api_key"], extra=("--config", path))
        wait_until(lambda: self.server_online(), 15, what="agent online")
        return agent

    def server_online(self):
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}", token=self.admin)
        return status == 200 and body["online"]

    def dispatch(self, command, token=None, timeout_s=None):
        body = {"command": command}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        return http("POST", f"{self.collector.url}/api/v1/servers/{self.server['id']}/commands", body,
                    token=token or self.alice)

    def command(self, command_id, token=None):
        return http("GET", f"{self.collector.url}/api/v1/commands/{command_id}", token=token or self.alice)

    def wait_final(self, command_id, timeout=30):
        final = ("completed", "failed", "timed_out", "denied", "lost")
        return wait_until(lambda: (lambda r: r[1] if r[0] == 200 and r[1]["status"] in final else None)(
            self.command(command_id, self.admin)), timeout, what=f"command {command_id} to finish")

    async def watch(self, command_id, token):
        """Everything /api/v1/ws/commands/{id} sends after auth_success, until it closes."""
        ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/ws/commands/{command_id}", open_timeout=10)
        await ws.send(json.dumps({"type": "auth", "token": token}))
        first = await recv_json(ws)
        frames = []
        if first["type"] == "auth_success":
            try:
                while True:
                    frames.append(await recv_json(ws, 30))
            except websockets.ConnectionClosed as e:
                self.assertEqual(e.code, 1000)
        else:
            frames.append(first)
        await ws.close()
        return first, frames

    def test_collector_publishes_its_signing_key(self):
        status, body, _ = http("GET", f"{self.collector.url}/api/v1/collector", token=self.vic)
        self.assertEqual(status, 200)
        self.assertEqual(body["collector_public_key"], self.server["collector_public_key"])
        self.assertEqual(len(__import__("base64").b64decode(body["collector_public_key"])), 32)
        self.assertEqual(http("GET", f"{self.collector.url}/api/v1/collector")[0], 401)

    def test_command_runs_streams_output_and_is_audited(self):
        self.start_agent_with()
        cmd = "echo hello world; echo oops >&2; exit 3"
        status, body, _ = self.dispatch(cmd)
        self.assertEqual(status, 202, body)
        cid = body["command_id"]

        first, frames = self.run_async(self.watch(cid, self.alice))
        self.assertEqual(first["type"], "auth_success")
        self.assertEqual(frames[-1]["type"], "command_response")
        self.assertEqual(frames[-1]["exit_code"], 3)
        streamed = "".join(f["data"] for f in frames if f["type"] == "command_output")
        self.assertIn("hello world", streamed)
        self.assertIn("oops", streamed)

        result = self.wait_final(cid)
        self.assertEqual((result["status"], result["exit_code"], result["kind"]), ("failed", 3, "shell"))
        self.assertEqual(result["command"], cmd)
        self.assertEqual(result["issued_by"], "alice")
        self.assertIn("hello world\n", result["output"])
        self.assertEqual(result["output_sha256"], hashlib.sha256(result["output"].encode()).hexdigest())
        self.assertGreaterEqual(result["duration_ms"], 0)

        status, audit, _ = http("GET", f"{self.collector.url}/api/v1/audit", token=self.admin)
        self.assertEqual(status, 200)
        mine = [e for e in audit["entries"] if e["command_id"] == cid]
        self.assertEqual([e["action"] for e in mine], ["command.finished", "command.dispatched"])
        finished, dispatched = mine
        self.assertEqual((dispatched["actor"], dispatched["address"], dispatched["detail"]), ("alice", "127.0.0.1", cmd))
        self.assertEqual((finished["status"], finished["exit_code"]), ("failed", 3))
        self.assertEqual(finished["output_sha256"], result["output_sha256"])

        # A finished command watched afterwards: its stored output, then its result.
        _, again = self.run_async(self.watch(cid, self.admin))
        self.assertEqual([f["type"] for f in again], ["command_output", "command_response"])
        self.assertEqual(again[-1]["exit_code"], 3)

        status, history, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/commands",
                                  token=self.alice)
        self.assertEqual(status, 200)
        self.assertEqual([c["command_id"] for c in history["commands"]], [cid])
        self.assertNotIn("output", history["commands"][0])

    def test_roles_and_ownership(self):
        self.start_agent_with()
        status, body, _ = self.dispatch("printf '%s' private", token=self.alice)
        self.assertEqual(status, 202)
        cid = body["command_id"]
        self.wait_final(cid)
        # A viewer can do none of this.
        self.assertEqual(self.dispatch("id -un", token=self.vic)[0], 403)
        self.assertEqual(self.command(cid, self.vic)[0], 403)
        self.assertEqual(http("POST", f"{self.collector.url}/api/v1/servers/{self.server['id']}/docker",
                              {"action": "stop", "container_id": "web"}, token=self.vic)[0], 403)
        self.assertEqual(http("GET", f"{self.collector.url}/api/v1/audit", token=self.alice)[0], 403)
        # Another operator neither reads nor watches alice's command, nor sees it listed.
        self.assertEqual(self.command(cid, self.bob)[0], 404)
        first, _ = self.run_async(self.watch(cid, self.bob))
        self.assertEqual((first["type"], first["code"]), ("error", "not_found"))
        status, history, _ = http("GET", f"{self.collector.url}/api/v1/servers/{self.server['id']}/commands",
                                  token=self.bob)
        self.assertEqual(history["commands"], [])
        # The admin reads everything.
        status, result = self.command(cid, self.admin)[:2]
        self.assertEqual((status, result["output"]), (200, "private"))

    def test_bad_requests_and_offline_agent(self):
        url = f"{self.collector.url}/api/v1/servers/{self.server['id']}"
        self.assertEqual(self.dispatch("id -un")[:2], (409, {"error": "agent offline"}))
        self.assertEqual(self.dispatch("")[0], 400)
        self.assertEqual(self.dispatch("id -un", timeout_s=0)[0], 400)
        self.assertEqual(self.dispatch("x" * 20000)[0], 400)
        self.assertEqual(http("POST", f"{url}/docker", {"action": "explode", "container_id": "web"},
                              token=self.alice)[0], 400)
        self.assertEqual(http("POST", f"{url}/docker", {"action": "stop", "container_id": "../etc"},
                              token=self.alice)[0], 400)
        self.assertEqual(http("POST", f"{self.collector.url}/api/v1/servers/00000000-0000-4000-8000-000000000000/commands",
                              {"command": "id -un"}, token=self.alice)[0], 404)
        # Nothing was dispatched, so no command was audited (the users made in setUp are audited too).
        entries = http("GET", f"{self.collector.url}/api/v1/audit", token=self.admin)[1]["entries"]
        self.assertEqual([e for e in entries if e["action"].startswith("command.") or e["command_id"]], [])

    def test_agent_policy_refuses_what_it_does_not_allow(self):
        self.start_agent_with()
        status, body, _ = self.dispatch("cat /etc/shadow")
        self.assertEqual(status, 202)
        result = self.wait_final(body["command_id"])
        self.assertEqual(result["status"], "denied")
        self.assertIn("denied", result["error"])
        self.assertEqual(result["exit_code"], -1)

    def test_issue_12_1_a_newline_in_the_command_is_denied_through_rest_dispatch(self):
        # The review's exact finding: this pattern's negated bracket matched the newline, the agent
        # accepted "cat /var/log/none\nid" and /bin/sh ran `id` as a second command.
        agent = self.start_agent_with(allow=["cat /var/log/[^ ;&|$`<>()]+"])
        status, body, _ = self.dispatch("cat /var/log/none\nid")
        self.assertEqual(status, 202, body)
        cid = body["command_id"]
        result = self.wait_final(cid)
        self.assertEqual((result["status"], result["exit_code"]), ("denied", -1), result)
        self.assertIn("denied", result["error"])
        self.assertNotIn("uid=", result.get("output") or "")  # `id` never ran
        wait_until(lambda: f"command {cid} refused (denied)" in agent.log_text(), 10, what="the agent's log line")
        log = agent.log_text()
        self.assertIn("control character", log)
        self.assertNotIn("uid=", log)
        # The same pattern still allows what it was written for.
        status, body, _ = self.dispatch("cat /var/log/none")
        self.assertEqual(status, 202, body)
        self.assertEqual(self.wait_final(body["command_id"])["status"], "failed")  # ran: cat found no file

    def test_commands_disabled_by_default_config(self):
        self.start_agent_with(enabled=False)
        status, body, _ = self.dispatch("id -un")
        self.assertEqual(status, 202)
        result = self.wait_final(body["command_id"])
        self.assertEqual(result["status"], "denied")
        self.assertTrue(result["error"].startswith("disabled"), result["error"])

    def test_timeout_kills_the_command(self):
        self.start_agent_with()
        status, body, _ = self.dispatch("sleep 30", timeout_s=1)
        self.assertEqual(status, 202)
        result = self.wait_final(body["command_id"], timeout=20)
        self.assertEqual(result["status"], "timed_out")
        self.assertLess(result["duration_ms"], 10000)

    def test_command_is_lost_when_its_agent_dies(self):
        agent = self.start_agent_with()
        status, body, _ = self.dispatch("sleep 30")
        self.assertEqual(status, 202)
        cid = body["command_id"]
        wait_until(lambda: self.command(cid)[1]["status"] == "running", 10, what="running")
        agent.stop(signal.SIGKILL)
        result = self.wait_final(cid, timeout=60)
        self.assertEqual(result["status"], "lost")
        status, audit, _ = http("GET", f"{self.collector.url}/api/v1/audit", token=self.admin)
        self.assertEqual(audit["entries"][0]["action"], "command.lost")

    def test_issue12_5_a_disabled_operator_stops_watching_a_running_command(self):
        self.start_agent_with()
        status, body, _ = self.dispatch("sleep 20")
        self.assertEqual(status, 202)
        cid = body["command_id"]

        async def watch_then_disable():
            ws = await websockets.connect(f"{self.collector.ws_url}/api/v1/ws/commands/{cid}", open_timeout=10)
            await ws.send(json.dumps({"type": "auth", "token": self.alice}))
            self.assertEqual((await recv_json(ws))["type"], "auth_success")
            disabled = await asyncio.to_thread(http, "PATCH", f"{self.collector.url}/api/v1/users/alice",
                                               {"disabled": True}, self.admin)
            self.assertEqual(disabled[0], 200)
            started = time.monotonic()
            frames = []
            try:
                while True:
                    frames.append(await recv_json(ws, 5))
            except websockets.ConnectionClosed as closed:
                return frames, closed.code, time.monotonic() - started
        frames, code, took = self.run_async(watch_then_disable())
        self.assertEqual(code, 1008)
        self.assertLess(took, 5)
        self.assertEqual([f["code"] for f in frames if f["type"] == "error"], ["user_disabled"])
        # The command itself is not the operator's socket: it goes on and is recorded.
        self.assertIn(self.command(cid, self.admin)[1]["status"], ("pending", "running"))

    def test_a_watcher_that_joins_as_the_command_ends_gets_its_real_outcome(self):
        # The web UI opens the watch socket right after the POST; a fast command can end between the
        # socket reading the stored record and joining the live command. It then got the stale
        # "running" record as its final frame (the UI showed "failed" for a completed Docker action,
        # seen once under ASan). The window is a few milliseconds and cannot be forced from outside,
        # so this does not reproduce it reliably; it checks that every watcher of a short command,
        # whenever it joins, ends with the real outcome.
        self.start_agent_with()
        for _ in range(20):
            status, body, _ = self.dispatch("id -un")
            self.assertEqual(status, 202)
            first, frames = self.run_async(self.watch(body["command_id"], self.alice))
            self.assertEqual(first["type"], "auth_success")
            final = [f for f in frames if f["type"] == "command_response"]
            self.assertEqual(len(final), 1, frames)
            self.assertEqual((final[0]["exit_code"], final[0].get("error")), (0, None), final[0])
            self.assertEqual(final[0]["output"], "nobody\n")

    def test_operator_rate_limit(self):
        self.start_agent_with()
        statuses = [self.dispatch("id -un")[0] for _ in range(31)]
        self.assertEqual(statuses[:30], [202] * 30)
        status, body, headers = self.dispatch("id -un")
        self.assertEqual(status, 429)
        self.assertGreater(int(headers["Retry-After"]), 0)
        # Another operator is not affected.
        self.assertEqual(self.dispatch("id -un", token=self.bob)[0], 202)


if __name__ == "__main__":
    unittest.main()
