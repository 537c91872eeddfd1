"""The real agent against a stand-in collector written here, which holds the socket and so can send
what a real collector never would: commands with tampered signatures, for another server, expired,
replayed, not allow-listed, or while commands are disabled. Signatures are made with the openssl
CLI (Ed25519) over the canonical form of PROTOCOL.md 10.2, written again here independently of the
C++ code."""
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

from harness import CorvidTestCase
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
    def __init__(self, port):
        self.port = port
        self.sessions = asyncio.Queue()
        self.server = None

    async def handler(self, ws, path=None):
        auth = json.loads(await ws.recv())
        assert auth["type"] == "auth"
        await ws.send(json.dumps({"type": "auth_success", "server_id": SERVER_ID}))
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


class AgentCommandGuard(CorvidTestCase):
    def start(self, enabled=True, public_key=None):
        self.signer = Signer(self.tmp)
        config = os.path.join(self.tmp, "agent.toml")
        with open(config, "w") as f:
            f.write(textwrap.dedent(f"""\
                collector_public_key = "{public_key or self.signer.public_key}"
                [commands]
                enabled = {"true" if enabled else "false"}
                allow = ["echo [a-z]+", "sleep [0-9]+"]
                max_concurrent = 1
                """))
        os.chmod(config, 0o600)
        self.port = free_port()
        self.start_agent(f"ws://127.0.0.1:{self.port}", API_KEY, extra=("--config", config))

    async def session(self):
        stand_in = StandInCollector(self.port)
        await stand_in.start()
        ws, done = await asyncio.wait_for(stand_in.sessions.get(), 20)
        return stand_in, ws, done

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
        self.assertIn("issued by 'tester'", log)
        self.assertNotIn("pwned\n", log.replace("echo pwned", ""))  # logged as received, never run

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
        out = subprocess.run([os.path.join(os.environ.get("CORVID_BUILD_DIR", "../../build"), "agent", "corvid-agent"),
                              "--config", config, "--collector-url", "ws://127.0.0.1:9/x"],
                             env={**os.environ, "CORVID_API_KEY": API_KEY}, capture_output=True, timeout=20)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"collector_public_key", out.stderr)


if __name__ == "__main__":
    unittest.main()
