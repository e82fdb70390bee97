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

// sendfile(2) until `count` bytes (or end of file) have gone, waiting for the
// socket to become writable whenever it is full. Throws
// SendfileNotAvailableError when the kernel cannot serve this combination
// before anything was sent. The file's position ends at offset + sent bytes.
Task<std::size_t> sendfile_native(EventLoop& loop, int sock, int file, std::int64_t offset,
                                  std::optional<std::size_t> count);

// Reads the file in chunks (on the default executor, as asyncio does) and
// hands each to `send`. The file's position ends at offset + sent bytes.
using SendChunk = std::function<Task<void>(std::string)>;
Task<std::size_t> sendfile_fallback(EventLoop& loop, int file, std::int64_t offset,
                                    std::optional<std::size_t> count, SendChunk send);

}  // namespace aiocpp::detail
