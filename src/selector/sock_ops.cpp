// asyncio's sock_* operations on the selector backend: each tries its system
// call at once and waits for readiness only when the kernel says it would
// block, as asyncio's selector loop does.

#include <sys/socket.h>

#include <cerrno>

#include "posix/socket_ops.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/sendfile_native.hpp"

namespace aiocpp::detail {

Task<std::size_t> EpollBackend::sock_recv(int fd, std::span<char> buffer) {
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    int err = errno;
    if (!would_block(err)) throw_os_error(err, "recv");
    if (err != EINTR) co_await wait_ready(fd, false);
  }
}

Task<std::pair<std::size_t, SocketAddress>> EpollBackend::sock_recvfrom(int fd,
                                                                        std::span<char> buffer) {
  for (;;) {
    SocketAddress from;
    socklen_t length = SocketAddress::capacity();
    ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, from.data(), &length);
    if (n >= 0) {
      from.set_size(length);
      co_return std::pair<std::size_t, SocketAddress>(static_cast<std::size_t>(n), from);
    }
    int err = errno;
    if (!would_block(err)) throw_os_error(err, "recvfrom");
    if (err != EINTR) co_await wait_ready(fd, false);
  }
}

Task<std::size_t> EpollBackend::sock_send(int fd, std::span<const char> data) {
  for (;;) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    int err = errno;
    if (!would_block(err)) throw_os_error(err, "send");
    if (err != EINTR) co_await wait_ready(fd, true);
  }
}

Task<std::size_t> EpollBackend::sock_sendto(int fd, std::span<const char> data,
                                            SocketAddress address) {
  for (;;) {
    ssize_t n =
        ::sendto(fd, data.data(), data.size(), MSG_NOSIGNAL, address.data(), address.size());
    if (n >= 0) co_return static_cast<std::size_t>(n);
    int err = errno;
    if (!would_block(err)) throw_os_error(err, "sendto " + address.to_string());
    if (err != EINTR) co_await wait_ready(fd, true);
  }
}

Task<std::pair<int, SocketAddress>> EpollBackend::sock_accept(int fd) {
  for (;;) {
    SocketAddress peer;
    socklen_t length = SocketAddress::capacity();
    int accepted = ::accept4(fd, peer.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (accepted >= 0) {
      peer.set_size(length);
      co_return std::pair<int, SocketAddress>(accepted, peer);
    }
    int err = errno;
    if (err == ECONNABORTED) continue;  // that one left already: take the next
    if (!would_block(err)) throw_os_error(err, "accept");
    if (err != EINTR) co_await wait_ready(fd, false);
  }
}

Task<std::size_t> EpollBackend::sock_sendfile(int fd, int file, std::int64_t offset,
                                              std::optional<std::size_t> count) {
  WaitWritable wait = [this, fd] { return wait_ready(fd, true); };
  co_return co_await sendfile_native(fd, file, offset, count, wait);
}

}  // namespace aiocpp::detail
