"""The echo servers compared, and how to start one: pinned to a CPU, with its
port read from the first line of its stdout (or a "skip: reason" line)."""
import os
import shutil

from . import processes

PYTHON = "/usr/bin/python3"  # Debian's, where python3-uvloop is installed

# (name, label, how to run it): "bin" is a binary in the build's bench/
# directory, "py" a script in bench/peers/ run with Debian's Python.
PEERS = [
    ("raw_epoll", "raw epoll (floor)", ("bin", "peer_raw_epoll")),
    ("raw_io_uring", "raw io_uring (floor)", ("bin", "peer_raw_io_uring")),
    ("libuv", "libuv", ("bin", "peer_libuv")),
    ("asio", "Asio", ("bin", "peer_asio")),
    ("asio_coro", "Asio coroutines", ("bin", "peer_asio_coro")),
    ("aiocpp_protocol", "aiocpp Protocol", ("bin", "peer_aiocpp_protocol")),
    ("aiocpp_buffered", "aiocpp BufferedProtocol", ("bin", "peer_aiocpp_buffered")),
    ("aiocpp_streams", "aiocpp streams", ("bin", "peer_aiocpp_streams")),
    ("aiocpp_uring", "aiocpp Protocol, io_uring",
     ("bin", "peer_aiocpp_protocol", "--backend", "io_uring")),
    ("aiocpp_uring_single", "aiocpp Protocol, io_uring, one thread",
     ("bin", "peer_aiocpp_protocol", "--backend", "io_uring", "--loop-option", "io_uring_single_thread")),
    ("raw_openssl_epoll", "TLS: raw OpenSSL + epoll (floor)", ("bin", "peer_raw_openssl_epoll")),
    ("aiocpp_tls", "TLS: aiocpp Protocol", ("bin", "peer_aiocpp_tls")),
    ("asio_tls", "TLS: Asio ssl::stream", ("bin", "peer_asio_tls")),
    ("asyncio", "Python asyncio", ("py", "asyncio_echo.py", "--loop", "asyncio")),
    ("uvloop", "Python uvloop", ("py", "asyncio_echo.py", "--loop", "uvloop")),
]
# The Python echo servers of bench/python (scripts: make bench-python), kept
# apart from the echo matrix above: the three loops under one Python program,
# as a Protocol and as streams.
PYTHON_PEERS = [
    (f"py_{loop}_{api}", f"{loop} {api}",
     ("py", "asyncio_echo.py", "--loop", loop, "--api", api))
    for api in ("protocol", "streams") for loop in ("asyncio", "uvloop", "aiocpp")
]
# A small aiohttp application on each loop (bench/python's HTTP cell, loaded by wrk).
PYTHON_PEERS += [(f"py_{loop}_aiohttp", f"{loop} aiohttp", ("py", "aiohttp_app.py", "--loop", loop))
                 for loop in ("asyncio", "uvloop", "aiocpp")]
LABELS = {name: label for name, label, _ in PEERS + PYTHON_PEERS}
SLOW_UNDER_VALGRIND = {"asyncio", "uvloop"}
# The servers that speak TLS (1.3, AES-128-GCM): the load generator does too.
TLS = {"raw_openssl_epoll", "aiocpp_tls", "asio_tls"}


class Skipped(Exception):
    """The server cannot run here; the message says why."""


def add_binary(name, label, path):
    """Makes a server binary outside the build (e.g. a saved earlier build) known as `name`."""
    if not os.access(path, os.X_OK):
        raise Skipped(f"{path} is not an executable")
    PEERS.append((name, label, ("path", os.path.abspath(path))))
    LABELS[name] = label


def command(name, root, build_dir):
    """The argv of a server, or Skipped if it was not built."""
    kind, what, *extra = next(how for n, _, how in PEERS + PYTHON_PEERS if n == name)
    if kind == "path":
        return [what, *extra]
    if kind == "bin":
        path = os.path.join(build_dir, "bench", what)
        if not os.access(path, os.X_OK):
            raise Skipped(f"{what} was not built (its library is missing; scripts/bootstrap --bench)")
        return [path, *extra]
    if not os.access(PYTHON, os.X_OK):
        raise Skipped(f"{PYTHON} is missing")
    return [PYTHON, os.path.join(root, "bench", "peers", what), *extra]


def pin(cpu):
    """The prefix that pins a command to `cpu`, or nothing without taskset."""
    if cpu is None or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", str(cpu)]


class Server:
    """A running echo server. `wrapper` (valgrind, strace ...) goes between
    taskset and the server; `extra` (e.g. --requests N --size S) after it."""

    def __init__(self, name, root, build_dir, cpu, wrapper=(), extra=(), start_timeout=15.0,
                 stderr=None):
        self.name = name
        argv = pin(cpu) + list(wrapper) + command(name, root, build_dir) + ["--port", "0"]
        argv += list(extra)
        self.proc = processes.start(argv, stdout=processes.subprocess.PIPE,
                                    stderr=stderr if stderr is not None else processes.subprocess.DEVNULL)
        line = processes.read_line(self.proc, start_timeout)
        if line is None:
            code = processes.stop(self.proc)
            raise Skipped(f"did not report its port within {start_timeout:.0f} s (exit status {code})")
        if line.startswith("skip"):
            processes.stop(self.proc)
            raise Skipped(line.partition(":")[2].strip() or line)
        self.port = int(line)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        return processes.stop(self.proc)
