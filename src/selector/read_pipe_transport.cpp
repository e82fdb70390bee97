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
    : PipeCore(backend, fd, nullptr) {
  set_protocol(std::move(protocol));
}

void ReadPipeTransport::start(std::shared_ptr<ReadPipeTransport> self, Future<void> waiter) {
  ReadPipeTransport* t = self.get();
  PipeCore::start(std::move(self), std::move(waiter), [t] {
    if (t->protocol_) t->protocol_->connection_made(static_cast<ReadTransport&>(*t));
  });
}

void ReadPipeTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  protocol_ = std::move(protocol);
  stream_protocol_ = dynamic_cast<Protocol*>(protocol_.get());
}

void ReadPipeTransport::started() {
  reading_ = true;
  if (!closing_ && !paused_) watch(EPOLLIN);
}

void ReadPipeTransport::on_io(std::uint32_t) {
  if (fd_ < 0 || closing_ || paused_) return;
  // Read until the pipe is empty or EOF is seen: EPOLLHUP without EPOLLIN
  // also means the writer is gone.
  char* buffer = loop_.read_buffer();
  ssize_t n = ::read(fd_, buffer, LoopImpl::read_buffer_size);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fatal_error(std::make_exception_ptr(os_error(errno, "read")),
                "Fatal read error on pipe transport");
    return;
  }
  if (n == 0) {
    closing_ = true;
    watch(0);
    std::shared_ptr<BaseTransport> keep = self_;
    loop_.loop.call_soon([this, keep] {
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
  watch(0);
}

void ReadPipeTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  if (reading_) watch(EPOLLIN);
}

void ReadPipeTransport::close() {
  if (!closing_) close_with(nullptr);
}

void ReadPipeTransport::fatal_error(std::exception_ptr error, const char* message) {
  // EIO is how a pty reports that its other side closed: not worth reporting.
  bool quiet = false;
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    quiet = e.code().value() == EIO;
  } catch (...) {
  }
  if (!quiet) report(message, error);
  close_with(std::move(error));
}

void ReadPipeTransport::close_with(std::exception_ptr error) {
  closing_ = true;
  schedule_connection_lost(std::move(error));
}

}  // namespace aiocpp::detail
