// The writing end of a pipe on io_uring: the buffer is handed to the kernel
// by one write at a time, and a FIFO or socket has a poll in flight that
// completes when the reader is gone.

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"
#include "proactor/pipe_transport.hpp"

namespace aiocpp::detail {

ProactorWritePipeTransport::ProactorWritePipeTransport(UringBackend& backend, int fd,
                                                       std::shared_ptr<BaseProtocol> protocol)
    : WritePipeBase(backend.loop(), fd, std::move(protocol)), backend_(backend) {
  write_op_.owner = this;
  peer_watch_.owner = this;
  backend_.claim(fd_);
}

// No operation is in flight here: ops_ kept us alive until the last one's completion.
ProactorWritePipeTransport::~ProactorWritePipeTransport() {
  // The backend may be gone with its loop: then the descriptor went with it.
  if (fd_ >= 0) backend_.close_claimed(fd_);
}

void ProactorWritePipeTransport::update_watching() {
  if (fd_ < 0) return;
  if (stopped()) {
    if (write_in_flight_) OpsInFlight::cancel(backend_, &write_op_);
    if (peer_watch_in_flight_) OpsInFlight::cancel(backend_, &peer_watch_);
    return;
  }
  if (write_buffer_size() != 0 && !write_in_flight_) submit_write(false);
  // The reader leaving turns the write end readable (or an error): watched
  // until a close has nothing left to write.
  bool watch = started_ && watch_peer_ && !(closing_ && write_buffer_size() == 0);
  if (watch && !peer_watch_in_flight_ && self_) {
    try {
      backend_.poll_once(fd_, POLLIN, &peer_watch_);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: could not watch the pipe");
      return;
    }
    peer_watch_in_flight_ = true;
    ops_.started(self_);
  } else if (!watch && peer_watch_in_flight_) {
    OpsInFlight::cancel(backend_, &peer_watch_);
  }
}

// Hands the buffer to the kernel: it becomes sending_, and later writes
// accumulate in buffer_ until this one completes.
void ProactorWritePipeTransport::submit_write(bool poll) {
  if (sending_.empty()) std::swap(sending_, buffer_);
  if (sending_.empty() || !self_) return;
  try {
    if (poll) {
      backend_.poll_once(fd_, POLLOUT, &write_op_);
    } else {
      // Lifetime: see sending_.
      backend_.submit(&write_op_, [this](io_uring_sqe* sqe) {
        io_uring_prep_write(sqe, fd_, sending_.data(), sending_.size(), -1);
      });
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal write error on pipe transport");
    return;
  }
  write_in_flight_ = true;
  write_polling_ = poll;
  ops_.started(self_);
}

void ProactorWritePipeTransport::write_done(int res) {
  write_in_flight_ = false;
  bool was_poll = std::exchange(write_polling_, false);
  if (write_dropped_) {
    write_dropped_ = false;
    sending_.clear();  // the kernel is done with it
  } else if (stopped() || res == -ECANCELED) {
    // Nothing more is written.
  } else if (was_poll || res == -EINTR) {
    submit_write(false);  // room (or an error the write will report): write again
  } else if (res == -EAGAIN) {
    submit_write(true);
  } else if (res < 0) {
    write_failed(-res, "write");
  } else {
    sending_.consume(static_cast<std::size_t>(res));
    submit_write(false);  // the rest, or what was written meanwhile
    after_write();
  }
  ops_.finished();
}

void ProactorWritePipeTransport::peer_watch_done(int res) {
  peer_watch_in_flight_ = false;
  if (!stopped() && res != -ECANCELED) {
    if (res < 0) {
      fatal_error(std::make_exception_ptr(os_error(-res, "poll")),
                  "Fatal error: could not watch the pipe");
    } else {
      peer_closed();
    }
  }
  ops_.finished();
}

void ProactorWritePipeTransport::drop_write_buffer() noexcept {
  buffer_.clear();
  // sending_ is the kernel's until the write completes: only disowned here.
  if (write_in_flight_) {
    write_dropped_ = true;
  } else {
    sending_.clear();
  }
}

void ProactorWritePipeTransport::close_descriptor() noexcept {
  if (fd_ < 0) return;
  if (write_in_flight_) OpsInFlight::cancel(backend_, &write_op_);
  if (peer_watch_in_flight_) OpsInFlight::cancel(backend_, &peer_watch_);
  backend_.close_claimed(fd_);
}

std::shared_ptr<WriteTransport> UringBackend::make_write_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<ProactorWritePipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
