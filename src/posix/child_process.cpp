#include "posix/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace aiocpp::detail {

bool ChildProcess::force_thread_watcher = false;

ChildProcess::ChildProcess(pid_t pid) : pid_(pid) {
  int fd = force_thread_watcher ? -1 : static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ready_ = UniqueFd(fd);
    return;
  }
  if (!force_thread_watcher && errno != ENOSYS) throw_os_error(errno, "pidfd_open");
  // No pidfds: a thread waits for this pid, leaving it unreaped, then
  // signals the eventfd. Lifetime: the thread only uses the eventfd, which
  // stays open until the thread has been joined (in finish()).
  use_pidfd_ = false;
  fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw_os_error(errno, "eventfd");
  ready_ = UniqueFd(fd);
  waiter_ = std::thread([pid, fd] {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR) {
    }
    std::uint64_t one = 1;
    ssize_t ignored = ::write(fd, &one, sizeof one);
    (void)ignored;
  });
}

ChildProcess::~ChildProcess() {
  if (waiter_.joinable()) {
    // Never reaped (should not happen): the thread may still use the eventfd.
    waiter_.detach();
    (void)ready_.release();
  }
}

void ChildProcess::finish() noexcept {
  reaped_ = true;
  if (waiter_.joinable()) waiter_.join();  // the child is gone: it returns at once
  ready_ = UniqueFd();
}

std::optional<int> ChildProcess::wait(bool block) {
  if (reaped_) return std::nullopt;
  siginfo_t info{};
  int flags = WEXITED | (block ? 0 : WNOHANG);
  int rc;
  do {
    rc = use_pidfd_ ? ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(ready_.get()),
                               &info, flags)
                    : ::waitid(P_PID, static_cast<id_t>(pid_), &info, flags);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    // ECHILD: someone else reaped it (a waitpid(-1) elsewhere); its status is lost.
    finish();
    return 255;
  }
  if (info.si_pid == 0) return std::nullopt;  // still running
  finish();
  if (info.si_code == CLD_EXITED) return info.si_status;
  return -info.si_status;  // CLD_KILLED, CLD_DUMPED
}

std::optional<int> ChildProcess::try_reap() { return wait(false); }

int ChildProcess::reap() {
  std::optional<int> code = wait(true);
  return code ? *code : 255;
}

int ChildProcess::send_signal(int signal) {
  if (reaped_) return ESRCH;
  // Unreaped, the pid cannot have been reused: kill() is as safe as the pidfd.
  int rc =
      use_pidfd_
          ? static_cast<int>(::syscall(SYS_pidfd_send_signal, ready_.get(), signal, nullptr, 0))
          : ::kill(pid_, signal);
  return rc == 0 ? 0 : errno;
}

}  // namespace aiocpp::detail
