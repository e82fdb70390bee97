// Task cancellation (asyncio.Task.cancel): where CancelledError is delivered,
// catching it, messages, cancelling() / uncancel().

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

class TaskCancel : public aiocpp::testing::LoopTest {
 protected:
  TaskCancel() { record_reports(); }
};

Task<int> add_one(Task<int> inner) { co_return 1 + co_await inner; }
Task<int> wait_on(Future<int> f) { co_return co_await f; }

TEST_F(TaskCancel, CancelDeliversCancelledErrorAtTheCurrentAwait) {
  Future<int> never = loop_->create_future<int>();
  bool caught = false;
  auto body = [](Future<int> f, bool& caught) -> Task<int> {
    try {
      co_await f;
    } catch (const CancelledError&) {
      caught = true;
      throw;
    }
    co_return 0;
  };
  Task<int> t = loop_->create_task(body(never, caught));
  run_once();  // the task is now suspended on `never`
  EXPECT_TRUE(t.cancel());
  EXPECT_THROW(loop_->run_until_complete(t), CancelledError);
  EXPECT_TRUE(caught);
  EXPECT_TRUE(t.cancelled());
  EXPECT_TRUE(never.cancelled()) << "the awaited future is cancelled too (asyncio)";
  EXPECT_FALSE(t.cancel());
}

TEST_F(TaskCancel, ATaskMayCatchItsCancellationAndReturnAValue) {
  Future<int> never = loop_->create_future<int>();
  auto body = [](Future<int> f) -> Task<int> {
    bool cancelled = false;
    try {
      co_await f;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    if (!cancelled) co_return 0;
    co_await yield_now();  // it may keep awaiting after catching
    co_return 7;
  };
  Task<int> t = loop_->create_task(body(never));
  run_once();
  t.cancel();
  EXPECT_EQ(run(t), 7);
  EXPECT_FALSE(t.cancelled());
  EXPECT_EQ(t.cancelling(), 1);  // asyncio: only uncancel() lowers it
}

TEST_F(TaskCancel, CancelBeforeTheFirstStepNeverRunsTheBody) {
  bool ran = false;
  auto body = [](bool& ran) -> Task<int> {
    ran = true;
    co_return 1;
  };
  Task<int> t = loop_->create_task(body(ran));
  EXPECT_TRUE(t.cancel("early"));
  try {
    loop_->run_until_complete(t);
    ADD_FAILURE() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "early");
  }
  EXPECT_FALSE(ran);
  EXPECT_TRUE(t.cancelled());
}

TEST_F(TaskCancel, CancelMessageReachesTheAwaitAndTheResult) {
  Future<int> never = loop_->create_future<int>();
  std::string seen;
  auto body = [](Future<int> f, std::string& seen) -> Task<int> {
    try {
      co_await f;
    } catch (const CancelledError& e) {
      seen = e.message();
      throw;
    }
    co_return 0;
  };
  Task<int> t = loop_->create_task(body(never, seen));
  run_once();
  t.cancel("the reason");
  try {
    loop_->run_until_complete(t);
    ADD_FAILURE() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "the reason");
  }
  EXPECT_EQ(seen, "the reason");
}

TEST_F(TaskCancel, CancellingATaskWaitingOnAnotherTaskCancelsBoth) {
  Future<int> never = loop_->create_future<int>();
  Task<int> inner = loop_->create_task(wait_on(never));
  Task<int> outer = loop_->create_task(add_one(inner));
  run_once();
  run_once();
  EXPECT_TRUE(outer.cancel());
  EXPECT_THROW(loop_->run_until_complete(outer), CancelledError);
  EXPECT_TRUE(outer.cancelled());
  EXPECT_TRUE(inner.done());
  EXPECT_TRUE(inner.cancelled());
}

TEST_F(TaskCancel, CancellationReachesTheInnermostInlineAwait) {
  Future<int> never = loop_->create_future<int>();
  std::vector<std::string> log;
  auto leaf = [](Future<int> f, std::vector<std::string>& log) -> Task<int> {
    try {
      co_return co_await f;
    } catch (const CancelledError&) {
      log.push_back("leaf");
      throw;
    }
  };
  auto middle = [leaf](Future<int> f, std::vector<std::string>& log) -> Task<int> {
    try {
      co_return co_await leaf(f, log);
    } catch (const CancelledError&) {
      log.push_back("middle");
      throw;
    }
  };
  Task<int> t = loop_->create_task(middle(never, log));
  run_once();
  t.cancel();
  EXPECT_THROW(loop_->run_until_complete(t), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"leaf", "middle"}));
}

TEST_F(TaskCancel, CancellingCountsRequestsAndUncancelLowersTheCount) {
  Future<int> never = loop_->create_future<int>();
  Task<int> t = loop_->create_task(wait_on(never));
  run_once();
  EXPECT_EQ(t.cancelling(), 0);
  EXPECT_TRUE(t.cancel());
  EXPECT_TRUE(t.cancel());
  EXPECT_EQ(t.cancelling(), 2);
  EXPECT_EQ(t.uncancel(), 1);
  EXPECT_EQ(t.cancelling(), 1);
  EXPECT_THROW(loop_->run_until_complete(t), CancelledError);
  EXPECT_FALSE(t.cancel()) << "cancel() of a done task returns false";
}

TEST_F(TaskCancel, SelfCancelRaisesAtTheNextAwait) {
  bool after_cancel = false;
  bool reached_end = false;
  auto body = [](bool& after_cancel, bool& reached_end) -> Task<int> {
    EXPECT_TRUE(detail::TaskBase::current()->cancel("self"));
    after_cancel = true;  // cancel() does not throw on the spot
    co_await yield_now();
    reached_end = true;
    co_return 0;
  };
  Task<int> t = loop_->create_task(body(after_cancel, reached_end));
  try {
    loop_->run_until_complete(t);
    ADD_FAILURE() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "self");
  }
  EXPECT_TRUE(after_cancel);
  EXPECT_FALSE(reached_end);
  EXPECT_TRUE(t.cancelled());
}

TEST_F(TaskCancel, CancelAfterTheAwaitedFutureCompletedStillCancels) {
  // The future is done and the task's wake-up is scheduled but has not run:
  // asyncio throws CancelledError into the coroutine instead of the result.
  Future<int> f = loop_->create_future<int>();
  Task<int> t = loop_->create_task(wait_on(f));
  run_once();
  loop_->call_soon([&] {
    f.set_result(1);
    EXPECT_TRUE(t.cancel());
  });
  EXPECT_THROW(loop_->run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.cancelled());
}

TEST_F(TaskCancel, WhenTheAwaitedTaskSwallowsTheCancelTheAwaiterGetsItsResult) {
  // outer.cancel() cancels the task it awaits; that task catches the
  // CancelledError and returns 5, so outer resumes normally with 5 (asyncio).
  Future<int> never = loop_->create_future<int>();
  auto stubborn = [](Future<int> f) -> Task<int> {
    try {
      co_await f;
    } catch (const CancelledError&) {
    }
    co_return 5;
  };
  Task<int> inner = loop_->create_task(stubborn(never));
  Task<int> outer = loop_->create_task(add_one(inner));
  run_once();
  run_once();
  EXPECT_TRUE(outer.cancel());
  EXPECT_EQ(loop_->run_until_complete(outer), 6);
  EXPECT_FALSE(outer.cancelled());
  EXPECT_FALSE(inner.cancelled());
}

TEST_F(TaskCancel, ATaskCanUncancelAndBeCancelledAgain) {
  Future<int> first = loop_->create_future<int>();
  Future<int> second = loop_->create_future<int>();
  std::vector<std::string> log;
  auto body = [](Future<int> a, Future<int> b, std::vector<std::string>& log) -> Task<int> {
    try {
      co_await a;
    } catch (const CancelledError&) {
      log.push_back("first cancel, count " +
                    std::to_string(detail::TaskBase::current()->cancelling()));
      detail::TaskBase::current()->uncancel();
    }
    try {
      co_await b;
    } catch (const CancelledError&) {
      log.push_back("second cancel, count " +
                    std::to_string(detail::TaskBase::current()->cancelling()));
      throw;
    }
    co_return 0;
  };
  Task<int> t = loop_->create_task(body(first, second, log));
  run_once();
  t.cancel();
  run_once();
  run_once();
  EXPECT_EQ(t.cancelling(), 0);
  EXPECT_FALSE(t.done());
  t.cancel();
  EXPECT_THROW(loop_->run_until_complete(t), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"first cancel, count 1", "second cancel, count 1"}));
}

}  // namespace
