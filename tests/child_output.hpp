#pragma once
// Talking to a child process started with aiocpp::testing::spawn: feeding its
// stdin, reading its (merged) output with bounded waits, and describing how
// it ended. Used by the tests that run the example programs.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <string_view>

#include "test_support.hpp"

namespace aiocpp::testing {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Feeds `text` to the child's stdin and closes it, so that the programs that
// call input() see exactly these lines and then the end of stdin.
inline void feed_stdin(ChildProcess& child, std::string_view text) {
  if (child.stdin_fd < 0) return;
  // A child that already exited would make write() raise SIGPIPE: block it
  // for the write and discard it if it came.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  while (!text.empty()) {
    ssize_t n = write(child.stdin_fd, text.data(), text.size());
    if (n <= 0) break;
    text.remove_prefix(static_cast<size_t>(n));
  }
  timespec zero{};
  sigtimedwait(&pipe_set, nullptr, &zero);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(child.stdin_fd);
  child.stdin_fd = -1;
}

// A child's stdout and stderr (merged by spawn), read as it comes with bounded waits.
class Output {
 public:
  explicit Output(ChildProcess& child) : fd_(child.stdout_fd) {}

  // Reads until `text` has appeared; false on timeout or EOF.
  bool wait_for(std::string_view text, double timeout = 5.0) {
    double deadline = now() + timeout;
    while (text_.find(text) == std::string::npos) {
      if (!read_some(deadline)) return text_.find(text) != std::string::npos;
    }
    return true;
  }

  // Reads until `text` has appeared `count` times; false on timeout or EOF.
  bool wait_for_count(std::string_view text, std::size_t count, double timeout = 5.0) {
    double deadline = now() + timeout;
    while (occurrences(text) < count) {
      if (!read_some(deadline)) return occurrences(text) >= count;
    }
    return true;
  }

  // Reads what the child writes for `duration` seconds (so that it never
  // blocks on a full pipe meanwhile).
  void read_for(double duration) {
    double deadline = now() + duration;
    while (read_some(deadline)) {
    }
  }

  std::size_t occurrences(std::string_view text) const {
    std::size_t n = 0;
    for (std::size_t at = text_.find(text); at != std::string::npos;
         at = text_.find(text, at + text.size())) {
      ++n;
    }
    return n;
  }

  // Reads until `re` matches; the match's first group, or "" on timeout or EOF.
  std::string wait_for(const std::regex& re, double timeout = 5.0) {
    double deadline = now() + timeout;
    std::smatch match;
    while (!std::regex_search(text_, match, re)) {
      if (!read_some(deadline)) return "";
    }
    return match[1].str();
  }

  // Reads until EOF; false on timeout.
  bool read_to_eof(double timeout = 10.0) {
    double deadline = now() + timeout;
    while (!eof_) {
      if (!read_some(deadline)) return eof_;
    }
    return true;
  }

  const std::string& text() const { return text_; }

 private:
  bool read_some(double deadline) {
    if (eof_) return false;
    int left_ms = static_cast<int>((deadline - now()) * 1000);
    if (left_ms <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    text_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string text_;
  bool eof_ = false;
};

inline std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

inline bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace aiocpp::testing
