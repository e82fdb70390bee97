"""Seed 004's echo server (asyncio docs' EchoServerProtocol), as an interop peer.

Unchanged but for --host/--port, and, with --port 0, a "Serving on" line on
stderr telling the port the kernel chose.
"""
import argparse
import asyncio
import sys


class EchoServerProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        peername = transport.get_extra_info('peername')
        print('Connection from {}'.format(peername))
        self.transport = transport

    def data_received(self, data):
        message = data.decode()
        print('Data received: {!r}'.format(message))

        print('Send: {!r}'.format(message))
        self.transport.write(data)

        print('Close the client socket')
        self.transport.close()


async def main(host, port):
    # Get a reference to the event loop as we plan to use
    # low-level APIs.
    loop = asyncio.get_running_loop()

    server = await loop.create_server(
        lambda: EchoServerProtocol(),
        host, port)
    if port == 0:
        print('Serving on {}'.format(server.sockets[0].getsockname()), file=sys.stderr)

    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8888)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
