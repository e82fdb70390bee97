"""Runs CPython's own test_asyncio modules on aiocpp loops.

Two ways a module makes its loops, both redirected here:
- through the policy (asyncio.new_event_loop(), asyncio.run(),
  IsolatedAsyncioTestCase): aiocpp's policy is installed;
- through a method of a test class parametrized by loop (test_events'
  create_event_loop, test_server's and test_buffered_proto's new_loop): each
  such class is replaced by a subclass making aiocpp loops (one per distinct
  set of mixins: the Select / Poll / EPoll variants are the same tests).

Tests of asyncio's private internals are listed once, with their reason, in
cpython_expected_failures.txt; they must fail (or error), and a listed test
that passes fails the run, so that the list stays true.

    PYTHONPATH=build/python /usr/bin/python3 python/tests/cpython_suite.py test_locks test_events
"""

import asyncio
import os
import sys
import unittest

import aiocpp

EXPECTED = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'cpython_expected_failures.txt')


class Policy(aiocpp.EventLoopPolicy):
    # The modules reset the policy in tearDownModule; ours must come back.
    loops_made = 0

    def new_event_loop(self):
        Policy.loops_made += 1
        return super().new_event_loop()


def _aiocpp_loop(self):
    Policy.loops_made += 1
    return aiocpp.new_event_loop()


def _runners_loop(self):
    # test_runners' BaseTest.new_loop makes a BaseEventLoop with a mocked
    # selector whose shutdown_asyncgens records that it ran (tearDown checks
    # it): the same record, on an aiocpp loop running its real one.
    loop = _aiocpp_loop(self)
    loop.shutdown_ag_run = False
    shutdown = loop.shutdown_asyncgens

    async def shutdown_asyncgens():
        await shutdown()
        loop.shutdown_ag_run = True
    loop.shutdown_asyncgens = shutdown_asyncgens
    return loop


LOOP_METHODS = ('create_event_loop', 'new_loop')
# Loop methods that need more than a bare aiocpp loop, by module.
LOOP_FACTORIES = {'test.test_asyncio.test_runners': _runners_loop}


def _loop_method(cls):
    for name in LOOP_METHODS:
        if any(name in vars(klass) for klass in cls.__mro__ if klass is not object):
            return name
    return None


def retarget(module):
    """The module's test classes, those parametrized by loop made to use aiocpp's."""
    classes, seen = [], set()
    for name, obj in sorted(vars(module).items()):
        if not (isinstance(obj, type) and issubclass(obj, unittest.TestCase)):
            continue
        if obj.__module__ != module.__name__:
            continue
        method = _loop_method(obj)
        if method is not None and getattr(obj, '__unittest_skip__', False):
            continue  # a variant for another platform (Proactor, Windows)
        if method is None:
            classes.append(obj)
            continue
        key = tuple(b for b in obj.__bases__)
        if key in seen:
            continue
        seen.add(key)
        factory = LOOP_FACTORIES.get(module.__name__, _aiocpp_loop)
        classes.append(type(name, (obj,), {method: factory, '__module__': module.__name__,
                                            '__qualname__': name}))
    return classes


def load_expected():
    expected = {}
    with open(EXPECTED) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            test_id, _, reason = line.partition(' ')
            expected[test_id] = reason.strip()
    return expected


class ExpectingResult(unittest.TextTestResult):
    """Listed tests are expected to fail; the others must pass."""

    expected = {}

    def _listed(self, test):
        return test.id().replace('test.test_asyncio.', '', 1) in self.expected

    def addFailure(self, test, err):
        if self._listed(test):
            self.addExpectedFailure(test, err)
        else:
            super().addFailure(test, err)

    def addError(self, test, err):
        if self._listed(test):
            self.addExpectedFailure(test, err)
        else:
            super().addError(test, err)

    def addSuccess(self, test):
        if self._listed(test):
            self.addUnexpectedSuccess(test)
        else:
            super().addSuccess(test)


def main(names):
    original = asyncio.set_event_loop_policy

    def set_policy(policy):
        original(Policy() if policy is None else policy)

    asyncio.set_event_loop_policy = set_policy
    asyncio.events.set_event_loop_policy = set_policy
    set_policy(None)
    ExpectingResult.expected = load_expected()
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite()
    for name in names:
        module_name, _, test_name = name.partition('.')
        module = __import__(f'test.test_asyncio.{module_name}', fromlist=['_'])
        for cls in retarget(module):
            tests = loader.loadTestsFromTestCase(cls)
            if test_name:
                tests = [t for t in tests if t.id().split('.', 3)[3].startswith(test_name)]
            suite.addTests(tests)
    runner = unittest.TextTestRunner(verbosity=int(bool(sys.flags.verbose)) + 1,
                                     resultclass=ExpectingResult)
    result = runner.run(suite)
    print(f'aiocpp loops made: {Policy.loops_made}')
    ok = result.wasSuccessful() and not result.unexpectedSuccesses
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
