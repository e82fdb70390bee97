#include "posix/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace aiocpp::detail {

ChildProcess::ChildProcess(pid_t pid) : pid_(pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) throw_os_error(errno, "pidfd_open(" + std::to_string(pid) + ")");
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // pidfds are close-on-exec already; make sure
  pidfd_ = UniqueFd(fd);
}

std::optional<int> ChildProcess::wait(bool block) {
  if (!pidfd_) return std::nullopt;
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                  WEXITED | (block ? 0 : WNOHANG));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    // ECHILD: someone else reaped it (a waitpid(-1) elsewhere); its status is lost.
    pidfd_ = UniqueFd();
    return 255;
  }
  if (info.si_pid == 0) return std::nullopt;  // still running
  pidfd_ = UniqueFd();
  if (info.si_code == CLD_EXITED) return info.si_status;
  return -info.si_status;  // CLD_KILLED, CLD_DUMPED
}

std::optional<int> ChildProcess::try_reap() { return wait(false); }

int ChildProcess::reap() {
  std::optional<int> code = wait(true);
  return code ? *code : 255;
}

bool ChildProcess::send_signal(int signal) {
  if (!pidfd_) return false;
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0) == 0) return true;
  return errno != ESRCH;
}

}  // namespace aiocpp::detail
