"""python3 -m aiocpp: the command line, and the seeds' programs run unchanged."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import aiocpp

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'seeds')
PYTHON = '/usr/bin/python3'


def run_aiocpp(*args, **kwargs):
    return subprocess.run([PYTHON, '-m', 'aiocpp', *args], capture_output=True, text=True,
                          timeout=30, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def listening(port):
    """Whether something listens on 127.0.0.1:port (read from /proc, without connecting)."""
    wanted = f'0100007F:{port:04X}'
    with open('/proc/net/tcp') as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == wanted and fields[3] == '0A':  # 0A: LISTEN
                return True
    return False


def seed_copy(directory, name, port):
    """The seed program with its port 8888 replaced by `port`."""
    with open(os.path.join(SEEDS, name)) as f:
        text = f.read()
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(text.replace('8888', str(port)))
    return path


class CommandLineTests(unittest.TestCase):

    def test_version(self):
        result = run_aiocpp('--version')
        self.assertEqual(result.returncode, 0)
        self.assertIn(f'aiocpp {aiocpp.__version__}', result.stdout)

    def test_help(self):
        result = run_aiocpp('--help')
        self.assertEqual(result.returncode, 0)
        self.assertIn('usage: python3 -m aiocpp', result.stdout)
        self.assertNotEqual(run_aiocpp().returncode, 0)
        self.assertNotEqual(run_aiocpp('/nonexistent/script.py').returncode, 0)

    def test_script_runs_as_main_on_aiocpp(self):
        with tempfile.TemporaryDirectory() as directory:
            script = os.path.join(directory, 'probe.py')
            with open(script, 'w') as f:
                f.write('import asyncio, sys\n'
                        'async def main():\n'
                        '    return type(asyncio.get_running_loop()).__module__\n'
                        'print(__name__, sys.argv[1:], asyncio.run(main()),\n'
                        '      type(asyncio.new_event_loop()).__name__)\n')
            result = run_aiocpp(script, 'a', 'b')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), ['__main__', "['a',", "'b']", 'aiocpp._loop', 'Loop'])

    def test_seed_003_hello_world(self):
        result = run_aiocpp(os.path.join(SEEDS, 'hello_world_003.py'))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, 'Hello World\n')

    def test_seed_004_echo_server_and_client(self):
        port = free_port()
        with tempfile.TemporaryDirectory() as directory:
            server_script = seed_copy(directory, 'echo_server_004.py', port)
            client_script = seed_copy(directory, 'echo_client_004.py', port)
            server = subprocess.Popen([PYTHON, '-m', 'aiocpp', server_script],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 20
                while not listening(port):
                    self.assertIsNone(server.poll(), 'the server exited')
                    self.assertLess(time.monotonic(), deadline, 'the server never listened')
                    time.sleep(0.02)
                client = run_aiocpp(client_script)
            finally:
                server.send_signal(2)  # Ctrl-C: asyncio.run raises KeyboardInterrupt
                out, err = server.communicate(timeout=20)
        self.assertEqual(client.returncode, 0, client.stderr)
        self.assertEqual(client.stdout,
                         "Data sent: 'Hello World!'\n"
                         "Data received: 'Hello World!'\n"
                         "The server closed the connection\n")
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^Connection from \('127\.0\.0\.1', \d+\)$")
        self.assertEqual(lines[1:], ["Data received: 'Hello World!'",
                                     "Send: 'Hello World!'",
                                     'Close the client socket'])
        self.assertIn('KeyboardInterrupt', err)
        self.assertNotEqual(server.returncode, 0)


if __name__ == '__main__':
    unittest.main()
