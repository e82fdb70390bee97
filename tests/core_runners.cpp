// aiocpp::run (asyncio.run): result, exception, nesting, leftover tasks,
// and the loop's tear-down; aiocpp::Runner (asyncio.Runner): several
// coroutines on one loop, close() and the destructor, loop_factory, debug,
// Ctrl-C in each run.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Runners : public ::testing::Test {
 protected:
  aiocpp::testing::FdLeakCheck fd_check_;
};

Task<int> forty_two() { co_return 42; }
Task<void> nothing() { co_await yield_now(); }
Task<int> thrower(std::string what) {
  co_await yield_now();
  throw std::runtime_error(what);
}

// Waits until cancelled; records it.
Task<int> wait_forever(bool& cancelled) {
  Future<int> never = get_running_loop().create_future<int>();
  try {
    co_await never;
  } catch (const CancelledError&) {
    cancelled = true;
    throw;
  }
  co_return 0;
}

TEST_F(Runners, RunReturnsTheValue) {
  EXPECT_EQ(aiocpp::run(forty_two()), 42);
  EXPECT_NO_THROW(aiocpp::run(nothing()));
  auto text = []() -> Task<std::string> {
    co_await aiocpp::sleep(0.001);
    co_return "done";
  };
  EXPECT_EQ(aiocpp::run(text()), "done");
}

TEST_F(Runners, RunPropagatesTheException) {
  try {
    aiocpp::run(thrower("main failed"));
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "main failed");
  }
}

TEST_F(Runners, TheLoopRunsOnlyDuringRun) {
  EXPECT_THROW(get_running_loop(), RuntimeError);
  auto body = []() -> Task<int> {
    EventLoop& loop = get_running_loop();
    EXPECT_TRUE(loop.is_running());
    EXPECT_EQ(&get_event_loop(), &loop);
    co_return 0;
  };
  aiocpp::run(body());
  EXPECT_THROW(get_running_loop(), RuntimeError);
}

TEST_F(Runners, RunInsideARunningLoopThrowsRuntimeError) {
  auto body = []() -> Task<int> {
    EXPECT_THROW(aiocpp::run(forty_two()), RuntimeError);
    co_return 1;
  };
  EXPECT_EQ(aiocpp::run(body()), 1);

  auto loop = new_event_loop();
  bool threw = false;
  loop->call_soon([&] {
    try {
      aiocpp::run(forty_two());
    } catch (const RuntimeError&) {
      threw = true;
    }
    loop->stop();
  });
  loop->run_forever();
  loop->close();
  EXPECT_TRUE(threw);
}

TEST_F(Runners, LeftoverTasksAreCancelledWhenMainReturns) {
  bool a_cancelled = false;
  bool b_cancelled = false;
  auto body = [](bool& a, bool& b) -> Task<int> {
    EventLoop& loop = get_running_loop();
    (void)loop.create_task(wait_forever(a));
    auto sleeper = [](bool& cancelled) -> Task<int> {
      try {
        co_await aiocpp::sleep(60);
      } catch (const CancelledError&) {
        cancelled = true;
        throw;
      }
      co_return 0;
    };
    (void)loop.create_task(sleeper(b));
    co_await yield_now();
    co_return 5;
  };
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(aiocpp::run(body(a_cancelled, b_cancelled)), 5);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(a_cancelled);
  EXPECT_TRUE(b_cancelled);
}

TEST_F(Runners, LeftoverTasksAreCancelledWhenMainFails) {
  bool cancelled = false;
  auto body = [](bool& cancelled) -> Task<int> {
    (void)get_running_loop().create_task(wait_forever(cancelled));
    co_await yield_now();
    throw std::runtime_error("main failed");
  };
  EXPECT_THROW(aiocpp::run(body(cancelled)), std::runtime_error);
  EXPECT_TRUE(cancelled);
}

TEST_F(Runners, ALeftoverTaskThatFailsWhileCancelledIsReported) {
  std::vector<std::string> reported;  // what() of each reported exception
  auto body = [](std::vector<std::string>& reported) -> Task<int> {
    EventLoop& loop = get_running_loop();
    loop.set_exception_handler([&reported](EventLoop&, const ExceptionContext& c) {
      try {
        std::rethrow_exception(c.exception);
      } catch (const std::exception& e) {
        reported.push_back(e.what());
      } catch (...) {
        reported.push_back("?");
      }
    });
    auto stubborn = []() -> Task<int> {
      Future<int> never = get_running_loop().create_future<int>();
      bool cancelled = false;
      try {
        co_await never;
      } catch (const CancelledError&) {
        cancelled = true;
      }
      if (cancelled) throw std::runtime_error("failed during shutdown");
      co_return 0;
    };
    (void)loop.create_task(stubborn());
    co_await yield_now();
    co_return 0;
  };
  aiocpp::run(body(reported));
  EXPECT_EQ(reported, (std::vector<std::string>{"failed during shutdown"}));
}

TEST_F(Runners, DebugOptionEnablesDebugMode) {
  auto debug_of = []() -> Task<bool> { co_return get_running_loop().get_debug(); };
  EXPECT_TRUE(aiocpp::run(debug_of(), {.debug = true}));
  EXPECT_FALSE(aiocpp::run(debug_of()));
}

TEST_F(Runners, RunDoesNotWaitForPendingTimers) {
  auto body = []() -> Task<int> {
    get_running_loop().call_later(60, [] { ADD_FAILURE() << "a timer outlived run()"; });
    co_return 0;
  };
  auto start = std::chrono::steady_clock::now();
  aiocpp::run(body());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(Runners, RunCanBeCalledAgainAfterwards) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(aiocpp::run(forty_two()), 42);
}

TEST_F(Runners, TheLoopIsClosedAfterRun) {
  // aiocpp::run is start_run, run_until_complete, finish_run; the loop it
  // owns is gone afterwards, so look at it through the same steps.
  std::shared_ptr<EventLoop> loop = detail::start_run({});
  EXPECT_EQ(&get_event_loop(), loop.get());
  bool cancelled = false;
  Task<int> leftover = loop->create_task(wait_forever(cancelled));
  EXPECT_EQ(loop->run_until_complete(forty_two()), 42);
  detail::finish_run(*loop);
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(leftover.cancelled());
  EXPECT_TRUE(loop->is_closed());
  EXPECT_FALSE(loop->is_running());
  EXPECT_THROW(loop->call_soon([] {}), RuntimeError);
}

TEST_F(Runners, ACancelledMainTaskMakesRunThrowCancelledError) {
  auto body = []() -> Task<int> {
    detail::TaskBase::current()->cancel("main cancelled");
    co_await yield_now();
    co_return 0;
  };
  try {
    aiocpp::run(body());
    ADD_FAILURE() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "main cancelled");
  }
}

TEST_F(Runners, CleanShutdownReportsNothing) {
  std::vector<std::string> reports;
  bool leftover_cancelled = false;
  auto body = [](std::vector<std::string>& reports, bool& leftover_cancelled) -> Task<int> {
    EventLoop& loop = get_running_loop();
    loop.set_exception_handler(
        [&reports](EventLoop&, const ExceptionContext& c) { reports.push_back(c.message); });
    (void)loop.create_task(wait_forever(leftover_cancelled));
    (void)loop.create_task(forty_two());
    co_await yield_now();
    co_return 0;
  };
  aiocpp::run(body(reports, leftover_cancelled));
  EXPECT_TRUE(leftover_cancelled);
  EXPECT_TRUE(reports.empty()) << reports.front();
}

// The server side of the Ctrl-C test: sends the client more than the socket
// buffers hold, so the connection cannot close gracefully while the client
// does not read.
class Flooder : public Protocol {
 public:
  explicit Flooder(bool& accepted) : accepted_(accepted) {}
  void connection_made(Transport& transport) override {
    accepted_ = true;
    transport.write(std::string(8 << 20, 'x'));
  }

 private:
  bool& accepted_;
};

// Ctrl-C while the main task is in serve_forever and a client is connected
// but never reads: run() ends promptly (close_clients, then abort_clients
// after the grace period) instead of waiting for the client to leave.
TEST_F(Runners, CtrlCEndsServeForeverPromptlyWithAClientConnected) {
  int client = -1;
  auto body = [](int& client) -> Task<void> {
    EventLoop& loop = get_running_loop();
    bool accepted = false;
    auto factory = [&accepted] { return std::make_shared<Flooder>(accepted); };
    std::shared_ptr<Server> server = co_await loop.create_server(factory, "127.0.0.1", 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server->sockets().at(0).getsockname().port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    for (int i = 0; i < 500 && !accepted; ++i) co_await aiocpp::sleep(0.01);
    EXPECT_TRUE(accepted);
    // A watchdog, so that a regression fails on the time bound below instead
    // of hanging: resetting the client's connection lets the server's go.
    auto watchdog = [&client] {
      linger reset{1, 0};
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      ::close(client);
      client = -1;
    };
    (void)loop.call_later(5.0, watchdog);
    ::kill(::getpid(), SIGINT);  // Ctrl-C
    co_await server->serve_forever();
  };
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(aiocpp::run(body(client)), KeyboardInterrupt);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (client >= 0) ::close(client);
  std::printf("run() ended %.3f s after Ctrl-C\n", elapsed);
  EXPECT_LT(elapsed, 2.0) << "serve_forever waited for the client";
}

// --- Runner ---------------------------------------------------------------------------

Task<EventLoop*> which_loop() {
  co_await yield_now();
  co_return &get_running_loop();
}

TEST_F(Runners, RunnerRunsSeveralCoroutinesOnOneLoop) {
  Runner runner;
  EventLoop* first = runner.run(which_loop());
  EventLoop* second = runner.run(which_loop());
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, &runner.get_loop());
  EXPECT_EQ(runner.run(forty_two()), 42);
  EXPECT_THROW(runner.run(thrower("boom")), std::runtime_error);
  EXPECT_EQ(runner.run(forty_two()), 42) << "a failed run leaves the runner usable";
}

TEST_F(Runners, ATaskLeftByOneRunKeepsRunningInTheNext) {
  Runner runner;
  Future<int> gate = runner.get_loop().create_future<int>();
  auto starter = [](Future<int> gate) -> Task<Task<int>> {
    auto waiter = [](Future<int> gate) -> Task<int> { co_return 1 + co_await gate; };
    co_return get_running_loop().create_task(waiter(gate));
  };
  Task<int> left = runner.run(starter(gate));
  EXPECT_FALSE(left.done());
  auto finisher = [](Future<int> gate, Task<int> left) -> Task<int> {
    gate.set_result(41);
    co_return co_await left;
  };
  EXPECT_EQ(runner.run(finisher(gate, left)), 42);
}

TEST_F(Runners, CloseCancelsLeftoversClosesTheLoopAndEndsTheRunner) {
  std::shared_ptr<EventLoop> loop;  // close() drops the runner's reference: keep one
  Runner::Options options;
  options.loop_factory = [&loop] { return loop = new_event_loop(); };
  Runner runner(options);
  bool cancelled = false;
  auto leave = [](bool& cancelled) -> Task<void> {
    (void)get_running_loop().create_task(wait_forever(cancelled));
    co_await yield_now();
  };
  runner.run(leave(cancelled));
  EXPECT_EQ(&runner.get_loop(), loop.get());
  EXPECT_FALSE(cancelled);
  runner.close();
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(loop->is_closed());
  runner.close();  // a no-op
  try {
    runner.run(forty_two());
    ADD_FAILURE() << "run after close";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Runner is closed");
  }
  EXPECT_THROW(runner.get_loop(), RuntimeError);
}

TEST_F(Runners, TheRunnersDestructorClosesItAsTheWithBlockDoes) {
  bool cancelled = false;
  {
    Runner runner;
    auto leave = [](bool& cancelled) -> Task<void> {
      (void)get_running_loop().create_task(wait_forever(cancelled));
      co_await yield_now();
    };
    runner.run(leave(cancelled));
    EXPECT_FALSE(cancelled);
  }
  EXPECT_TRUE(cancelled);
  Runner unused;  // never made a loop: nothing to close
}

TEST_F(Runners, LoopFactoryMakesTheLoopAndDebugIsApplied) {
  int made = 0;
  std::shared_ptr<EventLoop> made_loop;
  Runner::Options options;
  options.debug = true;
  options.loop_factory = [&] {
    ++made;
    made_loop = new_event_loop();
    return made_loop;
  };
  {
    Runner runner(options);
    EventLoop* first = runner.run(which_loop());
    EventLoop* second = runner.run(which_loop());
    EXPECT_EQ(first, made_loop.get());
    EXPECT_EQ(second, made_loop.get());
    EXPECT_TRUE(made_loop->get_debug());
  }
  EXPECT_EQ(made, 1);
  EXPECT_TRUE(made_loop->is_closed());
}

TEST_F(Runners, RunnerRunInsideARunningLoopRaises) {
  auto body = []() -> Task<std::string> {
    Runner inner;
    try {
      inner.run(forty_two());
    } catch (const RuntimeError& e) {
      co_return e.what();
    }
    co_return "no error";
  };
  Runner runner;
  EXPECT_EQ(runner.run(body()), "Runner.run() cannot be called from a running event loop");
}

// Each run handles Ctrl-C: the first run's handler is gone after it, and
// the next run installs its own.
TEST_F(Runners, CtrlCInterruptsEachRunOfARunner) {
  auto interrupted = []() -> Task<void> {
    ::kill(::getpid(), SIGINT);  // Ctrl-C
    co_await aiocpp::sleep(10);
  };
  Runner runner;
  EXPECT_THROW(runner.run(interrupted()), KeyboardInterrupt);
  EXPECT_EQ(runner.run(forty_two()), 42);
  EXPECT_THROW(runner.run(interrupted()), KeyboardInterrupt);
}

// The default executor lives across runs and is shut down by close().
TEST_F(Runners, ToThreadWorksAcrossRunsOfOneRunner) {
  Runner runner;
  auto off_loop = []() -> Task<int> { co_return co_await to_thread([] { return 20; }); };
  EXPECT_EQ(runner.run(off_loop()), 20);
  EXPECT_EQ(runner.run(off_loop()), 20);
  runner.close();
}

}  // namespace
