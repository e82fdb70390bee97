#include "proactor/datagram_transport.hpp"

#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

ProactorDatagramTransport::ProactorDatagramTransport(UringBackend& backend, int fd,
                                                     std::shared_ptr<DatagramProtocol> protocol,
                                                     std::optional<SocketAddress> address)
    : DatagramTransportBase(backend.loop(), fd, std::move(protocol), std::move(address)),
      backend_(backend) {
  recv_op_.owner = this;
  send_op_.owner = this;
  recv_iov_ = iovec{read_buffer_.get(), max_datagram_size};
  recv_msg_.msg_iov = &recv_iov_;
  recv_msg_.msg_iovlen = 1;
  send_msg_.msg_iov = &send_iov_;
  send_msg_.msg_iovlen = 1;
  backend_.claim(fd_);
}

// No operation is in flight here: ops_ kept us alive until the last one's completion.
ProactorDatagramTransport::~ProactorDatagramTransport() {
  // The backend may be gone with its loop: then the descriptor went with it.
  if (fd_ >= 0) backend_.close_claimed(fd_);
}

// One receive in flight while reading; operations cancelled as the
// transport stops: the receive when it closes, the send once its
// connection is lost (a closing transport still sends its queue).
void ProactorDatagramTransport::update_watching() {
  if (fd_ < 0) return;
  if (started_reading_ && !closing_ && !recv_in_flight_) submit_recv();
  if (closing_ && recv_in_flight_) OpsInFlight::cancel(backend_, &recv_op_);
  if (conn_lost_ && send_in_flight_) OpsInFlight::cancel(backend_, &send_op_);
}

void ProactorDatagramTransport::submit_recv() {
  if (!self_) return;
  recv_msg_.msg_name = from_.data();
  recv_msg_.msg_namelen = SocketAddress::capacity();
  try {
    // Lifetime: see read_buffer_.
    backend_.submit(&recv_op_,
                    [this](io_uring_sqe* sqe) { io_uring_prep_recvmsg(sqe, fd_, &recv_msg_, 0); });
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: could not read from the socket");
    return;
  }
  recv_in_flight_ = true;
  ops_.started(self_);
}

void ProactorDatagramTransport::recv_done(int res) {
  recv_in_flight_ = false;
  if (closing_ || conn_lost_ || fd_ < 0 || res == -ECANCELED) {
    // Stopped reading: what came is dropped, as a closing transport's is.
  } else if (res == -EAGAIN || res == -EINTR) {
    update_watching();
  } else if (res < 0) {
    // An ICMP error of an earlier send (ECONNREFUSED...): the socket goes on.
    report_error(-res, "recvfrom");
    update_watching();
  } else {
    from_.set_size(recv_msg_.msg_namelen);
    deliver(std::string_view(read_buffer_.get(), static_cast<std::size_t>(res)), from_);
    update_watching();
  }
  ops_.finished();
}

void ProactorDatagramTransport::submit_send() {
  if (buffer_.empty() || conn_lost_ || fd_ < 0 || !self_) return;
  Pending& next = buffer_.front();
  send_iov_ = iovec{next.data.data(), next.data.size()};
  send_msg_.msg_name = next.address.empty() ? nullptr : next.address.data();
  send_msg_.msg_namelen = next.address.empty() ? 0 : next.address.size();
  try {
    // Lifetime: see send_msg_.
    backend_.submit(&send_op_, [this](io_uring_sqe* sqe) {
      io_uring_prep_sendmsg(sqe, fd_, &send_msg_, MSG_NOSIGNAL);
    });
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal write error on datagram transport");
    return;
  }
  send_in_flight_ = true;
  ops_.started(self_);
}

void ProactorDatagramTransport::send_done(int res) {
  send_in_flight_ = false;
  if (send_dropped_) {
    send_dropped_ = false;
    buffer_.pop_front();  // uncounted already: the kernel is done with it
  } else if (conn_lost_ || fd_ < 0) {
    // Nothing more is sent.
  } else if (res == -EAGAIN || res == -EINTR) {
    submit_send();
  } else {
    front_done(res < 0 ? -res : 0);
    after_sending();
    if (!send_in_flight_) submit_send();  // the next one, unless sendto already did
  }
  ops_.finished();
}

void ProactorDatagramTransport::drop_write_buffer() noexcept {
  if (!send_in_flight_) return DatagramTransportBase::drop_write_buffer();
  // The front is the kernel's until its send completes: only disowned here.
  buffer_.erase(buffer_.begin() + 1, buffer_.end());
  buffer_size_ = 0;
  send_dropped_ = true;
}

void ProactorDatagramTransport::close_descriptor() noexcept {
  if (fd_ < 0) return;
  if (recv_in_flight_) OpsInFlight::cancel(backend_, &recv_op_);
  if (send_in_flight_) OpsInFlight::cancel(backend_, &send_op_);
  backend_.close_claimed(fd_);
}

std::shared_ptr<DatagramTransport> UringBackend::make_datagram_transport(
    int fd, std::shared_ptr<DatagramProtocol> protocol, std::optional<SocketAddress> address,
    Future<void> waiter) {
  auto transport = std::make_shared<ProactorDatagramTransport>(*this, fd, std::move(protocol),
                                                               std::move(address));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
