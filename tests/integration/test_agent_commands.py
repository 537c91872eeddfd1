"""The real agent against a stand-in collector written here, which holds the socket and so can send
what a real collector never would: commands with tampered signatures, for another server, expired,
replayed (also across a restart of the agent), not allow-listed, or while commands are disabled,
and an auth_success for another server. Signatures are made with the openssl CLI (Ed25519) over
the canonical form of PROTOCOL.md 10.2, written again here independently of the C++ code.
Tests run as root, so the agent's commands run as nobody unless a test asks for root itself."""
import asyncio
import base64
import datetime
import json
import os
import subprocess
import textwrap
import unittest
import uuid

import websockets

from harness import AGENT, CorvidTestCase, wait_until
from test_agent_uplink import API_KEY, SERVER_ID, free_port

OTHER_SERVER = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def field(name, value):
    data = value.encode()
    return f"{name} {len(data)} ".encode() + data + b"\n"


class Signer:
    def __init__(self, tmp):
        self.key = os.path.join(tmp, "ed25519.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.key], check=True,
                       capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.public_key = base64.b64encode(der[-32:]).decode()
        self.tmp = tmp

    def sign(self, payload):
        path = os.path.join(self.tmp, "payload.bin")
        with open(path, "wb") as f:
            f.write(payload)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", self.key, "-rawin", "-in", path],
                             check=True, capture_output=True).stdout
        return base64.b64encode(sig).decode()

    def command(self, command, server_id=SERVER_ID, issued=None, valid_s=60, command_id=None, timeout_s=10):
        issued = issued or datetime.datetime.now(datetime.timezone.utc)
        msg = {"type": "command", "command_id": command_id or str(uuid.uuid4()), "command": command,
               "timeout_s": timeout_s, "server_id": server_id, "issued_by": "tester", "issued_at": iso(issued),
               "expires_at": iso(issued + datetime.timedelta(seconds=valid_s))}
        payload = (b"corvid-signed-command-v1\n" + field("kind", "command") + field("server_id", server_id)
                   + field("command_id", msg["command_id"]) + field("issued_by", "tester")
                   + field("issued_at", msg["issued_at"]) + field("expires_at", msg["expires_at"])
                   + field("command", command) + field("timeout_s", str(timeout_s)))
        msg["signature"] = self.sign(payload)
        return msg


class StandInCollector:
    def __init__(self, port, server_id=SERVER_ID):
        self.port = port
        self.server_id = server_id  # what auth_success says
        self.sessions = asyncio.Queue()
        self.server = None

    async def handler(self, ws, path=None):
        auth = json.loads(await ws.recv())
        assert auth["type"] == "auth"
        await ws.send(json.dumps({"type": "auth_success", "server_id": self.server_id}))
        done = asyncio.get_running_loop().create_future()
        await self.sessions.put((ws, done))
        await done

    async def start(self):
        self.server = await websockets.serve(self.handler, "127.0.0.1", self.port)

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()


async def result_of(ws, command_id, timeout=20):
    """The command_response for command_id; output chunks on the way are collected."""
    chunks = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
        if msg.get("command_id") != command_id:
            continue
        if msg["type"] == "command_output":
            chunks.append(msg["data"])
        elif msg["type"] == "command_response":
            return msg, "".join(chunks)


def write_config(path, public_key, enabled=True, server_id=SERVER_ID, run_as="nobody"):
    lines = [f'collector_public_key = "{public_key}"']
    if server_id:
        lines.append(f'server_id = "{server_id}"')
    lines += ["[commands]", f'enabled = {"true" if enabled else "false"}',
              'allow = ["echo [a-z]+", "sleep [0-9]+", "id -u"]', "max_concurrent = 1"]
    if run_as:
        lines.append(f'run_as = "{run_as}"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


class AgentCommandGuard(CorvidTestCase):
    def start(self, enabled=True, public_key=None, run_as="nobody"):
        self.signer = Signer(self.tmp)
        self.config = write_config(os.path.join(self.tmp, "agent.toml"), public_key or self.signer.public_key,
                                   enabled, run_as=run_as)
        self.port = free_port()
        return self.restart()

    def restart(self):
        """Starts the agent (again: the same state dir, as a restarted service)."""
        return self.start_agent(f"ws://127.0.0.1:{self.port}", API_KEY, extra=("--config", self.config))

    async def session(self, stand_in=None):
        if stand_in is None:
            stand_in = StandInCollector(self.port)
            await stand_in.start()
        ws, done = await asyncio.wait_for(stand_in.sessions.get(), 20)
        return stand_in, ws, done

    async def send_one(self, msg, stand_in=None):
        """Sends one command on a fresh session; returns (response, streamed output)."""
        stand_in, ws, done = await self.session(stand_in)
        await ws.send(json.dumps(msg))
        result = await result_of(ws, msg["command_id"])
        done.set_result(None)
        await stand_in.stop()
        return result

    def start_expecting_exit(self, config, timeout=20):
        """Runs the agent binary with `config`; it must exit (a start-up error) within the timeout."""
        try:
            return subprocess.run([AGENT, "--config", config, "--collector-url", "ws://127.0.0.1:9/x",
                                   "--state-dir", os.path.join(self.tmp, "exit-state")],
                                  env={**os.environ, "CORVID_API_KEY": API_KEY}, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.fail(f"the agent started instead of refusing to: {e.stderr!r}")

    def test_only_signed_current_first_seen_allowed_commands_for_this_server_run(self):
        self.start()

        async def scenario():
            stand_in, ws, done = await self.session()
            results = {}

            async def send(name, msg):
                await ws.send(json.dumps(msg))
                results[name] = await result_of(ws, msg["command_id"])

            good = self.signer.command("echo hello")
            await send("good", good)
            await send("replayed", good)
            tampered = self.signer.command("echo hello")
            tampered["command"] = "echo pwned"
            await send("tampered", tampered)
            stretched = self.signer.command("echo hello")
            stretched["timeout_s"] = 9999  # a signed field changed after signing
            await send("stretched", stretched)
            await send("other_server", self.signer.command("echo hello", server_id=OTHER_SERVER))
            old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
            await send("expired", self.signer.command("echo hello", issued=old, valid_s=60))
            await send("too_long", self.signer.command("echo hello", valid_s=3600))
            await send("not_allowed", self.signer.command("cat /etc/shadow"))
            await send("chained", self.signer.command("echo hello; id"))
            unsigned = self.signer.command("echo hello")
            unsigned["signature"] = base64.b64encode(b"\0" * 64).decode()
            await send("unsigned", unsigned)
            # max_concurrent = 1: a second command while one runs is busy.
            slow = self.signer.command("sleep 2")
            await ws.send(json.dumps(slow))
            await send("busy", self.signer.command("echo again"))
            results["slow"] = await result_of(ws, slow["command_id"])
            done.set_result(None)
            await stand_in.stop()
            return results

        r = self.run_async(scenario())
        response, streamed = r["good"]
        self.assertEqual((response["exit_code"], response["output"]), (0, "hello\n"))
        self.assertNotIn("error", response)
        self.assertEqual(streamed, "hello\n")
        expected = {"replayed": "replayed", "tampered": "bad_signature", "stretched": "bad_signature",
                    "other_server": "denied", "expired": "expired", "too_long": "expired",
                    "not_allowed": "denied", "chained": "denied", "unsigned": "bad_signature", "busy": "busy"}
        for name, code in expected.items():
            response, streamed = r[name]
            self.assertEqual((name, response.get("error"), response["exit_code"]), (name, code, -1))
            self.assertEqual(streamed, "")
        self.assertEqual(r["slow"][0]["exit_code"], 0)
        log = self.processes[0].log_text()
        self.assertIn("refused (bad_signature)", log)
        self.assertIn("verified, issued by 'tester': echo hello", log)
        # Issue 12.4: the tampered text is neither run nor logged (nothing unverified is).
        self.assertNotIn("pwned", log)

    def test_disabled_commands_are_refused_even_when_signed(self):
        self.start(enabled=False)

        async def scenario():
            stand_in, ws, done = await self.session()
            msg = self.signer.command("echo hello")
            await ws.send(json.dumps(msg))
            result = await result_of(ws, msg["command_id"])
            done.set_result(None)
            await stand_in.stop()
            return result

        response, _ = self.run_async(scenario())
        self.assertEqual((response["error"], response["exit_code"]), ("disabled", -1))

    def test_enabling_commands_without_the_collector_key_is_a_config_error(self):
        config = os.path.join(self.tmp, "agent.toml")
        with open(config, "w") as f:
            f.write("[commands]\nenabled = true\nallow = [\"echo [a-z]+\"]\n")
        out = self.start_expecting_exit(config)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"collector_public_key", out.stderr)

    def test_issue_12_3_a_restart_does_not_reopen_the_replay_window(self):
        self.start()

        async def scenario():
            good = self.signer.command("echo hello")
            first = await self.send_one(good)
            self.processes[-1].stop()  # SIGTERM: the service is restarted
            self.restart()
            again = await self.send_one(good)
            return first, again

        (first, _), (again, streamed) = self.run_async(scenario())
        self.assertEqual((first["exit_code"], first["output"]), (0, "hello\n"))
        self.assertEqual((again.get("error"), again["exit_code"], streamed), ("replayed", -1, ""))
        with open(os.path.join(self.tmp, "agent-state", "command-ids"), "rb") as f:
            self.assertTrue(f.read().startswith(b"corvid-command-ids v1 1\n"))

    def test_issue_12_3_an_unreadable_command_id_file_refuses_every_command_after_start(self):
        os.makedirs(os.path.join(self.tmp, "agent-state"), mode=0o700)
        with open(os.path.join(self.tmp, "agent-state", "command-ids"), "w") as f:
            f.write("not what the agent wrote\n")
        agent = self.start()
        response, streamed = self.run_async(self.send_one(self.signer.command("echo hello")))
        self.assertEqual((response.get("error"), response["exit_code"], streamed), ("busy", -1, ""))
        self.assertIn("could not be read at start", response["message"])
        self.assertIn("cannot be trusted", agent.log_text())

    def test_issue_12_3_commands_are_refused_when_auth_success_names_another_server(self):
        agent = self.start()

        async def scenario():
            stand_in = StandInCollector(self.port, server_id=OTHER_SERVER)
            await stand_in.start()
            _, stand_in_ws, done = await self.session(stand_in)
            results = []
            for target in (SERVER_ID, OTHER_SERVER):
                msg = self.signer.command("echo hello", server_id=target)
                await stand_in_ws.send(json.dumps(msg))
                results.append(await result_of(stand_in_ws, msg["command_id"]))
            # Metrics still flow on that link.
            while json.loads(await asyncio.wait_for(stand_in_ws.recv(), 20))["type"] != "metrics":
                pass
            done.set_result(None)
            await stand_in.stop()
            return results

        for response, streamed in self.run_async(scenario()):
            self.assertEqual((response.get("error"), response["exit_code"], streamed), ("denied", -1, ""))
        self.assertIn(f"authenticated this agent as server {OTHER_SERVER}", agent.log_text())

    def test_issue_12_3_commands_without_server_id_are_a_start_up_error(self):
        self.signer = Signer(self.tmp)
        config = write_config(os.path.join(self.tmp, "agent.toml"), self.signer.public_key, server_id=None)
        out = self.start_expecting_exit(config)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"server_id is required when commands are enabled", out.stderr)
        self.assertEqual(out.stderr.count(b"\n"), 1)  # one line

    def test_issue_12_2_a_root_agent_without_run_as_refuses_to_start(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: the refusal applies to an agent that runs as root or holds CAP_SETUID")
        self.signer = Signer(self.tmp)
        config = write_config(os.path.join(self.tmp, "agent.toml"), self.signer.public_key, run_as=None)
        out = self.start_expecting_exit(config)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"corvid-agent: commands.run_as: commands.run_as is required", out.stderr)
        self.assertEqual(out.stderr.count(b"\n"), 1)
        # Commands disabled: no run_as needed.
        write_config(config, self.signer.public_key, enabled=False, run_as=None)
        agent = self.start_agent("ws://127.0.0.1:9", API_KEY, name="disabled", extra=("--config", config))
        wait_until(lambda: "started" in agent.log_text(), 10, what="the agent to start")
        self.assertIsNone(agent.proc.poll())

    def test_issue_12_2_run_as_root_explicitly_runs_as_root_without_inherited_capabilities(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        self.start(run_as="root")
        response, _ = self.run_async(self.send_one(self.signer.command("id -u")))
        self.assertEqual((response["exit_code"], response["output"]), (0, "0\n"))

    def test_commands_run_as_the_run_as_user(self):
        self.start()
        response, _ = self.run_async(self.send_one(self.signer.command("id -u")))
        expected = "65534\n" if os.geteuid() == 0 else f"{os.geteuid()}\n"
        self.assertEqual((response["exit_code"], response["output"]), (0, expected))


if __name__ == "__main__":
    unittest.main()
