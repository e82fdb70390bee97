// The low-level socket operations (asyncio's loop.sock_* methods): each
// tries its system call at once and waits for readiness only when the kernel
// says it would block, as asyncio's selector loop does.

#include <sys/socket.h>
#include <unistd.h>

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

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

Task<std::string> EventLoop::sock_recv(int sock, std::size_t nbytes) {
  check_nonblocking(sock);
  std::string data(nbytes, '\0');
  for (;;) {
    ssize_t n = ::recv(sock, data.data(), nbytes, 0);
    if (n >= 0) {
      data.resize(static_cast<std::size_t>(n));
      co_return data;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) detail::throw_os_error(err, "recv");
    co_await impl_->backend->wait_ready(sock, false);
  }
}

Task<std::size_t> EventLoop::sock_recv_into(int sock, std::span<char> buffer) {
  check_nonblocking(sock);
  for (;;) {
    ssize_t n = ::recv(sock, buffer.data(), buffer.size(), 0);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) detail::throw_os_error(err, "recv_into");
    co_await impl_->backend->wait_ready(sock, false);
  }
}

Task<std::pair<std::string, SocketAddress>> EventLoop::sock_recvfrom(int sock,
                                                                     std::size_t bufsize) {
  check_nonblocking(sock);
  std::string data(bufsize, '\0');
  for (;;) {
    SocketAddress from;
    socklen_t length = SocketAddress::capacity();
    ssize_t n = ::recvfrom(sock, data.data(), bufsize, 0, from.data(), &length);
    if (n >= 0) {
      from.set_size(length);
      data.resize(static_cast<std::size_t>(n));
      co_return std::pair<std::string, SocketAddress>(std::move(data), from);
    }
    int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) detail::throw_os_error(err, "recvfrom");
    co_await impl_->backend->wait_ready(sock, false);
  }
}

Task<std::pair<std::size_t, SocketAddress>> EventLoop::sock_recvfrom_into(int sock,
                                                                          std::span<char> buffer,
                                                                          std::size_t nbytes) {
  check_nonblocking(sock);
  if (nbytes == 0) nbytes = buffer.size();
  if (nbytes > buffer.size()) throw ValueError("nbytes is greater than the length of the buffer");
  for (;;) {
    SocketAddress from;
    socklen_t length = SocketAddress::capacity();
    ssize_t n = ::recvfrom(sock, buffer.data(), nbytes, 0, from.data(), &length);
    if (n >= 0) {
      from.set_size(length);
      co_return std::pair<std::size_t, SocketAddress>(static_cast<std::size_t>(n), from);
    }
    int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) detail::throw_os_error(err, "recvfrom_into");
    co_await impl_->backend->wait_ready(sock, false);
  }
}

Task<void> EventLoop::sock_sendall(int sock, std::string data) {
  check_nonblocking(sock);
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(sock, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) detail::throw_os_error(err, "sendall");
    co_await impl_->backend->wait_ready(sock, true);
  }
}

Task<std::size_t> EventLoop::sock_sendto(int sock, std::string data, SocketAddress address) {
  check_nonblocking(sock);
  for (;;) {
    ssize_t n =
        ::sendto(sock, data.data(), data.size(), MSG_NOSIGNAL, address.data(), address.size());
    if (n >= 0) co_return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (!would_block(err)) detail::throw_os_error(err, "sendto " + address.to_string());
    co_await impl_->backend->wait_ready(sock, true);
  }
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
  for (;;) {
    SocketAddress peer;
    socklen_t length = SocketAddress::capacity();
    int fd = ::accept4(sock, peer.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.set_size(length);
      co_return std::pair<int, SocketAddress>(fd, peer);
    }
    int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (!would_block(err)) detail::throw_os_error(err, "accept");
    co_await impl_->backend->wait_ready(sock, false);
  }
}

Task<std::size_t> EventLoop::sock_sendfile(int sock, int file, std::int64_t offset,
                                           std::optional<std::size_t> count, bool fallback) {
  check_nonblocking(sock);
  detail::check_sendfile_params(sock, offset, count);
  try {
    detail::WaitWritable wait = [this, sock] { return impl_->backend->wait_ready(sock, true); };
    co_return co_await detail::sendfile_native(sock, file, offset, count, wait);
  } catch (const SendfileNotAvailableError&) {
    if (!fallback) throw;
  }
  detail::SendChunk send = [this, sock](std::string chunk) {
    return sock_sendall(sock, std::move(chunk));
  };
  co_return co_await detail::sendfile_fallback(*this, file, offset, count, send);
}

}  // namespace aiocpp
