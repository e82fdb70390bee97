// asyncio's subprocess module on streams: create_subprocess_exec / _shell,
// a Process's stdin / stdout / stderr streams, communicate() with several
// MiB both ways, wait(), returncode, send_signal / terminate / kill.

#include <signal.h>

#include <string>
#include <vector>

#include "pipe_helpers.hpp"

namespace {

using namespace aiocpp;
using aiocpp::testing::BackendLoopTest;
using aiocpp::testing::byte_pattern;
using aiocpp::testing::python;
namespace sp = aiocpp::subprocess;

class StreamsSubprocess : public BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::pipes); }
  // No child may be left behind, even by the loop closing.
  ~StreamsSubprocess() override {
    if (!loop_->is_closed()) loop_->close();
    pipe_test::expect_no_children();
  }
};
AIOCPP_TEST_ON_ALL_BACKENDS(StreamsSubprocess);

const ProcessOptions all_piped{.stdin_ = sp::PIPE, .stdout_ = sp::PIPE, .stderr_ = sp::PIPE};

TEST_P(StreamsSubprocess, CommunicateFeedsStdinAndCollectsBothOutputs) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{
        python(), "-c",
        "import sys; d = sys.stdin.read(); sys.stdout.write(d.upper()); sys.stderr.write('e')"};
    Process proc = co_await create_subprocess_exec(argv, all_piped);
    EXPECT_GT(proc.pid, 0);
    EXPECT_EQ(proc.returncode(), std::nullopt);
    auto [out, err] = co_await proc.communicate("hello");
    EXPECT_EQ(out, "HELLO");
    EXPECT_EQ(err, "e");
    EXPECT_EQ(proc.returncode(), 0);
  }());
}

TEST_P(StreamsSubprocess, CommunicateMovesSeveralMiBBothWaysWithoutDeadlock) {
  run(
      []() -> Task<void> {
        // cat echoes as it reads, so its stdout pipe fills long before its
        // stdin is done: communicate must read while it writes. stderr gets
        // as much, from a second copy of the input.
        const std::string input = byte_pattern(6 * 1024 * 1024 + 17);
        std::vector<std::string> argv{"/bin/sh", "-c", "tee /dev/stderr"};
        Process proc = co_await create_subprocess_exec(argv, all_piped);
        auto [out, err] = co_await proc.communicate(input);
        EXPECT_TRUE(out && err);
        if (!out || !err) co_return;
        EXPECT_EQ(out->size(), input.size());
        EXPECT_TRUE(*out == input) << "stdout differs";
        EXPECT_TRUE(*err == input) << "stderr differs";
        EXPECT_EQ(proc.returncode(), 0);
      }(),
      60.0);
}

TEST_P(StreamsSubprocess, StreamsReadLinesAndDrainWritesThenWaitReturnsTheCode) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{python(), "-c",
                                  "import sys\n"
                                  "for line in sys.stdin:\n"
                                  "    print(len(line), flush=True)\n"
                                  "sys.exit(3)\n"};
    Process proc = co_await create_subprocess_exec(argv, {.stdin_ = sp::PIPE, .stdout_ = sp::PIPE});
    EXPECT_EQ(proc.stderr_, nullptr) << "stderr is inherited unless asked for";
    for (std::string line : {"a\n", "bcd\n"}) {
      proc.stdin_->write(line);
      co_await proc.stdin_->drain();
      EXPECT_EQ(co_await proc.stdout_->readline(), std::to_string(line.size()) + "\n");
    }
    proc.stdin_->close();
    co_await proc.stdin_->wait_closed();
    EXPECT_EQ(co_await proc.stdout_->read(), "");
    EXPECT_TRUE(proc.stdout_->at_eof());
    EXPECT_EQ(co_await proc.wait(), 3);
    EXPECT_EQ(proc.returncode(), 3);
  }());
}

TEST_P(StreamsSubprocess, ShellRunsTheCommandAndNoPipeMeansNoStream) {
  run([]() -> Task<void> {
    Process proc = co_await create_subprocess_shell("echo $((6 * 7)); exit 5",
                                                    {.stdout_ = sp::PIPE, .stderr_ = sp::DEVNULL});
    EXPECT_EQ(proc.stdin_, nullptr);
    EXPECT_EQ(proc.stderr_, nullptr);
    auto [out, err] = co_await proc.communicate();
    EXPECT_EQ(out, "42\n");
    EXPECT_EQ(err, std::nullopt);
    EXPECT_EQ(proc.returncode(), 5);
  }());
}

TEST_P(StreamsSubprocess, StderrToStdoutMergesThem) {
  run([]() -> Task<void> {
    Process proc = co_await create_subprocess_shell("echo out; echo err >&2",
                                                    {.stdout_ = sp::PIPE, .stderr_ = sp::STDOUT});
    auto [out, err] = co_await proc.communicate();
    EXPECT_EQ(out, "out\nerr\n");
    EXPECT_EQ(err, std::nullopt);
  }());
}

TEST_P(StreamsSubprocess, TerminateKillAndSendSignalGiveMinusTheSignal) {
  run([]() -> Task<void> {
    std::vector<std::string> argv{"/bin/sleep", "30"};
    for (int sig : {SIGTERM, SIGKILL, SIGUSR1}) {
      Process proc = co_await create_subprocess_exec(argv);
      if (sig == SIGTERM) {
        proc.terminate();
      } else if (sig == SIGKILL) {
        proc.kill();
      } else {
        proc.send_signal(sig);
      }
      EXPECT_EQ(co_await proc.wait(), -sig);
      EXPECT_EQ(proc.returncode(), -sig);
      try {
        proc.kill();
        ADD_FAILURE() << "kill after the exit must raise ProcessLookupError";
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_process);
      }
    }
  }());
}

TEST_P(StreamsSubprocess, ChildClosingStdinEarlyIsNoErrorForCommunicate) {
  run(
      []() -> Task<void> {
        // The child exits at once without reading: our write gets EPIPE.
        const std::string input = byte_pattern(4 * 1024 * 1024);
        Process proc = co_await create_subprocess_shell("exec 0<&-; echo gone", all_piped);
        auto [out, err] = co_await proc.communicate(input);
        EXPECT_EQ(out, "gone\n");
        EXPECT_EQ(err, "");
        EXPECT_EQ(proc.returncode(), 0);
      }(),
      30.0);
}

TEST_P(StreamsSubprocess, DrainOnAStdinWhoseReaderIsGoneRaises) {
  run(
      []() -> Task<void> {
        Process proc = co_await create_subprocess_shell("exec 0<&-; exit 0", all_piped);
        EXPECT_EQ(co_await proc.wait(), 0);
        bool raised = false;
        const std::string chunk(1 << 16, 'x');
        // The first writes may still be buffered; the pipe's loss surfaces
        // within a few rounds, as a broken pipe or a lost connection.
        for (int i = 0; i < 100 && !raised; ++i) {
          proc.stdin_->write(chunk);
          try {
            co_await proc.stdin_->drain();
          } catch (const std::system_error&) {
            raised = true;
          }
        }
        EXPECT_TRUE(raised);
        proc.stdin_->close();
      }(),
      30.0);
}

TEST_P(StreamsSubprocess, CommunicateInputWithoutAStdinPipeIsAValueError) {
  run([]() -> Task<void> {
    Process proc = co_await create_subprocess_shell("true");
    EXPECT_THROW(co_await proc.communicate("x"), ValueError);
    EXPECT_EQ(co_await proc.wait(), 0);
    EXPECT_THROW(co_await create_subprocess_shell("true", {.limit = 0}), ValueError);
  }());
}

}  // namespace
