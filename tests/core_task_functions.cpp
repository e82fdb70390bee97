// asyncio's task functions: sleep, wait_for, shield (gather: core_gather.cpp).

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

// --- sleep ----------------------------------------------------------------------

TEST(Sleep, SleepersWakeInDeadlineOrderAfterTheirDelay) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    std::vector<int> order;
    auto sleeper = [](double d, int id, std::vector<int>& order) -> Task<int> {
      co_await aiocpp::sleep(d);
      order.push_back(id);
      co_return id;
    };
    double start = loop.time();
    co_await gather(sleeper(0.06, 3, order), sleeper(0.02, 1, order), sleeper(0.04, 2, order));
    EXPECT_GE(loop.time() - start, 0.059);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    co_return 0;
  };
  run_bounded(body());
}

TEST(Sleep, NegativeDelayActsLikeZero) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    double start = loop.time();
    co_await aiocpp::sleep(-5);
    EXPECT_LT(loop.time() - start, 1.0);
    co_return 0;
  };
  run_bounded(body());
}

TEST(Sleep, SleepZeroYieldsToOtherTasks) {
  auto body = []() -> Task<int> {
    std::vector<std::string> log;
    auto worker = [](std::string name, std::vector<std::string>& log) -> Task<int> {
      log.push_back(name + "0");
      co_await aiocpp::sleep(0);
      log.push_back(name + "1");
      co_return 0;
    };
    EventLoop& loop = get_running_loop();
    Task<int> a = loop.create_task(worker("a", log));
    Task<int> b = loop.create_task(worker("b", log));
    co_await gather(a, b);
    EXPECT_EQ(log, (std::vector<std::string>{"a0", "b0", "a1", "b1"}));
    co_return 0;
  };
  run_bounded(body());
}

TEST(Sleep, CancellingASleepingTaskWakesItAtOnce) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    bool saw_cancel = false;
    auto sleeper = [](bool& saw_cancel) -> Task<int> {
      try {
        co_await aiocpp::sleep(30);
      } catch (const CancelledError&) {
        saw_cancel = true;
        throw;
      }
      co_return 0;
    };
    Task<int> t = loop.create_task(sleeper(saw_cancel));
    co_await aiocpp::sleep(0.01);
    double start = loop.time();
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_LT(loop.time() - start, 5.0);
    EXPECT_TRUE(saw_cancel);
    EXPECT_TRUE(t.cancelled());
    co_return 0;
  };
  run_bounded(body());
}

// --- wait_for -----------------------------------------------------------------------

TEST(WaitFor, ReturnsTheResultInTime) {
  auto body = []() -> Task<int> {
    EXPECT_EQ(co_await wait_for(sleep_then(0.001, 3), 10.0), 3);
    Future<int> done = get_running_loop().create_future<int>();
    done.set_result(8);
    EXPECT_EQ(co_await wait_for(done, 10.0), 8);
    EXPECT_THROW(co_await wait_for(fail_after(0, "inner"), 10.0), std::runtime_error);
    co_return 0;
  };
  run_bounded(body());
}

TEST(WaitFor, TimeoutCancelsTheInnerAndWaitsForItToFinish) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    bool cleaned_up = false;
    auto slow = [](bool& cleaned_up) -> Task<int> {
      bool cancelled = false;
      try {
        co_await aiocpp::sleep(30);
      } catch (const CancelledError&) {
        cancelled = true;
      }
      if (cancelled) {
        co_await aiocpp::sleep(0.005);  // slow cleanup: wait_for must wait for it
        cleaned_up = true;
        throw CancelledError();
      }
      co_return 0;
    };
    Task<int> inner = loop.create_task(slow(cleaned_up));
    double start = loop.time();
    try {
      co_await wait_for(inner, 0.02);
      ADD_FAILURE() << "wait_for did not time out";
    } catch (const TimeoutError& e) {
      EXPECT_STREQ(e.what(),
                   "TimeoutError: wait_for timed out after 0.02 s; the awaited operation was "
                   "cancelled");
    }
    EXPECT_GE(loop.time() - start, 0.019);
    EXPECT_LT(loop.time() - start, 5.0);
    EXPECT_TRUE(inner.done());
    EXPECT_TRUE(inner.cancelled());
    EXPECT_TRUE(cleaned_up);
    co_return 0;
  };
  run_bounded(body());
}

TEST(WaitFor, ZeroOrNegativeTimeout) {
  auto body = []() -> Task<int> {
    bool ran = false;
    auto flag = [](bool& ran) -> Task<int> {
      ran = true;
      co_return 1;
    };
    EXPECT_THROW(co_await wait_for(flag(ran), 0), TimeoutError);
    EXPECT_FALSE(ran) << "the task was cancelled before its first step";
    Task<int> pending = get_running_loop().create_task(wait_forever());
    EXPECT_THROW(co_await wait_for(pending, -1), TimeoutError);
    EXPECT_TRUE(pending.cancelled());
    Future<int> done = get_running_loop().create_future<int>();
    done.set_result(2);
    EXPECT_EQ(co_await wait_for(done, 0), 2);
    co_return 0;
  };
  run_bounded(body());
}

TEST(WaitFor, CancellingTheWaiterCancelsTheInner) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    bool inner_cancelled = false;
    Task<int> inner = loop.create_task(wait_forever(&inner_cancelled));
    Task<int> outer = loop.create_task(wait_for(inner, 30));
    co_await aiocpp::sleep(0.001);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_TRUE(outer.cancelled());
    EXPECT_TRUE(inner.cancelled());
    EXPECT_TRUE(inner_cancelled);
    co_return 0;
  };
  run_bounded(body());
}

TEST(WaitFor, VoidAwaitables) {
  auto body = []() -> Task<void> {
    co_await wait_for(aiocpp::sleep(0.001), 10.0);
    EXPECT_THROW(co_await wait_for(aiocpp::sleep(30), 0.01), TimeoutError);
    Future<void> done = get_running_loop().create_future();
    done.set_result();
    co_await wait_for(done, 0);
  };
  run_bounded(body());
}

TEST(WaitFor, AnInnerThatSwallowsTheCancelGivesItsValue) {
  // asyncio 3.11: after the timeout wait_for cancels the inner and waits; if
  // the inner returns a value instead of being cancelled, that is the result.
  auto body = []() -> Task<int> {
    auto stubborn = []() -> Task<int> {
      try {
        co_await aiocpp::sleep(30);
      } catch (const CancelledError&) {
      }
      co_return 99;
    };
    EXPECT_EQ(co_await wait_for(stubborn(), 0.01), 99);
    co_return 0;
  };
  run_bounded(body());
}

TEST(WaitFor, APlainFutureIsCancelledOnTimeout) {
  auto body = []() -> Task<int> {
    Future<int> f = get_running_loop().create_future<int>();
    EXPECT_THROW(co_await wait_for(f, 0.01), TimeoutError);
    EXPECT_TRUE(f.cancelled());
    co_return 0;
  };
  run_bounded(body());
}

// --- shield -----------------------------------------------------------------------------

TEST(Shield, CancellingTheAwaiterLeavesTheInnerRunning) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    Future<int> gate = loop.create_future<int>();
    auto gated = [](Future<int> g) -> Task<int> { co_return co_await g; };
    Task<int> inner = loop.create_task(gated(gate));
    auto awaiting = [](Task<int> inner) -> Task<int> { co_return co_await shield(inner); };
    Task<int> outer = loop.create_task(awaiting(inner));
    co_await aiocpp::sleep(0.001);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_FALSE(inner.done());
    gate.set_result(5);
    EXPECT_EQ(co_await inner, 5);
    EXPECT_FALSE(inner.cancelled());

    auto shielded = shield(loop.create_task(sleep_then(0.01, 6)));
    EXPECT_TRUE(shielded.cancel());
    EXPECT_THROW(co_await shielded, CancelledError);
    co_return 0;
  };
  run_bounded(body());
}

TEST(Shield, PassesResultsExceptionsAndInnerCancellationThrough) {
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    EXPECT_EQ(co_await shield(sleep_then(0.001, 3)), 3);
    EXPECT_THROW(co_await shield(fail_after(0.001, "inner failed")), std::runtime_error);
    Task<int> inner = loop.create_task(wait_forever());
    auto outer = shield(inner);
    co_await aiocpp::sleep(0);
    inner.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_TRUE(outer.cancelled());
    Future<int> done = loop.create_future<int>();
    done.set_result(4);
    EXPECT_EQ(co_await shield(done), 4);
    co_return 0;
  };
  run_bounded(body());
}

TEST(Shield, AnInnerFailureAfterTheOuterWasCancelledIsTheInnersOwn) {
  // Once the outer is cancelled, the shield stops following the inner (asyncio
  // removes its callback), so a later failure nobody retrieves is reported
  // like that of any task.
  std::vector<std::string> reports;
  auto body = [](std::vector<std::string>& reports) -> Task<int> {
    EventLoop& loop = get_running_loop();
    loop.set_exception_handler(
        [&reports](EventLoop&, const ExceptionContext& c) { reports.push_back(c.message); });
    {
      Task<int> inner = loop.create_task(fail_after(0.005, "late failure"));
      auto outer = shield(inner);
      EXPECT_TRUE(outer.cancel());
      co_await aiocpp::sleep(0.02);
      EXPECT_TRUE(inner.done());
      EXPECT_FALSE(inner.cancelled());
    }
    co_await aiocpp::sleep(0);
    co_return 0;
  };
  run_bounded(body(reports));
  EXPECT_EQ(reports, (std::vector<std::string>{"Task exception was never retrieved"}));
}

}  // namespace
