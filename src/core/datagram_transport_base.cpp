#include "core/datagram_transport_base.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

namespace {

// Whether `a` names the same endpoint as `b`, however each was spelled
// (getaddrinfo and from_ip may differ in padding). AF_UNIX addresses
// (abstract ones included) are compared byte for byte.
bool same_endpoint(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() != AF_INET && a.family() != AF_INET6) return a == b;
  return a.host() == b.host() && a.port() == b.port();
}

}  // namespace

DatagramTransportBase::DatagramTransportBase(LoopImpl& loop, int fd,
                                             std::shared_ptr<DatagramProtocol> protocol,
                                             std::optional<SocketAddress> address)
    : TransportLifecycle(loop), fd_(fd), address_(std::move(address)) {
  set_protocol(std::move(protocol));
  socklen_t len = SocketAddress::capacity();
  if (::getsockname(fd_, sockname_.data(), &len) == 0) sockname_.set_size(len);
  len = SocketAddress::capacity();
  if (::getpeername(fd_, peername_.data(), &len) == 0) peername_.set_size(len);
}

void DatagramTransportBase::call_connection_made() {
  if (datagram_protocol_) datagram_protocol_->connection_made(*this);
}

void DatagramTransportBase::connection_made_done() {
  started_reading_ = true;
  update_watching();
}

void DatagramTransportBase::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* datagram = dynamic_cast<DatagramProtocol*>(protocol.get());
  if (protocol && !datagram) throw ValueError("a datagram transport needs a DatagramProtocol");
  protocol_ = std::move(protocol);
  datagram_protocol_ = datagram;
}

std::any DatagramTransportBase::get_extra_info(std::string_view name,
                                               std::any default_value) const {
  if (name == "peername") return peername_.empty() ? default_value : std::any(peername_);
  if (name == "sockname") return sockname_.empty() ? default_value : std::any(sockname_);
  if (name == "socket") return fd_ >= 0 ? std::any(TransportSocket(fd_)) : default_value;
  return default_value;
}

int DatagramTransportBase::send_one(std::string_view data, const SocketAddress* address) noexcept {
  ssize_t n = address ? ::sendto(fd_, data.data(), data.size(), MSG_NOSIGNAL, address->data(),
                                 address->size())
                      : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
  return n < 0 ? errno : 0;
}

void DatagramTransportBase::sendto(std::string_view data,
                                   const std::optional<SocketAddress>& addr) {
  if (data.empty()) return;
  const SocketAddress* target = addr ? &*addr : nullptr;
  if (address_) {
    if (addr && !same_endpoint(*addr, *address_)) {
      throw ValueError("Invalid address: must be None or " + address_->to_string());
    }
    target = &*address_;
  }
  if (conn_lost_) {
    // The socket is gone (or going): the datagram is dropped, as asyncio does.
    count_lost_write("socket.send() raised exception.");
    return;
  }
  if (!peername_.empty()) {
    target = nullptr;  // connected: send() reaches the peer
  } else if (!target) {
    throw ValueError("sendto() needs an address: this endpoint has no remote address");
  }
  if (buffer_.empty()) {
    // Try at once: a healthy socket takes the datagram without any copy.
    int err = send_one(data, target);
    if (err == 0) return;
    if (!would_block(err)) {
      // Not re-entrant: error_received runs from the loop, as a later callback.
      auto error = std::make_exception_ptr(os_error(err, "sendto"));
      loop_.loop.call_soon([this, keep = self_, error]() {
        if (conn_lost_ || !datagram_protocol_) return;
        try {
          datagram_protocol_->error_received(error);
        } catch (...) {
          fatal_error(std::current_exception(),
                      "Fatal error: protocol.error_received() call failed.");
        }
      });
      return;
    }
  }
  buffer_.push_back(Pending{std::string(data), target ? *target : SocketAddress()});
  buffer_size_ += data.size();
  queued();
  maybe_pause_protocol();
}

void DatagramTransportBase::report_error(int err, const char* operation) {
  if (!datagram_protocol_) return;
  try {
    datagram_protocol_->error_received(std::make_exception_ptr(os_error(err, operation)));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.error_received() call failed.");
  }
}

void DatagramTransportBase::front_done(int err) {
  buffer_size_ -= buffer_.front().data.size();
  buffer_.pop_front();
  if (err != 0) report_error(err, "sendto");
}

void DatagramTransportBase::after_sending() {
  if (conn_lost_) return;
  maybe_resume_protocol();  // may send more
  if (!buffer_.empty()) return;
  update_watching();
  if (closing_) drained_while_closing();
}

void DatagramTransportBase::drop_write_buffer() noexcept {
  buffer_.clear();
  buffer_size_ = 0;
}

}  // namespace aiocpp::detail
