#pragma once
// Small POSIX socket helpers, for any backend.

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "aiocpp/socket_address.hpp"

namespace aiocpp::detail {

// An owned descriptor, closed on destruction unless released.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  ~UniqueFd();
  int get() const noexcept { return fd_; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// EAGAIN, EWOULDBLOCK or EINTR from a non-blocking call: nothing happened,
// try again when the descriptor is ready.
inline bool would_block(int err) noexcept {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

// std::system_error for errno `code`, with `what` naming the operation and address.
[[noreturn]] void throw_os_error(int code, const std::string& what);
std::system_error os_error(int code, const std::string& what);

// A std::system_error whose message is written out in full, as Python
// prints an OSError: "[Errno 98] error while attempting to bind on address
// ('127.0.0.1', 8888): address already in use". std::system_error would
// append the errno's text once more ("...: address already in use: Address
// already in use").
class OSError : public std::system_error {
 public:
  OSError(int code, const std::string& message);
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};
// asyncio's bind failure: "[Errno N] error while attempting to bind on
// address <address>: <the errno's text in lower case>".
OSError bind_error(int code, const std::string& address);

using aiocpp::gai_category;

UniqueFd make_socket(int family, int type, int protocol);
void set_nonblocking(int fd, bool enabled = true);
// std::system_error (EBADF, ...) when `fd` is not an open descriptor.
bool is_nonblocking(int fd);
void set_int_option(int fd, int level, int name, int value);
int socket_type(int fd);
int socket_family(int fd);
int pending_socket_error(int fd);
// ValueError unless `fd` is a stream socket (of `family`, when not 0), in asyncio's words.
void check_stream_socket(int fd, int family = 0);

// The start of asyncio's sock_connect on a non-blocking socket, the same on
// every backend: connect(2) at once, in the call (a caller may block on the
// other end before the loop runs again), retried on EINTR. Returns 0 when
// connected, EINPROGRESS when the backend must wait for writability and then
// ask connect_result(), or the errno of a failure (see connect_error).
int connect_now(int fd, const SocketAddress& address);
// Once a connect in progress polled writable: 0, or the errno it failed with (SO_ERROR).
int connect_result(int fd);
// asyncio's OSError for a failed connect: "Connect call failed <address>".
std::system_error connect_error(int code, const SocketAddress& address);

using aiocpp::AddrInfo;

// getaddrinfo, returning std::system_error (gai_category) on failure.
// Blocking: call it on a worker thread unless `numeric_only`.
std::vector<AddrInfo> getaddrinfo_blocking(const std::string* host, int port, int family, int type,
                                           int protocol, int flags);

}  // namespace aiocpp::detail
