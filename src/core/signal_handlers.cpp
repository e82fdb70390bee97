#include "core/signal_handlers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "core/loop_impl.hpp"
#include "posix/signal_relay.hpp"

namespace aiocpp::detail {

void check_signal_number(int sig) {
  if (sig < 1 || sig >= NSIG) {
    throw ValueError("sig " + std::to_string(sig) + " out of range(1, " + std::to_string(NSIG) +
                     ")");
  }
}

void SignalHandlers::add(int sig, Handle handle) {
  check_signal_number(sig);
  open_pipe();
  relay_signal(sig, write_end_.get());
  auto [it, inserted] = handlers_.try_emplace(sig, handle);
  if (!inserted) {
    it->second.cancel();
    it->second = std::move(handle);
  }
}

bool SignalHandlers::remove(int sig) {
  auto it = handlers_.find(sig);
  if (it == handlers_.end()) return false;
  Handle removed = std::move(it->second);
  handlers_.erase(it);
  release_signal(sig, write_end_.get());
  removed.cancel();
  return true;
}

void SignalHandlers::remove_all() noexcept {
  for (auto& [sig, handle] : handlers_) {
    release_signal(sig, write_end_.get());
    handle.cancel();
  }
  handlers_.clear();
  if (read_end_) {
    try {
      loop_.backend->remove_reader(read_end_.get());
    } catch (...) {
    }
  }
  read_end_ = UniqueFd();
  write_end_ = UniqueFd();
}

void SignalHandlers::open_pipe() {
  if (read_end_) return;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw_os_error(errno, "pipe2");
  read_end_ = UniqueFd(fds[0]);
  write_end_ = UniqueFd(fds[1]);
  HandleState* state = HandleState::make();
  state->loop = &loop_.loop;
  state->refs = 1;
  state->callback.emplace([this] { read_pipe(); });
  try {
    loop_.backend->add_reader(read_end_.get(), Access::handle(Ref<HandleState>::adopt(state)));
  } catch (...) {
    read_end_ = UniqueFd();
    write_end_ = UniqueFd();
    throw;
  }
}

// Runs the handler of each signal that arrived, once per arrival, in order.
void SignalHandlers::read_pipe() {
  unsigned char numbers[256];
  for (;;) {
    ssize_t n = ::read(read_end_.get(), numbers, sizeof numbers);
    if (n <= 0) return;  // drained (EAGAIN), or interrupted: the next wake-up retries
    for (ssize_t i = 0; i < n; ++i) {
      auto it = handlers_.find(numbers[i]);
      if (it == handlers_.end()) continue;  // removed since it arrived
      Handle handle = it->second;           // a handler may remove or replace itself
      if (handle.cancelled()) {
        // asyncio drops a cancelled handler when its signal next arrives.
        remove(numbers[i]);
        continue;
      }
      Access::state(handle)->run();
    }
    if (n < static_cast<ssize_t>(sizeof numbers)) return;
  }
}

}  // namespace aiocpp::detail

namespace aiocpp {

void EventLoop::set_signal_handler(int sig, Handle callback) {
  impl_->check_open();
  if (!impl_->signals) impl_->signals = std::make_unique<detail::SignalHandlers>(*impl_);
  impl_->signals->add(sig, std::move(callback));
}

bool EventLoop::remove_signal_handler(int sig) {
  detail::check_signal_number(sig);
  return impl_->signals && impl_->signals->remove(sig);
}

}  // namespace aiocpp
