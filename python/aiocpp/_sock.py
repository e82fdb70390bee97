"""The sock_* methods, sock_sendfile and sendfile: the C++ loop does the I/O
(sendfile(2) for files); here, asyncio's argument checks and the socket
objects it returns."""

import io
import os
import socket
import stat

from asyncio import base_events, constants, exceptions

from . import _native

_TCP_TYPES = (socket.AF_INET, socket.AF_INET6)


def _check_sock(loop, sock):
    base_events._check_ssl_socket(sock)
    if loop.get_debug() and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _check_sendfile_params(sock_type, file, offset, count):
    if 'b' not in getattr(file, 'mode', 'b'):
        raise ValueError("file should be opened in binary mode")
    if sock_type != socket.SOCK_STREAM:
        raise ValueError("only SOCK_STREAM type sockets are supported")
    if count is not None:
        if not isinstance(count, int):
            raise TypeError(f"count must be a positive integer (got {count!r})")
        if count <= 0:
            raise ValueError(f"count must be a positive integer (got {count!r})")
    if not isinstance(offset, int):
        raise TypeError(f"offset must be a non-negative integer (got {offset!r})")
    if offset < 0:
        raise ValueError(f"offset must be a non-negative integer (got {offset!r})")


def _is_numeric(host, family):
    try:
        socket.inet_pton(family, host.partition('%')[0])
        return True
    except (OSError, TypeError, ValueError):
        return False


class SockMethods:

    async def sock_recv(self, sock, n):
        _check_sock(self, sock)
        return await self._sock_recv_native(sock.fileno(), n)

    async def sock_recv_into(self, sock, buf):
        _check_sock(self, sock)
        return await self._sock_recv_into_native(sock.fileno(), buf)

    async def sock_recvfrom(self, sock, bufsize):
        _check_sock(self, sock)
        return await self._sock_recvfrom_native(sock.fileno(), bufsize)

    async def sock_recvfrom_into(self, sock, buf, nbytes=0):
        _check_sock(self, sock)
        if not nbytes:
            nbytes = len(buf)
        return await self._sock_recvfrom_into_native(sock.fileno(), buf, nbytes)

    async def sock_sendall(self, sock, data):
        _check_sock(self, sock)
        return await self._sock_sendall_native(sock.fileno(), data)

    async def sock_sendto(self, sock, data, address):
        _check_sock(self, sock)
        return await self._sock_sendto_native(sock.fileno(), data, address)

    async def sock_connect(self, sock, address):
        _check_sock(self, sock)
        if sock.family in _TCP_TYPES:
            host, port = address[:2]
            if not _is_numeric(host, sock.family):
                infos = await self.getaddrinfo(host, port, family=sock.family, type=sock.type,
                                               proto=sock.proto)
                if not infos:
                    raise OSError('getaddrinfo() returned empty list')
                address = infos[0][4]
        return await self._sock_connect_native(sock.fileno(), address)

    async def sock_accept(self, sock):
        _check_sock(self, sock)
        fd, address = await self._sock_accept_native(sock.fileno())
        conn = socket.socket(sock.family, sock.type, sock.proto, fileno=fd)
        conn.setblocking(False)
        return conn, address

    # sock_sendfile and sendfile are asyncio's: the native attempt through
    # _sock_sendfile_native / _sendfile_native (asyncio's hooks, by the same
    # names and signatures), then asyncio's own read-and-send fallback.
    async def sock_sendfile(self, sock, file, offset=0, count=None, *, fallback=True):
        _check_sock(self, sock)
        _check_sendfile_params(sock.type, file, offset, count)
        try:
            return await self._sock_sendfile_native(sock, file, offset, count)
        except exceptions.SendfileNotAvailableError:
            if not fallback:
                raise
        return await base_events.BaseEventLoop._sock_sendfile_fallback(self, sock, file, offset,
                                                                       count)

    async def _sock_sendfile_native(self, sock, file, offset, count):
        fileno = _regular_file_fd(file)
        sent = await self._sock_sendfile_fd_native(sock.fileno(), fileno, offset, count, False)
        file.seek(offset + sent)
        return sent

    async def sendfile(self, transport, file, offset=0, count=None, *, fallback=True):
        if transport.is_closing():
            raise RuntimeError("Transport is closing")
        _check_sendfile_params(socket.SOCK_STREAM, file, offset, count)
        mode = getattr(transport, '_sendfile_compatible', constants._SendfileMode.UNSUPPORTED)
        if mode is constants._SendfileMode.UNSUPPORTED:
            raise RuntimeError(f"sendfile is not supported for transport {transport!r}")
        if mode is constants._SendfileMode.TRY_NATIVE:
            try:
                return await self._sendfile_native(transport, file, offset, count)
            except exceptions.SendfileNotAvailableError:
                if not fallback:
                    raise
        if not fallback:
            raise RuntimeError(f"fallback is disabled and native sendfile is not "
                               f"supported for transport {transport!r}")
        if isinstance(transport, _native.Transport):
            # The C++ loop's fallback (asyncio's needs its own _FlowControlMixin
            # transports). It tries sendfile(2) again first: where
            # _sendfile_native was replaced, the bytes still go, by either way.
            fileno = file.fileno()
            sent = await self._sendfile_fd_native(transport, fileno, offset, count, True)
            file.seek(offset + sent)
            return sent
        # asyncio's own fallback, which drives a TLS transport
        # (_SSLProtocolTransport) through its public methods.
        return await base_events.BaseEventLoop._sendfile_fallback(self, transport, file, offset,
                                                                  count)

    async def _sendfile_native(self, transport, file, offset, count):
        if not isinstance(transport, _native.Transport):
            raise exceptions.SendfileNotAvailableError(
                f"sendfile is not supported for transport {transport!r}")
        fileno = _regular_file_fd(file)
        sent = await self._sendfile_fd_native(transport, fileno, offset, count, False)
        file.seek(offset + sent)
        return sent


def _regular_file_fd(file):
    # As asyncio: what is not a regular file on disk takes the fallback.
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation) as err:
        raise exceptions.SendfileNotAvailableError("not a regular file") from err
    try:
        if not stat.S_ISREG(os.fstat(fileno).st_mode):
            raise exceptions.SendfileNotAvailableError("not a regular file")
    except OSError as err:
        raise exceptions.SendfileNotAvailableError("not a regular file") from err
    return fileno


# Transports the native sendfile and start_tls accept (asyncio's markers).
_native.Transport._sendfile_compatible = constants._SendfileMode.TRY_NATIVE
_native.Transport._start_tls_compatible = True
