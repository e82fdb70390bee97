"""asyncio's own futures, tasks and high-level functions on an aiocpp loop."""

import asyncio
import concurrent.futures
import contextvars
import socket
import threading
import unittest

import aiocpp
from support import LoopTestCase


class TaskTests(LoopTestCase):

    def test_create_future_is_asyncio_future(self):
        future = self.loop.create_future()
        self.assertIs(type(future), asyncio.Future)
        self.loop.call_soon(future.set_result, 42)
        self.assertEqual(self.loop.run_until_complete(future), 42)

    def test_create_task_is_asyncio_task(self):
        async def work():
            await asyncio.sleep(0)
            return 'done'

        task = self.loop.create_task(work(), name='worker')
        self.assertIs(type(task), asyncio.Task)
        self.assertEqual(task.get_name(), 'worker')
        self.assertEqual(self.loop.run_until_complete(task), 'done')

    def test_create_task_arguments(self):
        # Native when no factory is set and debug mode is off; the other
        # cases go through the Python half, with asyncio's errors.
        import contextvars
        var = contextvars.ContextVar('var', default='outside')

        async def read_var():
            return var.get()

        context = contextvars.copy_context()
        context.run(var.set, 'inside')
        task = self.loop.create_task(read_var(), context=context, name='with-context')
        self.assertEqual(task.get_name(), 'with-context')
        self.assertEqual(self.loop.run_until_complete(task), 'inside')
        # A keyword name that is not interned takes the Python path, same result.
        task = self.loop.create_task(read_var(), **{''.join(['na', 'me']): 'spelled'})
        self.assertEqual((task.get_name(), self.loop.run_until_complete(task)),
                         ('spelled', 'outside'))
        coro = read_var()
        with self.assertRaisesRegex(TypeError, 'unexpected keyword'):
            self.loop.create_task(coro, bogus=1)
        coro.close()
        with self.assertRaisesRegex(TypeError, 'a coroutine was expected'):
            self.loop.create_task(42)
        coro = read_var()
        self.loop.close()
        with self.assertRaisesRegex(RuntimeError, 'Event loop is closed'):
            self.loop.create_task(coro)
        coro.close()

    def test_create_task_in_debug_mode_points_at_the_caller(self):
        async def nothing():
            pass

        self.loop.set_debug(True)
        task = self.loop.create_task(nothing())
        self.assertEqual(task._source_traceback[-1].name,
                         'test_create_task_in_debug_mode_points_at_the_caller')
        self.loop.run_until_complete(task)

    def test_task_factory(self):
        made = []

        def factory(loop, coro, **kwargs):
            task = asyncio.Task(coro, loop=loop, **kwargs)
            made.append(task)
            return task

        self.loop.set_task_factory(factory)
        self.assertIs(self.loop.get_task_factory(), factory)
        self.assertEqual(self.loop.run_until_complete(asyncio.sleep(0, 'x')), 'x')
        self.assertEqual(len(made), 1)
        with self.assertRaises(TypeError):
            self.loop.set_task_factory(1)

    def test_run_until_complete_raises_the_exception(self):
        async def fail():
            await asyncio.sleep(0)
            raise ValueError('nope')

        with self.assertRaisesRegex(ValueError, 'nope'):
            self.loop.run_until_complete(fail())

    def test_gather_sleep_and_ordering(self):
        async def after(delay, value, out):
            await asyncio.sleep(delay)
            out.append(value)
            return value

        async def main():
            out = []
            results = await asyncio.gather(after(0.03, 'c', out), after(0.01, 'a', out),
                                           after(0.02, 'b', out))
            return results, out

        self.assertEqual(self.run_async(main()), (['c', 'a', 'b'], ['a', 'b', 'c']))

    def test_wait_for_timeout_and_cancellation(self):
        async def main():
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.sleep(10), 0.01)
            task = asyncio.create_task(asyncio.sleep(10))
            await asyncio.sleep(0)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            return 'ok'

        self.assertEqual(self.run_async(main()), 'ok')

    def test_timeout_and_taskgroup(self):
        async def child(i):
            await asyncio.sleep(0.001 * i)
            return i * i

        async def main():
            async with asyncio.timeout(5):
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(child(i)) for i in range(10)]
            with self.assertRaises(TimeoutError):
                async with asyncio.timeout(0.01):
                    await asyncio.sleep(10)
            return [t.result() for t in tasks]

        self.assertEqual(self.run_async(main()), [i * i for i in range(10)])

    def test_streams_of_locks_queues_events(self):
        async def main():
            queue = asyncio.Queue()
            lock = asyncio.Lock()
            event = asyncio.Event()
            total = []

            async def producer():
                for i in range(50):
                    await queue.put(i)
                await queue.put(None)

            async def consumer():
                while (item := await queue.get()) is not None:
                    async with lock:
                        total.append(item)
                event.set()

            await asyncio.gather(producer(), consumer(), event.wait())
            return sum(total)

        self.assertEqual(self.run_async(main()), sum(range(50)))

    def test_contextvars_flow_into_tasks(self):
        var = contextvars.ContextVar('var')

        async def child():
            await asyncio.sleep(0)
            return var.get()

        async def main():
            var.set('parent')
            return await asyncio.create_task(child())

        self.assertEqual(self.run_async(main()), 'parent')

    def test_run_in_executor(self):
        main_thread = threading.get_ident()

        def blocking(x):
            return x * 2, threading.get_ident() != main_thread

        async def main():
            default = await self.loop.run_in_executor(None, blocking, 21)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                own = await self.loop.run_in_executor(pool, blocking, 5)
            return default, own

        self.assertEqual(self.run_async(main()), ((42, True), (10, True)))

    def test_set_default_executor_and_shutdown(self):
        pool = concurrent.futures.ThreadPoolExecutor(2)
        self.loop.set_default_executor(pool)
        with self.assertRaises(TypeError):
            self.loop.set_default_executor(object())
        self.assertEqual(self.run_async(self.loop.run_in_executor(None, sum, [1, 2])), 3)
        self.run_async(self.loop.shutdown_default_executor())
        with self.assertRaisesRegex(RuntimeError, 'Executor shutdown has been called'):
            self.loop.run_in_executor(None, print)

    def test_shutdown_asyncgens(self):
        closed = []

        async def gen():
            try:
                yield 1
                yield 2
            finally:
                closed.append(True)

        async def main():
            agen = gen()
            await agen.__anext__()
            return agen

        agen = self.run_async(main())
        self.run_async(self.loop.shutdown_asyncgens())
        self.assertEqual(closed, [True])
        del agen

    def test_getaddrinfo_and_getnameinfo(self):
        infos = self.run_async(self.loop.getaddrinfo('127.0.0.1', 80, type=socket.SOCK_STREAM))
        self.assertEqual(infos[0][4], ('127.0.0.1', 80))
        host, port = self.run_async(self.loop.getnameinfo(('127.0.0.1', 80),
                                                          socket.NI_NUMERICHOST | socket.NI_NUMERICSERV))
        self.assertEqual((host, port), ('127.0.0.1', '80'))

    def test_add_reader_and_writer(self):
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        try:
            got = self.loop.create_future()

            def readable():
                got.set_result(a.recv(100))
                self.assertTrue(self.loop.remove_reader(a))

            self.loop.add_reader(a, readable)
            wrote = self.loop.create_future()

            def writable():
                b.send(b'ping')
                self.loop.remove_writer(b.fileno())
                wrote.set_result(True)

            self.loop.add_writer(b.fileno(), writable)
            self.assertEqual(self.run_async(got), b'ping')
            self.assertFalse(self.loop.remove_reader(a))
        finally:
            a.close()
            b.close()


class RunnerTests(unittest.TestCase):

    def test_aiocpp_run(self):
        async def main():
            return type(asyncio.get_running_loop())

        self.assertIs(aiocpp.run(main()), aiocpp.Loop)

    def test_aiocpp_run_debug(self):
        async def main():
            return asyncio.get_running_loop().get_debug()

        self.assertTrue(aiocpp.run(main(), debug=True))

    def test_policy(self):
        old = asyncio.get_event_loop_policy()
        try:
            aiocpp.install()
            self.assertIsInstance(asyncio.get_event_loop_policy(), aiocpp.EventLoopPolicy)
            loop = asyncio.new_event_loop()
            self.assertIsInstance(loop, aiocpp.Loop)
            loop.close()

            async def main():
                return type(asyncio.get_running_loop())

            self.assertIs(asyncio.run(main()), aiocpp.Loop)
        finally:
            asyncio.set_event_loop_policy(old)


if __name__ == '__main__':
    unittest.main()
