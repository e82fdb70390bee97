"""A UDP echo server in plain asyncio (the docs' EchoServerProtocol pattern), as an interop peer.

Prints "Serving on <port>" once bound (flushed), echoes every datagram to
its sender, and exits after echoing b"quit".
"""
import argparse
import asyncio
import sys


class EchoServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, done):
        self.done = done

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)
        if data == b'quit' and not self.done.done():
            self.done.set_result(None)


async def main(host, port):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: EchoServerProtocol(done), local_addr=(host, port))
    print('Serving on {}'.format(transport.get_extra_info('sockname')[1]), flush=True)
    try:
        await asyncio.wait_for(done, 20)
    finally:
        transport.close()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=9999)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
