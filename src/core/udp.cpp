// create_datagram_endpoint: the backend-independent logic of asyncio's
// BaseEventLoop.create_datagram_endpoint, in its order of checks and with
// its messages. IPv4 / IPv6 endpoints take (host, port) pairs, resolved with
// the loop's resolver; AF_UNIX endpoints take paths.

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "aiocpp/tasks.hpp"
#include "core/connection_made.hpp"
#include "core/loop_impl.hpp"
#include "core/resolver.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp {

namespace {

// One socket to try: a family and protocol with its local and remote address.
struct Candidate {
  int family = 0;
  int protocol = 0;
  std::optional<SocketAddress> local;
  std::optional<SocketAddress> remote;
};

std::string pair_repr(const std::pair<std::string, int>& addr) {
  return "('" + addr.first + "', " + std::to_string(addr.second) + ")";
}

// asyncio's list of the keyword arguments that conflict with sock=.
std::string conflicting_options(const DatagramEndpointOptions& o) {
  std::vector<std::string> problems;
  if (o.local_addr) problems.push_back("local_addr=" + pair_repr(*o.local_addr));
  if (o.remote_addr) problems.push_back("remote_addr=" + pair_repr(*o.remote_addr));
  if (o.local_path) problems.push_back("local_path='" + *o.local_path + "'");
  if (o.remote_path) problems.push_back("remote_path='" + *o.remote_path + "'");
  if (o.family) problems.push_back("family=" + std::to_string(o.family));
  if (o.proto) problems.push_back("proto=" + std::to_string(o.proto));
  if (o.flags) problems.push_back("flags=" + std::to_string(o.flags));
  if (o.reuse_port.value_or(false)) problems.push_back("reuse_port=True");
  if (o.allow_broadcast.value_or(false)) problems.push_back("allow_broadcast=True");
  std::string out;
  for (auto& p : problems) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// A socket file left by an earlier endpoint would make bind fail.
void remove_stale_socket(const std::string& path) {
  if (path.empty() || path[0] == '\0') return;  // abstract namespace: no file
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      log_error("Unable to check or remove stale UNIX socket '" + path +
                "': " + detail::os_error(errno, "stat").what());
    }
    return;
  }
  if (S_ISSOCK(st.st_mode) && ::unlink(path.c_str()) != 0) {
    log_error("Unable to check or remove stale UNIX socket '" + path +
              "': " + detail::os_error(errno, "unlink").what());
  }
}

// Validates and adopts `options.sock`.
detail::UniqueFd adopt_socket(const DatagramEndpointOptions& options) {
  int type = detail::socket_type(options.sock);
  if (type < 0) detail::throw_os_error(-type, "not a socket: fd " + std::to_string(options.sock));
  if (type != SOCK_DGRAM) {
    throw ValueError("A UDP Socket was expected, got fd " + std::to_string(options.sock));
  }
  std::string problems = conflicting_options(options);
  if (!problems.empty()) {
    throw ValueError("socket modifier keyword arguments can not be used when sock is specified. (" +
                     problems + ")");
  }
  detail::set_nonblocking(options.sock);
  return detail::UniqueFd(options.sock);
}

// The (family, protocol) pairs for which every given address resolved, in
// the resolver's order, as asyncio pairs them.
Task<std::vector<Candidate>> resolve_candidates(EventLoop& loop,
                                                const DatagramEndpointOptions& options) {
  std::vector<Candidate> candidates;
  const std::optional<std::pair<std::string, int>>* addrs[2] = {&options.local_addr,
                                                                &options.remote_addr};
  for (int idx = 0; idx < 2; ++idx) {
    if (!*addrs[idx]) continue;
    const auto& [host, port] = **addrs[idx];
    auto infos = co_await detail::resolve(loop, host, port, options.family, SOCK_DGRAM,
                                          options.proto, options.flags);
    if (infos.empty()) detail::throw_os_error(EADDRNOTAVAIL, "getaddrinfo() returned empty list");
    for (auto& info : infos) {
      Candidate* found = nullptr;
      for (auto& c : candidates) {
        if (c.family == info.family && c.protocol == info.protocol) found = &c;
      }
      if (!found) {
        candidates.push_back(Candidate{info.family, info.protocol, std::nullopt, std::nullopt});
        found = &candidates.back();
      }
      auto& slot = idx == 0 ? found->local : found->remote;
      if (!slot) slot = info.address;
    }
  }
  std::erase_if(candidates, [&](const Candidate& c) {
    return (options.local_addr && !c.local) || (options.remote_addr && !c.remote);
  });
  if (candidates.empty()) throw ValueError("can not get address information");
  co_return candidates;
}

// Opens, configures, binds and (unless broadcasting) connects one socket.
Task<detail::UniqueFd> open_candidate(EventLoop& loop, const Candidate& c,
                                      const DatagramEndpointOptions& options) {
  detail::UniqueFd fd = detail::make_socket(c.family, SOCK_DGRAM, c.protocol);
  if (options.reuse_port.value_or(false)) {
    detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
  }
  bool broadcast = options.allow_broadcast.value_or(false);
  if (broadcast) detail::set_int_option(fd.get(), SOL_SOCKET, SO_BROADCAST, 1);
  if (c.local && ::bind(fd.get(), c.local->data(), c.local->size()) != 0) {
    throw detail::bind_error(errno, c.local->to_string());
  }
  if (c.remote && !broadcast) {
    co_await detail::impl_of(loop).backend->sock_connect(fd.get(), *c.remote);
  }
  co_return fd;
}

}  // namespace

Task<DatagramConnection<DatagramProtocol>> EventLoop::create_datagram_endpoint_impl(
    std::function<std::shared_ptr<DatagramProtocol>()> factory, DatagramEndpointOptions options) {
  if (options.reuse_address.value_or(false)) {
    throw ValueError(
        "Passing `reuse_address=True` is no longer supported, as the usage of SO_REUSEPORT in "
        "UDP poses a significant security concern.");
  }
  detail::UniqueFd fd;
  std::optional<SocketAddress> remote;  // what sendto() defaults to
  if (options.sock >= 0) {
    fd = adopt_socket(options);
  } else {
    bool paths = options.local_path || options.remote_path;
    bool pairs = options.local_addr || options.remote_addr;
    if (paths && pairs) {
      throw ValueError("local_path / remote_path and local_addr / remote_addr can not be mixed");
    }
    if (paths && options.family != 0 && options.family != AF_UNIX) {
      throw ValueError("local_path / remote_path need family AF_UNIX, got family=" +
                       std::to_string(options.family));
    }
    if (pairs && options.family == AF_UNIX) {
      throw ValueError("string is expected: AF_UNIX endpoints take local_path / remote_path");
    }
    std::vector<Candidate> candidates;
    if (paths) {
      Candidate c{AF_UNIX, options.proto, std::nullopt, std::nullopt};
      if (options.local_path) {
        remove_stale_socket(*options.local_path);
        c.local = SocketAddress::from_unix_path(*options.local_path);
      }
      if (options.remote_path) c.remote = SocketAddress::from_unix_path(*options.remote_path);
      candidates.push_back(std::move(c));
    } else if (pairs) {
      candidates = co_await resolve_candidates(*this, options);
    } else {
      if (options.family == 0) throw ValueError("unexpected address family");
      candidates.push_back(Candidate{options.family, options.proto, std::nullopt, std::nullopt});
    }
    std::optional<std::system_error> first_error;
    for (auto& c : candidates) {
      try {
        fd = co_await open_candidate(*this, c, options);
        remote = c.remote;
        break;
      } catch (const std::system_error& e) {
        if (!first_error) first_error = e;  // asyncio raises the first failure
      }
    }
    if (!fd) throw *first_error;
  }

  std::shared_ptr<DatagramProtocol> protocol = detail::make_protocol(factory);
  Future<void> waiter = create_future<void>();
  std::shared_ptr<DatagramTransport> transport =
      impl_->backend->make_datagram_transport(fd.release(), protocol, remote, waiter);
  co_await detail::wait_connection_made(waiter, transport);
  co_return DatagramConnection<DatagramProtocol>{std::move(transport), std::move(protocol)};
}

}  // namespace aiocpp
