// connect_read_pipe and connect_write_pipe (asyncio's BaseEventLoop methods):
// check the descriptor, make the transport, wait for connection_made.

#include "core/loop_impl.hpp"
#include "posix/pipe_ops.hpp"

namespace aiocpp {

namespace {

// Waits for the transport's connection_made; closes the transport if that
// fails or the wait is cancelled, as asyncio does.
template <class T>
Task<TransportAndProtocol<T, BaseProtocol>> connected(std::shared_ptr<T> transport,
                                                      std::shared_ptr<BaseProtocol> protocol,
                                                      Future<void> waiter) {
  std::exception_ptr failed;
  try {
    co_await waiter;
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) {
    transport->close();
    std::rethrow_exception(failed);
  }
  co_return TransportAndProtocol<T, BaseProtocol>{std::move(transport), std::move(protocol)};
}

std::shared_ptr<BaseProtocol> make_protocol(const ProtocolFactory& factory) {
  std::shared_ptr<BaseProtocol> protocol = factory();
  if (!protocol) throw ValueError("the protocol factory returned no protocol");
  return protocol;
}

}  // namespace

Task<TransportAndProtocol<ReadTransport, BaseProtocol>> EventLoop::connect_read_pipe_impl(
    ProtocolFactory factory, int fd) {
  detail::check_pipe(fd, false);
  std::shared_ptr<BaseProtocol> protocol = make_protocol(factory);
  if (!dynamic_cast<Protocol*>(protocol.get())) {
    throw ValueError("connect_read_pipe needs a Protocol (data_received, eof_received)");
  }
  detail::set_nonblocking(fd);
  Future<void> waiter = create_future<void>();
  auto transport = impl_->backend->make_read_pipe_transport(fd, protocol, waiter);
  co_return co_await connected(std::move(transport), std::move(protocol), std::move(waiter));
}

Task<TransportAndProtocol<WriteTransport, BaseProtocol>> EventLoop::connect_write_pipe_impl(
    ProtocolFactory factory, int fd) {
  detail::check_pipe(fd, true);
  std::shared_ptr<BaseProtocol> protocol = make_protocol(factory);
  detail::set_nonblocking(fd);
  Future<void> waiter = create_future<void>();
  auto transport = impl_->backend->make_write_pipe_transport(fd, protocol, waiter);
  co_return co_await connected(std::move(transport), std::move(protocol), std::move(waiter));
}

}  // namespace aiocpp
