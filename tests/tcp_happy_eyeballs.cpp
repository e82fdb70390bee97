// Happy Eyeballs (RFC 8305) in create_connection: the interleaving of
// address families and the staggered race between connection attempts.

#include "core/happy_eyeballs.hpp"
#include "tcp_helpers.hpp"

namespace {

using namespace tcp_test;
using aiocpp::detail::AddrInfo;
using aiocpp::detail::UniqueFd;
using aiocpp::testing::FdLeakCheck;

AddrInfo info(const char* ip, int port) {
  SocketAddress address = SocketAddress::from_ip(ip, port);
  return AddrInfo{address.family(), SOCK_STREAM, IPPROTO_TCP, "", address};
}

// A TCP address on loopback where a connect() hangs: a listener with a full
// accept queue drops further SYNs, so the attempt neither succeeds nor fails.
struct BlackHole {
  UniqueFd listener = detail::make_socket(AF_INET, SOCK_STREAM, 0);
  int filler = -1;
  int port = 0;
  BlackHole() {
    SocketAddress any = SocketAddress::from_ip("127.0.0.2", 0);
    EXPECT_EQ(bind(listener.get(), any.data(), any.size()), 0);
    EXPECT_EQ(listen(listener.get(), 0), 0);
    port = TransportSocket(listener.get()).getsockname().port();
    filler = raw_connect(port, "127.0.0.2");  // takes the only place in the queue
    EXPECT_GE(filler, 0);
  }
  ~BlackHole() { close(filler); }
};

AIOCPP_BACKEND_SUITE(HappyEyeballs);

TEST_P(HappyEyeballs, InterleaveAlternatesFamiliesKeepingTheirOrder) {
  std::vector<AddrInfo> infos = {info("::1", 1), info("::1", 2), info("127.0.0.1", 3),
                                 info("127.0.0.1", 4), info("::1", 5)};
  auto ports = [](const std::vector<AddrInfo>& v) {
    std::vector<int> out;
    for (auto& i : v) out.push_back(i.address.port());
    return out;
  };
  EXPECT_EQ(ports(detail::interleave_addrinfos(infos, 1)), (std::vector<int>{1, 3, 2, 4, 5}));
  EXPECT_EQ(ports(detail::interleave_addrinfos(infos, 2)), (std::vector<int>{1, 2, 3, 5, 4}));
  EXPECT_EQ(ports(detail::interleave_addrinfos({}, 1)), std::vector<int>{});
}

TEST_P(HappyEyeballs, AnUnreachableFirstAddressDoesNotHoldTheConnectionUp) {
  FdLeakCheck fds;
  BlackHole hole;
  run_bounded([](int hole_port) -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int good_port = port_of(*server);
    std::vector<AddrInfo> targets = {info("127.0.0.2", hole_port), info("127.0.0.1", good_port)};
    std::vector<int> tried;
    detail::ConnectAttempt attempt = [&tried](const AddrInfo& target) -> Task<UniqueFd> {
      tried.push_back(target.address.port());
      UniqueFd fd = detail::make_socket(AF_INET, SOCK_STREAM, 0);
      co_await get_running_loop().sock_connect(fd.get(), target.address);
      co_return fd;
    };
    UniqueFd fd = co_await detail::staggered_connect(loop, targets, 0.05, attempt);
    EXPECT_EQ(TransportSocket(fd.get()).getpeername().port(), good_port);
    EXPECT_EQ(tried, (std::vector<int>{hole_port, good_port}));
    fd = UniqueFd();
    server->close();
    co_await server->wait_closed();
  }(hole.port));
}

TEST_P(HappyEyeballs, AFailureStartsTheNextAttemptWithoutWaitingForTheDelay) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    UniqueFd refusing = detail::make_socket(AF_INET, SOCK_STREAM, 0);  // bound, not listening
    SocketAddress any = SocketAddress::from_ip("127.0.0.1", 0);
    EXPECT_EQ(bind(refusing.get(), any.data(), any.size()), 0);
    int refused_port = TransportSocket(refusing.get()).getsockname().port();
    std::vector<AddrInfo> targets = {info("127.0.0.1", refused_port),
                                     info("127.0.0.1", port_of(*server))};
    detail::ConnectAttempt attempt = [](const AddrInfo& target) -> Task<UniqueFd> {
      UniqueFd fd = detail::make_socket(AF_INET, SOCK_STREAM, 0);
      co_await get_running_loop().sock_connect(fd.get(), target.address);
      co_return fd;
    };
    // A delay longer than the test's bound: only the refusal can start attempt 2.
    UniqueFd fd = co_await detail::staggered_connect(loop, targets, 60.0, attempt);
    EXPECT_EQ(TransportSocket(fd.get()).getpeername().port(), port_of(*server));
    fd = UniqueFd();
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(HappyEyeballs, WhenEveryAttemptFailsTheErrorsAreCombined) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    std::vector<AddrInfo> targets = {info("127.0.0.1", 1), info("127.0.0.1", 2)};
    int calls = 0;
    detail::ConnectAttempt attempt = [&calls](const AddrInfo& target) -> Task<UniqueFd> {
      ++calls;
      throw std::system_error(calls == 1 ? ECONNREFUSED : ETIMEDOUT, std::generic_category(),
                              "attempt " + std::to_string(target.address.port()));
      co_return UniqueFd();
    };
    try {
      co_await detail::staggered_connect(loop, targets, 0.01, attempt);
      ADD_FAILURE() << "no attempt could succeed";
    } catch (const std::system_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("Multiple exceptions: attempt 1"), std::string::npos) << what;
      EXPECT_NE(what.find("attempt 2"), std::string::npos) << what;
    }
    EXPECT_EQ(calls, 2);
  }());
}

TEST_P(HappyEyeballs, CreateConnectionUsesItAndCancellingClosesEveryAttempt) {
  FdLeakCheck fds;
  BlackHole hole;
  run_bounded([](int hole_port) -> Task<void> {
    auto& loop = get_running_loop();
    auto factory = [] { return std::make_shared<Recorder>(); };
    // One address that hangs: the connection cannot finish; cancel it.
    ConnectionOptions options;
    options.happy_eyeballs_delay = 0.01;
    auto connecting =
        loop.create_task(loop.create_connection(factory, "127.0.0.2", hole_port, options));
    for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
    EXPECT_FALSE(connecting.done());
    connecting.cancel();
    bool cancelled = false;
    try {
      co_await connecting;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);

    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto [transport, protocol] =
        co_await loop.create_connection(factory, "127.0.0.1", port_of(*server), options);
    co_await arrives(protocol->made, "connection_made");
    transport->close();
    co_await arrives(protocol->lost, "connection_lost");
    auto peer = co_await acceptor.nth(0);
    co_await arrives(peer->lost, "server side connection_lost");
    server->close();
    co_await server->wait_closed();
  }(hole.port));
}

TEST_P(HappyEyeballs, NegativeOptionsAreValueErrors) {
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto factory = [] { return std::make_shared<Recorder>(); };
    ConnectionOptions delay;
    delay.happy_eyeballs_delay = -1;
    EXPECT_THROW(co_await loop.create_connection(factory, "127.0.0.1", 1, delay), ValueError);
    ConnectionOptions interleave;
    interleave.interleave = -1;
    EXPECT_THROW(co_await loop.create_connection(factory, "127.0.0.1", 1, interleave), ValueError);
  }());
}

}  // namespace
