// The reading end of a pipe on readiness: reads into the loop's buffer.

#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"
#include "selector/pipe_transport.hpp"

namespace aiocpp::detail {

void ReadPipeTransport::update_watching() {
  if (fd_ < 0) return;
  std::uint32_t wanted = reading_ && !closing_ && !paused_ ? std::uint32_t{EPOLLIN} : 0u;
  try {
    interest_.set(backend_, fd_, wanted, this);
  } catch (...) {
    // A descriptor epoll refuses (a regular file slipped through, /dev/null):
    // nothing will ever be reported for it.
    report("Fatal error: could not watch the pipe", std::current_exception());
  }
}

void ReadPipeTransport::on_io(std::uint32_t) {
  if (fd_ < 0 || closing_ || paused_) return;
  // Read until the pipe is empty or EOF is seen: EPOLLHUP without EPOLLIN
  // also means the writer is gone.
  char* buffer = backend_.read_buffer();
  ssize_t n = ::read(fd_, buffer, EpollBackend::read_buffer_size);
  if (n < 0) {
    if (!would_block(errno)) read_failed(errno);
  } else if (n == 0) {
    on_eof();
  } else {
    deliver(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

std::shared_ptr<ReadTransport> EpollBackend::make_read_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<ReadPipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
