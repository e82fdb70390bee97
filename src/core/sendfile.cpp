#include "core/sendfile.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

namespace {

// asyncio's SENDFILE_FALLBACK_READBUFFER_SIZE.
constexpr std::size_t fallback_chunk = 256 * 1024;

}  // namespace

void update_file_position(int file, std::int64_t offset, std::size_t sent) noexcept {
  if (sent > 0)
    ::lseek(file, static_cast<off_t>(offset + static_cast<std::int64_t>(sent)), SEEK_SET);
}

void check_sendfile_params(int sock, std::int64_t offset, std::optional<std::size_t> count) {
  if (socket_type(sock) != SOCK_STREAM) {
    throw ValueError("only SOCK_STREAM type sockets are supported");
  }
  if (count && *count == 0) throw ValueError("count must be a positive integer (got 0)");
  if (offset < 0) {
    throw ValueError("offset must be a non-negative integer (got " + std::to_string(offset) + ")");
  }
}

Task<std::size_t> sendfile_fallback(EventLoop& loop, int file, std::int64_t offset,
                                    std::optional<std::size_t> count, SendChunk send) {
  if (offset != 0 && ::lseek(file, static_cast<off_t>(offset), SEEK_SET) < 0) {
    throw_os_error(errno, "seek to offset " + std::to_string(offset));
  }
  std::size_t sent = 0;
  std::exception_ptr failure;
  try {
    for (;;) {
      std::size_t wanted = std::min(count ? *count - sent : fallback_chunk, fallback_chunk);
      if (wanted == 0) break;
      auto read_chunk = [file, wanted] {
        std::string chunk(wanted, '\0');
        ssize_t n;
        do {
          n = ::read(file, chunk.data(), wanted);
        } while (n < 0 && errno == EINTR);
        if (n < 0) throw_os_error(errno, "read");
        chunk.resize(static_cast<std::size_t>(n));
        return chunk;
      };
      std::string chunk = co_await loop.run_in_executor(nullptr, read_chunk);
      if (chunk.empty()) break;  // end of file
      std::size_t size = chunk.size();
      co_await send(std::move(chunk));
      sent += size;
    }
  } catch (...) {
    failure = std::current_exception();
  }
  update_file_position(file, offset, sent);
  if (failure) std::rethrow_exception(failure);
  co_return sent;
}

}  // namespace aiocpp::detail

namespace aiocpp {

namespace {

// Native: pause reading, let the buffer drain, then sendfile(2) with write()
// refused meanwhile (asyncio's selector _sendfile_native).
Task<std::size_t> transport_sendfile_native(Transport& transport, detail::SendfileTarget& target,
                                            int file, std::int64_t offset,
                                            std::optional<std::size_t> count) {
  bool resume_reading = transport.is_reading();
  transport.pause_reading();
  std::exception_ptr failure;
  std::size_t sent = 0;
  try {
    co_await target.make_empty_waiter();
    sent = co_await target.sendfile(file, offset, count);
  } catch (...) {
    failure = std::current_exception();
  }
  target.reset_empty_waiter();
  if (resume_reading && !transport.is_closing()) transport.resume_reading();
  if (failure) std::rethrow_exception(failure);
  co_return sent;
}

// Fallback: read chunks and write() them, one buffer's worth at a time.
Task<std::size_t> transport_sendfile_fallback(EventLoop& loop, Transport& transport,
                                              detail::SendfileTarget& target, int file,
                                              std::int64_t offset,
                                              std::optional<std::size_t> count) {
  bool resume_reading = transport.is_reading();
  transport.pause_reading();
  auto drain = [&target]() -> Task<void> {
    std::exception_ptr failure;
    try {
      co_await target.make_empty_waiter();
    } catch (...) {
      failure = std::current_exception();
    }
    target.reset_empty_waiter();
    if (failure) std::rethrow_exception(failure);
  };
  detail::SendChunk send = [&transport, drain](std::string chunk) -> Task<void> {
    co_await drain();
    if (transport.is_closing()) throw RuntimeError("Connection closed by peer");
    transport.write(chunk);
  };
  std::exception_ptr failure;
  std::size_t sent = 0;
  try {
    sent = co_await detail::sendfile_fallback(loop, file, offset, count, send);
    co_await drain();
  } catch (...) {
    failure = std::current_exception();
  }
  if (resume_reading && !transport.is_closing()) transport.resume_reading();
  if (failure) std::rethrow_exception(failure);
  co_return sent;
}

}  // namespace

Task<std::size_t> EventLoop::sendfile(std::shared_ptr<Transport> transport, int file,
                                      std::int64_t offset, std::optional<std::size_t> count,
                                      bool fallback) {
  if (!transport) throw ValueError("transport is null");
  if (transport->is_closing()) throw RuntimeError("Transport is closing");
  detail::SendfileTarget* target = impl_->backend->sendfile_target(*transport);
  // A transport of no backend's that can carry a file (TLS's) says so itself.
  if (!target) target = dynamic_cast<detail::SendfileTarget*>(transport.get());
  if (!target) throw RuntimeError("sendfile is not supported for transport");
  if (count && *count == 0) throw ValueError("count must be a positive integer (got 0)");
  if (offset < 0) {
    throw ValueError("offset must be a non-negative integer (got " + std::to_string(offset) + ")");
  }
  try {
    co_return co_await transport_sendfile_native(*transport, *target, file, offset, count);
  } catch (const SendfileNotAvailableError&) {
    if (!fallback) throw;
  }
  co_return co_await transport_sendfile_fallback(*this, *transport, *target, file, offset, count);
}

}  // namespace aiocpp
