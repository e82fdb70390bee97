// asyncio.TaskGroup and asyncio.timeout / timeout_at (3.11), ported by
// behaviour from CPython's test_taskgroups and test_timeouts.

#include <stdexcept>
#include <string>
#include <vector>

#include "aiocpp/locks.hpp"
#include "aiocpp/taskgroups.hpp"
#include "aiocpp/timeouts.hpp"
#include "test_support.hpp"

using namespace aiocpp;

namespace {

class TaskGroups : public aiocpp::testing::LoopTest {
 protected:
  TaskGroups() { record_reports(); }
  template <class T>
  T run(Task<T> t) {
    auto bounded = [](Task<T> t) -> Task<T> { co_return co_await wait_for(std::move(t), 5.0); };
    return loop_->run_until_complete(bounded(std::move(t)));
  }
};

Task<int> value_after(Event& go, int v) {
  co_await go.wait();
  co_return v;
}
Task<void> yield_now_task() { co_await yield_now(); }
Task<void> fail_with(std::string what) {
  co_await yield_now();
  throw std::runtime_error(what);
}
Task<void> wait_forever(bool& cancelled) {
  Event never;
  try {
    co_await never.wait();
  } catch (const CancelledError&) {
    cancelled = true;
    throw;
  }
}

std::vector<std::string> messages(const ExceptionGroup& group) {
  std::vector<std::string> out;
  for (const auto& e : group.exceptions()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      out.emplace_back(x.what());
    }
  }
  return out;
}

TEST_F(TaskGroups, WaitsForEveryTaskAndKeepsTheirResults) {
  auto body = []() -> Task<int> {
    Event go;
    Task<int> a, b;
    auto group = [&](TaskGroup& tg) -> Task<void> {
      a = tg.create_task(value_after(go, 1));
      b = tg.create_task(value_after(go, 2));
      go.set();
      co_return;
    };
    co_await TaskGroup::run(group);
    EXPECT_TRUE(a.done() && b.done());
    co_return a.result() + b.result();
  };
  EXPECT_EQ(run(body()), 3);
}

TEST_F(TaskGroups, TheFirstFailureCancelsTheSiblingsAndTheBody) {
  auto body = []() -> Task<void> {
    bool sibling_cancelled = false, body_cancelled = false;
    auto group = [&](TaskGroup& tg) -> Task<void> {
      tg.create_task(wait_forever(sibling_cancelled));
      tg.create_task(fail_with("boom"));
      try {
        co_await sleep(10);
      } catch (const CancelledError&) {
        body_cancelled = true;
        throw;
      }
    };
    std::vector<std::string> errors;
    try {
      co_await TaskGroup::run(group);
    } catch (const ExceptionGroup& g) {
      errors = messages(g);
    }
    EXPECT_EQ(errors, (std::vector<std::string>{"boom"}));
    EXPECT_TRUE(sibling_cancelled);
    EXPECT_TRUE(body_cancelled);
    EXPECT_EQ(current_task().cancelling(), 0) << "the group's own cancel() was undone";
  };
  run(body());
}

TEST_F(TaskGroups, EveryFailureIsGatheredTheBodysLast) {
  auto body = []() -> Task<void> {
    auto group = [](TaskGroup& tg) -> Task<void> {
      tg.create_task(fail_with("one"));
      tg.create_task(fail_with("two"));
      co_await yield_now();
      co_await yield_now();
      throw std::logic_error("body");
    };
    std::vector<std::string> errors;
    try {
      co_await TaskGroup::run(group);
    } catch (const ExceptionGroup& g) {
      errors = messages(g);
    }
    EXPECT_EQ(errors, (std::vector<std::string>{"one", "two", "body"}));
  };
  run(body());
}

TEST_F(TaskGroups, ABodyFailureCancelsTheTasks) {
  auto body = []() -> Task<void> {
    bool cancelled = false;
    auto group = [&](TaskGroup& tg) -> Task<void> {
      tg.create_task(wait_forever(cancelled));
      co_await yield_now();
      throw std::logic_error("body");
    };
    std::vector<std::string> errors;
    try {
      co_await TaskGroup::run(group);
    } catch (const ExceptionGroup& g) {
      errors = messages(g);
    }
    EXPECT_EQ(errors, (std::vector<std::string>{"body"}));
    EXPECT_TRUE(cancelled);
  };
  run(body());
}

TEST_F(TaskGroups, CancellingTheParentCancelsTheTasksAndPropagates) {
  auto parent = [](bool& child_cancelled) -> Task<void> {
    auto group = [&](TaskGroup& tg) -> Task<void> {
      tg.create_task(wait_forever(child_cancelled));
      co_await sleep(10);
    };
    co_await TaskGroup::run(group);
  };
  auto body = [parent]() -> Task<void> {
    bool child_cancelled = false;
    Task<void> t = get_running_loop().create_task(parent(child_cancelled));
    co_await yield_now();
    co_await yield_now();
    t.cancel();
    bool raised = false;
    try {
      co_await t;
    } catch (const CancelledError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
    EXPECT_TRUE(child_cancelled);
  };
  run(body());
}

TEST_F(TaskGroups, CancellingTheParentWhileTheGroupWaitsCancelsTheTasks) {
  auto parent = [](bool& child_cancelled) -> Task<void> {
    TaskGroup tg;  // the object form
    tg.create_task(wait_forever(child_cancelled));
    co_await tg.wait();
  };
  auto body = [parent]() -> Task<void> {
    bool child_cancelled = false;
    Task<void> t = get_running_loop().create_task(parent(child_cancelled));
    co_await yield_now();
    co_await yield_now();
    t.cancel();
    bool raised = false;
    try {
      co_await t;
    } catch (const CancelledError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
    EXPECT_TRUE(child_cancelled);
  };
  run(body());
}

TEST_F(TaskGroups, NoNewTasksOnceShuttingDownOrFinished) {
  auto body = []() -> Task<void> {
    bool refused_while_aborting = false;
    auto group = [&](TaskGroup& tg) -> Task<void> {
      tg.create_task(fail_with("x"));
      try {
        co_await sleep(10);
      } catch (const CancelledError&) {
        try {
          tg.create_task(yield_now_task());
        } catch (const RuntimeError&) {
          refused_while_aborting = true;
        }
        throw;
      }
    };
    try {
      co_await TaskGroup::run(group);
    } catch (const ExceptionGroup&) {
    }
    EXPECT_TRUE(refused_while_aborting);

    TaskGroup tg;
    co_await tg.wait();
    EXPECT_THROW((void)tg.create_task(yield_now_task()), RuntimeError);
    bool twice = false;
    try {
      co_await tg.wait();
    } catch (const RuntimeError&) {
      twice = true;
    }
    EXPECT_TRUE(twice);
  };
  run(body());
}

TEST_F(TaskGroups, OutsideATaskIsARuntimeError) { EXPECT_THROW(TaskGroup(), RuntimeError); }

// --- timeout / timeout_at -------------------------------------------------------

TEST_F(TaskGroups, TimeoutExpiresIntoTimeoutError) {
  auto body = []() -> Task<void> {
    Timeout t = timeout(0.01);
    bool timed_out = false;
    try {
      co_await t.run(sleep(10));
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(current_task().cancelling(), 0);
  };
  run(body());
}

TEST_F(TaskGroups, TimeoutNotReachedReturnsTheValue) {
  auto body = []() -> Task<void> {
    auto work = []() -> Task<int> {
      co_await yield_now();
      co_return 7;
    };
    Timeout t = timeout(5);
    EXPECT_EQ(co_await t.run(work()), 7);
    EXPECT_FALSE(t.expired());
    EXPECT_THROW(t.reschedule(1.0), RuntimeError) << "finished";
    // No deadline at all.
    EXPECT_EQ(co_await timeout(std::nullopt).run(work()), 7);
  };
  run(body());
}

TEST_F(TaskGroups, TimeoutRescheduleMovesTheDeadline) {
  auto body = []() -> Task<void> {
    EventLoop& loop = get_running_loop();
    // Postponed to none: the body finishes although it outlives the first deadline.
    auto relaxed = [](Timeout& t) -> Task<int> {
      t.reschedule(std::nullopt);
      co_await sleep(0.05);
      co_return 1;
    };
    EXPECT_EQ(co_await timeout(0.01).run(relaxed), 1);
    // Brought forward to now: expires at once.
    auto hurried = [&loop](Timeout& t) -> Task<int> {
      t.reschedule(loop.time());
      EXPECT_TRUE(t.when().has_value());
      co_await sleep(10);
      co_return 2;
    };
    bool timed_out = false;
    try {
      (void)co_await timeout(10).run(hurried);
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  };
  run(body());
}

TEST_F(TaskGroups, TimeoutAtInThePastExpiresAtTheFirstAwait) {
  auto body = []() -> Task<void> {
    Timeout t = timeout_at(get_running_loop().time() - 1);
    bool timed_out = false;
    try {
      co_await t.run(sleep(10));
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  };
  run(body());
}

TEST_F(TaskGroups, AnOuterCancellationStaysACancellation) {
  auto inner = []() -> Task<void> { co_await timeout(10).run(sleep(10)); };
  auto body = [inner]() -> Task<void> {
    Task<void> t = get_running_loop().create_task(inner());
    co_await yield_now();
    t.cancel();
    bool cancelled = false;
    try {
      co_await t;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
  };
  run(body());
}

TEST_F(TaskGroups, NestedTimeoutsOnlyTheExpiredOneRaises) {
  auto body = []() -> Task<void> {
    auto inner = []() -> Task<void> { co_await timeout(10).run(sleep(10)); };
    Timeout outer = timeout(0.01);
    bool timed_out = false;
    try {
      co_await outer.run(inner());
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(outer.expired());
  };
  run(body());
}

}  // namespace
