"""Writes a callback makes are gathered and sent together (one sendmsg), and
nothing of asyncio's write semantics changes for it: order, get_write_buffer_size,
write_eof, close, abort, mutable buffers, other threads, run_until_complete."""

import asyncio
import socket
import struct
import threading

from support import LoopTestCase

# struct tcp_info's tcpi_data_segs_out (linux/tcp.h), a u32 at byte 156.
DATA_SEGS_OUT = 156


def data_segments_sent(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from('I', info, DATA_SEGS_OUT)[0]


class Server(asyncio.Protocol):
    """Answers each received chunk through `reply(transport, data)`."""

    def __init__(self, reply):
        self.reply = reply

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.reply(self.transport, data)


class WriteTests(LoopTestCase):

    def connect(self, reply):
        """A server answering with `reply`, and a blocking client socket to it."""
        async def start():
            made = self.loop.create_future()

            def factory():
                protocol = Server(reply)
                self.loop.call_soon(made.set_result, protocol)
                return protocol
            server = await self.loop.create_server(factory, '127.0.0.1', 0)
            client = socket.create_connection(server.sockets[0].getsockname())
            client.settimeout(10)
            protocol = await made
            return server, client, protocol
        server, client, protocol = self.run_async(start())
        self.opened.append((server, client))
        return client, protocol

    def setUp(self):
        super().setUp()
        self.opened = []

    def tearDown(self):
        for server, client in self.opened:
            client.close()
            server.close()
            self.run_async(server.wait_closed())  # its connections end with the clients
        super().tearDown()

    def exchange(self, client, request, size):
        """Sends `request`, runs the loop until `size` bytes came back."""
        client.sendall(request)
        received = bytearray()

        async def read():
            while len(received) < size:
                received.extend(await self.loop.sock_recv(reader, size - len(received)))
        reader = client.dup()
        reader.setblocking(False)
        try:
            self.run_async(read())
        finally:
            reader.close()
        return bytes(received)

    def test_a_callbacks_writes_leave_in_one_segment(self):
        def reply(transport, data):
            for part in (b'HTTP/1.1 200 OK\r\n', b'Content-Length: 5\r\n\r\n', b'hello'):
                transport.write(part)
        client, protocol = self.connect(reply)
        sock = protocol.transport.get_extra_info('socket')
        before = data_segments_sent(sock)
        answer = self.exchange(client, b'GET', 43)
        self.assertEqual(answer, b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')
        self.assertEqual(data_segments_sent(sock) - before, 1)

    def test_data_received_writes_leave_when_it_returns(self):
        # Not at the end of the loop's iteration: the callback that
        # data_received queues finds the reply already in the client's socket
        # (asyncio has sent it during the call; loopback delivers at once).
        seen = []

        def reply(transport, data):
            transport.write(b're: ')
            transport.write(data)
            self.loop.call_soon(lambda: seen.append(self.peek(client)))
        client, _ = self.connect(reply)
        self.assertEqual(self.exchange(client, b'ping', 8), b're: ping')
        self.assertEqual(seen, [b're: ping'])

    @staticmethod
    def peek(client):
        # Without a timeout: a socket with one waits for data before recv.
        client.setblocking(False)
        try:
            return client.recv(100, socket.MSG_PEEK)
        except BlockingIOError:
            return b''
        finally:
            client.settimeout(10)

    def test_order_with_writelines_write_eof_and_buffer_size(self):
        sizes = []

        def reply(transport, data):
            transport.write(b'a')
            transport.writelines([b'b', bytearray(b'c')])
            transport.write(b'd')
            sizes.append(transport.get_write_buffer_size())  # sends what was kept first
            transport.write(b'e')
            transport.write_eof()
            with self.assertRaisesRegex(RuntimeError, 'write_eof'):
                transport.write(b'f')
        client, _ = self.connect(reply)
        self.assertEqual(self.exchange(client, b'go', 5), b'abcde')
        self.assertEqual(sizes, [0])
        self.assertEqual(client.recv(10), b'')  # the EOF, after the data

    def read_to_end(self, client):
        """Runs the loop reading `client` until EOF or a reset: what came."""
        received = bytearray()

        async def read():
            while data := await self.loop.sock_recv(reader, 4096):
                received.extend(data)
        reader = client.dup()
        reader.setblocking(False)
        try:
            self.run_async(read())
        except ConnectionResetError:
            pass
        finally:
            reader.close()
        return bytes(received)

    def test_close_and_abort_send_what_was_kept(self):
        def close(transport, data):
            transport.write(b'kept ')
            transport.write(b'and sent')
            transport.close()
        client, _ = self.connect(close)
        client.sendall(b'x')
        self.assertEqual(self.read_to_end(client), b'kept and sent')

        # asyncio's write() has handed the data to send() before abort().
        def abort(transport, data):
            transport.write(b'sent ')
            transport.write(b'before the abort')
            transport.abort()
        client, _ = self.connect(abort)
        client.sendall(b'x')
        self.assertEqual(self.read_to_end(client), b'sent before the abort')

    def test_a_bytearray_changed_after_write_is_sent_as_written(self):
        def reply(transport, data):
            buffer = bytearray(b'before')
            transport.write(b'<')
            transport.write(buffer)
            buffer[:] = b'AFTER!'
            transport.write(b'>')
        client, _ = self.connect(reply)
        self.assertEqual(self.exchange(client, b'x', 8), b'<before>')

    def test_writes_before_run_until_complete_returns_are_sent(self):
        client, protocol = self.connect(lambda transport, data: None)

        async def write():
            protocol.transport.write(b'sent before the loop stops')
        self.loop.run_until_complete(write())
        # The loop is not running: the data must already be in the kernel.
        self.assertEqual(client.recv(100), b'sent before the loop stops')

    def test_a_write_from_another_thread_is_not_kept(self):
        client, protocol = self.connect(lambda transport, data: None)
        done = threading.Event()

        async def wait_in_the_kernel():
            # The loop waits for I/O while another thread writes.
            threading.Thread(target=lambda: (protocol.transport.write(b'from a thread'),
                                             done.set())).start()
            await self.loop.run_in_executor(None, done.wait, 10)
        self.run_async(wait_in_the_kernel())
        client.settimeout(10)
        self.assertEqual(client.recv(100), b'from a thread')

    def test_many_writes_without_yielding_reach_flow_control(self):
        # 4 MiB written in one callback: pause_writing comes before it ends,
        # as in asyncio, although small writes are kept.
        paused = []

        class Writer(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def pause_writing(self):
                paused.append(self.transport.get_write_buffer_size())

        async def flood():
            server = await self.loop.create_server(asyncio.Protocol, '127.0.0.1', 0)
            port = server.sockets[0].getsockname()[1]
            transport, _ = await self.loop.create_connection(Writer, '127.0.0.1', port)
            for _ in range(1024):
                transport.write(b'x' * 4096)
            self.assertTrue(paused, 'pause_writing never came')
            transport.abort()
            server.close()
            await server.wait_closed()
        self.run_async(flood())
