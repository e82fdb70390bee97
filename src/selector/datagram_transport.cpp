#include "selector/datagram_transport.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

// Brings the epoll registration in line with what the transport wants.
void SelectorDatagramTransport::update_watching() {
  if (fd_ < 0) return;
  std::uint32_t wanted = 0;
  if (started_reading_ && !closing_) wanted |= EPOLLIN;
  if (!buffer_.empty() && conn_lost_ == 0) wanted |= EPOLLOUT;
  try {
    interest_.set(backend_, fd_, wanted, this);
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: could not watch the socket");
  }
}

void SelectorDatagramTransport::on_io(std::uint32_t events) {
  if (fd_ < 0) return;  // closed earlier in this batch
  if (events & (EPOLLERR | EPOLLHUP)) events = interest_.on_error(backend_, fd_, events);
  if ((events & EPOLLIN) && interest_.wants(EPOLLIN)) read_ready();
  if ((events & EPOLLOUT) && interest_.wants(EPOLLOUT) && fd_ >= 0) write_ready();
}

void SelectorDatagramTransport::read_ready() {
  if (conn_lost_) return;
  static_assert(EpollBackend::read_buffer_size >= max_datagram_size);
  char* buffer = backend_.read_buffer();
  SocketAddress sender;
  socklen_t len = SocketAddress::capacity();
  ssize_t n = ::recvfrom(fd_, buffer, max_datagram_size, 0, sender.data(), &len);
  if (n < 0) {
    int err = errno;
    if (!would_block(err)) report_error(err, "recvfrom");
    return;
  }
  sender.set_size(len);
  deliver(std::string_view(buffer, static_cast<std::size_t>(n)), sender);
}

void SelectorDatagramTransport::write_ready() {
  while (!buffer_.empty() && conn_lost_ == 0) {
    Pending& next = buffer_.front();
    int err = send_one(next.data, next.address.empty() ? nullptr : &next.address);
    if (would_block(err)) break;  // still full: wait for the next writability
    front_done(err);              // that datagram is dropped on error; go on with the rest
  }
  after_sending();
}

std::shared_ptr<DatagramTransport> EpollBackend::make_datagram_transport(
    int fd, std::shared_ptr<DatagramProtocol> protocol, std::optional<SocketAddress> address,
    Future<void> waiter) {
  auto transport = std::make_shared<SelectorDatagramTransport>(*this, fd, std::move(protocol),
                                                               std::move(address));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
