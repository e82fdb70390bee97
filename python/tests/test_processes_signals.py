"""Subprocesses (asyncio.create_subprocess_exec / _shell: asyncio's own
subprocess transport over aiocpp's native pipes) and signal handlers."""

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

    def test_cancelled_as_it_starts_ends(self):
        # Cancelled at once, the spawn kills the child and waits for it: its
        # pipes close, and it is reaped, before asyncio's _connect_pipes has
        # recorded the pipes (their connections settle a few iterations
        # later here). The wait must still end, with the cancellation.
        async def main():
            for _ in range(20):
                task = self.loop.create_task(self.loop.subprocess_exec(
                    asyncio.SubprocessProtocol, sys.executable, '-c', 'import time; time.sleep(60)'))
                self.loop.call_soon(task.cancel)
                with self.assertRaises(asyncio.CancelledError):
                    await asyncio.wait_for(task, 5)
        self.run_async(main(), timeout=60)

    def test_argument_errors(self):
        async def main():
            with self.assertRaisesRegex(ValueError, 'shell must be False'):
                await self.loop.subprocess_exec(asyncio.SubprocessProtocol, 'x', shell=True)
            with self.assertRaisesRegex(ValueError, 'cmd must be a string'):
                await self.loop.subprocess_shell(asyncio.SubprocessProtocol, ['x'])
            with self.assertRaises(FileNotFoundError):
                await asyncio.create_subprocess_exec('/nonexistent/program')
        self.run_async(main())


    def test_process_exited_when_reaped_before_pipes_close(self):
        # asyncio 3.11: process_exited as soon as the child is reaped, even
        # while a grandchild still holds its stdout; connection_lost after.
        events = []

        class Protocol(asyncio.SubprocessProtocol):
            def __init__(self):
                self.lost = loop.create_future()

            def connection_made(self, transport):
                # (process_exited may come before subprocess_shell returns)
                self.transport = transport

            def process_exited(self):
                events.append('process_exited')
                os.killpg(self.transport.get_pid(), signal.SIGKILL)  # the grandchild

            def pipe_connection_lost(self, fd, exc):
                events.append(f'pipe_connection_lost {fd}')

            def connection_lost(self, exc):
                events.append('connection_lost')
                self.lost.set_result(None)

        loop = self.loop

        async def main():
            transport, protocol = await loop.subprocess_shell(
                Protocol, 'sleep 30 & exit 3', stdin=None, stdout=subprocess.PIPE, stderr=None,
                start_new_session=True)
            await protocol.lost
            self.assertEqual(events, ['process_exited', 'pipe_connection_lost 1',
                                      'connection_lost'])
            self.assertEqual(transport.get_returncode(), 3)

        self.run_async(main())

    def test_popen_object_and_arguments(self):
        # Every Popen argument works (subprocess.Popen starts the child), and
        # get_extra_info('subprocess') is that Popen.
        async def main():
            proc = await asyncio.create_subprocess_exec(
                sys.executable, '-c', 'import os; print(os.umask(0))', umask=0o027,
                stdout=subprocess.PIPE)
            self.assertIsInstance(proc._transport.get_extra_info('subprocess'), subprocess.Popen)
            out, _ = await proc.communicate()
            self.assertEqual(out, b'23\n')  # 0o027
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
