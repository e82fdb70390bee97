#pragma once
// Shared helpers for the test suite.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::testing {

// The file descriptors open in this process right now.
std::set<int> open_fds();

// A blocking TCP socket connected to 127.0.0.1:`port` whose receives give up
// after `receive_timeout` seconds (a test's bound on a silent peer). Fails
// the test (and returns the unconnected socket) if connect fails.
int connect_loopback(int port, int receive_timeout = 10);

// Blocking socket calls, retried after EINTR. A call on a socket with a
// timeout (SO_RCVTIMEO / SO_SNDTIMEO) is not restarted after an interruption,
// and in a process that has made an io_uring ring the kernel's task work
// interrupts such calls now and then even without a signal. connect_retrying
// returns 0 or -1 with errno, as connect(2).
ssize_t recv_retrying(int fd, void* buffer, std::size_t size, int flags = 0);
ssize_t send_retrying(int fd, const void* data, std::size_t size, int flags = MSG_NOSIGNAL);
int connect_retrying(int fd, const sockaddr* address, socklen_t length);

// Fails the current test if a descriptor opened since construction is still open.
class FdLeakCheck {
 public:
  FdLeakCheck() : before_(open_fds()) {}
  ~FdLeakCheck();

 private:
  std::set<int> before_;
};

// Runs `task` on a fresh loop, failing (not hanging) if it takes longer than
// `timeout` seconds. Returns its result. The I/O suites call BackendTest's
// run_bounded instead, which passes the backend under test.
template <class T>
T run_bounded(Task<T> task, double timeout = 10.0, LoopOptions loop = {}) {
  return aiocpp::run(
      [](Task<T> t, double timeout) -> Task<T> {
        co_return co_await wait_for(std::move(t), timeout);
      }(std::move(task), timeout),
      RunOptions{.loop = loop});
}

// --- Backends ----------------------------------------------------------------------
// Every I/O backend the I/O suites (tcp_*, udp_*, unix_*, pipe_*, loop_sock_*,
// loop_fd_watchers, subprocess_*, perf_*) run on. A new backend is one more
// value here, and every one of those tests runs on it too (and interop_seeds
// and examples_echo_workers, which pass it to the examples' --backend). io_uring
// is always listed, so test names do not depend on the kernel: where the
// kernel refuses it, its tests skip, saying why.
inline std::vector<Backend> all_backends() { return {Backend::selector, Backend::io_uring}; }

// The io_uring loop options an I/O suite runs with: none, or those of the
// ctest variant that runs it again (tests/CMakeLists.txt names it in
// AIOCPP_TEST_URING_VARIANT): "without_buffer_ring" sets
// io_uring_buffer_ring = false, "single_thread" io_uring_single_thread = true.
// Another name fails the test run.
LoopOptions uring_variant_options();

// What a suite needs beyond stream sockets, which a backend may not have yet.
enum class Feature { stream_sockets, datagrams, pipes };
// Why a test needing `feature` cannot run on `backend` here (the kernel
// refuses io_uring, or the backend does not have the feature yet), or empty.
std::string backend_skip_reason(Backend backend, Feature feature = Feature::stream_sockets);

// In a BackendTest's SetUp or body: skips the test, with the reason, when
// its backend cannot run it here.
#define AIOCPP_SKIP_UNLESS_BACKEND_HAS(feature)                                                  \
  do {                                                                                           \
    std::string aiocpp_skip_reason = ::aiocpp::testing::backend_skip_reason(backend(), feature); \
    if (!aiocpp_skip_reason.empty()) GTEST_SKIP() << aiocpp_skip_reason;                         \
  } while (0)

// The backend's name (aiocpp::backend_name) as ctest shows it at the end of a
// test's name: "tcp_connection.TcpConnection.ConnectsToAHostName/selector".
std::string backend_param_name(const ::testing::TestParamInfo<Backend>& info);

// The fixture of an I/O test that runs once per backend (TEST_P). Its
// run_bounded hides the free one, so a test body cannot forget the backend.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  // Skips where the kernel refuses the backend. A suite that needs more
  // (datagrams, pipes) overrides this with AIOCPP_SKIP_UNLESS_BACKEND_HAS.
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(Feature::stream_sockets); }

  Backend backend() const { return GetParam(); }
  // The backend under test; where it cannot be had (the test then skips in
  // SetUp) the selector, so that a fixture's loop can still be made.
  // On io_uring, with the options of the ctest variant being run (see
  // uring_variant_options).
  LoopOptions loop_options() const {
    if (!backend_skip_reason(GetParam()).empty()) return LoopOptions{};
    LoopOptions options = GetParam() == Backend::io_uring ? uring_variant_options() : LoopOptions{};
    options.backend = GetParam();
    return options;
  }

  template <class T>
  T run_bounded(Task<T> task, double timeout = 10.0) {
    return testing::run_bounded(std::move(task), timeout, loop_options());
  }
};

// Runs every TEST_P of `suite`, a BackendTest, on every backend of all_backends().
#define AIOCPP_TEST_ON_ALL_BACKENDS(suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(, suite, ::testing::ValuesIn(::aiocpp::testing::all_backends()), \
                           ::aiocpp::testing::backend_param_name)

// Declares `suite` as a BackendTest run on every backend: for suites of plain
// TEST_P bodies that need no fixture members of their own.
#define AIOCPP_BACKEND_SUITE(suite)                       \
  class suite : public ::aiocpp::testing::BackendTest {}; \
  AIOCPP_TEST_ON_ALL_BACKENDS(suite)

// The same, for a suite that needs `feature` (skipped where it is missing).
#define AIOCPP_BACKEND_SUITE_NEEDING(suite, feature)                                      \
  class suite : public ::aiocpp::testing::BackendTest {                                   \
   protected:                                                                             \
    void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(::aiocpp::testing::feature); } \
  };                                                                                      \
  AIOCPP_TEST_ON_ALL_BACKENDS(suite)

// Starts `argv` with stdout and stderr captured; returns its pid and a read
// end. Used to run Python peers and the example programs.
struct ChildProcess {
  int pid = -1;
  int stdout_fd = -1;
  int stdin_fd = -1;
  // Waits up to `timeout` seconds for exit; kills it on timeout. Returns the exit status.
  int wait(double timeout = 10.0);
  void kill();
  // Reads everything until EOF (bounded by `timeout`).
  std::string read_all(double timeout = 10.0);
  // Reads one line (bounded by `timeout`); empty on EOF.
  std::string read_line(double timeout = 10.0);
  ~ChildProcess();
};
std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv, bool pipe_stdin = false);

// A connected, non-blocking AF_UNIX socket pair, closed on destruction.
struct SocketPair {
  detail::UniqueFd a, b;
  explicit SocketPair(int type = SOCK_STREAM);
};

// An unlinked temporary file holding `content`, positioned at its start.
detail::UniqueFd temp_file_with(const std::string& content);

// `size` bytes of a repeating, position-dependent pattern.
std::string byte_pattern(std::size_t size);

// Runs `loop` until something calls stop(); fails instead of hanging.
void loop_run_until_stopped(EventLoop& loop, double timeout);

// A fresh loop per test, closed afterwards, with no descriptor left behind:
// LoopTest on the default backend (the core suites), BackendLoopTest on the
// backend the test is instantiated for (TEST_P, the I/O suites).
template <class Base>
class BasicLoopTest : public Base {
 protected:
  FdLeakCheck fd_check_;  // declared first: checks after the loop is gone
  std::shared_ptr<EventLoop> loop_ = new_event_loop(initial_options());
  std::vector<ExceptionContext> reports_;

  ~BasicLoopTest() override {
    reports_.clear();
    if (!loop_->is_closed()) loop_->close();
  }

  // Collects what reaches the loop's exception handler into reports_.
  void record_reports() {
    loop_->set_exception_handler(
        [this](EventLoop&, const ExceptionContext& c) { reports_.push_back(c); });
  }

  // Runs exactly one iteration of the loop.
  void run_once() {
    loop_->stop();
    loop_->run_forever();
  }

  // Runs `task` to completion, failing with TimeoutError instead of hanging.
  template <class T>
  T run(Task<T> task, double timeout = 10.0) {
    return loop_->run_until_complete([](Task<T> t, double timeout) -> Task<T> {
      co_return co_await wait_for(std::move(t), timeout);
    }(std::move(task), timeout));
  }

  // Runs the loop until something calls stop(); fails instead of hanging.
  void run_until_stopped(double timeout = 20.0) { loop_run_until_stopped(*loop_, timeout); }

 private:
  // The base is constructed before loop_, so GetParam() is available here.
  LoopOptions initial_options() {
    if constexpr (std::is_base_of_v<BackendTest, Base>) {
      return this->loop_options();
    } else {
      return {};
    }
  }
};

using LoopTest = BasicLoopTest<::testing::Test>;
using BackendLoopTest = BasicLoopTest<BackendTest>;

// Coroutines the task tests share.
Task<int> sleep_then(double delay, int value);
Task<int> fail_after(double delay, std::string what);
// Never finishes by itself; records when it is cancelled.
Task<int> wait_forever(bool* cancelled = nullptr);
bool is_cancelled_error(const std::exception_ptr& e);

// The interpreter that has Debian's packages: always /usr/bin/python3.
inline const char* python() { return "/usr/bin/python3"; }

}  // namespace aiocpp::testing

namespace aiocpp {
// What gtest prints for a test's backend parameter.
inline void PrintTo(Backend backend, std::ostream* os) { *os << aiocpp::backend_name(backend); }
}  // namespace aiocpp
