#include "selector/datagram_transport.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/loop_impl.hpp"
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

SelectorDatagramTransport::SelectorDatagramTransport(EpollBackend& backend, int fd,
                                                     std::shared_ptr<DatagramProtocol> protocol,
                                                     std::optional<SocketAddress> address)
    : TransportLifecycle(backend.loop()), backend_(backend), fd_(fd), address_(std::move(address)) {
  set_protocol(std::move(protocol));
  socklen_t len = SocketAddress::capacity();
  if (::getsockname(fd_, sockname_.data(), &len) == 0) sockname_.set_size(len);
  len = SocketAddress::capacity();
  if (::getpeername(fd_, peername_.data(), &len) == 0) peername_.set_size(len);
}

SelectorDatagramTransport::~SelectorDatagramTransport() { interest_.close(backend_, fd_); }

void SelectorDatagramTransport::call_connection_made() {
  if (datagram_protocol_) datagram_protocol_->connection_made(*this);
}

void SelectorDatagramTransport::connection_made_done() {
  started_reading_ = true;
  update_watching();
}

void SelectorDatagramTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* datagram = dynamic_cast<DatagramProtocol*>(protocol.get());
  if (protocol && !datagram) throw ValueError("a datagram transport needs a DatagramProtocol");
  protocol_ = std::move(protocol);
  datagram_protocol_ = datagram;
}

std::any SelectorDatagramTransport::get_extra_info(std::string_view name,
                                                   std::any default_value) const {
  if (name == "peername") return peername_.empty() ? default_value : std::any(peername_);
  if (name == "sockname") return sockname_.empty() ? default_value : std::any(sockname_);
  if (name == "socket") return fd_ >= 0 ? std::any(TransportSocket(fd_)) : default_value;
  return default_value;
}

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
  char* buffer = backend_.read_buffer();
  SocketAddress sender;
  socklen_t len = SocketAddress::capacity();
  ssize_t n = ::recvfrom(fd_, buffer, EpollBackend::read_buffer_size, 0, sender.data(), &len);
  if (n < 0) {
    int err = errno;
    if (!would_block(err)) report_error(err, "recvfrom");
    return;
  }
  sender.set_size(len);
  try {
    datagram_protocol_->datagram_received(std::string_view(buffer, static_cast<std::size_t>(n)),
                                          sender);
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.datagram_received() call failed.");
  }
}

int SelectorDatagramTransport::send_one(std::string_view data,
                                        const SocketAddress* address) noexcept {
  ssize_t n = address ? ::sendto(fd_, data.data(), data.size(), MSG_NOSIGNAL, address->data(),
                                 address->size())
                      : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
  return n < 0 ? errno : 0;
}

void SelectorDatagramTransport::sendto(std::string_view data,
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
  update_watching();
  maybe_pause_protocol();
}

void SelectorDatagramTransport::write_ready() {
  while (!buffer_.empty() && conn_lost_ == 0) {
    Pending& next = buffer_.front();
    int err = send_one(next.data, next.address.empty() ? nullptr : &next.address);
    if (would_block(err)) break;  // still full: wait for the next writability
    std::size_t size = next.data.size();
    buffer_.pop_front();
    buffer_size_ -= size;
    if (err != 0) report_error(err, "sendto");  // that datagram is dropped; go on with the rest
  }
  if (conn_lost_) return;
  maybe_resume_protocol();  // may send more
  if (!buffer_.empty()) return;
  update_watching();
  if (closing_) drained_while_closing();
}

void SelectorDatagramTransport::report_error(int err, const char* operation) {
  if (!datagram_protocol_) return;
  try {
    datagram_protocol_->error_received(std::make_exception_ptr(os_error(err, operation)));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.error_received() call failed.");
  }
}

void SelectorDatagramTransport::drop_write_buffer() noexcept {
  buffer_.clear();
  buffer_size_ = 0;
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
