// The loop's exception handling (set_exception_handler, call_exception_handler,
// the default handler and its logger) and debug mode's slow-callback log.

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void busy_wait(double seconds) {
  double deadline = now() + seconds;
  while (now() < deadline) {
  }
}

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (const CancelledError&) {
    return "CancelledError";
  } catch (int i) {
    return "int " + std::to_string(i);
  } catch (...) {
    return "?";
  }
}

// Captures aiocpp's log while alive; restores the default (stderr) after.
class LogCapture {
 public:
  LogCapture() {
    set_logger([this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { set_logger(nullptr); }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool contains(std::string_view text) {
    for (auto& l : lines()) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string all() {
    std::string s;
    for (auto& l : lines()) s += l + "\n";
    return s;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class LoopExceptions : public ::testing::Test {
 protected:
  aiocpp::testing::FdLeakCheck fd_check_;  // declared first: checks after the loop is gone
  LogCapture log_;
  std::shared_ptr<EventLoop> loop_ = new_event_loop();
  std::vector<ExceptionContext> reports_;

  ~LoopExceptions() override {
    reports_.clear();
    if (!loop_->is_closed()) loop_->close();
  }

  void record_reports() {
    loop_->set_exception_handler([this](EventLoop& loop, const ExceptionContext& c) {
      EXPECT_EQ(&loop, loop_.get());
      reports_.push_back(c);
    });
  }

  void run_until_stopped(double timeout = 10.0) {
    bool expired = false;
    TimerHandle watchdog = loop_->call_later(timeout, [this, &expired] {
      expired = true;
      loop_->stop();
    });
    loop_->run_forever();
    watchdog.cancel();
    EXPECT_FALSE(expired) << "the loop was not stopped within " << timeout << " s";
  }
};

TEST_F(LoopExceptions, ExceptionHandlerAccessors) {
  EXPECT_FALSE(loop_->get_exception_handler());
  record_reports();
  EXPECT_TRUE(loop_->get_exception_handler());
  loop_->set_exception_handler(nullptr);
  EXPECT_FALSE(loop_->get_exception_handler());
}

TEST_F(LoopExceptions, CallExceptionHandlerCallsTheCustomHandler) {
  record_reports();
  loop_->call_exception_handler(
      {.message = "custom", .exception = std::make_exception_ptr(std::runtime_error("why"))});
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "custom");
  EXPECT_EQ(what_of(reports_[0].exception), "why");
  EXPECT_TRUE(log_.lines().empty()) << log_.all();
}

TEST_F(LoopExceptions, DefaultHandlerLogsMessageAndExceptionThroughTheLogger) {
  loop_->call_exception_handler(
      {.message = "something broke",
       .exception = std::make_exception_ptr(std::runtime_error("the cause"))});
  EXPECT_TRUE(log_.contains("something broke")) << log_.all();
  EXPECT_TRUE(log_.contains("the cause")) << log_.all();
}

TEST_F(LoopExceptions, ACustomHandlerCanDelegateToTheDefaultHandler) {
  int calls = 0;
  loop_->set_exception_handler([&](EventLoop& loop, const ExceptionContext& c) {
    ++calls;
    loop.default_exception_handler(c);
  });
  loop_->call_exception_handler({.message = "delegated"});
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(log_.contains("delegated")) << log_.all();
}

TEST_F(LoopExceptions, ExceptionFromACallbackReachesTheHandlerAndTheLoopGoesOn) {
  record_reports();
  std::vector<std::string> ran;
  Handle failing = loop_->call_soon([] { throw std::runtime_error("callback failed"); });
  loop_->call_soon([&] { ran.push_back("same iteration"); });
  loop_->call_soon([] { throw 42; });
  loop_->call_soon([] { throw CancelledError("from a callback"); });
  loop_->call_later(0.001, [] { throw std::logic_error("timer failed"); });
  loop_->call_later(0.002, [&] {
    ran.push_back("later");
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_EQ(ran, (std::vector<std::string>{"same iteration", "later"}));
  ASSERT_EQ(reports_.size(), 4u);
  EXPECT_EQ(what_of(reports_[0].exception), "callback failed");
  EXPECT_FALSE(reports_[0].message.empty());
  EXPECT_TRUE(reports_[0].handle == failing) << "the context names the handle";
  EXPECT_EQ(what_of(reports_[1].exception), "int 42");
  EXPECT_EQ(what_of(reports_[2].exception), "CancelledError");
  EXPECT_EQ(what_of(reports_[3].exception), "timer failed");
  for (auto& r : reports_) EXPECT_TRUE(r.handle);
  EXPECT_TRUE(log_.lines().empty()) << log_.all();
}

TEST_F(LoopExceptions, ExceptionFromADoneCallbackReachesTheHandler) {
  record_reports();
  Future<int> f = loop_->create_future<int>();
  bool second_ran = false;
  f.add_done_callback([] { throw std::runtime_error("done callback failed"); });
  f.add_done_callback([&] { second_ran = true; });
  f.set_result(1);
  loop_->call_soon([this] { loop_->call_soon([this] { loop_->stop(); }); });
  run_until_stopped();
  EXPECT_TRUE(second_ran);
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(what_of(reports_[0].exception), "done callback failed");
}

TEST_F(LoopExceptions, UncaughtCallbackExceptionIsLoggedByDefault) {
  loop_->call_soon([] { throw std::runtime_error("nobody handles this"); });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_TRUE(log_.contains("nobody handles this")) << log_.all();
}

TEST_F(LoopExceptions, AHandlerThatThrowsDoesNotKillTheLoop) {
  int handler_calls = 0;
  loop_->set_exception_handler([&](EventLoop&, const ExceptionContext&) {
    ++handler_calls;
    throw std::runtime_error("handler failed");
  });
  // Directly: call_exception_handler is noexcept and must absorb it.
  loop_->call_exception_handler({.message = "direct"});
  EXPECT_EQ(handler_calls, 1);
  EXPECT_FALSE(log_.lines().empty()) << "the handler's failure was not logged";

  bool after = false;
  loop_->call_soon([] { throw std::runtime_error("callback failed"); });
  loop_->call_soon([&] { after = true; });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_EQ(handler_calls, 2);
  EXPECT_TRUE(after);
}

TEST_F(LoopExceptions, DebugModeAccessors) {
  EXPECT_FALSE(loop_->get_debug());
  loop_->set_debug(true);
  EXPECT_TRUE(loop_->get_debug());
  loop_->set_debug(false);
  EXPECT_FALSE(loop_->get_debug());
  EXPECT_DOUBLE_EQ(loop_->slow_callback_duration(), 0.1);  // asyncio's default
  loop_->set_slow_callback_duration(0.01);
  EXPECT_DOUBLE_EQ(loop_->slow_callback_duration(), 0.01);
}

TEST_F(LoopExceptions, DebugModeLogsASlowCallback) {
  loop_->set_debug(true);
  loop_->set_slow_callback_duration(0.01);
  loop_->call_soon([] { busy_wait(0.05); });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  auto lines = log_.lines();
  ASSERT_EQ(lines.size(), 1u) << log_.all();
  EXPECT_NE(lines[0].find("took"), std::string::npos) << lines[0];
}

TEST_F(LoopExceptions, FastCallbacksAndNonDebugLoopsLogNothing) {
  loop_->set_debug(true);
  loop_->set_slow_callback_duration(1.0);
  loop_->call_soon([] { busy_wait(0.02); });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_TRUE(log_.lines().empty()) << log_.all();

  loop_->set_debug(false);
  loop_->set_slow_callback_duration(0.001);
  loop_->call_soon([] { busy_wait(0.02); });
  loop_->call_soon([this] { loop_->stop(); });
  run_until_stopped();
  EXPECT_TRUE(log_.lines().empty()) << log_.all();
}

TEST_F(LoopExceptions, SlowTimerCallbackIsLoggedToo) {
  loop_->set_debug(true);
  loop_->set_slow_callback_duration(0.01);
  loop_->call_later(0.001, [this] {
    busy_wait(0.03);
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_TRUE(log_.contains("took")) << log_.all();
}

}  // namespace
