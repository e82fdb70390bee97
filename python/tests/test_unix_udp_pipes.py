"""Unix sockets, UDP, pipes and connect_accepted_socket on aiocpp's native
transports: echo round trips, asyncio's ABCs, argument errors, and the
caller's socket objects closing with their transports."""

import asyncio
import os
import socket
import tempfile

from support import LoopTestCase


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        self.transport.close()


class Collect(asyncio.Protocol):
    def __init__(self, loop):
        self.data = b''
        self.lost = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.data += data

    def connection_lost(self, exc):
        self.lost.set_result(exc)


class UnixTests(LoopTestCase):

    def test_unix_echo_with_streams(self):
        async def main():
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, 'sock')
                server = await self.loop.create_unix_server(Echo, path)
                self.assertTrue(os.path.exists(path))
                reader, writer = await asyncio.open_unix_connection(path)
                self.assertIsInstance(writer.transport, asyncio.Transport)
                self.assertEqual(writer.get_extra_info('peername'), path)
                writer.write(b'hello')
                writer.write_eof()
                self.assertEqual(await reader.read(), b'hello')
                writer.close()
                await writer.wait_closed()
                server.close()
                await server.wait_closed()
                self.assertFalse(os.path.exists(path))
        self.run_async(main())

    def test_unix_argument_errors(self):
        async def main():
            with self.assertRaisesRegex(ValueError, 'path and sock'):
                await self.loop.create_unix_connection(Echo, '/x', sock=object())
            with self.assertRaisesRegex(ValueError, 'no path and sock'):
                await self.loop.create_unix_connection(Echo)
            with socket.socket() as s:
                with self.assertRaisesRegex(ValueError, 'UNIX Domain Stream Socket'):
                    await self.loop.create_unix_server(Echo, sock=s)
            with self.assertRaises(FileNotFoundError):
                await self.loop.create_unix_connection(Echo, '/nonexistent/aiocpp.sock')
        self.run_async(main())

    def test_connect_accepted_socket_and_sock_kept_until_close(self):
        async def main():
            a, b = socket.socketpair()
            transport, protocol = await self.loop.connect_accepted_socket(
                lambda: Collect(self.loop), a)
            # The transport owns `a`: open until the transport closes.
            self.assertNotEqual(a.fileno(), -1)
            self.assertIs(transport.get_extra_info('socket')._sock, a)
            b.sendall(b'data')
            b.close()
            self.assertIsNone(await protocol.lost)
            self.assertEqual(protocol.data, b'data')
            self.assertEqual(a.fileno(), -1)
        self.run_async(main())


class BufferedTests(LoopTestCase):

    def test_buffered_protocol_reads_into_its_buffer(self):
        loop = self.loop

        class Buffered(asyncio.BufferedProtocol):
            def __init__(self):
                self.buffer = bytearray(4)
                self.received = b''
                self.done = loop.create_future()

            def get_buffer(self, sizehint):
                return self.buffer

            def buffer_updated(self, nbytes):
                self.received += bytes(self.buffer[:nbytes])

            def eof_received(self):
                self.done.set_result(self.received)

        async def main():
            a, b = socket.socketpair()
            transport, protocol = await loop.connect_accepted_socket(Buffered, a)
            b.sendall(b'0123456789')
            b.shutdown(socket.SHUT_WR)
            self.assertEqual(await protocol.done, b'0123456789')
            transport.close()
            b.close()
        self.run_async(main())


class DatagramTests(LoopTestCase):

    def test_udp_echo(self):
        loop = self.loop

        class Server(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                self.transport.sendto(data.upper(), addr)

        class Client(asyncio.DatagramProtocol):
            def __init__(self):
                self.reply = loop.create_future()

            def datagram_received(self, data, addr):
                self.reply.set_result((data, addr))

        async def main():
            st, _ = await loop.create_datagram_endpoint(Server, local_addr=('127.0.0.1', 0))
            self.assertIsInstance(st, asyncio.DatagramTransport)
            addr = st.get_extra_info('sockname')
            ct, cp = await loop.create_datagram_endpoint(Client, remote_addr=addr)
            ct.sendto(b'ping')
            data, source = await cp.reply
            self.assertEqual((data, source), (b'PING', addr))
            ct.close()
            st.close()
            await asyncio.sleep(0)
        self.run_async(main())

    def test_udp_errors(self):
        async def main():
            with self.assertRaisesRegex(ValueError, 'unexpected address family'):
                await self.loop.create_datagram_endpoint(asyncio.DatagramProtocol)
            with socket.socket() as s:
                with self.assertRaisesRegex(ValueError, 'A UDP Socket was expected'):
                    await self.loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=s)
        self.run_async(main())


class PipeTests(LoopTestCase):

    def test_read_and_write_pipes(self):
        async def main():
            r, w = os.pipe()
            rfile, wfile = open(r, 'rb', 0), open(w, 'wb', 0)
            rt, rp = await self.loop.connect_read_pipe(lambda: Collect(self.loop), rfile)
            wt, _ = await self.loop.connect_write_pipe(asyncio.Protocol, wfile)
            self.assertIsInstance(rt, asyncio.ReadTransport)
            self.assertIsInstance(wt, asyncio.WriteTransport)
            wt.write(b'through the pipe')
            wt.close()
            self.assertIsNone(await rp.lost)
            self.assertEqual(rp.data, b'through the pipe')
            await asyncio.sleep(0)
            self.assertTrue(rfile.closed)
        self.run_async(main())


class RaisingReader(asyncio.Protocol):
    """A read pipe's protocol whose first data_received raises; later chunks
    are collected."""

    def __init__(self, loop):
        self.chunks = []
        self.second = loop.create_future()
        self.lost = loop.create_future()

    def data_received(self, data):
        self.chunks.append(data)
        if len(self.chunks) == 1:
            raise ZeroDivisionError('first chunk')
        self.second.set_result(data)

    def connection_lost(self, exc):
        self.lost.set_result(exc)


class ProtocolErrorsKeepTransportTests(LoopTestCase):
    """As asyncio 3.11: an exception from a pipe's data_received, or from
    datagram_received / error_received, goes to the exception handler
    ("Exception in callback ...") and the transport stays open and keeps
    reading (only a stream socket's data_received takes the fatal path)."""

    def handler_records(self):
        reported = []
        first = self.loop.create_future()

        def handler(loop, context):
            reported.append(context)
            if not first.done():
                first.set_result(context)
        self.loop.set_exception_handler(handler)
        return reported, first

    def test_read_pipe_data_received_raises(self):
        async def main():
            reported, first = self.handler_records()
            r, w = os.pipe()
            try:
                transport, protocol = await self.loop.connect_read_pipe(
                    lambda: RaisingReader(self.loop), open(r, 'rb', 0))
                os.write(w, b'one')
                context = await first
                self.assertIsInstance(context['exception'], ZeroDivisionError)
                self.assertTrue(context['message'].startswith('Exception in callback'))
                self.assertFalse(transport.is_closing())
                os.write(w, b'two')
                self.assertEqual(await protocol.second, b'two')
                self.assertFalse(protocol.lost.done())
                self.assertEqual(len(reported), 1)
            finally:
                os.close(w)
            self.assertIsNone(await protocol.lost)  # EOF ends it as usual
        self.run_async(main())

    def test_datagram_received_raises(self):
        loop = self.loop

        class Server(asyncio.DatagramProtocol):
            def __init__(self):
                self.got = []
                self.second = loop.create_future()

            def datagram_received(self, data, addr):
                self.got.append(data)
                if len(self.got) == 1:
                    raise ValueError('first datagram')
                self.second.set_result(data)

        async def main():
            reported, first = self.handler_records()
            st, sp = await loop.create_datagram_endpoint(Server, local_addr=('127.0.0.1', 0))
            ct, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=st.get_extra_info('sockname'))
            try:
                ct.sendto(b'one')
                context = await first
                self.assertIsInstance(context['exception'], ValueError)
                self.assertFalse(st.is_closing())
                ct.sendto(b'two')
                self.assertEqual(await sp.second, b'two')
                self.assertEqual(len(reported), 1)
            finally:
                ct.close()
                st.close()
            await asyncio.sleep(0)
        self.run_async(main())

    def test_error_received_raises(self):
        loop = self.loop

        class Client(asyncio.DatagramProtocol):
            def __init__(self):
                self.errors = []
                self.second = loop.create_future()
                self.lost = loop.create_future()

            def error_received(self, exc):
                self.errors.append(exc)
                if len(self.errors) == 2:
                    self.second.set_result(exc)
                raise KeyError('error_received')

            def connection_lost(self, exc):
                self.lost.set_result(exc)

        async def main():
            reported, first = self.handler_records()
            # A port nobody listens on: the kernel answers with ICMP port
            # unreachable, which the connected socket reports as ECONNREFUSED.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(('127.0.0.1', 0))
                closed = s.getsockname()
            ct, cp = await loop.create_datagram_endpoint(Client, remote_addr=closed)
            try:
                ct.sendto(b'one')
                context = await first
                self.assertIsInstance(context['exception'], KeyError)
                self.assertIsInstance(cp.errors[0], ConnectionRefusedError)
                self.assertFalse(ct.is_closing())
                ct.sendto(b'two')  # the transport still sends, and still reports
                self.assertIsInstance(await cp.second, ConnectionRefusedError)
                self.assertFalse(cp.lost.done())
            finally:
                ct.close()
            self.assertIsNone(await cp.lost)
        self.run_async(main())
