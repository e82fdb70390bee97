"""aiocpp.Loop: asyncio.AbstractEventLoop on aiocpp's C++ engine.

The native base (_native.Loop) schedules callbacks, runs the loop (with the
GIL released while it waits in the kernel), watches descriptors and drives
the TCP transports. What is written here is what asyncio itself writes in
Python and what no hot path goes through: running until a future is done,
futures and tasks (asyncio's own, C-accelerated), the exception handler,
executors, async generators, name resolution, and the argument checks of
create_server / create_connection.
"""

import asyncio
import concurrent.futures
import os
import socket
import sys
import threading
import weakref

from asyncio import constants, coroutines, events, futures, tasks, trsock
from asyncio.log import logger

from . import _native
from ._datagram import DatagramMethods
from ._pipes import PipeMethods
from ._server import Server
from ._signals import SignalMethods
from ._sock import SockMethods
from ._tls import TlsMethods
from ._unix import UnixMethods

__all__ = ('Loop',)


def _check_callback(callback, method):
    # The slow path of the native callback check (asyncio's _check_callback).
    if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
        raise TypeError(f"coroutines cannot be used with {method}()")
    if not callable(callback):
        raise TypeError(f'a callable object was expected by {method}(), got {callback!r}')


def _transport_socket(fd):
    # get_extra_info('socket'): a TransportSocket over a duplicate of the
    # transport's descriptor, closed with the connection.
    return trsock.TransportSocket(socket.socket(fileno=os.dup(fd)))


_native._register(_check_callback, _transport_socket)


def _stop_when_done(future):
    # Stops the loop that run_until_complete runs, unless a KeyboardInterrupt
    # or SystemExit already did.
    if not future.cancelled():
        exc = future.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return
    future.get_loop().stop()


class Loop(UnixMethods, DatagramMethods, PipeMethods, SignalMethods, SockMethods, TlsMethods,
           _native.Loop, asyncio.AbstractEventLoop):

    def __init__(self):
        super().__init__()
        self._thread_id = None
        self._exception_handler = None
        self._task_factory = None
        self._default_executor = None
        self._executor_shutdown_called = False
        self._asyncgens = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._coroutine_origin_tracking_enabled = False
        self._coroutine_origin_tracking_saved_depth = None
        self.slow_callback_duration = 0.1
        # Transports made over a caller's socket (sock=), by that socket's
        # descriptor: asyncio refuses add_reader & co. on it while the
        # transport is open (the native transport works on a duplicate).
        self._sock_transports = {}
        if coroutines._is_debug_mode():  # PYTHONASYNCIODEBUG, -X dev, as BaseEventLoop
            self.set_debug(True)

    def __repr__(self):
        return (f'<{self.__class__.__name__} running={self.is_running()} '
                f'closed={self.is_closed()} debug={self.get_debug()}>')

    # --- running and stopping -------------------------------------------------------
    def _check_closed(self):
        if self.is_closed():
            raise RuntimeError('Event loop is closed')

    def _check_running(self):
        if self.is_running():
            raise RuntimeError('This event loop is already running')
        if events._get_running_loop() is not None:
            raise RuntimeError('Cannot run the event loop while another loop is running')

    def run_forever(self):
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self.get_debug())
        old_agen_hooks = sys.get_asyncgen_hooks()
        try:
            self._thread_id = threading.get_ident()
            sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                                   finalizer=self._asyncgen_finalizer_hook)
            events._set_running_loop(self)
            self._run_forever_native()
        finally:
            self._thread_id = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_agen_hooks)

    def run_until_complete(self, future):
        self._check_closed()
        self._check_running()
        new_task = not futures.isfuture(future)
        future = tasks.ensure_future(future, loop=self)
        if new_task:
            # A task made here is ours to watch: do not log it as destroyed
            # pending if the loop is interrupted.
            future._log_destroy_pending = False
        future.add_done_callback(_stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and future.done() and not future.cancelled():
                # Mark the exception retrieved: it is raised right here.
                future.exception()
            raise
        finally:
            future.remove_done_callback(_stop_when_done)
        if not future.done():
            raise RuntimeError('Event loop stopped before Future completed.')
        return future.result()

    def close(self):
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        if self.get_debug():
            logger.debug("Close %r", self)
        self._close_signals()
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)
        self._close_native()

    def __del__(self, _warn=__import__('warnings').warn):
        if not self.is_closed():
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # --- add_reader / add_writer -------------------------------------------------------
    def _register_sock_transport(self, sock, transport):
        self._sock_transports[sock.fileno()] = (sock, transport)

    def _ensure_fd_no_transport(self, fd):
        fileno = fd if isinstance(fd, int) else _native_fileno(fd)
        entry = self._sock_transports.get(fileno)
        if entry is None:
            return
        sock, transport = entry
        if sock.fileno() != fileno:  # that socket is closed: the number is free
            del self._sock_transports[fileno]
        elif not transport.is_closing():
            raise RuntimeError(f'File descriptor {fd!r} is used by transport {transport!r}')

    def add_reader(self, fd, callback, *args):
        if self._sock_transports:
            self._ensure_fd_no_transport(fd)
        return _native.Loop.add_reader(self, fd, callback, *args)

    def add_writer(self, fd, callback, *args):
        if self._sock_transports:
            self._ensure_fd_no_transport(fd)
        return _native.Loop.add_writer(self, fd, callback, *args)

    def remove_reader(self, fd):
        if self._sock_transports:
            self._ensure_fd_no_transport(fd)
        return _native.Loop.remove_reader(self, fd)

    def remove_writer(self, fd):
        if self._sock_transports:
            self._ensure_fd_no_transport(fd)
        return _native.Loop.remove_writer(self, fd)

    # The selector loop's private names, which unix_events' PidfdChildWatcher calls.
    _add_reader = _native.Loop.add_reader
    _remove_reader = _native.Loop.remove_reader

    # --- debug mode ------------------------------------------------------------------------
    def set_debug(self, enabled):
        self._set_debug_native(enabled)
        if self.is_running():
            self.call_soon_threadsafe(self._set_coroutine_origin_tracking, enabled)

    def _set_coroutine_origin_tracking(self, enabled):
        if bool(enabled) == bool(self._coroutine_origin_tracking_enabled):
            return
        if enabled:
            self._coroutine_origin_tracking_saved_depth = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(constants.DEBUG_STACK_DEPTH)
        else:
            sys.set_coroutine_origin_tracking_depth(self._coroutine_origin_tracking_saved_depth)
        self._coroutine_origin_tracking_enabled = enabled

    def _timer_handle_cancelled(self, handle):
        pass  # the C++ heap counts its cancelled timers itself

    # --- futures and tasks --------------------------------------------------------------
    # create_task is native (_native.Loop) when no task factory is set and
    # debug mode is off; everything else comes here.
    def _create_task(self, coro, *, name=None, context=None):
        self._check_closed()
        if self._task_factory is None:
            task = tasks.Task(coro, loop=self, name=name, context=context)
            if task._source_traceback:
                del task._source_traceback[-1]
            return task
        if context is None:
            task = self._task_factory(self, coro)
        else:
            task = self._task_factory(self, coro, context=context)
        if name is not None:
            try:
                task.set_name(name)
            except AttributeError:
                pass
        return task

    def set_task_factory(self, factory):
        if factory is not None and not callable(factory):
            raise TypeError('task factory must be a callable or None')
        self._task_factory = factory

    def get_task_factory(self):
        return self._task_factory

    # --- errors ---------------------------------------------------------------------------
    def get_exception_handler(self):
        return self._exception_handler

    def set_exception_handler(self, handler):
        if handler is not None and not callable(handler):
            raise TypeError(f'A callable object or None is expected, got {handler!r}')
        self._exception_handler = handler

    def default_exception_handler(self, context):
        message = context.get('message') or 'Unhandled exception in event loop'
        exception = context.get('exception')
        exc_info = (type(exception), exception, exception.__traceback__) if exception is not None else False
        lines = [message]
        for key in sorted(context):
            if key in {'message', 'exception'}:
                continue
            value = context[key]
            if key == 'source_traceback':
                value = ''.join(__import__('traceback').format_list(value)).rstrip()
                value = 'Object created at (most recent call last):\n' + value
            elif key == 'handle_traceback':
                value = ''.join(__import__('traceback').format_list(value)).rstrip()
                value = 'Handle created at (most recent call last):\n' + value
            else:
                value = repr(value)
            lines.append(f'{key}: {value}')
        logger.error('\n'.join(lines), exc_info=exc_info)

    def call_exception_handler(self, context):
        if self._exception_handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error('Exception in default exception handler', exc_info=True)
            return
        try:
            self._exception_handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler({
                    'message': 'Unhandled error in exception handler',
                    'exception': exc,
                    'context': context,
                })
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error('Exception in default exception handler while handling an '
                             'unexpected error in custom exception handler', exc_info=True)

    # Called by the native code when a callback or a protocol method raised.
    def _report_callback_error(self, handle, exc):
        self.call_exception_handler({
            'message': f'Exception in callback {_describe_callback(handle)}',
            'exception': exc,
            'handle': handle,
        })

    def _log_slow_callback(self, handle, seconds):
        # Called by the native handle in debug mode once a callback took at
        # least slow_callback_duration; asyncio's words, through its logger.
        logger.warning('Executing %s took %.3f seconds', _format_handle(handle), seconds)

    def _report_protocol_error(self, method, protocol, transport, exc):
        if method in ('pause_writing', 'resume_writing'):
            message = f'protocol.{method}() failed'
        else:
            message = f'Exception in callback {type(protocol).__qualname__}.{method}()'
        context = {'message': message, 'exception': exc, 'protocol': protocol}
        if transport is not None:
            context['transport'] = transport
        self.call_exception_handler(context)

    # --- executors --------------------------------------------------------------------------
    def run_in_executor(self, executor, func, *args):
        self._check_closed()
        if self.get_debug():
            _check_callback(func, 'run_in_executor')
        if executor is None:
            executor = self._default_executor
            if self._executor_shutdown_called:
                raise RuntimeError('Executor shutdown has been called')
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix='aiocpp')
                self._default_executor = executor
        return futures.wrap_future(executor.submit(func, *args), loop=self)

    def set_default_executor(self, executor):
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError('executor must be ThreadPoolExecutor')
        self._default_executor = executor

    async def shutdown_default_executor(self):
        self._executor_shutdown_called = True
        if self._default_executor is None:
            return
        future = self.create_future()
        thread = threading.Thread(target=self._shut_down_executor, args=(future,))
        thread.start()
        try:
            await future
        finally:
            thread.join()

    def _shut_down_executor(self, future):
        try:
            self._default_executor.shutdown(wait=True)
            if not self.is_closed():
                self.call_soon_threadsafe(_set_result_unless_done, future, None)
        except Exception as ex:
            if not self.is_closed():
                self.call_soon_threadsafe(_set_exception_unless_done, future, ex)

    # --- asynchronous generators ------------------------------------------------------
    def _asyncgen_finalizer_hook(self, agen):
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    def _asyncgen_firstiter_hook(self, agen):
        if self._asyncgens_shutdown_called:
            __import__('warnings').warn(
                f"asynchronous generator {agen!r} was scheduled after "
                f"loop.shutdown_asyncgens() call", ResourceWarning, source=self)
        self._asyncgens.add(agen)

    async def shutdown_asyncgens(self):
        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        results = await tasks.gather(*[agen.aclose() for agen in closing], return_exceptions=True)
        for result, agen in zip(results, closing):
            if isinstance(result, Exception):
                self.call_exception_handler({
                    'message': f'an error occurred during closing of asynchronous generator {agen!r}',
                    'exception': result,
                    'asyncgen': agen,
                })

    # --- names ----------------------------------------------------------------------------
    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        return await self.run_in_executor(None, socket.getaddrinfo, host, port, family, type,
                                          proto, flags)

    async def getnameinfo(self, sockaddr, flags=0):
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)

    # --- TCP -------------------------------------------------------------------------------
    async def create_server(self, protocol_factory, host=None, port=None, *,
                            family=socket.AF_UNSPEC, flags=socket.AI_PASSIVE, sock=None,
                            backlog=100, ssl=None, reuse_address=None, reuse_port=None,
                            ssl_handshake_timeout=None, ssl_shutdown_timeout=None,
                            start_serving=True):
        if isinstance(ssl, bool):
            raise TypeError('ssl argument must be an SSLContext or None')
        if ssl_handshake_timeout is not None and ssl is None:
            raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
        if ssl_shutdown_timeout is not None and ssl is None:
            raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        if sock is not None:
            _check_ssl_socket(sock)
        self._check_closed()
        factory = self._server_factory(protocol_factory, ssl, ssl_handshake_timeout,
                                       ssl_shutdown_timeout)
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError('host/port and sock can not be specified at the same time')
            if host == '':
                hosts = None
            elif isinstance(host, str) or not hasattr(host, '__iter__'):
                hosts = None if host is None else [host]
            else:
                hosts = list(host) or None
            fd = -1
        else:
            if sock is None:
                raise ValueError('Neither host/port nor sock were specified')
            if sock.type != socket.SOCK_STREAM:
                raise ValueError(f'A Stream Socket was expected, got {sock!r}')
            hosts = None
            sock.setblocking(False)
            # The C++ server listens on a duplicate; `sock` stays the
            # caller's object in server.sockets, and closes with the server,
            # as asyncio's does.
            fd = os.dup(sock.fileno())
        # From here the C++ server owns `fd` (checked above: a stream socket).
        native = await self._create_server_native(
            factory, hosts, port or 0, family, flags, fd, backlog,
            reuse_address, reuse_port, bool(start_serving))
        server = Server(self, native, [sock] if sock is not None else None)
        if start_serving:
            # As asyncio: give the listening sockets one loop iteration.
            await tasks.sleep(0)
        return server

    async def create_connection(self, protocol_factory, host=None, port=None, *, ssl=None,
                                family=0, proto=0, flags=0, sock=None, local_addr=None,
                                server_hostname=None, ssl_handshake_timeout=None,
                                ssl_shutdown_timeout=None, happy_eyeballs_delay=None,
                                interleave=None):
        if server_hostname is not None and not ssl:
            raise ValueError('server_hostname is only meaningful with ssl')
        if server_hostname is None and ssl:
            if not host:
                raise ValueError('You must set server_hostname when using ssl without a host')
            server_hostname = host
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        if sock is not None:
            _check_ssl_socket(sock)
        self._check_closed()
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError('host/port and sock can not be specified at the same time')
            return await self._connect_with_ssl(
                lambda factory: self._create_connection_native(
                    factory, host, port or 0, family, proto, flags, -1, local_addr,
                    happy_eyeballs_delay, interleave),
                protocol_factory, ssl, server_hostname, ssl_handshake_timeout,
                ssl_shutdown_timeout)
        if sock is None:
            raise ValueError('host and port was not specified and no sock specified')
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f'A Stream Socket was expected, got {sock!r}')
        sock.setblocking(False)
        return await self._connect_socket(
            sock, lambda factory, fd: self._create_connection_native(
                factory, None, 0, family, proto, flags, fd, local_addr, happy_eyeballs_delay,
                interleave),
            protocol_factory, ssl, server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout)


def _check_ssl_socket(sock):
    ssl = sys.modules.get('ssl')
    if ssl is not None and isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")


def _native_fileno(fileobj):
    # selectors' rule, and asyncio's message.
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"Invalid file object: {fileobj!r}") from None


def _describe_callback(handle):
    callback = getattr(handle, '_callback', None)
    if callback is None:
        return repr(handle)
    from asyncio import format_helpers
    return format_helpers._format_callback_source(callback, handle._args or ())


def _format_handle(handle):
    # A task's step shows as the task, as asyncio's base_events does.
    owner = getattr(handle._callback, '__self__', None)
    if isinstance(owner, tasks.Task):
        return repr(owner)
    return str(handle)


def _set_result_unless_done(future, result):
    if not future.done():
        future.set_result(result)


def _set_exception_unless_done(future, exc):
    if not future.done():
        future.set_exception(exc)
