"""The bytes a read hands to data_received / datagram_received are reused for
the next read only when nothing else holds them (src/read_bytes.hpp): what a
protocol keeps never changes, and a reused object hashes as its new contents."""

import asyncio
import socket

from support import LoopTestCase


class Recorder(asyncio.Protocol):
    """Acknowledges every chunk with b'+', so that each arrives in a read of
    its own; `keep` keeps the objects, else only copies and hashes."""

    def __init__(self, keep):
        self.keep = keep
        self.kept = []
        self.copies = []
        self.hashes = []

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.keep:
            self.kept.append(data)
        self.copies.append(bytearray(data))
        self.hashes.append(hash(data))
        self.transport.write(b'+')


class ReadBytesTests(LoopTestCase):

    def exchange_chunks(self, protocol, chunks):
        async def main():
            server = await self.loop.create_server(lambda: protocol, '127.0.0.1', 0)
            reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
            for chunk in chunks:
                writer.write(chunk)
                self.assertEqual(await reader.readexactly(1), b'+')
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()
        self.run_async(main())

    # Same sizes, different contents: each read could reuse the last object.
    CHUNKS = [bytes([65 + i]) * 1024 for i in range(8)]

    def test_kept_bytes_never_change(self):
        protocol = Recorder(keep=True)
        self.exchange_chunks(protocol, self.CHUNKS)
        self.assertEqual(protocol.kept, self.CHUNKS)
        self.assertEqual(len({id(data) for data in protocol.kept}), len(self.CHUNKS))

    def test_a_reused_object_hashes_as_its_new_contents(self):
        protocol = Recorder(keep=False)
        self.exchange_chunks(protocol, self.CHUNKS)
        self.assertEqual([bytes(c) for c in protocol.copies], self.CHUNKS)
        self.assertEqual(protocol.hashes, [hash(chunk) for chunk in self.CHUNKS])

    def test_sizes_that_shrink_and_grow(self):
        chunks = [b'a' * 1024, b'bb', b'c' * 700, b'd' * 513, b'e' * 2048, b'f' * 1025, b'gh']
        protocol = Recorder(keep=False)
        self.exchange_chunks(protocol, chunks)
        self.assertEqual([bytes(c) for c in protocol.copies], chunks)
        self.assertEqual(protocol.hashes, [hash(chunk) for chunk in chunks])

    def test_datagrams_kept_and_hashed(self):
        loop = self.loop

        class Server(asyncio.DatagramProtocol):
            def __init__(self):
                self.kept = []
                self.hashes = []

            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                if len(self.hashes) % 2 == 0:
                    self.kept.append(data)
                self.hashes.append(hash(data))
                self.transport.sendto(b'+', addr)

        class Client(asyncio.DatagramProtocol):
            def __init__(self):
                self.acks = asyncio.Queue()

            def datagram_received(self, data, addr):
                self.acks.put_nowait(data)

        async def main():
            st, sp = await loop.create_datagram_endpoint(Server, local_addr=('127.0.0.1', 0))
            ct, cp = await loop.create_datagram_endpoint(
                Client, remote_addr=st.get_extra_info('sockname'), family=socket.AF_INET)
            try:
                for chunk in self.CHUNKS:
                    ct.sendto(chunk)
                    self.assertEqual(await cp.acks.get(), b'+')
            finally:
                ct.close()
                st.close()
            await asyncio.sleep(0)
            self.assertEqual(sp.kept, self.CHUNKS[::2])
            self.assertEqual(sp.hashes, [hash(chunk) for chunk in self.CHUNKS])
        self.run_async(main())
