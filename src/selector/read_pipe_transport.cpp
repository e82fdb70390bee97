// The reading end of a pipe (asyncio's _UnixReadPipeTransport): reads on
// readiness into the loop's buffer; EOF calls eof_received and then
// connection_lost (a pipe cannot stay half-open).

#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"
#include "selector/pipe_transport.hpp"

namespace aiocpp::detail {

ReadPipeTransport::ReadPipeTransport(EpollBackend& backend, int fd,
                                     std::shared_ptr<BaseProtocol> protocol)
    : TransportLifecycle(backend.loop()), backend_(backend), fd_(fd) {
  set_protocol(std::move(protocol));
}

void ReadPipeTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  protocol_ = std::move(protocol);
  stream_protocol_ = dynamic_cast<Protocol*>(protocol_.get());
}

std::any ReadPipeTransport::get_extra_info(std::string_view name, std::any default_value) const {
  if (name == "pipe" && fd_ >= 0) return std::any(fd_);
  return default_value;
}

void ReadPipeTransport::call_connection_made() {
  if (protocol_) protocol_->connection_made(static_cast<ReadTransport&>(*this));
}

void ReadPipeTransport::connection_made_done() {
  reading_ = true;
  update_watching();
}

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

bool ReadPipeTransport::is_quiet(const std::exception_ptr& error) const noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    return e.code().value() == EIO;
  } catch (...) {
    return false;
  }
}

void ReadPipeTransport::on_io(std::uint32_t) {
  if (fd_ < 0 || closing_ || paused_) return;
  // Read until the pipe is empty or EOF is seen: EPOLLHUP without EPOLLIN
  // also means the writer is gone.
  char* buffer = backend_.read_buffer();
  ssize_t n = ::read(fd_, buffer, EpollBackend::read_buffer_size);
  if (n < 0) {
    if (would_block(errno)) return;
    fatal_error(std::make_exception_ptr(os_error(errno, "read")),
                "Fatal read error on pipe transport");
    return;
  }
  if (n == 0) {
    closing_ = true;
    ++conn_lost_;
    update_watching();
    loop_.loop.call_soon([this, keep = self_] {
      if (stream_protocol_) stream_protocol_->eof_received();  // its answer changes nothing
    });
    schedule_connection_lost(nullptr);
    return;
  }
  if (!stream_protocol_) return;
  try {
    stream_protocol_->data_received(std::string_view(buffer, static_cast<std::size_t>(n)));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
  }
}

void ReadPipeTransport::pause_reading() {
  if (closing_ || paused_) return;
  paused_ = true;
  update_watching();
}

void ReadPipeTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  update_watching();
}

std::shared_ptr<ReadTransport> EpollBackend::make_read_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<ReadPipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
