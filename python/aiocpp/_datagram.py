"""create_datagram_endpoint on the native datagram transport."""

import os
import socket


class DatagramMethods:

    async def create_datagram_endpoint(self, protocol_factory, local_addr=None, remote_addr=None,
                                       *, family=0, proto=0, flags=0, reuse_port=None,
                                       allow_broadcast=None, sock=None):
        self._check_closed()
        if sock is not None:
            if sock.type != socket.SOCK_DGRAM:
                raise ValueError(f'A UDP Socket was expected, got {sock!r}')
            modifiers = dict(local_addr=local_addr, remote_addr=remote_addr, family=family,
                             proto=proto, flags=flags, reuse_port=reuse_port,
                             allow_broadcast=allow_broadcast)
            if any(modifiers.values()):
                problems = ', '.join(f'{k}={v}' for k, v in modifiers.items() if v)
                raise ValueError(f'socket modifier keyword arguments can not be used '
                                 f'when sock is specified. ({problems})')
            sock.setblocking(False)
            transport, protocol = await self._create_datagram_endpoint_native(
                protocol_factory, None, None, None, None, 0, 0, 0, None, None,
                os.dup(sock.fileno()))
            # The caller's socket object is the transport's, closed with it.
            from asyncio import trsock
            transport._set_socket(trsock.TransportSocket(sock))
            return transport, protocol
        local_path = remote_path = None
        if not (local_addr or remote_addr):
            if family == 0:
                raise ValueError('unexpected address family')
            local_addr = remote_addr = None
        elif family == socket.AF_UNIX:
            for addr in (local_addr, remote_addr):
                if addr is not None and not isinstance(addr, str):
                    raise TypeError('string is expected')
            local_path, remote_path = local_addr or None, remote_addr or None
            local_addr = remote_addr = None
        else:
            for addr in (local_addr, remote_addr):
                if addr is not None and not (isinstance(addr, tuple) and len(addr) == 2):
                    raise TypeError('2-tuple is expected')
            # getaddrinfo takes a port as a string too (getnameinfo gives one).
            local_addr, remote_addr = (
                (a[0], int(a[1])) if a is not None and isinstance(a[1], str) else a
                for a in (local_addr, remote_addr))
        return await self._create_datagram_endpoint_native(
            protocol_factory, local_addr, remote_addr, local_path, remote_path, family, proto,
            flags, reuse_port, allow_broadcast, -1)
