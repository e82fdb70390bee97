#include "core/resolver.hpp"

#include <arpa/inet.h>

#include "core/loop_impl.hpp"

namespace aiocpp::detail {

namespace {

bool is_numeric_host(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Runs getaddrinfo on the loop's default executor; the result comes back on
// the loop's thread through call_soon_threadsafe.
Future<std::vector<AddrInfo>> getaddrinfo_in_executor(EventLoop& loop, std::string host, int port,
                                                      int family, int type, int protocol,
                                                      int flags) {
  Future<std::vector<AddrInfo>> result = loop.create_future<std::vector<AddrInfo>>();
  // Lifetime: the job holds a reference to the future's state until it has
  // handed the outcome to the loop (or found the loop closed).
  impl_of(loop).default_executor().submit(
      [result, &loop, host, port, family, type, protocol, flags]() mutable {
        std::vector<AddrInfo> infos;
        std::exception_ptr error;
        try {
          infos = getaddrinfo_blocking(&host, port, family, type, protocol, flags);
        } catch (...) {
          error = std::current_exception();
        }
        try {
          loop.call_soon_threadsafe([result, infos = std::move(infos), error]() mutable {
            if (result.done()) return;
            if (error) {
              result.set_exception(error);
            } else {
              result.set_result(std::move(infos));
            }
          });
        } catch (...) {
          // The loop closed meanwhile: nobody is waiting any more.
        }
      });
  return result;
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
