"""python3 -m aiocpp SCRIPT [ARGS...]: runs an unchanged asyncio program as
__main__ with aiocpp's event loop policy installed."""

import os
import runpy
import sys

import aiocpp

USAGE = """usage: python3 -m aiocpp [-h] [--version] (SCRIPT | -m MODULE) [ARGS...]

Runs an asyncio program unchanged, on aiocpp's event loop: asyncio.run(),
asyncio.new_event_loop() and asyncio.get_event_loop() give aiocpp loops.

  SCRIPT [ARGS...]     run the file SCRIPT as __main__, with sys.argv = [SCRIPT, ARGS...]
  -m MODULE [ARGS...]  run the module MODULE as __main__ (as python3 -m does)
  -h, --help           show this help and exit
  --version            show aiocpp's version and exit
"""


def main(argv):
    if not argv:
        sys.stderr.write(USAGE)
        return 2
    first = argv[0]
    if first in ('-h', '--help'):
        sys.stdout.write(USAGE)
        return 0
    if first == '--version':
        print(f'aiocpp {aiocpp.__version__} (Python {sys.version.split()[0]})')
        return 0
    aiocpp.install()
    if first == '-m':
        if len(argv) < 2:
            sys.stderr.write('python3 -m aiocpp: -m needs a module name\n')
            return 2
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
        return 0
    if first.startswith('-'):
        sys.stderr.write(f'python3 -m aiocpp: unknown option {first}\n\n{USAGE}')
        return 2
    if not os.path.exists(first):
        sys.stderr.write(f"python3 -m aiocpp: can't open file {first!r}: "
                         f"[Errno 2] No such file or directory\n")
        return 2
    sys.argv = argv
    # As `python3 SCRIPT` does: the script's directory comes first on the path.
    sys.path[0] = os.path.dirname(os.path.abspath(first))
    runpy.run_path(first, run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
