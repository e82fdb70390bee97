// subprocess_exec and subprocess_shell when things go wrong: a program that
// does not exist or cannot run, a bad cwd, bad arguments, signals to a dead
// child, close() on a running child, cancellation, stdin after exit, and the
// loop closing with a child still running. No descriptor and no child is
// ever left behind.

#include <signal.h>

#include <algorithm>
#include <cstring>

#include "pipe_helpers.hpp"

namespace {

using namespace pipe_test;
using aiocpp::testing::BackendLoopTest;
using aiocpp::testing::python;
namespace sp = aiocpp::subprocess;

class SubprocessErrors : public BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::pipes); }
  // No child may be left behind, even by the loop closing.
  ~SubprocessErrors() override {
    if (!loop_->is_closed()) loop_->close();
    expect_no_children();
  }
};
AIOCPP_TEST_ON_ALL_BACKENDS(SubprocessErrors);

// The std::system_error that `start` fails with (errno 0 when it does not fail).
Task<std::pair<int, std::string>> os_failure(std::vector<std::string> argv,
                                             SubprocessOptions options = {}) {
  try {
    auto started = co_await get_running_loop().subprocess_exec(proc_recorder, argv, options);
    ADD_FAILURE() << argv[0] << " started";
    started.transport->close();
    co_await started.transport->wait();
  } catch (const std::system_error& e) {
    co_return std::pair<int, std::string>{e.code().value(), e.what()};
  }
  co_return std::pair<int, std::string>{0, ""};
}

TEST_P(SubprocessErrors, AMissingProgramIsENOENTFromSubprocessExec) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/nonexistent/program", "arg"};
    auto [code, what] = co_await os_failure(argv);
    EXPECT_EQ(code, ENOENT);
    EXPECT_NE(what.find("/nonexistent/program"), std::string::npos) << what;
    argv = {"no-such-program-anywhere-in-path"};
    auto [code2, what2] = co_await os_failure(argv);
    EXPECT_EQ(code2, ENOENT) << what2;
    expect_no_children();  // the failed child has been reaped already
  }());
}

TEST_P(SubprocessErrors, AFileThatIsNotExecutableIsEACCES) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/etc/passwd"};
    auto [code, what] = co_await os_failure(argv);
    EXPECT_EQ(code, EACCES) << what;
  }());
}

TEST_P(SubprocessErrors, ABadCwdIsReportedWithItsErrno) {
  run([]() -> Task<void> {
    SubprocessOptions options;
    options.cwd = "/nonexistent/directory";
    std::vector<std::string> argv{"/bin/true"};
    auto [code, what] = co_await os_failure(argv, options);
    EXPECT_EQ(code, ENOENT);
    EXPECT_NE(what.find("/nonexistent/directory"), std::string::npos) << what;
  }());
}

TEST_P(SubprocessErrors, BadArgumentsAreValueErrors) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto rejects = [&loop](std::vector<std::string> argv, SubprocessOptions options,
                           const char* why) -> Task<void> {
      try {
        co_await loop.subprocess_exec(proc_recorder, argv, options);
        ADD_FAILURE() << why << ": accepted";
      } catch (const ValueError&) {
      }
    };
    std::vector<std::string> none;
    co_await rejects(none, {}, "an empty argv");
    std::vector<std::string> empty{""};
    co_await rejects(empty, {}, "an empty program");
    std::vector<std::string> nul{"/bin/echo", std::string("a\0b", 3)};
    co_await rejects(nul, {}, "a NUL byte in an argument");
    std::vector<std::string> ok{"/bin/true"};
    SubprocessOptions stdin_to_stdout{.stdin_ = sp::STDOUT};  // not inside co_await: GCC 12
    co_await rejects(ok, stdin_to_stdout, "stdin = STDOUT");
    SubprocessOptions bad_stdout{.stdout_ = -7};
    co_await rejects(ok, bad_stdout, "stdout = -7");
    SubprocessOptions bad_env;
    bad_env.env = std::vector<std::string>{"NOEQUALSIGN"};
    co_await rejects(ok, bad_env, "an environment entry without '='");
    try {
      co_await loop.subprocess_shell(proc_recorder, "");
      ADD_FAILURE() << "an empty shell command was accepted";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "cmd must be a non-empty string");
    }
    // Typed as a factory of any protocol: one typed as making a Protocol no
    // longer compiles (tests/compile_fail/stream_factory_to_subprocess_exec.cpp).
    ProtocolFactory not_subprocess = [] { return std::make_shared<Protocol>(); };
    try {
      co_await loop.subprocess_exec(not_subprocess, ok);
      ADD_FAILURE() << "a Protocol was accepted as a SubprocessProtocol";
    } catch (const ValueError&) {
    }
  }());
}

// asyncio: "cmd must be a string". Here a list of arguments for
// subprocess_shell does not compile: those overloads are deleted.
template <class... A>
concept ShellAccepts = requires(EventLoop& loop, A... args) {
  loop.subprocess_shell(proc_recorder, args...);
};
static_assert(ShellAccepts<std::string>);
static_assert(!ShellAccepts<std::vector<std::string>>);
static_assert(!ShellAccepts<std::initializer_list<const char*>>);

TEST_P(SubprocessErrors, SignalsAfterConnectionLostAreESRCH) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/true"};
    auto [transport, protocol] = co_await get_running_loop().subprocess_exec(proc_recorder, argv);
    co_await arrives(protocol->done, "connection_lost");
    for (int sig : {0, SIGTERM, SIGKILL}) {
      try {
        transport->send_signal(sig);
        ADD_FAILURE() << "signal " << sig << " to a reaped child";
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ESRCH);
      }
    }
    EXPECT_THROW(transport->terminate(), std::system_error);
    EXPECT_THROW(transport->kill(), std::system_error);
  }());
}

TEST_P(SubprocessErrors, TerminateAndKillARunningChild) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{"/bin/sleep", "30"};
    auto [t1, p1] = co_await loop.subprocess_exec(proc_recorder, argv);
    t1->send_signal(0);  // alive: no error
    t1->terminate();
    EXPECT_EQ(co_await t1->wait(), -SIGTERM);
    auto [t2, p2] = co_await loop.subprocess_exec(proc_recorder, argv);
    t2->kill();
    EXPECT_EQ(co_await t2->wait(), -SIGKILL);
    EXPECT_EQ(p2->calls.back(), "CL");
  }());
}

TEST_P(SubprocessErrors, CloseKillsARunningChild) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/sleep", "30"};
    auto [transport, protocol] = co_await get_running_loop().subprocess_exec(proc_recorder, argv);
    transport->close();
    EXPECT_TRUE(transport->is_closing());
    transport->close();  // twice is harmless
    co_await arrives(protocol->done, "connection_lost after close()");
    EXPECT_EQ(transport->get_returncode(), -SIGKILL);
    // process_exited comes at the reap (asyncio 3.11), which races with the
    // closed pipes' losses; all of them come before connection_lost.
    const auto& calls = protocol->calls;
    EXPECT_EQ(calls.back(), "CL");
    for (const char* call : {"PE", "L0", "L1", "L2"}) {
      EXPECT_EQ(std::count(calls.begin(), calls.end(), call), 1) << call;
    }
  }());
}

TEST_P(SubprocessErrors, CancellingSubprocessExecKillsAndReapsTheChild) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{"/bin/sleep", "30"};
    auto made = std::make_shared<std::shared_ptr<ProcRecorder>>();
    auto factory = [made] { return *made = proc_recorder(); };
    auto starting = loop.create_task(loop.subprocess_exec(factory, argv));
    // Runs right after the task's first step, which spawned the child and
    // now waits for connection_made.
    loop.call_soon([starting]() mutable { starting.cancel(); });
    bool cancelled = false;
    try {
      co_await starting;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    expect_no_children();  // killed and reaped before the CancelledError
    EXPECT_NE(*made, nullptr) << "the child was started";
    if (*made) {
      EXPECT_EQ((*made)->calls.back(), "CL");
      EXPECT_EQ((*made)->returncode, -SIGKILL);
    }
  }());
}

TEST_P(SubprocessErrors, WritingToTheStdinOfAChildThatClosedItIsABrokenPipe) {
  run([]() -> Task<void> {
    // The child closes its stdin, says so, and waits for us to go on.
    std::vector<std::string> argv{"/bin/sh", "-c", "exec 0<&-; echo ready; exec sleep 30"};
    auto [transport, protocol] = co_await get_running_loop().subprocess_exec(proc_recorder, argv);
    co_await arrives(protocol->stdout_has("ready"), "ready");
    auto in = stdin_of(*transport);
    in->write("nobody reads this");  // EPIPE, neither SIGPIPE nor a crash
    for (int i = 0; i < 3; ++i) in->write("more");
    transport->kill();
    co_await arrives(protocol->done, "connection_lost");
    int lost = errno_of(protocol->pipe_errors[0]);
    EXPECT_TRUE(lost == EPIPE || lost == 0) << "pipe 0 lost with errno " << lost;
    EXPECT_EQ(transport->get_returncode(), -SIGKILL);
  }());
}

TEST_P(SubprocessErrors, WritingToStdinAfterTheChildExitedIsHarmless) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/true"};
    auto [transport, protocol] = co_await get_running_loop().subprocess_exec(proc_recorder, argv);
    co_await arrives(protocol->done, "connection_lost");
    auto in = stdin_of(*transport);
    EXPECT_NE(in, nullptr);
    EXPECT_TRUE(in->is_closing());
    in->write("too late");  // ignored, as asyncio does
    EXPECT_EQ(transport->get_returncode(), 0);
  }());
}

TEST_P(SubprocessErrors, ClosingTheLoopKillsAndReapsARunningChild) {
  std::shared_ptr<SubprocessTransport> kept;
  run([](std::shared_ptr<SubprocessTransport>& kept) -> Task<void> {
    std::vector<std::string> argv{"/bin/sleep", "30"};
    auto [transport, protocol] = co_await get_running_loop().subprocess_exec(proc_recorder, argv);
    kept = transport;
  }(kept));
  loop_->close();
  expect_no_children();
  EXPECT_EQ(kept->get_returncode(), -SIGKILL);
  EXPECT_EQ(kept->get_pipe_transport(1), nullptr);
  kept.reset();
}

}  // namespace
