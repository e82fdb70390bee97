// The low-level socket operations: sock_recv, sock_recv_into, sock_recvfrom,
// sock_recvfrom_into, sock_sendall, sock_sendto, sock_connect, sock_accept.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix/socket_ops.hpp"
#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::detail::UniqueFd;
using aiocpp::testing::BackendLoopTest;
using aiocpp::testing::SocketPair;

UniqueFd bound_socket(int type, int family = AF_INET) {
  UniqueFd fd = detail::make_socket(family, type, 0);
  SocketAddress any = SocketAddress::from_ip(family == AF_INET ? "127.0.0.1" : "::1", 0);
  EXPECT_EQ(bind(fd.get(), any.data(), any.size()), 0);
  return fd;
}

SocketAddress sockname(int fd) { return TransportSocket(fd).getsockname(); }

class SockOps : public BackendLoopTest {};
AIOCPP_TEST_ON_ALL_BACKENDS(SockOps);

TEST_P(SockOps, RecvWaitsForDataThatArrivesLater) {
  SocketPair pair;
  Task<std::string> recv = loop_->create_task(loop_->sock_recv(pair.a.get(), 100));
  run_once();
  run_once();
  EXPECT_FALSE(recv.done()) << "nothing was sent yet";
  ASSERT_EQ(write(pair.b.get(), "hello", 5), 5);
  EXPECT_EQ(run(std::move(recv)), "hello");
  EXPECT_FALSE(loop_->remove_reader(pair.a.get())) << "the wait unregistered itself";
}

TEST_P(SockOps, RecvReturnsEmptyAtEndOfFile) {
  SocketPair pair;
  pair.b = UniqueFd();
  EXPECT_EQ(run(loop_->sock_recv(pair.a.get(), 100)), "");
}

TEST_P(SockOps, SendallOfManyMegabytesWhileThePeerReads) {
  SocketPair pair;
  std::string payload(4 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  auto reader = [](EventLoop& loop, int fd, std::size_t total) -> Task<std::string> {
    std::string got;
    std::vector<char> buffer(64 * 1024);
    while (got.size() < total) {
      std::size_t n = co_await loop.sock_recv_into(fd, buffer);
      if (n == 0) break;
      got.append(buffer.data(), n);
    }
    co_return got;
  };
  Task<std::string> received = loop_->create_task(reader(*loop_, pair.b.get(), payload.size()));
  run(loop_->sock_sendall(pair.a.get(), payload));
  EXPECT_TRUE(run(std::move(received)) == payload) << "every byte arrives, in order";
}

TEST_P(SockOps, AcceptAndConnectByAddressAndByName) {
  UniqueFd listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(listen(listener.get(), 8), 0);
  int port = sockname(listener.get()).port();

  auto scenario = [](EventLoop& loop, int listener, int port) -> Task<void> {
    for (const char* host : {"127.0.0.1", "localhost"}) {
      UniqueFd client = detail::make_socket(AF_INET, SOCK_STREAM, 0);
      Task<std::pair<int, SocketAddress>> accepting = loop.create_task(loop.sock_accept(listener));
      co_await loop.sock_connect(client.get(), host, port);
      auto [conn, peer] = co_await accepting;
      UniqueFd server_side(conn);
      EXPECT_EQ(peer, sockname(client.get())) << host;
      EXPECT_TRUE(detail::is_nonblocking(conn)) << "as asyncio's sock_accept leaves it";
      EXPECT_NE(fcntl(conn, F_GETFD) & FD_CLOEXEC, 0);
      co_await loop.sock_sendall(conn, "x");
      EXPECT_EQ(co_await loop.sock_recv(client.get(), 10), "x");
    }
    UniqueFd by_address = detail::make_socket(AF_INET, SOCK_STREAM, 0);
    co_await loop.sock_connect(by_address.get(), SocketAddress::from_ip("127.0.0.1", port));
    auto accepted = co_await loop.sock_accept(listener);
    close(accepted.first);
  };
  run(scenario(*loop_, listener.get(), port));
}

// asyncio's sock_connect calls connect() in its first step, so the other end
// can accept at once, even blocking, before the loop waits again (CPython's
// test_sock_client_racing does). io_uring's IORING_OP_CONNECT would leave only
// with the loop's next io_uring_enter: that test hung in accept().
TEST_P(SockOps, ConnectStartsInItsFirstStepBeforeTheLoopWaitsAgain) {
  UniqueFd listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(listen(listener.get(), 8), 0);
  SocketAddress address = sockname(listener.get());
  UniqueFd client = detail::make_socket(AF_INET, SOCK_STREAM, 0);

  auto scenario = [](EventLoop& loop, int listener, int client,
                     SocketAddress address) -> Task<void> {
    Task<void> connecting = loop.create_task(loop.sock_connect(client, address));
    co_await sleep(0);  // the connect task's first step runs in this iteration
    pollfd pending{listener, POLLIN, 0};
    EXPECT_EQ(::poll(&pending, 1, 5000), 1) << "no connection to accept yet";
    co_await connecting;
  };
  run(scenario(*loop_, listener.get(), client.get(), address));
  UniqueFd accepted(::accept(listener.get(), nullptr, nullptr));
  EXPECT_GE(accepted.get(), 0);
}

TEST_P(SockOps, ConnectRefusedIsAnOsError) {
  UniqueFd unused = bound_socket(SOCK_STREAM);  // bound, not listening: refuses
  int port = sockname(unused.get()).port();
  UniqueFd client = detail::make_socket(AF_INET, SOCK_STREAM, 0);
  try {
    run(loop_->sock_connect(client.get(), SocketAddress::from_ip("127.0.0.1", port)));
    FAIL() << "connected to a port nobody listens on";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find("Connect call failed ('127.0.0.1', " +
                                         std::to_string(port) + ")"),
              std::string::npos)
        << e.what();
  }
}

TEST_P(SockOps, DatagramsWithRecvfromAndSendto) {
  for (int family : {AF_INET, AF_INET6}) {
    UniqueFd a, b;
    try {
      a = bound_socket(SOCK_DGRAM, family);
      b = bound_socket(SOCK_DGRAM, family);
    } catch (const std::system_error&) {
      continue;  // no IPv6 on this host
    }
    auto exchange = [](EventLoop& loop, int a, int b) -> Task<void> {
      SocketAddress to_b = sockname(b);
      EXPECT_EQ(co_await loop.sock_sendto(a, "first", to_b), 5u);
      auto [data, from] = co_await loop.sock_recvfrom(b, 100);
      EXPECT_EQ(data, "first");
      EXPECT_EQ(from, sockname(a));

      Task<std::pair<std::size_t, SocketAddress>> pending;
      std::array<char, 16> buffer{};
      pending = loop.create_task(loop.sock_recvfrom_into(b, buffer, 3));
      co_await loop.sock_sendto(a, "second", to_b);
      auto [n, from2] = co_await pending;
      EXPECT_EQ(n, 3u) << "nbytes bounds the read";
      EXPECT_EQ(std::string(buffer.data(), n), "sec");
      EXPECT_EQ(from2, sockname(a));
    };
    run(exchange(*loop_, a.get(), b.get()));
  }
}

TEST_P(SockOps, RecvfromIntoRejectsNbytesBeyondTheBuffer) {
  UniqueFd a = bound_socket(SOCK_DGRAM);
  std::array<char, 4> buffer{};
  EXPECT_THROW(run(loop_->sock_recvfrom_into(a.get(), buffer, 5)), ValueError);
}

TEST_P(SockOps, EveryOperationRejectsABlockingSocket) {
  SocketPair pair;
  detail::set_nonblocking(pair.a.get(), false);
  int fd = pair.a.get();
  std::array<char, 4> buffer{};
  auto expect_refused = [&](auto task) {
    try {
      run(std::move(task));
      ADD_FAILURE() << "a blocking socket was accepted";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "the socket must be non-blocking");
    }
  };
  expect_refused(loop_->sock_recv(fd, 1));
  expect_refused(loop_->sock_recv_into(fd, buffer));
  expect_refused(loop_->sock_recvfrom(fd, 1));
  expect_refused(loop_->sock_recvfrom_into(fd, buffer));
  expect_refused(loop_->sock_sendall(fd, "x"));
  expect_refused(loop_->sock_sendto(fd, "x", SocketAddress::from_ip("127.0.0.1", 9)));
  expect_refused(loop_->sock_connect(fd, SocketAddress::from_ip("127.0.0.1", 9)));
  expect_refused(loop_->sock_accept(fd));
  expect_refused(loop_->sock_sendfile(fd, 0));
}

TEST_P(SockOps, CancellingAPendingRecvLeavesTheSocketUsableAndUnwatched) {
  SocketPair pair;
  Task<std::string> recv = loop_->create_task(loop_->sock_recv(pair.a.get(), 100));
  run_once();
  recv.cancel();
  run_once();
  run_once();
  EXPECT_TRUE(recv.cancelled());
  EXPECT_FALSE(loop_->remove_reader(pair.a.get())) << "the cancelled wait unregistered itself";
  ASSERT_EQ(write(pair.b.get(), "after", 5), 5);
  EXPECT_EQ(run(loop_->sock_recv(pair.a.get(), 100)), "after") << "no data was lost";
}

TEST_P(SockOps, CancellingAPendingSendallUnregistersTheWriter) {
  SocketPair pair;
  std::string big(8 << 20, 'z');  // more than the socket buffers hold
  Task<void> send = loop_->create_task(loop_->sock_sendall(pair.a.get(), big));
  run_once();
  run_once();
  EXPECT_FALSE(send.done()) << "the peer reads nothing, so the send must wait";
  send.cancel();
  run_once();
  run_once();
  EXPECT_TRUE(send.cancelled());
  EXPECT_FALSE(loop_->remove_writer(pair.a.get()));
}

TEST_P(SockOps, CancellingAPendingAcceptUnregistersIt) {
  UniqueFd listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(listen(listener.get(), 8), 0);
  Task<std::pair<int, SocketAddress>> accept =
      loop_->create_task(loop_->sock_accept(listener.get()));
  run_once();
  accept.cancel();
  run_once();
  run_once();
  EXPECT_TRUE(accept.cancelled());
  EXPECT_FALSE(loop_->remove_reader(listener.get()));
}

TEST_P(SockOps, AClosedDescriptorIsAnOsError) {
  int fd;
  {
    SocketPair pair;
    fd = pair.a.get();
  }
  try {
    run(loop_->sock_recv(fd, 10));
    FAIL() << "read a closed descriptor";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
  }
}

TEST_P(SockOps, ErrorsFromTheKernelArriveAsOsErrors) {
  SocketPair pair;
  pair.b = UniqueFd();
  try {
    run(loop_->sock_sendall(pair.a.get(), "to nobody"));
    FAIL() << "sent to a closed peer";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPIPE) << "and no SIGPIPE killed us";
  }
}

TEST_P(SockOps, WaitingOnATransportsSocketIsARuntimeError) {
  SocketPair pair;
  auto scenario = [](EventLoop& loop, int fd) -> Task<void> {
    auto factory = [] { return std::make_shared<Protocol>(); };
    auto [transport, protocol] = co_await loop.create_unix_connection(factory, fd);
    EXPECT_THROW(co_await loop.sock_recv(fd, 10), RuntimeError);
    transport->close();
  };
  run(scenario(*loop_, pair.a.release()));
}

}  // namespace
