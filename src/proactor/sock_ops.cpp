// asyncio's sock_* operations on io_uring: each one kernel operation,
// submitted with the loop's next iteration (asyncio's proactor loop).

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"
#include "proactor/sock_op.hpp"
#include "proactor/uring_backend.hpp"
#include "selector/sendfile_native.hpp"

namespace aiocpp::detail {

namespace {

// Whether an operation found nothing to do at once on a non-blocking
// socket; it is then retried once the socket is ready.
bool not_ready(int res) noexcept { return res == -EAGAIN || res == -EINTR; }

}  // namespace

namespace {

// A poll for writability, as a task: cancelling it cancels the poll. A task
// rather than a future chained to the poll's, so that no two futures hold
// each other through their callbacks (a cycle a closing loop would leak).
Task<void> poll_writable(UringBackend& backend, int fd) {
  auto op = std::make_shared<SockOp>(backend, 0);
  auto prep = [fd](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd, POLLOUT); };
  Future<int> polled = SockOp::run(op, prep);
  int res = co_await polled;
  if (res < 0) throw os_error(-res, "poll");
}

}  // namespace

Future<void> UringBackend::wait_writable(int fd) {
  Task<void> polling = poll_writable(*this, fd);
  return loop_.loop.create_task(std::move(polling));
}

Task<std::size_t> UringBackend::sock_recv(int fd, std::span<char> buffer) {
  check_unclaimed(fd);
  auto op = std::make_shared<SockOp>(*this, buffer.size());
  for (;;) {
    auto prep = [fd, &op](io_uring_sqe* sqe) {
      io_uring_prep_recv(sqe, fd, op->buffer(), op->size(), 0);
    };
    Future<int> done = SockOp::run(op, prep);
    int res = co_await done;
    if (not_ready(res)) continue;
    if (res < 0) throw_os_error(-res, "recv");
    std::memcpy(buffer.data(), op->buffer(), static_cast<std::size_t>(res));
    co_return static_cast<std::size_t>(res);
  }
}

Task<std::pair<std::size_t, SocketAddress>> UringBackend::sock_recvfrom(int fd,
                                                                        std::span<char> buffer) {
  check_unclaimed(fd);
  auto op = std::make_shared<SockOp>(*this, buffer.size());
  for (;;) {
    msghdr* msg = op->message(SocketAddress::capacity());
    auto prep = [fd, msg](io_uring_sqe* sqe) { io_uring_prep_recvmsg(sqe, fd, msg, 0); };
    Future<int> done = SockOp::run(op, prep);
    int res = co_await done;
    if (not_ready(res)) continue;
    if (res < 0) throw_os_error(-res, "recvfrom");
    std::memcpy(buffer.data(), op->buffer(), static_cast<std::size_t>(res));
    SocketAddress from = op->address();
    from.set_size(op->message().msg_namelen);
    co_return std::pair<std::size_t, SocketAddress>(static_cast<std::size_t>(res), from);
  }
}

Task<std::size_t> UringBackend::sock_send(int fd, std::span<const char> data) {
  check_unclaimed(fd);
  auto op = std::make_shared<SockOp>(*this, data.size());
  std::memcpy(op->buffer(), data.data(), data.size());
  for (;;) {
    auto prep = [fd, &op](io_uring_sqe* sqe) {
      io_uring_prep_send(sqe, fd, op->buffer(), op->size(), MSG_NOSIGNAL);
    };
    Future<int> done = SockOp::run(op, prep);
    int res = co_await done;
    if (not_ready(res)) continue;
    if (res < 0) throw_os_error(-res, "send");
    co_return static_cast<std::size_t>(res);
  }
}

Task<std::size_t> UringBackend::sock_sendto(int fd, std::span<const char> data,
                                            SocketAddress address) {
  check_unclaimed(fd);
  auto op = std::make_shared<SockOp>(*this, data.size());
  std::memcpy(op->buffer(), data.data(), data.size());
  op->address() = address;
  for (;;) {
    msghdr* msg = op->message(address.size());
    auto prep = [fd, msg](io_uring_sqe* sqe) { io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL); };
    Future<int> done = SockOp::run(op, prep);
    int res = co_await done;
    if (not_ready(res)) continue;
    if (res < 0) throw_os_error(-res, "sendto " + address.to_string());
    co_return static_cast<std::size_t>(res);
  }
}

Task<std::pair<int, SocketAddress>> UringBackend::sock_accept(int fd) {
  check_unclaimed(fd);
  for (;;) {
    auto op = std::make_shared<SockOp>(*this, 0);
    op->closes_result_fd = true;
    auto prep = [fd, &op](io_uring_sqe* sqe) {
      io_uring_prep_accept(sqe, fd, op->address().data(), op->address_length(),
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    };
    Future<int> done = SockOp::run(op, prep);
    int res = co_await done;
    if (not_ready(res) || res == -ECONNABORTED) continue;  // that one left: take the next
    if (res < 0) throw_os_error(-res, "accept");
    SocketAddress peer = op->address();
    peer.set_size(*op->address_length());
    co_return std::pair<int, SocketAddress>(res, peer);
  }
}

namespace {

// The rest of a connect() that is in progress: a poll for writability,
// then the socket's pending error.
Task<void> finish_connect(UringBackend& backend, int fd, SocketAddress address) {
  Future<void> writable = backend.wait_writable(fd);
  co_await writable;
  int err = connect_result(fd);
  if (err != 0) throw connect_error(err, address);
}

}  // namespace

// connect() now, in the call (connect_now), rather than an IORING_OP_CONNECT
// that would leave with the loop's next io_uring_enter: a caller may go on
// to block in accept() on the other end before the loop enters the kernel
// again (CPython's test_sock_client_racing does, and hung). The ring only
// waits for the connection to finish.
Future<void> UringBackend::sock_connect(int fd, const SocketAddress& address) {
  check_unclaimed(fd);
  int err = connect_now(fd, address);
  if (err == EINPROGRESS) {
    // The task is the future: cancelling it cancels the poll it waits for.
    Task<void> finishing = finish_connect(*this, fd, address);
    return loop_.loop.create_task(std::move(finishing));
  }
  Future<void> done = loop_.loop.create_future<void>();
  if (err == 0) {
    done.set_result();
  } else {
    done.set_exception(connect_error(err, address));
  }
  return done;
}

Task<std::size_t> UringBackend::sock_sendfile(int fd, int file, std::int64_t offset,
                                              std::optional<std::size_t> count) {
  WaitWritable wait = [this, fd] { return wait_writable(fd); };
  co_return co_await sendfile_native(fd, file, offset, count, wait);
}

}  // namespace aiocpp::detail
