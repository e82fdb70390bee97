#!/usr/bin/python3
"""The Python echo servers: an asyncio.Protocol whose data_received writes the
data back, on asyncio's own loop or, with --loop uvloop, on uvloop's.

  asyncio_echo.py [--loop asyncio|uvloop] [--port PORT] [--requests N --size BYTES]

Same contract as the C++ peers (peer_args.hpp): port 0 lets the kernel choose
and the bound port is printed alone on stdout's first line; 127.0.0.1 only;
exits cleanly on SIGINT/SIGTERM or, with --requests, after echoing N * BYTES
bytes. Run with Debian's /usr/bin/python3, where python3-uvloop is installed.
"""
import argparse
import asyncio
import signal
import sys


class Echo(asyncio.Protocol):
    budget = None  # set by main: (stop_after_bytes, future to set when spent)
    echoed = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)
        limit, done = Echo.budget
        if limit:
            Echo.echoed += len(data)
            if Echo.echoed >= limit and not done.done():
                done.set_result(None)


async def serve(args):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    Echo.budget = (args.requests * args.size, done)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
    server = await loop.create_server(Echo, "127.0.0.1", args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await done
    server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--size", type=int, default=0)
    args = parser.parse_args()
    if (args.requests == 0) != (args.size == 0):
        parser.error("--requests and --size go together")
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError as e:
            print(f"skip: uvloop is not installed ({e})", flush=True)
            return 0
        uvloop.install()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
