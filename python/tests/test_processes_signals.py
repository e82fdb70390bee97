"""Subprocesses (asyncio.create_subprocess_exec / _shell on aiocpp's native
subprocess transport) and signal handlers."""

import asyncio
import os
import signal
import subprocess
import sys

from support import LoopTestCase


class SubprocessTests(LoopTestCase):

    def test_create_subprocess_exec_communicate(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(
                sys.executable, '-c', 'import sys; sys.stdout.write(sys.stdin.read().upper())',
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            out, err = await proc.communicate(b'hello')
            self.assertEqual((out, err, proc.returncode), (b'HELLO', None, 0))
        self.run_async(main())

    def test_create_subprocess_shell_and_exit_code(self):
        async def main():
            proc = await asyncio.create_subprocess_shell(
                'echo out; echo err >&2; exit 3', stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            out, err = await proc.communicate()
            self.assertEqual((out, err, proc.returncode), (b'out\n', b'err\n', 3))
        self.run_async(main())

    def test_subprocess_transport_and_kill(self):
        async def main():
            transport, protocol = await self.loop.subprocess_exec(
                asyncio.SubprocessProtocol, 'sleep', '30', stdin=None, stdout=None, stderr=None)
            self.assertIsInstance(transport, asyncio.SubprocessTransport)
            self.assertIsNone(transport.get_returncode())
            transport.kill()
            self.assertEqual(await transport._wait(), -signal.SIGKILL)
            transport.close()
        self.run_async(main())

    def test_argument_errors(self):
        async def main():
            with self.assertRaisesRegex(ValueError, 'shell must be False'):
                await self.loop.subprocess_exec(asyncio.SubprocessProtocol, 'x', shell=True)
            with self.assertRaisesRegex(ValueError, 'cmd must be a string'):
                await self.loop.subprocess_shell(asyncio.SubprocessProtocol, ['x'])
            with self.assertRaises(FileNotFoundError):
                await asyncio.create_subprocess_exec('/nonexistent/program')
        self.run_async(main())


class SignalTests(LoopTestCase):

    def test_handler_runs_and_removal_restores_default(self):
        async def main():
            got = self.loop.create_future()
            self.loop.add_signal_handler(signal.SIGUSR1, got.set_result, 'usr1')
            os.kill(os.getpid(), signal.SIGUSR1)
            self.assertEqual(await got, 'usr1')
            self.assertTrue(self.loop.remove_signal_handler(signal.SIGUSR1))
            self.assertFalse(self.loop.remove_signal_handler(signal.SIGUSR1))
            self.assertEqual(signal.getsignal(signal.SIGUSR1), signal.SIG_DFL)
        self.run_async(main())

    def test_errors(self):
        with self.assertRaises(TypeError):
            self.loop.add_signal_handler(signal.SIGUSR1, asyncio.sleep)
        with self.assertRaisesRegex(RuntimeError, 'cannot be caught'):
            self.loop.add_signal_handler(signal.SIGKILL, print)
        with self.assertRaises(ValueError):
            self.loop.add_signal_handler(100000, print)
