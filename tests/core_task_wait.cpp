// asyncio's wait() and as_completed(), in the manner of CPython's
// test_tasks: return_when, timeouts that cancel nothing, completion order.

#include <string>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

class TaskWait : public aiocpp::testing::LoopTest {};

// A task that finishes once `gate` is set, with `value` or `error`.
Task<int> after(Future<void> gate, int value, bool fail = false) {
  co_await gate;
  if (fail) throw std::runtime_error("failed " + std::to_string(value));
  co_return value;
}

std::vector<int> values_of(std::vector<Task<int>>& tasks) {
  std::vector<int> out;
  for (auto& t : tasks) out.push_back(t.result());
  return out;
}

TEST_F(TaskWait, AllCompletedReturnsEverythingDone) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> gate = loop.create_future<void>();
    std::vector<Task<int>> tasks{after(gate, 1), after(gate, 2)};
    loop.call_soon([gate]() mutable { gate.set_result(); });
    auto [done, pending] = co_await wait(tasks);
    EXPECT_EQ(values_of(done), (std::vector<int>{1, 2}));
    EXPECT_TRUE(pending.empty());
  }());
}

TEST_F(TaskWait, FirstCompletedReturnsAsSoonAsOneIsDone) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> first = loop.create_future<void>();
    Future<void> never = loop.create_future<void>();
    std::vector<Task<int>> tasks{after(never, 1), after(first, 2)};
    loop.call_soon([first]() mutable { first.set_result(); });
    auto [done, pending] = co_await wait(tasks, {.return_when = FIRST_COMPLETED});
    EXPECT_EQ(values_of(done), (std::vector<int>{2}));
    EXPECT_EQ(pending.size(), 1u);
    if (pending.size() != 1u) co_return;
    EXPECT_FALSE(pending[0].done()) << "wait() cancels nothing";
    pending[0].cancel();
    co_await wait(pending);
    EXPECT_TRUE(pending[0].cancelled());
  }());
}

TEST_F(TaskWait, FirstExceptionStopsAtAFailureButNotAtACancellation) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> go = loop.create_future<void>();
    Future<void> never = loop.create_future<void>();
    std::vector<Task<int>> tasks{after(go, 1), after(never, 2), after(go, 3, true),
                                 after(never, 4)};
    tasks[3].cancel();  // a cancellation does not count as an exception
    loop.call_soon([go]() mutable { go.set_result(); });
    auto [done, pending] = co_await wait(tasks, {.return_when = FIRST_EXCEPTION});
    EXPECT_EQ(done.size(), 3u);
    if (done.size() != 3u) co_return;
    EXPECT_EQ(done[0].result(), 1);
    EXPECT_THROW(done[1].result(), std::runtime_error);
    EXPECT_TRUE(done[2].cancelled());
    EXPECT_EQ(pending.size(), 1u);
    if (pending.size() != 1u) co_return;
    pending[0].cancel();
    co_await wait(pending);
  }());
}

TEST_F(TaskWait, FirstExceptionWithoutFailuresWaitsForAll) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> gate = loop.create_future<void>();
    std::vector<Task<int>> tasks{after(gate, 1), after(gate, 2)};
    loop.call_soon([gate]() mutable { gate.set_result(); });
    auto [done, pending] = co_await wait(tasks, {.return_when = FIRST_EXCEPTION});
    EXPECT_EQ(done.size(), 2u);
    EXPECT_TRUE(pending.empty());
  }());
}

TEST_F(TaskWait, TimeoutReturnsThePendingOnesWithoutRaising) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> never = loop.create_future<void>();
    std::vector<Future<int>> futures{loop.create_future<int>(), loop.create_future<int>()};
    futures[0].set_result(7);
    auto [done, pending] = co_await wait(futures, {.timeout = 0.01});
    EXPECT_EQ(done.size(), 1u);
    if (done.size() != 1u) co_return;
    EXPECT_EQ(done[0].result(), 7);
    EXPECT_EQ(pending.size(), 1u);
    if (pending.size() != 1u) co_return;
    EXPECT_FALSE(pending[0].done());
  }());
}

TEST_F(TaskWait, AnEmptySetIsAValueError) {
  run([]() -> Task<void> {
    std::vector<Task<int>> none;
    EXPECT_THROW(co_await wait(none), ValueError);
  }());
}

TEST_F(TaskWait, CancellingTheWaiterCancelsNoneOfTheTasks) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> never = loop.create_future<void>();
    std::vector<Task<int>> tasks{after(never, 1)};
    auto waiter = [](std::vector<Task<int>> tasks) -> Task<void> { co_await wait(tasks); };
    Task<void> w = loop.create_task(waiter(tasks));
    co_await sleep(0);
    w.cancel();
    std::vector<Task<void>> waiters{w};
    co_await wait(waiters);
    EXPECT_TRUE(w.cancelled());
    EXPECT_FALSE(tasks[0].done());
    tasks[0].cancel();
    co_await wait(tasks);
  }());
}

TEST_F(TaskWait, AsCompletedYieldsInCompletionOrder) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<Future<int>> futures{loop.create_future<int>(), loop.create_future<int>(),
                                     loop.create_future<int>()};
    // Completed in the order 2, 0, 1, one per loop iteration.
    loop.call_soon([f = futures[2]]() mutable { f.set_result(30); });
    loop.call_soon([f = futures[0]]() mutable { f.set_result(10); });
    loop.call_soon([f = futures[1]]() mutable { f.set_exception(std::runtime_error("late")); });
    std::vector<std::string> seen;
    auto ordered = as_completed(futures);
    EXPECT_EQ(ordered.size(), 3u);
    for (Task<int> next : ordered) {
      try {
        seen.push_back(std::to_string(co_await next));
      } catch (const std::runtime_error& e) {
        seen.push_back(e.what());
      }
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"30", "10", "late"}));
  }());
}

TEST_F(TaskWait, AsCompletedRaisesTimeoutErrorForWhatIsLeft) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> gate = loop.create_future<void>();
    Future<void> never = loop.create_future<void>();
    std::vector<Task<int>> tasks{after(never, 1), after(gate, 2), after(never, 3)};
    gate.set_result();
    int values = 0;
    int timeouts = 0;
    for (Task<int> next : as_completed(tasks, {.timeout = 0.05})) {
      try {
        EXPECT_EQ(co_await next, 2);
        ++values;
      } catch (const TimeoutError&) {
        ++timeouts;
      }
    }
    EXPECT_EQ(values, 1);
    EXPECT_EQ(timeouts, 2);
    for (auto& t : tasks) t.cancel();
    co_await wait(tasks);
  }());
}

}  // namespace
