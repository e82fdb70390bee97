"""The results as a markdown table, a JSON file and a PNG chart."""
import statistics

from . import stats
from .peers import LABELS

BASELINE, FLOOR = "libuv", "raw_epoll"


def summarize(samples):
    """Medians over the rounds of one (server, size, connections) cell."""
    ok = [s for s in samples if "error" not in s]
    if not ok:
        return {"error": samples[-1]["error"] if samples else "no run", "rounds": 0}
    med = lambda key: statistics.median(s[key] for s in ok)
    served = sum(s["requests_total"] for s in ok)

    def cpu_per_request(key):  # total over the rounds: less rounding than a median of ratios
        if not served or any(s.get(key) is None for s in ok):
            return None
        return sum(s[key] for s in ok) / served * 1e6

    return {
        "rounds": len(ok),
        "requests_per_s": med("requests_per_s"),
        "mib_per_s": med("mib_per_s"),
        "p50_us": med("p50_us"),
        "p99_us": med("p99_us"),
        "p999_us": med("p999_us"),
        "cpu_us_per_request": cpu_per_request("cpu_s"),
        "cpu_sched_us_per_request": cpu_per_request("cpu_sched_s"),
        "requests_served": served,
        "errors": sum(s["errors"] for s in ok),
        # One per round, None where the run failed: rounds pair up across servers.
        "samples_requests_per_s": [s.get("requests_per_s") for s in samples],
    }


def _num(x, digits=0):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def _ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}"


def matrix_table(cells, servers):
    """cells: {(size, connections): {server: summary}}."""
    lines = [
        "| size | conns | server | req/s | MiB/s | p50 µs | p99 µs | CPU µs/req | req/s ÷ libuv | req/s ÷ raw epoll |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (size, conns), by_server in sorted(cells.items()):
        base = by_server.get(BASELINE, {}).get("requests_per_s")
        floor = by_server.get(FLOOR, {}).get("requests_per_s")
        for name in servers:
            s = by_server.get(name)
            if s is None:
                continue
            label = LABELS[name]
            if "error" in s:
                lines.append(f"| {size // 1024} KiB | {conns} | {label} | failed: {s['error']} |||||||")
                continue
            rps = s["requests_per_s"]
            flag = f" ({s['errors']} errors)" if s["errors"] else ""
            lines.append(
                f"| {size // 1024} KiB | {conns} | {label}{flag} | {_num(rps)} | {_num(s['mib_per_s'], 1)} | "
                f"{_num(s['p50_us'], 1)} | {_num(s['p99_us'], 1)} | {_num(s['cpu_us_per_request'], 2)} | "
                f"{_ratio(rps, base)} | {_ratio(rps, floor)} |")
    return "\n".join(lines)


def figures_table(figures, cpu, servers):
    """figures: {server: {"instructions": ..., "syscalls": ...}};
    cpu: {server: (stat µs/request, schedstat µs/request)}."""
    floor = cpu.get(FLOOR, (None, None))
    lines = [
        "| server | instructions/req | syscalls/req | CPU µs/req (stat) | ÷ raw epoll | CPU µs/req (schedstat) | ÷ raw epoll |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    notes = []

    def cell(figure, digits, what):
        if "per_request" in figure:
            return _num(figure["per_request"], digits)
        if "skipped" in figure:
            notes.append(f"{LABELS[name]}, {what}: {figure['skipped']}")
            return f"—[{len(notes)}]"
        return "—"

    for name in servers:
        f = figures.get(name, {})
        ins_s = cell(f.get("instructions", {}), 0, "instructions")
        sys_s = cell(f.get("syscalls", {}), 3, "system calls")
        stat, sched = cpu.get(name, (None, None))
        lines.append(f"| {LABELS[name]} | {ins_s} | {sys_s} | {_num(stat, 2)} | {_ratio(stat, floor[0])} | "
                     f"{_num(sched, 2)} | {_ratio(sched, floor[1])} |")
    if notes:
        lines.append("")
        lines += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines)


# aiocpp's Protocol echo at 1 KiB, 10 connections, against its targets (issue 4).
TARGETS = [("instructions per request", "instructions", 250),
           ("system calls per request", "syscalls", 2.11)]
CPU_LIMIT = 1.03  # aiocpp's CPU per request ÷ raw epoll's, at 10 and 100 connections
# aiocpp on io_uring (issue 15): CPU per request ÷ raw io_uring's; system calls per request.
URING_FLOOR, URING_CPU_LIMIT, URING_SYSCALL_LIMIT = "raw_io_uring", 1.05, 0.25
TLS_FLOOR, TLS_CPU_LIMIT = "raw_openssl_epoll", 1.05  # aiocpp TLS ÷ raw OpenSSL over epoll
CONTENDERS = ("libuv", "asio")  # whose requests/s aiocpp's must not fall below
# The streams echo's CPU per request ÷ the Protocol echo's (issue 14).
STREAMS_DUEL, STREAMS_CPU_LIMIT = ("aiocpp_protocol", "aiocpp_streams"), 1.10
# The streams echo's requests/s must not fall below Asio's coroutine echo's (issue 14).
STREAMS_CONTENDERS = ("asio_coro",)
# (aiocpp server, contender) pairs that rps_table compares cell by cell.
RPS_PAIRS = [("aiocpp_protocol", c) for c in CONTENDERS] + \
    [("aiocpp_streams", c) for c in STREAMS_CONTENDERS]
TLS_CONTENDERS = ("asio_tls",)  # the same for aiocpp's TLS echo (the duels)


def targets(figures, cpu):
    f = figures.get("aiocpp_protocol")
    if not f:
        return ""
    lines = ["| aiocpp Protocol, 1 KiB, 10 connections | measured | target | met |",
             "| --- | ---: | ---: | --- |"]
    for label, kind, limit in TARGETS:  # stable figures: one measurement decides
        value = f.get(kind, {}).get("per_request")
        met = "—" if value is None else ("yes" if value <= limit else "**no**")
        lines.append(f"| {label} | {_num(value, 3 if limit < 10 else 0)} | ≤ {limit:g} | {met} |")
    # aiocpp on io_uring (issue 15): the ring is there to save system calls.
    uring = figures.get("aiocpp_uring", {}).get("syscalls", {}).get("per_request")
    if uring is not None:
        met = "yes" if uring <= URING_SYSCALL_LIMIT else "**no**"
        lines.append(f"| system calls per request, on io_uring | {_num(uring, 3)} | "
                     f"≤ {URING_SYSCALL_LIMIT:g} | {met} |")
    for label, i in (("server CPU per request ÷ raw epoll, solo runs (stat)", 0),
                     ("server CPU per request ÷ raw epoll, solo runs (schedstat)", 1)):
        mine, floor = cpu.get("aiocpp_protocol", (None, None))[i], cpu.get(FLOOR, (None, None))[i]
        r = None if mine is None or not floor else mine / floor
        # Solo runs are too noisy to decide 3% (see duel.py); the duels decide it.
        lines.append(f"| {label} | {_num(r, 3)} | ≤ {CPU_LIMIT:g} | see the duels |")
    return "\n".join(lines)


def _interval(iv, digits=3):
    median, low, high, confidence = iv
    if median is None:
        return "—", "—"
    return f"{median:.{digits}f}", f"{low:.{digits}f} – {high:.{digits}f} ({confidence:.0%})"


def duel_verdict(d):
    """What a duel (duel.py) decides, by who `a` is: the epoll floor, CPU within
    3%; the io_uring floor and the TLS floor, within 5% (issues 15 and 13);
    the Protocol echo against the streams echo, CPU within 10% (issue 14);
    libuv or Asio, requests/s not below theirs; a second copy of `b`, nothing
    (the control); anything else, an earlier build: a difference in CPU."""
    if d["a"] == d["b"]:
        return "(control)"
    if d["a"] in CONTENDERS + TLS_CONTENDERS + STREAMS_CONTENDERS:
        return "req/s " + stats.not_below(d["rps_ratio"], 1.0)
    limits = {FLOOR: CPU_LIMIT, URING_FLOOR: URING_CPU_LIMIT, TLS_FLOOR: TLS_CPU_LIMIT}
    limit = STREAMS_CPU_LIMIT if (d["a"], d["b"]) == STREAMS_DUEL else limits.get(d["a"])
    if limit is not None:
        verdict = stats.at_most(d["cpu_ratio"], limit)
        return "**not met**" if verdict == "not met" else verdict
    return {"below": "less CPU", "above": "more CPU", "tie": "no difference shown",
            "undecided": "undecided"}[stats.not_below(d["cpu_ratio"], 1.0)]


def duel_table(duels):
    """The duels, both ratios with their intervals, and each one's verdict."""
    lines = ["| size | conns | servers (b vs a) | CPU/req b ÷ a, median | interval | "
             "req/s b ÷ a, median | interval | verdict |",
             "| ---: | ---: | --- | ---: | --- | ---: | --- | --- |"]
    for d in duels:
        a = "a second copy" if d["a"] == d["b"] else LABELS[d["a"]]
        head = f"| {d['size'] // 1024} KiB | {d['connections']} | {LABELS[d['b']]} vs {a} |"
        if "error" in d:
            lines.append(f"{head} failed: {d['error']} |||||")
            continue
        median, interval = _interval(d["cpu_ratio"])
        rps, rps_interval = _interval(d["rps_ratio"])
        lines.append(f"{head} {median} | {interval} | {rps} | {rps_interval} | {duel_verdict(d)} |")
    return "\n".join(lines)


def paired_ratios(mine, theirs):
    """Round-by-round ratios of two aligned lists, skipping rounds where either failed."""
    return [m / t for m, t in zip(mine, theirs) if m and t]


def rps_table(cells):
    """aiocpp's requests/s ÷ its contenders' (RPS_PAIRS), round by round, with the verdict."""
    lines = ["| size | conns | aiocpp server ÷ contender | median | interval | verdict |",
             "| ---: | ---: | --- | ---: | --- | --- |"]
    for (size, conns), by in sorted(cells.items()):
        for mine, other in RPS_PAIRS:
            if any(n not in by or "error" in by[n] for n in (mine, other)):
                continue
            ratios = paired_ratios(by[mine]["samples_requests_per_s"], by[other]["samples_requests_per_s"])
            iv = stats.median_interval(ratios)
            median, interval = _interval(iv)
            verdict = stats.not_below(iv, 1.0)
            if verdict == "below":
                verdict = "**below**"
            lines.append(f"| {size // 1024} KiB | {conns} | {LABELS[mine]} ÷ {LABELS[other]} | "
                         f"{median} | {interval} | {verdict} |")
    return "\n".join(lines)


def syscall_breakdown(figures, servers):
    lines = ["| server | system calls per request |", "| --- | --- |"]
    for name in servers:
        by_call = figures.get(name, {}).get("syscalls", {}).get("by_call")
        if by_call:
            calls = ", ".join(f"{k} {v:.3f}" for k, v in by_call.items())
            lines.append(f"| {LABELS[name]} | {calls} |")
    return "\n".join(lines)


def function_breakdown(instr, limit=25):
    lines = ["| instructions/req | function |", "| ---: | --- |"]
    for function, cost in instr.get("functions", [])[:limit]:
        lines.append(f"| {cost:,.1f} | `{function.replace('|', '/')}` |")
    return "\n".join(lines)


def chart(cells, servers, path, title):
    """Requests/s per server per message size, one panel per connection count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({size for size, _ in cells})
    conns = sorted({c for _, c in cells})
    shown = [s for s in servers if any(s in cells[k] and "error" not in cells[k][s] for k in cells)]
    fig, axes = plt.subplots(1, len(conns), figsize=(4.5 * len(conns) + 1.5, 4.6), squeeze=False)
    width = 0.8 / max(1, len(shown))
    for ax, c in zip(axes[0], conns):
        for i, name in enumerate(shown):
            values = [cells.get((size, c), {}).get(name, {}).get("requests_per_s") or 0 for size in sizes]
            ax.bar([x + i * width for x in range(len(sizes))], values, width, label=LABELS[name])
        ax.set_xticks([x + width * (len(shown) - 1) / 2 for x in range(len(sizes))])
        ax.set_xticklabels([f"{s // 1024} KiB" for s in sizes])
        ax.set_title(f"{c} connection{'s' if c > 1 else ''}")
        ax.set_ylabel("requests/s (median)")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(shown), 8), fontsize=8,
               frameon=False)  # below the panels, where it hides no bar
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cells_from_json(data):
    """The cells of a results JSON written by scripts/bench-echo, for replotting."""
    cells = {}
    for row in data["matrix"]:
        summary = {k: v for k, v in row.items() if k not in ("size", "connections", "server")}
        cells.setdefault((row["size"], row["connections"]), {})[row["server"]] = summary
    return cells
