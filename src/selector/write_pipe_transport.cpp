// The writing end of a pipe (asyncio's _UnixWritePipeTransport): writes at
// once when nothing is buffered, buffers the rest with flow control, and
// watches a FIFO or socket for readability, which means the reader is gone.

#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"
#include "selector/pipe_transport.hpp"

namespace aiocpp::detail {

WritePipeTransport::WritePipeTransport(EpollBackend& backend, int fd,
                                       std::shared_ptr<BaseProtocol> protocol)
    : TransportLifecycle(backend.loop()), backend_(backend), fd_(fd) {
  protocol_ = std::move(protocol);
  struct stat st;
  // asyncio's trick: the write end of a FIFO or socket turns readable (or
  // reports an error) when the other end closes. Not for ttys and devices.
  watch_peer_ = ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
  // No MSG_NOSIGNAL for write(): a gone reader must be EPIPE, not SIGPIPE.
  // Every loop ignores SIGPIPE when it starts (posix/sigpipe.hpp); children
  // get the default action back before exec (posix/spawn.cpp).
}

std::any WritePipeTransport::get_extra_info(std::string_view name, std::any default_value) const {
  if (name == "pipe" && fd_ >= 0) return std::any(fd_);
  return default_value;
}

void WritePipeTransport::call_connection_made() {
  if (protocol_) protocol_->connection_made(static_cast<WriteTransport&>(*this));
}

void WritePipeTransport::connection_made_done() {
  started_ = true;
  update_watching();
}

void WritePipeTransport::update_watching() {
  if (fd_ < 0) return;
  std::uint32_t wanted = 0;
  if (lost_ == Lost::no) {
    if (started_ && watch_peer_ && !(closing_ && buffer_.empty())) wanted |= EPOLLIN;
    if (!buffer_.empty()) wanted |= EPOLLOUT;
  }
  try {
    interest_.set(backend_, fd_, wanted, this);
  } catch (...) {
    // A descriptor epoll refuses (a regular file slipped through, /dev/null):
    // nothing will ever be reported for it.
    report("Fatal error: could not watch the pipe", std::current_exception());
  }
}

void WritePipeTransport::on_io(std::uint32_t events) {
  if (fd_ < 0 || lost_ != Lost::no) return;
  if ((events & EPOLLOUT) && !buffer_.empty()) {
    write_ready();  // reports EPIPE itself if the reader left meanwhile
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) peer_closed();
}

void WritePipeTransport::peer_closed() {
  // asyncio: BrokenPipeError if data was still waiting, a clean close otherwise.
  if (buffer_.empty()) {
    force_close(nullptr);
  } else {
    force_close(std::make_exception_ptr(os_error(EPIPE, "pipe closed by peer")));
  }
}

bool WritePipeTransport::writable_now() {
  if (conn_lost_ || closing_) {
    count_lost_write("pipe closed by peer or os.write(pipe, data) raised exception.");
    return false;
  }
  return true;
}

void WritePipeTransport::write(std::string_view data) {
  if (data.empty() || !writable_now()) return;
  if (buffer_.empty()) {
    // Try at once: a pipe with room takes it all without touching the buffer.
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (!would_block(errno)) {
        fatal_error(std::make_exception_ptr(os_error(errno, "write")),
                    "Fatal write error on pipe transport");
        return;
      }
      n = 0;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  wrote(data);
}

void WritePipeTransport::writelines(std::span<const std::string_view> chunks) {
  std::size_t total = 0;
  for (auto chunk : chunks) total += chunk.size();
  if (total == 0 || !writable_now()) return;
  std::size_t next = 0;    // first chunk not fully written
  std::size_t offset = 0;  // bytes of chunks[next] already written
  if (buffer_.empty()) {
    // One writev of up to 64 chunks; what the pipe does not take is buffered.
    iovec iov[64];
    int count = 0;
    for (std::size_t i = 0; i < chunks.size() && count < 64; ++i) {
      if (chunks[i].empty()) continue;
      iov[count].iov_base = const_cast<char*>(chunks[i].data());
      iov[count].iov_len = chunks[i].size();
      ++count;
    }
    ssize_t n = ::writev(fd_, iov, count);
    if (n < 0) {
      if (!would_block(errno)) {
        fatal_error(std::make_exception_ptr(os_error(errno, "writev")),
                    "Fatal write error on pipe transport");
        return;
      }
      n = 0;
    }
    std::size_t sent = static_cast<std::size_t>(n);
    while (next < chunks.size() && sent >= chunks[next].size()) sent -= chunks[next++].size();
    offset = sent;
  }
  bool first = true;
  for (std::size_t i = next; i < chunks.size(); ++i) {
    std::string_view chunk = first ? chunks[i].substr(offset) : chunks[i];
    first = false;
    if (i + 1 < chunks.size()) {
      buffer_.append(chunk);
    } else {
      wrote(chunk);  // the last piece: updates events and flow control once
      return;
    }
  }
  wrote({});
}

// `rest` was not taken by the pipe: buffer it and wait for room.
void WritePipeTransport::wrote(std::string_view rest) {
  buffer_.append(rest);
  if (buffer_.empty()) return;
  update_watching();
  maybe_pause_protocol();
}

void WritePipeTransport::write_ready() {
  ssize_t n = ::write(fd_, buffer_.data(), buffer_.size());
  if (n < 0) {
    if (would_block(errno)) return;
    fatal_error(std::make_exception_ptr(os_error(errno, "write")),
                "Fatal write error on pipe transport");
    return;
  }
  buffer_.consume(static_cast<std::size_t>(n));
  if (!buffer_.empty()) return;
  update_watching();
  maybe_resume_protocol();  // may write more
  if (closing_ && buffer_.empty() && lost_ == Lost::no) {
    // At once, not from the loop later: asyncio's _write_ready does the same.
    ++conn_lost_;
    update_watching();
    call_connection_lost(nullptr);
  }
}

std::shared_ptr<WriteTransport> EpollBackend::make_write_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<WritePipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
