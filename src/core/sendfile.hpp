#pragma once
// The two ways to send a file: the backend's zero-copy send straight from the
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
  // asyncio's _make_empty_waiter: completes once the write buffer is empty
  // and refuses write() until reset ("unable to write; sendfile is in progress").
  virtual Future<void> make_empty_waiter() = 0;
  virtual void reset_empty_waiter() noexcept = 0;
  // The backend's zero-copy send of `file` (Backend::sock_sendfile's terms),
  // once the buffer has drained.
  virtual Task<std::size_t> sendfile(int file, std::int64_t offset,
                                     std::optional<std::size_t> count) = 0;

 protected:
  ~SendfileTarget() = default;
};

// Moves the file's position to offset + sent, as both ways leave it.
void update_file_position(int file, std::int64_t offset, std::size_t sent) noexcept;

// Reads the file in chunks (on the default executor, as asyncio does) and
// hands each to `send`. The file's position ends at offset + sent bytes.
using SendChunk = std::function<Task<void>(std::string)>;
Task<std::size_t> sendfile_fallback(EventLoop& loop, int file, std::int64_t offset,
                                    std::optional<std::size_t> count, SendChunk send);

}  // namespace aiocpp::detail
