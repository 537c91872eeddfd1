"""A small TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target, and can black-hole.

Black-holed, the proxy keeps every open connection open on both sides but moves no more bytes in
either direction and stops reading, so each peer sees a half-open link: its writes are accepted
until the socket buffers fill, and nothing ever arrives. New connections are accepted and closed at
once while the black hole lasts (the link is down: nothing gets through). restore() lets new
connections through again; connections frozen by the black hole stay frozen until close(), as a
peer that vanished would never speak again.

The proxy runs its own asyncio loop on a thread so that synchronous tests can drive it.
Buffers are bounded: one read of at most CHUNK bytes is in flight per direction, and the next read
waits until the previous chunk was drained to the other side.
"""
import asyncio
import threading

CHUNK = 64 * 1024


class _Link:
    def __init__(self):
        self.frozen = False
        self.writers = []

    def close(self):
        for w in self.writers:
            w.close()


class TcpProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self.blackholed = False
        self.refused = 0  # connections turned away during a black hole
        self.links = []
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)

    def start(self):
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0, limit=CHUNK))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def blackhole(self):
        def go():
            self.blackholed = True
            for link in self.links:
                link.frozen = True
        self._loop.call_soon_threadsafe(go)

    def restore(self):
        def go():
            self.blackholed = False
        self._loop.call_soon_threadsafe(go)

    def close(self):
        async def shutdown():
            self._server.close()
            for link in self.links:
                link.close()
            await self._server.wait_closed()
        try:
            self._call(shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _accept(self, client_reader, client_writer):
        if self.blackholed:
            self.refused += 1
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target, limit=CHUNK), 10)
        except (OSError, asyncio.TimeoutError):
            client_writer.close()
            return
        link = _Link()
        link.writers = [client_writer, server_writer]
        self.links.append(link)
        await asyncio.gather(self._pump(client_reader, server_writer, link),
                             self._pump(server_reader, client_writer, link))

    async def _pump(self, reader, writer, link):
        try:
            while not link.frozen:
                data = await reader.read(CHUNK)
                if link.frozen:
                    break  # read as the link died: lost in the black hole
                if not data:
                    writer.write_eof() if writer.can_write_eof() else writer.close()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            link.close()
            return
        # Frozen: neither read nor write again; the sockets stay open until close().
