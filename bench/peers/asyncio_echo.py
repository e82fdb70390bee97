#!/usr/bin/python3
"""The Python echo servers: an asyncio.Protocol whose data_received writes the
data back (or, with --api streams, a start_server handler that reads and
writes), on asyncio's own loop, uvloop's or aiocpp's.

  asyncio_echo.py [--loop asyncio|uvloop|aiocpp] [--api protocol|streams] [--port PORT]
                  [--requests N --size BYTES]

aiocpp is imported from PYTHONPATH, else from the build-bench/python/ of this
checkout (make build-bench builds it).

Same contract as the C++ peers (peer_args.hpp): port 0 lets the kernel choose
and the bound port is printed alone on stdout's first line; 127.0.0.1 only;
exits cleanly on SIGINT/SIGTERM or, with --requests, after echoing N * BYTES
bytes. Run with Debian's /usr/bin/python3, where python3-uvloop is installed.
"""
import argparse
import asyncio
import os
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


class Budget:
    """The streams variant's count of echoed bytes, as Echo's above."""
    echoed = 0


async def echo_stream(reader, writer):
    limit, done = Echo.budget
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
            if limit:
                Budget.echoed += len(data)
                if Budget.echoed >= limit and not done.done():
                    done.set_result(None)
    except ConnectionError:
        pass
    writer.close()


async def serve(args):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    Echo.budget = (args.requests * args.size, done)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
    if args.api == "streams":
        server = await asyncio.start_server(echo_stream, "127.0.0.1", args.port)
    else:
        server = await loop.create_server(Echo, "127.0.0.1", args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await done
    server.close()


def install_loop(kind):
    """Makes `kind` asyncio's loop; False (after a "skip: reason" line) when it is missing."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError as e:
            print(f"skip: uvloop is not installed ({e})", flush=True)
            return False
        uvloop.install()
    elif kind == "aiocpp":
        try:
            import aiocpp
        except ImportError:
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            sys.path.insert(0, os.path.join(root, "build-bench", "python"))
            try:
                import aiocpp
            except ImportError as e:
                print(f"skip: aiocpp's Python package is not built ({e})", flush=True)
                return False
        aiocpp.install()
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "aiocpp"], default="asyncio")
    parser.add_argument("--api", choices=["protocol", "streams"], default="protocol")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--size", type=int, default=0)
    args = parser.parse_args()
    if (args.requests == 0) != (args.size == 0):
        parser.error("--requests and --size go together")
    if not install_loop(args.loop):
        return 0
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
