"""ssl= and start_tls: asyncio's own sslproto.SSLProtocol over the native
stream transports, as BaseEventLoop layers it over its socket transports.

SSLProtocol (a BufferedProtocol in 3.11) is the native transport's protocol:
the kernel reads straight into its buffer, it feeds ssl.MemoryBIO, and the
application protocol sees its _SSLProtocolTransport. The C++ loop's own TLS
layer is not used: an ssl.SSLContext cannot be handed to it through public,
supported means (the context's OpenSSL SSL_CTX is not exposed).
"""

import os

from asyncio import sslproto, trsock

try:
    import ssl as _ssl
except ImportError:  # pragma: no cover - Debian's python3 has ssl
    _ssl = None


class TlsMethods:

    def _server_factory(self, protocol_factory, ssl, handshake_timeout, shutdown_timeout):
        # What the server's C++ accept loop calls for each connection.
        if not ssl:
            return protocol_factory
        context = ssl

        def factory():
            return sslproto.SSLProtocol(
                self, protocol_factory(), context, None, server_side=True,
                ssl_handshake_timeout=handshake_timeout,
                ssl_shutdown_timeout=shutdown_timeout)
        return factory

    async def _connect_with_ssl(self, start, protocol_factory, ssl, server_hostname,
                                handshake_timeout, shutdown_timeout, server_side=False):
        # start(factory): the native connect, a future of (transport, protocol).
        if not ssl:
            return await start(protocol_factory)
        waiter = self.create_future()
        made = []

        def factory():
            # Made once connected, as asyncio does: an SSLProtocol makes its
            # application transport at once, which would be left unclosed
            # (a ResourceWarning) by a connection that fails.
            made.append(protocol_factory())
            return sslproto.SSLProtocol(
                self, made[0], None if isinstance(ssl, bool) else ssl, waiter,
                server_side=server_side, server_hostname=server_hostname,
                ssl_handshake_timeout=handshake_timeout, ssl_shutdown_timeout=shutdown_timeout)
        transport, ssl_protocol = await start(factory)
        protocol = made[0]
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        return ssl_protocol._app_transport, protocol

    async def _connect_socket(self, sock, start_fd, protocol_factory, ssl, server_hostname,
                              handshake_timeout, shutdown_timeout, server_side=False):
        # A connection over the caller's socket: the native transport works on
        # a duplicate, and `sock` is the transport's socket object, closed
        # when the transport closes (asyncio's transport owns it so).
        fd = os.dup(sock.fileno())
        started = []

        def start(factory):
            started.append(True)
            return start_fd(factory, fd)
        try:
            transport, protocol = await self._connect_with_ssl(
                start, protocol_factory, ssl, server_hostname, handshake_timeout,
                shutdown_timeout, server_side)
        except BaseException:
            if not started:
                os.close(fd)
            sock.close()
            raise
        native = transport
        if ssl:
            native = transport._ssl_protocol._transport
        if native is not None:
            native._set_socket(trsock.TransportSocket(sock))
            self._register_sock_transport(sock, transport)
            if native.is_closing() and protocol is not None:
                pass  # connection_lost has run or will run and close `sock`
        return transport, protocol

    async def start_tls(self, transport, protocol, sslcontext, *, server_side=False,
                        server_hostname=None, ssl_handshake_timeout=None,
                        ssl_shutdown_timeout=None):
        if _ssl is None:
            raise RuntimeError('Python ssl module is not available')
        if not isinstance(sslcontext, _ssl.SSLContext):
            raise TypeError(f'sslcontext is expected to be an instance of ssl.SSLContext, '
                            f'got {sslcontext!r}')
        if not getattr(transport, '_start_tls_compatible', False):
            raise TypeError(f'transport {transport!r} is not supported by start_tls()')
        waiter = self.create_future()
        ssl_protocol = sslproto.SSLProtocol(
            self, protocol, sslcontext, waiter, server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout, call_connection_made=False)
        # Nothing read between here and the handshake may reach the old protocol.
        transport.pause_reading()
        transport.set_protocol(ssl_protocol)
        made = self.call_soon(ssl_protocol.connection_made, transport)
        resumed = self.call_soon(transport.resume_reading)
        try:
            await waiter
        except BaseException:
            transport.close()
            made.cancel()
            resumed.cancel()
            raise
        return ssl_protocol._app_transport

