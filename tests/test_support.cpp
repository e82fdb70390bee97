#include "test_support.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "proactor/availability.hpp"

namespace aiocpp::testing {

int connect_loopback(int port, int receive_timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{receive_timeout, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect_retrying(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << "connect to port " << port << ": " << std::strerror(errno);
  return fd;
}

ssize_t recv_retrying(int fd, void* buffer, std::size_t size, int flags) {
  ssize_t n;
  do {
    n = ::recv(fd, buffer, size, flags);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t send_retrying(int fd, const void* data, std::size_t size, int flags) {
  ssize_t n;
  do {
    n = ::send(fd, data, size, flags);
  } while (n < 0 && errno == EINTR);
  return n;
}

int connect_retrying(int fd, const sockaddr* address, socklen_t length) {
  if (::connect(fd, address, length) == 0) return 0;
  if (errno != EINTR) return -1;
  // The handshake goes on: wait for it to end, then ask how it ended.
  pollfd p{fd, POLLOUT, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, 10'000);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) errno = ETIMEDOUT;
  if (ready <= 0) return -1;
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return -1;
  if (error != 0) {
    errno = error;
    return -1;
  }
  return 0;
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return fds;
  int self = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    int fd = std::atoi(entry->d_name);
    if (fd != self) fds.insert(fd);
  }
  closedir(dir);
  return fds;
}

FdLeakCheck::~FdLeakCheck() {
  std::set<int> after = open_fds();
  std::string leaked;
  for (int fd : after) {
    if (!before_.count(fd)) {
      char path[64];
      char target[256] = {};
      snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(path, target, sizeof target - 1);
      leaked += " " + std::to_string(fd) + "->" + (n > 0 ? std::string(target, n) : "?");
    }
  }
  EXPECT_TRUE(leaked.empty()) << "leaked file descriptors:" << leaked;
}

std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv, bool pipe_stdin) {
  int out[2];
  int in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (pipe_stdin && pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    if (pipe_stdin) dup2(in[0], 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  if (pipe_stdin) close(in[0]);
  auto child = std::make_unique<ChildProcess>();
  child->pid = pid;
  child->stdout_fd = out[0];
  child->stdin_fd = in[1];
  return child;
}

static double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int ChildProcess::wait(double timeout) {
  if (pid < 0) return -1;
  double deadline = now_seconds() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (now_seconds() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "child " << pid << " did not exit within " << timeout << "s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid = -1;
  return status;
}

void ChildProcess::kill() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    pid = -1;
  }
}

std::string ChildProcess::read_all(double timeout) {
  std::string out;
  double deadline = now_seconds() + timeout;
  char buf[4096];
  while (stdout_fd >= 0) {
    int left_ms = static_cast<int>((deadline - now_seconds()) * 1000);
    if (left_ms <= 0) break;
    pollfd p{stdout_fd, POLLIN, 0};
    if (poll(&p, 1, left_ms) <= 0) break;
    ssize_t n = read(stdout_fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string ChildProcess::read_line(double timeout) {
  std::string line;
  double deadline = now_seconds() + timeout;
  char c;
  while (stdout_fd >= 0) {
    int left_ms = static_cast<int>((deadline - now_seconds()) * 1000);
    if (left_ms <= 0) break;
    pollfd p{stdout_fd, POLLIN, 0};
    if (poll(&p, 1, left_ms) <= 0) break;
    if (read(stdout_fd, &c, 1) != 1) break;
    if (c == '\n') break;
    line += c;
  }
  return line;
}

ChildProcess::~ChildProcess() {
  kill();
  if (stdout_fd >= 0) close(stdout_fd);
  if (stdin_fd >= 0) close(stdin_fd);
}

std::string backend_skip_reason(Backend backend, Feature feature) {
  if (backend != Backend::io_uring) return {};
  const std::string& refused = detail::io_uring_unavailable_reason();
  if (!refused.empty()) return refused;
  switch (feature) {
    case Feature::stream_sockets:
    case Feature::datagrams:
    case Feature::pipes:
      return {};  // io_uring has them all
  }
  return {};
}

LoopOptions uring_variant_options() {
  const char* variant = std::getenv("AIOCPP_TEST_URING_VARIANT");
  if (variant == nullptr || *variant == '\0') return {};
  if (std::strcmp(variant, "without_buffer_ring") == 0) {
    return LoopOptions{.io_uring_buffer_ring = false};
  }
  if (std::strcmp(variant, "single_thread") == 0)
    return LoopOptions{.io_uring_single_thread = true};
  ADD_FAILURE() << "AIOCPP_TEST_URING_VARIANT: unknown variant '" << variant << "'";
  return {};
}

std::string backend_param_name(const ::testing::TestParamInfo<Backend>& info) {
  return std::string(aiocpp::backend_name(info.param));
}

void loop_run_until_stopped(EventLoop& loop, double timeout) {
  bool expired = false;
  TimerHandle watchdog = loop.call_later(timeout, [&loop, &expired] {
    expired = true;
    loop.stop();
  });
  loop.run_forever();
  watchdog.cancel();
  EXPECT_FALSE(expired) << "the loop was not stopped within " << timeout << " s";
}

Task<int> sleep_then(double delay, int value) {
  co_await aiocpp::sleep(delay);
  co_return value;
}

Task<int> fail_after(double delay, std::string what) {
  co_await aiocpp::sleep(delay);
  throw std::runtime_error(what);
}

Task<int> wait_forever(bool* cancelled) {
  Future<int> never = get_running_loop().create_future<int>();
  try {
    co_return co_await never;
  } catch (const CancelledError&) {
    if (cancelled) *cancelled = true;
    throw;
  }
}

bool is_cancelled_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace aiocpp::testing

namespace aiocpp::testing {

SocketPair::SocketPair(int type) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  a = detail::UniqueFd(fds[0]);
  b = detail::UniqueFd(fds[1]);
}

detail::UniqueFd temp_file_with(const std::string& content) {
  char path[] = "/tmp/aiocpp_test_XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::unlink(path);
  EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::lseek(fd, 0, SEEK_SET);
  return detail::UniqueFd(fd);
}

std::string byte_pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('A' + i % 51);
  return s;
}

}  // namespace aiocpp::testing
