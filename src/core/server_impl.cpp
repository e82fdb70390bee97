#include "core/server_impl.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "aiocpp/tasks.hpp"
#include "core/loop_impl.hpp"
#include "tls/ssl_protocol.hpp"
#include "tls/ssl_transport.hpp"

namespace aiocpp::detail {

ServerImpl::ServerImpl(EventLoop& loop, std::vector<int> sockets, ProtocolFactory factory,
                       int backlog)
    : loop_(loop), sockets_(std::move(sockets)), factory_(std::move(factory)), backlog_(backlog) {}

ServerImpl::~ServerImpl() {
  // Only reached once no listener holds us, so nothing is being served.
  for (int fd : sockets_) ::close(fd);
}

std::vector<TransportSocket> ServerImpl::sockets() const {
  std::vector<TransportSocket> out;
  for (int fd : sockets_) out.emplace_back(fd);
  return out;
}

void ServerImpl::start_serving_now() {
  if (serving_ || closed_) return;
  serving_ = true;
  for (int fd : sockets_) {
    impl_of(loop_).backend->start_serving(std::static_pointer_cast<ServerImpl>(shared_from_this()),
                                          fd, backlog_);
  }
}

void ServerImpl::close() {
  if (closed_) return;
  closed_ = true;
  std::vector<int> sockets = std::move(sockets_);
  sockets_.clear();
  for (int fd : sockets) {
    if (!impl_of(loop_).closed) impl_of(loop_).backend->stop_serving(fd);
    ::close(fd);
  }
  serving_ = false;
  if (!unix_path_.empty()) {
    struct stat st;
    if (::stat(unix_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == unix_device_ &&
        st.st_ino == unix_inode_) {
      ::unlink(unix_path_.c_str());
    }
    unix_path_.clear();
  }
  if (serving_forever_.valid() && !serving_forever_.done()) serving_forever_.cancel();
  if (clients_.empty()) wake_waiters();
}

void ServerImpl::detach(Transport* transport) noexcept {
  clients_.erase(transport);
  if (clients_.empty() && closed_) wake_waiters();
}

void ServerImpl::close_clients() {
  // A copy: closing never detaches at once (connection_lost comes later),
  // but an exception from one close() must not leave the set half-walked.
  std::vector<Transport*> clients(clients_.begin(), clients_.end());
  for (Transport* t : clients) {
    // A TLS connection closes through its TLS transport, which sends
    // close_notify first: closing the socket under it would end the
    // session as a truncation in the client's eyes.
    if (auto* tls = dynamic_cast<SSLProtocol*>(t->get_protocol().get())) {
      tls->app_transport()->close();
    } else {
      t->close();
    }
  }
}

void ServerImpl::abort_clients() {
  std::vector<Transport*> clients(clients_.begin(), clients_.end());
  for (Transport* t : clients) t->abort();
}

void ServerImpl::wake_waiters() {
  waiters_done_ = true;
  std::vector<Future<void>> waiters = std::move(waiters_);
  waiters_.clear();
  if (impl_of(loop_).closed) return;  // the loop is gone: nobody can be woken
  for (auto& w : waiters) {
    if (!w.done()) w.set_result();
  }
}

Task<void> ServerImpl::start_serving() {
  start_serving_now();
  // One loop iteration, so the listeners are in place when this returns.
  return aiocpp::sleep(0);
}

Task<void> ServerImpl::wait_closed() {
  return wait_closed_impl(std::static_pointer_cast<ServerImpl>(shared_from_this()));
}

Task<void> ServerImpl::wait_closed_impl(std::shared_ptr<ServerImpl> self) {
  if (self->waiters_done_) co_return;
  Future<void> waiter = self->loop_.create_future<void>();
  self->waiters_.push_back(waiter);
  co_await waiter;
}

Task<void> ServerImpl::serve_forever() {
  if (serving_forever_.valid()) {
    throw RuntimeError("server is already being awaited on serve_forever()");
  }
  if (closed_) throw RuntimeError("server is closed");
  return serve_forever_impl(std::static_pointer_cast<ServerImpl>(shared_from_this()));
}

Task<void> ServerImpl::serve_forever_impl(std::shared_ptr<ServerImpl> self) {
  if (self->serving_forever_.valid()) {
    throw RuntimeError("server is already being awaited on serve_forever()");
  }
  if (self->closed_) throw RuntimeError("server is closed");
  self->start_serving_now();
  self->serving_forever_ = self->loop_.create_future<void>();
  std::optional<CancelledError> cancelled;
  try {
    co_await self->serving_forever_;
  } catch (const CancelledError& e) {
    cancelled = e;
  }
  // Cancelled (or the server was closed): close, wait, and re-raise.
  bool closed_by_close = self->closed_;
  self->close();
  // A cancelled serve_forever (Ctrl-C under aiocpp::run, a signal handler)
  // means "stop serving now": waiting for every client, as wait_closed does,
  // would keep the program alive as long as any client cares to stay
  // (cpython#123720). So ask the clients to close, and abort those whose
  // unsent output still holds them after a grace period. An explicit close()
  // leaves the clients alone, as before: the caller may want them served.
  TimerHandle abort_timer;
  if (!closed_by_close) {
    self->close_clients();
    auto abort_clients = [self] { self->abort_clients(); };
    abort_timer = self->loop_.call_later(serve_forever_grace_period, abort_clients);
  }
  std::exception_ptr closing_error;
  try {
    co_await self->wait_closed();
  } catch (...) {
    closing_error = std::current_exception();
  }
  abort_timer.cancel();
  self->serving_forever_ = {};
  if (closing_error) std::rethrow_exception(closing_error);
  throw cancelled.value_or(CancelledError());
}

void ServerImpl::report_accept_failure(int fd) noexcept {
  ExceptionContext context;
  context.message = "Error on transport creation for incoming connection";
  context.exception = std::current_exception();
  context.socket = fd;
  loop_.call_exception_handler(context);
}

}  // namespace aiocpp::detail
