#include "core/resolver.hpp"

#include <arpa/inet.h>

#include "core/loop_impl.hpp"

namespace aiocpp::detail {

namespace {

bool is_numeric_host(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Runs getaddrinfo on the loop's default executor.
Future<std::vector<AddrInfo>> getaddrinfo_in_executor(EventLoop& loop, std::string host, int port,
                                                      int family, int type, int protocol,
                                                      int flags) {
  auto lookup = [host = std::move(host), port, family, type, protocol, flags] {
    return getaddrinfo_blocking(&host, port, family, type, protocol, flags);
  };
  return loop.run_in_executor(nullptr, std::move(lookup));
}

}  // namespace

Task<std::vector<AddrInfo>> resolve(EventLoop& loop, std::optional<std::string> host, int port,
                                    int family, int type, int protocol, int flags) {
  if (port < 0 || port > 65535) {
    throw_os_error(EINVAL, "port must be 0-65535, got " + std::to_string(port));
  }
  if (!host || is_numeric_host(*host)) {
    co_return getaddrinfo_blocking(host ? &*host : nullptr, port, family, type, protocol,
                                   flags | AI_NUMERICHOST | AI_NUMERICSERV);
  }
  co_return co_await getaddrinfo_in_executor(loop, *host, port, family, type, protocol, flags);
}

}  // namespace aiocpp::detail
