"""pip installs the package offline, with Debian's tools only (setup.py):
into a fresh virtual environment, from this checkout, with no index. The
extension is this build's (AIOCPP_CMAKE_BUILD_DIR, set by ctest), so the test
checks the packaging, not a second compilation; `pip install .` without it
builds the extension with CMake in build-pip/."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = '/usr/bin/python3'


@unittest.skipIf('asan' in os.environ.get('LD_PRELOAD', ''),
                 'a sanitizer build\'s extension needs its runtime preloaded')
@unittest.skipUnless(os.environ.get('AIOCPP_CMAKE_BUILD_DIR'), 'run by ctest (make test)')
class PipInstall(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.env_dir = os.path.join(cls.tmp.name, 'env')
        # An environment of its own, which still sees Debian's setuptools and wheel.
        subprocess.run([PYTHON, '-m', 'venv', '--system-site-packages', cls.env_dir],
                       check=True, timeout=120)
        cls.python = os.path.join(cls.env_dir, 'bin', 'python')
        # Without PYTHONPATH: the installed package, not the build's, must answer.
        cls.clean_env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        cls.install = subprocess.run(
            [cls.python, '-m', 'pip', 'install', '--no-index', '--no-deps', '--no-cache-dir',
             '--disable-pip-version-check', ROOT],
            capture_output=True, text=True, timeout=600, env=cls.clean_env)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_installed(self, *args):
        return subprocess.run([self.python, *args], capture_output=True, text=True, timeout=60,
                              env=self.clean_env, cwd=self.tmp.name)

    def test_pip_installs_offline(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout + self.install.stderr)
        self.assertIn('Successfully installed aiocpp', self.install.stdout)

    def test_the_installed_package_is_imported_with_its_extension(self):
        r = self.run_installed('-c', 'import aiocpp, aiocpp._native as n; '
                                     'print(aiocpp.__file__); print(n.__file__)')
        self.assertEqual(r.returncode, 0, r.stderr)
        for path in r.stdout.split():
            self.assertTrue(path.startswith(self.env_dir), path)

    def test_python_m_aiocpp_runs_an_unchanged_asyncio_program(self):
        version = self.run_installed('-m', 'aiocpp', '--version')
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertRegex(version.stdout, r'^aiocpp \d+\.\d+\.\d+ \(Python 3\.11')
        program = os.path.join(self.tmp.name, 'hello.py')
        with open(program, 'w') as f:
            f.write(textwrap.dedent('''\
                import asyncio

                async def main():
                    await asyncio.sleep(0.01)
                    print(type(asyncio.get_running_loop()).__module__, 'hello')

                asyncio.run(main())
                '''))
        r = self.run_installed('-m', 'aiocpp', program)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ['aiocpp._loop', 'hello'])


if __name__ == '__main__':
    unittest.main()
