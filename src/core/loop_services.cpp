// EventLoop methods that hand work to the backend or to other threads:
// descriptor watchers, executors, name resolution.

#include <netdb.h>

#include <thread>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp {

Handle EventLoop::unscheduled(detail::HandleState* state) {
  state->refs = 1;
  return detail::Access::handle(detail::Ref<detail::HandleState>::adopt(state));
}

void EventLoop::watch_fd(int fd, Handle callback, bool writer) {
  impl_->check_open();
  if (writer) {
    impl_->backend->add_writer(fd, std::move(callback));
  } else {
    impl_->backend->add_reader(fd, std::move(callback));
  }
}

bool EventLoop::remove_reader(int fd) {
  if (impl_->closed) return false;
  return impl_->backend->remove_reader(fd);
}

bool EventLoop::remove_writer(int fd) {
  if (impl_->closed) return false;
  return impl_->backend->remove_writer(fd);
}

Executor& EventLoop::executor_for(Executor* executor) {
  impl_->check_open();
  return executor ? *executor : impl_->default_executor();
}

void EventLoop::set_default_executor(std::shared_ptr<Executor> executor) {
  impl_->default_executor_ = std::move(executor);
}

Task<void> EventLoop::shutdown_default_executor() {
  detail::LoopImpl& s = *impl_;
  s.executor_shutdown_called = true;
  std::shared_ptr<Executor> executor = s.default_executor_;
  if (!executor) co_return;
  // Joining the workers blocks, so it happens on a thread of its own while
  // the loop keeps running (asyncio does the same).
  Future<void> done = create_future<void>();
  // Lifetime: `done` stays on the loop's thread, in the reply (see LoopReply).
  std::shared_ptr<detail::LoopReply> reply = reply_on_loop([done]() mutable {
    if (!done.done()) done.set_result();
  });
  std::thread joiner([executor, reply] {
    executor->shutdown(true);
    reply->send();
  });
  std::exception_ptr failed;
  try {
    co_await done;
  } catch (...) {
    failed = std::current_exception();
  }
  joiner.join();
  if (failed) std::rethrow_exception(failed);
}

Task<void> EventLoop::shutdown_asyncgens() { co_return; }

Task<std::vector<AddrInfo>> EventLoop::getaddrinfo(std::optional<std::string> host, int port,
                                                   AddrInfoOptions options) {
  return [](EventLoop* loop, std::optional<std::string> host, int port,
            AddrInfoOptions options) -> Task<std::vector<AddrInfo>> {
    auto lookup = [host, port, options] {
      return detail::getaddrinfo_blocking(host ? &*host : nullptr, port, options.family,
                                          options.type, options.proto, options.flags);
    };
    co_return co_await loop->run_in_executor(nullptr, lookup);
  }(this, std::move(host), port, options);
}

Task<std::pair<std::string, std::string>> EventLoop::getnameinfo(SocketAddress address, int flags) {
  return [](EventLoop* loop, SocketAddress address,
            int flags) -> Task<std::pair<std::string, std::string>> {
    auto lookup = [address, flags] {
      char host[NI_MAXHOST];
      char service[NI_MAXSERV];
      int rc = ::getnameinfo(address.data(), address.size(), host, sizeof host, service,
                             sizeof service, flags);
      if (rc != 0) {
        if (rc == EAI_SYSTEM) detail::throw_os_error(errno, "getnameinfo");
        throw std::system_error(rc, gai_category(), "getnameinfo(" + address.to_string() + ")");
      }
      return std::pair<std::string, std::string>(host, service);
    };
    co_return co_await loop->run_in_executor(nullptr, lookup);
  }(this, std::move(address), flags);
}

}  // namespace aiocpp
