#include "core/pipe_transport_base.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

// --- reading ---------------------------------------------------------------------------

ReadPipeBase::ReadPipeBase(LoopImpl& loop, int fd, std::shared_ptr<BaseProtocol> protocol)
    : TransportLifecycle(loop), fd_(fd) {
  set_protocol(std::move(protocol));
}

void ReadPipeBase::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  protocol_ = std::move(protocol);
  stream_protocol_ = dynamic_cast<Protocol*>(protocol_.get());
}

std::any ReadPipeBase::get_extra_info(std::string_view name, std::any default_value) const {
  if (name == "pipe" && fd_ >= 0) return std::any(fd_);
  return default_value;
}

void ReadPipeBase::call_connection_made() {
  if (protocol_) protocol_->connection_made(static_cast<ReadTransport&>(*this));
}

void ReadPipeBase::connection_made_done() {
  reading_ = true;
  update_watching();
}

bool ReadPipeBase::is_quiet(const std::exception_ptr& error) const noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    return e.code().value() == EIO;
  } catch (...) {
    return false;
  }
}

void ReadPipeBase::pause_reading() {
  if (closing_ || paused_) return;
  paused_ = true;
  update_watching();
}

void ReadPipeBase::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  update_watching();
}

void ReadPipeBase::deliver(std::string_view data) {
  if (!stream_protocol_) return;
  try {
    stream_protocol_->data_received(data);
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
  }
}

void ReadPipeBase::on_eof() {
  closing_ = true;
  ++conn_lost_;
  update_watching();
  loop_.loop.call_soon([this, keep = self_] {
    if (stream_protocol_) stream_protocol_->eof_received();  // its answer changes nothing
  });
  schedule_connection_lost(nullptr);
}

void ReadPipeBase::read_failed(int err) {
  fatal_error(std::make_exception_ptr(os_error(err, "read")), "Fatal read error on pipe transport");
}

// --- writing ---------------------------------------------------------------------------

WritePipeBase::WritePipeBase(LoopImpl& loop, int fd, std::shared_ptr<BaseProtocol> protocol)
    : TransportLifecycle(loop), fd_(fd) {
  protocol_ = std::move(protocol);
  struct stat st;
  // asyncio's trick: the write end of a FIFO or socket turns readable (or
  // reports an error) when the other end closes. Not for ttys and devices.
  watch_peer_ = ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
  // No MSG_NOSIGNAL for write(): a gone reader must be EPIPE, not SIGPIPE.
  // Every loop ignores SIGPIPE when it starts (posix/sigpipe.hpp); children
  // get the default action back before exec (posix/spawn.cpp).
}

std::any WritePipeBase::get_extra_info(std::string_view name, std::any default_value) const {
  if (name == "pipe" && fd_ >= 0) return std::any(fd_);
  return default_value;
}

void WritePipeBase::call_connection_made() {
  if (protocol_) protocol_->connection_made(static_cast<WriteTransport&>(*this));
}

void WritePipeBase::connection_made_done() {
  started_ = true;
  update_watching();
}

void WritePipeBase::peer_closed() {
  // asyncio: BrokenPipeError if data was still waiting, a clean close otherwise.
  if (write_buffer_size() == 0) {
    force_close(nullptr);
  } else {
    force_close(std::make_exception_ptr(os_error(EPIPE, "pipe closed by peer")));
  }
}

void WritePipeBase::write_failed(int err, const char* operation) {
  fatal_error(std::make_exception_ptr(os_error(err, operation)),
              "Fatal write error on pipe transport");
}

bool WritePipeBase::writable_now() {
  if (conn_lost_ || closing_) {
    count_lost_write("pipe closed by peer or os.write(pipe, data) raised exception.");
    return false;
  }
  return true;
}

void WritePipeBase::write(std::string_view data) {
  if (data.empty() || !writable_now()) return;
  if (write_buffer_size() == 0) {
    // Try at once: a pipe with room takes it all without touching the buffer.
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (!would_block(errno)) return write_failed(errno, "write");
      n = 0;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  wrote(data);
}

void WritePipeBase::writelines(std::span<const std::string_view> chunks) {
  std::size_t total = 0;
  for (auto chunk : chunks) total += chunk.size();
  if (total == 0 || !writable_now()) return;
  std::size_t next = 0;    // first chunk not fully written
  std::size_t offset = 0;  // bytes of chunks[next] already written
  if (write_buffer_size() == 0) {
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
      if (!would_block(errno)) return write_failed(errno, "writev");
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
      wrote(chunk);  // the last piece: updates watching and flow control once
      return;
    }
  }
  wrote({});
}

// `rest` was not taken by the pipe: buffer it and wait for room.
void WritePipeBase::wrote(std::string_view rest) {
  buffer_.append(rest);
  if (write_buffer_size() == 0) return;
  update_watching();
  maybe_pause_protocol();
}

void WritePipeBase::after_write() {
  if (write_buffer_size() != 0) return;
  update_watching();
  maybe_resume_protocol();  // may write more
  if (closing_ && write_buffer_size() == 0 && lost_ == Lost::no) {
    // At once, not from the loop later: asyncio's _write_ready does the same.
    ++conn_lost_;
    update_watching();
    call_connection_lost(nullptr);
  }
}

}  // namespace aiocpp::detail
