// asyncio's synchronization primitives in aiocpp (issue 14, item 9): Lock
// acquire/release, a Queue handing items from one task to another, an Event
// set by one task and waited on by another. libuv has no equivalent, so
// these stand alone in scripts/bench's table.
//
// Every benchmark reports items (one item = one operation) and uses
// wall-clock time, as aiocpp_scheduling.cpp's do.

#include <benchmark/benchmark.h>

#include <cstdint>

#include "aiocpp/aiocpp.hpp"
#include "aiocpp_micro.hpp"

namespace {

using aiocpp::Event;
using aiocpp::EventLoop;
using aiocpp::Lock;
using aiocpp::Queue;
using aiocpp::Task;

using micro::run_in_task;

// Acquire and release of a free lock: acquire() completes without waiting
// (a coroutine run inline), release() finds no waiter.
void lock_uncontended(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop&) -> Task<> {
    Lock lock;
    for (auto _ : state) {
      co_await lock.acquire();
      lock.release();
    }
  });
}

// Two tasks taking turns on one lock: each release wakes the other task,
// which was waiting in acquire() (a waiter future, a wake-up, a step).
// One item = one hand-over.
void lock_handoff(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop& loop) -> Task<> {
    Lock lock;
    bool done = false;
    auto other = [](Lock& lock, bool& done) -> Task<> {
      while (!done) {
        co_await lock.acquire();
        co_await aiocpp::yield_now();  // holds it while the main task queues up
        lock.release();
      }
    };
    Task<> peer = loop.create_task(other(lock, done));
    co_await aiocpp::yield_now();  // the peer holds the lock
    for (auto _ : state) {
      co_await lock.acquire();
      lock.release();
      co_await aiocpp::yield_now();  // the peer takes it again
    }
    done = true;
    co_await peer;
  });
}

// Queue.put in one task, Queue.get in another: the consumer waits in get()
// for each item (maxsize 1, so the producer waits for room too).
void queue_put_get(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop& loop) -> Task<> {
    Queue<std::int64_t> queue(1);
    auto consumer = [](Queue<std::int64_t>& queue) -> Task<std::int64_t> {
      std::int64_t sum = 0;
      for (;;) {
        std::int64_t item = co_await queue.get();
        if (item < 0) co_return sum;
        sum += item;
      }
    };
    Task<std::int64_t> consuming = loop.create_task(consumer(queue));
    std::int64_t n = 0;
    for (auto _ : state) co_await queue.put(++n);
    co_await queue.put(-1);
    if (co_await consuming != n * (n + 1) / 2) state.SkipWithError("items lost");
  });
}

// Event ping-pong: the main task sets `ping` and waits on `pong`; the peer
// waits on `ping`, clears it and sets `pong`. One item = one set + wait.
void event_set_wait(benchmark::State& state) {
  run_in_task(state, [](benchmark::State& state, EventLoop& loop) -> Task<> {
    Event ping, pong;
    bool done = false;
    auto peer = [](Event& ping, Event& pong, bool& done) -> Task<> {
      for (;;) {
        co_await ping.wait();
        ping.clear();
        if (done) co_return;
        pong.set();
      }
    };
    Task<> answering = loop.create_task(peer(ping, pong, done));
    for (auto _ : state) {
      ping.set();
      co_await pong.wait();
      pong.clear();
    }
    done = true;
    ping.set();
    co_await answering;
  });
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("aiocpp/lock_uncontended", lock_uncontended)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/lock_handoff", lock_handoff)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/queue_put_get", queue_put_get)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/event_set_wait", event_set_wait)->UseRealTime();
  return true;
}();

}  // namespace
