#!/usr/bin/python3
"""scripts/bench-echo's --before [SERVER=]BINARY: SERVER is what precedes the
first "=" unless that is a path, so a binary's path may hold "=" itself; an
unknown server and a missing binary are refused with a message.
Usage: bench_echo_args.py (parses only: no benchmark runs)."""
import contextlib
import importlib.machinery
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "scripts", "bench-echo")


def load_bench_echo():
    loader = importlib.machinery.SourceFileLoader("bench_echo", SCRIPT)
    spec = importlib.util.spec_from_loader("bench_echo", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class BeforeArgument(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bench_echo = load_bench_echo()
        cls.dir = tempfile.mkdtemp(prefix="a=b")  # a path that holds "="
        cls.binary = os.path.join(cls.dir, "peer")
        shutil.copy("/bin/true", cls.binary)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def parse(self, value):
        argv = sys.argv
        sys.argv = ["bench-echo", "--before", value]
        try:
            return self.bench_echo.parse_args()
        finally:
            sys.argv = argv

    def refused(self, value):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit):
            self.parse(value)
        return stderr.getvalue()

    def test_server_and_a_path_with_an_equals_sign(self):
        a = self.parse("aiocpp_streams=" + self.binary)
        self.assertEqual(a.before, ("aiocpp_streams", self.binary))

    def test_a_path_with_an_equals_sign_alone_means_the_protocol_echo(self):
        a = self.parse(self.binary)
        self.assertEqual(a.before, ("aiocpp_protocol", self.binary))

    def test_an_unknown_server_is_refused(self):
        self.assertIn("--before aiocpp_strems=...: unknown server",
                      self.refused("aiocpp_strems=" + self.binary))

    def test_a_missing_binary_is_refused(self):
        self.assertIn("--before /nonexistent: not an executable",
                      self.refused("aiocpp_streams=/nonexistent"))


if __name__ == "__main__":
    unittest.main()
