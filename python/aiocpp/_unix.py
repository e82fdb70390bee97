"""Unix stream sockets and connect_accepted_socket on the native transports."""

import os
import socket

from asyncio import tasks

from ._server import Server


class UnixMethods:

    async def create_unix_server(self, protocol_factory, path=None, *, sock=None, backlog=100,
                                 ssl=None, ssl_handshake_timeout=None,
                                 ssl_shutdown_timeout=None, start_serving=True):
        if isinstance(ssl, bool):
            raise TypeError('ssl argument must be an SSLContext or None')
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        self._check_closed()
        factory = self._server_factory(protocol_factory, ssl, ssl_handshake_timeout,
                                       ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError('path and sock can not be specified at the same time')
            # The C++ server binds (replacing a stale socket file) and removes
            # the file when it closes.
            native = await self._create_unix_server_native(
                factory, os.fsdecode(os.fspath(path)), -1, backlog, bool(start_serving), True)
            server = Server(self, native, None)
        else:
            if sock is None:
                raise ValueError('path was not specified, and no sock specified')
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f'A UNIX Domain Stream Socket was expected, got {sock!r}')
            sock.setblocking(False)
            # As create_server(sock=): the server listens on a duplicate and
            # `sock` stays the caller's object in server.sockets.
            native = await self._create_unix_server_native(
                factory, None, os.dup(sock.fileno()), backlog, bool(start_serving), False)
            server = Server(self, native, [sock])
        if start_serving:
            await tasks.sleep(0)
        return server

    async def create_unix_connection(self, protocol_factory, path=None, *, ssl=None, sock=None,
                                     server_hostname=None, ssl_handshake_timeout=None,
                                     ssl_shutdown_timeout=None):
        if ssl:
            if server_hostname is None:
                raise ValueError('you have to pass server_hostname when using ssl')
        else:
            if server_hostname is not None:
                raise ValueError('server_hostname is only meaningful with ssl')
            if ssl_handshake_timeout is not None:
                raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
            if ssl_shutdown_timeout is not None:
                raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        self._check_closed()
        if path is not None:
            if sock is not None:
                raise ValueError('path and sock can not be specified at the same time')
            path = os.fsdecode(os.fspath(path))
            return await self._connect_with_ssl(
                lambda factory: self._create_unix_connection_native(factory, path, -1),
                protocol_factory, ssl, server_hostname, ssl_handshake_timeout,
                ssl_shutdown_timeout)
        if sock is None:
            raise ValueError('no path and sock were specified')
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            raise ValueError(f'A UNIX Domain Stream Socket was expected, got {sock!r}')
        sock.setblocking(False)
        return await self._connect_socket(
            sock, lambda factory, fd: self._create_unix_connection_native(factory, None, fd),
            protocol_factory, ssl, server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout)

    async def connect_accepted_socket(self, protocol_factory, sock, *, ssl=None,
                                      ssl_handshake_timeout=None, ssl_shutdown_timeout=None):
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f'A Stream Socket was expected, got {sock!r}')
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        _check_ssl_socket(sock)
        self._check_closed()
        sock.setblocking(False)
        return await self._connect_socket(
            sock, self._connect_accepted_socket_native, protocol_factory, ssl, '',
            ssl_handshake_timeout, ssl_shutdown_timeout, server_side=True)


def _check_ssl_socket(sock):
    import sys
    ssl = sys.modules.get('ssl')
    if ssl is not None and isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
