// Future<T>: asyncio.Future's states, errors, done callbacks and the
// "exception was never retrieved" report.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Futures : public aiocpp::testing::LoopTest {
 protected:
  Futures() { record_reports(); }
};

std::string what_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "?";
  }
}

TEST_F(Futures, NewFutureIsPending) {
  Future<int> f = loop_->create_future<int>();
  EXPECT_TRUE(f.valid());
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(&f.get_loop(), loop_.get());
  EXPECT_THROW(f.result(), InvalidStateError);
  EXPECT_THROW(f.exception(), InvalidStateError);
}

TEST_F(Futures, SetResult) {
  Future<int> f = loop_->create_future<int>();
  f.set_result(5);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), 5);
  EXPECT_EQ(f.exception(), nullptr);
  Future<int> copy = f;  // copies share the state, as Python references do
  EXPECT_EQ(copy.result(), 5);

  Future<void> v = loop_->create_future();
  v.set_result();
  EXPECT_TRUE(v.done());
  EXPECT_NO_THROW(v.result());
}

TEST_F(Futures, ResultsThatCannotBeCopiedOrDefaultConstructed) {
  struct NoDefault {
    explicit NoDefault(int v) : value(v) {}
    int value;
  };
  Future<std::unique_ptr<int>> f = loop_->create_future<std::unique_ptr<int>>();
  f.set_result(std::make_unique<int>(7));
  std::unique_ptr<int> taken = std::move(f.result());
  EXPECT_EQ(*taken, 7);
  Future<NoDefault> g = loop_->create_future<NoDefault>();
  g.set_result(NoDefault(3));
  EXPECT_EQ(g.result().value, 3);
}

TEST_F(Futures, CompletingTwiceThrowsInvalidStateError) {
  Future<int> f = loop_->create_future<int>();
  f.set_result(1);
  EXPECT_THROW(f.set_result(2), InvalidStateError);
  EXPECT_THROW(f.set_exception(std::runtime_error("x")), InvalidStateError);
  EXPECT_EQ(f.result(), 1);

  Future<int> g = loop_->create_future<int>();
  g.set_exception(std::runtime_error("first"));
  EXPECT_THROW(g.set_result(2), InvalidStateError);
  EXPECT_EQ(what_of(g.exception()), "first");

  Future<int> h = loop_->create_future<int>();
  EXPECT_TRUE(h.cancel());
  EXPECT_THROW(h.set_result(2), InvalidStateError);
  EXPECT_THROW(h.set_exception(std::runtime_error("x")), InvalidStateError);
}

TEST_F(Futures, SetExceptionIsRethrownByResult) {
  Future<int> f = loop_->create_future<int>();
  f.set_exception(std::runtime_error("boom"));
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  try {
    f.result();
    ADD_FAILURE() << "result() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_EQ(what_of(f.exception()), "boom");
}

TEST_F(Futures, CancelCarriesItsMessage) {
  Future<int> f = loop_->create_future<int>();
  EXPECT_TRUE(f.cancel("bye"));
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(f.cancel("again"));
  try {
    f.result();
    ADD_FAILURE() << "result() did not throw";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "bye");
  }
  // exception() of a cancelled future raises CancelledError too (asyncio).
  EXPECT_THROW(f.exception(), CancelledError);

  Future<int> done = loop_->create_future<int>();
  done.set_result(1);
  EXPECT_FALSE(done.cancel());
  EXPECT_FALSE(done.cancelled());
}

TEST_F(Futures, DoneCallbacksAreScheduledNotCalledSynchronously) {
  Future<int> f = loop_->create_future<int>();
  int calls = 0;
  int seen = 0;
  f.add_done_callback([&](Future<int>& done) {
    ++calls;
    seen = done.result();
  });
  f.set_result(9);
  EXPECT_EQ(calls, 0) << "the callback ran on the stack of set_result";
  run_once();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, 9);
  run_once();
  EXPECT_EQ(calls, 1);
}

TEST_F(Futures, CallbackAddedToADoneFutureIsScheduledToo) {
  Future<int> f = loop_->create_future<int>();
  f.set_result(1);
  int calls = 0;
  f.add_done_callback([&] { ++calls; });
  EXPECT_EQ(calls, 0) << "add_done_callback called the callback synchronously";
  run_once();
  EXPECT_EQ(calls, 1);
}

TEST_F(Futures, CallbacksRunInRegistrationOrder) {
  Future<void> f = loop_->create_future();
  std::vector<int> order;
  for (int i = 0; i < 6; ++i) f.add_done_callback([&order, i] { order.push_back(i); });
  f.set_result();
  run_once();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_F(Futures, CancelRunsTheCallbacks) {
  Future<int> f = loop_->create_future<int>();
  bool saw_cancelled = false;
  f.add_done_callback([&](Future<int>& done) { saw_cancelled = done.cancelled(); });
  f.cancel();
  run_once();
  EXPECT_TRUE(saw_cancelled);
}

TEST_F(Futures, RemoveDoneCallbackReturnsHowManyWereRemoved) {
  Future<int> f = loop_->create_future<int>();
  std::vector<std::string> ran;
  auto a = f.add_done_callback([&] { ran.push_back("a"); });
  auto b = f.add_done_callback([&] { ran.push_back("b"); });
  auto c = f.add_done_callback([&] { ran.push_back("c"); });
  EXPECT_EQ(f.remove_done_callback(b), 1u);
  EXPECT_EQ(f.remove_done_callback(b), 0u);
  EXPECT_EQ(f.remove_done_callback(a), 1u);
  f.add_done_callback([&] { ran.push_back("d"); });
  f.set_result(1);
  // Once done, the callbacks are already scheduled: nothing left to remove.
  EXPECT_EQ(f.remove_done_callback(c), 0u);
  run_once();
  EXPECT_EQ(ran, (std::vector<std::string>{"c", "d"}));
}

Task<int> doubled(Future<int> f) { co_return 2 * co_await f; }

TEST_F(Futures, ATaskAwaitsAFuture) {
  Future<int> f = loop_->create_future<int>();
  loop_->call_later(0.01, [f]() mutable { f.set_result(21); });
  EXPECT_EQ(run(doubled(f)), 42);
}

TEST_F(Futures, AFutureExceptionIsThrownAtTheAwait) {
  Future<int> f = loop_->create_future<int>();
  loop_->call_soon([f]() mutable { f.set_exception(std::runtime_error("failed")); });
  auto catcher = [](Future<int> f) -> Task<std::string> {
    try {
      co_await f;
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(run(catcher(f)), "failed");
  EXPECT_TRUE(reports_.empty());
}

TEST_F(Futures, AwaitingACancelledFutureCancelsTheTask) {
  Future<int> f = loop_->create_future<int>();
  Task<int> t = loop_->create_task(doubled(f));
  loop_->call_soon([f]() mutable { f.cancel("stop it"); });
  try {
    loop_->run_until_complete(t);
    ADD_FAILURE() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "stop it");
  }
  EXPECT_TRUE(t.cancelled());
}

TEST_F(Futures, ExceptionNeverRetrievedIsReportedWhenTheFutureIsDestroyed) {
  {
    Future<int> f = loop_->create_future<int>();
    f.set_exception(std::runtime_error("lost"));
  }
  run_once();  // in case the report is scheduled rather than immediate
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Future exception was never retrieved");  // asyncio's words
  EXPECT_EQ(what_of(reports_[0].exception), "lost");
}

TEST_F(Futures, RetrievedOrCancelledFuturesAreNotReported) {
  {
    Future<int> by_result = loop_->create_future<int>();
    by_result.set_exception(std::runtime_error("a"));
    EXPECT_THROW(by_result.result(), std::runtime_error);
    Future<int> by_exception = loop_->create_future<int>();
    by_exception.set_exception(std::runtime_error("b"));
    EXPECT_NE(by_exception.exception(), nullptr);
    Future<int> cancelled = loop_->create_future<int>();
    cancelled.cancel();
    Future<int> never_done = loop_->create_future<int>();
    Future<int> awaited = loop_->create_future<int>();
    awaited.set_exception(std::runtime_error("c"));
    EXPECT_THROW(run(doubled(awaited)), std::runtime_error);
  }
  run_once();
  EXPECT_TRUE(reports_.empty()) << reports_.front().message;
}

}  // namespace
