#pragma once
// The proactor backend: completion I/O with io_uring (asyncio's
// ProactorEventLoop). Operations are prepared as submission queue entries
// during an iteration and submitted all at once by the next poll(), which
// waits for completions and dispatches each to its Completion.

#include <liburing.h>

#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "aiocpp/event_loop.hpp"
#include "core/backend.hpp"
#include "core/poll_budget.hpp"
#include "proactor/availability.hpp"
#include "proactor/buffer_ring.hpp"
#include "proactor/completion.hpp"

namespace aiocpp::detail {

class LoopImpl;

class UringBackend final : public IoBackend {
 public:
  UringBackend(LoopImpl& loop, const LoopOptions& options);
  ~UringBackend() override;

  void poll(double timeout) override;
  void wakeup() noexcept override;
  void close() noexcept override;
  // LoopOptions::io_uring_single_thread: RuntimeError on a thread that is
  // not the ring's issuer (see IoBackend).
  void check_run_here() override;
  void check_close_here() override;
  void abandon_thread() noexcept override { abandoned_ = true; }

  // proactor/socket_transport.cpp
  std::shared_ptr<Transport> make_socket_transport(int fd, std::shared_ptr<BaseProtocol> protocol,
                                                   Future<void> waiter,
                                                   std::shared_ptr<ServerImpl> server) override;
  SendfileTarget* sendfile_target(Transport& transport) override;
  // proactor/datagram_transport.cpp
  std::shared_ptr<DatagramTransport> make_datagram_transport(
      int fd, std::shared_ptr<DatagramProtocol> protocol, std::optional<SocketAddress> address,
      Future<void> waiter) override;
  // proactor/read_pipe_transport.cpp, proactor/write_pipe_transport.cpp
  std::shared_ptr<ReadTransport> make_read_pipe_transport(int fd,
                                                          std::shared_ptr<BaseProtocol> protocol,
                                                          Future<void> waiter) override;
  std::shared_ptr<WriteTransport> make_write_pipe_transport(int fd,
                                                            std::shared_ptr<BaseProtocol> protocol,
                                                            Future<void> waiter) override;
  // proactor/listener.cpp
  void start_serving(std::shared_ptr<ServerImpl> server, int listen_fd, int backlog) override;
  void stop_serving(int listen_fd) override;
  // proactor/sock_ops.cpp
  Task<std::size_t> sock_recv(int fd, std::span<char> buffer) override;
  Task<std::pair<std::size_t, SocketAddress>> sock_recvfrom(int fd,
                                                            std::span<char> buffer) override;
  Task<std::size_t> sock_send(int fd, std::span<const char> data) override;
  Task<std::size_t> sock_sendto(int fd, std::span<const char> data, SocketAddress address) override;
  Task<std::pair<int, SocketAddress>> sock_accept(int fd) override;
  Future<void> sock_connect(int fd, const SocketAddress& address) override;
  Task<std::size_t> sock_sendfile(int fd, int file, std::int64_t offset,
                                  std::optional<std::size_t> count) override;
  // Completes once `fd` polls writable: sendfile(2)'s wait when the socket is full.
  Future<void> wait_writable(int fd);
  // proactor/fd_watchers.cpp
  void add_reader(int fd, Handle callback) override;
  bool remove_reader(int fd) override;
  void add_writer(int fd, Handle callback) override;
  bool remove_writer(int fd) override;

  // Queues an operation completing to `completion`: `prep` fills its
  // submission queue entry (io_uring_prep_*), which the next poll() submits
  // with the others of this iteration (or at once, when the queue is full).
  // The operation counts as in flight until its final completion.
  template <class Prep>
  void submit(Completion* completion, Prep&& prep) {
    io_uring_sqe* sqe = next_sqe();
    prep(sqe);
    io_uring_sqe_set_data(sqe, completion);
    ++in_flight_;
  }
  // Asks the kernel to cancel the operation completing to `completion`; its
  // completion still comes (-ECANCELED, or its result if it won the race).
  void cancel(Completion* completion);
  // A one-shot poll on `fd` for `events` (POLLIN / POLLOUT).
  void poll_once(int fd, unsigned events, Completion* completion);

  // Descriptors a transport or server of this loop owns: add_reader and the
  // sock_* operations refuse them (asyncio's _ensure_fd_no_transport), as
  // the selector does when epoll says it watches them already.
  void claim(int fd) { ++claimed_[fd]; }
  void unclaim(int fd) noexcept;
  void check_unclaimed(int fd) const;
  // Closes a transport's claimed descriptor and sets it to -1. The kernel
  // holds its own reference to the file for the operations still in
  // flight: the descriptor can go before they complete.
  void close_claimed(int& fd) noexcept;

  // The pool multishot receives pick their buffers from; null when the
  // kernel has none to offer (receives then use their own buffers).
  BufferRing* buffer_ring() noexcept { return buffer_ring_.ready() ? &buffer_ring_ : nullptr; }

  LoopImpl& loop() noexcept { return loop_; }
  bool closed() const noexcept { return closed_; }

 private:
  class Listener;
  class FdWatcher;
  class WakeupRead;
  // Enables a single-thread ring on its first use, binding it to this
  // thread; false on any other thread. Always true without the option.
  bool on_issuer_thread() noexcept;
  io_uring_sqe* next_sqe();
  void dispatch_completions();
  void arm_wakeup();
  void drain_in_flight() noexcept;
  void set_fd_callback(int fd, Handle callback, bool writer);
  bool clear_fd_callback(int fd, bool writer);

  LoopImpl& loop_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool closed_ = false;
  // LoopOptions::io_uring_single_thread: made disabled, enabled (and bound
  // to issuer_) by the first thread that runs or closes the loop.
  bool single_thread_ = false;
  bool enabled_ = true;
  bool abandoned_ = false;  // closing on another thread anyway (a destructor)
  std::thread::id issuer_{};
  // Operations submitted (or prepared) whose final completion has not come.
  std::size_t in_flight_ = 0;
  // The last poll found completions: the next one polls briefly before it
  // may sleep (see poll()).
  bool busy_ = false;
  PollBudget poll_budget_;
  // Written by other threads only through wakeup(), which the loop calls under
  // its thread-safe queue's lock and never once it has closed.
  int wakeup_fd_ = -1;
  std::unique_ptr<WakeupRead> wakeup_read_;
  BufferRing buffer_ring_;
  std::unordered_map<int, std::shared_ptr<Listener>> listeners_;
  std::unordered_map<int, std::shared_ptr<FdWatcher>> fd_watchers_;
  std::unordered_map<int, int> claimed_;
};

}  // namespace aiocpp::detail
