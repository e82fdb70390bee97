// create_server and create_connection: the backend-independent logic of
// asyncio's BaseEventLoop, in its order of checks and with its messages.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "aiocpp/tasks.hpp"
#include "core/connection_made.hpp"
#include "core/happy_eyeballs.hpp"
#include "core/loop_impl.hpp"
#include "core/resolver.hpp"
#include "core/server_impl.hpp"
#include "tls/tls_wiring.hpp"

namespace aiocpp {

Task<std::shared_ptr<Server>> EventLoop::create_server(ProtocolFactory factory, std::string host,
                                                       int port, ServerOptions options) {
  std::vector<std::string> hosts;
  if (!host.empty()) hosts.push_back(std::move(host));
  return create_server(std::move(factory), std::move(hosts), port, std::move(options));
}

Task<std::shared_ptr<Server>> EventLoop::create_server(ProtocolFactory factory,
                                                       std::vector<std::string> hosts, int port,
                                                       ServerOptions options) {
  if (options.sock >= 0) {
    throw ValueError("host/port and sock can not be specified at the same time");
  }
  if (port < 0 || port > 65535) {
    detail::throw_os_error(EINVAL, "port must be 0-65535, got " + std::to_string(port));
  }
  factory = detail::server_factory(*this, std::move(factory), options.ssl,
                                   options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  bool reuse_address = options.reuse_address.value_or(true);
  bool reuse_port = options.reuse_port.value_or(false);

  std::vector<detail::AddrInfo> infos;
  std::vector<std::optional<std::string>> targets;
  if (hosts.empty()) {
    targets.emplace_back(std::nullopt);  // all interfaces
  } else {
    for (auto& h : hosts) targets.emplace_back(h);
  }
  for (auto& target : targets) {
    auto found = co_await detail::resolve(*this, target, port, options.family, SOCK_STREAM, 0,
                                          options.flags);
    for (auto& info : found) {
      bool seen = std::any_of(infos.begin(), infos.end(), [&](const detail::AddrInfo& i) {
        return i.address == info.address && i.protocol == info.protocol;
      });
      if (!seen) infos.push_back(info);
    }
  }

  std::vector<detail::UniqueFd> sockets;
  for (auto& info : infos) {
    detail::UniqueFd fd;
    try {
      fd = detail::make_socket(info.family, info.type, info.protocol);
    } catch (const std::system_error&) {
      continue;  // a family this host cannot open (no IPv6, say): skip it, as asyncio does
    }
    if (reuse_address) detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
    if (reuse_port) detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
    // Listening on :: must not also take IPv4: 0.0.0.0 has its own socket.
    if (info.family == AF_INET6) detail::set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (::bind(fd.get(), info.address.data(), info.address.size()) != 0) {
      throw detail::bind_error(errno, info.address.to_string());
    }
    sockets.push_back(std::move(fd));
  }
  if (sockets.empty() && !infos.empty()) {
    detail::throw_os_error(EAFNOSUPPORT, "no usable address family to listen on");
  }
  std::vector<int> fds;
  for (auto& s : sockets) fds.push_back(s.release());
  auto server = std::make_shared<detail::ServerImpl>(*this, std::move(fds), std::move(factory),
                                                     options.backlog);
  if (options.start_serving) co_await server->start_serving();
  co_return server;
}

Task<std::shared_ptr<Server>> EventLoop::create_server(ProtocolFactory factory,
                                                       ServerOptions options) {
  if (options.sock < 0) throw ValueError("Neither host/port nor sock were specified");
  factory = detail::server_factory(*this, std::move(factory), options.ssl,
                                   options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  detail::check_stream_socket(options.sock);
  detail::set_nonblocking(options.sock);
  auto server = std::make_shared<detail::ServerImpl>(*this, std::vector<int>{options.sock},
                                                     std::move(factory), options.backlog);
  if (options.start_serving) co_await server->start_serving();
  co_return server;
}

namespace {

// Connects one socket to `target`, binding it first to a local address of
// the same family when local addresses are given.
Task<detail::UniqueFd> connect_one(EventLoop& loop, const detail::AddrInfo& target,
                                   const std::vector<detail::AddrInfo>& local) {
  detail::UniqueFd fd = detail::make_socket(target.family, target.type, target.protocol);
  if (!local.empty()) {
    bool bound = false;
    std::exception_ptr last;  // keeps the OSError's own message
    for (auto& l : local) {
      if (l.family != target.family) continue;
      if (::bind(fd.get(), l.address.data(), l.address.size()) == 0) {
        bound = true;
        break;
      }
      last = std::make_exception_ptr(detail::bind_error(errno, l.address.to_string()));
    }
    if (!bound) {
      if (last) std::rethrow_exception(last);
      detail::throw_os_error(EINVAL, "no matching local address with family=" +
                                         std::to_string(target.family) + " found");
    }
  }
  co_await detail::impl_of(loop).backend->sock_connect(fd.get(), target.address);
  co_return fd;
}

}  // namespace

Task<Connection<BaseProtocol>> EventLoop::create_connection_impl(ProtocolFactory factory,
                                                                 std::optional<std::string> host,
                                                                 int port,
                                                                 ConnectionOptions options) {
  if (options.happy_eyeballs_delay && *options.happy_eyeballs_delay < 0) {
    throw ValueError("happy_eyeballs_delay must be a non-negative number of seconds");
  }
  if (options.interleave && *options.interleave < 0) {
    throw ValueError("interleave must be a non-negative count");
  }
  // TLS: asyncio's checks, in its order; the name checked defaults to the host.
  if (options.server_hostname && !options.ssl) {
    throw ValueError("server_hostname is only meaningful with ssl");
  }
  if (options.ssl && !options.server_hostname && !host) {
    throw ValueError("You must set server_hostname when using ssl without a host");
  }
  detail::check_ssl_arguments(options.ssl != nullptr, options.ssl_handshake_timeout,
                              options.ssl_shutdown_timeout);
  StartTLSOptions tls;
  tls.server_hostname = options.server_hostname ? options.server_hostname : host;
  tls.ssl_handshake_timeout = options.ssl_handshake_timeout;
  tls.ssl_shutdown_timeout = options.ssl_shutdown_timeout;
  detail::UniqueFd fd;
  if (host) {
    if (options.sock >= 0) {
      throw ValueError("host/port and sock can not be specified at the same time");
    }
    auto infos = co_await detail::resolve(*this, *host, port, options.family, SOCK_STREAM,
                                          options.proto, options.flags);
    if (infos.empty()) detail::throw_os_error(EADDRNOTAVAIL, "getaddrinfo() returned empty list");
    std::vector<detail::AddrInfo> local;
    if (options.local_addr) {
      local = co_await detail::resolve(*this, options.local_addr->first, options.local_addr->second,
                                       options.family, SOCK_STREAM, options.proto, options.flags);
      if (local.empty()) detail::throw_os_error(EADDRNOTAVAIL, "getaddrinfo() returned empty list");
    }
    int interleave = options.interleave.value_or(options.happy_eyeballs_delay ? 1 : 0);
    if (interleave > 0) infos = detail::interleave_addrinfos(std::move(infos), interleave);
    detail::ConnectAttempt attempt = [this, &local](const detail::AddrInfo& target) {
      return connect_one(*this, target, local);
    };
    if (options.happy_eyeballs_delay) {
      fd = co_await detail::staggered_connect(*this, std::move(infos),
                                              *options.happy_eyeballs_delay, attempt);
    } else {
      std::vector<std::system_error> errors;
      for (auto& info : infos) {
        try {
          fd = co_await attempt(info);
          break;
        } catch (const std::system_error& e) {
          errors.push_back(e);
        }
      }
      if (!fd) throw detail::combined_connect_error(errors);
    }
  } else {
    if (options.sock < 0) {
      throw ValueError("host and port was not specified and no sock specified");
    }
    detail::check_stream_socket(options.sock);
    detail::set_nonblocking(options.sock);
    fd = detail::UniqueFd(options.sock);
  }

  co_return co_await wrap_connected_socket(std::move(factory), fd.release(), options.ssl, tls);
}

Task<Connection<BaseProtocol>> EventLoop::wrap_connected_socket(ProtocolFactory factory, int sock,
                                                                std::shared_ptr<SSLContext> ssl,
                                                                StartTLSOptions tls) {
  detail::UniqueFd fd(sock);
  std::shared_ptr<BaseProtocol> protocol = detail::make_protocol(factory);
  Future<void> waiter = create_future<void>();
  if (ssl) {
    // The waiter is TLS's: it completes once the handshake is done and the
    // protocol's connection_made has returned (asyncio's order).
    detail::TLSLayer layer = detail::make_tls_layer(*this, ssl, protocol, tls, waiter);
    impl_->backend->make_socket_transport(fd.release(), layer.ssl_protocol, Future<void>(),
                                          nullptr);
    co_await detail::wait_connection_made(waiter, layer.app_transport);
    co_return Connection<BaseProtocol>{std::move(layer.app_transport), std::move(protocol)};
  }
  std::shared_ptr<Transport> transport =
      impl_->backend->make_socket_transport(fd.release(), protocol, waiter, nullptr);
  co_await detail::wait_connection_made(waiter, transport);
  co_return Connection<BaseProtocol>{std::move(transport), std::move(protocol)};
}

}  // namespace aiocpp
