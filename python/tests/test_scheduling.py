"""The loop's scheduling on the C++ engine: call_soon / call_later / call_at,
handles, stop and run, errors, threads."""

import asyncio
import contextvars
import gc
import re
import threading
import unittest
import weakref

import aiocpp
from support import LoopTestCase


class SchedulingTests(LoopTestCase):

    def test_is_an_abstract_event_loop(self):
        self.assertIsInstance(self.loop, asyncio.AbstractEventLoop)
        self.assertIsInstance(self.loop, aiocpp.Loop)

    def test_call_soon_runs_in_order_with_arguments(self):
        out = []
        self.loop.call_soon(out.append, 1)
        self.loop.call_soon(lambda a, b: out.append(a + b), 2, 3)
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(out, [1, 5])

    def test_callbacks_scheduled_by_callbacks_run_next_iteration(self):
        out = []

        def first():
            out.append('first')
            self.loop.call_soon(out.append, 'scheduled by first')
            self.loop.stop()

        self.loop.call_soon(first)
        self.loop.call_soon(out.append, 'second')
        self.loop.run_forever()
        self.assertEqual(out, ['first', 'second'])
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(out, ['first', 'second', 'scheduled by first'])

    def test_handle_cancel(self):
        out = []
        handle = self.loop.call_soon(out.append, 'cancelled')
        self.assertIsInstance(handle, aiocpp._native.Handle)
        self.assertFalse(handle.cancelled())
        handle.cancel()
        handle.cancel()
        self.assertTrue(handle.cancelled())
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(out, [])

    def test_timers_run_in_time_order(self):
        out = []
        t0 = self.loop.time()
        self.loop.call_later(0.03, out.append, 3)
        self.loop.call_later(0.01, out.append, 1)
        timer = self.loop.call_at(t0 + 0.02, out.append, 2)
        cancelled = self.loop.call_later(0.015, out.append, 'cancelled')
        cancelled.cancel()
        self.loop.call_later(0.04, self.loop.stop)
        self.assertAlmostEqual(timer.when(), t0 + 0.02)
        self.loop.run_forever()
        self.assertEqual(out, [1, 2, 3])
        self.assertGreaterEqual(self.loop.time() - t0, 0.04)

    def test_time_is_monotonic_clock(self):
        import time
        self.assertLess(abs(self.loop.time() - time.monotonic()), 0.5)

    def test_context_is_honoured(self):
        var = contextvars.ContextVar('var', default='default')
        context = contextvars.copy_context()
        context.run(var.set, 'in context')
        seen = []
        self.loop.call_soon(lambda: seen.append(var.get()), context=context)
        self.loop.call_soon(lambda: seen.append(var.get()))
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(seen, ['in context', 'default'])

    def test_argument_checks(self):
        async def coro():
            pass

        with self.assertRaisesRegex(TypeError, r'coroutines cannot be used with call_soon\(\)'):
            self.loop.call_soon(coro)
        c = coro()
        with self.assertRaisesRegex(TypeError, r'coroutines cannot be used with call_at\(\)'):
            self.loop.call_later(1, c)
        c.close()
        with self.assertRaisesRegex(TypeError, 'a callable object was expected by call_soon'):
            self.loop.call_soon(1)
        with self.assertRaisesRegex(TypeError, 'delay must not be None'):
            self.loop.call_later(None, print)
        with self.assertRaisesRegex(TypeError, 'when cannot be None'):
            self.loop.call_at(None, print)
        with self.assertRaises(TypeError):
            self.loop.call_soon(print, context=1)

    def test_closed_loop(self):
        self.loop.close()
        self.assertTrue(self.loop.is_closed())
        for call in (lambda: self.loop.call_soon(print),
                     lambda: self.loop.call_later(1, print),
                     lambda: self.loop.call_soon_threadsafe(print),
                     lambda: self.loop.run_forever(),
                     lambda: self.loop.create_task(asyncio.sleep(0))):
            with self.assertRaisesRegex(RuntimeError, 'Event loop is closed'):
                call()
        self.loop.close()  # twice is fine

    def test_stop_before_run_forever_runs_one_iteration(self):
        out = []
        self.loop.stop()
        self.loop.call_soon(out.append, 1)
        self.loop.run_forever()
        self.assertEqual(out, [1])
        self.assertFalse(self.loop.is_running())

    def test_running_state(self):
        seen = []

        def check():
            seen.append((self.loop.is_running(), asyncio.get_running_loop() is self.loop))
            self.loop.stop()

        self.loop.call_soon(check)
        self.loop.run_forever()
        self.assertEqual(seen, [(True, True)])
        self.assertFalse(self.loop.is_running())
        with self.assertRaises(RuntimeError):
            asyncio.get_running_loop()

    def test_close_while_running_and_nested_run(self):
        errors = []

        def inside():
            for call in (self.loop.close, self.loop.run_forever):
                try:
                    call()
                except RuntimeError as e:
                    errors.append(str(e))
            self.loop.stop()

        self.loop.call_soon(inside)
        self.loop.run_forever()
        self.assertEqual(errors, ['Cannot close a running event loop',
                                  'This event loop is already running'])

    def test_call_soon_threadsafe_from_a_thread(self):
        results = []
        done = threading.Event()

        def worker():
            for i in range(100):
                self.loop.call_soon_threadsafe(results.append, i)
            self.loop.call_soon_threadsafe(self.loop.stop)
            done.set()

        thread = threading.Thread(target=worker)
        self.loop.call_soon(thread.start)
        self.loop.run_forever()
        while len(results) < 100:  # the stop may come in the same batch
            self.loop.call_soon(self.loop.stop)
            self.loop.run_forever()
        thread.join()
        self.assertEqual(results, list(range(100)))

    def test_call_soon_threadsafe_on_loop_thread_keeps_order(self):
        out = []
        self.loop.call_soon_threadsafe(out.append, 1)
        self.loop.call_soon(out.append, 2)
        self.loop.call_soon_threadsafe(out.append, 3)
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(out, [1, 2, 3])

    def test_debug_mode_refuses_calls_from_other_threads(self):
        self.loop.set_debug(True)
        self.assertTrue(self.loop.get_debug())
        errors = []

        def worker():
            try:
                self.loop.call_soon(print)
            except RuntimeError as e:
                errors.append(str(e))
            self.loop.call_soon_threadsafe(self.loop.stop)

        self.loop.call_soon(lambda: threading.Thread(target=worker).start())
        self.loop.run_forever()
        self.assertEqual(len(errors), 1)
        self.assertIn('other than the current one', errors[0])
        self.loop.set_debug(False)

    def test_debug_mode_logs_slow_callbacks_through_asyncio_logger(self):
        # As base_events: "Executing <handle> took X seconds" at WARNING on
        # asyncio's logger, for callbacks that took slow_callback_duration or
        # more. A threshold of 0 makes every callback slow, with no sleeping.
        def named_callback():
            pass

        async def coroutine():
            pass

        self.loop.set_debug(True)
        self.loop.slow_callback_duration = 0.0
        with self.assertLogs('asyncio', 'WARNING') as logs:
            self.loop.call_soon(named_callback)
            self.loop.run_until_complete(self.loop.create_task(coroutine(), name='slow-one'))
        messages = [r.getMessage() for r in logs.records]
        self.assertTrue(any(re.fullmatch(r'Executing <Handle .*named_callback.*> took \d+\.\d{3} '
                                         r'seconds', m) for m in messages), messages)
        # A task's step shows as the task.
        self.assertTrue(any(m.startswith('Executing <Task') and 'slow-one' in m for m in messages),
                        messages)
        self.loop.slow_callback_duration = 60.0
        with self.assertNoLogs('asyncio', 'WARNING'):
            self.loop.call_soon(named_callback)
            self.loop.call_soon(self.loop.stop)
            self.loop.run_forever()
        self.loop.set_debug(False)

    def test_no_slow_callback_log_outside_debug_mode(self):
        self.loop.slow_callback_duration = 0.0
        with self.assertNoLogs('asyncio', 'WARNING'):
            self.loop.call_soon(self.loop.stop)
            self.loop.run_forever()

    def test_gil_is_released_while_waiting(self):
        # A Python thread makes progress while the loop sleeps in epoll.
        counter = [0]
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                counter[0] += 1

        thread = threading.Thread(target=spin)
        thread.start()
        try:
            self.loop.call_later(0.2, self.loop.stop)
            before = counter[0]
            self.loop.run_forever()
            self.assertGreater(counter[0] - before, 1000)
        finally:
            stop.set()
            thread.join()


class HandleCollectionTests(LoopTestCase):
    # Handles are left out of the cycle collector while the loop holds them
    # (they cannot be garbage then); one that outlives that is tracked.

    def test_cycle_through_a_handle_that_ran_is_collected(self):
        class Owner:
            def tick(self):
                pass

        owner = Owner()
        owner.handle = self.loop.call_soon(owner.tick)  # owner -> handle -> owner.tick -> owner
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertTrue(gc.is_tracked(owner.handle))
        ref = weakref.ref(owner)
        del owner
        gc.collect()
        self.assertIsNone(ref())

    def test_cycle_through_a_cancelled_timer_is_collected(self):
        class Owner:
            def tick(self, *args):
                pass

        owner = Owner()
        owner.timer = self.loop.call_later(3600, owner.tick, owner)
        self.assertFalse(gc.is_tracked(owner.timer))  # the loop holds it
        owner.timer.cancel()
        ref = weakref.ref(owner)
        del owner
        gc.collect()
        self.assertIsNone(ref())

    def test_pending_handle_keeps_its_callback_alive(self):
        class Owner:
            def tick(self):
                ticks.append(1)

        ticks = []
        owner = Owner()
        owner.handle = self.loop.call_soon(owner.tick)
        del owner
        gc.collect()  # the untracked pending handle is a root: nothing it holds is freed
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(ticks, [1])


class ErrorTests(LoopTestCase):

    def test_exception_in_callback_reaches_handler(self):
        contexts = []
        self.loop.set_exception_handler(lambda loop, context: contexts.append(context))

        def fail():
            raise ValueError('boom')

        handle = self.loop.call_soon(fail)
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(len(contexts), 1)
        self.assertIsInstance(contexts[0]['exception'], ValueError)
        self.assertIs(contexts[0]['handle'], handle)
        self.assertIn('Exception in callback', contexts[0]['message'])

    def test_default_handler_logs(self):
        def fail():
            raise ValueError('boom')

        self.loop.call_soon(fail)
        self.loop.call_soon(self.loop.stop)
        with self.assertLogs('asyncio', level='ERROR') as logs:
            self.loop.run_forever()
        self.assertIn('Exception in callback', logs.output[0])
        self.assertIn('ValueError: boom', logs.output[0])

    def test_handler_api(self):
        self.assertIsNone(self.loop.get_exception_handler())
        handler = lambda loop, context: None  # noqa: E731
        self.loop.set_exception_handler(handler)
        self.assertIs(self.loop.get_exception_handler(), handler)
        with self.assertRaises(TypeError):
            self.loop.set_exception_handler(1)
        self.loop.set_exception_handler(None)

    def test_failing_handler_falls_back_to_default(self):
        def handler(loop, context):
            raise RuntimeError('handler broke')

        self.loop.set_exception_handler(handler)
        with self.assertLogs('asyncio', level='ERROR') as logs:
            self.loop.call_exception_handler({'message': 'hi'})
        self.assertIn('Unhandled error in exception handler', logs.output[0])

    def test_keyboard_interrupt_leaves_run_forever(self):
        out = []

        def interrupt():
            raise KeyboardInterrupt

        self.loop.call_soon(interrupt)
        self.loop.call_soon(out.append, 'after')
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_forever()
        self.assertFalse(self.loop.is_running())
        self.assertEqual(out, [])
        # What was ready after it runs in the next run, as in asyncio.
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(out, ['after'])

    def test_system_exit_leaves_run_until_complete(self):
        async def main():
            await asyncio.sleep(0)
            raise SystemExit(3)

        with self.assertRaises(SystemExit) as caught:
            self.loop.run_until_complete(main())
        self.assertEqual(caught.exception.code, 3)

    def test_keyboard_interrupt_from_timer(self):
        def interrupt():
            raise KeyboardInterrupt

        self.loop.call_later(0.01, interrupt)
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_forever()


if __name__ == '__main__':
    unittest.main()
