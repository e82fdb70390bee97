"""sock_* methods, sock_sendfile / sendfile, BufferedProtocol's neighbour
start_tls, and ssl= through asyncio's sslproto over aiocpp's transports."""

import asyncio
import os
import socket
import ssl
import tempfile

from support import LoopTestCase

CERT = '/usr/lib/python3.11/test/keycert.pem'


class SockTests(LoopTestCase):

    def test_sock_echo(self):
        async def main():
            with socket.socket() as listener:
                listener.bind(('127.0.0.1', 0))
                listener.listen()
                listener.setblocking(False)
                client = socket.socket()
                client.setblocking(False)
                connect = asyncio.ensure_future(
                    self.loop.sock_connect(client, listener.getsockname()))
                conn, _ = await self.loop.sock_accept(listener)
                await connect
                with client, conn:
                    await self.loop.sock_sendall(client, b'x' * 100000)
                    got = bytearray()
                    buf = bytearray(4096)
                    while len(got) < 100000:
                        n = await self.loop.sock_recv_into(conn, buf)
                        got += buf[:n]
                    self.assertEqual(bytes(got), b'x' * 100000)
                    await self.loop.sock_sendall(conn, b'back')
                    self.assertEqual(await self.loop.sock_recv(client, 10), b'back')
        self.run_async(main())

    def test_sock_connect_starts_at_once(self):
        # asyncio calls connect() before sock_connect's first await: one loop
        # iteration later the listener has the connection to accept (here
        # with a blocking accept, as CPython's test_sock_client_racing does).
        async def main():
            with socket.socket() as listener, socket.socket() as client:
                listener.bind(('127.0.0.1', 0))
                listener.listen()
                listener.settimeout(5)  # a failure fails, not hangs
                client.setblocking(False)
                connect = asyncio.ensure_future(
                    self.loop.sock_connect(client, listener.getsockname()))
                await asyncio.sleep(0)
                conn, _ = listener.accept()
                conn.close()
                await connect
        self.run_async(main())

    def test_sock_connect_cancelled(self):
        async def main():
            with socket.socket() as listener, socket.socket() as client:
                listener.bind(('127.0.0.1', 0))
                listener.listen()
                client.setblocking(False)
                connect = asyncio.ensure_future(
                    self.loop.sock_connect(client, listener.getsockname()))
                await asyncio.sleep(0)
                connect.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await connect
            with socket.socket() as blocking:
                with self.assertRaisesRegex(ValueError, 'non-blocking'):
                    await self.loop.sock_connect(blocking, ('127.0.0.1', 9))
        self.run_async(main())

    def test_sock_udp(self):
        async def main():
            with socket.socket(type=socket.SOCK_DGRAM) as a, \
                    socket.socket(type=socket.SOCK_DGRAM) as b:
                a.bind(('127.0.0.1', 0))
                a.setblocking(False)
                b.setblocking(False)
                await self.loop.sock_sendto(b, b'dgram', a.getsockname())
                data, addr = await self.loop.sock_recvfrom(a, 100)
                self.assertEqual(data, b'dgram')
                await self.loop.sock_sendto(a, b'back', addr)
                buf = bytearray(10)
                n, _ = await self.loop.sock_recvfrom_into(b, buf)
                self.assertEqual(bytes(buf[:n]), b'back')
        self.run_async(main())

    def test_sendfile_on_transport_and_socket(self):
        async def main():
            with tempfile.TemporaryFile() as f:
                f.write(b'file data ' * 10000)
                f.flush()
                received = self.loop.create_future()
                chunks = []

                class Sink(asyncio.Protocol):
                    def data_received(self, data):
                        chunks.append(data)

                    def eof_received(self):
                        received.set_result(b''.join(chunks))

                server = await self.loop.create_server(Sink, '127.0.0.1', 0)
                port = server.sockets[0].getsockname()[1]
                transport, _ = await self.loop.create_connection(asyncio.Protocol,
                                                                 '127.0.0.1', port)
                sent = await self.loop.sendfile(transport, f, 10, None)
                self.assertEqual(sent, 100000 - 10)
                self.assertEqual(f.tell(), 100000)
                transport.write_eof()
                self.assertEqual(await received, (b'file data ' * 10000)[10:])
                transport.close()
                server.close()
                await server.wait_closed()
                a, b = socket.socketpair()
                with a, b:
                    a.setblocking(False)
                    self.assertEqual(await self.loop.sock_sendfile(a, f, 0, 5), 5)
                    self.assertEqual(b.recv(10), b'file ')
        self.run_async(main())


    def test_write_during_sendfile_raises_at_once(self):
        # A write made from a callback while loop.sendfile runs raises, as
        # asyncio's does; it must not be kept to be sent later (write_cork).
        async def main():
            with tempfile.TemporaryFile() as f:
                f.write(b'x' * (1 << 20))
                f.flush()

                class Stalled(asyncio.Protocol):  # reads nothing: sendfile must wait
                    def connection_made(self, transport):
                        transport.pause_reading()

                server = await self.loop.create_server(Stalled, '127.0.0.1', 0)
                port = server.sockets[0].getsockname()[1]
                transport, _ = await self.loop.create_connection(asyncio.Protocol,
                                                                 '127.0.0.1', port)
                transport.get_extra_info('socket').setsockopt(socket.SOL_SOCKET,
                                                              socket.SO_SNDBUF, 4096)
                sending = self.loop.create_task(self.loop.sendfile(transport, f))
                refused = None
                for _ in range(1000):  # until the sendfile has begun: a few iterations
                    await asyncio.sleep(0)
                    try:
                        transport.write(b'data')
                    except RuntimeError as e:
                        refused = e
                        break
                self.assertIn('sendfile is in progress', str(refused))
                self.assertFalse(sending.done())
                sending.cancel()
                transport.abort()
                server.close()
                await server.wait_closed()
                with self.assertRaises(asyncio.CancelledError):
                    await sending
        self.run_async(main())


class TlsTests(LoopTestCase):

    def test_tls_echo_and_start_tls(self):
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(CERT)
        client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_context.check_hostname = False
        client_context.verify_mode = ssl.CERT_NONE

        async def echo(reader, writer):
            data = await reader.read(100)
            writer.write(data.upper())
            await writer.drain()
            writer.close()

        async def main():
            server = await asyncio.start_server(echo, '127.0.0.1', 0, ssl=server_context)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection('127.0.0.1', port,
                                                           ssl=client_context)
            self.assertIsNotNone(writer.get_extra_info('ssl_object'))
            writer.write(b'secret')
            self.assertEqual(await reader.read(), b'SECRET')
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()

            # start_tls over a plain connection.
            server = await asyncio.start_server(echo, '127.0.0.1', 0, ssl=server_context)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection('127.0.0.1', port)
            await writer.start_tls(client_context)
            writer.write(b'upgraded')
            self.assertEqual(await reader.read(), b'UPGRADED')
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()
        self.run_async(main())
