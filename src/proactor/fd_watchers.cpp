// add_reader / add_writer on io_uring: a one-shot poll per descriptor,
// re-armed after its callbacks ran. One-shot rather than multishot: asyncio's
// callbacks are level-triggered (they run again while the descriptor stays
// readable), and a new poll checks the current state, where a multishot one
// would wait for the next wake-up.

#include <fcntl.h>
#include <poll.h>

#include <cerrno>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

// Lifetime: owned by fd_watchers_ while a callback is set, and by keep_
// while its poll is in flight (until that poll's completion).
class UringBackend::FdWatcher final : public Completion {
 public:
  FdWatcher(UringBackend& backend, int fd) : backend_(backend), fd_(fd) {}

  // Arms a poll for what the callbacks want, or cancels the one in flight
  // when that changed (its completion re-arms with the new mask).
  void update(std::shared_ptr<FdWatcher> self) {
    unsigned wanted = this->wanted();
    if (armed_) {
      if (armed_mask_ != wanted && !cancelling_) {
        backend_.cancel(this);
        cancelling_ = true;
      }
      return;
    }
    if (wanted == 0) return;
    backend_.submit(
        this, [this, wanted](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd_, wanted); });
    armed_ = true;
    armed_mask_ = wanted;
    keep_ = std::move(self);
  }

  void complete(int res, std::uint32_t) override {
    std::shared_ptr<FdWatcher> self = std::move(keep_);  // may be the last reference
    armed_ = false;
    cancelling_ = false;
    if (backend_.closed()) return;
    if (res > 0) {
      bool failed = res & (POLLERR | POLLHUP | POLLNVAL);
      // Copies: a callback may remove or replace itself, or the other one.
      if ((res & POLLIN) || failed) run(Handle(reader), false);
      if ((res & POLLOUT) || failed) run(Handle(writer), true);
      if (res & POLLNVAL) return;  // closed behind our back: do not spin
    }
    try {
      update(self);
    } catch (...) {
      // The queue is full: the loop is in trouble already.
    }
  }

  Handle reader;
  Handle writer;

 private:
  unsigned wanted() const noexcept {
    return (reader ? unsigned{POLLIN} : 0u) | (writer ? unsigned{POLLOUT} : 0u);
  }

  void run(Handle handle, bool is_writer) {
    if (!handle) return;
    if (handle.cancelled()) {
      // asyncio drops a cancelled reader or writer when its fd is next ready.
      backend_.clear_fd_callback(fd_, is_writer);
      return;
    }
    Access::state(handle)->run();
  }

  UringBackend& backend_;
  int fd_;
  bool armed_ = false;
  bool cancelling_ = false;
  unsigned armed_mask_ = 0;
  std::shared_ptr<FdWatcher> keep_;
};

void UringBackend::set_fd_callback(int fd, Handle callback, bool writer) {
  if (fd < 0) throw ValueError("Invalid file descriptor: " + std::to_string(fd));
  check_unclaimed(fd);
  // A poll on a closed descriptor would only fail at its completion: say it now.
  if (::fcntl(fd, F_GETFD) < 0) throw_os_error(errno, "add_reader/add_writer");
  auto& slot = fd_watchers_[fd];
  if (!slot) slot = std::make_shared<FdWatcher>(*this, fd);
  std::shared_ptr<FdWatcher> watcher = slot;
  Handle& target = writer ? watcher->writer : watcher->reader;
  Handle previous = std::move(target);
  target = std::move(callback);
  watcher->update(watcher);
  previous.cancel();  // replaced, as asyncio cancels the old handle
}

bool UringBackend::clear_fd_callback(int fd, bool writer) {
  auto it = fd_watchers_.find(fd);
  if (it == fd_watchers_.end()) return false;
  std::shared_ptr<FdWatcher> watcher = it->second;
  Handle& target = writer ? watcher->writer : watcher->reader;
  if (!target) return false;
  Handle removed = std::move(target);
  target = Handle();
  removed.cancel();
  if (!watcher->reader && !watcher->writer) fd_watchers_.erase(it);
  try {
    watcher->update(watcher);  // cancels the poll; its completion lets go
  } catch (...) {
  }
  return true;
}

void UringBackend::add_reader(int fd, Handle callback) {
  set_fd_callback(fd, std::move(callback), false);
}
bool UringBackend::remove_reader(int fd) { return clear_fd_callback(fd, false); }
void UringBackend::add_writer(int fd, Handle callback) {
  set_fd_callback(fd, std::move(callback), true);
}
bool UringBackend::remove_writer(int fd) { return clear_fd_callback(fd, true); }

}  // namespace aiocpp::detail
