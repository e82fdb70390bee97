// sendfile(2) on the selector backend: the kernel copies from the file to
// the socket; when the socket is full, wait for it to be writable.

#include "selector/sendfile_native.hpp"

#include <sys/sendfile.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "aiocpp/errors.hpp"
#include "core/sendfile.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

namespace {

// What one sendfile(2) call may move (Linux caps it just below 2 GiB anyway).
constexpr std::size_t max_native_chunk = std::size_t{1} << 30;

}  // namespace

Task<std::size_t> sendfile_native(int sock, int file, std::int64_t offset,
                                  std::optional<std::size_t> count, WaitWritable wait_writable) {
  struct stat info {};
  if (::fstat(file, &info) != 0 || !S_ISREG(info.st_mode)) {
    throw SendfileNotAvailableError("not a regular file");
  }
  off_t position = static_cast<off_t>(offset);
  std::size_t sent = 0;
  std::exception_ptr failure;
  try {
    for (;;) {
      std::size_t wanted = count ? *count - sent : max_native_chunk;
      if (wanted == 0) break;
      ssize_t n = ::sendfile(sock, file, &position, std::min(wanted, max_native_chunk));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) break;  // end of file
      int err = errno;
      if (would_block(err)) {
        if (err != EINTR) co_await wait_writable();
        continue;
      }
      // Before any byte went, a failure usually means this file/socket pair
      // is not one the kernel can splice: let the caller fall back.
      if (sent == 0) throw SendfileNotAvailableError("os.sendfile call failed");
      if (err == ENOTCONN) throw os_error(err, "socket is not connected");
      throw os_error(err, "sendfile");
    }
  } catch (...) {
    failure = std::current_exception();
  }
  update_file_position(file, offset, sent);
  if (failure) std::rethrow_exception(failure);
  co_return sent;
}

}  // namespace aiocpp::detail
