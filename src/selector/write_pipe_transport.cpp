// The writing end of a pipe on readiness: the buffer is written when the
// pipe has room, and a FIFO or socket is watched for readability, which
// means the reader is gone.

#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"
#include "selector/pipe_transport.hpp"

namespace aiocpp::detail {

void WritePipeTransport::update_watching() {
  if (fd_ < 0) return;
  std::uint32_t wanted = 0;
  if (lost_ == Lost::no) {
    if (started_ && watch_peer_ && !(closing_ && buffer_.empty())) wanted |= EPOLLIN;
    if (!buffer_.empty()) wanted |= EPOLLOUT;
  }
  try {
    interest_.set(backend_, fd_, wanted, this);
  } catch (...) {
    // A descriptor epoll refuses (a regular file slipped through, /dev/null):
    // nothing will ever be reported for it.
    report("Fatal error: could not watch the pipe", std::current_exception());
  }
}

void WritePipeTransport::on_io(std::uint32_t events) {
  if (fd_ < 0 || lost_ != Lost::no) return;
  if ((events & EPOLLOUT) && !buffer_.empty()) {
    write_ready();  // reports EPIPE itself if the reader left meanwhile
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) peer_closed();
}

void WritePipeTransport::write_ready() {
  ssize_t n = ::write(fd_, buffer_.data(), buffer_.size());
  if (n < 0) {
    if (!would_block(errno)) write_failed(errno, "write");
    return;
  }
  buffer_.consume(static_cast<std::size_t>(n));
  after_write();
}

std::shared_ptr<WriteTransport> EpollBackend::make_write_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<WritePipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
