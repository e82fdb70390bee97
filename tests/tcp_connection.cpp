// create_connection: by name, with local_addr, wrapping a connected socket,
// its errors (refused, unknown host, bad arguments) and its cancellation;
// none of which may leave a descriptor behind.

#include <fcntl.h>

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

void echo(Recorder& p) { p.echo = true; }

Task<std::shared_ptr<Server>> echo_server(const char* host = "127.0.0.1") {
  Acceptor<> acceptor(echo);
  co_return co_await get_running_loop().create_server(acceptor.factory(), host, 0);
}

// One echo round trip over a fresh connection, then a clean close.
Task<void> check_round_trip(Transport& t, Recorder& p) {
  p.echo = false;
  t.write("round trip");
  co_await arrives(p.bytes.at_least(10), "echo");
  EXPECT_EQ(p.received, "round trip");
  t.close();
  co_await arrives(p.lost, "client connection_lost");
  EXPECT_FALSE(p.error) << describe(p.error);
}

// The system_error `task` throws, or a failure naming `what`.
template <class T>
Task<std::optional<std::system_error>> os_error_of(Task<T> task, std::string what) {
  try {
    co_await task;
  } catch (const std::system_error& e) {
    co_return e;
  }
  ADD_FAILURE() << what << " did not throw std::system_error";
  co_return std::nullopt;
}

bool contains(const std::system_error& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

AIOCPP_BACKEND_SUITE(TcpConnection);

TEST_P(TcpConnection, ConnectsToAHostName) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto server = co_await echo_server();
    int port = port_of(*server);
    // "localhost" may resolve to ::1 first, where nobody listens: the next
    // address is tried.
    auto [transport, client] =
        co_await get_running_loop().create_connection(make_echo, "localhost", port);
    EXPECT_EQ(transport->peername(), SocketAddress::from_ip("127.0.0.1", port));
    co_await check_round_trip(*transport, *client);
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpConnection, BindsToLocalAddr) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto server = co_await echo_server();
    // Named first: GCC 12 destroys a non-trivial temporary written inside a
    // co_await expression twice (ConnectionOptions holds a std::string).
    ConnectionOptions options{.local_addr = std::pair<std::string, int>("127.0.0.1", 0)};
    auto [transport, client] = co_await get_running_loop().create_connection(
        make_echo, "127.0.0.1", port_of(*server), options);
    EXPECT_EQ(transport->sockname().host(), "127.0.0.1");
    EXPECT_NE(transport->sockname().port(), 0);
    co_await check_round_trip(*transport, *client);
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpConnection, LocalAddrErrors) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto server = co_await echo_server();
    int port = port_of(*server);
    // A local address whose port a listening socket holds.
    ConnectionOptions in_use{.local_addr = std::pair<std::string, int>("127.0.0.1", port)};
    auto error = co_await os_error_of(loop.create_connection(make_echo, "127.0.0.1", port, in_use),
                                      "local_addr in use");
    if (error) {
      EXPECT_EQ(error->code().value(), EADDRINUSE) << error->what();
      EXPECT_TRUE(contains(*error, "('127.0.0.1', " + std::to_string(port) + ")")) << error->what();
    }
    // A local address of another family than the remote one.
    ConnectionOptions other_family{.local_addr = std::pair<std::string, int>("::1", 0)};
    error = co_await os_error_of(loop.create_connection(make_echo, "127.0.0.1", port, other_family),
                                 "local_addr of another family");
    if (error) EXPECT_TRUE(contains(*error, "no matching local address")) << error->what();
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpConnection, WrapsAConnectedSocket) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto server = co_await echo_server();
    int fd = raw_connect(port_of(*server));
    EXPECT_GE(fd, 0);
    if (fd < 0) co_return;
    ConnectionOptions options{.sock = fd};
    auto [transport, client] = co_await get_running_loop().create_connection(make_echo, options);
    EXPECT_EQ(fd_of(*transport), fd);
    EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK) << "the transport makes its socket non-blocking";
    EXPECT_EQ(transport->peername(), server->sockets()[0].getsockname());
    co_await check_round_trip(*transport, *client);  // closes fd
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpConnection, RefusedConnectionNamesTheAddress) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    // A bound socket that does not listen: its port refuses connections.
    int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SocketAddress local = SocketAddress::from_ip("127.0.0.1", 0);
    ::bind(holder, local.data(), local.size());
    socklen_t len = SocketAddress::capacity();
    ::getsockname(holder, local.data(), &len);
    local.set_size(len);
    auto error = co_await os_error_of(
        get_running_loop().create_connection(make_echo, "127.0.0.1", local.port()),
        "a refused connection");
    if (error) {
      EXPECT_EQ(error->code().value(), ECONNREFUSED) << error->what();
      EXPECT_TRUE(contains(*error, local.to_string())) << error->what();
    }
    ::close(holder);
  }());
}

TEST_P(TcpConnection, UnknownHostRaisesAGetaddrinfoError) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto error = co_await os_error_of(
        get_running_loop().create_connection(make_echo, "no-such-host.invalid", 80),
        "an unknown host");
    if (error) {
      EXPECT_STREQ(error->code().category().name(), "getaddrinfo") << error->what();
      EXPECT_TRUE(contains(*error, "no-such-host.invalid")) << error->what();
    }
  }());
}

TEST_P(TcpConnection, InvalidArgumentsRaiseValueError) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ConnectionOptions with_fd{.sock = fd}, with_udp{.sock = udp},
        none;  // named: see BindsToLocalAddr
    int failures = 0;
    try {  // host/port and sock together
      co_await loop.create_connection(make_echo, "127.0.0.1", 80, with_fd);
    } catch (const ValueError&) {
      ++failures;
    }
    try {  // neither
      co_await loop.create_connection(make_echo, none);
    } catch (const ValueError&) {
      ++failures;
    }
    try {  // not a stream socket
      co_await loop.create_connection(make_echo, with_udp);
    } catch (const ValueError&) {
      ++failures;
    }
    EXPECT_EQ(failures, 3);
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC) << "the caller still owns its socket";
    ::close(fd);
    ::close(udp);
  }());
}

TEST_P(TcpConnection, FailingProtocolFactoryLeavesNoDescriptor) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto server = co_await echo_server();
    auto throwing = []() -> std::shared_ptr<Recorder> { throw std::runtime_error("no protocol"); };
    std::string error;
    try {
      co_await loop.create_connection(throwing, "127.0.0.1", port_of(*server));
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "no protocol");
    auto null = []() -> std::shared_ptr<Recorder> { return nullptr; };
    bool rejected = false;
    try {
      co_await loop.create_connection(null, "127.0.0.1", port_of(*server));
    } catch (const ValueError&) {
      rejected = true;
    }
    EXPECT_TRUE(rejected) << "a factory that returns no protocol";
    server->close();
    co_await server->wait_closed();
  }());
}

// A listening socket whose accept queue is full: further connects stay
// pending (the kernel drops their SYNs) until nobody cares any more.
struct FullBacklog {
  int listener = -1;
  int port = 0;
  std::vector<int> fillers;
  FullBacklog() {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SocketAddress local = SocketAddress::from_ip("127.0.0.1", 0);
    ::bind(listener, local.data(), local.size());
    ::listen(listener, 0);
    socklen_t len = SocketAddress::capacity();
    ::getsockname(listener, local.data(), &len);
    local.set_size(len);
    port = local.port();
    for (int i = 0; i < 3; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      ::connect(fd, local.data(), local.size());
      fillers.push_back(fd);
    }
  }
  ~FullBacklog() {
    for (int fd : fillers) ::close(fd);
    ::close(listener);
  }
};

TEST_P(TcpConnection, CancellingAPendingConnectLeavesNoDescriptor) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    FullBacklog full;
    std::shared_ptr<Recorder> made;
    auto factory = [&made] { return made = std::make_shared<Recorder>(); };
    auto connecting = loop.create_task(loop.create_connection(factory, "127.0.0.1", full.port));
    for (int i = 0; i < 5; ++i) co_await aiocpp::sleep(0);
    EXPECT_FALSE(connecting.done()) << "the connect was expected to hang on a full backlog";
    connecting.cancel();
    bool cancelled = false;
    try {
      co_await connecting;
    } catch (const CancelledError&) {
      cancelled = true;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "unexpected: " << e.what();
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(made, nullptr) << "no protocol for a connection that never was";

    // The same through wait_for's timeout.
    bool timed_out = false;
    try {
      co_await wait_for(loop.create_connection(make_echo, "127.0.0.1", full.port), 0.05);
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    // The loop still works, and the descriptor of the cancelled socket was
    // not confused with a new one (an old watcher must not remove it).
    auto server = co_await echo_server();
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    co_await check_round_trip(*transport, *client);
    server->close();
    co_await server->wait_closed();
  }());
}

// Cancelled while waiting for connection_made (asyncio: the transport is
// closed, the protocol still sees connection_made then connection_lost).
TEST_P(TcpConnection, CancellingWhileConnectionMadeIsPending) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto server = co_await echo_server();
    int fd = raw_connect(port_of(*server));
    EXPECT_GE(fd, 0);
    if (fd < 0) co_return;
    std::shared_ptr<Recorder> made;
    auto factory = [&made] { return made = std::make_shared<Recorder>(); };
    ConnectionOptions options{.sock = fd};
    auto connecting = loop.create_task(loop.create_connection(factory, options));
    co_await aiocpp::sleep(0);  // the task runs until it waits for connection_made
    EXPECT_TRUE(made) << "the transport was expected to exist by now";
    EXPECT_TRUE(connecting.cancel());
    bool cancelled = false;
    try {
      co_await connecting;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    if (made) {
      co_await arrives(made->lost, "connection_lost of the cancelled connection");
      EXPECT_EQ(made->calls.back(), "CL");
    } else {
      ::close(fd);  // never taken over
    }
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpConnection, CancellingDuringResolutionOrBeforeStartLeavesNoDescriptor) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto server = co_await echo_server();
    int port = port_of(*server);
    for (int yields : {0, 1, 2}) {
      auto connecting = loop.create_task(loop.create_connection(make_echo, "localhost", port));
      for (int i = 0; i < yields; ++i) co_await aiocpp::sleep(0);
      if (!connecting.cancel()) {  // already connected: nothing to test this round
        auto connection = co_await connecting;
        co_await check_round_trip(*connection.transport, *connection.protocol);
        continue;
      }
      bool cancelled = false;
      try {
        co_await connecting;
      } catch (const CancelledError&) {
        cancelled = true;
      }
      EXPECT_TRUE(cancelled) << "after " << yields << " yields";
    }
    // Whatever the resolver threads still deliver lands on cancelled futures.
    auto [transport, client] = co_await loop.create_connection(make_echo, "localhost", port);
    co_await check_round_trip(*transport, *client);
    server->close();
    co_await server->wait_closed();
  }());
}

// Closing a loop (not through aiocpp::run) while a connect is in progress.
TEST_P(TcpConnection, ClosingTheLoopWithAPendingConnect) {
  FdLeakCheck fds;
  FullBacklog full;
  auto loop = new_event_loop(loop_options());
  Task<Connection<Recorder>> connecting;
  loop->run_until_complete([](Task<Connection<Recorder>>* connecting, int port) -> Task<void> {
    auto& loop = get_running_loop();
    *connecting = loop.create_task(loop.create_connection(make_echo, "127.0.0.1", port));
    for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
  }(&connecting, full.port));
  EXPECT_FALSE(connecting.done());
  loop->close();  // "Task was destroyed but it is pending!" is expected here
}

}  // namespace
