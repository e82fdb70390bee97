"""Runs CPython's own test_asyncio modules with aiocpp's policy installed, so
that every loop they make with asyncio.new_event_loop() (or through
IsolatedAsyncioTestCase / asyncio.run) is an aiocpp loop.

    PYTHONPATH=build/python /usr/bin/python3 python/tests/cpython_suite.py test_locks test_queues
"""

import asyncio
import sys
import unittest

import aiocpp


class Policy(aiocpp.EventLoopPolicy):
    # The modules reset the policy in tearDownModule; ours must come back.
    loops_made = 0

    def new_event_loop(self):
        Policy.loops_made += 1
        return super().new_event_loop()


def main(names):
    original = asyncio.set_event_loop_policy

    def set_policy(policy):
        original(Policy() if policy is None else policy)

    asyncio.set_event_loop_policy = set_policy
    asyncio.events.set_event_loop_policy = set_policy
    set_policy(None)
    suite = unittest.defaultTestLoader.loadTestsFromNames([f'test.test_asyncio.{n}' for n in names])
    result = unittest.TextTestRunner(verbosity=int(bool(sys.flags.verbose)) + 1).run(suite)
    print(f'aiocpp loops made: {Policy.loops_made}')
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
