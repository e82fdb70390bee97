#include "posix/pipe_ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "aiocpp/errors.hpp"

namespace aiocpp::detail {

void check_pipe(int fd, bool for_writing) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_os_error(errno, "fstat on fd " + std::to_string(fd));
  if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)) return;
  if (for_writing)
    throw ValueError("Pipe transport is only for pipes, sockets and character devices");
  throw ValueError("Pipe transport is for pipes/sockets only.");
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_os_error(errno, "pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace aiocpp::detail
