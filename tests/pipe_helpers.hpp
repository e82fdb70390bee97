#pragma once
// Helpers shared by the pipe and subprocess tests: protocols that record
// their calls and a check that no child is left (bounded waits and error
// helpers come from tcp_helpers.hpp).

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "tcp_helpers.hpp"  // complete, errno_of, describe, arrives

namespace pipe_test {

using namespace aiocpp;
using tcp_test::arrives;
using tcp_test::complete;
using tcp_test::describe;
using tcp_test::errno_of;

// Records every call of a read or write pipe: "CM", "DR", "ER", "CL", "PW", "RW".
class PipeRecorder : public Protocol {
 public:
  PipeRecorder() : lost(get_running_loop().create_future<void>()) {}
  void connection_made(ReadTransport& t) override {
    calls.push_back("CM");
    reader = &t;
  }
  void connection_made(WriteTransport& t) override {
    calls.push_back("CM");
    writer = &t;
  }
  void data_received(std::string_view data) override {
    if (calls.empty() || calls.back() != "DR") calls.push_back("DR");
    received.append(data);
    if (received.size() >= want_size) complete(want);
    if (throw_on_data) throw std::runtime_error("boom");
  }
  bool eof_received() override {
    calls.push_back("ER");
    return true;  // ignored by pipes
  }
  void connection_lost(std::exception_ptr e) override {
    calls.push_back("CL");
    error = e;
    complete(lost);
  }
  void pause_writing() override { calls.push_back("PW"); }
  void resume_writing() override {
    calls.push_back("RW");
    complete(resumed);
  }
  // Completes once `n` bytes have been received in total.
  Future<void> at_least(std::size_t n) {
    want = get_running_loop().create_future<void>();
    want_size = n;
    if (received.size() >= n) complete(want);
    return want;
  }

  ReadTransport* reader = nullptr;
  WriteTransport* writer = nullptr;
  std::vector<std::string> calls;
  std::string received;
  std::exception_ptr error;
  Future<void> lost;
  Future<void> resumed;
  Future<void> want;
  std::size_t want_size = 0;
  bool throw_on_data = false;
};

// {read end, write end}, both close-on-exec.
inline std::pair<int, int> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2 failed";
  return {fds[0], fds[1]};
}

// Fails the test if this process still has a child (running or unreaped).
inline void expect_no_children() {
  siginfo_t info{};
  int rc = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  EXPECT_TRUE(rc == -1 && errno == ECHILD)
      << "a child process was left behind (pid " << info.si_pid << ")";
}

// Records a subprocess protocol's calls: "CM", "D1", "D2" (pipe_data_received,
// repeats squeezed), "L0", "L1", "L2" (pipe_connection_lost), "PW", "RW"
// (stdin's flow control), "PE", "CL".
class ProcRecorder : public SubprocessProtocol {
 public:
  ProcRecorder()
      : done(get_running_loop().create_future<void>()),
        exited(get_running_loop().create_future<void>()) {}
  void connection_made(SubprocessTransport& t) override {
    calls.push_back("CM");
    transport = &t;
  }
  void pipe_data_received(int fd, std::string_view data) override {
    std::string call = "D" + std::to_string(fd);
    if (calls.empty() || calls.back() != call) calls.push_back(call);
    out[fd].append(data);
    if (!want_text.empty() && out[1].find(want_text) != std::string::npos) complete(want);
  }
  void pipe_connection_lost(int fd, std::exception_ptr error) override {
    calls.push_back("L" + std::to_string(fd));
    pipe_errors[fd] = error;
  }
  void pause_writing() override { calls.push_back("PW"); }
  void resume_writing() override { calls.push_back("RW"); }
  void process_exited() override {
    calls.push_back("PE");
    returncode = transport->get_returncode();
    complete(exited);
  }
  void connection_lost(std::exception_ptr error) override {
    calls.push_back("CL");
    lost_error = error;
    complete(done);
  }
  // Completes once stdout contains `text`.
  Future<void> stdout_has(std::string text) {
    want = get_running_loop().create_future<void>();
    want_text = std::move(text);
    if (out[1].find(want_text) != std::string::npos) complete(want);
    return want;
  }

  SubprocessTransport* transport = nullptr;
  std::vector<std::string> calls;
  std::string out[3];
  std::exception_ptr pipe_errors[3];
  std::exception_ptr lost_error;
  std::optional<int> returncode;  // as seen by process_exited
  Future<void> done;              // connection_lost
  Future<void> exited;            // process_exited
  Future<void> want;
  std::string want_text;
};

inline std::shared_ptr<ProcRecorder> proc_recorder() { return std::make_shared<ProcRecorder>(); }

// The write transport of a subprocess's stdin.
inline std::shared_ptr<WriteTransport> stdin_of(SubprocessTransport& t) {
  return std::dynamic_pointer_cast<WriteTransport>(t.get_pipe_transport(0));
}

inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

}  // namespace pipe_test
