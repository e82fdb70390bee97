#include "posix/signal_relay.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <string>

#include "aiocpp/errors.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

namespace {

// The wake-up descriptor per signal, plus one, so that the zero-initialised
// table means "nobody". Lifetime: a loop clears its entries before closing
// its pipe; a handler that read the old value just before that may still
// write one byte to it, the same window asyncio and libuv accept.
std::atomic<int> wakeup_fds[NSIG];

struct Saved {
  bool valid = false;
  struct sigaction action {};
};
Saved saved_actions[NSIG];
std::mutex table_mutex;  // relay_signal / release_signal, never the handler

extern "C" void relay_handler(int sig) {
  int saved_errno = errno;
  int fd = wakeup_fds[sig].load(std::memory_order_relaxed) - 1;
  if (fd >= 0) {
    unsigned char number = static_cast<unsigned char>(sig);
    // A full pipe already holds a wake-up; losing this byte loses only a
    // repeat of a signal that is pending anyway, as with the kernel's own.
    [[maybe_unused]] ssize_t ignored = ::write(fd, &number, 1);
  }
  errno = saved_errno;
}

}  // namespace

void relay_signal(int sig, int wakeup_fd) {
  std::lock_guard lock(table_mutex);
  struct sigaction action {};
  action.sa_handler = relay_handler;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  struct sigaction previous {};
  wakeup_fds[sig].store(wakeup_fd + 1, std::memory_order_relaxed);
  if (sigaction(sig, &action, &previous) != 0) {
    int err = errno;
    wakeup_fds[sig].store(0, std::memory_order_relaxed);
    if (err == EINVAL) throw RuntimeError("sig " + std::to_string(sig) + " cannot be caught");
    throw_os_error(err, "sigaction(" + std::to_string(sig) + ")");
  }
  // Re-registering (another loop, or the same one) keeps the original action.
  if (!saved_actions[sig].valid) saved_actions[sig] = Saved{true, previous};
}

void release_signal(int sig, int wakeup_fd) noexcept {
  std::lock_guard lock(table_mutex);
  // Another loop took the signal over since: it is that loop's to release.
  if (wakeup_fds[sig].load(std::memory_order_relaxed) != wakeup_fd + 1) return;
  wakeup_fds[sig].store(0, std::memory_order_relaxed);
  if (!saved_actions[sig].valid) return;
  sigaction(sig, &saved_actions[sig].action, nullptr);
  saved_actions[sig].valid = false;
}

}  // namespace aiocpp::detail
