"""Runs the load generator (bench/loadgen) against a port and returns its JSON."""
import json
import os
import subprocess

from . import peers, processes


class LoadError(Exception):
    pass


def start(build_dir, port, cpu, connections, size, depth=1, duration=None, warmup=None,
          requests=None, timeout=60.0, tls=False, rate=None):
    """Starts one load generator; finish() collects its result. `tls`: the
    server speaks TLS (peers.TLS). `rate`: messages per second offered in all,
    open loop (loadgen --rate), for CPU per request at a fixed load."""
    argv = peers.pin(cpu) + [os.path.join(build_dir, "bench", "loadgen"), "--port", str(port),
                             "--connections", str(connections), "--size", str(size),
                             "--depth", str(depth), "--timeout", f"{timeout:g}"]
    if tls:
        argv += ["--tls"]
    if rate:
        argv += ["--rate", f"{rate:g}"]
    if requests:
        argv += ["--requests", str(requests)]
    else:
        argv += ["--duration", f"{duration:g}", "--warmup", f"{warmup:g}"]
    proc = processes.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.bench_timeout = timeout
    return proc


def finish(proc):
    """The JSON result of a load generator from start(); LoadError if it has none."""
    try:
        out, err = proc.communicate(timeout=proc.bench_timeout + 10)  # loadgen stops itself before
    except subprocess.TimeoutExpired:
        processes.stop(proc)
        raise LoadError(f"loadgen overran its {proc.bench_timeout:g} s timeout")
    processes.stop(proc)  # already ended: this only forgets it
    try:
        result = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise LoadError(f"loadgen printed no result: {err.decode().strip()}")
    if "error" in result:
        raise LoadError(result["error"])
    return result


def run(build_dir, port, cpu, connections, size, depth=1, duration=None, warmup=None,
        requests=None, timeout=60.0, tls=False, rate=None):
    return finish(start(build_dir, port, cpu, connections, size, depth, duration, warmup,
                        requests, timeout, tls, rate))
