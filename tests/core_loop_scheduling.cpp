// The scheduling core: call_soon, call_later / call_at, handles, stop / close
// (asyncio's BaseEventLoop and Handle / TimerHandle).

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class LoopScheduling : public aiocpp::testing::LoopTest {};

TEST_F(LoopScheduling, CallSoonRunsCallbacksInFifoOrder) {
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) loop_->call_soon([&order, i] { order.push_back(i); });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(LoopScheduling, CallbacksScheduledDuringAnIterationRunInTheNextOne) {
  std::vector<std::string> order;
  loop_->call_soon([&] {
    order.push_back("a");
    loop_->call_soon([&] { order.push_back("b"); });
  });
  loop_->call_soon([&] { order.push_back("c"); });
  // stop() takes effect after the current iteration: "b" belongs to the next.
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "c"}));

  loop_->stop();
  run_until_stopped();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "c", "b"}));
}

TEST_F(LoopScheduling, CallSoonPassesArguments) {
  int got_int = 0;
  std::string got_str;
  loop_->call_soon(
      [&](int i, const std::string& s) {
        got_int = i;
        got_str = s;
      },
      42, std::string("hello"));
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(got_int, 42);
  EXPECT_EQ(got_str, "hello");
}

TEST_F(LoopScheduling, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  double start = now();
  loop_->call_later(0.03, [&] { order.push_back(3); });
  loop_->call_later(0.01, [&] { order.push_back(1); });
  loop_->call_at(loop_->time() + 0.02, [&] { order.push_back(2); });
  loop_->call_later(0.04, [this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(now() - start, 0.039);
}

TEST_F(LoopScheduling, TimersWithEqualDeadlinesRunInSchedulingOrder) {
  std::vector<int> order;
  double when = loop_->time() + 0.01;
  for (int i = 0; i < 50; ++i) loop_->call_at(when, [&order, i] { order.push_back(i); });
  loop_->call_at(when, [this] { loop_->stop(); });
  run_until_stopped();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(LoopScheduling, TimerHandleWhenAndTimersNeverFireEarly) {
  double when = loop_->time() + 0.05;
  TimerHandle at = loop_->call_at(when, [] {});
  EXPECT_DOUBLE_EQ(at.when(), when);

  double before = loop_->time();
  double fired_at = 0;
  TimerHandle later = loop_->call_later(0.02, [&] {
    fired_at = loop_->time();
    loop_->stop();
  });
  double after = loop_->time();
  EXPECT_GE(later.when(), before + 0.02);
  EXPECT_LE(later.when(), after + 0.02);
  EXPECT_EQ(later.get_loop(), loop_.get());
  run_until_stopped();
  // asyncio allows the clock's resolution; allow a millisecond.
  EXPECT_GE(fired_at, later.when() - 0.001);
}

TEST_F(LoopScheduling, CancelledHandleNeverRuns) {
  bool ran = false;
  Handle h = loop_->call_soon([&] { ran = true; });
  EXPECT_FALSE(h.cancelled());
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  h.cancel();  // twice: harmless
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_FALSE(ran);
}

TEST_F(LoopScheduling, HandleCancelledByAnEarlierCallbackOfTheSameIterationDoesNotRun) {
  bool ran = false;
  Handle victim;
  loop_->call_soon([&] { victim.cancel(); });
  victim = loop_->call_soon([&] { ran = true; });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_FALSE(ran);
}

TEST_F(LoopScheduling, CancellingAHandleFromItsOwnCallbackOrAfterItRanIsHarmless) {
  int runs = 0;
  Handle self;
  self = loop_->call_soon([&] {
    ++runs;
    self.cancel();
  });
  Handle other = loop_->call_soon([&] { ++runs; });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(runs, 2);
  other.cancel();
  self.cancel();
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(runs, 2);
}

TEST_F(LoopScheduling, CancelledTimerNeverRunsAndCancelAfterFiringIsHarmless) {
  bool cancelled_ran = false;
  bool kept_ran = false;
  TimerHandle t1 = loop_->call_later(0.01, [&] { cancelled_ran = true; });
  TimerHandle t2 = loop_->call_later(0.02, [&] { kept_ran = true; });
  t1.cancel();
  EXPECT_TRUE(t1.cancelled());
  loop_->call_later(0.03, [this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_FALSE(cancelled_ran);
  EXPECT_TRUE(kept_ran);
  t2.cancel();
  t1.cancel();
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
}

TEST_F(LoopScheduling, ManyCancelledTimersDoNotDisturbTheOthers) {
  // Deadlines in a scrambled order; 9 of every 10 timers are cancelled, so
  // cancelled entries dominate the heap (the loop may compact it).
  constexpr int n = 2000;
  double base = loop_->time() + 0.01;
  std::vector<TimerHandle> handles;
  std::vector<int> fired;
  for (int i = 0; i < n; ++i) {
    int slot = (i * 7919) % n;  // a permutation of 0..n-1
    handles.push_back(
        loop_->call_at(base + slot * 0.00002, [&fired, slot] { fired.push_back(slot); }));
  }
  for (int i = 0; i < n; ++i) {
    if ((i * 7919) % n % 10 != 0) handles[i].cancel();
  }
  loop_->call_at(base + n * 0.00002 + 0.01, [this] { loop_->stop(); });
  run_until_stopped();
  ASSERT_EQ(fired.size(), static_cast<size_t>(n / 10));
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  for (int slot : fired) EXPECT_EQ(slot % 10, 0);
  // And the loop keeps scheduling timers correctly afterwards.
  std::vector<int> order;
  loop_->call_later(0.002, [&] { order.push_back(2); });
  loop_->call_later(0.001, [&] { order.push_back(1); });
  loop_->call_later(0.003, [this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST_F(LoopScheduling, TimerCancelledByAnEarlierTimerDueInTheSameIterationDoesNotRun) {
  bool ran = false;
  TimerHandle victim;
  double when = loop_->time() + 0.005;
  loop_->call_at(when, [&] { victim.cancel(); });
  victim = loop_->call_at(when, [&] { ran = true; });
  loop_->call_at(when + 0.005, [this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_FALSE(ran);
}

TEST_F(LoopScheduling, StopBeforeRunForeverRunsOneIteration) {
  std::vector<std::string> order;
  loop_->call_soon([&] {
    order.push_back("first");
    loop_->call_soon([&] { order.push_back("second"); });
  });
  loop_->call_later(30, [&] { order.push_back("timer"); });
  loop_->stop();
  double start = now();
  loop_->run_forever();
  EXPECT_LT(now() - start, 5.0) << "the loop slept instead of polling once";
  EXPECT_EQ(order, (std::vector<std::string>{"first"}));
  EXPECT_FALSE(loop_->is_running());
}

TEST_F(LoopScheduling, RunningTheLoopWhileItRunsThrows) {
  bool checked = false;
  loop_->call_soon([&] {
    EXPECT_THROW(loop_->run_forever(), RuntimeError);
    EXPECT_THROW(loop_->run_until_complete(loop_->create_future<int>()), RuntimeError);
    EXPECT_TRUE(loop_->is_running());
    checked = true;
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_TRUE(checked);
}

TEST_F(LoopScheduling, RunningAnotherLoopInsideARunningLoopThrows) {
  auto other = new_event_loop();
  bool checked = false;
  loop_->call_soon([&] {
    EXPECT_THROW(other->run_forever(), RuntimeError);
    EXPECT_FALSE(other->is_running());
    checked = true;
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_TRUE(checked);
  other->close();
}

TEST_F(LoopScheduling, IsRunningAndIsClosed) {
  EXPECT_FALSE(loop_->is_running());
  EXPECT_FALSE(loop_->is_closed());
  bool running_inside = false;
  loop_->call_soon([&] {
    running_inside = loop_->is_running();
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_TRUE(running_inside);
  EXPECT_FALSE(loop_->is_running());
  loop_->close();
  EXPECT_TRUE(loop_->is_closed());
  EXPECT_FALSE(loop_->is_running());
}

TEST_F(LoopScheduling, CloseWhileRunningThrowsAndLeavesTheLoopUsable) {
  bool threw = false;
  loop_->call_soon([&] {
    try {
      loop_->close();
    } catch (const RuntimeError&) {
      threw = true;
    }
    loop_->call_soon([this] { loop_->stop(); });
  });
  run_until_stopped();
  EXPECT_TRUE(threw);
  EXPECT_FALSE(loop_->is_closed());
}

TEST_F(LoopScheduling, SchedulingOnAClosedLoopThrows) {
  loop_->close();
  EXPECT_THROW(loop_->call_soon([] {}), RuntimeError);
  EXPECT_THROW(loop_->call_later(0.1, [] {}), RuntimeError);
  EXPECT_THROW(loop_->call_at(loop_->time(), [] {}), RuntimeError);
  EXPECT_THROW(loop_->call_soon_threadsafe([] {}), RuntimeError);
  EXPECT_THROW(loop_->run_forever(), RuntimeError);
}

TEST_F(LoopScheduling, CloseTwiceIsHarmless) {
  loop_->close();
  EXPECT_NO_THROW(loop_->close());
  EXPECT_TRUE(loop_->is_closed());
}

TEST_F(LoopScheduling, CloseDropsPendingCallbacks) {
  auto token = std::make_shared<int>(0);
  loop_->call_soon([token] {});
  loop_->call_later(60, [token] {});
  EXPECT_EQ(token.use_count(), 3);
  loop_->close();
  EXPECT_EQ(token.use_count(), 1);
}

TEST_F(LoopScheduling, TimeIsMonotonic) {
  double previous = loop_->time();
  for (int i = 0; i < 1000; ++i) {
    double t = loop_->time();
    EXPECT_GE(t, previous);
    previous = t;
  }
  double t0 = loop_->time();
  double deadline = now() + 0.005;
  while (now() < deadline) {
  }
  EXPECT_GE(loop_->time() - t0, 0.004);
}

TEST_F(LoopScheduling, CallLaterWithNegativeDelayRunsSoon) {
  std::vector<std::string> order;
  double start = now();
  loop_->call_later(0.5, [&] {
    order.push_back("later");
    loop_->stop();
  });
  loop_->call_later(-1.0, [&] { order.push_back("negative"); });
  loop_->call_at(loop_->time() - 10, [&] { order.push_back("past"); });
  loop_->call_soon([&] {
    // Runs while the negative-delay timers are already due.
    loop_->call_soon([&] {
      if (order.size() == 2) loop_->stop();
    });
  });
  run_until_stopped();
  // Both are due at once and run in deadline order.
  EXPECT_EQ(order, (std::vector<std::string>{"past", "negative"}));
  EXPECT_LT(now() - start, 0.45);
}

TEST_F(LoopScheduling, RunUntilCompleteThrowsWhenStoppedBeforeTheFutureIsDone) {
  Future<int> never = loop_->create_future<int>();
  loop_->call_soon([this] { loop_->stop(); });
  EXPECT_THROW(loop_->run_until_complete(never), RuntimeError);
  EXPECT_FALSE(never.done());
  EXPECT_FALSE(loop_->is_running());
}

TEST_F(LoopScheduling, StopInTheMiddleOfAnIterationFinishesTheIteration) {
  std::vector<std::string> order;
  loop_->call_soon([this] { loop_->stop(); });
  loop_->call_soon([&] { order.push_back("same iteration"); });
  loop_->run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"same iteration"}));
}

TEST_F(LoopScheduling, CancelReleasesWhatTheCallbackHolds) {
  auto token = std::make_shared<int>(0);
  Handle soon = loop_->call_soon([token] {});
  TimerHandle later = loop_->call_later(60, [token] {});
  EXPECT_EQ(token.use_count(), 3);
  soon.cancel();
  later.cancel();
  EXPECT_EQ(token.use_count(), 1) << "a cancelled handle keeps its callback alive";
}

TEST_F(LoopScheduling, DebugModeRejectsCallSoonFromAnotherThread) {
  loop_->set_debug(true);
  bool threw = false;
  loop_->call_soon([&] {
    std::thread([&] {
      try {
        loop_->call_soon([] {});
      } catch (const RuntimeError&) {
        threw = true;
      }
    }).join();
    loop_->call_soon_threadsafe([this] { loop_->stop(); });  // fine from the loop's thread too
  });
  run_until_stopped();
  EXPECT_TRUE(threw) << "asyncio's debug mode raises RuntimeError for a non-thread-safe call";
}

}  // namespace
