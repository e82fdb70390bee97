// The reading end of a pipe on io_uring: one read in flight while reading
// is wanted; pausing keeps it, and what it brings waits for resume_reading.

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "proactor/pipe_transport.hpp"

namespace aiocpp::detail {

ProactorReadPipeTransport::ProactorReadPipeTransport(UringBackend& backend, int fd,
                                                     std::shared_ptr<BaseProtocol> protocol)
    : ReadPipeBase(backend.loop(), fd, std::move(protocol)), backend_(backend) {
  read_op_.owner = this;
  backend_.claim(fd_);
}

// No operation is in flight here: ops_ kept us alive until the last one's completion.
ProactorReadPipeTransport::~ProactorReadPipeTransport() {
  // The backend may be gone with its loop: then the descriptor went with it.
  if (fd_ >= 0) backend_.close_claimed(fd_);
}

void ProactorReadPipeTransport::update_watching() {
  if (fd_ < 0) return;
  if (reading_ && !closing_ && !paused_ && !pending_ && !in_flight_) {
    submit(false);
  } else if (closing_ && in_flight_) {
    OpsInFlight::cancel(backend_, &read_op_);
  }
}

void ProactorReadPipeTransport::submit(bool poll) {
  if (!self_) return;
  try {
    if (poll) {
      backend_.poll_once(fd_, POLLIN, &read_op_);
    } else {
      // Lifetime: see read_buffer_. Offset -1: the descriptor's own position
      // (none, for a pipe; a character device may have one).
      backend_.submit(&read_op_, [this](io_uring_sqe* sqe) {
        io_uring_prep_read(sqe, fd_, read_buffer_.get(), read_buffer_size, -1);
      });
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: could not read from the pipe");
    return;
  }
  in_flight_ = true;
  polling_ = poll;
  ops_.started(self_);
}

void ProactorReadPipeTransport::read_done(int res) {
  in_flight_ = false;
  bool was_poll = std::exchange(polling_, false);
  if (closing_ || conn_lost_ || fd_ < 0 || res == -ECANCELED) {
    // Stopped reading: what came is dropped, as a closing transport's is.
  } else if (was_poll || res == -EINTR) {
    update_watching();  // readable (or an error the read will report): read again
  } else if (res == -EAGAIN) {
    submit(true);
  } else if (res < 0) {
    read_failed(-res);
  } else if (paused_) {
    pending_ = static_cast<std::size_t>(res) + 1;
  } else if (res == 0) {
    on_eof();
  } else {
    deliver(std::string_view(read_buffer_.get(), static_cast<std::size_t>(res)));
    update_watching();
  }
  ops_.finished();
}

void ProactorReadPipeTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  if (pending_) {
    loop_.loop.call_soon([this, keep = self_] { deliver_pending(); });
  } else {
    update_watching();
  }
}

void ProactorReadPipeTransport::deliver_pending() {
  std::size_t pending = std::exchange(pending_, 0);
  if (!pending || closing_ || conn_lost_) return;
  if (pending == 1) {
    on_eof();
  } else {
    deliver(std::string_view(read_buffer_.get(), pending - 1));
  }
  update_watching();
}

void ProactorReadPipeTransport::close_descriptor() noexcept {
  if (fd_ < 0) return;
  if (in_flight_) OpsInFlight::cancel(backend_, &read_op_);
  backend_.close_claimed(fd_);
}

std::shared_ptr<ReadTransport> UringBackend::make_read_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<ProactorReadPipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
