#include "proactor/socket_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/loop_impl.hpp"
#include "core/server_impl.hpp"
#include "posix/socket_ops.hpp"
#include "selector/sendfile_native.hpp"

namespace aiocpp::detail {

namespace {

[[noreturn]] void throw_not_a_stream_protocol() {
  throw TypeError("a stream transport's protocol must be a Protocol or a BufferedProtocol");
}

std::exception_ptr connection_reset() {
  return std::make_exception_ptr(
      std::system_error(ECONNRESET, std::generic_category(), "Connection is closed by peer"));
}

}  // namespace

ProactorSocketTransport::ProactorSocketTransport(UringBackend& backend, int fd,
                                                 std::shared_ptr<BaseProtocol> protocol,
                                                 std::shared_ptr<ServerImpl> server)
    : TransportLifecycle(backend.loop()), fd_(fd), backend_(backend), server_(std::move(server)) {
  recv_op_.owner = this;
  send_op_.owner = this;
  set_protocol(std::move(protocol));
  socklen_t len = SocketAddress::capacity();
  if (::getsockname(fd_, sockname_.data(), &len) == 0) sockname_.set_size(len);
  len = SocketAddress::capacity();
  if (::getpeername(fd_, peername_.data(), &len) == 0) peername_.set_size(len);
  if (sockname_.family() == AF_INET || sockname_.family() == AF_INET6) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (server_) server_->attach(this);
  backend_.claim(fd_);
}

// No operation is in flight here: ops_ kept us alive until the last
// one's completion.
ProactorSocketTransport::~ProactorSocketTransport() {
  // The backend may be gone with its loop: then the descriptor went with it.
  if (fd_ >= 0) backend_.close_claimed(fd_);
}

void ProactorSocketTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  protocol_ = std::move(protocol);
  buffered_ = dynamic_cast<BufferedProtocol*>(protocol_.get());
  stream_ = buffered_ ? nullptr : dynamic_cast<Protocol*>(protocol_.get());
}

void ProactorSocketTransport::call_connection_made() {
  if (buffered_) {
    buffered_->connection_made(*this);
  } else if (stream_) {
    stream_->connection_made(*this);
  } else {
    throw_not_a_stream_protocol();
  }
}

const char* ProactorSocketTransport::connection_made_error_message() const noexcept {
  return buffered_ || stream_
             ? TransportLifecycle::connection_made_error_message()
             : "Fatal error: the protocol is neither a Protocol nor a BufferedProtocol.";
}

void ProactorSocketTransport::connection_made_done() {
  started_reading_ = true;
  update_watching();
}

std::any ProactorSocketTransport::get_extra_info(std::string_view name,
                                                 std::any default_value) const {
  if (name == "peername") return peername_.empty() ? default_value : std::any(peername_);
  if (name == "sockname") return sockname_.empty() ? default_value : std::any(sockname_);
  if (name == "socket") return fd_ >= 0 ? std::any(TransportSocket(fd_)) : default_value;
  return default_value;
}

// --- operations in flight ----------------------------------------------------------

void ProactorSocketTransport::cancel_recv() noexcept {
  if (!recv_in_flight_ || recv_cancelling_) return;
  recv_cancelling_ = true;
  OpsInFlight::cancel(backend_, &recv_op_);
}

void ProactorSocketTransport::cancel_ops() noexcept {
  cancel_recv();
  if (send_in_flight_) OpsInFlight::cancel(backend_, &send_op_);
}

// Reading: one receive in flight while the state wants reading. Pausing
// stops a multishot receive (it would keep taking the ring's buffers);
// closing stops any. The send in flight is cancelled only once the
// connection is lost (abort, a fatal error): a close() still flushes what
// is buffered.
void ProactorSocketTransport::update_watching() {
  if (fd_ < 0) return;
  if (wants_reading() && pending_.empty() && !recv_in_flight_) {
    submit_recv();
  } else if (conn_lost_) {
    cancel_ops();
  } else if (closing_ || (paused_ && recv_multishot_)) {
    cancel_recv();
  }
}

void ProactorSocketTransport::submit_recv() {
  if (!self_) return;
  BufferRing* ring = ring_ran_dry_ ? nullptr : backend_.buffer_ring();
  try {
    if (ring) {
      // Lifetime: see BufferRing; each completion names the buffer it filled.
      backend_.submit(&recv_op_, [this](io_uring_sqe* sqe) {
        io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BufferRing::group;
      });
    } else {
      if (!own_buffer_) own_buffer_.reset(new char[own_buffer_size]);
      // Lifetime: see own_buffer_.
      backend_.submit(&recv_op_, [this](io_uring_sqe* sqe) {
        io_uring_prep_recv(sqe, fd_, own_buffer_.get(), own_buffer_size, 0);
      });
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: could not read from the socket");
    return;
  }
  ring_ran_dry_ = false;
  recv_multishot_ = ring != nullptr;
  recv_in_flight_ = true;
  recv_cancelling_ = false;
  ops_.started(self_);
}

void ProactorSocketTransport::recv_done(int res, std::uint32_t flags) {
  const bool last = !(flags & IORING_CQE_F_MORE);
  BufferRing* ring = backend_.buffer_ring();
  Received r{res, ring ? ring->take(res, flags) : BufferRing::Slice{}};
  if (last) {
    recv_in_flight_ = false;
    recv_cancelling_ = false;
  }
  if (closing_ || conn_lost_ || fd_ < 0 || res == -ECANCELED) {
    give_back(r);  // stopped reading: what came is dropped, as a closing transport's is
  } else if (res == -ENOBUFS) {
    // The ring is empty (other connections hold its buffers until their
    // protocols have seen them): read once into a buffer of our own.
    ring_ran_dry_ = true;
  } else if (res == -EAGAIN || res == -EINTR) {
    // Nothing yet: asked again below.
  } else if (res < 0) {
    fatal_error(std::make_exception_ptr(os_error(-res, "recv")),
                "Fatal read error on socket transport");
  } else if (paused_ || !pending_.empty()) {
    // asyncio's proactor keeps what came while paused (and an EOF, as 0
    // bytes) for resume_reading.
    pending_.push_back(r);
  } else {
    received(r);
  }
  if (last) {
    // A receive into own_buffer_ because the ring ran dry: the buffer goes
    // with it (unless what it brought waits in pending_), so that a
    // connection holds no buffer between bursts.
    if (!recv_multishot_ && ring && pending_.empty()) own_buffer_.reset();
    update_watching();
    ops_.finished();  // may free this
  }
}

void ProactorSocketTransport::received(Received r) {
  if (r.res == 0) {
    give_back(r);
    on_eof();
    return;
  }
  BufferRing* ring = backend_.buffer_ring();
  const char* data = r.slice.buffer >= 0 && ring ? ring->data(r.slice) : own_buffer_.get();
  deliver(data, static_cast<std::size_t>(r.res));
  give_back(r);
}

void ProactorSocketTransport::give_back(Received r) noexcept {
  if (r.slice.buffer < 0) return;
  if (BufferRing* ring = backend_.buffer_ring()) ring->release(r.slice);
}

void ProactorSocketTransport::give_back_pending() noexcept {
  for (Received r : pending_) give_back(r);
  pending_.clear();
}

void ProactorSocketTransport::deliver(const char* data, std::size_t n) {
  if (buffered_) {
    deliver_buffered(data, n);
  } else if (stream_) {
    try {
      stream_->data_received(std::string_view(data, n));
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
    }
  } else {
    try {
      throw_not_a_stream_protocol();
    } catch (...) {
      fatal_error(std::current_exception(),
                  "Fatal error: the protocol is neither a Protocol nor a BufferedProtocol.");
    }
  }
}

// The kernel wrote into a buffer of ours (a protocol's may be gone before a
// cancelled receive completes): copied into the protocol's, as much at a
// time as get_buffer() offers.
void ProactorSocketTransport::deliver_buffered(const char* data, std::size_t n) {
  while (n > 0 && !conn_lost_ && buffered_) {
    std::span<char> target;
    try {
      target = buffered_->get_buffer(n);
      if (target.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.get_buffer() call failed.");
      return;
    }
    std::size_t part = std::min(n, target.size());
    std::memcpy(target.data(), data, part);
    data += part;
    n -= part;
    try {
      buffered_->buffer_updated(part);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.buffer_updated() call failed.");
      return;
    }
  }
}

void ProactorSocketTransport::on_eof() {
  if (buffered_) {
    // asyncio asks a BufferedProtocol for a buffer before each read, the one
    // that finds EOF too: its calls come in the same order here.
    try {
      if (buffered_->get_buffer(0).empty()) {
        throw RuntimeError("get_buffer() returned an empty buffer");
      }
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.get_buffer() call failed.");
      return;
    }
  }
  bool keep_open = false;
  try {
    if (buffered_) {
      keep_open = buffered_->eof_received();
    } else if (stream_) {
      keep_open = stream_->eof_received();
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.eof_received() call failed.");
    return;
  }
  if (keep_open) {
    read_eof_ = true;
  } else {
    close();
  }
}

void ProactorSocketTransport::pause_reading() {
  if (!is_reading()) return;
  paused_ = true;
  // A single receive in flight stays (its bytes wait in pending_); a
  // multishot one is cancelled.
  update_watching();
}

void ProactorSocketTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  if (!pending_.empty()) {
    loop_.loop.call_soon([this, keep = self_] { deliver_pending(); });
  } else {
    update_watching();
  }
}

void ProactorSocketTransport::deliver_pending() {
  while (!pending_.empty() && !paused_ && !closing_ && !conn_lost_) {
    Received r = pending_.front();
    pending_.erase(pending_.begin());
    received(r);
  }
  if (closing_ || conn_lost_) give_back_pending();
  update_watching();
}

// --- writing -----------------------------------------------------------------------

void ProactorSocketTransport::write(std::string_view data) {
  if (eof_) throw RuntimeError("Cannot call write() after write_eof()");
  if (sendfile_running_) throw RuntimeError("unable to write; sendfile is in progress");
  if (data.empty()) return;
  if (conn_lost_) {
    count_lost_write("socket.send() raised exception.");
    return;
  }
  if (!send_in_flight_ && buffer_.empty() && data.size() >= send_at_once_from) {
    // A large write: sent at once, from the caller's memory, rather than
    // copied into the buffer for the ring.
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (static_cast<std::size_t>(n) == data.size()) return;
    if (n < 0) {
      if (!would_block(errno)) {
        fatal_error(std::make_exception_ptr(os_error(errno, "send")),
                    "Fatal write error on socket transport");
        return;
      }
      n = 0;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  buffer_.append(data);
  if (!send_in_flight_) submit_send();
  maybe_pause_protocol();
}

void ProactorSocketTransport::writelines(std::span<const std::string_view> chunks) {
  if (eof_) throw RuntimeError("Cannot call writelines() after write_eof()");
  if (conn_lost_) {
    for (auto chunk : chunks) {
      if (!chunk.empty()) return write(chunk);  // counts the lost write once
    }
    return;
  }
  bool idle = !send_in_flight_ && buffer_.empty();
  for (std::string_view chunk : chunks) buffer_.append(chunk);
  if (buffer_.empty()) return;
  if (idle && buffer_.size() >= send_at_once_from) {
    // asyncio's writelines is write(b"".join(chunks)): tried at once too.
    ssize_t n = ::send(fd_, buffer_.data(), buffer_.size(), MSG_NOSIGNAL);
    if (n < 0 && !would_block(errno)) {
      fatal_error(std::make_exception_ptr(os_error(errno, "send")),
                  "Fatal write error on socket transport");
      return;
    }
    if (n > 0) buffer_.consume(static_cast<std::size_t>(n));
    if (buffer_.empty()) return;
  }
  if (!send_in_flight_) submit_send();
  maybe_pause_protocol();
}

// Hands the write buffer to the kernel: it becomes sending_, and later
// writes accumulate in buffer_ until this send completes.
void ProactorSocketTransport::submit_send() {
  if (sending_.empty()) std::swap(sending_, buffer_);
  if (sending_.empty() || !self_) return;
  try {
    // Lifetime: see sending_.
    backend_.submit(&send_op_, [this](io_uring_sqe* sqe) {
      io_uring_prep_send(sqe, fd_, sending_.data(), sending_.size(), MSG_NOSIGNAL);
    });
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal write error on socket transport");
    return;
  }
  send_in_flight_ = true;
  ops_.started(self_);
}

void ProactorSocketTransport::send_done(int res) {
  send_in_flight_ = false;
  if (send_dropped_ || conn_lost_ || fd_ < 0) {
    // abort() or a fatal error: nothing more is sent.
  } else if (res == -EAGAIN || res == -EINTR) {
    submit_send();
  } else if (res < 0) {
    buffer_.clear();
    sending_.clear();
    auto error = std::make_exception_ptr(os_error(-res, "send"));
    if (empty_waiter_.valid() && !empty_waiter_.done()) empty_waiter_.set_exception(error);
    fatal_error(error, "Fatal write error on socket transport");
  } else {
    sending_.consume(static_cast<std::size_t>(res));
    submit_send();  // the rest, or what was written meanwhile
    maybe_resume_protocol();
    if (write_buffer_size() == 0) {
      if (empty_waiter_.valid() && !empty_waiter_.done()) empty_waiter_.set_result();
      if (closing_) {
        drained_while_closing();
      } else if (eof_) {
        ::shutdown(fd_, SHUT_WR);
      }
    }
  }
  ops_.finished();
}

// As asyncio's: what shutdown(2) fails with is raised. EBADF: the
// descriptor was closed behind the transport, and the receive in flight
// holds the kernel's last reference to the socket, so the peer would never
// see its end; cancelled, the socket goes (the peer sees EOF) and the next
// receive fails with EBADF, which closes the transport.
void ProactorSocketTransport::write_eof() {
  if (closing_ || eof_) return;
  eof_ = true;
  if (write_buffer_size() != 0 || ::shutdown(fd_, SHUT_WR) == 0) return;
  int err = errno;
  if (err == EBADF) cancel_recv();
  throw_os_error(err, "shutdown");
}

void ProactorSocketTransport::drop_write_buffer() noexcept {
  buffer_.clear();
  // sending_ is the kernel's until the send completes: only disowned here.
  if (send_in_flight_) {
    send_dropped_ = true;
  } else {
    sending_.clear();
  }
}

// --- the end -------------------------------------------------------------------------

void ProactorSocketTransport::close_descriptor() noexcept {
  give_back_pending();
  if (fd_ < 0) return;
  cancel_ops();
  backend_.close_claimed(fd_);
}

void ProactorSocketTransport::before_connection_lost() noexcept {
  if (empty_waiter_.valid() && !empty_waiter_.done())
    empty_waiter_.set_exception(connection_reset());
}

void ProactorSocketTransport::released() noexcept {
  buffered_ = nullptr;
  stream_ = nullptr;
  if (server_) {
    server_->detach(this);
    server_.reset();
  }
}

// --- loop.sendfile ---------------------------------------------------------------------

Future<void> ProactorSocketTransport::make_empty_waiter() {
  if (sendfile_running_) throw RuntimeError("Empty waiter is already set");
  empty_waiter_ = loop_.loop.create_future<void>();
  sendfile_running_ = true;
  if (write_buffer_size() == 0) empty_waiter_.set_result();
  return empty_waiter_;
}

Task<std::size_t> ProactorSocketTransport::sendfile(int file, std::int64_t offset,
                                                    std::optional<std::size_t> count) {
  WaitWritable wait = [this] {
    if (conn_lost_ || fd_ < 0) {
      Future<void> failed = loop_.loop.create_future<void>();
      failed.set_exception(connection_reset());
      return failed;
    }
    return backend_.wait_writable(fd_);
  };
  co_return co_await sendfile_native(fd_, file, offset, count, wait);
}

// --- the backend's side ----------------------------------------------------------------

std::shared_ptr<Transport> UringBackend::make_socket_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter,
    std::shared_ptr<ServerImpl> server) {
  auto transport =
      std::make_shared<ProactorSocketTransport>(*this, fd, std::move(protocol), std::move(server));
  transport->start(transport, std::move(waiter));
  return transport;
}

SendfileTarget* UringBackend::sendfile_target(Transport& transport) {
  return dynamic_cast<ProactorSocketTransport*>(&transport);
}

}  // namespace aiocpp::detail
