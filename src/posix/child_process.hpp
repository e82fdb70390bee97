#pragma once
// One child process of ours, held by a pidfd (Linux 5.3+): signals reach
// exactly this process, and reaping (waitid(P_PIDFD)) takes exactly its
// status, never another child's. The pidfd turns readable when it exits.

#include <sys/types.h>

#include <optional>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

class ChildProcess {
 public:
  // Takes charge of `pid`, a child not yet reaped. std::system_error
  // (ENOSYS on kernels without pidfd_open).
  explicit ChildProcess(pid_t pid);
  ChildProcess(ChildProcess&&) = default;
  ChildProcess& operator=(ChildProcess&&) = default;

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }
  bool reaped() const noexcept { return !pidfd_; }

  // The return code (exit status, or -N for signal N) if the child has
  // exited, reaping it; nullopt while it runs.
  std::optional<int> try_reap();
  // Waits (blocking) for the child to exit and reaps it.
  int reap();
  // false once the child has been reaped or is gone.
  bool send_signal(int signal);

 private:
  std::optional<int> wait(bool block);

  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

}  // namespace aiocpp::detail
