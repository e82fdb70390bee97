#pragma once
// Whether this process can have io_uring, for those who choose a backend
// (and the tests, which skip where it cannot), without liburing's header.

#include <string>

namespace aiocpp::detail {

// Why io_uring cannot be had in this process (io_uring_queue_init failed:
// ENOSYS, EPERM under seccomp or kernel.io_uring_disabled...), or empty when
// it can. Probed once.
const std::string& io_uring_unavailable_reason();

}  // namespace aiocpp::detail
