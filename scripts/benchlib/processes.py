"""Every process the benchmark starts is bounded in time and stopped by pid.

Each server runs in a session of its own (start_new_session), so that a
server started through taskset, valgrind or strace is stopped with all its
children by signalling that one process group, whose id is the pid we got.
Whatever is still alive when the runner exits, on success, error or Ctrl-C,
is terminated, then killed.
"""
import atexit
import os
import select
import signal
import subprocess
import time

_live = {}  # pid -> Popen


def start(argv, **kwargs):
    """Popen in a new session, remembered until stop()."""
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    _live[proc.pid] = proc
    return proc


def stop(proc, grace=5.0):
    """SIGTERM to the process group; SIGKILL after `grace` seconds. Returns the status."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)
    _live.pop(proc.pid, None)
    return proc.returncode


def wait(proc, timeout):
    """Waits for a process to end by itself; stops it if it overruns. True if it ended."""
    try:
        proc.wait(timeout=timeout)
        _live.pop(proc.pid, None)
        return True
    except subprocess.TimeoutExpired:
        stop(proc)
        return False


def read_line(proc, timeout):
    """The first line the process writes on stdout, or None after `timeout` or at exit."""
    deadline = time.monotonic() + timeout
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1)  # one byte at a time: nothing past the line is consumed
        if not chunk:
            return None
        line += chunk
    return line.decode().strip()


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def stop_all():
    for proc in list(_live.values()):
        stop(proc, grace=2.0)


def _on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


atexit.register(stop_all)
# Ctrl-C, a kill or a closed terminal all end in stop_all(). SIGINT is set
# explicitly: a shell starts background jobs with it ignored, and Python then
# would not turn it into KeyboardInterrupt.
for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)
