// gather: tuple and vector forms, failures, return_exceptions, cancellation.

#include <chrono>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;
using aiocpp::testing::fail_after;
using aiocpp::testing::is_cancelled_error;
using aiocpp::testing::run_bounded;
using aiocpp::testing::sleep_then;
using aiocpp::testing::wait_forever;

namespace {

TEST(Gather, TupleFormGivesEachResultAndMonostateForVoid) {
  auto body = []() -> Task<int> {
    auto text = []() -> Task<std::string> {
      co_await aiocpp::sleep(0.001);
      co_return "text";
    };
    auto nothing = []() -> Task<void> { co_await aiocpp::sleep(0); };
    auto [i, s, v] = co_await gather(sleep_then(0.002, 7), text(), nothing());
    EXPECT_EQ(i, 7);
    EXPECT_EQ(s, "text");
    static_assert(std::is_same_v<decltype(v), std::monostate>);
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, ChildrenRunConcurrently) {
  // The first child waits for the second: a sequential gather would hang.
  auto body = []() -> Task<int> {
    Future<int> gate = get_running_loop().create_future<int>();
    auto waiter = [](Future<int> g) -> Task<int> { co_return co_await g; };
    auto opener = [](Future<int> g) -> Task<int> {
      co_await aiocpp::sleep(0.001);
      g.set_result(5);
      co_return 1;
    };
    auto [a, b] = co_await gather(waiter(gate), opener(gate));
    co_return a + b;
  };
  EXPECT_EQ(run_bounded(body()), 6);
}

TEST(Gather, VectorFormKeepsTheOrderOfTheInputs) {
  auto body = []() -> Task<int> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(sleep_then(0.001 * (10 - i), i));
    std::vector<int> results = co_await gather(std::move(tasks));
    EXPECT_EQ(results, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

    std::vector<Task<void>> voids;
    for (int i = 0; i < 3; ++i) voids.push_back(aiocpp::sleep(0));
    std::vector<std::monostate> none = co_await gather(std::move(voids));
    EXPECT_EQ(none.size(), 3u);

    std::vector<int> empty = co_await gather(std::vector<Task<int>>{});
    EXPECT_TRUE(empty.empty());
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, FirstExceptionPropagatesAndTheOthersKeepRunning) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    Future<int> gate = loop.create_future<int>();
    auto gated = [](Future<int> g) -> Task<int> { co_return co_await g; };
    Task<int> failing = loop.create_task(fail_after(0.001, "first failure"));
    Task<int> slow = loop.create_task(gated(gate));
    try {
      co_await gather(failing, slow);
      ADD_FAILURE() << "gather did not fail";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "first failure");
    }
    EXPECT_FALSE(slow.done());
    gate.set_result(9);
    EXPECT_EQ(co_await slow, 9);  // not cancelled by the failure
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, ACancelledChildFailsTheGatherWithCancelledError) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    Task<int> victim = loop.create_task(wait_forever());
    Task<int> other = loop.create_task(sleep_then(0.001, 1));
    auto g = gather(victim, other);
    co_await aiocpp::sleep(0);
    victim.cancel();
    EXPECT_THROW(co_await g, CancelledError);
    co_await other;
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, ReturnExceptionsCollectsEveryOutcome) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    Task<int> cancelled = loop.create_task(wait_forever());
    loop.call_soon([cancelled]() mutable { cancelled.cancel("gone"); });
    auto [ok, failed, was_cancelled] =
        co_await gather(return_exceptions, sleep_then(0.002, 4), fail_after(0, "bad"), cancelled);
    EXPECT_TRUE(ok.has_value());
    EXPECT_EQ(ok.value(), 4);
    EXPECT_FALSE(failed.has_value());
    EXPECT_THROW(failed.value(), std::runtime_error);
    EXPECT_FALSE(was_cancelled.has_value());
    EXPECT_TRUE(is_cancelled_error(was_cancelled.error()));

    std::vector<Task<int>> tasks;
    tasks.push_back(sleep_then(0, 1));
    tasks.push_back(fail_after(0, "x"));
    std::vector<Outcome<int>> outcomes = co_await gather(return_exceptions, std::move(tasks));
    EXPECT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0].value(), 1);
    EXPECT_FALSE(outcomes[1].has_value());
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, CancellingTheGatherCancelsEveryChild) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    bool a_cancelled = false, b_cancelled = false;
    Task<int> a = loop.create_task(wait_forever(&a_cancelled));
    Task<int> b = loop.create_task(wait_forever(&b_cancelled));
    auto g = gather(a, b);
    co_await aiocpp::sleep(0);
    EXPECT_TRUE(g.cancel());
    EXPECT_THROW(co_await g, CancelledError);
    EXPECT_TRUE(a.cancelled() && b.cancelled());
    EXPECT_TRUE(a_cancelled && b_cancelled);
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, CancellingTheTaskAwaitingAGatherCancelsTheChildren) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    Task<int> a = loop.create_task(wait_forever());
    Task<int> b = loop.create_task(wait_forever());
    auto awaiting = [](Task<int> a, Task<int> b) -> Task<int> {
      auto [x, y] = co_await gather(a, b);
      co_return x + y;
    };
    Task<int> outer = loop.create_task(awaiting(a, b));
    co_await aiocpp::sleep(0.001);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_TRUE(a.cancelled());
    EXPECT_TRUE(b.cancelled());
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, TheSameTaskTwiceGivesItsResultTwice) {
  auto body = []() -> Task<int> {
    Task<int> t = get_running_loop().create_task(sleep_then(0.001, 3));
    auto [a, b] = co_await gather(t, t);
    co_return a + b;
  };
  EXPECT_EQ(run_bounded(body()), 6);
}

TEST(Gather, AlreadyDoneFutures) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    Future<int> a = loop.create_future<int>();
    Future<std::string> b = loop.create_future<std::string>();
    a.set_result(1);
    b.set_result("b");
    auto [x, y] = co_await gather(a, b);
    EXPECT_EQ(x, 1);
    EXPECT_EQ(y, "b");
    co_return 0;
  };
  run_bounded(body());
}

TEST(Gather, LaterFailuresAfterTheFirstAreNotReportedAsNeverRetrieved) {
  std::vector<std::string> reports;
  auto body = [](std::vector<std::string>& reports) -> Task<int> {
    EventLoop& loop = get_running_loop();
    loop.set_exception_handler(
        [&reports](EventLoop&, const ExceptionContext& c) { reports.push_back(c.message); });
    {
      Task<int> first = loop.create_task(fail_after(0.001, "first"));
      Task<int> second = loop.create_task(fail_after(0.01, "second"));
      EXPECT_THROW(co_await gather(first, second), std::runtime_error);
      co_await aiocpp::sleep(0.03);
      EXPECT_TRUE(second.done());
    }
    co_await aiocpp::sleep(0);
    co_return 0;
  };
  run_bounded(body(reports));
  EXPECT_TRUE(reports.empty()) << reports.front();
}

TEST(Gather, ChildrenStartInArgumentOrder) {
  // asyncio schedules the children in the order given, so their first steps
  // run in that order.
  auto body = []() -> Task<int> {
    std::vector<int> started;
    auto child = [](int id, std::vector<int>& started) -> Task<int> {
      started.push_back(id);
      co_return id;
    };
    co_await gather(child(1, started), child(2, started), child(3, started));
    EXPECT_EQ(started, (std::vector<int>{1, 2, 3}));
    started.clear();
    co_await gather(return_exceptions, child(1, started), child(2, started), child(3, started));
    EXPECT_EQ(started, (std::vector<int>{1, 2, 3}));
    co_return 0;
  };
  run_bounded(body());
}

}  // namespace
