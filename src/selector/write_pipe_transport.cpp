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

namespace {

// asyncio warns once a closed transport has been written to this many times.
constexpr int log_threshold_for_connlost_writes = 5;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

WritePipeTransport::WritePipeTransport(EpollBackend& backend, int fd,
                                       std::shared_ptr<BaseProtocol> protocol)
    : PipeCore(backend, fd, std::move(protocol)) {
  struct stat st;
  // asyncio's trick: the write end of a FIFO or socket turns readable (or
  // reports an error) when the other end closes. Not for ttys and devices.
  watch_peer_ = ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
  // No MSG_NOSIGNAL for write(): a gone reader must be EPIPE, not SIGPIPE.
  // Every loop ignores SIGPIPE when it starts (posix/sigpipe.hpp); children
  // get the default action back before exec (posix/spawn.cpp).
}

void WritePipeTransport::start(std::shared_ptr<WritePipeTransport> self, Future<void> waiter) {
  WritePipeTransport* t = self.get();
  PipeCore::start(std::move(self), std::move(waiter), [t] {
    if (t->protocol_) t->protocol_->connection_made(static_cast<WriteTransport&>(*t));
  });
}

void WritePipeTransport::started() {
  started_ = true;
  update_events();
}

void WritePipeTransport::update_events() noexcept {
  std::uint32_t wanted = 0;
  if (conn_lost_ == 0 && fd_ >= 0) {
    if (started_ && watch_peer_ && !(closing_ && buffer_.empty())) wanted |= EPOLLIN;
    if (!buffer_.empty()) wanted |= EPOLLOUT;
  }
  watch(wanted);
}

void WritePipeTransport::on_io(std::uint32_t events) {
  if (fd_ < 0 || conn_lost_) return;
  if ((events & EPOLLOUT) && !buffer_.empty()) {
    write_ready();  // reports EPIPE itself if the reader left meanwhile
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) peer_closed();
}

void WritePipeTransport::peer_closed() {
  // asyncio: BrokenPipeError if data was still waiting, a clean close otherwise.
  if (buffer_.empty()) {
    close_with(nullptr);
  } else {
    close_with(std::make_exception_ptr(os_error(EPIPE, "pipe closed by peer")));
  }
}

bool WritePipeTransport::writable_now() {
  if (conn_lost_ || closing_) {
    if (conn_lost_ >= log_threshold_for_connlost_writes) {
      log_error("pipe closed by peer or os.write(pipe, data) raised exception.");
    }
    ++conn_lost_;
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
        ++conn_lost_;
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
        ++conn_lost_;
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
  update_events();
  flow_.maybe_pause(buffer_.size(), loop_, self_, protocol_);
}

void WritePipeTransport::write_ready() {
  ssize_t n = ::write(fd_, buffer_.data(), buffer_.size());
  if (n < 0) {
    if (would_block(errno)) return;
    int err = errno;
    buffer_.clear();
    ++conn_lost_;
    update_events();
    fatal_error(std::make_exception_ptr(os_error(err, "write")),
                "Fatal write error on pipe transport");
    return;
  }
  buffer_.consume(static_cast<std::size_t>(n));
  if (!buffer_.empty()) return;
  update_events();
  flow_.maybe_resume(buffer_.size(), loop_, self_, protocol_);  // may write more
  if (closing_ && buffer_.empty()) {
    watch(0);
    call_connection_lost(nullptr);
  }
}

void WritePipeTransport::write_eof() {
  if (closing_ || fd_ < 0) return;
  closing_ = true;
  if (buffer_.empty()) {
    update_events();
    schedule_connection_lost(nullptr);
  }
}

void WritePipeTransport::close() {
  if (!closing_ && fd_ >= 0) write_eof();  // all a write pipe needs to close
}

void WritePipeTransport::set_write_buffer_limits(std::optional<std::size_t> high,
                                                 std::optional<std::size_t> low) {
  flow_.set_limits(high, low);
  flow_.maybe_pause(buffer_.size(), loop_, self_, protocol_);
}

void WritePipeTransport::fatal_error(std::exception_ptr error, const char* message) {
  bool os_level = false;
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error&) {
    os_level = true;  // the reader going away is not a bug: asyncio does not report it
  } catch (...) {
  }
  if (!os_level) report(message, error);
  close_with(std::move(error));
}

void WritePipeTransport::close_with(std::exception_ptr error) {
  if (fd_ < 0) return;
  closing_ = true;
  buffer_.clear();
  update_events();
  schedule_connection_lost(std::move(error));
}

}  // namespace aiocpp::detail
