// Futures and tasks exactly as asyncio 3.11 (issue 14, item 4): each test is
// a difference that a comparison of CPython's test_futures / test_tasks /
// test_runners with our suites found, and fails on the code before it was
// fixed.

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Asyncio311 : public aiocpp::testing::LoopTest {
 protected:
  Asyncio311() { record_reports(); }
};

Task<int> fails() {
  co_await yield_now();
  throw std::runtime_error("failed");
}

// asyncio's Future.cancel clears the "never retrieved" flag before it looks
// at the state: cancelling a failed future is looking at it.
TEST_F(Asyncio311, CancellingAFailedFutureMeansItsExceptionIsNotReported) {
  {
    Future<int> f = loop_->create_future<int>();
    f.set_exception(std::runtime_error("failed"));
    EXPECT_FALSE(f.cancel());
  }
  run_once();
  EXPECT_TRUE(reports_.empty()) << reports_.front().message;
}

TEST_F(Asyncio311, CancellingAFailedTaskMeansItsExceptionIsNotReported) {
  {
    Task<int> t = loop_->create_task(fails());
    t.add_done_callback([this] { loop_->stop(); });
    loop_->run_forever();
    ASSERT_TRUE(t.done());
    EXPECT_FALSE(t.cancel());
  }
  run_once();
  EXPECT_TRUE(reports_.empty()) << reports_.front().message;
}

// cancel() on itself, then return: asyncio's __step sees _must_cancel and
// cancels instead of setting the result.
TEST_F(Asyncio311, ATaskThatCancelsItselfAndReturnsEndsCancelled) {
  auto body = []() -> Task<int> {
    detail::TaskBase::current()->cancel("by itself");
    co_return 7;
  };
  Task<int> t = loop_->create_task(body());
  try {
    loop_->run_until_complete(t);
    ADD_FAILURE() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "by itself");
  }
  EXPECT_TRUE(t.cancelled());
}

TEST_F(Asyncio311, ATaskRefusesSetResultAndSetExceptionFromOutside) {
  auto body = []() -> Task<int> {
    co_await yield_now();
    co_return 1;
  };
  Task<int> t = loop_->create_task(body());
  try {
    t.set_result(5);
    ADD_FAILURE() << "set_result accepted";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Task does not support set_result operation");
  }
  try {
    t.set_exception(std::runtime_error("x"));
    ADD_FAILURE() << "set_exception accepted";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Task does not support set_exception operation");
  }
  EXPECT_EQ(loop_->run_until_complete(t), 1) << "the task itself still finishes";
}

TEST_F(Asyncio311, CurrentTaskWithoutARunningLoopRaises) {
  EXPECT_THROW((void)current_task(), RuntimeError);
  // Inside the running loop but outside a task: no task (asyncio's None).
  bool empty = false;
  loop_->call_soon([&] {
    empty = !current_task().valid();
    loop_->stop();
  });
  loop_->run_forever();
  EXPECT_TRUE(empty);
}

TEST_F(Asyncio311, GetEventLoopAfterSetEventLoopNullRaises) {
  bool raised = false;
  std::thread([&] {
    set_event_loop(nullptr);
    try {
      (void)get_event_loop();
    } catch (const RuntimeError&) {
      raised = true;
    }
  }).join();
  EXPECT_TRUE(raised);
}

Task<int> on_loop(int v) {
  co_await yield_now();
  co_return v;
}

// A task scheduled on another loop cannot join this loop's gather or shield.
TEST_F(Asyncio311, GatherAndShieldRefuseATaskOfAnotherLoop) {
  auto other = new_event_loop();
  Task<int> foreign = other->create_task(on_loop(1));
  auto body = [](Task<int> foreign) -> Task<int> {
    int refused = 0;
    try {
      (void)gather(on_loop(2), foreign);
    } catch (const ValueError&) {
      ++refused;
    }
    try {
      (void)shield(foreign);
    } catch (const ValueError&) {
      ++refused;
    }
    co_return refused;
  };
  EXPECT_EQ(run(body(foreign)), 2);
  EXPECT_EQ(other->run_until_complete(foreign), 1);
  other->close();
}

TEST_F(Asyncio311, EnsureFutureSchedulesACoroutineAndReturnsAFutureAsItIs) {
  auto body = [](EventLoop& loop) -> Task<int> {
    Task<int> t = ensure_future(on_loop(3));
    EXPECT_TRUE(detail::Access::task(t)->scheduled()) << "scheduled, as create_task does";
    Future<int> f = loop.create_future<int>();
    EXPECT_TRUE(detail::Access::state(ensure_future(f)) == detail::Access::state(f));
    auto other = new_event_loop();
    Future<int> foreign = other->create_future<int>();
    bool refused = false;
    try {
      (void)ensure_future(foreign, &loop);
    } catch (const ValueError&) {
      refused = true;
    }
    other->close();
    EXPECT_TRUE(refused);
    co_return co_await t;
  };
  EXPECT_EQ(run(body(*loop_)), 3);
}

// aiocpp::run gives KeyboardInterrupt after Ctrl-C only when that was the
// main task's only cancellation (asyncio's uncancel() count): here the
// task, cancelled by Ctrl-C, cancels itself once more while it cleans up.
TEST(Asyncio311Run, CtrlCAndAnotherCancellationEndRunWithCancelledError) {
  auto body = []() -> Task<void> {
    ::kill(::getpid(), SIGINT);  // Ctrl-C
    bool interrupted = false;
    try {
      co_await aiocpp::sleep(10);
    } catch (const CancelledError&) {
      interrupted = true;
    }
    EXPECT_TRUE(interrupted);
    current_task().cancel();
    co_await aiocpp::sleep(10);
  };
  EXPECT_THROW(aiocpp::run(body()), CancelledError);
}

TEST(Asyncio311Run, CtrlCAloneEndsRunWithKeyboardInterrupt) {
  auto body = []() -> Task<void> {
    ::kill(::getpid(), SIGINT);  // Ctrl-C
    co_await aiocpp::sleep(10);
  };
  EXPECT_THROW(aiocpp::run(body()), KeyboardInterrupt);
}

}  // namespace
