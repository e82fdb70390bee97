#!/usr/bin/python3
"""A small aiohttp application (Debian's python3-aiohttp) on asyncio's own
loop, uvloop's or aiocpp's, for `make bench-python`'s HTTP cell (wrk loads it).

  aiohttp_app.py [--loop asyncio|uvloop|aiocpp] [--port PORT]

GET / answers "Hello, World!" (text/plain); GET /json a small JSON document.
Same contract as asyncio_echo.py: port 0 lets the kernel choose and the bound
port is printed alone on stdout's first line ("skip: reason" when a loop or
aiohttp is missing); 127.0.0.1 only; exits cleanly on SIGINT/SIGTERM.
"""
import argparse
import asyncio
import signal
import sys

from asyncio_echo import install_loop


async def serve(port):
    from aiohttp import web

    async def hello(request):
        return web.Response(text="Hello, World!")

    async def json_reply(request):
        return web.json_response({"message": "Hello, World!", "items": list(range(10))})

    app = web.Application()
    app.add_routes([web.get("/", hello), web.get("/json", json_reply)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
    await done
    await runner.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "aiocpp"], default="asyncio")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import aiohttp  # noqa: F401
    except ImportError as e:
        print(f"skip: aiohttp is not installed ({e})", flush=True)
        return 0
    if not install_loop(args.loop):
        return 0
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
