// add_signal_handler / remove_signal_handler, and Ctrl-C in aiocpp::run.

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::testing::LoopTest;

using SignalAction = void (*)(int);

SignalAction current_action(int sig) {
  struct sigaction action {};
  sigaction(sig, nullptr, &action);
  return action.sa_handler;
}

class Signals : public LoopTest {};

TEST_F(Signals, HandlerRunsOnTheLoopThreadWithItsArguments) {
  Future<int> got = loop_->create_future<int>();
  std::thread::id ran_on;
  auto on_signal = [&ran_on, got](int tag) mutable {
    ran_on = std::this_thread::get_id();
    if (!got.done()) got.set_result(tag);
  };
  loop_->add_signal_handler(SIGUSR1, on_signal, 42);
  // From another thread: the relay must still bring it to the loop's thread.
  std::thread sender([] { kill(getpid(), SIGUSR1); });
  sender.join();
  auto wait = [](Future<int> f) -> Task<int> { co_return co_await f; };
  EXPECT_EQ(run(wait(got)), 42);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(loop_->remove_signal_handler(SIGUSR1));
}

TEST_F(Signals, ASignalThatArrivesWhileTheLoopIsStoppedIsDeliveredWhenItRuns) {
  int calls = 0;
  auto count = [&calls] { ++calls; };
  loop_->add_signal_handler(SIGUSR1, count);
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_EQ(calls, 0) << "handlers never run inside the signal handler";
  for (int i = 0; i < 3 && calls == 0; ++i) run_once();
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(raise(SIGUSR1), 0);
  for (int i = 0; i < 3 && calls < 3; ++i) run_once();
  EXPECT_EQ(calls, 3) << "once per arrival";
}

TEST_F(Signals, RemoveRestoresThePreviousActionAndSaysWhetherOneWasSet) {
  SignalAction before = current_action(SIGUSR2);
  loop_->add_signal_handler(SIGUSR2, [] {});
  EXPECT_NE(current_action(SIGUSR2), before);
  EXPECT_TRUE(loop_->remove_signal_handler(SIGUSR2));
  EXPECT_EQ(current_action(SIGUSR2), before);
  EXPECT_FALSE(loop_->remove_signal_handler(SIGUSR2));
}

TEST_F(Signals, ClosingTheLoopRestoresEveryAction) {
  SignalAction before = current_action(SIGUSR2);
  loop_->add_signal_handler(SIGUSR2, [] {});
  loop_->add_signal_handler(SIGUSR1, [] {});
  loop_->close();
  EXPECT_EQ(current_action(SIGUSR2), before);
  EXPECT_EQ(current_action(SIGUSR1), SIG_DFL);
}

TEST_F(Signals, SigkillAndSigstopCannotBeCaught) {
  for (int sig : {SIGKILL, SIGSTOP}) {
    try {
      loop_->add_signal_handler(sig, [] {});
      ADD_FAILURE() << "accepted signal " << sig;
    } catch (const RuntimeError& e) {
      EXPECT_EQ(std::string(e.what()), "sig " + std::to_string(sig) + " cannot be caught");
    }
  }
  EXPECT_FALSE(loop_->remove_signal_handler(SIGKILL));
}

TEST_F(Signals, NumbersOutOfRangeAreValueErrors) {
  for (int sig : {0, -1, NSIG}) {
    try {
      loop_->add_signal_handler(sig, [] {});
      ADD_FAILURE() << "accepted signal " << sig;
    } catch (const ValueError& e) {
      EXPECT_EQ(std::string(e.what()),
                "sig " + std::to_string(sig) + " out of range(1, " + std::to_string(NSIG) + ")");
    }
    EXPECT_THROW(loop_->remove_signal_handler(sig), ValueError);
  }
}

TEST_F(Signals, ASecondHandlerReplacesTheFirst) {
  std::vector<int> seen;
  loop_->add_signal_handler(SIGUSR1, [&seen] { seen.push_back(1); });
  loop_->add_signal_handler(SIGUSR1, [&seen] { seen.push_back(2); });
  ASSERT_EQ(raise(SIGUSR1), 0);
  for (int i = 0; i < 3 && seen.empty(); ++i) run_once();
  EXPECT_EQ(seen, std::vector<int>{2});
}

TEST_F(Signals, AHandlerThatThrowsReachesTheExceptionHandlerAndStaysInstalled) {
  record_reports();
  int calls = 0;
  loop_->add_signal_handler(SIGUSR1, [&calls] {
    ++calls;
    throw std::runtime_error("handler failed");
  });
  ASSERT_EQ(raise(SIGUSR1), 0);
  for (int i = 0; i < 3 && calls == 0; ++i) run_once();
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Exception in callback");
  ASSERT_EQ(raise(SIGUSR1), 0);
  for (int i = 0; i < 3 && calls == 1; ++i) run_once();
  EXPECT_EQ(calls, 2);
}

TEST_F(Signals, AHandlerMayRemoveItself) {
  int calls = 0;
  loop_->add_signal_handler(SIGUSR1, [this, &calls] {
    ++calls;
    EXPECT_TRUE(loop_->remove_signal_handler(SIGUSR1));
  });
  ASSERT_EQ(raise(SIGUSR1), 0);
  for (int i = 0; i < 3 && calls == 0; ++i) run_once();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(current_action(SIGUSR1), SIG_DFL);
}

TEST(RunAndCtrlC, SigintCancelsTheMainTaskAndRunThrowsKeyboardInterrupt) {
  aiocpp::testing::FdLeakCheck fds;
  ASSERT_EQ(current_action(SIGINT), SIG_DFL);
  auto main_task = []() -> Task<void> {
    kill(getpid(), SIGINT);
    co_await aiocpp::sleep(30);  // cancelled long before
  };
  EXPECT_THROW(aiocpp::run(main_task()), KeyboardInterrupt);
  EXPECT_EQ(current_action(SIGINT), SIG_DFL) << "the default action is back";
}

// Runs `body` in a child process bounded by an alarm and returns its wait status.
template <class Body>
int status_of_child(Body body) {
  std::fflush(nullptr);  // or the child's exit would print the parent's buffered output again
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);  // a child that hangs dies of SIGALRM, which fails the test
    body();
    _exit(0);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

// The program `int main() { aiocpp::run(amain()); }` interrupted by Ctrl-C:
// KeyboardInterrupt escapes main (here, a noexcept function stands in for
// main, out of GoogleTest's reach) and the process ends as CPython's does,
// killed by SIGINT (status 130 in the shell), not aborted by terminate.
TEST(RunAndCtrlC, AKeyboardInterruptThatEscapesEndsTheProcessBySigint) {
  ASSERT_EQ(current_action(SIGINT), SIG_DFL);
  int status = status_of_child([]() noexcept {
    auto main_task = []() -> Task<void> {
      kill(getpid(), SIGINT);
      co_await aiocpp::sleep(30);  // cancelled long before
    };
    aiocpp::run(main_task());
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGINT) << strsignal(WTERMSIG(status));
}

// Any other exception that escapes still ends in the previous terminate
// handler: std::abort.
TEST(RunAndCtrlC, AnotherExceptionThatEscapesStillAborts) {
  int status = status_of_child([]() noexcept {
    auto main_task = []() -> Task<void> {
      throw std::runtime_error("escapes");
      co_return;
    };
    aiocpp::run(main_task());
  });
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGABRT) << strsignal(WTERMSIG(status));
}

TEST(RunAndCtrlC, AMainTaskThatHandlesTheCancellationReturnsItsResult) {
  auto main_task = []() -> Task<int> {
    kill(getpid(), SIGINT);
    try {
      co_await aiocpp::sleep(30);
    } catch (const CancelledError&) {
      co_return 7;
    }
    co_return 0;
  };
  EXPECT_EQ(aiocpp::run(main_task()), 7);
  EXPECT_EQ(current_action(SIGINT), SIG_DFL);
}

TEST(RunAndCtrlC, AProgramsOwnSigintHandlerIsLeftAlone) {
  static volatile sig_atomic_t hits;
  hits = 0;
  struct sigaction mine {
  }, previous{};
  mine.sa_handler = [](int) { hits = hits + 1; };
  sigaction(SIGINT, &mine, &previous);
  auto main_task = []() -> Task<int> {
    kill(getpid(), SIGINT);
    co_return 1;
  };
  EXPECT_EQ(aiocpp::run(main_task()), 1);
  EXPECT_EQ(hits, 1);
  sigaction(SIGINT, &previous, nullptr);
}

}  // namespace
