#!/usr/bin/python3
"""The benchmark's verdicts (scripts/benchlib/stats.py): the median's interval
from order statistics, the three-way verdicts built on it, which of them
each kind of duel reports (report.duel_verdict), and how the duels take
their rounds in turn (duel.duels, with stand-ins for servers and loads)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from benchlib import duel, load, peers, report, stats  # noqa: E402


class MedianInterval(unittest.TestCase):
    def test_ranks_follow_the_sign_test(self):
        # n = 15: P(X <= 3) = 0.0176 for X ~ Bin(15, 1/2), so x(4) .. x(12), 96.5%.
        median, low, high, confidence = stats.median_interval(range(1, 16))
        self.assertEqual((median, low, high), (8, 4, 12))
        self.assertAlmostEqual(confidence, 0.96484375)
        # n = 10: x(2) .. x(9), 97.9%.
        self.assertEqual(stats.median_interval(range(1, 11))[1:3], (2, 9))

    def test_order_of_the_input_does_not_matter(self):
        self.assertEqual(stats.median_interval([5, 1, 4, 2, 3, 9, 8, 7, 6, 10]),
                         stats.median_interval(range(1, 11)))

    def test_too_few_rounds_give_the_whole_range_and_say_so(self):
        median, low, high, confidence = stats.median_interval([3, 1, 2])
        self.assertEqual((median, low, high), (2, 1, 3))
        self.assertAlmostEqual(confidence, 0.75)
        self.assertEqual(stats.median_interval([]), (None, None, None, 0.0))


class Verdicts(unittest.TestCase):
    def iv(self, low, high, confidence=0.97):
        return ((low + high) / 2, low, high, confidence)

    def test_at_most(self):
        self.assertEqual(stats.at_most(self.iv(1.00, 1.02), 1.03), "met")
        self.assertEqual(stats.at_most(self.iv(1.04, 1.06), 1.03), "not met")
        self.assertEqual(stats.at_most(self.iv(1.02, 1.04), 1.03), "undecided")
        self.assertEqual(stats.at_most(self.iv(1.00, 1.01, confidence=0.75), 1.03), "undecided")

    def test_not_below(self):
        self.assertEqual(stats.not_below(self.iv(1.01, 1.05), 1.0), "above")
        self.assertEqual(stats.not_below(self.iv(0.97, 1.02), 1.0), "tie")
        self.assertEqual(stats.not_below(self.iv(0.90, 0.98), 1.0), "below")


class DuelVerdicts(unittest.TestCase):
    def duel(self, a, b, cpu, rps):
        return {"a": a, "b": b, "size": 1024, "connections": 100,
                "cpu_ratio": (sum(cpu) / 2, *cpu, 0.97), "rps_ratio": (sum(rps) / 2, *rps, 0.97)}

    def test_against_the_floor_cpu_decides(self):
        fast_but_costly = self.duel("raw_epoll", "aiocpp_protocol", (1.04, 1.06), (1.1, 1.2))
        self.assertEqual(report.duel_verdict(fast_but_costly), "**not met**")
        self.assertEqual(report.duel_verdict(
            self.duel("raw_epoll", "aiocpp_protocol", (1.00, 1.02), (0.8, 0.9))), "met")

    def test_against_libuv_and_asio_requests_per_second_decide(self):
        cheap_but_slow = self.duel("libuv", "aiocpp_protocol", (0.8, 0.9), (0.9, 0.95))
        self.assertEqual(report.duel_verdict(cheap_but_slow), "req/s below")
        self.assertEqual(report.duel_verdict(
            self.duel("asio", "aiocpp_protocol", (1.1, 1.2), (0.98, 1.03))), "req/s tie")

    def test_the_control_and_a_before_after_duel(self):
        self.assertEqual(report.duel_verdict(
            self.duel("raw_epoll", "raw_epoll", (1.04, 1.06), (1.0, 1.0))), "(control)")
        self.assertEqual(report.duel_verdict(
            self.duel("before", "aiocpp_protocol", (0.97, 0.99), (1.0, 1.02))), "less CPU")
        self.assertEqual(report.duel_verdict(
            self.duel("before", "aiocpp_protocol", (0.99, 1.01), (1.0, 1.02))), "no difference shown")

    def test_table_rows_carry_the_verdict_and_failures(self):
        table = report.duel_table([
            self.duel("raw_epoll", "aiocpp_protocol", (1.00, 1.02), (0.9, 1.1)),
            {"a": "libuv", "b": "aiocpp_protocol", "size": 10240, "connections": 10,
             "error": "libuv was not built"}])
        rows = table.splitlines()[2:]
        self.assertTrue(rows[0].endswith("| met |"), rows[0])
        self.assertIn("10 KiB | 10 | aiocpp Protocol vs libuv | failed: libuv was not built", rows[1])


class FakeServer:
    """Stands in for peers.Server: records what was started and stopped."""
    started, stopped = [], []
    missing = set()

    def __init__(self, name, root, build_dir, cpu):
        if name in FakeServer.missing:
            raise peers.Skipped(f"{name} was not built")
        self.name, self.pid, self.port = name, len(FakeServer.started), 0
        FakeServer.started.append(self)

    def alive(self):
        return True

    def stop(self):
        FakeServer.stopped.append(self)


class InterleavedDuels(unittest.TestCase):
    def setUp(self):
        FakeServer.started, FakeServer.stopped, FakeServer.missing = [], [], set()
        self.calls = []
        self.rates = []
        self.saved = peers.Server, duel.one_round
        peers.Server = FakeServer

        def fake_round(ctx, servers, size, connections, depth, duration, warmup, first,
                       rate=None):
            self.calls.append((size, connections, servers[0].name, servers[1].name, servers))
            self.rates.append(rate)
            cost = {"raw_epoll": 4.0, "aiocpp_protocol": 4.1, "libuv": 4.4}
            return [{"cpu_us": cost[s.name], "requests_per_s": 1000.0 / cost[s.name]}
                    for s in servers]
        duel.one_round = fake_round

        class Ctx:
            root = build_dir = "."
            server_cpu, client_cpu = 0, 1

            def log(self, *args):
                pass
        self.ctx = Ctx()

    def tearDown(self):
        peers.Server, duel.one_round = self.saved

    def test_round_order_runs_each_duel_once_and_turns(self):
        items = ["a", "b", "c"]
        self.assertEqual(duel.round_order(items, 0), ["a", "b", "c"])
        self.assertEqual(duel.round_order(items, 1), ["b", "c", "a"])
        self.assertEqual(duel.round_order(items, 4), ["b", "c", "a"])
        self.assertEqual(duel.round_order([], 3), [])

    def test_every_round_runs_every_duel_and_the_control_has_two_processes(self):
        pairs = [("raw_epoll", "aiocpp_protocol"), ("raw_epoll", "raw_epoll")]
        cells = [(1024, 10), (1024, 100)]
        out = duel.duels(self.ctx, pairs, cells, 3, 1.0, 0.3)
        self.assertEqual(len(self.calls), 3 * 4)
        for rnd in range(3):  # round r holds each duel once
            self.assertEqual(len({c[:4] for c in self.calls[rnd * 4:(rnd + 1) * 4]}), 4)
        # One process per name, and a second raw epoll for the control.
        self.assertEqual(sorted(s.name for s in FakeServer.started),
                         ["aiocpp_protocol", "raw_epoll", "raw_epoll"])
        control = next(c for c in self.calls if c[2] == c[3] == "raw_epoll")
        self.assertIsNot(control[4][0], control[4][1])
        self.assertEqual(len(FakeServer.stopped), 3)
        d = out[0]
        self.assertEqual((d["a"], d["b"], d["size"], d["connections"]),
                         ("raw_epoll", "aiocpp_protocol", 1024, 10))
        self.assertEqual(len(d["cpu_ratios"]), 3)
        self.assertAlmostEqual(d["cpu_ratio"][0], 4.1 / 4.0)
        self.assertEqual(len(out[1]["cpu_us"]["raw_epoll"]), 6)  # the control: both sides

    def test_a_fixed_rate_reaches_every_round_and_the_result(self):
        out = duel.duels(self.ctx, [("raw_epoll", "aiocpp_protocol")], [(1024, 10)], 2, 1.0,
                         0.3, depth=4, rate=10000)
        self.assertEqual(self.rates, [10000, 10000])
        self.assertEqual(out[0]["rate"], 10000)
        duel.duels(self.ctx, [("raw_epoll", "aiocpp_protocol")], [(1024, 10)], 1, 1.0, 0.3)
        self.assertEqual(self.rates[-1], None)  # closed loop unless asked

    def test_a_server_that_is_missing_fails_only_its_duels(self):
        FakeServer.missing = {"libuv"}
        pairs = [("libuv", "aiocpp_protocol"), ("raw_epoll", "aiocpp_protocol")]
        out = duel.duels(self.ctx, pairs, [(1024, 10)], 2, 1.0, 0.3)
        self.assertEqual(out[0]["error"], "libuv was not built")
        self.assertNotIn("error", out[1])
        self.assertEqual(len(out[1]["rps_ratios"]), 2)

    def test_a_failed_round_fails_that_duel_and_stops_every_server(self):
        def failing(ctx, servers, *args):
            raise load.LoadError("3 echoed messages came back wrong")
        duel.one_round = failing
        out = duel.duels(self.ctx, [("raw_epoll", "aiocpp_protocol")], [(1024, 10)], 2, 1.0, 0.3)
        self.assertIn("came back wrong", out[0]["error"])
        self.assertEqual(len(FakeServer.stopped), len(FakeServer.started))


if __name__ == "__main__":
    unittest.main()
