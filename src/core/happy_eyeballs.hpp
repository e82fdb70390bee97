#pragma once
// RFC 8305 ("Happy Eyeballs") for create_connection: the order to try the
// resolved addresses in, and the staggered race between the attempts
// (asyncio's _interleave_addrinfos and staggered.staggered_race).

#include <functional>
#include <system_error>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

// Alternates address families: first `first_family_count` addresses of the
// first family, then one of each family in turn, keeping each family's order.
std::vector<AddrInfo> interleave_addrinfos(std::vector<AddrInfo> infos, int first_family_count);

// Connects one socket to one address (and binds it first, if asked to).
using ConnectAttempt = std::function<Task<UniqueFd>(const AddrInfo&)>;

// Starts an attempt per target, the next one as soon as the previous fails
// or `delay` seconds after it started, whichever comes first. The first
// attempt to connect wins; the others are cancelled and their sockets closed.
// When every attempt fails, throws what combined_connect_error makes of them.
Task<UniqueFd> staggered_connect(EventLoop& loop, std::vector<AddrInfo> targets, double delay,
                                 ConnectAttempt attempt);

// One error as it is; several: the first if they all say the same, else
// "Multiple exceptions: a, b, ..." (asyncio's wording).
std::system_error combined_connect_error(const std::vector<std::system_error>& errors);

}  // namespace aiocpp::detail
