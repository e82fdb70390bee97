#include "selector/socket_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

#include "core/loop_impl.hpp"
#include "core/server_impl.hpp"
#include "posix/socket_ops.hpp"
#include "selector/sendfile_native.hpp"

namespace aiocpp::detail {

namespace {

constexpr const char* wrong_protocol_kind =
    "Fatal error: the protocol is neither a Protocol nor a BufferedProtocol.";

[[noreturn]] void throw_not_a_stream_protocol() {
  throw TypeError("a stream transport's protocol must be a Protocol or a BufferedProtocol");
}

}  // namespace

SocketTransport::SocketTransport(EpollBackend& backend, int fd,
                                 std::shared_ptr<BaseProtocol> protocol,
                                 std::shared_ptr<ServerImpl> server, const SocketAddress* peer)
    : TransportLifecycle(backend.loop()),
      fd_(fd),
      read_buffer_(backend.read_buffer()),
      backend_(backend),
      server_(std::move(server)) {
  set_protocol(std::move(protocol));
  socklen_t len = SocketAddress::capacity();
  if (::getsockname(fd_, sockname_.data(), &len) == 0) sockname_.set_size(len);
  if (peer) {
    peername_ = *peer;
  } else {
    len = SocketAddress::capacity();
    if (::getpeername(fd_, peername_.data(), &len) == 0) peername_.set_size(len);
  }
  if (sockname_.family() == AF_INET || sockname_.family() == AF_INET6) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (server_) server_->attach(this);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  // The layout the class comment promises: the lifecycle's per-message state
  // in the first line; this class's, from fd_ to the write buffer's begin
  // and end (its first 16 bytes), in the third.
  static_assert(offsetof(SocketTransport, conn_lost_) + sizeof(int) <= 64);
  static_assert(offsetof(SocketTransport, closing_) < 64);
  static_assert(offsetof(SocketTransport, fd_) >= 128);
  static_assert(offsetof(SocketTransport, buffer_) + 2 * sizeof(std::size_t) <= 192);
#pragma GCC diagnostic pop
}

SocketTransport::~SocketTransport() { interest_.close(backend_, fd_); }

void SocketTransport::call_connection_made() {
  if (Protocol* stream = stream_protocol()) {
    stream->connection_made(*this);
  } else if (BufferedProtocol* buffered = buffered_protocol()) {
    buffered->connection_made(*this);
  } else {  // neither: nothing to call with the data to come
    throw_not_a_stream_protocol();
  }
}

const char* SocketTransport::connection_made_error_message() const noexcept {
  return kind_ == ProtocolKind::other ? wrong_protocol_kind
                                      : TransportLifecycle::connection_made_error_message();
}

void SocketTransport::connection_made_done() {
  started_reading_ = true;
  update_watching();
}

void SocketTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  protocol_ = std::move(protocol);
  reader_ = protocol_.get();
  if (dynamic_cast<BufferedProtocol*>(reader_)) {
    kind_ = ProtocolKind::buffered;
  } else if (dynamic_cast<Protocol*>(reader_)) {
    kind_ = ProtocolKind::stream;
  } else {
    kind_ = ProtocolKind::other;
  }
}

std::any SocketTransport::get_extra_info(std::string_view name, std::any default_value) const {
  if (name == "peername") return peername_.empty() ? default_value : std::any(peername_);
  if (name == "sockname") return sockname_.empty() ? default_value : std::any(sockname_);
  if (name == "socket") return fd_ >= 0 ? std::any(TransportSocket(fd_)) : default_value;
  return default_value;
}

// Brings the epoll registration in line with what the transport wants.
void SocketTransport::update_watching() {
  if (fd_ < 0) return;
  std::uint32_t wanted = 0;
  if (started_reading_ && !paused_ && !closing_ && !read_eof_) wanted |= EPOLLIN;
  if ((!buffer_.empty() || writable_waiter_.valid()) && conn_lost_ == 0) wanted |= EPOLLOUT;
  try {
    interest_.set(backend_, fd_, wanted, this);
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: could not watch the socket");
  }
}

void SocketTransport::on_io(std::uint32_t events) {
  if (fd_ < 0) return;  // closed earlier in this batch
  if (events & (EPOLLERR | EPOLLHUP)) events = interest_.on_error(backend_, fd_, events);
  if ((events & EPOLLIN) && interest_.wants(EPOLLIN)) read_ready();
  if ((events & EPOLLOUT) && interest_.wants(EPOLLOUT) && fd_ >= 0) write_ready();
}

void SocketTransport::read_ready() {
  if (conn_lost_) return;
  if (kind_ == ProtocolKind::buffered) {
    read_into_buffered_protocol();
    return;
  }
  if (kind_ != ProtocolKind::stream) [[unlikely]] {
    refuse_protocol();  // set_protocol() gave one of the wrong kind
    return;
  }
  // The protocol object is the next cache miss (see EpollBackend::poll):
  // fetched while the kernel copies the data, it is there when needed.
  __builtin_prefetch(reader_);
  ssize_t n = ::recv(fd_, read_buffer_, EpollBackend::read_buffer_size, 0);
  if (n <= 0) [[unlikely]] {
    read_ended(n < 0 ? errno : 0);
    return;
  }
  try {
    stream_protocol()->data_received(std::string_view(read_buffer_, static_cast<std::size_t>(n)));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
  }
}

void SocketTransport::refuse_protocol() {
  try {
    throw_not_a_stream_protocol();
  } catch (...) {
    fatal_error(std::current_exception(), wrong_protocol_kind);
  }
}

// Out of line, so that the per-message path keeps a small frame.
void SocketTransport::read_ended(int err) {
  if (err == 0) {
    on_eof();
  } else if (!would_block(err)) {
    fatal_error(std::make_exception_ptr(os_error(err, "recv")),
                "Fatal read error on socket transport");
  }
}

void SocketTransport::read_into_buffered_protocol() {
  std::span<char> target;
  try {
    target = buffered_protocol()->get_buffer(0);
    if (target.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.get_buffer() call failed.");
    return;
  }
  ssize_t n = ::recv(fd_, target.data(), target.size(), 0);
  if (n <= 0) [[unlikely]] {
    read_ended(n < 0 ? errno : 0);
    return;
  }
  try {
    buffered_protocol()->buffer_updated(static_cast<std::size_t>(n));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.buffer_updated() call failed.");
  }
}

void SocketTransport::on_eof() {
  bool keep_open = false;
  try {
    if (Protocol* stream = stream_protocol()) {
      keep_open = stream->eof_received();
    } else if (BufferedProtocol* buffered = buffered_protocol()) {
      keep_open = buffered->eof_received();
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.eof_received() call failed.");
    return;
  }
  if (keep_open) {
    read_eof_ = true;  // half-open: we may still write, but there is nothing more to read
    update_watching();
  } else {
    close();
  }
}

void SocketTransport::write(std::string_view data) {
  if (eof_) throw RuntimeError("Cannot call write() after write_eof()");
  if (sendfile_running_) throw RuntimeError("unable to write; sendfile is in progress");
  if (data.empty()) return;
  if (conn_lost_) {
    lost_write();
  } else if (buffer_.empty()) {
    // Try at once: most writes on a healthy connection never touch the buffer.
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (static_cast<std::size_t>(n) == data.size()) [[likely]]
      return;
    send_fell_short(data, n, n < 0 ? errno : 0);
  } else {
    buffer_more(data);
  }
}

// The rest of write(), out of line so that its common path keeps a small
// frame: what send() did not take goes to the buffer.
void SocketTransport::send_fell_short(std::string_view data, ssize_t sent, int err) {
  if (sent < 0) {
    if (!would_block(err)) {
      fatal_error(std::make_exception_ptr(os_error(err, "send")),
                  "Fatal write error on socket transport");
      return;
    }
    sent = 0;
  }
  data.remove_prefix(static_cast<std::size_t>(sent));
  buffer_.append(data);
  update_watching();
  maybe_pause_protocol();
}

void SocketTransport::buffer_more(std::string_view data) {
  buffer_.append(data);
  maybe_pause_protocol();
}

void SocketTransport::lost_write() { count_lost_write("socket.send() raised exception."); }

void SocketTransport::writelines(std::span<const std::string_view> chunks) {
  if (eof_) throw RuntimeError("Cannot call writelines() after write_eof()");
  if (conn_lost_) {
    for (auto chunk : chunks) {
      if (!chunk.empty()) return write(chunk);  // counts the lost write once
    }
    return;
  }
  std::size_t next = 0;    // first chunk not yet fully sent
  std::size_t offset = 0;  // bytes of chunks[next] already sent
  if (buffer_.empty()) {
    // Nothing buffered: hand the chunks to the kernel directly, up to 64 per
    // sendmsg, until it stops taking them.
    while (next < chunks.size()) {
      iovec iov[64];
      std::size_t count = 0;
      std::size_t total = 0;
      for (std::size_t i = next; i < chunks.size() && count < 64; ++i) {
        std::string_view chunk = i == next ? chunks[i].substr(offset) : chunks[i];
        if (chunk.empty()) continue;
        iov[count].iov_base = const_cast<char*>(chunk.data());
        iov[count].iov_len = chunk.size();
        total += chunk.size();
        ++count;
      }
      if (total == 0) {
        next = chunks.size();
        break;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = count;
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (would_block(errno)) break;
        fatal_error(std::make_exception_ptr(os_error(errno, "sendmsg")),
                    "Fatal write error on socket transport");
        return;
      }
      std::size_t sent = static_cast<std::size_t>(n);
      while (next < chunks.size() && sent >= chunks[next].size() - offset) {
        sent -= chunks[next].size() - offset;
        offset = 0;
        ++next;
      }
      offset += sent;
      if (static_cast<std::size_t>(n) < total) break;  // the socket is full
    }
  }
  bool buffered = false;
  for (std::size_t i = next; i < chunks.size(); ++i) {
    std::string_view chunk = i == next ? chunks[i].substr(offset) : chunks[i];
    if (chunk.empty()) continue;
    buffer_.append(chunk);
    buffered = true;
  }
  if (!buffered) return;
  update_watching();
  maybe_pause_protocol();
}

void SocketTransport::write_ready() {
  if (conn_lost_) return;
  if (writable_waiter_.valid()) {
    Future<void> waiter = std::move(writable_waiter_);
    writable_waiter_ = Future<void>();
    update_watching();
    if (!waiter.done()) waiter.set_result();
    return;
  }
  ssize_t n = ::send(fd_, buffer_.data(), buffer_.size(), MSG_NOSIGNAL);
  if (n < 0) {
    if (would_block(errno)) return;
    int err = errno;
    buffer_.clear();
    update_watching();
    auto error = std::make_exception_ptr(os_error(err, "send"));
    fail_sendfile_waiters(error);
    fatal_error(error, "Fatal write error on socket transport");
    return;
  }
  buffer_.consume(static_cast<std::size_t>(n));
  maybe_resume_protocol();  // may write more
  if (!buffer_.empty()) return;
  update_watching();
  if (empty_waiter_.valid() && !empty_waiter_.done()) empty_waiter_.set_result();
  if (closing_) {
    drained_while_closing();
  } else if (eof_) {
    ::shutdown(fd_, SHUT_WR);
  }
}

// As asyncio's: what shutdown(2) fails with is raised (EBADF when the
// descriptor was closed behind the transport).
void SocketTransport::write_eof() {
  if (closing_ || eof_) return;
  eof_ = true;
  if (buffer_.empty() && ::shutdown(fd_, SHUT_WR) != 0) throw_os_error(errno, "shutdown");
}

void SocketTransport::pause_reading() {
  if (!is_reading()) return;
  paused_ = true;
  update_watching();
}

void SocketTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  update_watching();
}

Future<void> SocketTransport::make_empty_waiter() {
  if (sendfile_running_) throw RuntimeError("Empty waiter is already set");
  empty_waiter_ = loop_.loop.create_future<void>();
  sendfile_running_ = true;
  if (buffer_.empty()) empty_waiter_.set_result();
  return empty_waiter_;
}

Task<std::size_t> SocketTransport::sendfile(int file, std::int64_t offset,
                                            std::optional<std::size_t> count) {
  WaitWritable wait = [this] { return wait_writable(); };
  co_return co_await sendfile_native(fd_, file, offset, count, wait);
}

Future<void> SocketTransport::wait_writable() {
  Future<void> waiter = loop_.loop.create_future<void>();
  if (conn_lost_) {
    waiter.set_exception(std::make_exception_ptr(
        std::system_error(ECONNRESET, std::generic_category(), "Connection is closed by peer")));
    return waiter;
  }
  writable_waiter_ = waiter;
  update_watching();
  return waiter;
}

void SocketTransport::fail_sendfile_waiters(std::exception_ptr error) noexcept {
  for (Future<void>* waiter : {&empty_waiter_, &writable_waiter_}) {
    if (waiter->valid() && !waiter->done()) waiter->set_exception(error);
  }
  writable_waiter_ = Future<void>();
}

void SocketTransport::before_connection_lost() noexcept {
  fail_sendfile_waiters(std::make_exception_ptr(
      std::system_error(ECONNRESET, std::generic_category(), "Connection is closed by peer")));
}

void SocketTransport::released() noexcept {
  reader_ = nullptr;
  kind_ = ProtocolKind::other;
  if (server_) {
    server_->detach(this);
    server_.reset();
  }
}

std::shared_ptr<Transport> EpollBackend::make_socket_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter,
    std::shared_ptr<ServerImpl> server) {
  auto transport =
      std::make_shared<SocketTransport>(*this, fd, std::move(protocol), std::move(server), nullptr);
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail

namespace aiocpp::detail {

SendfileTarget* EpollBackend::sendfile_target(Transport& transport) {
  return dynamic_cast<SocketTransport*>(&transport);
}

}  // namespace aiocpp::detail
