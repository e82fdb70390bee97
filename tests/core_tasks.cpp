// Task<T>: coroutines run by the loop (asyncio.Task): scheduling, inline
// awaits, results, cancellation, the registry, task factories.

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Tasks : public aiocpp::testing::LoopTest {
 protected:
  Tasks() { record_reports(); }
};

Task<int> forty_two() { co_return 42; }
Task<int> add_one(Task<int> inner) { co_return 1 + co_await inner; }
Task<int> thrower(std::string what) {
  throw std::runtime_error(what);
  co_return 0;
}
Task<int> wait_on(Future<int> f) { co_return co_await f; }

TEST_F(Tasks, CreateTaskRunsTheCoroutineOnTheLoopNotSynchronously) {
  bool started = false;
  auto body = [](bool& started) -> Task<int> {
    started = true;
    co_return 1;
  };
  Task<int> t = loop_->create_task(body(started), "worker");
  EXPECT_FALSE(started);
  EXPECT_FALSE(t.done());
  EXPECT_EQ(t.get_name(), "worker");
  EXPECT_EQ(loop_->run_until_complete(t), 1);
  EXPECT_TRUE(started);
  EXPECT_TRUE(t.done());
}

TEST_F(Tasks, RunUntilCompleteSchedulesAnUnstartedTask) {
  EXPECT_EQ(loop_->run_until_complete(add_one(forty_two())), 43);
}

TEST_F(Tasks, AwaitingACoroutineRunsItInlineInTheAwaitingTask) {
  std::vector<std::string> log;
  auto child = [](std::vector<std::string>& log, detail::TaskBase* parent) -> Task<int> {
    log.push_back("child");
    EXPECT_EQ(detail::TaskBase::current(), parent) << "the child runs as a task of its own";
    co_return 5;
  };
  auto parent = [child](std::vector<std::string>& log) -> Task<int> {
    log.push_back("parent-before");
    int v = co_await child(log, detail::TaskBase::current());
    log.push_back("parent-after");
    co_return v;
  };
  auto other = [](std::vector<std::string>& log) -> Task<int> {
    log.push_back("other");
    co_return 0;
  };
  Task<int> p = loop_->create_task(parent(log));
  Task<int> o = loop_->create_task(other(log));
  EXPECT_EQ(loop_->run_until_complete(p), 5);
  loop_->run_until_complete(o);
  // Inline: no trip through the loop, so "other" cannot run in between.
  EXPECT_EQ(log, (std::vector<std::string>{"parent-before", "child", "parent-after", "other"}));
}

TEST_F(Tasks, ResultsAndExceptionsPropagateThroughAwaits) {
  EXPECT_EQ(run(add_one(add_one(forty_two()))), 44);
  try {
    run(add_one(add_one(thrower("deep"))));
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "deep");
  }
  // The same through a separately scheduled task.
  auto via_task = []() -> Task<int> {
    Task<int> t = get_running_loop().create_task(thrower("scheduled"));
    try {
      co_await t;
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what()) == "scheduled" ? 1 : 2;
    }
    co_return 3;
  };
  EXPECT_EQ(run(via_task()), 1);
  EXPECT_TRUE(reports_.empty());
}

TEST_F(Tasks, SeveralTasksAwaitOneTask) {
  Future<int> gate = loop_->create_future<int>();
  Task<int> shared = loop_->create_task(wait_on(gate));
  std::vector<Task<int>> waiters;
  for (int i = 0; i < 5; ++i) waiters.push_back(loop_->create_task(add_one(shared)));
  loop_->call_soon([gate]() mutable { gate.set_result(10); });
  for (auto& w : waiters) EXPECT_EQ(run(w), 11);
  EXPECT_EQ(run(add_one(shared)), 11);  // already done: the result at once
}

TEST_F(Tasks, UnretrievedTaskExceptionIsReportedWhenTheTaskIsDestroyed) {
  {
    Task<int> t = loop_->create_task(thrower("nobody looked"));
    t.add_done_callback([this] { loop_->stop(); });  // does not retrieve it
    loop_->run_forever();
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(reports_.empty()) << "reported while still referenced";
  }
  run_once();  // in case the report is scheduled rather than immediate
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Task exception was never retrieved");  // asyncio's words
  try {
    std::rethrow_exception(reports_[0].exception);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "nobody looked");
  } catch (...) {
    ADD_FAILURE() << "wrong exception in the report";
  }
}

TEST_F(Tasks, RetrievedTaskExceptionIsNotReported) {
  {
    Task<int> t = loop_->create_task(thrower("seen"));
    EXPECT_THROW(loop_->run_until_complete(t), std::runtime_error);
    Task<int> u = loop_->create_task(thrower("seen too"));
    u.add_done_callback([this] { loop_->stop(); });
    loop_->run_forever();
    EXPECT_NE(u.exception(), nullptr);
  }
  run_once();
  EXPECT_TRUE(reports_.empty()) << reports_.front().message;
}

TEST_F(Tasks, ClosingTheLoopDestroysTheFramesOfUnfinishedTasks) {
  auto token = std::make_shared<int>(0);
  auto body = [](std::shared_ptr<int> held, Future<int> f) -> Task<int> {
    (void)held;
    co_return co_await f;
  };
  {
    Task<int> t = loop_->create_task(body(token, loop_->create_future<int>()));
    run_once();
    EXPECT_EQ(token.use_count(), 2);
  }
  loop_->close();
  EXPECT_EQ(token.use_count(), 1) << "the suspended coroutine frame was not destroyed";
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Task was destroyed but it is pending!");  // asyncio's words
}

TEST_F(Tasks, AllTasksListsThePendingTasksOfTheLoop) {
  Future<int> gate = loop_->create_future<int>();
  auto body = [](Future<int> gate) -> Task<int> {
    EventLoop& loop = get_running_loop();
    auto contains = [](const std::vector<Task<void>>& all, const AnyFuture& t) {
      return std::any_of(all.begin(), all.end(),
                         [t](const Task<void>& x) { return AnyFuture(x) == t; });
    };
    Task<int> blocked = loop.create_task(wait_on(gate));
    Task<int> quick = loop.create_task(forty_two());
    auto all = loop.all_tasks();
    EXPECT_EQ(all.size(), 3u);
    EXPECT_TRUE(contains(all, current_task()));
    EXPECT_TRUE(contains(all, blocked));
    EXPECT_TRUE(contains(all, quick));
    co_await quick;
    all = loop.all_tasks();
    EXPECT_FALSE(contains(all, quick)) << "a done task is not listed";
    EXPECT_TRUE(contains(all, blocked));
    gate.set_result(1);
    co_await blocked;
    all = loop.all_tasks();
    EXPECT_EQ(all.size(), 1u);
    co_return 0;
  };
  loop_->run_until_complete(body(gate));
  EXPECT_TRUE(loop_->all_tasks().empty());
}

TEST_F(Tasks, TaskFactoryIsCalledByCreateTask) {
  EXPECT_FALSE(loop_->get_task_factory());
  int calls = 0;
  loop_->set_task_factory([&](EventLoop& loop, Task<void>& task) {
    EXPECT_EQ(&loop, loop_.get());
    task.set_name("from-factory-" + std::to_string(++calls));
  });
  EXPECT_TRUE(loop_->get_task_factory());
  Task<int> t = loop_->create_task(forty_two());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(t.get_name(), "from-factory-1");
  EXPECT_EQ(loop_->run_until_complete(t), 42);
  loop_->set_task_factory(nullptr);
  EXPECT_FALSE(loop_->get_task_factory());
  EXPECT_EQ(loop_->run_until_complete(loop_->create_task(forty_two())), 42);
  EXPECT_EQ(calls, 1);
}

TEST_F(Tasks, YieldNowLetsOtherTasksRun) {
  std::vector<std::string> log;
  auto worker = [](std::string name, std::vector<std::string>& log) -> Task<int> {
    for (int i = 0; i < 3; ++i) {
      log.push_back(name + std::to_string(i));
      co_await yield_now();
    }
    co_return 0;
  };
  Task<int> a = loop_->create_task(worker("a", log));
  Task<int> b = loop_->create_task(worker("b", log));
  loop_->run_until_complete(a);
  loop_->run_until_complete(b);
  EXPECT_EQ(log, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST_F(Tasks, ATaskAwaitingItselfGetsRuntimeError) {
  auto body = [](const Task<int>* self) -> Task<int> {
    co_await yield_now();
    try {
      co_await *self;
    } catch (const RuntimeError&) {
      co_return -1;
    }
    co_return 0;
  };
  Task<int> t;
  t = loop_->create_task(body(&t));
  EXPECT_EQ(run(t, 2.0), -1);
}

Task<int> depth(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}

Task<int> many_awaits(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await forty_two() - 41;
  co_return sum;
}

TEST_F(Tasks, DeepChainsAndLongLoopsOfInlineAwaits) {
  EXPECT_EQ(run(depth(2000)), 2000);
  EXPECT_EQ(run(many_awaits(10000)), 10000);
}

// Symmetric transfer keeps the stack flat only when the compiler turns it into
// a tail call: GCC does so when optimizing, but not at -O0 or under ASan.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIOCPP_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(AIOCPP_TEST_ASAN) || !defined(__OPTIMIZE__)
constexpr bool symmetric_transfer_is_a_tail_call = false;
#else
constexpr bool symmetric_transfer_is_a_tail_call = true;
#endif

TEST_F(Tasks, VeryDeepChainsOfInlineAwaitsDoNotGrowTheStack) {
  if (!symmetric_transfer_is_a_tail_call) {
    GTEST_SKIP() << "the compiler does not make symmetric transfer a tail call in this build "
                    "(unoptimized or ASan)";
  }
  EXPECT_EQ(run(depth(100000)), 100000);
  EXPECT_EQ(run(many_awaits(1000000)), 1000000);
}

}  // namespace

namespace {

TEST(CurrentTask, IsTheTaskRunningNowAndEmptyOutsideTasks) {
  EXPECT_THROW((void)current_task(), RuntimeError) << "no running loop (asyncio 3.11)";
  auto body = []() -> Task<int> {
    Task<void> me = current_task();
    EXPECT_TRUE(me.valid());
    EXPECT_FALSE(me.done());
    // A coroutine awaited inline runs inside the same task.
    // (Compared inside: a task whose result held itself would never be freed.)
    auto inner = [](AnyFuture me) -> Task<bool> { co_return AnyFuture(current_task()) == me; };
    EXPECT_TRUE(co_await inner(me));
    // A task of its own is another task.
    auto other = [](AnyFuture me) -> Task<bool> { co_return AnyFuture(current_task()) == me; };
    EXPECT_FALSE(co_await get_running_loop().create_task(other(me)));
    co_return 0;
  };
  EXPECT_EQ(aiocpp::run(body()), 0);
}

}  // namespace
