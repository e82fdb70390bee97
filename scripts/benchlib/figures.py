"""Per-request figures that hold on a noisy machine.

- CPU time per request: the server's user+system time from /proc/<pid>/stat
  over the timed runs, divided by the requests it served. stat counts in
  clock ticks (10 ms), so the same is also taken from schedstat, which counts
  nanoseconds on the CPU, summed over the server's threads.
- User-space instructions per request: valgrind --tool=callgrind over a fixed
  request count. Two counts, n1 < n2, and (I(n2) - I(n1)) / (n2 - n1): start-up,
  connection set-up and shutdown cost the same in both runs and cancel out.
  The same difference per function gives the per-request breakdown.
- System calls per request: strace -f -c over the same two counts, likewise.

Under valgrind or strace the server is many times slower than the load
generator, so every connection is ready at each wait and the wait is shared
by the connections: these figures describe a saturated server.
"""
import os
import re
import shutil
import subprocess
import tempfile

from . import load, peers, processes

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15


def cpu_seconds_precise(pid):
    """Seconds on a CPU, all threads, from /proc/<pid>/task/*/schedstat; None if gone."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def _fixed_run(name, ctx, wrapper, n, size, connections, start_timeout):
    """Runs server `name` under `wrapper` for exactly n requests; it exits by itself."""
    server = peers.Server(name, ctx.root, ctx.build_dir, ctx.server_cpu, wrapper=wrapper,
                          extra=["--requests", str(n), "--size", str(size)],
                          start_timeout=start_timeout)
    try:
        load.run(ctx.build_dir, server.port, ctx.client_cpu, connections, size, requests=n,
                 timeout=ctx.fixed_timeout, tls=name in peers.TLS)
    finally:
        if not processes.wait(server.proc, ctx.fixed_timeout):
            ctx.log(f"  {name}: did not exit after its {n} requests; stopped")


def _callgrind_functions(path):
    """{function: instructions} from callgrind_annotate, exclusive costs."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                         capture_output=True, text=True, timeout=120).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?:\s+\[(.*)\])?$", line)
        if not m or m.group(2) == "PROGRAM TOTALS":
            continue
        function = m.group(2).partition(":")[2] or m.group(2)
        obj = os.path.basename(m.group(3) or "?")
        key = f"{function} [{obj}]"
        costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def instructions(name, ctx, size, connections, n1, n2):
    """{"per_request": ..., "functions": [(name, per request), ...]} or raises Skipped."""
    if not shutil.which("valgrind"):
        raise peers.Skipped("valgrind is not installed")
    totals, functions = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (n1, n2):
            out = os.path.join(tmp, f"callgrind.{n}")
            wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                       "--dump-instr=no", "--compress-strings=no"]
            _fixed_run(name, ctx, wrapper, n, size, connections, start_timeout=120)
            with open(out) as f:
                total = next(int(line.split()[1]) for line in f if line.startswith("totals:"))
            totals.append(total)
            functions.append(_callgrind_functions(out))
    delta = n2 - n1
    per_function = {k: (functions[1].get(k, 0) - functions[0].get(k, 0)) / delta
                    for k in set(functions[0]) | set(functions[1])}
    top = sorted(((k, v) for k, v in per_function.items() if abs(v) >= 0.5), key=lambda kv: -kv[1])
    return {"per_request": (totals[1] - totals[0]) / delta, "n": [n1, n2], "totals": totals,
            "functions": top[:40]}


def _strace_counts(path):
    """{syscall: calls} from strace -c's summary table."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) in (5, 6) and parts[0][0].isdigit() and parts[-1] != "total":
                counts[parts[-1]] = int(parts[3])
    return counts


def syscalls(name, ctx, size, connections, n1, n2):
    """{"per_request": ..., "by_call": {syscall: per request}} or raises Skipped."""
    if not shutil.which("strace"):
        raise peers.Skipped("strace is not installed")
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (n1, n2):
            out = os.path.join(tmp, f"strace.{n}")
            _fixed_run(name, ctx, ["strace", "-f", "-c", "-o", out], n, size, connections,
                       start_timeout=60)
            counts.append(_strace_counts(out))
    delta = n2 - n1
    by_call = {k: (counts[1].get(k, 0) - counts[0].get(k, 0)) / delta
               for k in set(counts[0]) | set(counts[1])}
    by_call = {k: round(v, 4) for k, v in sorted(by_call.items(), key=lambda kv: -kv[1])
               if abs(v) >= 0.001}
    return {"per_request": (sum(counts[1].values()) - sum(counts[0].values())) / delta,
            "n": [n1, n2], "by_call": by_call}
