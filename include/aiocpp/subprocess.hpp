#pragma once
// Subprocesses: asyncio's SubprocessProtocol and SubprocessTransport, the
// keyword arguments of loop.subprocess_exec / subprocess_shell, and the
// constants of asyncio.subprocess.
//
// The protocol sees, on the loop's thread and never re-entrantly:
//
//   connection_made(SubprocessTransport&)
//     [-> pipe_data_received(fd, data)]*        fd 1 (stdout) or 2 (stderr)
//     [-> pipe_connection_lost(fd, error)]*     once per pipe: 0, 1, 2
//     [-> process_exited()]                     when the child is reaped
//     -> connection_lost(nullptr)               once it is reaped and every pipe lost
//
// process_exited() may come before, between or after the pipes' calls (a
// grandchild can keep the child's stdout open), as in asyncio 3.11;
// get_returncode() is set from the same moment.

#include <sys/types.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiocpp/future.hpp"
#include "aiocpp/protocols.hpp"
#include "aiocpp/transports.hpp"

namespace aiocpp {

class SubprocessTransport;

namespace subprocess {
// Where a child's stdin / stdout / stderr go (asyncio.subprocess's values).
// Any descriptor >= 0 is given to the child as that stream (the caller keeps
// its own copy and closes it).
inline constexpr int PIPE = -1;     // a new pipe, reached with get_pipe_transport
inline constexpr int STDOUT = -2;   // stderr only: wherever stdout goes
inline constexpr int DEVNULL = -3;  // /dev/null
inline constexpr int INHERIT = -4;  // asyncio's None: the parent's own stream
}  // namespace subprocess

// Keyword arguments of subprocess_exec / subprocess_shell. The streams are
// spelled stdin_ / stdout_ / stderr_ because C libraries may define stdin,
// stdout and stderr as macros.
struct SubprocessOptions {
  int stdin_ = subprocess::PIPE;
  int stdout_ = subprocess::PIPE;
  int stderr_ = subprocess::PIPE;
  std::optional<std::string> cwd{};               // the child's working directory
  std::optional<std::vector<std::string>> env{};  // "NAME=value": the child's whole environment
  bool start_new_session = false;                 // setsid() in the child
  bool close_fds = true;                          // close descriptors above 2 in the child...
  std::vector<int> pass_fds{};                    // ... except these, kept open under their numbers
  // Python's user / group / extra_groups: the child drops to these ids
  // before exec (setgroups, then setregid, then setreuid; needs privilege).
  // As in Python, `user` alone keeps the parent's supplementary groups (root's
  // included): give extra_groups (empty for none) to drop them.
  std::optional<uid_t> user{};
  std::optional<gid_t> group{};
  std::optional<std::vector<gid_t>> extra_groups{};
};

class SubprocessTransport : public virtual BaseTransport {
 public:
  virtual int get_pid() const = 0;
  // Once the child has been reaped: its exit status, or -N when signal N killed it.
  virtual std::optional<int> get_returncode() const = 0;
  // The pipe transport of fd 0 (a WriteTransport), 1 or 2 (ReadTransports);
  // null when that stream is not a pipe or the transport is gone.
  virtual std::shared_ptr<BaseTransport> get_pipe_transport(int fd) const = 0;
  // Does nothing once the child has been reaped (there is no process left to
  // signal), and raises std::system_error with ESRCH (asyncio's
  // ProcessLookupError) once connection_lost has been called.
  virtual void send_signal(int signal) = 0;
  virtual void terminate() = 0;  // SIGTERM
  virtual void kill() = 0;       // SIGKILL
  // The return code: at once when the child has been reaped, otherwise once
  // connection_lost has been called (asyncio 3.11's transport._wait(), which
  // Process.wait() uses).
  virtual Future<int> wait() = 0;
  // close(): closes the pipes and kills the child if it is still running
  // (asyncio's behaviour); connection_lost follows once it has been reaped.
};

class SubprocessProtocol : public BaseProtocol {
 public:
  using BaseProtocol::connection_made;
  virtual void connection_made(SubprocessTransport& transport) { (void)transport; }
  // `data` from the child's stdout (fd 1) or stderr (fd 2), valid only during the call.
  virtual void pipe_data_received(int fd, std::string_view data) {
    (void)fd;
    (void)data;
  }
  // One of the child's pipes closed; `error` is null for a clean close.
  virtual void pipe_connection_lost(int fd, std::exception_ptr error) {
    (void)fd;
    (void)error;
  }
  // The child has exited and been reaped (its pipes may still be open).
  virtual void process_exited() {}
};

}  // namespace aiocpp
