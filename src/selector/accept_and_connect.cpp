// Accepting (create_server) and connecting (create_connection) on epoll.

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/loop_impl.hpp"
#include "core/server_impl.hpp"
#include "posix/socket_ops.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"
#include "selector/socket_transport.hpp"

namespace aiocpp::detail {

// Accepts on one listening socket of a server. While it exists it keeps the
// server alive, as asyncio's reader callback keeps its Server.
class EpollBackend::Listener final : public IoWatcher {
 public:
  Listener(EpollBackend& backend, std::shared_ptr<ServerImpl> server, int fd, int backlog)
      : backend_(backend), server_(std::move(server)), fd_(fd), backlog_(backlog) {}

  void start() {
    if (::listen(fd_, backlog_) != 0) throw_os_error(errno, "listen");
    interest_.set(backend_, fd_, EPOLLIN, this);
  }

  void stop() noexcept {
    retry_.cancel();
    interest_.remove(backend_, fd_);
    stopped_ = true;
  }

  void on_io(std::uint32_t) override {
    if (stopped_) return;
    // Up to `backlog` connections per wake-up, as asyncio does.
    for (int i = 0; i < backlog_; ++i) {
      SocketAddress peer;
      socklen_t len = SocketAddress::capacity();
      int fd = ::accept4(fd_, peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (would_block(err) || err == ECONNABORTED) return;
        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
          out_of_resources(err);
          return;
        }
        ExceptionContext context;
        context.message = "socket.accept() failed";
        context.exception = std::make_exception_ptr(os_error(err, "accept"));
        context.socket = fd_;
        backend_.loop().loop.call_exception_handler(context);
        return;
      }
      peer.set_size(len);
      accepted(fd, peer);
      if (stopped_) return;  // a protocol closed the server
    }
  }

 private:
  // Out of descriptors or memory: stop accepting for a second rather than
  // spin on a listening socket that stays readable (asyncio's ACCEPT_RETRY_DELAY).
  void out_of_resources(int err) {
    ExceptionContext context;
    context.message = "socket.accept() out of system resource";
    context.exception = std::make_exception_ptr(os_error(err, "accept"));
    context.socket = fd_;
    backend_.loop().loop.call_exception_handler(context);
    interest_.remove(backend_, fd_);
    retry_ = backend_.loop().loop.call_later(1.0, [this] {
      if (stopped_ || interest_.wants(EPOLLIN)) return;
      interest_.set(backend_, fd_, EPOLLIN, this);
    });
  }

  void accepted(int fd, const SocketAddress& peer) {
    server_->accepted(fd, [&](int sock, std::shared_ptr<BaseProtocol> protocol) {
      auto transport =
          std::make_shared<SocketTransport>(backend_, sock, std::move(protocol), server_, &peer);
      transport->start(transport, Future<void>());
    });
  }

  EpollBackend& backend_;
  std::shared_ptr<ServerImpl> server_;
  int fd_;
  int backlog_;
  EpollInterest interest_;
  bool stopped_ = false;
  TimerHandle retry_;
};

void EpollBackend::start_serving(std::shared_ptr<ServerImpl> server, int listen_fd, int backlog) {
  auto listener = std::make_shared<Listener>(*this, std::move(server), listen_fd, backlog);
  listener->start();
  listeners_[listen_fd] = std::move(listener);
}

void EpollBackend::stop_serving(int listen_fd) {
  auto it = listeners_.find(listen_fd);
  if (it == listeners_.end()) return;
  std::shared_ptr<Listener> listener = std::move(it->second);
  listeners_.erase(it);
  listener->stop();
  // Lifetime: freed on the next iteration, after any event of this batch.
  loop_.loop.call_soon([listener = std::move(listener)] {});
}

// Waits for a non-blocking connect() to finish.
// Lifetime: owned by EpollBackend::connectors_ while it watches the socket;
// the future's done callback holds only a weak reference.
class EpollBackend::Connector final : public IoWatcher {
 public:
  Connector(EpollBackend& backend, int fd, SocketAddress address, Future<void> done)
      : backend_(backend), fd_(fd), address_(std::move(address)), done_(std::move(done)) {}

  void on_io(std::uint32_t) override {
    if (finished_) return;
    int err = connect_result(fd_);
    Future<void> done = done_;
    finish();  // may free this
    if (done.done()) return;
    if (err != 0) {
      done.set_exception(connect_error(err, address_));
    } else {
      done.set_result();
    }
  }

  // Waits for writability: the connect() has then finished, one way or the other.
  void watch() { interest_.set(backend_, fd_, EPOLLOUT, this); }

  // Stops watching the socket and leaves it to its owner.
  void finish() noexcept {
    if (finished_) return;
    finished_ = true;
    interest_.remove(backend_, fd_);
    // Lifetime: dropping the map's reference frees us after the current
    // batch of events, since the erase is deferred through the loop.
    auto it = backend_.connectors_.find(this);
    if (it != backend_.connectors_.end()) {
      std::shared_ptr<Connector> owned = std::move(it->second);
      backend_.connectors_.erase(it);
      try {
        backend_.loop().loop.call_soon([owned = std::move(owned)] {});
      } catch (...) {
        // The loop is closed: no batch is being dispatched, free it now.
      }
    }
  }

 private:
  EpollBackend& backend_;
  int fd_;
  SocketAddress address_;
  Future<void> done_;
  EpollInterest interest_;
  bool finished_ = false;
};

Future<void> EpollBackend::sock_connect(int fd, const SocketAddress& address) {
  Future<void> done = loop_.loop.create_future<void>();
  int err = connect_now(fd, address);
  if (err != EINPROGRESS) {
    if (err == 0) {
      done.set_result();
    } else {
      done.set_exception(connect_error(err, address));
    }
    return done;
  }
  auto connector = std::make_shared<Connector>(*this, fd, address, done);
  connector->watch();
  connectors_[connector.get()] = connector;
  // A cancelled connect stops watching, so the socket can be closed safely.
  done.add_done_callback([weak = std::weak_ptr<Connector>(connector)] {
    if (auto c = weak.lock()) c->finish();
  });
  return done;
}

}  // namespace aiocpp::detail
