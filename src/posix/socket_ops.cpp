#include "posix/socket_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "aiocpp/errors.hpp"

namespace aiocpp::detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::system_error os_error(int code, const std::string& what) {
  return std::system_error(code, std::generic_category(), what);
}

void throw_os_error(int code, const std::string& what) { throw os_error(code, what); }

OSError::OSError(int code, const std::string& message)
    : std::system_error(code, std::generic_category(), message),
      message_("[Errno " + std::to_string(code) + "] " + message) {}

OSError bind_error(int code, const std::string& address) {
  std::string text = std::strerror(code);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return OSError(code, "error while attempting to bind on address " + address + ": " + text);
}

UniqueFd make_socket(int family, int type, int protocol) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw_os_error(errno, "socket(family=" + std::to_string(family) + ")");
  return UniqueFd(fd);
}

void set_nonblocking(int fd, bool enabled) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) throw_os_error(errno, "fcntl(F_GETFL) on fd " + std::to_string(fd));
  int wanted = enabled ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && fcntl(fd, F_SETFL, wanted) < 0) {
    throw_os_error(errno, "fcntl(F_SETFL) on fd " + std::to_string(fd));
  }
}

bool is_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) throw_os_error(errno, "fcntl(F_GETFL) on fd " + std::to_string(fd));
  return flags & O_NONBLOCK;
}

void set_int_option(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    throw_os_error(errno,
                   "setsockopt(" + std::to_string(level) + ", " + std::to_string(name) + ")");
  }
}

static int int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) != 0) return -errno;
  return value;
}

int socket_type(int fd) { return int_option(fd, SOL_SOCKET, SO_TYPE); }
int socket_family(int fd) { return int_option(fd, SOL_SOCKET, SO_DOMAIN); }
int pending_socket_error(int fd) { return int_option(fd, SOL_SOCKET, SO_ERROR); }

void check_stream_socket(int fd, int family) {
  int type = socket_type(fd);
  if (type < 0) throw_os_error(-type, "not a socket: fd " + std::to_string(fd));
  if (family == AF_UNIX && (type != SOCK_STREAM || socket_family(fd) != AF_UNIX)) {
    throw ValueError("A UNIX Domain Stream Socket was expected, got fd " + std::to_string(fd));
  }
  if (type != SOCK_STREAM) {
    throw ValueError("A Stream Socket was expected, got fd " + std::to_string(fd));
  }
}

int connect_now(int fd, const SocketAddress& address) {
  int rc;
  do {
    rc = ::connect(fd, address.data(), address.size());
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

int connect_result(int fd) {
  int err = pending_socket_error(fd);
  return err < 0 ? -err : err;  // getsockopt's own failure counts as the connect's
}

std::system_error connect_error(int code, const SocketAddress& address) {
  return os_error(code, "Connect call failed " + address.to_string());
}

std::vector<AddrInfo> getaddrinfo_blocking(const std::string* host, int port, int family, int type,
                                           int protocol, int flags) {
  if (port < 0 || port > 65535) {
    throw_os_error(EINVAL, "port must be 0-65535, got " + std::to_string(port));
  }
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = type;
  hints.ai_protocol = protocol;
  hints.ai_flags = flags;
  addrinfo* result = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host ? host->c_str() : nullptr, service.c_str(), &hints, &result);
  if (rc != 0) {
    int code = rc;
    std::string what =
        "getaddrinfo('" + (host ? *host : std::string("None")) + "', " + service + ")";
    if (rc == EAI_SYSTEM) throw_os_error(errno, what);
    throw std::system_error(code, gai_category(), what);
  }
  std::vector<AddrInfo> out;
  for (addrinfo* ai = result; ai; ai = ai->ai_next) {
    out.push_back(AddrInfo{ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                           ai->ai_canonname ? ai->ai_canonname : "",
                           SocketAddress(ai->ai_addr, ai->ai_addrlen)});
  }
  freeaddrinfo(result);
  return out;
}

}  // namespace aiocpp::detail

namespace aiocpp {

namespace {
class GaiCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return gai_strerror(code); }
};
}  // namespace

const std::error_category& gai_category() {
  static GaiCategory category;
  return category;
}

}  // namespace aiocpp
