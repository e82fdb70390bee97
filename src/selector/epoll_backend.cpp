#include "selector/epoll_backend.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"
#include "selector/datagram_transport.hpp"
#include "selector/socket_transport.hpp"

namespace aiocpp::detail {

EpollBackend::EpollBackend(LoopImpl& loop) : loop_(loop) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_os_error(errno, "epoll_create1");
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    int err = errno;
    ::close(epoll_fd_);
    throw_os_error(err, "eventfd");
  }
  wakeup_fd_ = efd;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, efd, &ev);
}

EpollBackend::~EpollBackend() { close(); }

void EpollBackend::close() noexcept {
  // Transports still open were released by EventLoop::close() with the
  // loop's other resources (LoopImpl::release_resources).
  // Pending connects can never complete now.
  auto connectors = std::move(connectors_);
  connectors_.clear();
  connectors.clear();
  // Reader and writer callbacks can never run again.
  auto watchers = std::move(fd_watchers_);
  fd_watchers_.clear();
  watchers.clear();
  // Listeners hold their servers; the servers' sockets close with them.
  auto listeners = std::move(listeners_);
  listeners_.clear();
  listeners.clear();
  if (wakeup_fd_ >= 0) ::close(wakeup_fd_);
  wakeup_fd_ = -1;
  if (epoll_fd_ >= 0) {
    ::close(epoll_fd_);
    epoll_fd_ = -1;
  }
}

void EpollBackend::wakeup() noexcept {
  // The loop's thread-safe queue calls this under its lock, and never after
  // the loop closed: the descriptor is still ours (ThreadsafeQueue).
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  ssize_t ignored = ::write(wakeup_fd_, &one, sizeof one);
  (void)ignored;
}

void EpollBackend::add(int fd, std::uint32_t events, IoWatcher* watcher) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watcher;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw_os_error(errno, "epoll_ctl(ADD) on fd " + std::to_string(fd));
  }
}

void EpollBackend::modify(int fd, std::uint32_t events, IoWatcher* watcher) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watcher;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    throw_os_error(errno, "epoll_ctl(MOD) on fd " + std::to_string(fd));
  }
}

void EpollBackend::remove(int fd) noexcept {
  if (epoll_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

// A loop that sleeps in epoll_wait whenever its ready connections are served
// loses to one that keeps going: on a loaded machine the sleeper wakes up
// behind whatever took its CPU meanwhile, and its peer pays for waking it.
// So while I/O keeps coming, a wait that could sleep first polls a few times
// (epoll_wait with a zero timeout). It showed on a TLS echo at 1 KiB, 10
// connections in a closed loop: Asio, whose handler queue makes it poll
// between handlers, slept in epoll_wait about once per 70 requests and
// aiocpp once per 16, and in a duel Asio served 1.8 times aiocpp's
// requests/s; with these polls aiocpp serves 1.33 times Asio's
// (bench/README.md, "Polling before sleeping"). The number of polls adapts:
// doubled (up to 64) while they find events, halved (down to 4) when they
// do not, so that a lone ping-pong connection, whose peer answers later than
// the polls last, costs a few polls per message, not 64.
void EpollBackend::poll(double timeout) {
  int n = 0;
  if (timeout != 0 && busy_) {
    for (int i = 0; i < poll_budget_ && n == 0; ++i) {
      n = epoll_wait(epoll_fd_, events_, max_events, 0);
    }
    poll_budget_ = n > 0 ? std::min(poll_budget_ * 2, max_polls_before_sleep)
                         : std::max(poll_budget_ / 2, min_polls_before_sleep);
  }
  if (n == 0) n = wait(timeout);
  // A zero-timeout poll that found nothing says nothing about the traffic.
  if (n > 0 || timeout != 0) busy_ = n > 0;
  if (n < 0) {
    if (errno == EINTR) return;
    throw_os_error(errno, "epoll_wait");
  }
  // With many connections, a watcher has usually left the cache since its
  // last event (the kernel's TCP work in between is far bigger than the
  // cache). Asking for all of this batch's watchers at once overlaps those
  // misses instead of taking them one after the other. Two lines each: a
  // socket transport keeps its per-message state in its first and third
  // lines (SocketTransport's layout). The third line's address is computed
  // as an integer: the wake-up event's pointer is null, and null + 128 is
  // undefined behaviour (Clang's UBSan reports it). A prefetch of any address
  // is harmless.
  for (int i = 0; i < n; ++i) {
    auto watcher = reinterpret_cast<std::uintptr_t>(events_[i].data.ptr);
    __builtin_prefetch(reinterpret_cast<const void*>(watcher));
    __builtin_prefetch(reinterpret_cast<const void*>(watcher + 128));
  }
  for (int i = 0; i < n; ++i) {
    auto* watcher = static_cast<IoWatcher*>(events_[i].data.ptr);
    if (!watcher) {
      std::uint64_t value;
      ssize_t ignored = ::read(wakeup_fd_, &value, sizeof value);
      (void)ignored;
      continue;
    }
    watcher->on_io(events_[i].events);
  }
}

// The wait proper, which may block: the hooks run around it.
int EpollBackend::wait(double timeout) {
  int n;
  // Around a wait that may block only (see Backend::BlockingWaitHooks).
  const bool hooked = timeout != 0 && blocking_wait_hooks_.before;
  if (hooked) blocking_wait_hooks_.before(blocking_wait_hooks_.arg);
#ifdef __GLIBC_PREREQ
#if __GLIBC_PREREQ(2, 35)
  if (have_pwait2_) {
    timespec ts;
    timespec* tsp = nullptr;
    if (timeout >= 0) {
      double whole = std::floor(timeout);
      ts.tv_sec = static_cast<time_t>(whole);
      ts.tv_nsec = static_cast<long>((timeout - whole) * 1e9);
      tsp = &ts;
    }
    n = epoll_pwait2(epoll_fd_, events_, max_events, tsp, nullptr);
    if (n < 0 && errno == ENOSYS) {
      have_pwait2_ = false;
    } else {
      goto done;
    }
  }
#endif
#endif
  {
    int ms = -1;
    if (timeout >= 0) ms = static_cast<int>(std::min(std::ceil(timeout * 1e3), 2147483647.0));
    n = epoll_wait(epoll_fd_, events_, max_events, ms);
  }
done:
  if (hooked) {
    int err = errno;  // the hook must not change what the wait reported
    blocking_wait_hooks_.after(blocking_wait_hooks_.arg);
    errno = err;
  }
  return n;
}

}  // namespace aiocpp::detail
