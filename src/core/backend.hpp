#pragma once
// The seam between the portable loop (LoopImpl) and an I/O backend.
// A backend waits for I/O and dispatches it, wakes the loop from other
// threads, and makes the transports and socket operations that depend on how
// I/O is done (readiness with epoll; completion with io_uring).

#include <memory>
#include <optional>

#include "aiocpp/future.hpp"
#include "aiocpp/handle.hpp"
#include "aiocpp/socket_address.hpp"
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

  // Connects a non-blocking socket; the future fails with std::system_error.
  virtual Future<void> sock_connect(int fd, const SocketAddress& address) = 0;

  // Completes once `fd` is readable (writable); cancelling the future stops
  // watching it. The building block of the sock_* operations.
  virtual Future<void> wait_ready(int fd, bool writable) = 0;

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
};

}  // namespace aiocpp::detail
