// Choosing the backend at run time: Backend::automatic, AIOCPP_BACKEND, and
// what happens where the kernel refuses io_uring (a seccomp filter in a
// forked child stands in for RHEL 9, Kubernetes' default profile and
// kernel.io_uring_disabled).

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "proactor/availability.hpp"
#include "test_support.hpp"

namespace {

using namespace aiocpp;

bool io_uring_here() { return detail::io_uring_unavailable_reason().empty(); }

// Sets AIOCPP_BACKEND for one test and puts back what was there.
class ScopedBackendVariable {
 public:
  explicit ScopedBackendVariable(const char* value) {
    if (const char* old = std::getenv("AIOCPP_BACKEND")) saved_ = old;
    if (value) {
      setenv("AIOCPP_BACKEND", value, 1);
    } else {
      unsetenv("AIOCPP_BACKEND");
    }
  }
  ~ScopedBackendVariable() {
    if (saved_) {
      setenv("AIOCPP_BACKEND", saved_->c_str(), 1);
    } else {
      unsetenv("AIOCPP_BACKEND");
    }
  }

 private:
  std::optional<std::string> saved_;
};

Backend backend_of_new_loop(LoopOptions options = {}) {
  std::shared_ptr<EventLoop> loop = new_event_loop(options);
  Backend backend = loop->backend();
  loop->close();
  return backend;
}

TEST(BackendNames, EachNameRoundTrips) {
  for (Backend backend : {Backend::selector, Backend::io_uring, Backend::automatic}) {
    EXPECT_EQ(backend_from_name(backend_name(backend)), backend);
  }
}

TEST(BackendNames, AWrongNameIsAValueErrorListingTheValidOnes) {
  try {
    backend_from_name("epoll");
    FAIL() << "no exception";
  } catch (const ValueError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("'epoll'"), std::string::npos) << what;
    EXPECT_NE(what.find("selector, io_uring and automatic"), std::string::npos) << what;
  }
}

TEST(BackendDefault, IsTheSelectorWithoutTheVariable) {
  aiocpp::testing::FdLeakCheck fds;
  ScopedBackendVariable unset(nullptr);
  EXPECT_EQ(backend_of_new_loop(), Backend::selector);
  ScopedBackendVariable empty("");
  EXPECT_EQ(backend_of_new_loop(), Backend::selector);
}

TEST(BackendDefault, TheVariableChoosesForLoopsThatDoNot) {
  aiocpp::testing::FdLeakCheck fds;
  {
    ScopedBackendVariable selector("selector");
    EXPECT_EQ(backend_of_new_loop(), Backend::selector);
  }
  ScopedBackendVariable automatic("automatic");
  EXPECT_EQ(backend_of_new_loop(), io_uring_here() ? Backend::io_uring : Backend::selector);
  // An explicit choice wins over the variable.
  EXPECT_EQ(backend_of_new_loop({.backend = Backend::selector}), Backend::selector);
}

TEST(BackendDefault, TheVariableNamingIoUringGivesIoUringOrItsError) {
  aiocpp::testing::FdLeakCheck fds;
  ScopedBackendVariable io_uring("io_uring");
  if (io_uring_here()) {
    EXPECT_EQ(backend_of_new_loop(), Backend::io_uring);
  } else {
    EXPECT_THROW(backend_of_new_loop(), RuntimeError);
  }
}

TEST(BackendDefault, AWrongNameInTheVariableIsAClearError) {
  aiocpp::testing::FdLeakCheck fds;
  ScopedBackendVariable wrong("uring");
  try {
    backend_of_new_loop();
    FAIL() << "no exception";
  } catch (const ValueError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("AIOCPP_BACKEND"), std::string::npos) << what;
    EXPECT_NE(what.find("'uring'"), std::string::npos) << what;
    EXPECT_NE(what.find("selector, io_uring and automatic"), std::string::npos) << what;
  }
  // A loop that chooses does not read it.
  EXPECT_EQ(backend_of_new_loop({.backend = Backend::selector}), Backend::selector);
}

TEST(BackendChoice, RunOptionsReachTheLoop) {
  auto which = []() -> Task<Backend> { co_return get_running_loop().backend(); };
  EXPECT_EQ(aiocpp::run(which(), {.loop = {.backend = Backend::selector}}), Backend::selector);
  EXPECT_EQ(aiocpp::run(which(), {.loop = {.backend = Backend::automatic}}),
            io_uring_here() ? Backend::io_uring : Backend::selector);
}

// --- io_uring refused by the kernel ---------------------------------------------------

#if defined(__x86_64__)
constexpr std::uint32_t this_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t this_arch = AUDIT_ARCH_AARCH64;
#else
constexpr std::uint32_t this_arch = 0;
#endif

// Makes io_uring_setup fail with `error` in this process (and its children)
// from now on, as a container's seccomp profile does. Returns false if the
// filter could not be installed.
bool refuse_io_uring_setup(int error) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(error) & 0xFFFF)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  // Unprivileged processes may install a filter only once they can gain no privileges.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0;
}

// In a forked child under the filter: what automatic chose, then what an
// explicit io_uring request said, as lines on the pipe.
std::string report_under_refusal(int error) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);  // a hang dies of SIGALRM, and the report is then incomplete
    close(out[0]);
    std::string report;
    if (!refuse_io_uring_setup(error)) {
      report = "no filter: " + std::string(std::strerror(errno)) + "\n";
    } else {
      try {
        report += "automatic: " +
                  std::string(backend_name(backend_of_new_loop({.backend = Backend::automatic}))) +
                  "\n";
        setenv("AIOCPP_BACKEND", "automatic", 1);
        report += "variable automatic: " + std::string(backend_name(backend_of_new_loop())) + "\n";
        backend_of_new_loop({.backend = Backend::io_uring});
        report += "io_uring: no error\n";
      } catch (const std::exception& e) {
        report += "io_uring: " + std::string(e.what()) + "\n";
      }
    }
    ssize_t written = write(out[1], report.data(), report.size());
    _exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  close(out[1]);
  aiocpp::testing::ChildProcess child;
  child.pid = pid;
  child.stdout_fd = out[0];
  std::string report = child.read_all(20.0);
  int status = child.wait(5.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  return report;
}

class RefusedIoUring : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (this_arch == 0) GTEST_SKIP() << "no seccomp architecture constant for this CPU";
    // Probe here, before forking: the child then inherits a cache that says
    // io_uring works, and must still find out when its ring is refused.
    detail::io_uring_unavailable_reason();
  }
};

TEST_P(RefusedIoUring, AutomaticFallsBackAndAnExplicitRequestSaysWhy) {
  aiocpp::testing::FdLeakCheck fds;
  int error = GetParam();
  std::string report = report_under_refusal(error);
  EXPECT_NE(report.find("automatic: selector\n"), std::string::npos) << report;
  EXPECT_NE(report.find("variable automatic: selector\n"), std::string::npos) << report;
  std::string expected = "io_uring: io_uring is not available: io_uring_queue_init failed: " +
                         std::string(std::strerror(error));
  EXPECT_NE(report.find(expected), std::string::npos) << report;
}

INSTANTIATE_TEST_SUITE_P(, RefusedIoUring, ::testing::Values(EPERM, ENOSYS),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == EPERM ? "EPERM" : "ENOSYS");
                         });

}  // namespace
