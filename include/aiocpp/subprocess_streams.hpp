#pragma once
// asyncio's subprocess module: a child process whose standard streams are
// a StreamWriter (stdin) and StreamReaders (stdout, stderr).
//
//   Process proc = co_await aiocpp::create_subprocess_exec(
//       {"/bin/sort"}, {.stdin_ = subprocess::PIPE, .stdout_ = subprocess::PIPE});
//   auto [out, err] = co_await proc.communicate("b\na\n");   // out == "a\nb\n"
//   int code = co_await proc.wait();
//
// As in asyncio, a stream is not piped unless asked for: the defaults of
// ProcessOptions are subprocess::INHERIT (Python's None), unlike
// loop.subprocess_exec's SubprocessOptions, whose defaults are PIPE.
//
// A Process is a small handle (shared pointers to the transport and the
// streams): copy it freely; every copy refers to the same child.
//
// Deadlock: wait() alone does not read the pipes, so a child that fills
// its stdout pipe while nobody reads it never exits; communicate() reads
// stdout and stderr while it feeds stdin, and never blocks this way.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aiocpp/future.hpp"
#include "aiocpp/streams.hpp"
#include "aiocpp/subprocess.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

namespace detail {
class SubprocessStreamProtocol;
}

// Keyword arguments of create_subprocess_exec / create_subprocess_shell:
// SubprocessOptions' fields with asyncio's defaults for this module, plus
// the readers' limit.
struct ProcessOptions {
  int stdin_ = subprocess::INHERIT;
  int stdout_ = subprocess::INHERIT;
  int stderr_ = subprocess::INHERIT;
  long limit = stream_default_limit;  // of the stdout and stderr readers
  std::optional<std::string> cwd{};
  std::optional<std::vector<std::string>> env{};
  bool start_new_session = false;
  bool close_fds = true;
  std::vector<int> pass_fds{};
  std::optional<uid_t> user{};
  std::optional<gid_t> group{};
  std::optional<std::vector<gid_t>> extra_groups{};
};

// What communicate() returns: each stream's whole output, or nullopt when
// that stream is not a pipe (asyncio's None).
struct Communicated {
  std::optional<std::string> stdout_;
  std::optional<std::string> stderr_;
};

class Process {
 public:
  Process(std::shared_ptr<SubprocessTransport> transport,
          std::shared_ptr<detail::SubprocessStreamProtocol> protocol);

  // The child's streams; null where ProcessOptions did not ask for a pipe.
  std::shared_ptr<StreamWriter> stdin_;
  std::shared_ptr<StreamReader> stdout_;
  std::shared_ptr<StreamReader> stderr_;
  pid_t pid;

  // Once the child has been reaped: its exit status, or -N for signal N.
  std::optional<int> returncode() const { return transport_->get_returncode(); }
  // The return code: at once if the child has been reaped, otherwise once it
  // has exited and its pipes are closed (asyncio 3.11's Process.wait()).
  Future<int> wait() { return transport_->wait(); }
  // Writes `input` (if any) to stdin and closes it, reads stdout and stderr
  // to EOF, all at once, then waits for the exit. A child that stops
  // reading its stdin early (EPIPE, ECONNRESET) is not an error.
  Task<Communicated> communicate(std::optional<std::string> input = std::nullopt);
  // Nothing once the child has been reaped; ProcessLookupError (a
  // std::system_error with ESRCH) once its transport is finished.
  void send_signal(int signal) { transport_->send_signal(signal); }
  void terminate() { transport_->terminate(); }
  void kill() { transport_->kill(); }

 private:
  std::shared_ptr<SubprocessTransport> transport_;
  std::shared_ptr<detail::SubprocessStreamProtocol> protocol_;
};

// Runs argv[0] (looked up in PATH when it has no '/') with argv.
Task<Process> create_subprocess_exec(std::vector<std::string> argv, ProcessOptions options = {});
// Runs `cmd` with /bin/sh -c.
Task<Process> create_subprocess_shell(std::string cmd, ProcessOptions options = {});

}  // namespace aiocpp
