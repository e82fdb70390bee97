// Accepting (create_server) on io_uring: one multishot accept per listening
// socket, each completion a new connection.

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/loop_impl.hpp"
#include "core/server_impl.hpp"
#include "posix/socket_ops.hpp"
#include "proactor/socket_transport.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

// While it exists it keeps the server alive, as asyncio's accept future
// keeps its Server.
// Lifetime: owned by UringBackend::listeners_ while serving, then by keep_
// until the accept's final completion (stop_serving cancels it).
class UringBackend::Listener final : public Completion {
 public:
  Listener(UringBackend& backend, std::shared_ptr<ServerImpl> server, int fd, int backlog)
      : backend_(backend), server_(std::move(server)), fd_(fd), backlog_(backlog) {}

  void start(std::shared_ptr<Listener> self) {
    if (::listen(fd_, backlog_) != 0) throw_os_error(errno, "listen");
    self_ = std::move(self);
    arm();
    backend_.claim(fd_);
  }

  void stop() noexcept {
    if (stopped_) return;
    stopped_ = true;
    backend_.unclaim(fd_);
    retry_.cancel();
    if (armed_ && !backend_.closed()) {
      // The accept in flight holds the socket open until its cancellation
      // completes: shut it down now, so that new connections are refused at
      // once, as when the selector's server closes the socket.
      ::shutdown(fd_, SHUT_RDWR);
      try {
        backend_.cancel(this);
      } catch (...) {
      }
    }
    if (!armed_) self_.reset();  // may free this
  }

  void complete(int res, std::uint32_t flags) override {
    bool more = flags & IORING_CQE_F_MORE;
    if (!more) armed_ = false;
    if (res >= 0) {
      if (stopped_ || backend_.closed()) {
        ::close(res);  // came after stop_serving: nobody takes it
      } else {
        accepted(res);
      }
    } else if (res != -ECANCELED && !stopped_) {
      failed(-res);
    }
    if (armed_) return;
    if (stopped_ || backend_.closed()) {
      std::shared_ptr<Listener> last = std::move(self_);  // may free this
      return;
    }
    if (!retry_) arm();
  }

 private:
  void arm() {
    // No address buffer: a multishot accept would share one between its
    // connections; the transport asks getpeername instead.
    backend_.submit(this, [this](io_uring_sqe* sqe) {
      io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    armed_ = true;
  }

  void failed(int err) {
    if (err == EAGAIN || err == EINTR || err == ECONNABORTED) return;
    ExceptionContext context;
    context.exception = std::make_exception_ptr(os_error(err, "accept"));
    context.socket = fd_;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Out of descriptors or memory: stop accepting for a second
      // (asyncio's ACCEPT_RETRY_DELAY) rather than spin.
      context.message = "socket.accept() out of system resource";
      backend_.loop().loop.call_exception_handler(context);
      if (armed_) backend_.cancel(this);
      retry_ = backend_.loop().loop.call_later(1.0, [this] {
        retry_ = TimerHandle();
        if (!stopped_ && !armed_) arm();
      });
      return;
    }
    context.message = "socket.accept() failed";
    backend_.loop().loop.call_exception_handler(context);
  }

  void accepted(int fd) {
    server_->accepted(fd, [&](int sock, std::shared_ptr<BaseProtocol> protocol) {
      auto transport =
          std::make_shared<ProactorSocketTransport>(backend_, sock, std::move(protocol), server_);
      transport->start(transport, Future<void>());
    });
  }

  UringBackend& backend_;
  std::shared_ptr<ServerImpl> server_;
  int fd_;
  int backlog_;
  bool armed_ = false;
  bool stopped_ = false;
  TimerHandle retry_;
  std::shared_ptr<Listener> self_;
};

void UringBackend::start_serving(std::shared_ptr<ServerImpl> server, int listen_fd, int backlog) {
  auto listener = std::make_shared<Listener>(*this, std::move(server), listen_fd, backlog);
  listener->start(listener);
  listeners_[listen_fd] = std::move(listener);
}

void UringBackend::stop_serving(int listen_fd) {
  auto it = listeners_.find(listen_fd);
  if (it == listeners_.end()) return;
  std::shared_ptr<Listener> listener = std::move(it->second);
  listeners_.erase(it);
  listener->stop();
}

}  // namespace aiocpp::detail
