"""Pipes (the native pipe transports) and subprocesses (asyncio's own transport over them)."""

import asyncio
import os
import subprocess
from asyncio import unix_events


class _SubprocessTransport(unix_events._UnixSubprocessTransport):
    """asyncio's subprocess transport, finishing once its pipes are recorded.

    asyncio's _connect_pipes records each pipe once the coroutine awaiting
    connect_read_pipe / connect_write_pipe resumes, and asyncio's loop always
    resumes it before the pipe's first I/O. Here the await returns a few
    iterations later (the native connect is a C++ task settling a Python
    future), so a pipe at EOF at once (a child killed as it starts) can be
    lost, and the child reaped, before its pipe is recorded: asyncio's
    _try_finish, run by those two events only, then sees an unrecorded pipe
    and would wait forever. It runs once more when the last pipe is recorded,
    the one moment it can newly succeed, so no report is held or retried."""

    async def _connect_pipes(self, waiter):
        await super()._connect_pipes(waiter)
        if not self._finished:
            self._try_finish()


class PipeMethods:

    async def connect_read_pipe(self, protocol_factory, pipe):
        return await self._connect_pipe(protocol_factory, pipe, False)

    async def connect_write_pipe(self, protocol_factory, pipe):
        return await self._connect_pipe(protocol_factory, pipe, True)

    async def _connect_pipe(self, protocol_factory, pipe, write):
        self._check_closed()
        # The native transport works on a duplicate; `pipe` closes with the
        # connection, as asyncio's pipe transports own and close it.
        transport, protocol = await self._connect_pipe_native(
            protocol_factory, os.dup(pipe.fileno()), write)
        transport._set_pipe(pipe)
        return transport, protocol

    async def subprocess_exec(self, protocol_factory, program, *args, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=False, shell=False, bufsize=0, encoding=None,
                              errors=None, text=None, **kwargs):
        if universal_newlines:
            raise ValueError("universal_newlines must be False")
        if shell:
            raise ValueError("shell must be False")
        _check_popen_args(bufsize, text, encoding, errors)
        return await self._spawn(protocol_factory, (program,) + args, False, stdin, stdout, stderr, kwargs)

    async def subprocess_shell(self, protocol_factory, cmd, *, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=False, shell=True, bufsize=0, encoding=None,
                               errors=None, text=None, **kwargs):
        if not isinstance(cmd, (bytes, str)):
            raise ValueError("cmd must be a string")
        if universal_newlines:
            raise ValueError("universal_newlines must be False")
        if not shell:
            raise ValueError("shell must be True")
        _check_popen_args(bufsize, text, encoding, errors)
        return await self._spawn(protocol_factory, cmd, True, stdin, stdout, stderr, kwargs)

    async def _spawn(self, protocol_factory, command, shell, stdin, stdout, stderr, kwargs):
        # asyncio's own subprocess transport (subprocess.Popen, so every Popen
        # argument works and get_extra_info('subprocess') is the Popen) over
        # the native pipe transports (it connects them with our
        # connect_read_pipe / connect_write_pipe), and the child's exit from
        # the policy's child watcher, exactly as asyncio 3.11 does it.
        self._check_closed()
        if stdin == subprocess.STDOUT or stdout == subprocess.STDOUT:
            raise ValueError('STDOUT can only be used for stderr')
        protocol = protocol_factory()
        with asyncio.get_child_watcher() as watcher:
            if not watcher.is_active():
                # Before the child exists: nothing would ever reap it.
                raise RuntimeError("asyncio.get_child_watcher() is not activated, "
                                   "subprocess support is not installed.")
            waiter = self.create_future()
            transport = _SubprocessTransport(
                self, protocol, command, shell, stdin, stdout, stderr, 0, waiter=waiter,
                **kwargs)
            watcher.add_child_handler(transport.get_pid(), self._child_exited, transport)
            try:
                await waiter
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                transport.close()
                await transport._wait()
                raise
        return transport, protocol

    def _child_exited(self, pid, returncode, transport):
        # From the watcher: maybe another thread's (ThreadedChildWatcher).
        self.call_soon_threadsafe(transport._process_exited, returncode)


def _check_popen_args(bufsize, text, encoding, errors):
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")
