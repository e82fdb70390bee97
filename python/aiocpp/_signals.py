"""add_signal_handler / remove_signal_handler with asyncio's semantics.

Python's own C-level handler writes the signal's number to a wakeup socket
(signal.set_wakeup_fd); the native loop watches the socket (add_reader) and
schedules the handler's callback. Handlers are main-thread only and
remove_signal_handler restores the default action (SIGINT: Python's
KeyboardInterrupt handler), as asyncio does; the C++ loop's own signal
handling (which restores the previous action and works from any thread) is
not used, so that Python's signal machinery stays in charge.
"""

import errno
import signal
import socket

from asyncio import coroutines, events
from asyncio.log import logger


def _noop(signum, frame):
    pass


class SignalMethods:

    _signal_handlers = None
    _signal_sockets = None

    def _check_signal(self, sig):
        if not isinstance(sig, int):
            raise TypeError(f'sig must be an int, not {sig!r}')
        if sig not in signal.valid_signals():
            raise ValueError(f'invalid signal number {sig}')

    def add_signal_handler(self, sig, callback, *args):
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        if self._signal_sockets is None:
            reader, writer = socket.socketpair()
            reader.setblocking(False)
            writer.setblocking(False)
            self._signal_sockets = (reader, writer)
            self._signal_handlers = {}
            self.add_reader(reader.fileno(), self._read_signals)
        try:
            signal.set_wakeup_fd(self._signal_sockets[1].fileno())
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc))
        self._signal_handlers[sig] = events.Handle(callback, args, self, None)
        try:
            signal.signal(sig, _noop)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                self._clear_wakeup_fd()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f'sig {sig} cannot be caught')
            raise

    def remove_signal_handler(self, sig):
        self._check_signal(sig)
        if not self._signal_handlers or self._signal_handlers.pop(sig, None) is None:
            return False
        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f'sig {sig} cannot be caught')
            raise
        if not self._signal_handlers:
            self._clear_wakeup_fd()
        return True

    def _clear_wakeup_fd(self):
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError) as exc:
            logger.info('set_wakeup_fd(-1) failed: %s', exc)

    def _read_signals(self):
        try:
            data = self._signal_sockets[0].recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        for sig in data:
            handle = self._signal_handlers.get(sig) if self._signal_handlers else None
            if handle is None:
                continue
            if handle._cancelled:
                self.remove_signal_handler(sig)
            else:
                self.call_soon(handle._run)

    def _close_signals(self):
        # Loop.close(): the handlers go (from the main thread only, as asyncio
        # warns otherwise), and so does the wakeup socket.
        if self._signal_sockets is None:
            return
        for sig in list(self._signal_handlers or ()):
            self.remove_signal_handler(sig)
        self.remove_reader(self._signal_sockets[0].fileno())
        for s in self._signal_sockets:
            s.close()
        self._signal_sockets = None
