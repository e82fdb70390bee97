// The low-level socket operations (asyncio's loop.sock_* methods): asyncio's
// argument checks, and the operations composed from the backend's (one
// kernel operation each: Backend's sock_* hooks).

#include <sys/socket.h>

#include <cerrno>

#include "core/loop_impl.hpp"
#include "core/resolver.hpp"
#include "core/sendfile.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp {

namespace {

void check_nonblocking(int sock) {
  if (!detail::is_nonblocking(sock)) throw ValueError("the socket must be non-blocking");
}

}  // namespace

Task<std::string> EventLoop::sock_recv(int sock, std::size_t nbytes) {
  check_nonblocking(sock);
  std::string data(nbytes, '\0');
  std::size_t n = co_await impl_->backend->sock_recv(sock, data);
  data.resize(n);
  co_return data;
}

Task<std::size_t> EventLoop::sock_recv_into(int sock, std::span<char> buffer) {
  check_nonblocking(sock);
  co_return co_await impl_->backend->sock_recv(sock, buffer);
}

Task<std::pair<std::string, SocketAddress>> EventLoop::sock_recvfrom(int sock,
                                                                     std::size_t bufsize) {
  check_nonblocking(sock);
  std::string data(bufsize, '\0');
  auto [n, from] = co_await impl_->backend->sock_recvfrom(sock, data);
  data.resize(n);
  co_return std::pair<std::string, SocketAddress>(std::move(data), from);
}

Task<std::pair<std::size_t, SocketAddress>> EventLoop::sock_recvfrom_into(int sock,
                                                                          std::span<char> buffer,
                                                                          std::size_t nbytes) {
  check_nonblocking(sock);
  if (nbytes == 0) nbytes = buffer.size();
  if (nbytes > buffer.size()) throw ValueError("nbytes is greater than the length of the buffer");
  co_return co_await impl_->backend->sock_recvfrom(sock, buffer.first(nbytes));
}

Task<void> EventLoop::sock_sendall(int sock, std::string data) {
  check_nonblocking(sock);
  std::span<const char> rest(data);
  while (!rest.empty()) {
    std::size_t sent = co_await impl_->backend->sock_send(sock, rest);
    rest = rest.subspan(sent);
  }
}

Task<std::size_t> EventLoop::sock_sendto(int sock, std::string data, SocketAddress address) {
  check_nonblocking(sock);
  co_return co_await impl_->backend->sock_sendto(sock, data, address);
}

Task<void> EventLoop::sock_connect(int sock, SocketAddress address) {
  check_nonblocking(sock);
  co_await impl_->backend->sock_connect(sock, address);
}

Task<void> EventLoop::sock_connect(int sock, std::string host, int port) {
  check_nonblocking(sock);
  int family = detail::socket_family(sock);
  if (family == AF_UNIX) {
    co_await impl_->backend->sock_connect(sock, SocketAddress::from_unix_path(host));
    co_return;
  }
  auto infos = co_await detail::resolve(*this, host, port, family, detail::socket_type(sock), 0, 0);
  if (infos.empty()) detail::throw_os_error(EINVAL, "getaddrinfo() returned empty list");
  co_await impl_->backend->sock_connect(sock, infos.front().address);
}

Task<std::pair<int, SocketAddress>> EventLoop::sock_accept(int sock) {
  check_nonblocking(sock);
  co_return co_await impl_->backend->sock_accept(sock);
}

Task<std::size_t> EventLoop::sock_sendfile(int sock, int file, std::int64_t offset,
                                           std::optional<std::size_t> count, bool fallback) {
  check_nonblocking(sock);
  detail::check_sendfile_params(sock, offset, count);
  try {
    co_return co_await impl_->backend->sock_sendfile(sock, file, offset, count);
  } catch (const SendfileNotAvailableError&) {
    if (!fallback) throw;
  }
  detail::SendChunk send = [this, sock](std::string chunk) {
    return sock_sendall(sock, std::move(chunk));
  };
  co_return co_await detail::sendfile_fallback(*this, file, offset, count, send);
}

}  // namespace aiocpp
