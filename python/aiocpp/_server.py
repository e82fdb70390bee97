"""aiocpp.Server: asyncio.AbstractServer over the C++ server.

The C++ server owns the listening sockets and accepts; this class gives it
asyncio 3.11's Python-level behaviour: serve_forever, wait_closed, sockets
as TransportSocket objects, `async with`.
"""

import asyncio
import os
import socket

from asyncio import trsock

__all__ = ('Server',)


class Server(asyncio.AbstractServer):

    def __init__(self, loop, native, sockets=None):
        self._loop = loop
        self._native = native
        self._closed = False
        # Socket objects: the caller's (create_server(sock=...)), else made
        # on first use over duplicates of the C++ server's descriptors.
        self._sockets = sockets
        self._serving_forever_fut = None

    def __repr__(self):
        return f'<{self.__class__.__name__} sockets={self.sockets!r}>'

    def get_loop(self):
        return self._loop

    def is_serving(self):
        return not self._closed and self._native.is_serving()

    @property
    def sockets(self):
        if self._closed:
            return ()
        if self._sockets is None:
            # Duplicates, so that the socket objects never close the server's
            # own descriptors; they are closed with the server.
            self._sockets = [socket.socket(fileno=os.dup(fd)) for fd in self._native.fds()]
        return tuple(trsock.TransportSocket(s) for s in self._sockets)

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._native.close()
        if self._sockets is not None:
            for sock in self._sockets:
                sock.close()
            self._sockets = None
        if self._serving_forever_fut is not None and not self._serving_forever_fut.done():
            self._serving_forever_fut.cancel()
            self._serving_forever_fut = None

    async def start_serving(self):
        if self._closed:
            raise RuntimeError(f'server {self!r} is closed')
        await self._native.start_serving()
        await asyncio.sleep(0)

    async def serve_forever(self):
        if self._serving_forever_fut is not None:
            raise RuntimeError(f'server {self!r} is already being awaited on serve_forever()')
        if self._closed:
            raise RuntimeError(f'server {self!r} is closed')
        self._serving_forever_fut = self._loop.create_future()
        try:
            await self._native.start_serving()
            await self._serving_forever_fut
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    async def wait_closed(self):
        # asyncio 3.11 returns at once once the server is closed (3.12 waits
        # for its connections); before that, it waits for close() and for
        # every connection to end, which the C++ server's wait_closed does.
        if self._closed:
            return
        await self._native.wait_closed()
