#pragma once
// Name resolution for create_server / create_connection: numeric addresses
// are resolved at once; names go to getaddrinfo on the default executor so
// the loop never blocks on DNS.

#include <optional>
#include <string>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

Task<std::vector<AddrInfo>> resolve(EventLoop& loop, std::optional<std::string> host, int port,
                                    int family, int type, int protocol, int flags);

}  // namespace aiocpp::detail
