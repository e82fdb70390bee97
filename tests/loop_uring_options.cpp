// The io_uring backend's LoopOptions: what each one changes, and the
// environment variable that only moves a default.

#include <cstdlib>
#include <optional>
#include <string>

#include "core/loop_impl.hpp"
#include "proactor/availability.hpp"
#include "proactor/uring_backend.hpp"
#include "test_support.hpp"

namespace {

using namespace aiocpp;

class UringOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& refused = detail::io_uring_unavailable_reason();
    if (!refused.empty()) GTEST_SKIP() << refused;
  }
  aiocpp::testing::FdLeakCheck fds_;
};

// Sets an environment variable for one test and puts back what was there.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    setenv(name, value, 1);
  }
  ~ScopedVariable() {
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

// Whether a new io_uring loop made with `options` receives into the shared
// pool of buffers.
bool has_buffer_ring(LoopOptions options) {
  options.backend = Backend::io_uring;
  std::shared_ptr<EventLoop> loop = new_event_loop(options);
  auto& backend = static_cast<detail::UringBackend&>(*detail::impl_of(*loop).backend);
  bool found = backend.buffer_ring() != nullptr;
  loop->close();
  return found;
}

TEST_F(UringOptions, TheBufferRingIsUsedByDefaultAndLeftOutOnRequest) {
  ScopedVariable unset("AIOCPP_URING_BUFFER_RING", "");
  if (!has_buffer_ring({.io_uring_buffer_ring = true})) {
    GTEST_SKIP() << "the kernel has no incremental provided-buffer rings (Linux 6.12)";
  }
  EXPECT_TRUE(has_buffer_ring({}));
  EXPECT_FALSE(has_buffer_ring({.io_uring_buffer_ring = false}));
}

TEST_F(UringOptions, TheEnvironmentVariableMovesOnlyTheBufferRingsDefault) {
  if (!has_buffer_ring({.io_uring_buffer_ring = true})) {
    GTEST_SKIP() << "the kernel has no incremental provided-buffer rings (Linux 6.12)";
  }
  ScopedVariable off("AIOCPP_URING_BUFFER_RING", "0");
  EXPECT_FALSE(has_buffer_ring({}));
  EXPECT_TRUE(has_buffer_ring({.io_uring_buffer_ring = true}));
}

}  // namespace
