#pragma once
// The selector backend: readiness I/O with epoll (level-triggered), an
// eventfd to wake the loop from other threads.

#include <sys/epoll.h>

#include <atomic>
#include <memory>
#include <unordered_map>

#include "core/backend.hpp"

namespace aiocpp::detail {

class LoopImpl;
class SocketTransport;
class SelectorDatagramTransport;

// Something registered with epoll. epoll_event.data.ptr points at it.
// Lifetime: a watcher stays alive until the loop iteration after it was
// removed from epoll, so events already fetched in this batch never dangle.
class IoWatcher {
 public:
  virtual void on_io(std::uint32_t events) = 0;

 protected:
  ~IoWatcher() = default;
};

class EpollBackend final : public IoBackend {
 public:
  explicit EpollBackend(LoopImpl& loop);
  ~EpollBackend() override;

  [[gnu::hot]] void poll(double timeout) override;
  void wakeup() noexcept override;
  void close() noexcept override;

  std::shared_ptr<Transport> make_socket_transport(int fd, std::shared_ptr<BaseProtocol> protocol,
                                                   Future<void> waiter,
                                                   std::shared_ptr<ServerImpl> server) override;
  // Datagram endpoints.
  std::shared_ptr<DatagramTransport> make_datagram_transport(
      int fd, std::shared_ptr<DatagramProtocol> protocol, std::optional<SocketAddress> address,
      Future<void> waiter) override;
  void start_serving(std::shared_ptr<ServerImpl> server, int listen_fd, int backlog) override;
  void stop_serving(int listen_fd) override;
  Future<void> sock_connect(int fd, const SocketAddress& address) override;
  Future<void> wait_ready(int fd, bool writable) override;
  SendfileTarget* sendfile_target(Transport& transport) override;
  void add_reader(int fd, Handle callback) override;
  bool remove_reader(int fd) override;
  void add_writer(int fd, Handle callback) override;
  bool remove_writer(int fd) override;

  // --- pipes (selector/pipe_transport.cpp) -------------------------------------------
  std::shared_ptr<ReadTransport> make_read_pipe_transport(int fd,
                                                          std::shared_ptr<BaseProtocol> protocol,
                                                          Future<void> waiter) override;
  std::shared_ptr<WriteTransport> make_write_pipe_transport(int fd,
                                                            std::shared_ptr<BaseProtocol> protocol,
                                                            Future<void> waiter) override;
  // --- end pipes ----------------------------------------------------------------------

  // Registration: `events` of 0 keeps the fd registered but silent.
  void add(int fd, std::uint32_t events, IoWatcher* watcher);
  void modify(int fd, std::uint32_t events, IoWatcher* watcher);
  void remove(int fd) noexcept;

  LoopImpl& loop() noexcept { return loop_; }

 private:
  class Listener;
  class Connector;
  class FdWatcher;
  void set_fd_callback(int fd, Handle callback, bool writer);
  bool clear_fd_callback(int fd, bool writer);

  LoopImpl& loop_;
  int epoll_fd_ = -1;
  // Written by other threads only through wakeup(), which the loop calls under
  // its thread-safe queue's lock and never once it has closed.
  int wakeup_fd_ = -1;
  bool have_pwait2_ = true;
  static constexpr int max_events = 256;
  epoll_event events_[max_events];
  std::unordered_map<int, std::shared_ptr<Listener>> listeners_;
  std::unordered_map<Connector*, std::shared_ptr<Connector>> connectors_;
  std::unordered_map<int, std::shared_ptr<FdWatcher>> fd_watchers_;
};

}  // namespace aiocpp::detail
