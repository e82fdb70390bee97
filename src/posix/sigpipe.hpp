#pragma once
// SIGPIPE, as Python treats it: ignored, so that writing to a pipe or socket
// whose reader is gone fails with EPIPE instead of killing the process.
// send() can ask for that per call (MSG_NOSIGNAL); write() on a pipe and
// sendfile() cannot, so the first loop of the process makes SIGPIPE ignored
// when it still has its default action. A handler the program installed is
// left alone. Children started by subprocess_exec get the default back.

namespace aiocpp::detail {

void ignore_sigpipe_once() noexcept;

}  // namespace aiocpp::detail
