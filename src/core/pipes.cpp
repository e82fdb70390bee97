// connect_read_pipe and connect_write_pipe (asyncio's BaseEventLoop methods):
// check the descriptor, make the transport, wait for connection_made.

#include "core/connection_made.hpp"
#include "core/loop_impl.hpp"
#include "posix/pipe_ops.hpp"

namespace aiocpp {

Task<TransportAndProtocol<ReadTransport, BaseProtocol>> EventLoop::connect_read_pipe_impl(
    ProtocolFactory factory, int fd) {
  detail::check_pipe(fd, false);
  std::shared_ptr<BaseProtocol> protocol = detail::make_protocol(factory);
  if (!dynamic_cast<Protocol*>(protocol.get())) {
    throw TypeError("connect_read_pipe needs a Protocol (data_received, eof_received)");
  }
  detail::set_nonblocking(fd);
  Future<void> waiter = create_future<void>();
  auto transport = impl_->backend->make_read_pipe_transport(fd, protocol, waiter);
  co_await detail::wait_connection_made(waiter, transport);
  co_return TransportAndProtocol<ReadTransport, BaseProtocol>{std::move(transport),
                                                              std::move(protocol)};
}

Task<TransportAndProtocol<WriteTransport, BaseProtocol>> EventLoop::connect_write_pipe_impl(
    ProtocolFactory factory, int fd) {
  detail::check_pipe(fd, true);
  std::shared_ptr<BaseProtocol> protocol = detail::make_protocol(factory);
  detail::set_nonblocking(fd);
  Future<void> waiter = create_future<void>();
  auto transport = impl_->backend->make_write_pipe_transport(fd, protocol, waiter);
  co_await detail::wait_connection_made(waiter, transport);
  co_return TransportAndProtocol<WriteTransport, BaseProtocol>{std::move(transport),
                                                               std::move(protocol)};
}

}  // namespace aiocpp
