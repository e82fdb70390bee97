"""aiocpp: asyncio's event loop on aiocpp's C++ engine.

    import aiocpp
    aiocpp.run(main())            # as asyncio.run, on an aiocpp loop
    aiocpp.install()              # asyncio.run / new_event_loop give aiocpp loops

or, for an unchanged asyncio program: python3 -m aiocpp program.py [args...]
"""

import asyncio

from ._loop import Loop
from ._server import Server

__all__ = ('Loop', 'Server', 'new_event_loop', 'EventLoopPolicy', 'install', 'run')
__version__ = '0.1.0'


def new_event_loop():
    """A new aiocpp event loop."""
    return Loop()


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """asyncio's default policy, making aiocpp loops."""

    def _loop_factory(self):
        return Loop()

    def new_event_loop(self):
        return Loop()


def install():
    """Makes aiocpp's policy asyncio's: asyncio.run, asyncio.new_event_loop and
    asyncio.get_event_loop give aiocpp loops from then on."""
    asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main, *, debug=None):
    """asyncio.run(main, debug=debug) on a new aiocpp loop."""
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)
