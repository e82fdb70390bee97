// create_server and Server: where it listens, its options, its life cycle
// (start_serving, close, wait_closed, serve_forever, async_with), its errors,
// and an accept loop that survives running out of descriptors.

#include <fcntl.h>

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

bool have_ipv6() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  SocketAddress any = SocketAddress::from_ip("::1", 0);
  bool ok = ::bind(fd, any.data(), any.size()) == 0;
  ::close(fd);
  return ok;
}

// Connects to `host`:`port`, checks one echo round trip, and closes.
Task<void> check_echo(std::string host, int port) {
  auto [transport, client] = co_await get_running_loop().create_connection(make_echo, host, port);
  client->echo = false;
  transport->write("echo?");
  co_await arrives(client->bytes.at_least(5), "echo from " + host);
  EXPECT_EQ(client->received, "echo?");
  transport->close();
  co_await arrives(client->lost, "client connection_lost");
}

// A blocking connect that is expected to be refused (nobody listens).
void expect_refused(int port, const char* host = "127.0.0.1") {
  int fd = raw_connect(port, host);
  int err = errno;
  EXPECT_LT(fd, 0) << "connected to " << host << ":" << port;
  if (fd >= 0)
    ::close(fd);
  else
    EXPECT_EQ(err, ECONNREFUSED);
}

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) != 0) return -1;
  return value != 0 ? 1 : 0;
}

AIOCPP_BACKEND_SUITE(TcpServer);

TEST_P(TcpServer, ReuseAddressCanBeTurnedOff) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    Acceptor<> acceptor;
    auto server = co_await get_running_loop().create_server(acceptor.factory(), "127.0.0.1", 0,
                                                            {.reuse_address = false});
    EXPECT_EQ(int_option(server->sockets()[0].fileno(), SOL_SOCKET, SO_REUSEADDR), 0);
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServer, ListensOnIpv4LoopbackWithAnEphemeralPort) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    EXPECT_EQ(&server->get_loop(), &loop);
    EXPECT_TRUE(server->is_serving());
    auto sockets = server->sockets();
    EXPECT_EQ(sockets.size(), 1u);
    EXPECT_EQ(sockets[0].family(), AF_INET);
    EXPECT_EQ(sockets[0].getsockname().host(), "127.0.0.1");
    EXPECT_NE(sockets[0].getsockname().port(), 0);
    EXPECT_EQ(int_option(sockets[0].fileno(), SOL_SOCKET, SO_REUSEADDR), 1) << "asyncio's default";
    co_await check_echo("127.0.0.1", port_of(*server));
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServer, ListensOnIpv6Loopback) {
  if (!have_ipv6()) GTEST_SKIP() << "IPv6 loopback (::1) is not available here";
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await get_running_loop().create_server(acceptor.factory(), "::1", 0);
    EXPECT_EQ(server->sockets().size(), 1u);
    EXPECT_EQ(server->sockets()[0].family(), AF_INET6);
    EXPECT_EQ(server->sockets()[0].getsockname().host(), "::1");
    int port = port_of(*server);
    EXPECT_EQ(server->sockets()[0].getsockname().to_string(),
              "('::1', " + std::to_string(port) + ", 0, 0)");
    co_await check_echo("::1", port_of(*server));
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServer, ListensOnAListOfHosts) {
  FdLeakCheck fds;
  bool v6 = have_ipv6();
  run_bounded([](bool v6) -> Task<void> {
    std::vector<std::string> hosts{"127.0.0.1"};
    if (v6) hosts.push_back("::1");
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await get_running_loop().create_server(acceptor.factory(), hosts, 0);
    auto sockets = server->sockets();
    EXPECT_EQ(sockets.size(), hosts.size());
    for (auto& s : sockets) {
      SocketAddress name = s.getsockname();
      EXPECT_NE(name.port(), 0);
      EXPECT_TRUE(name.host() == "127.0.0.1" || name.host() == "::1") << name.to_string();
      co_await check_echo(name.host(), name.port());
    }
    server->close();
    co_await server->wait_closed();
  }(v6));
}

TEST_P(TcpServer, ListensOnAHostName) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await get_running_loop().create_server(acceptor.factory(), "localhost", 0);
    EXPECT_GE(server->sockets().size(), 1u);
    for (auto& s : server->sockets()) {
      SocketAddress name = s.getsockname();
      EXPECT_TRUE(name.host() == "127.0.0.1" || name.host() == "::1") << name.to_string();
      co_await check_echo(name.host(), name.port());
    }
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServer, EmptyHostListensOnAllInterfaces) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await get_running_loop().create_server(acceptor.factory(), "", 0);
    auto sockets = server->sockets();
    EXPECT_GE(sockets.size(), 1u);
    bool saw_ipv4 = false;
    for (auto& s : sockets) {
      SocketAddress name = s.getsockname();
      EXPECT_TRUE(name.host() == "0.0.0.0" || name.host() == "::") << name.to_string();
      EXPECT_NE(name.port(), 0);
      if (name.family() == AF_INET6) {
        EXPECT_EQ(int_option(s.fileno(), IPPROTO_IPV6, IPV6_V6ONLY), 1) << "0.0.0.0 has its own";
      }
      if (name.host() == "0.0.0.0") {
        saw_ipv4 = true;
        co_await check_echo("127.0.0.1", name.port());
      }
    }
    EXPECT_TRUE(saw_ipv4);
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServer, ReusePortLetsTwoServersShareAPort) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto first =
        co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0, {.reuse_port = true});
    int port = port_of(*first);
    auto second =
        co_await loop.create_server(acceptor.factory(), "127.0.0.1", port, {.reuse_port = true});
    EXPECT_EQ(port_of(*second), port);
    int value = 0;
    socklen_t len = sizeof value;
    getsockopt(second->sockets()[0].fileno(), SOL_SOCKET, SO_REUSEPORT, &value, &len);
    EXPECT_NE(value, 0);
    co_await check_echo("127.0.0.1", port);
    first->close();
    second->close();
    co_await first->wait_closed();
    co_await second->wait_closed();
  }());
}

TEST_P(TcpServer, ServesAnExistingSocket) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SocketAddress local = SocketAddress::from_ip("127.0.0.1", 0);
    EXPECT_EQ(::bind(fd, local.data(), local.size()), 0);
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await get_running_loop().create_server(acceptor.factory(), {.sock = fd});
    EXPECT_EQ(server->sockets().size(), 1u);
    EXPECT_EQ(server->sockets()[0].fileno(), fd);
    co_await check_echo("127.0.0.1", port_of(*server));
    server->close();  // the server owns the socket now and closes it
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServer, InvalidArgumentsRaiseValueError) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int failures = 0;
    try {  // host/port and sock together
      co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0, {.sock = fd});
    } catch (const ValueError&) {
      ++failures;
    }
    try {  // neither
      co_await loop.create_server(acceptor.factory(), ServerOptions{});
    } catch (const ValueError&) {
      ++failures;
    }
    try {  // not a stream socket
      co_await loop.create_server(acceptor.factory(), {.sock = udp});
    } catch (const ValueError&) {
      ++failures;
    }
    EXPECT_EQ(failures, 3);
    // The caller still owns the sockets it passed.
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    ::close(fd);
    ::close(udp);
  }());
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

TEST_P(TcpServer, BadHostOrPortRaisesSystemError) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    auto error = co_await os_error_of(
        loop.create_server(acceptor.factory(), "no-such-host.invalid", 0), "a bad host");
    if (error) {
      EXPECT_STREQ(error->code().category().name(), "getaddrinfo") << error->what();
      EXPECT_NE(std::string(error->what()).find("no-such-host.invalid"), std::string::npos)
          << error->what();
    }
    for (int port : {65536, -1}) {
      error = co_await os_error_of(loop.create_server(acceptor.factory(), "127.0.0.1", port),
                                   "port " + std::to_string(port));
      if (error) {
        EXPECT_NE(std::string(error->what()).find(std::to_string(port)), std::string::npos)
            << error->what();
      }
    }
  }());
}

// asyncio's words, and the errno's text once: "[Errno 98] error while
// attempting to bind on address ('127.0.0.1', PORT): address already in use".
TEST_P(TcpServer, PortInUseMessageIsAsyncios) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    auto first = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int port = port_of(*first);
    std::string message;
    try {
      co_await loop.create_server(acceptor.factory(), "127.0.0.1", port);
    } catch (const std::system_error& e) {
      message = e.what();
    }
    EXPECT_EQ(message, "[Errno " + std::to_string(EADDRINUSE) +
                           "] error while attempting to bind on address ('127.0.0.1', " +
                           std::to_string(port) + "): address already in use");
    first->close();
    co_await first->wait_closed();
  }());
}

TEST_P(TcpServer, PortInUseRaisesEaddrinuseNamingTheAddress) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto first = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int port = port_of(*first);
    auto error = co_await os_error_of(loop.create_server(acceptor.factory(), "127.0.0.1", port),
                                      "binding a port in use");
    if (error) {
      EXPECT_EQ(error->code().value(), EADDRINUSE) << error->what();
      std::string address = "('127.0.0.1', " + std::to_string(port) + ")";
      EXPECT_NE(std::string(error->what()).find(address), std::string::npos) << error->what();
    }
    // A list of hosts where only the second fails: the first socket is
    // closed again (the descriptor check at the end of the test).
    std::vector<std::string> hosts{"127.0.0.2", "127.0.0.1"};
    error = co_await os_error_of(loop.create_server(acceptor.factory(), hosts, port),
                                 "binding a list where one port is in use");
    if (error) EXPECT_EQ(error->code().value(), EADDRINUSE) << error->what();
    // The first server is unaffected.
    co_await check_echo("127.0.0.1", port);
    first->close();
    co_await first->wait_closed();
  }());
}

TEST_P(TcpServer, ProtocolFactoryFailureIsReportedAndTheServerGoesOn) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    int calls = 0;
    ProtocolFactory factory = [&calls]() -> std::shared_ptr<BaseProtocol> {
      if (calls++ == 0) throw std::runtime_error("no protocol today");
      return make_echo();
    };
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    // The server closes the socket it could not serve: the client sees EOF.
    co_await arrives(client->lost, "client connection_lost");
    auto* context = log->find("Error on transport creation for incoming connection");
    EXPECT_NE(context, nullptr);
    if (context) EXPECT_EQ(describe(context->exception), "no protocol today");
    log->contexts.clear();
    co_await check_echo("127.0.0.1", port_of(*server));
    server->close();
    co_await server->wait_closed();
  }());
}

}  // namespace
