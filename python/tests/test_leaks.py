"""10,000 connect / echo / close cycles hold descriptors, memory and Python
objects flat (issue 12: never a leaked reference or descriptor)."""

import asyncio
import gc
import os
import resource

from support import LoopTestCase, open_fds

CYCLES = 10_000
WARM_UP = 1_000


def rss_kib():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        return False  # close


class ClientProtocol(asyncio.Protocol):
    def __init__(self, done):
        self.done = done
        self.received = b''

    def connection_made(self, transport):
        transport.write(b'x' * 100)
        transport.write_eof()

    def data_received(self, data):
        self.received += data

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(self.received)


class LeakTests(LoopTestCase):

    def measure(self):
        gc.collect()
        return len(open_fds()), rss_kib(), len(gc.get_objects())

    def test_ten_thousand_protocol_cycles(self):
        loop = self.loop

        async def cycles(n, port):
            for _ in range(n):
                done = loop.create_future()
                transport, _ = await loop.create_connection(
                    lambda: ClientProtocol(done), '127.0.0.1', port)
                self.assertEqual(await done, b'x' * 100)
                transport.close()

        async def streams_cycles(n, port):
            for _ in range(n):
                reader, writer = await asyncio.open_connection('127.0.0.1', port)
                writer.write(b'y' * 100)
                await writer.drain()
                self.assertEqual(await reader.readexactly(100), b'y' * 100)
                writer.close()
                await writer.wait_closed()

        async def main():
            server = await loop.create_server(EchoProtocol, '127.0.0.1', 0)
            port = server.sockets[0].getsockname()[1]
            await cycles(WARM_UP, port)
            await streams_cycles(WARM_UP, port)
            before = self.measure()
            await cycles(CYCLES // 2, port)
            await streams_cycles(CYCLES // 2, port)
            after = self.measure()
            server.close()
            await server.wait_closed()
            return before, after

        (fds0, rss0, objs0), (fds1, rss1, objs1) = self.run_async(main(), timeout=120)
        self.assertEqual(fds1, fds0, 'descriptors')
        # A leak of one object per cycle would show as 10,000; allow noise.
        self.assertLess(objs1 - objs0, 500, 'Python objects')
        # A leaked connection (buffers, transport, socket) is kilobytes; 10,000
        # of them would be tens of MiB. (Not under AddressSanitizer, whose
        # quarantine keeps freed memory on purpose.)
        if 'asan' not in os.environ.get('LD_PRELOAD', ''):
            self.assertLess(rss1 - rss0, 4096, 'RSS KiB')
