// Unix-domain sockets: create_unix_server, create_unix_connection, and
// connect_accepted_socket (asyncio's unix_events / base_events logic).

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "aiocpp/tasks.hpp"
#include "core/loop_impl.hpp"
#include "core/server_impl.hpp"
#include "posix/socket_ops.hpp"
#include "tls/tls_wiring.hpp"

namespace aiocpp {

namespace {

bool is_abstract(const std::string& path) { return !path.empty() && path[0] == '\0'; }

// A stale socket file left by an earlier server would make bind fail.
void remove_stale_socket(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

}  // namespace

Task<std::shared_ptr<Server>> EventLoop::create_unix_server(ProtocolFactory factory,
                                                            std::string path,
                                                            UnixServerOptions options) {
  if (options.sock >= 0) throw ValueError("path and sock can not be specified at the same time");
  if (path.empty()) throw ValueError("path was not specified, and no sock specified");
  factory = detail::server_factory(*this, std::move(factory), options.ssl,
                                   options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  if (!is_abstract(path)) remove_stale_socket(path);
  detail::UniqueFd fd = detail::make_socket(AF_UNIX, SOCK_STREAM, 0);
  SocketAddress address = SocketAddress::from_unix_path(path);
  if (::bind(fd.get(), address.data(), address.size()) != 0) {
    int err = errno;
    if (err == EADDRINUSE) throw detail::OSError(err, "Address '" + path + "' is already in use");
    throw detail::bind_error(err, "'" + path + "'");
  }
  auto server = std::make_shared<detail::ServerImpl>(*this, std::vector<int>{fd.release()},
                                                     std::move(factory), options.backlog);
  struct stat st;
  if (options.cleanup_socket && !is_abstract(path) && ::stat(path.c_str(), &st) == 0) {
    server->remove_on_close(path, st.st_dev, st.st_ino);
  }
  if (options.start_serving) co_await server->start_serving();
  co_return server;
}

Task<std::shared_ptr<Server>> EventLoop::create_unix_server(ProtocolFactory factory,
                                                            UnixServerOptions options) {
  if (options.sock < 0) throw ValueError("path was not specified, and no sock specified");
  factory = detail::server_factory(*this, std::move(factory), options.ssl,
                                   options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  detail::check_stream_socket(options.sock, AF_UNIX);
  detail::set_nonblocking(options.sock);
  auto server = std::make_shared<detail::ServerImpl>(*this, std::vector<int>{options.sock},
                                                     std::move(factory), options.backlog);
  if (options.start_serving) co_await server->start_serving();
  co_return server;
}

Task<Connection<BaseProtocol>> EventLoop::create_unix_connection_impl(
    ProtocolFactory factory, std::optional<std::string> path, int sock,
    UnixConnectionOptions options) {
  // TLS: a path names no host, so the name to check must be given.
  if (options.ssl && !options.server_hostname) {
    throw ValueError("you have to pass server_hostname when using ssl");
  }
  if (!options.ssl && options.server_hostname) {
    throw ValueError("server_hostname is only meaningful with ssl");
  }
  detail::check_ssl_arguments(options.ssl != nullptr, options.ssl_handshake_timeout,
                              options.ssl_shutdown_timeout);
  StartTLSOptions tls;
  tls.server_hostname = options.server_hostname;
  tls.ssl_handshake_timeout = options.ssl_handshake_timeout;
  tls.ssl_shutdown_timeout = options.ssl_shutdown_timeout;
  if (path) {
    if (sock >= 0) throw ValueError("path and sock can not be specified at the same time");
    detail::UniqueFd fd = detail::make_socket(AF_UNIX, SOCK_STREAM, 0);
    co_await impl_->backend->sock_connect(fd.get(), SocketAddress::from_unix_path(*path));
    co_return co_await wrap_connected_socket(std::move(factory), fd.release(), options.ssl, tls);
  }
  if (sock < 0) throw ValueError("no path and sock were specified");
  detail::check_stream_socket(sock, AF_UNIX);
  detail::set_nonblocking(sock);
  co_return co_await wrap_connected_socket(std::move(factory), sock, options.ssl, tls);
}

Task<Connection<BaseProtocol>> EventLoop::connect_accepted_socket_impl(
    ProtocolFactory factory, int sock, AcceptedSocketOptions options) {
  detail::check_ssl_arguments(options.ssl != nullptr, options.ssl_handshake_timeout,
                              options.ssl_shutdown_timeout);
  detail::check_stream_socket(sock);
  detail::set_nonblocking(sock);
  StartTLSOptions tls;
  tls.server_side = true;
  tls.ssl_handshake_timeout = options.ssl_handshake_timeout;
  tls.ssl_shutdown_timeout = options.ssl_shutdown_timeout;
  co_return co_await wrap_connected_socket(std::move(factory), sock, options.ssl, tls);
}

}  // namespace aiocpp
