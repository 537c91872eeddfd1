"""wss:// from the real agent: a private CA made with the openssl CLI, an endpoint in the test
serving TLS with it. The agent connects when given the CA file, and refuses (with a clear log
line) a certificate from another CA or for another host name; verification cannot be skipped."""
import asyncio
import json
import os
import ssl
import subprocess
import unittest

import websockets

from harness import CorvidTestCase, wait_until
from test_agent_uplink import API_KEY, SERVER_ID, free_port


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(dir, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "2", "-subj", f"/CN={name}", cwd=dir)
    return os.path.join(dir, f"{name}.pem")


def make_cert(dir, ca, name, san):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}", cwd=dir)
    with open(os.path.join(dir, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=dir)
    return os.path.join(dir, f"{name}.pem"), os.path.join(dir, f"{name}.key")


class AgentTlsTest(CorvidTestCase):
    def setUp(self):
        super().setUp()
        self.pki = os.path.join(self.tmp, "pki")
        os.makedirs(self.pki)
        self.ca = make_ca(self.pki, "corvid-test-ca")
        self.other_ca = make_ca(self.pki, "other-ca")
        self.cert, self.key = make_cert(self.pki, "corvid-test-ca", "collector", "IP:127.0.0.1,DNS:localhost")
        self.wrong_host_cert, self.wrong_host_key = make_cert(self.pki, "corvid-test-ca", "elsewhere",
                                                              "DNS:elsewhere.example")

    async def serve_tls(self, port, cert, key, frames):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)

        async def handler(ws, path=None):
            try:
                async for raw in ws:
                    msg = json.loads(raw)
                    await frames.put(msg)
                    if msg["type"] == "auth":
                        await ws.send(json.dumps({"type": "auth_success", "server_id": SERVER_ID}))
                    elif msg["type"] == "metrics":
                        await ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
            except websockets.ConnectionClosed:
                pass

        return await websockets.serve(handler, "127.0.0.1", port, ssl=ctx)

    def run_agent_against(self, cert, key, ca_file, host="127.0.0.1", expect_frames=True):
        port = free_port()

        async def scenario():
            frames = asyncio.Queue()
            server = await self.serve_tls(port, cert, key, frames)
            agent = self.start_agent(f"wss://{host}:{port}", API_KEY, extra=("--ca-file", ca_file))
            got = []
            try:
                if expect_frames:
                    while len(got) < 2:
                        got.append(await asyncio.wait_for(frames.get(), 15))
                else:
                    await asyncio.get_running_loop().run_in_executor(
                        None, lambda: wait_until(lambda: "cannot connect" in agent.log_text(), 15,
                                                 what="a refused TLS connection"))
                    self.assertTrue(frames.empty())
            finally:
                server.close()
                await server.wait_closed()
            return agent, got

        return self.run_async(scenario())

    def test_wss_with_the_private_ca_works(self):
        agent, got = self.run_agent_against(self.cert, self.key, self.ca)
        self.assertEqual([m["type"] for m in got], ["auth", "metrics"])
        self.assertIn("connected to wss://", agent.log_text())

    def test_a_certificate_from_another_ca_is_refused(self):
        agent, _ = self.run_agent_against(self.cert, self.key, self.other_ca, expect_frames=False)
        self.assertIn("certificate verify failed", agent.log_text())

    def test_a_certificate_for_another_host_name_is_refused(self):
        agent, _ = self.run_agent_against(self.wrong_host_cert, self.wrong_host_key, self.ca, expect_frames=False)
        self.assertIn("certificate verify failed", agent.log_text())

    def test_plain_ws_to_a_tls_port_fails_cleanly(self):
        port = free_port()

        async def scenario():
            frames = asyncio.Queue()
            server = await self.serve_tls(port, self.cert, self.key, frames)
            agent = self.start_agent(f"ws://127.0.0.1:{port}", API_KEY)
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: wait_until(lambda: "next connection attempt" in agent.log_text(), 20,
                                             what="the agent to give up on the attempt"))
            finally:
                server.close()
                await server.wait_closed()
            return agent

        agent = self.run_async(scenario())
        self.assertIsNone(agent.proc.poll(), "the agent must keep running and retry")


if __name__ == "__main__":
    unittest.main()
