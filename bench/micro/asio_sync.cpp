// Asio's peers of aiocpp_sync.cpp (issue 14, item 9), so that scripts/bench
// can put them side by side: the same four operations between coroutines
// (co_spawn, use_awaitable) on a one-thread io_context.
//
// Asio (1.22, Debian 12) has no asynchronous lock, queue or event; what its
// users write instead is a channel (asio::experimental::channel, or
// concurrent_channel when threads share it):
//   - a queue of maxsize 1 is a channel of capacity 1;
//   - an event that one task sets and another waits on (and clears) is a
//     channel of capacity 1 whose value nobody reads: set = try_send, wait+clear =
//     async_receive;
//   - a lock is the same channel used as a token: acquire = async_send
//     (waits while the token is taken), release = try_receive.
// libcoro, the other library issue 14 names, is not packaged by Debian, so
// it has no column.

#define ASIO_STANDALONE
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/experimental/concurrent_channel.hpp>
#include <cstdint>
#include <exception>

namespace {

using asio::awaitable;
using asio::use_awaitable;
// A value-less channel, void(error_code), is ambiguous in Asio 1.22's
// channel_traits: signals carry a bool nobody reads.
using Signal = asio::experimental::channel<void(asio::error_code, bool)>;

// Runs `body(state, io)` as a coroutine on a one-thread io_context until all
// the coroutines it started are done; counts one item per iteration.
template <class Body>
void run_in_io(benchmark::State& state, Body body) {
  asio::io_context io(1);  // one thread: Asio may skip its locking
  std::exception_ptr error;
  asio::co_spawn(io, body(state, io), [&error](std::exception_ptr e) { error = e; });
  io.run();
  if (error) state.SkipWithError("the benchmark's coroutine threw");
  state.SetItemsProcessed(state.iterations());
}

// Lets the other coroutines run once (aiocpp's yield_now).
awaitable<void> yield_now() {
  co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
}

// The peer coroutine uses the main one's channels: the main one must not
// return (and destroy them) before the peer has finished.
awaitable<void> wait_until(const bool& finished) {
  while (!finished) co_await yield_now();
}

awaitable<void> acquire(Signal& token) {
  co_await token.async_send(asio::error_code{}, true, use_awaitable);
}
void release(Signal& token) {
  token.try_receive([](asio::error_code, bool) {});
}

// Acquire and release of a free token: the send finds room at once.
void lock_uncontended(benchmark::State& state) {
  run_in_io(state, [](benchmark::State& state, asio::io_context& io) -> awaitable<void> {
    Signal token(io, 1);
    for (auto _ : state) {
      co_await acquire(token);
      release(token);
    }
  });
}

awaitable<void> hold_in_turns(Signal& token, const bool& done, bool& finished) {
  while (!done) {
    co_await acquire(token);
    co_await yield_now();  // holds it while the main coroutine queues up
    release(token);
  }
  finished = true;
}

// Two coroutines taking turns on one token; one item = one hand-over.
void lock_handoff(benchmark::State& state) {
  run_in_io(state, [](benchmark::State& state, asio::io_context& io) -> awaitable<void> {
    Signal token(io, 1);
    bool done = false, finished = false;
    asio::co_spawn(io, hold_in_turns(token, done, finished), asio::detached);
    co_await yield_now();  // the peer holds the token
    for (auto _ : state) {
      co_await acquire(token);
      release(token);
      co_await yield_now();  // the peer takes it again
    }
    done = true;
    co_await wait_until(finished);
  });
}

template <class Channel>
awaitable<void> consume(Channel& channel, std::int64_t& sum, bool& finished) {
  for (;;) {
    std::int64_t item = co_await channel.async_receive(use_awaitable);
    if (item < 0) break;
    sum += item;
  }
  finished = true;
}

// A channel of capacity 1 between two coroutines (aiocpp's Queue(1)): the
// consumer waits in async_receive, the producer for room.
template <class Channel>
void queue_put_get(benchmark::State& state) {
  run_in_io(state, [](benchmark::State& state, asio::io_context& io) -> awaitable<void> {
    Channel channel(io, 1);
    std::int64_t sum = 0, n = 0;
    bool finished = false;
    asio::co_spawn(io, consume(channel, sum, finished), asio::detached);
    for (auto _ : state) co_await channel.async_send(asio::error_code{}, ++n, use_awaitable);
    co_await channel.async_send(asio::error_code{}, std::int64_t{-1}, use_awaitable);
    co_await wait_until(finished);
    if (sum != n * (n + 1) / 2) state.SkipWithError("items lost");
  });
}

awaitable<void> answer(Signal& ping, Signal& pong, const bool& done, bool& finished) {
  for (;;) {
    co_await ping.async_receive(use_awaitable);
    if (done) break;
    pong.try_send(asio::error_code{}, true);
  }
  finished = true;
}

// Event ping-pong with two signal channels; one item = one set + wait.
void event_set_wait(benchmark::State& state) {
  run_in_io(state, [](benchmark::State& state, asio::io_context& io) -> awaitable<void> {
    Signal ping(io, 1), pong(io, 1);
    bool done = false, finished = false;
    asio::co_spawn(io, answer(ping, pong, done, finished), asio::detached);
    for (auto _ : state) {
      ping.try_send(asio::error_code{}, true);
      co_await pong.async_receive(use_awaitable);
    }
    done = true;
    ping.try_send(asio::error_code{}, true);
    co_await wait_until(finished);
  });
}

using Queue = asio::experimental::channel<void(asio::error_code, std::int64_t)>;
using ConcurrentQueue =
    asio::experimental::concurrent_channel<void(asio::error_code, std::int64_t)>;

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("asio/lock_uncontended", lock_uncontended)->UseRealTime();
  benchmark::RegisterBenchmark("asio/lock_handoff", lock_handoff)->UseRealTime();
  benchmark::RegisterBenchmark("asio/queue_put_get", queue_put_get<Queue>)->UseRealTime();
  benchmark::RegisterBenchmark("asio/queue_put_get_concurrent", queue_put_get<ConcurrentQueue>)
      ->UseRealTime();
  benchmark::RegisterBenchmark("asio/event_set_wait", event_set_wait)->UseRealTime();
  return true;
}();

}  // namespace
