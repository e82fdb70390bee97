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
  // selector/sock_ops.cpp
  Task<std::size_t> sock_recv(int fd, std::span<char> buffer) override;
  Task<std::pair<std::size_t, SocketAddress>> sock_recvfrom(int fd,
                                                            std::span<char> buffer) override;
  Task<std::size_t> sock_send(int fd, std::span<const char> data) override;
  Task<std::size_t> sock_sendto(int fd, std::span<const char> data, SocketAddress address) override;
  Task<std::pair<int, SocketAddress>> sock_accept(int fd) override;
  Future<void> sock_connect(int fd, const SocketAddress& address) override;
  Task<std::size_t> sock_sendfile(int fd, int file, std::int64_t offset,
                                  std::optional<std::size_t> count) override;
  // Completes once `fd` is readable (writable); cancelling the future stops
  // watching it. The selector's building block of the sock_* operations.
  Future<void> wait_ready(int fd, bool writable);
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

  // One receive buffer per loop, the backend's: every transport reads into
  // it, and data_received sees a view of it (asyncio reads up to 256 KiB at
  // a time). A completion backend keeps buffers of its own instead.
  static constexpr std::size_t read_buffer_size = 256 * 1024;
  char* read_buffer() noexcept { return read_buffer_.get(); }

 private:
  class Listener;
  class Connector;
  class FdWatcher;
  void set_fd_callback(int fd, Handle callback, bool writer);
  int wait(double timeout);
  bool clear_fd_callback(int fd, bool writer);

  LoopImpl& loop_;
  std::unique_ptr<char[]> read_buffer_{new char[read_buffer_size]};
  int epoll_fd_ = -1;
  // Written by other threads only through wakeup(), which the loop calls under
  // its thread-safe queue's lock and never once it has closed.
  int wakeup_fd_ = -1;
  bool have_pwait2_ = true;
  // The last poll returned events: the next one polls briefly before it
  // may sleep (see poll()).
  bool busy_ = false;
  static constexpr int min_polls_before_sleep = 4, max_polls_before_sleep = 64;
  int poll_budget_ = max_polls_before_sleep;
  static constexpr int max_events = 256;
  epoll_event events_[max_events];
  std::unordered_map<int, std::shared_ptr<Listener>> listeners_;
  std::unordered_map<Connector*, std::shared_ptr<Connector>> connectors_;
  std::unordered_map<int, std::shared_ptr<FdWatcher>> fd_watchers_;
};

}  // namespace aiocpp::detail
