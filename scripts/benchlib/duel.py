"""Duels: two servers measured at the same time, so that the machine's mood
is the same for both.

Run one after the other, even adjacent one-second runs of the same server
differ here by up to ±13% in CPU per request: the host's other tenants take
cache, memory bandwidth and cycles, and that changes faster than the servers
can be alternated. In a duel both servers are pinned to the same CPU and two
load generators (one per server, on the other CPU, started in alternating
order) drive them over the same second; each server's CPU time per request is
read from schedstat, and the round's figure is the ratio of the two. Whatever
the host does in that second, it does to both.

A duel of a server against a second copy of itself (the control) measures
the instrument: its ratios spread only as far as the method's own error.
"""
from . import figures, load, peers, stats


def _cpu(server):
    value = figures.cpu_seconds_precise(server.pid)
    if value is None:
        raise load.LoadError(f"{server.name} is gone (exit status {server.proc.poll()})")
    return value


def one_round(ctx, servers, size, connections, depth, duration, warmup, first):
    """CPU µs per request and requests/s of each server, both loaded at once."""
    before = [_cpu(s) for s in servers]
    order = [0, 1] if first == 0 else [1, 0]
    gens = {}
    for i in order:
        gens[i] = load.start(ctx.build_dir, servers[i].port, ctx.client_cpu, connections, size,
                             depth=depth, duration=duration, warmup=warmup,
                             timeout=duration + warmup + 30)
    results = {i: load.finish(gens[i]) for i in order}
    after = [_cpu(s) for s in servers]
    out = []
    for i, server in enumerate(servers):
        r = results[i]
        if r["errors"]:
            raise load.LoadError(f"{server.name}: {r['errors']} echoed messages came back wrong")
        served = r["requests_total"]  # warm-up included, as is the CPU time read around it
        out.append({"cpu_us": (after[i] - before[i]) / served * 1e6,
                    "requests_per_s": r["requests_per_s"]})
    return out


def duel(ctx, a, b, size, connections, rounds, duration, warmup, depth=1):
    """Ratios b ÷ a of CPU per request and of requests/s, one per round, with medians."""
    servers = [peers.Server(a, ctx.root, ctx.build_dir, ctx.server_cpu),
               peers.Server(b, ctx.root, ctx.build_dir, ctx.server_cpu)]
    cpu_ratios, rps_ratios, cpu = [], [], {a: [], b: []}
    try:
        for rnd in range(rounds):
            ra, rb = one_round(ctx, servers, size, connections, depth, duration, warmup, rnd % 2)
            cpu_ratios.append(rb["cpu_us"] / ra["cpu_us"])
            rps_ratios.append(rb["requests_per_s"] / ra["requests_per_s"])
            cpu[a].append(ra["cpu_us"])
            cpu[b].append(rb["cpu_us"])  # a == b (the control) appends both to one list
    finally:
        for s in servers:
            s.stop()
    return {"a": a, "b": b, "size": size, "connections": connections, "rounds": rounds,
            "duration_s": duration, "cpu_ratios": cpu_ratios, "rps_ratios": rps_ratios,
            "cpu_us": cpu, "cpu_ratio": stats.median_interval(cpu_ratios),
            "rps_ratio": stats.median_interval(rps_ratios)}
