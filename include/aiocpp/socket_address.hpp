#pragma once
// A socket address (IPv4, IPv6 or unix), with Python's tuple formatting so
// that programs print what the seeds print: ('127.0.0.1', 8888).

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <system_error>

namespace aiocpp {

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr* addr, socklen_t length);

  // Parses a numeric IPv4 or IPv6 address; throws std::system_error (EINVAL) otherwise.
  static SocketAddress from_ip(const std::string& ip, int port);
  static SocketAddress from_unix_path(const std::string& path);

  int family() const noexcept { return storage_.ss_family; }
  bool empty() const noexcept { return length_ == 0; }
  std::string host() const;  // numeric address, or the path of a unix socket
  int port() const;          // 0 for unix sockets
  // Python's repr of the address tuple: ('127.0.0.1', 8888) or ('::1', 8888, 0, 0).
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return length_; }
  void set_size(socklen_t length) noexcept { length_ = length; }
  static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

// One result of getaddrinfo.
struct AddrInfo {
  int family = 0;
  int type = 0;
  int protocol = 0;
  std::string canonname{};
  SocketAddress address{};
};

// Keyword arguments of getaddrinfo.
struct AddrInfoOptions {
  int family = 0;
  int type = 0;
  int proto = 0;
  int flags = 0;
};

// The error category of getaddrinfo's EAI_* codes (asyncio's socket.gaierror).
const std::error_category& gai_category();

// The socket behind a transport or server, as get_extra_info("socket") and
// Server::sockets() give it (asyncio's TransportSocket): a view that does not own it.
class TransportSocket {
 public:
  TransportSocket() = default;
  explicit TransportSocket(int fd) noexcept : fd_(fd) {}
  int fileno() const noexcept { return fd_; }
  int family() const;
  SocketAddress getsockname() const;
  SocketAddress getpeername() const;

 private:
  int fd_ = -1;
};

}  // namespace aiocpp
