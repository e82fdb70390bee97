"""A UDP client in plain asyncio, as an interop peer: sends each --message to
--host:--port from a connected endpoint, prints "Received: <text>" for each
answer, and exits once all have come back (or after 10 s, with status 1).
"""
import argparse
import asyncio


class EchoClientProtocol(asyncio.DatagramProtocol):
    def __init__(self, messages, done):
        self.messages = messages
        self.done = done
        self.answers = 0

    def connection_made(self, transport):
        for message in self.messages:
            transport.sendto(message.encode())

    def datagram_received(self, data, addr):
        print('Received: {}'.format(data.decode()), flush=True)
        self.answers += 1
        if self.answers == len(self.messages) and not self.done.done():
            self.done.set_result(None)

    def error_received(self, exc):
        print('Error received: {}'.format(exc), flush=True)


async def main(host, port, messages):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: EchoClientProtocol(messages, done), remote_addr=(host, port))
    try:
        await asyncio.wait_for(done, 10)
    finally:
        transport.close()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=9999)
    parser.add_argument('--message', action='append', default=[])
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.message))
