"""Seed 002's echo server (PyMOTW asyncio_echo_server_protocol.py), as an interop peer.

Changes: --host/--port; the loop is created with new_event_loop() (get_event_loop()
outside a running loop is deprecated); "starting up" gives the port actually
bound, so that --port 0 can be used.
"""
import argparse
import asyncio
import logging
import sys

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument('--host', default='localhost')
parser.add_argument('--port', type=int, default=10000)
args = parser.parse_args()

SERVER_ADDRESS = (args.host, args.port)

logging.basicConfig(
    level=logging.DEBUG,
    format='%(name)s: %(message)s',
    stream=sys.stderr,
)
log = logging.getLogger('main')

event_loop = asyncio.new_event_loop()
asyncio.set_event_loop(event_loop)


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.address = transport.get_extra_info('peername')
        self.log = logging.getLogger(
            'EchoServer_{}_{}'.format(*self.address)
        )
        self.log.debug('connection accepted')

    def data_received(self, data):
        self.log.debug('received {!r}'.format(data))
        self.transport.write(data)
        self.log.debug('sent {!r}'.format(data))

    def eof_received(self):
        self.log.debug('received EOF')
        if self.transport.can_write_eof():
            self.transport.write_eof()

    def connection_lost(self, error):
        if error:
            self.log.error('ERROR: {}'.format(error))
        else:
            self.log.debug('closing')
        super().connection_lost(error)


factory = event_loop.create_server(EchoServer, *SERVER_ADDRESS)
server = event_loop.run_until_complete(factory)
log.debug('starting up on {} port {}'.format(
    SERVER_ADDRESS[0], server.sockets[0].getsockname()[1]))

try:
    event_loop.run_forever()
finally:
    log.debug('closing server')
    server.close()
    event_loop.run_until_complete(server.wait_closed())
    log.debug('closing event loop')
    event_loop.close()
