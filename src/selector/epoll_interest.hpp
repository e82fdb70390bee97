#pragma once
// What a descriptor has registered with epoll, kept in step with what its
// owner wants: every transport, and add_reader / add_writer. Changing it
// costs an epoll_ctl, so set() does nothing when nothing changes (no
// epoll_ctl per message on a healthy connection).

#include <sys/epoll.h>
#include <unistd.h>

#include <cstdint>

#include "selector/epoll_backend.hpp"

namespace aiocpp::detail {

class EpollInterest {
 public:
  // Makes epoll report `wanted` (EPOLLIN / EPOLLOUT) for `fd` to `watcher`.
  // Throws what epoll_ctl throws, and then counts as not registered: the
  // descriptor may have been closed behind its owner's back (EBADF), and the
  // owner's error path, which comes back here to stop watching, must not
  // fail again (it recursed without end before).
  void set(EpollBackend& backend, int fd, std::uint32_t wanted, IoWatcher* watcher) {
    if (registered_ && wanted == events_) return;
    if (!registered_) {
      if (wanted == 0) return;
      backend.add(fd, wanted, watcher);
      registered_ = true;
    } else {
      try {
        backend.modify(fd, wanted, watcher);
      } catch (...) {
        remove(backend, fd);
        throw;
      }
    }
    events_ = wanted;
  }

  // What to act on when epoll reports an error or hang-up (EPOLLERR /
  // EPOLLHUP), which repeats until handled: when nothing is wanted, the
  // descriptor stops being watched (set() adds it again when needed) and no
  // event is returned; otherwise it counts as every wanted event, so that
  // recv / send report what happened. Kept off the fast path: callers test
  // the two bits first.
  std::uint32_t on_error(EpollBackend& backend, int fd, std::uint32_t events) {
    if (!(events_ & (EPOLLIN | EPOLLOUT))) {
      remove(backend, fd);
      return 0;
    }
    return events | events_;
  }

  // Whether `event` is wanted now (a callback may have changed that).
  bool wants(std::uint32_t event) const noexcept { return events_ & event; }

  // Stops watching, before the descriptor is closed.
  void remove(EpollBackend& backend, int fd) noexcept {
    if (registered_) backend.remove(fd);
    forget();
  }
  // The descriptor was closed with the epoll set: nothing to remove.
  void forget() noexcept {
    registered_ = false;
    events_ = 0;
  }

  // A transport's descriptor: stops watching it, closes it, and sets `fd` to
  // -1 (nothing to do when it already is).
  void close(EpollBackend& backend, int& fd) noexcept {
    if (fd < 0) return;
    remove(backend, fd);
    ::close(fd);
    fd = -1;
  }
  // The same when the loop is closing: the epoll set goes with the loop.
  void close_with_loop(int& fd) noexcept {
    if (fd < 0) return;
    ::close(fd);
    fd = -1;
    forget();
  }

 private:
  std::uint32_t events_ = 0;
  bool registered_ = false;
};

}  // namespace aiocpp::detail
