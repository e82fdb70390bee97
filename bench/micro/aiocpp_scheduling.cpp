// aiocpp's scheduling core: call_soon, timers, futures, tasks, coroutines.
// Peers in libuv_scheduling.cpp carry the same operation names, so that
// scripts/bench can put "aiocpp/<op>" and "libuv/<op>" side by side.
//
// Every benchmark reports items (one item = one operation) so that ns/op is
// 1e9 / items_per_second whatever the batch size; all use wall-clock time.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "aiocpp_micro.hpp"

namespace {

using aiocpp::EventLoop;
using aiocpp::Future;
using aiocpp::Task;
using aiocpp::TimerHandle;

// Runs exactly one loop iteration: stop() before run_forever() makes
// run_forever() return after the iteration that runs what is already due
// (asyncio's idiom for _run_once).
void run_one_iteration(EventLoop& loop) {
  loop.stop();
  loop.run_forever();
}

void check_count(benchmark::State& state, std::int64_t got, std::int64_t want) {
  if (got != want) state.SkipWithError("a callback did not run the expected number of times");
}

// call_soon: schedule a batch of callbacks, then one iteration runs them all.
// Batch 1 measures the per-iteration cost (one epoll_wait with timeout 0 and
// the clock reads); batch 1000 the cost per callback.
void call_soon(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  EventLoop loop;
  std::int64_t ran = 0;
  auto callback = [&ran] { ++ran; };
  // Warm-up: the handle free list and the ready queues reach their steady size.
  for (std::int64_t i = 0; i < batch; ++i) loop.call_soon(callback);
  run_one_iteration(loop);
  ran = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i) loop.call_soon(callback);
    run_one_iteration(loop);
  }
  check_count(state, ran, state.iterations() * batch);
  state.SetItemsProcessed(state.iterations() * batch);
  loop.close();
}

// call_soon_threadsafe from the loop's own thread: each call writes the
// eventfd, and the next iteration's epoll_wait sees it (the price of waking a
// loop from another thread, without the second thread's noise).
void call_soon_threadsafe(benchmark::State& state) {
  EventLoop loop;
  std::int64_t ran = 0;
  auto callback = [&ran] { ++ran; };
  loop.call_soon_threadsafe(callback);
  run_one_iteration(loop);
  ran = 0;
  for (auto _ : state) {
    loop.call_soon_threadsafe(callback);
    run_one_iteration(loop);
  }
  check_count(state, ran, state.iterations());
  state.SetItemsProcessed(state.iterations());
  loop.close();
}

// call_later then TimerHandle::cancel for a batch of timers with distinct
// deadlines, then one iteration (where the loop drops the cancelled entries:
// lazy cancellation plus compaction).
void timer_cancel(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  EventLoop loop;
  std::vector<TimerHandle> timers;
  timers.reserve(static_cast<std::size_t>(batch));
  auto callback = [] {};
  auto one_batch = [&] {
    for (std::int64_t i = 0; i < batch; ++i) {
      timers.push_back(loop.call_later(10.0 + static_cast<double>(i) * 1e-6, callback));
    }
    for (TimerHandle& t : timers) t.cancel();
    timers.clear();
    run_one_iteration(loop);
  };
  one_batch();
  for (auto _ : state) one_batch();
  state.SetItemsProcessed(state.iterations() * batch);
  loop.close();
}

// call_later(0) for a batch of timers, then one iteration fires them all.
void timer_fire(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  EventLoop loop;
  std::int64_t ran = 0;
  auto callback = [&ran] { ++ran; };
  for (std::int64_t i = 0; i < batch; ++i) loop.call_later(0, callback);
  run_one_iteration(loop);
  ran = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i) loop.call_later(0, callback);
    run_one_iteration(loop);
  }
  check_count(state, ran, state.iterations() * batch);
  state.SetItemsProcessed(state.iterations() * batch);
  loop.close();
}

using micro::run_in_task;

// A future round trip: create_future, a callback completes it with
// set_result, the task awaiting it resumes (two loop iterations: one for the
// callback, one for the task's wake-up).
void future_round_trip(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop& loop) -> Task<> {
    for (auto _ : state) {
      Future<int> future = loop.create_future<int>();
      auto complete = [future]() mutable { future.set_result(1); };
      loop.call_soon(complete);
      benchmark::DoNotOptimize(co_await future);
    }
  });
}

// A future already completed when awaited: create_future, set_result, then
// co_await (which does not suspend). The cost of the future itself.
void future_ready(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop& loop) -> Task<> {
    for (auto _ : state) {
      Future<int> future = loop.create_future<int>();
      future.set_result(1);
      benchmark::DoNotOptimize(co_await future);
    }
  });
}

Task<int> trivial() { co_return 1; }

// create_task of a trivial coroutine, and await it from another task (the
// child's first step, then the parent's wake-up: two loop iterations).
void task_round_trip(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop& loop) -> Task<> {
    for (auto _ : state) benchmark::DoNotOptimize(co_await loop.create_task(trivial()));
  });
}

// `co_await trivial()`: the coroutine runs inline in the awaiting task, as
// `await f()` does in Python: a frame and no scheduling.
void coroutine_inline(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop&) -> Task<> {
    for (auto _ : state) benchmark::DoNotOptimize(co_await trivial());
  });
}

// asyncio.sleep(0): the task yields to the loop for one iteration.
void yield_now(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop&) -> Task<> {
    for (auto _ : state) co_await aiocpp::yield_now();
  });
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("aiocpp/call_soon", call_soon)->Arg(1)->Arg(1000)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/call_soon_threadsafe", call_soon_threadsafe)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/timer_cancel", timer_cancel)->Arg(1000)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/timer_fire", timer_fire)->Arg(1000)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/future_round_trip", future_round_trip)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/future_ready", future_ready)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/task_round_trip", task_round_trip)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/coroutine_inline", coroutine_inline)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/yield_now", yield_now)->UseRealTime();
  return true;
}();

}  // namespace
