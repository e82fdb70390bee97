// add_reader / add_writer on epoll (asyncio's selector loop methods of the
// same names): a callback per descriptor and direction, run on each readiness.

#include <cerrno>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"

namespace aiocpp::detail {

class EpollBackend::FdWatcher final : public IoWatcher {
 public:
  FdWatcher(EpollBackend& backend, int fd) : backend_(backend), fd_(fd) {}

  void on_io(std::uint32_t events) override {
    bool failed = events & (EPOLLERR | EPOLLHUP);
    // Copies: a callback may remove or replace itself, or the other one.
    if ((events & EPOLLIN) || failed) run(Handle(reader), false);
    if ((events & EPOLLOUT) || failed) run(Handle(writer), true);
  }

  // Brings the epoll registration in line with the callbacks.
  void update() {
    std::uint32_t wanted =
        (reader ? std::uint32_t{EPOLLIN} : 0u) | (writer ? std::uint32_t{EPOLLOUT} : 0u);
    try {
      if (wanted == 0) {
        interest_.remove(backend_, fd_);
      } else {
        interest_.set(backend_, fd_, wanted, this);
      }
    } catch (const std::system_error& e) {
      if (e.code().value() != EEXIST) throw;
      throw RuntimeError("File descriptor " + std::to_string(fd_) +
                         " is used by a transport or server of this loop");
    }
  }

  Handle reader;
  Handle writer;

 private:
  void run(Handle handle, bool is_writer) {
    if (!handle) return;
    if (handle.cancelled()) {
      // asyncio drops a cancelled reader or writer when its fd is next ready.
      backend_.clear_fd_callback(fd_, is_writer);
      return;
    }
    Access::state(handle)->run();
  }

  EpollBackend& backend_;
  int fd_;
  EpollInterest interest_;
};

void EpollBackend::set_fd_callback(int fd, Handle callback, bool writer) {
  if (fd < 0) throw ValueError("Invalid file descriptor: " + std::to_string(fd));
  auto& slot = fd_watchers_[fd];
  bool created = !slot;
  if (created) slot = std::make_shared<FdWatcher>(*this, fd);
  Handle& target = writer ? slot->writer : slot->reader;
  Handle previous = std::move(target);
  target = std::move(callback);
  try {
    slot->update();
  } catch (...) {
    target = std::move(previous);
    if (created) fd_watchers_.erase(fd);
    throw;
  }
  previous.cancel();  // replaced, as asyncio cancels the old handle
}

bool EpollBackend::clear_fd_callback(int fd, bool writer) {
  auto it = fd_watchers_.find(fd);
  if (it == fd_watchers_.end()) return false;
  std::shared_ptr<FdWatcher> watcher = it->second;
  Handle& target = writer ? watcher->writer : watcher->reader;
  if (!target) return false;
  Handle removed = std::move(target);
  target = Handle();
  removed.cancel();
  try {
    watcher->update();
  } catch (...) {
    // The descriptor was closed before being removed: epoll already forgot it.
  }
  if (!watcher->reader && !watcher->writer) {
    fd_watchers_.erase(it);
    // Lifetime: freed on the next iteration, after any event of this batch.
    try {
      loop_.loop.call_soon([watcher = std::move(watcher)] {});
    } catch (...) {
    }
  }
  return true;
}

// Lifetime: the watcher's handle owns the Waiter, which owns the future; the
// future's done callback holds only a weak reference, so an abandoned wait
// (loop closed, watcher replaced by add_reader) leaves no cycle behind.
namespace {
struct Waiter {
  Future<void> ready;
};
}  // namespace

Future<void> EpollBackend::wait_ready(int fd, bool writable) {
  Future<void> ready = loop_.loop.create_future<void>();
  auto waiter = std::make_shared<Waiter>(Waiter{ready});
  HandleState* state = HandleState::make();
  state->loop = &loop_.loop;
  state->refs = 1;
  state->callback.emplace([waiter] {
    if (!waiter->ready.done()) waiter->ready.set_result();
  });
  Handle handle = Access::handle(Ref<HandleState>::adopt(state));
  set_fd_callback(fd, handle, writable);
  std::weak_ptr<Waiter> weak = waiter;
  ready.add_done_callback([this, fd, writable, weak, state] {
    // Still registered only while the waiter (owned by our handle) lives:
    // then `state` is our handle, not a recycled one.
    if (weak.expired()) return;
    auto it = fd_watchers_.find(fd);
    if (it == fd_watchers_.end()) return;
    Handle& current = writable ? it->second->writer : it->second->reader;
    if (Access::state(current) == state) clear_fd_callback(fd, writable);
  });
  return ready;
}

void EpollBackend::add_reader(int fd, Handle callback) {
  set_fd_callback(fd, std::move(callback), false);
}
bool EpollBackend::remove_reader(int fd) { return clear_fd_callback(fd, false); }
void EpollBackend::add_writer(int fd, Handle callback) {
  set_fd_callback(fd, std::move(callback), true);
}
bool EpollBackend::remove_writer(int fd) { return clear_fd_callback(fd, true); }

}  // namespace aiocpp::detail
