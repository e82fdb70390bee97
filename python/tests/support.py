"""Shared helpers of the Python suites: a fresh aiocpp loop per test, and a
check that a test leaves no descriptor behind."""

import asyncio
import gc
import os
import unittest

import aiocpp


def open_fds():
    return set(os.listdir('/proc/self/fd'))


class LoopTestCase(unittest.TestCase):
    """Each test gets self.loop, a new aiocpp loop (closed afterwards), and
    fails if it leaked a file descriptor."""

    def setUp(self):
        gc.collect()
        self._fds_before = open_fds()
        self.loop = aiocpp.new_event_loop()
        asyncio.set_event_loop(None)

    def tearDown(self):
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()
        self.loop = None
        gc.collect()
        leaked = open_fds() - self._fds_before
        # listdir itself may show one descriptor that is gone by now.
        leaked = {fd for fd in leaked if os.path.exists(f'/proc/self/fd/{fd}')}
        self.assertEqual(leaked, set(), 'descriptors leaked')

    def run_async(self, coro, timeout=10):
        """Runs coro on self.loop, bounded in time."""
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))
