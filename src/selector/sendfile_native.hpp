#pragma once
// The selector backend's way to send a file: sendfile(2), waiting for
// writability whenever the socket is full. Used by sock_sendfile and by
// socket transports for loop.sendfile.

#include <cstdint>
#include <functional>
#include <optional>

#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp::detail {

// sendfile(2) until `count` bytes (or end of file) have gone, calling
// `wait_writable` whenever the socket is full. Throws
// SendfileNotAvailableError when the kernel cannot serve this combination
// before anything was sent. The file's position ends at offset + sent bytes.
using WaitWritable = std::function<Future<void>()>;
Task<std::size_t> sendfile_native(int sock, int file, std::int64_t offset,
                                  std::optional<std::size_t> count, WaitWritable wait_writable);

}  // namespace aiocpp::detail
