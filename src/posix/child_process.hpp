#pragma once
// One child process of ours. Where the kernel has pidfds (Linux 5.3+) it is
// held by one: signals reach exactly this process, reaping
// (waitid(P_PIDFD)) takes exactly its status, never another child's, and the
// pidfd turns readable when it exits. Elsewhere a thread waits for this pid
// without reaping it (waitid(WNOWAIT), asyncio's ThreadedChildWatcher idea)
// and then makes an eventfd readable; the loop reaps this pid only.

#include <sys/types.h>

#include <optional>
#include <thread>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

class ChildProcess {
 public:
  // Takes charge of `pid`, a child not yet reaped.
  explicit ChildProcess(pid_t pid);
  ChildProcess(ChildProcess&&) = default;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  // Readable once the child has exited (its pidfd, or the waiter's eventfd).
  int ready_fd() const noexcept { return ready_.get(); }
  bool reaped() const noexcept { return reaped_; }
  bool uses_pidfd() const noexcept { return use_pidfd_; }

  // The return code (exit status, or -N for signal N) if the child has
  // exited, reaping it; nullopt while it runs.
  std::optional<int> try_reap();
  // Waits (blocking) for the child to exit and reaps it.
  int reap();
  // 0, or the errno: ESRCH once the child has been reaped.
  int send_signal(int signal);

  // Tests only: watch children with the waiter thread even where pidfds work.
  static bool force_thread_watcher;

 private:
  std::optional<int> wait(bool block);
  void finish() noexcept;

  pid_t pid_ = -1;
  bool use_pidfd_ = true;
  bool reaped_ = false;
  UniqueFd ready_;
  std::thread waiter_;  // without pidfds only
};

}  // namespace aiocpp::detail
