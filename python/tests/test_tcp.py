"""TCP on the native transports: Protocol and streams echo, the Server,
transports as asyncio expects them, errors."""

import asyncio
import socket
import unittest

from support import LoopTestCase


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        self.transport.close()


class Collect(asyncio.Protocol):
    """A client: records everything, completes `done` at connection_lost."""

    def __init__(self, loop):
        self.calls = []
        self.data = b''
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.calls.append('connection_made')
        self.transport = transport

    def data_received(self, data):
        self.calls.append('data_received')
        self.data += data

    def eof_received(self):
        self.calls.append('eof_received')

    def connection_lost(self, exc):
        self.calls.append('connection_lost')
        self.done.set_result(exc)


class TcpTests(LoopTestCase):

    def start_server(self, factory, **kwargs):
        server = self.run_async(self.loop.create_server(factory, '127.0.0.1', 0, **kwargs))
        return server, server.sockets[0].getsockname()[1]

    def close_server(self, server):
        server.close()
        self.run_async(server.wait_closed())

    def test_protocol_echo(self):
        server, port = self.start_server(Echo)
        try:
            async def client():
                protocol = Collect(self.loop)
                transport, p = await self.loop.create_connection(lambda: protocol, '127.0.0.1', port)
                self.assertIs(p, protocol)
                self.assertIs(transport, protocol.transport)
                transport.write(b'hello ')
                transport.writelines([b'wor', bytearray(b'ld'), memoryview(b'!')])
                while len(protocol.data) < 12:
                    await asyncio.sleep(0.001)
                self.assertTrue(transport.can_write_eof())
                transport.write_eof()
                self.assertIsNone(await protocol.done)
                return protocol

            protocol = self.run_async(client())
            self.assertEqual(protocol.data, b'hello world!')
            self.assertEqual(protocol.calls[0], 'connection_made')
            self.assertEqual(protocol.calls[-2:], ['eof_received', 'connection_lost'])
            self.assertTrue(protocol.transport.is_closing())
            with self.assertRaisesRegex(RuntimeError, r'Cannot call write\(\) after write_eof\(\)'):
                protocol.transport.write(b'after the end')
        finally:
            self.close_server(server)

    def test_streams_echo(self):
        async def handle(reader, writer):
            while data := await reader.read(100):
                writer.write(data)
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        async def main():
            server = await asyncio.start_server(handle, '127.0.0.1', 0)
            port = server.sockets[0].getsockname()[1]
            async with server:
                reader, writer = await asyncio.open_connection('127.0.0.1', port)
                lines = []
                for i in range(3):
                    writer.write(f'line {i}\n'.encode())
                    await writer.drain()
                    lines.append(await reader.readline())
                writer.write_eof()
                self.assertEqual(await reader.read(), b'')
                writer.close()
                await writer.wait_closed()
            return lines

        self.assertEqual(self.run_async(main()), [b'line 0\n', b'line 1\n', b'line 2\n'])

    def test_large_write_and_flow_control(self):
        payload = bytes(range(256)) * 4096  # 1 MiB
        events = []

        class Writer(asyncio.Protocol):
            def connection_made(self, transport):
                transport.set_write_buffer_limits(high=64 * 1024)
                # A small send buffer, so that the write has to wait for the reader.
                transport.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
                self.transport = transport
                transport.write(payload)
                transport.write_eof()

            def pause_writing(self):
                events.append('pause')

            def resume_writing(self):
                events.append('resume')

        server, port = self.start_server(Writer)
        try:
            async def client():
                reader, writer = await asyncio.open_connection('127.0.0.1', port)
                data = await reader.read()
                writer.close()
                await writer.wait_closed()
                return data

            self.assertEqual(self.run_async(client()), payload)
            self.assertEqual(events[:2], ['pause', 'resume'])
        finally:
            self.close_server(server)

    def test_transport_is_an_asyncio_transport(self):
        seen = {}

        class Inspect(asyncio.Protocol):
            def connection_made(self, transport):
                seen['transport'] = transport
                seen['peername'] = transport.get_extra_info('peername')
                seen['sockname'] = transport.get_extra_info('sockname')
                seen['socket'] = transport.get_extra_info('socket')
                seen['missing'] = transport.get_extra_info('sslcontext', 'default')
                # Keywords, a name that is not interned, a name that is not a str.
                seen['other_forms'] = (
                    transport.get_extra_info(name='sockname'),
                    transport.get_extra_info('sslcontext', default=1),
                    transport.get_extra_info(''.join(['peer', 'name']), None),
                    transport.get_extra_info(42, 'not a str'))
                seen['kept'] = transport.get_extra_info('peername') is seen['peername']
                seen['protocol'] = transport.get_protocol() is self
                seen['limits'] = transport.get_write_buffer_limits()
                seen['reading'] = transport.is_reading()
                transport.pause_reading()
                seen['paused'] = not transport.is_reading()
                transport.resume_reading()
                transport.close()

        server, port = self.start_server(Inspect)
        try:
            async def client():
                protocol = Collect(self.loop)
                transport, _ = await self.loop.create_connection(lambda: protocol, '127.0.0.1', port)
                await protocol.done
                transport.close()
                return transport

            client_transport = self.run_async(client())
        finally:
            self.close_server(server)
        transport = seen['transport']
        for t in (transport, client_transport):
            self.assertIsInstance(t, asyncio.Transport)
            self.assertIsInstance(t, asyncio.ReadTransport)
            self.assertIsInstance(t, asyncio.WriteTransport)
            self.assertIsInstance(t, asyncio.BaseTransport)
        self.assertEqual(seen['sockname'], ('127.0.0.1', port))
        self.assertEqual(seen['peername'][0], '127.0.0.1')
        self.assertEqual(seen['socket'].family, socket.AF_INET)
        self.assertEqual(seen['missing'], 'default')
        self.assertEqual(seen['other_forms'],
                         (('127.0.0.1', port), 1, seen['peername'], 'not a str'))
        self.assertTrue(seen['kept'])
        with self.assertRaisesRegex(TypeError, "missing required argument 'name'"):
            transport.get_extra_info()
        with self.assertRaisesRegex(TypeError, 'at most 2 arguments'):
            transport.get_extra_info('peername', 1, 2)
        with self.assertRaisesRegex(TypeError, "'bogus' is an invalid keyword"):
            transport.get_extra_info('peername', bogus=1)
        self.assertTrue(seen['protocol'])
        self.assertEqual(seen['limits'], (16 * 1024, 64 * 1024))
        self.assertTrue(seen['reading'])
        self.assertTrue(seen['paused'])
        self.assertIsNone(transport.get_protocol())  # dropped at connection_lost, as asyncio does
        with self.assertRaisesRegex(ValueError, r'high \(1\) must be >= low \(2\) must be >= 0'):
            transport.set_write_buffer_limits(high=1, low=2)
        with self.assertRaisesRegex(TypeError, "data argument must be a bytes-like object, not 'str'"):
            transport.write('text')

    def test_server_is_an_abstract_server(self):
        async def main():
            server = await self.loop.create_server(Echo, '127.0.0.1', 0, start_serving=False)
            self.assertIsInstance(server, asyncio.AbstractServer)
            self.assertIs(server.get_loop(), self.loop)
            self.assertFalse(server.is_serving())
            await server.start_serving()
            self.assertTrue(server.is_serving())
            self.assertEqual(len(server.sockets), 1)
            port = server.sockets[0].getsockname()[1]
            serving = asyncio.create_task(server.serve_forever())
            await asyncio.sleep(0)
            with self.assertRaisesRegex(RuntimeError, 'is already being awaited on serve_forever'):
                await server.serve_forever()
            reader, writer = await asyncio.open_connection('127.0.0.1', port)
            writer.write(b'x')
            self.assertEqual(await reader.read(1), b'x')
            writer.close()
            await writer.wait_closed()
            serving.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await serving
            self.assertFalse(server.is_serving())
            self.assertEqual(server.sockets, ())
            with self.assertRaises(ConnectionRefusedError):
                await asyncio.open_connection('127.0.0.1', port)
            async with await self.loop.create_server(Echo, '127.0.0.1', 0) as other:
                self.assertTrue(other.is_serving())
            self.assertFalse(other.is_serving())

        self.run_async(main())

    def test_create_server_with_sock_and_reuse_port(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]

        async def main():
            server = await self.loop.create_server(Echo, sock=sock)
            self.assertEqual(server.sockets[0].getsockname(), ('127.0.0.1', port))
            server.close()
            await server.wait_closed()
            a = await self.loop.create_server(Echo, '127.0.0.1', 0, reuse_port=True)
            p = a.sockets[0].getsockname()[1]
            b = await self.loop.create_server(Echo, '127.0.0.1', p, reuse_port=True)
            for s in (a, b):
                s.close()
                await s.wait_closed()

        self.run_async(main())

    def test_create_connection_with_sock_and_local_addr(self):
        server, port = self.start_server(Echo)
        try:
            async def main():
                sock = socket.create_connection(('127.0.0.1', port))
                protocol = Collect(self.loop)
                transport, _ = await self.loop.create_connection(lambda: protocol, sock=sock)
                transport.write(b'via sock')
                transport.write_eof()
                await protocol.done
                local = socket.socket()
                local.bind(('127.0.0.1', 0))
                local_port = local.getsockname()[1]
                local.close()
                protocol2 = Collect(self.loop)
                transport2, _ = await self.loop.create_connection(
                    lambda: protocol2, '127.0.0.1', port, local_addr=('127.0.0.1', local_port))
                self.assertEqual(transport2.get_extra_info('sockname'), ('127.0.0.1', local_port))
                transport2.close()
                await protocol2.done
                return protocol.data

            self.assertEqual(self.run_async(main()), b'via sock')
        finally:
            self.close_server(server)

    def test_argument_errors(self):
        async def main():
            with self.assertRaisesRegex(ValueError, 'host/port and sock can not be specified'):
                await self.loop.create_connection(Echo, '127.0.0.1', 1, sock=object())
            with self.assertRaisesRegex(ValueError, 'host and port was not specified'):
                await self.loop.create_connection(Echo)
            with self.assertRaisesRegex(ValueError, 'server_hostname is only meaningful with ssl'):
                await self.loop.create_connection(Echo, '127.0.0.1', 1, server_hostname='x')
            with self.assertRaisesRegex(ValueError, 'Neither host/port nor sock were specified'):
                await self.loop.create_server(Echo)
            with self.assertRaises(ConnectionRefusedError) as caught:
                sock = socket.socket()
                sock.bind(('127.0.0.1', 0))
                port = sock.getsockname()[1]
                sock.close()
                await self.loop.create_connection(Echo, '127.0.0.1', port)
            self.assertIn('Connect call failed', str(caught.exception))

        self.run_async(main())

    def test_exception_in_data_received_closes_and_is_reported(self):
        contexts = []
        self.loop.set_exception_handler(lambda loop, context: contexts.append(context))
        lost = self.loop.create_future()

        class Broken(asyncio.Protocol):
            def data_received(self, data):
                raise ValueError('broken protocol')

            def connection_lost(self, exc):
                lost.set_result(exc)

        server, port = self.start_server(Broken)
        try:
            async def client():
                reader, writer = await asyncio.open_connection('127.0.0.1', port)
                writer.write(b'x')
                self.assertEqual(await reader.read(), b'')
                writer.close()
                await writer.wait_closed()
                return await lost

            exc = self.run_async(client())
        finally:
            self.close_server(server)
        self.assertIsInstance(exc, ValueError)
        self.assertEqual(len(contexts), 1)
        self.assertEqual(contexts[0]['message'], 'Fatal error: protocol.data_received() call failed.')
        self.assertIs(contexts[0]['exception'], exc)
        self.assertIsInstance(contexts[0]['protocol'], Broken)
        self.assertIsInstance(contexts[0]['transport'], asyncio.Transport)

    def test_eof_received_true_keeps_half_open(self):
        class HalfOpen(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def eof_received(self):
                self.transport.write(b'bye')
                self.transport.close()  # after answering, and only then
                return True

        server, port = self.start_server(HalfOpen)
        try:
            async def client():
                reader, writer = await asyncio.open_connection('127.0.0.1', port)
                writer.write_eof()
                data = await reader.read()
                writer.close()
                await writer.wait_closed()
                return data

            self.assertEqual(self.run_async(client()), b'bye')
        finally:
            self.close_server(server)

    def test_keyboard_interrupt_in_data_received(self):
        class Interrupt(asyncio.Protocol):
            def data_received(self, data):
                raise KeyboardInterrupt

        server, port = self.start_server(Interrupt)
        client = socket.create_connection(('127.0.0.1', port))
        try:
            client.sendall(b'x')
            with self.assertRaises(KeyboardInterrupt):
                self.loop.run_until_complete(asyncio.sleep(10))
        finally:
            client.close()
            self.close_server(server)

    def test_many_connections_leave_nothing_behind(self):
        server, port = self.start_server(Echo)
        try:
            async def one():
                reader, writer = await asyncio.open_connection('127.0.0.1', port)
                writer.write(b'ping')
                data = await reader.readexactly(4)
                writer.close()
                await writer.wait_closed()
                return data

            async def main():
                for _ in range(10):
                    results = await asyncio.gather(*(one() for _ in range(20)))
                    self.assertEqual(results, [b'ping'] * 20)

            self.run_async(main(), timeout=60)
        finally:
            self.close_server(server)


if __name__ == '__main__':
    unittest.main()
