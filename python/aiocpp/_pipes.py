"""Pipes and subprocesses on the native pipe and subprocess transports."""

import os
import subprocess



def _stream_number(value):
    # asyncio.subprocess's PIPE / STDOUT / DEVNULL are the C++ loop's own
    # numbers; None (the parent's stream) is INHERIT; a file gives its descriptor.
    if value is None:
        return -4
    if isinstance(value, int):
        return value
    return value.fileno()


# Popen keyword arguments the C++ spawner honours.
_SUPPORTED = {'cwd', 'env', 'start_new_session', 'close_fds', 'pass_fds'}


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
        argv = [os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else a
                for a in (program,) + args]
        return await self._spawn(protocol_factory, argv, False, stdin, stdout, stderr, kwargs)

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
        return await self._spawn(protocol_factory, os.fsdecode(cmd), True, stdin, stdout, stderr,
                                 kwargs)

    async def _spawn(self, protocol_factory, command, shell, stdin, stdout, stderr, kwargs):
        self._check_closed()
        unsupported = set(kwargs) - _SUPPORTED
        if unsupported:
            raise TypeError(f'aiocpp: subprocess arguments not supported: '
                            f'{", ".join(sorted(unsupported))}')
        if stdin == subprocess.STDOUT or stdout == subprocess.STDOUT:
            raise ValueError('STDOUT can only be used for stderr')
        env = kwargs.get('env')
        if env is not None:
            env = [f'{os.fsdecode(k)}={os.fsdecode(v)}' for k, v in env.items()]
        cwd = kwargs.get('cwd')
        if cwd is not None:
            cwd = os.fsdecode(os.fspath(cwd))
        return await self._subprocess_native(
            protocol_factory, command, shell, _stream_number(stdin), _stream_number(stdout),
            _stream_number(stderr), cwd, env, bool(kwargs.get('start_new_session', False)),
            bool(kwargs.get('close_fds', True)), list(kwargs.get('pass_fds', ())))


def _check_popen_args(bufsize, text, encoding, errors):
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")
