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
All the duels of a run take their rounds in turn (duels()), so that a slow
drift of the machine cannot favour one duel over another.
"""
from . import figures, load, peers, stats


def _cpu(server):
    value = figures.cpu_seconds_precise(server.pid)
    if value is None:
        raise load.LoadError(f"{server.name} is gone (exit status {server.proc.poll()})")
    return value


def one_round(ctx, servers, size, connections, depth, duration, warmup, first, rate=None):
    """CPU µs per request and requests/s of each server, both loaded at once.
    With `rate`, each load generator offers that many messages per second
    (open loop), and a server that fell 3% short of it fails the round."""
    before = [_cpu(s) for s in servers]
    order = [0, 1] if first == 0 else [1, 0]
    gens = {}
    for i in order:
        gens[i] = load.start(ctx.build_dir, servers[i].port, ctx.client_cpu, connections, size,
                             depth=depth, duration=duration, warmup=warmup,
                             timeout=duration + warmup + 30, tls=servers[i].name in peers.TLS,
                             rate=rate)
    results = {i: load.finish(gens[i]) for i in order}
    after = [_cpu(s) for s in servers]
    out = []
    for i, server in enumerate(servers):
        r = results[i]
        if r["errors"]:
            raise load.LoadError(f"{server.name}: {r['errors']} echoed messages came back wrong")
        if rate and r["requests_per_s"] < 0.97 * rate:
            raise load.LoadError(f"{server.name} served {r['requests_per_s']:.0f} of the "
                                 f"{rate:g} requests/s offered")
        served = r["requests_total"]  # warm-up included, as is the CPU time read around it
        out.append({"cpu_us": (after[i] - before[i]) / served * 1e6,
                    "requests_per_s": r["requests_per_s"]})
    return out


def round_order(duels, rnd):
    """The order in which round `rnd` runs the duels: every one once, the list
    turned by one place per round, so that no duel always follows the same
    other one or always comes first."""
    if not duels:
        return []
    k = rnd % len(duels)
    return duels[k:] + duels[:k]


def duels(ctx, pairs, cells, rounds, duration, warmup, depth=1, rate=None):
    """Every pair (a, b) at every cell (size, connections), rounds interleaved.

    A duel's rounds taken back to back share the machine's mood of those
    20 seconds, and the next duel gets another: run to run, one cell's ratio
    moved by more than its interval said. Here round r runs every duel once
    (round_order), so each duel's rounds spread over the whole run and the
    machine's drift reaches all duels alike. Each server name runs as one
    process for all its duels (a pair of a server against itself gets a
    second copy): a round's load generator opens fresh connections.

    Returns one dict per duel, as ratios b ÷ a with medians and intervals, or
    with "error" if a server could not start or failed. `rate`: open loop at
    that many messages per second per server (one_round)."""
    items = [(size, conns, a, b) for size, conns in cells for a, b in pairs]
    # A process is (name, copy): copy 1 only for the b of a server against itself.
    keys = {(a, b): ((a, 0), (b, 1 if b == a else 0)) for a, b in pairs}
    servers, failed = {}, {}
    results = {item: {"cpu_ratios": [], "rps_ratios": [], "cpu": {}} for item in items}
    try:
        for a, b in pairs:
            for key in keys[(a, b)]:
                if key in servers or key in failed:
                    continue
                try:
                    servers[key] = peers.Server(key[0], ctx.root, ctx.build_dir,
                                                ctx.server_cpu)
                except peers.Skipped as e:
                    failed[key] = str(e)
        for rnd in range(rounds):
            for item in round_order(items, rnd):
                size, conns, a, b = item
                ka, kb = keys[(a, b)]
                error = failed.get(ka) or failed.get(kb) or results[item].get("error")
                if error:
                    results[item]["error"] = error
                    continue
                try:
                    ra, rb = one_round(ctx, [servers[ka], servers[kb]], size, conns, depth,
                                       duration, warmup, rnd % 2, rate)
                except load.LoadError as e:
                    results[item]["error"] = str(e)
                    for key in (ka, kb):
                        if not servers[key].alive():
                            failed[key] = f"{key[0]} is gone: {e}"
                    continue
                r = results[item]
                r["cpu_ratios"].append(rb["cpu_us"] / ra["cpu_us"])
                r["rps_ratios"].append(rb["requests_per_s"] / ra["requests_per_s"])
                r["cpu"].setdefault(a, []).append(ra["cpu_us"])
                r["cpu"].setdefault(b, []).append(rb["cpu_us"])  # the control: one list
            ctx.log(f"bench:   duel round {rnd + 1} of {rounds} done")
    finally:
        for server in servers.values():
            server.stop()
    out = []
    for item in items:
        size, conns, a, b = item
        r = results[item]
        d = {"a": a, "b": b, "size": size, "connections": conns, "rounds": rounds,
             "duration_s": duration, "rate": rate}
        if "error" in r:
            d["error"] = r["error"]
        else:
            d.update({"cpu_ratios": r["cpu_ratios"], "rps_ratios": r["rps_ratios"],
                      "cpu_us": r["cpu"], "cpu_ratio": stats.median_interval(r["cpu_ratios"]),
                      "rps_ratio": stats.median_interval(r["rps_ratios"])})
        out.append(d)
    return out
