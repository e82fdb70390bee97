#pragma once
// The two ways to send a file: the kernel's sendfile(2) straight from the
// file to a stream socket, and reading chunks on the executor then sending
// them. Shared by loop.sock_sendfile and loop.sendfile (on transports).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "aiocpp/event_loop.hpp"

namespace aiocpp::detail {

// asyncio's checks, in its words: a stream socket, count > 0, offset >= 0.
void check_sendfile_params(int sock, std::int64_t offset, std::optional<std::size_t> count);

// What loop.sendfile needs from a stream transport whose socket sendfile(2)
// can write to (asyncio's _SendfileMode.TRY_NATIVE transports).
class SendfileTarget {
 public:
  virtual int sendfile_fd() const = 0;
  // asyncio's _make_empty_waiter: completes once the write buffer is empty
  // and refuses write() until reset ("unable to write; sendfile is in progress").
  virtual Future<void> make_empty_waiter() = 0;
  virtual void reset_empty_waiter() noexcept = 0;
  // Completes when the socket is writable again after sendfile(2) would block.
  virtual Future<void> wait_writable() = 0;

 protected:
  ~SendfileTarget() = default;
};

// sendfile(2) until `count` bytes (or end of file) have gone, calling
// `wait_writable` whenever the socket is full. Throws
// SendfileNotAvailableError when the kernel cannot serve this combination
// before anything was sent. The file's position ends at offset + sent bytes.
using WaitWritable = std::function<Future<void>()>;
Task<std::size_t> sendfile_native(int sock, int file, std::int64_t offset,
                                  std::optional<std::size_t> count, WaitWritable wait_writable);

// Reads the file in chunks (on the default executor, as asyncio does) and
// hands each to `send`. The file's position ends at offset + sent bytes.
using SendChunk = std::function<Task<void>(std::string)>;
Task<std::size_t> sendfile_fallback(EventLoop& loop, int file, std::int64_t offset,
                                    std::optional<std::size_t> count, SendChunk send);

}  // namespace aiocpp::detail
