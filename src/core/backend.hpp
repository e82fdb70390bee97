#pragma once
// The seam between the portable loop (LoopImpl) and an I/O backend.
// A backend waits for I/O and dispatches it, wakes the loop from other
// threads, and makes the transports and socket operations that depend on how
// I/O is done (readiness, with epoll; a completion backend would submit
// operations instead).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "aiocpp/future.hpp"
#include "aiocpp/handle.hpp"
#include "aiocpp/socket_address.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/transports.hpp"

namespace aiocpp::detail {

class ServerImpl;
class SendfileTarget;

class IoBackend {
 public:
  virtual ~IoBackend() = default;

  // Waits at most `timeout` seconds (negative: no limit) for I/O and
  // dispatches what is ready. Returns early when woken.
  virtual void poll(double timeout) = 0;
  // Makes a poll in progress (or the next one) return at once. Any thread,
  // but only through the loop's ThreadsafeQueue: under its lock, never after
  // the loop closed.
  virtual void wakeup() noexcept = 0;
  // Releases the backend's own descriptors; called by EventLoop::close().
  virtual void close() noexcept = 0;
  // Called by run_forever on the thread about to run the loop, and by
  // EventLoop::close() before it changes anything: a backend that may run
  // on one thread only (io_uring with LoopOptions::io_uring_single_thread)
  // binds to the first and refuses the others with RuntimeError. A
  // destructor cannot refuse: abandon_thread() makes close() leave to the
  // kernel what it could not wait for from this thread (leaked, not freed).
  virtual void check_run_here() {}
  virtual void check_close_here() {}
  virtual void abandon_thread() noexcept {}

  // Wraps a connected, non-blocking stream socket. connection_made is
  // scheduled, then reading starts, then `waiter` (if any) completes.
  virtual std::shared_ptr<Transport> make_socket_transport(int fd,
                                                           std::shared_ptr<BaseProtocol> protocol,
                                                           Future<void> waiter,
                                                           std::shared_ptr<ServerImpl> server) = 0;

  // Datagram endpoints.
  // Wraps a non-blocking datagram socket. `address` is the remote address
  // sendto() defaults to (and the only one it accepts), if any.
  // connection_made is scheduled, then reading starts, then `waiter` (if
  // any) completes.
  virtual std::shared_ptr<DatagramTransport> make_datagram_transport(
      int fd, std::shared_ptr<DatagramProtocol> protocol, std::optional<SocketAddress> address,
      Future<void> waiter) = 0;

  // Accepts connections on a listening socket for `server` until stop_serving.
  virtual void start_serving(std::shared_ptr<ServerImpl> server, int listen_fd, int backlog) = 0;
  virtual void stop_serving(int listen_fd) = 0;

  // --- asyncio's sock_* methods: one kernel operation each -----------------------------
  // On a non-blocking socket the caller keeps owning. A selector tries the
  // call at once and waits for readiness only when the kernel says it would
  // block; a completion backend submits the operation. Each fails with
  // std::system_error; cancelling one leaves the socket usable. Buffers must
  // outlive the operation.
  virtual Task<std::size_t> sock_recv(int fd, std::span<char> buffer) = 0;
  virtual Task<std::pair<std::size_t, SocketAddress>> sock_recvfrom(int fd,
                                                                    std::span<char> buffer) = 0;
  // Sends what the kernel takes at once (at least one byte): sock_sendall loops.
  virtual Task<std::size_t> sock_send(int fd, std::span<const char> data) = 0;
  virtual Task<std::size_t> sock_sendto(int fd, std::span<const char> data,
                                        SocketAddress address) = 0;
  // A connection accepted on a listening socket: its non-blocking,
  // close-on-exec descriptor (the caller's) and the peer's address.
  virtual Task<std::pair<int, SocketAddress>> sock_accept(int fd) = 0;
  virtual Future<void> sock_connect(int fd, const SocketAddress& address) = 0;
  // The kernel's zero-copy send of `file` from `offset` (`count` bytes, or to
  // its end). SendfileNotAvailableError when the kernel cannot serve this
  // pair before anything was sent; the file's position ends after what went.
  virtual Task<std::size_t> sock_sendfile(int fd, int file, std::int64_t offset,
                                          std::optional<std::size_t> count) = 0;

  // loop.sendfile: the transport as a sendfile(2) target, or null when it is
  // not one of this backend's stream socket transports.
  virtual SendfileTarget* sendfile_target(Transport& transport) = 0;

  // add_reader / add_writer: `callback` runs each time `fd` is readable
  // (writable) until removed; a new callback replaces the old one.
  // remove_* return whether a callback was registered.
  virtual void add_reader(int fd, Handle callback) = 0;
  virtual bool remove_reader(int fd) = 0;
  virtual void add_writer(int fd, Handle callback) = 0;
  virtual bool remove_writer(int fd) = 0;

  // --- pipes (connect_read_pipe / connect_write_pipe, subprocess pipes) -----------
  // Wraps a non-blocking pipe, FIFO, socket or character device, taking
  // ownership of `fd`. connection_made is scheduled, then reading (or
  // watching for the reader to leave) starts, then `waiter` completes.
  virtual std::shared_ptr<ReadTransport> make_read_pipe_transport(
      int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) = 0;
  virtual std::shared_ptr<WriteTransport> make_write_pipe_transport(
      int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) = 0;
  // --- end pipes ----------------------------------------------------------------------

  // --- blocking-wait hooks ------------------------------------------------------------
  // Called on the loop's thread around a wait in the kernel that may block
  // (a poll whose timeout is not zero), and only then: an embedding runtime
  // uses them to let other threads run meanwhile (the Python extension
  // releases the GIL in `before` and takes it back in `after`). Unset, the
  // cost is one test of a null pointer per blocking wait; polls with a zero
  // timeout (a busy loop) never call them.
  struct BlockingWaitHooks {
    void (*before)(void* arg) = nullptr;
    void (*after)(void* arg) = nullptr;
    void* arg = nullptr;
  };
  void set_blocking_wait_hooks(BlockingWaitHooks hooks) noexcept { blocking_wait_hooks_ = hooks; }

 protected:
  BlockingWaitHooks blocking_wait_hooks_;
};

}  // namespace aiocpp::detail
