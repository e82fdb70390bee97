#pragma once
// POSIX pipe helpers, for any backend.

#include <utility>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

// asyncio's check: a pipe transport is for pipes, FIFOs, sockets and
// character devices (ptys, ttys); a regular file or directory is a ValueError.
void check_pipe(int fd, bool for_writing);

// pipe2(O_CLOEXEC): {read end, write end}.
std::pair<UniqueFd, UniqueFd> make_pipe();

}  // namespace aiocpp::detail
