// What the io_uring backend does not do yet (issue 15): pipes. Each
// refuses clearly rather than half-working.

#include <unistd.h>

#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

namespace {

[[noreturn]] void not_yet(const char* what) {
  throw RuntimeError(std::string(what) + " are not yet on the io_uring backend");
}

}  // namespace

// The pipe's descriptor was handed over: closed, as a transport would.
std::shared_ptr<ReadTransport> UringBackend::make_read_pipe_transport(int fd,
                                                                      std::shared_ptr<BaseProtocol>,
                                                                      Future<void>) {
  ::close(fd);
  not_yet("pipe transports");
}

std::shared_ptr<WriteTransport> UringBackend::make_write_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol>, Future<void>) {
  ::close(fd);
  not_yet("pipe transports");
}

}  // namespace aiocpp::detail
