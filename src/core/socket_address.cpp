#include "aiocpp/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace aiocpp {

SocketAddress::SocketAddress(const sockaddr* addr, socklen_t length) {
  length_ = std::min<socklen_t>(length, sizeof storage_);
  std::memcpy(&storage_, addr, length_);
}

SocketAddress SocketAddress::from_ip(const std::string& ip, int port) {
  if (port < 0 || port > 65535) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "port must be 0-65535, got " + std::to_string(port));
  }
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    out.length_ = sizeof(sockaddr_in);
    return out;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    out.length_ = sizeof(sockaddr_in6);
    return out;
  }
  throw std::system_error(EINVAL, std::generic_category(),
                          "not a numeric IP address: '" + ip + "'");
}

SocketAddress SocketAddress::from_unix_path(const std::string& path) {
  SocketAddress out;
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage_);
  if (path.size() >= sizeof un->sun_path) {
    throw std::system_error(ENAMETOOLONG, std::generic_category(),
                            "unix socket path too long: '" + path + "'");
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  // An abstract address (leading NUL) is exactly its bytes; a path has its NUL.
  bool abstract = !path.empty() && path[0] == '\0';
  out.length_ =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return out;
}

std::string SocketAddress::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
      return buf;
    case AF_INET6:
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof buf);
      return buf;
    case AF_UNIX: {
      auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
      std::size_t max =
          length_ > offsetof(sockaddr_un, sun_path) ? length_ - offsetof(sockaddr_un, sun_path) : 0;
      return std::string(un->sun_path, strnlen(un->sun_path, max));
    }
    default:
      return {};
  }
}

int SocketAddress::port() const {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string SocketAddress::to_string() const {
  switch (family()) {
    case AF_INET:
      return "('" + host() + "', " + std::to_string(port()) + ")";
    case AF_INET6: {
      auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
      return "('" + host() + "', " + std::to_string(port()) + ", " +
             std::to_string(ntohl(v6->sin6_flowinfo)) + ", " + std::to_string(v6->sin6_scope_id) +
             ")";
    }
    case AF_UNIX:
      return "'" + host() + "'";
    default:
      return "None";
  }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

int TransportSocket::family() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  return ss.ss_family;
}

SocketAddress TransportSocket::getsockname() const {
  SocketAddress out;
  socklen_t len = SocketAddress::capacity();
  if (::getsockname(fd_, out.data(), &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "getsockname");
  }
  out.set_size(len);
  return out;
}

SocketAddress TransportSocket::getpeername() const {
  SocketAddress out;
  socklen_t len = SocketAddress::capacity();
  if (::getpeername(fd_, out.data(), &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "getpeername");
  }
  out.set_size(len);
  return out;
}

}  // namespace aiocpp
