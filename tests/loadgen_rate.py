#!/usr/bin/python3
"""The load generator's open loop (bench/loadgen --rate), which the fixed-rate
duels of make bench rest on: against a small asyncio echo server in this
process, it offers exactly rate x duration messages and they all come back
intact; --rate with --requests, and a rate out of range, are refused with a
message. Usage: loadgen_rate.py LOADGEN"""
import asyncio
import json
import subprocess
import sys
import threading
import unittest

LOADGEN = None


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class EchoServer:
    """An asyncio echo server on 127.0.0.1 in a thread of its own."""

    def __enter__(self):
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                self.loop.create_server(Echo, "127.0.0.1", 0))
            self.port = self.server.sockets[0].getsockname()[1]
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve)
        self.thread.start()
        if not started.wait(10):
            raise RuntimeError("the echo server did not start")
        return self

    def __exit__(self, *exc):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), self.loop)
        self.thread.join(10)
        self.loop.close()


def run_loadgen(*args):
    return subprocess.run([LOADGEN, *args], capture_output=True, text=True, timeout=60)


class LoadgenRate(unittest.TestCase):
    def test_offers_rate_times_duration_messages_and_all_come_back(self):
        with EchoServer() as server:
            done = run_loadgen("--port", str(server.port), "--rate", "500", "--connections", "4",
                               "--size", "512", "--duration", "2", "--warmup", "0")
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual(report["mode"], "rate")
        self.assertEqual(report["offered_per_s"], 500.0)
        # Message k falls due at k / rate: 1,000 in 2 s, whatever the
        # machine's speed (a slow echo makes them late, not fewer)...
        self.assertLessEqual(report["requests_total"], 1001)
        # ... and a light load on a loaded machine still answers nearly all.
        self.assertGreaterEqual(report["requests_total"], 900)
        self.assertEqual(report["errors_total"], 0)
        self.assertEqual(report["mismatched_bytes"], 0)

    def test_rate_with_requests_is_refused(self):
        done = run_loadgen("--port", "9", "--rate", "10", "--requests", "5")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--rate runs for --duration", done.stderr)

    def test_a_rate_out_of_range_is_refused(self):
        for rate in ("0", "-5", "1e9", "fast"):
            done = run_loadgen("--port", "9", "--rate", rate)
            self.assertEqual(done.returncode, 2, rate)
            self.assertIn("--rate", done.stderr, rate)


if __name__ == "__main__":
    LOADGEN = sys.argv.pop(1)
    unittest.main()
