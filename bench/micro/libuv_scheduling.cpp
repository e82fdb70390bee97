// libuv peers of aiocpp_scheduling.cpp, under the same operation names.
//
// libuv has no queue of one-shot callbacks, so "call_soon" needs a stand-in.
// The candidates:
//  - uv_async_send coalesces: N sends before the loop runs give ONE callback,
//    and each send is a cross-thread wake-up (an eventfd write), so it is the
//    peer of call_soon_threadsafe, not of call_soon;
//  - uv_check runs after the poll for I/O, and an active check handle does not
//    stop the poll from blocking, so its callback is not "run soon";
//  - uv_idle runs before the poll and, while one is active, makes the poll
//    non-blocking (timeout 0): a started idle handle is a callback that runs
//    on the next iteration without waiting for I/O, which is what call_soon
//    means. Starting it is an O(1) queue insert, as call_soon's push is.
// So call_soon is uv_idle_start on a handle initialised in advance (libuv
// programs allocate their handles up front; aiocpp's call_soon takes its
// handle from a free list), with the callback calling uv_idle_stop to make it
// one-shot. It is, if anything, generous to libuv: the handles are not
// initialised or closed inside the timed loop.
//
// aiocpp's loop always watches an eventfd (its call_soon_threadsafe wake-up),
// so its poll is a real epoll_wait even with nothing else to watch, whereas
// libuv skips epoll_wait altogether when no descriptor is watched. To compare
// the same work, every libuv loop here carries an unreferenced uv_async_t,
// libuv's own wake-up eventfd, just as a libuv program that can be woken from
// another thread does.

#include <benchmark/benchmark.h>
#include <uv.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

// A loop with a watched wake-up eventfd, like aiocpp's.
class Loop {
 public:
  Loop() {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &wakeup_, [](uv_async_t*) {});
    uv_unref(reinterpret_cast<uv_handle_t*>(&wakeup_));
  }
  ~Loop() {
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0) std::abort();
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* get() { return &loop_; }
  // One iteration that does not wait for I/O (aiocpp: stop() + run_forever()).
  void run_one_iteration() { uv_run(&loop_, UV_RUN_NOWAIT); }

 private:
  uv_loop_t loop_;
  uv_async_t wakeup_;
};

void check_count(benchmark::State& state, std::int64_t got, std::int64_t want) {
  if (got != want) state.SkipWithError("a callback did not run the expected number of times");
}

template <class H>
void close_all(Loop& loop, std::vector<H>& handles) {
  for (H& h : handles) uv_close(reinterpret_cast<uv_handle_t*>(&h), nullptr);
  uv_run(loop.get(), UV_RUN_NOWAIT);
}

// call_soon: start a batch of one-shot idle handles, then one iteration runs them.
void call_soon(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  Loop loop;
  std::int64_t ran = 0;
  std::vector<uv_idle_t> idles(static_cast<std::size_t>(batch));
  for (uv_idle_t& idle : idles) {
    uv_idle_init(loop.get(), &idle);
    idle.data = &ran;
  }
  auto callback = [](uv_idle_t* idle) {
    ++*static_cast<std::int64_t*>(idle->data);
    uv_idle_stop(idle);
  };
  for (uv_idle_t& idle : idles) uv_idle_start(&idle, callback);
  loop.run_one_iteration();
  ran = 0;
  for (auto _ : state) {
    for (uv_idle_t& idle : idles) uv_idle_start(&idle, callback);
    loop.run_one_iteration();
  }
  check_count(state, ran, state.iterations() * batch);
  state.SetItemsProcessed(state.iterations() * batch);
  close_all(loop, idles);
}

// call_soon_threadsafe: uv_async_send from the loop's thread (an eventfd
// write), then one iteration sees it and runs the callback.
void call_soon_threadsafe(benchmark::State& state) {
  Loop loop;
  std::int64_t ran = 0;
  uv_async_t async;
  uv_async_init(loop.get(), &async, [](uv_async_t* a) { ++*static_cast<std::int64_t*>(a->data); });
  async.data = &ran;
  uv_async_send(&async);
  loop.run_one_iteration();
  ran = 0;
  for (auto _ : state) {
    uv_async_send(&async);
    loop.run_one_iteration();
  }
  check_count(state, ran, state.iterations());
  state.SetItemsProcessed(state.iterations());
  uv_close(reinterpret_cast<uv_handle_t*>(&async), nullptr);
  uv_run(loop.get(), UV_RUN_NOWAIT);
}

// timer_cancel: uv_timer_start for a batch of timers with distinct deadlines,
// uv_timer_stop for each, then one iteration (libuv removes from its heap at
// once, and with nothing left active its iteration returns at once; aiocpp
// cancels lazily and compacts in the iteration).
void timer_cancel(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  Loop loop;
  std::vector<uv_timer_t> timers(static_cast<std::size_t>(batch));
  for (uv_timer_t& t : timers) uv_timer_init(loop.get(), &t);
  auto callback = [](uv_timer_t*) {};
  auto one_batch = [&] {
    std::uint64_t timeout = 10000;  // ms
    for (uv_timer_t& t : timers) uv_timer_start(&t, callback, timeout++, 0);
    for (uv_timer_t& t : timers) uv_timer_stop(&t);
    loop.run_one_iteration();
  };
  one_batch();
  for (auto _ : state) one_batch();
  state.SetItemsProcessed(state.iterations() * batch);
  close_all(loop, timers);
}

// timer_fire: uv_timer_start(0) for a batch of timers, then one iteration fires them.
void timer_fire(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  Loop loop;
  std::int64_t ran = 0;
  std::vector<uv_timer_t> timers(static_cast<std::size_t>(batch));
  for (uv_timer_t& t : timers) {
    uv_timer_init(loop.get(), &t);
    t.data = &ran;
  }
  auto callback = [](uv_timer_t* t) { ++*static_cast<std::int64_t*>(t->data); };
  for (uv_timer_t& t : timers) uv_timer_start(&t, callback, 0, 0);
  loop.run_one_iteration();
  ran = 0;
  for (auto _ : state) {
    for (uv_timer_t& t : timers) uv_timer_start(&t, callback, 0, 0);
    loop.run_one_iteration();
  }
  check_count(state, ran, state.iterations() * batch);
  state.SetItemsProcessed(state.iterations() * batch);
  close_all(loop, timers);
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("libuv/call_soon", call_soon)->Arg(1)->Arg(1000)->UseRealTime();
  benchmark::RegisterBenchmark("libuv/call_soon_threadsafe", call_soon_threadsafe)->UseRealTime();
  benchmark::RegisterBenchmark("libuv/timer_cancel", timer_cancel)->Arg(1000)->UseRealTime();
  benchmark::RegisterBenchmark("libuv/timer_fire", timer_fire)->Arg(1000)->UseRealTime();
  return true;
}();

}  // namespace
