// subprocess_exec and subprocess_shell: the protocol's calls in asyncio's
// order, the standard streams (pipes, /dev/null, stderr to stdout, a
// descriptor of ours), cwd, environment, PATH lookup, return codes.

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "pipe_helpers.hpp"
#include "posix/child_process.hpp"

namespace {

using namespace pipe_test;
using aiocpp::testing::BackendLoopTest;
using aiocpp::testing::python;
namespace sp = aiocpp::subprocess;

using Calls = std::vector<std::string>;

class SubprocessExec : public BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::pipes); }
  // No child may be left behind, even by the loop closing.
  ~SubprocessExec() override {
    if (!loop_->is_closed()) loop_->close();
    expect_no_children();
  }
};
AIOCPP_TEST_ON_ALL_BACKENDS(SubprocessExec);

// Index of `call` in `calls`, or -1.
int at(const Calls& calls, const std::string& call) {
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (calls[i] == call) return static_cast<int>(i);
  }
  return -1;
}

// The calls but process_exited, which comes at the reap: before, between or
// after the pipes' calls (asyncio 3.11), once and before connection_lost.
Calls pipe_calls(Calls calls) {
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "PE"), 1) << ::testing::PrintToString(calls);
  EXPECT_LT(at(calls, "PE"), at(calls, "CL")) << ::testing::PrintToString(calls);
  std::erase(calls, "PE");
  // Data on both sides of process_exited is one run of data calls.
  calls.erase(std::unique(calls.begin(), calls.end()), calls.end());
  return calls;
}

// Runs to the end (connection_lost) and returns the protocol.
Task<std::shared_ptr<ProcRecorder>> run_to_end(std::vector<std::string> argv,
                                               SubprocessOptions options = {},
                                               std::string input = {}) {
  EventLoop& loop = get_running_loop();
  auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv, options);
  if (auto in = stdin_of(*transport)) {
    in->write(input);
    in->close();
  }
  co_await arrives(protocol->done, "connection_lost of " + argv[0]);
  co_return protocol;
}

TEST_P(SubprocessExec, CatEchoesItsStdinInAsyncioOrder) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{"/bin/cat"};
    auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv);
    EXPECT_EQ(protocol->transport, transport.get());
    EXPECT_GT(transport->get_pid(), 0);
    EXPECT_EQ(transport->get_returncode(), std::nullopt);
    EXPECT_NE(stdin_of(*transport), nullptr);
    EXPECT_NE(std::dynamic_pointer_cast<ReadTransport>(transport->get_pipe_transport(1)), nullptr);
    EXPECT_NE(std::dynamic_pointer_cast<ReadTransport>(transport->get_pipe_transport(2)), nullptr);
    EXPECT_EQ(transport->get_pipe_transport(3), nullptr);
    stdin_of(*transport)->write("hello ");
    co_await arrives(protocol->stdout_has("hello "), "the echo");
    stdin_of(*transport)->write("world");
    stdin_of(*transport)->close();
    Future<int> exited = transport->wait();
    co_await arrives(protocol->done, "connection_lost");
    EXPECT_EQ(co_await exited, 0);
    EXPECT_EQ(protocol->out[1], "hello world");
    EXPECT_EQ(protocol->returncode, 0);
    const Calls& c = protocol->calls;
    EXPECT_EQ(std::count(c.begin(), c.end(), "PE"), 1) << ::testing::PrintToString(c);
    EXPECT_EQ(c.front(), "CM");
    EXPECT_EQ(c.back(), "CL");
    EXPECT_LT(at(c, "PE"), at(c, "CL"));
    for (const char* lost : {"L0", "L1", "L2"}) EXPECT_GE(at(c, lost), 0) << lost;
    EXPECT_LT(at(c, "D1"), at(c, "L1"));
    EXPECT_EQ(transport->get_returncode(), 0);
    EXPECT_EQ(co_await transport->wait(), 0) << "wait() after the end completes at once";
  }());
}

TEST_P(SubprocessExec, ShellCommandsWithStdoutStderrAndExitCode) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [transport, protocol] =
        co_await loop.subprocess_shell(proc_recorder, "echo out; echo err >&2; exit 3");
    stdin_of(*transport)->close();
    co_await arrives(protocol->done, "connection_lost");
    EXPECT_EQ(protocol->out[1], "out\n");
    EXPECT_EQ(protocol->out[2], "err\n");
    EXPECT_EQ(transport->get_returncode(), 3);
  }());
}

TEST_P(SubprocessExec, ReturnCodeOfASignalIsNegative) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/sh", "-c", "kill -9 $$"};
    auto p = co_await run_to_end(argv);
    EXPECT_EQ(p->returncode, -SIGKILL);
  }());
}

TEST_P(SubprocessExec, StderrCanGoToStdout) {
  run([]() -> Task<void> {
    SubprocessOptions options{.stderr_ = sp::STDOUT};
    std::vector<std::string> argv{"/bin/sh", "-c", "echo a; echo b >&2; echo c"};
    auto p = co_await run_to_end(argv, options);
    EXPECT_EQ(p->out[1], "a\nb\nc\n");
    EXPECT_EQ(p->out[2], "");
    Calls calls = pipe_calls(p->calls);
    EXPECT_GE(at(calls, "L0"), 0);  // stdin, closed by run_to_end at any time
    std::erase(calls, "L0");
    EXPECT_EQ(calls, (Calls{"CM", "D1", "L1", "CL"}));
  }());
}

TEST_P(SubprocessExec, DevnullForEachStream) {
  run([]() -> Task<void> {
    SubprocessOptions quiet{.stdin_ = sp::DEVNULL, .stdout_ = sp::DEVNULL, .stderr_ = sp::DEVNULL};
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{"/bin/sh", "-c", "cat; echo lost; echo lost >&2"};
    auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv, quiet);
    for (int fd = 0; fd < 3; ++fd) EXPECT_EQ(transport->get_pipe_transport(fd), nullptr);
    co_await arrives(protocol->done, "connection_lost");
    EXPECT_EQ(protocol->calls, (Calls{"CM", "PE", "CL"}));
    EXPECT_EQ(transport->get_returncode(), 0) << "cat read EOF from /dev/null";
  }());
}

TEST_P(SubprocessExec, DevStdinIsARealPipe) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/sh", "-c", "cat /dev/stdin"};
    auto p = co_await run_to_end(argv, {}, "via /dev/stdin");
    EXPECT_EQ(p->out[1], "via /dev/stdin");
    EXPECT_EQ(p->returncode, 0);
  }());
}

TEST_P(SubprocessExec, ADescriptorOfOursBecomesTheChildsStdout) {
  auto [r, w] = make_pipe();
  run([](int w) -> Task<void> {
    SubprocessOptions options{.stdin_ = sp::DEVNULL, .stdout_ = w};
    std::vector<std::string> argv{"/bin/echo", "to our pipe"};
    auto p = co_await run_to_end(argv, options);
    EXPECT_EQ(pipe_calls(p->calls), (Calls{"CM", "L2", "CL"}));
  }(w));
  ::close(w);
  char buf[64] = {};
  EXPECT_EQ(::read(r, buf, sizeof buf), 12);
  EXPECT_STREQ(buf, "to our pipe\n");
  ::close(r);
}

TEST_P(SubprocessExec, CwdAndEnvironment) {
  run([]() -> Task<void> {
    SubprocessOptions options;
    options.cwd = "/tmp";
    options.env = std::vector<std::string>{"FOO=bar baz"};
    std::vector<std::string> argv{"/bin/sh", "-c", "pwd; echo \"$FOO\"; echo ${HOME-unset}"};
    auto p = co_await run_to_end(argv, options);
    EXPECT_EQ(p->out[1], "/tmp\nbar baz\nunset\n");
    EXPECT_EQ(p->out[2], "");
  }());
}

// Python's user / group / extra_groups: the child runs with exactly these ids.
TEST_P(SubprocessExec, UserGroupAndExtraGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing the user needs root";
  run([]() -> Task<void> {
    SubprocessOptions options;
    options.user = 65534;
    options.group = 65534;
    options.extra_groups = std::vector<gid_t>{};
    std::vector<std::string> argv{"/bin/sh", "-c", "id -u; id -g; id -G"};
    auto p = co_await run_to_end(argv, options);
    EXPECT_EQ(p->out[1], "65534\n65534\n65534\n");
    EXPECT_EQ(p->returncode, 0);
  }());
}

TEST_P(SubprocessExec, TheProgramIsLookedUpInPath) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"true"};
    auto p = co_await run_to_end(argv);
    EXPECT_EQ(p->returncode, 0);
    SubprocessOptions options;
    options.env = std::vector<std::string>{"PATH=/nonexistent:/bin"};
    argv = {"sh", "-c", "exit 7"};
    p = co_await run_to_end(argv, options);
    EXPECT_EQ(p->returncode, 7);
  }());
}

TEST_P(SubprocessExec, BigDataBothWaysThroughPython) {
  run(
      []() -> Task<void> {
        const std::string data = pattern(2 << 20);
        std::vector<std::string> argv{python(), "-c",
                                      "import sys; sys.stdout.write(sys.stdin.read().upper())"};
        auto p = co_await run_to_end(argv, {}, data);
        std::string upper = data;
        for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        EXPECT_EQ(p->out[1].size(), upper.size());
        EXPECT_TRUE(p->out[1] == upper);
        EXPECT_EQ(p->returncode, 0);
      }(),
      60);
}

TEST_P(SubprocessExec, PassFdsKeepsDescriptorsOthersAreClosed) {
  auto [r, w] = make_pipe();
  int kept = fcntl(w, F_DUPFD, 50);  // not close-on-exec
  run([](int kept) -> Task<void> {
    std::string script =
        "import os\n"
        "os.write(" +
        std::to_string(kept) + ", b'kept')\n";
    SubprocessOptions options;
    options.pass_fds = {kept};
    std::vector<std::string> argv{python(), "-c", script};
    auto p = co_await run_to_end(argv, options);
    EXPECT_EQ(p->returncode, 0) << p->out[2];
    std::string check =
        "import os\n"
        "try:\n    os.fstat(" +
        std::to_string(kept) +
        ")\n    print('open')\n"
        "except OSError:\n    print('closed')\n";
    argv = {python(), "-c", check};
    p = co_await run_to_end(argv);
    EXPECT_EQ(p->out[1], "closed\n") << "close_fds closes what pass_fds does not name";
  }(kept));
  ::close(kept);
  ::close(w);
  char buf[16] = {};
  EXPECT_EQ(::read(r, buf, sizeof buf), 4);
  EXPECT_STREQ(buf, "kept");
  ::close(r);
}

// asyncio 3.11: process_exited when the child is reaped, even while a
// grandchild still holds its stdout; connection_lost once that closes too.
// Between the two, the return code is known, wait() completes at once and a
// signal does nothing; after connection_lost a signal is ProcessLookupError.
TEST_P(SubprocessExec, ProcessExitedComesAtTheReapWhileAGrandchildHoldsStdout) {
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  run([](int go_read, int go_write) -> Task<void> {
    EventLoop& loop = get_running_loop();
    // The child exits at once; its own child writes "late" once we write to
    // the pipe it reads.
    std::string script = "import os\nif os.fork() == 0:\n    os.read(" + std::to_string(go_read) +
                         ", 1)\n    os.write(1, b'late\\n')\n    os._exit(0)\n"
                         "os.write(1, b'early\\n')\n";
    std::vector<std::string> argv{python(), "-c", script};
    SubprocessOptions options;
    options.stdin_ = sp::DEVNULL;
    options.pass_fds = {go_read};
    auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv, options);
    ::close(go_read);
    co_await arrives(protocol->exited, "process_exited");
    EXPECT_EQ(at(protocol->calls, "L1"), -1) << "the grandchild holds stdout";
    EXPECT_EQ(transport->get_returncode(), 0);
    EXPECT_NO_THROW(transport->send_signal(SIGTERM)) << "a reaped child: nothing to signal";
    Future<int> waited = transport->wait();
    EXPECT_TRUE(waited.done()) << "wait() once the child is reaped completes at once";
    EXPECT_FALSE(protocol->done.done());
    EXPECT_EQ(::write(go_write, "\n", 1), 1);
    co_await arrives(protocol->done, "connection_lost");
    EXPECT_EQ(protocol->out[1], "early\nlate\n");
    EXPECT_LT(at(protocol->calls, "PE"), at(protocol->calls, "L1"));
    EXPECT_EQ(protocol->calls.back(), "CL");
    try {
      transport->kill();
      ADD_FAILURE() << "kill after connection_lost must raise ProcessLookupError";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ESRCH);
    }
  }(go[0], go[1]));
  ::close(go[1]);
}

// Kernels without pidfd_open: a thread per child waits for it without
// reaping it, and the loop reaps exactly that pid.
TEST_P(SubprocessExec, WithoutPidfdsAWaiterThreadWatchesTheChild) {
  struct Force {
    Force() { detail::ChildProcess::force_thread_watcher = true; }
    ~Force() { detail::ChildProcess::force_thread_watcher = false; }
  } force;
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{"/bin/cat"};
    auto p = co_await run_to_end(argv, {}, "no pidfd");
    EXPECT_EQ(p->out[1], "no pidfd");
    EXPECT_EQ(p->returncode, 0);
    argv = {"/bin/sleep", "30"};
    auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv);
    transport->terminate();
    EXPECT_EQ(co_await transport->wait(), -SIGTERM);
    EXPECT_THROW(transport->kill(), std::system_error);
    auto [running, _] = co_await loop.subprocess_exec(proc_recorder, argv);
    (void)running;  // left running: closing the loop kills and reaps it
  }());
  loop_->close();
}

// asyncio forwards the stdin pipe's flow control to the subprocess protocol.
TEST_P(SubprocessExec, StdinFlowControlReachesTheProtocol) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{python(), "-c",
                                  "import sys; sys.stdout.write(sys.stdin.readline()); "
                                  "sys.stdout.flush(); sys.stdin.read()"};
    auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv);
    auto in = stdin_of(*transport);
    in->write("first line\n");
    co_await arrives(protocol->stdout_has("first line\n"), "the first line");
    in->write(pattern(4 << 20));  // more than the pipe holds: buffered
    EXPECT_GT(in->get_write_buffer_size(), 64u * 1024);
    EXPECT_EQ(protocol->calls.back(), "PW");
    in->close();  // the child reads everything, then exits
    co_await arrives(protocol->done, "connection_lost");
    EXPECT_NE(std::find(protocol->calls.begin(), protocol->calls.end(), "RW"),
              protocol->calls.end());
    EXPECT_EQ(transport->get_returncode(), 0);
  }());
}

// Our ends of the pipes are non-blocking (the loop must never block on
// them); the child's ends are left blocking, as a program expects.
TEST_P(SubprocessExec, OurPipeEndsAreNonBlockingTheChildsAreNot) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> argv{python(), "-c",
                                  "import os; print([os.get_blocking(fd) for fd in (0, 1, 2)])"};
    auto [transport, protocol] = co_await loop.subprocess_exec(proc_recorder, argv);
    for (int fd = 0; fd < 3; ++fd) {
      int ours = std::any_cast<int>(transport->get_pipe_transport(fd)->get_extra_info("pipe"));
      EXPECT_TRUE(fcntl(ours, F_GETFL) & O_NONBLOCK) << "our end of pipe " << fd;
    }
    stdin_of(*transport)->close();
    co_await arrives(protocol->done, "connection_lost");
    EXPECT_EQ(protocol->out[1], "[True, True, True]\n");
  }());
}

}  // namespace

namespace {

TEST_P(SubprocessExec, AnotherChildsExitStatusIsLeftForItsOwner) {
  // A child that is not the loop's, exited before and during the loop's work.
  pid_t other = fork();
  if (other == 0) _exit(42);
  ASSERT_GT(other, 0);
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/true"};  // not inside co_await: GCC 12
    auto recorder = co_await run_to_end(argv);
    EXPECT_EQ(recorder->returncode, std::optional<int>(0));
  }());
  int status = 0;
  ASSERT_EQ(waitpid(other, &status, 0), other) << "the loop reaped a child it did not start";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}

}  // namespace
