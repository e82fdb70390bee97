// create_datagram_endpoint and the datagram transport at work: IPv4, IPv6
// and AF_UNIX endpoints, connected and unconnected sendto, wrapping a
// socket, buffering when the socket is full, close / abort, and the errors
// that reach error_received (ICMP port unreachable, EMSGSIZE).

#include <fcntl.h>

#include "udp_helpers.hpp"

namespace {

using namespace udp_test;
using Calls = std::vector<std::string>;

class UdpDatagram : public aiocpp::testing::BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::datagrams); }
};
AIOCPP_TEST_ON_ALL_BACKENDS(UdpDatagram);

TEST_P(UdpDatagram, ConnectedClientAndEchoServerOverIPv4) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    SocketAddress server_address = server->sockname();
    EXPECT_EQ(server_address.host(), "127.0.0.1");
    EXPECT_NE(server_address.port(), 0);
    EXPECT_FALSE(server->get_extra_info("peername").has_value()) << "not connected";

    DatagramEndpointOptions client_options{.remote_addr = addr("127.0.0.1", server_address.port())};
    auto [client, client_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, client_options);
    EXPECT_EQ(client_proto->calls, Calls{"CM"}) << "connection_made ran before the result";
    EXPECT_EQ(client->peername(), server_address);
    EXPECT_EQ(std::any_cast<SocketAddress>(client->get_extra_info("peername")), server_address);
    auto sock = std::any_cast<TransportSocket>(client->get_extra_info("socket"));
    EXPECT_EQ(sock.getsockname(), client->sockname());
    EXPECT_EQ(client->get_protocol(), client_proto);

    client->sendto("hello");
    client->sendto("");                       // ignored
    client->sendto("world", server_address);  // the connected address itself is allowed
    if (!co_await client_proto->wait_datagrams(2)) co_return;
    EXPECT_EQ(client_proto->datagrams[0].data, "hello");
    EXPECT_EQ(client_proto->datagrams[1].data, "world");
    EXPECT_EQ(client_proto->datagrams[0].from, server_address);
    if (server_proto->datagrams.size() != 2u) {
      ADD_FAILURE() << "the server got " << server_proto->datagrams.size() << " datagrams";
      co_return;
    }
    EXPECT_EQ(server_proto->datagrams[0].from, client->sockname());
    EXPECT_EQ(client->get_write_buffer_size(), 0u);

    EXPECT_FALSE(client->is_closing());
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*server, *server_proto);
    EXPECT_EQ(client_proto->calls, (Calls{"CM", "DR", "DR", "CL"}));
    EXPECT_EQ(client_proto->error, nullptr);
    EXPECT_TRUE(client->is_closing());
  }());
}

TEST_P(UdpDatagram, UnconnectedEndpointsSendToAnAddress) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions local{.local_addr = addr("127.0.0.1", 0)};
    auto [a, a_proto] = co_await loop.create_datagram_endpoint(make_recorder, local);
    auto [b, b_proto] = co_await loop.create_datagram_endpoint(make_echo, local);
    a->sendto("ping", b->sockname());
    a->sendto("pong", SocketAddress::from_ip("127.0.0.1", b->sockname().port()));
    if (!co_await a_proto->wait_datagrams(2)) co_return;
    EXPECT_EQ(a_proto->datagrams[0].data, "ping");
    EXPECT_EQ(a_proto->datagrams[0].from, b->sockname());
    EXPECT_EQ(b_proto->datagrams[1].data, "pong");
    EXPECT_EQ(b_proto->datagrams[1].from, a->sockname());
    co_await close_and_wait(*a, *a_proto);
    co_await close_and_wait(*b, *b_proto);
  }());
}

TEST_P(UdpDatagram, HostNamesAreResolved) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("localhost", 0), .family = AF_INET};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    EXPECT_EQ(server->sockname().host(), "127.0.0.1");
    DatagramEndpointOptions client_options{
        .remote_addr = addr("localhost", server->sockname().port()), .family = AF_INET};
    auto [client, client_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, client_options);
    EXPECT_EQ(client->peername(), server->sockname());
    client->sendto("by name");
    if (!co_await client_proto->wait_datagrams(1)) co_return;
    EXPECT_EQ(client_proto->datagrams[0].data, "by name");
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*server, *server_proto);
  }());
}

TEST_P(UdpDatagram, FamilyAloneGivesAnUnboundSocket) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    DatagramEndpointOptions family_only{.family = AF_INET};
    auto [client, client_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, family_only);
    EXPECT_EQ(client->sockname().port(), 0) << "not bound yet";
    client->sendto("autobind", server->sockname());
    if (!co_await client_proto->wait_datagrams(1)) co_return;
    EXPECT_EQ(client_proto->datagrams[0].data, "autobind");
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*server, *server_proto);
  }());
}

TEST_P(UdpDatagram, IPv6) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "::1 is not available on this host";
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("::1", 0)};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    EXPECT_EQ(server->sockname().family(), AF_INET6);
    DatagramEndpointOptions client_options{.remote_addr = addr("::1", server->sockname().port())};
    auto [client, client_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, client_options);
    EXPECT_EQ(client->peername().to_string(),
              "('::1', " + std::to_string(server->sockname().port()) + ", 0, 0)");
    client->sendto("six");
    if (!co_await client_proto->wait_datagrams(1)) co_return;
    EXPECT_EQ(client_proto->datagrams[0].data, "six");
    EXPECT_EQ(server_proto->datagrams[0].from, client->sockname());
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*server, *server_proto);
  }());
}

TEST_P(UdpDatagram, UnixDatagramSockets) {
  std::string server_path = temp_socket_path("server");
  std::string client_path = server_path.substr(0, server_path.rfind('/')) + "/client";
  // A stale socket file where the server binds is replaced.
  {
    int stale = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    SocketAddress a = SocketAddress::from_unix_path(server_path);
    ASSERT_EQ(::bind(stale, a.data(), a.size()), 0);
    ::close(stale);
  }
  run([](std::string server_path, std::string client_path) -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_path = server_path};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    EXPECT_EQ(server->sockname().host(), server_path);
    DatagramEndpointOptions client_options{.local_path = client_path, .remote_path = server_path};
    auto [client, client_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, client_options);
    EXPECT_EQ(client->peername().to_string(), "'" + server_path + "'");
    client->sendto("over a path");
    client->sendto("again", SocketAddress::from_unix_path(server_path));
    if (!co_await client_proto->wait_datagrams(2)) co_return;
    EXPECT_EQ(client_proto->datagrams[1].data, "again");
    EXPECT_EQ(client_proto->datagrams[0].from.host(), server_path);
    EXPECT_EQ(server_proto->datagrams[0].from.host(), client_path);
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*server, *server_proto);
  }(server_path, client_path));
  ::unlink(client_path.c_str());
  remove_temp(server_path);
}

TEST_P(UdpDatagram, UnixAbstractNamespace) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    std::string name = std::string(1, '\0') + "aiocpp-udp-" + std::to_string(::getpid());
    DatagramEndpointOptions server_options{.family = AF_UNIX};
    server_options.local_path = name;
    auto [server, server_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, server_options);
    DatagramEndpointOptions client_options{.remote_path = name};
    auto [client, client_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, client_options);
    client->sendto("abstract");
    // Another abstract name is another address, although both print as ''.
    EXPECT_THROW(client->sendto("x", SocketAddress::from_unix_path(name + "2")),
                 std::invalid_argument);
    if (!co_await server_proto->wait_datagrams(1)) co_return;
    EXPECT_EQ(server_proto->datagrams[0].data, "abstract");
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*server, *server_proto);
  }());
}

TEST_P(UdpDatagram, WrapsAnExistingSocket) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);  // blocking on purpose
  run([](int mine, int other) -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.sock = mine};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    EXPECT_TRUE(::fcntl(mine, F_GETFL) & O_NONBLOCK) << "made non-blocking";
    t->sendto("to the other end");  // a connected pair: no address needed
    char buf[64];
    ssize_t n = ::recv(other, buf, sizeof buf, 0);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to the other end");
    ::send(other, "back", 4, 0);
    if (!co_await p->wait_datagrams(1)) co_return;
    EXPECT_EQ(p->datagrams[0].data, "back");
    co_await close_and_wait(*t, *p);
    EXPECT_EQ(::fcntl(mine, F_GETFD), -1) << "the transport closed the socket it was given";
  }(pair[0], pair[1]));
  ::close(pair[1]);
}

TEST_P(UdpDatagram, ReusePortLetsTwoEndpointsShareAPort) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions first{.local_addr = addr("127.0.0.1", 0), .reuse_port = true};
    auto [a, a_proto] = co_await loop.create_datagram_endpoint(make_recorder, first);
    DatagramEndpointOptions second{.local_addr = addr("127.0.0.1", a->sockname().port()),
                                   .reuse_port = true};
    auto [b, b_proto] = co_await loop.create_datagram_endpoint(make_recorder, second);
    EXPECT_EQ(a->sockname(), b->sockname());
    int value = 0;
    socklen_t len = sizeof value;
    getsockopt(tcp_test::fd_of(*b), SOL_SOCKET, SO_REUSEPORT, &value, &len);
    EXPECT_NE(value, 0);
    co_await close_and_wait(*a, *a_proto);
    co_await close_and_wait(*b, *b_proto);
  }());
}

TEST_P(UdpDatagram, AllowBroadcastKeepsTheSocketUnconnected) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", server->sockname().port()),
                                    .allow_broadcast = true};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    EXPECT_TRUE(t->peername().empty()) << "not connected, as asyncio does with allow_broadcast";
    int value = 0;
    socklen_t len = sizeof value;
    getsockopt(tcp_test::fd_of(*t), SOL_SOCKET, SO_BROADCAST, &value, &len);
    EXPECT_NE(value, 0);
    t->sendto("to remote_addr");  // no address: remote_addr
    if (!co_await p->wait_datagrams(1)) co_return;
    EXPECT_EQ(p->datagrams[0].data, "to remote_addr");
    EXPECT_THROW(t->sendto("x", SocketAddress::from_ip("127.0.0.2", 9)), std::invalid_argument);
    co_await close_and_wait(*t, *p);
    co_await close_and_wait(*server, *server_proto);
  }());
}

// An AF_UNIX datagram socket whose peer does not read fills up; sendto then
// queues whole datagrams, pauses the protocol over the high-water mark, and
// drains in order once the peer reads.
TEST_P(UdpDatagram, BuffersWhenTheSocketIsFullAndDrainsInOrder) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  run([](int mine, int other) -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.sock = mine};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    t->set_write_buffer_limits(4000, 1000);
    EXPECT_EQ(t->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>(1000, 4000)));
    int sent = 0;
    while (t->get_write_buffer_size() == 0 && sent < 100000) {
      t->sendto("datagram " + std::to_string(sent++));
    }
    if (t->get_write_buffer_size() == 0) {
      ADD_FAILURE() << "the socket never filled";
      co_return;
    }
    std::size_t direct = static_cast<std::size_t>(sent - 1);
    while (p->count("PW") == 0) t->sendto("datagram " + std::to_string(sent++));
    EXPECT_GT(p->buffer_at_pause, 4000u);

    // Read everything on the other end; the transport drains as room appears.
    struct Reader {
      std::vector<std::string> got;
      Future<void> all;
      int expected;
    };
    auto reader = std::make_shared<Reader>(Reader{{}, loop.create_future<void>(), sent});
    auto on_readable = [reader, other] {
      char buf[256];
      ssize_t n;
      while ((n = ::recv(other, buf, sizeof buf, 0)) > 0) reader->got.emplace_back(buf, n);
      if (static_cast<int>(reader->got.size()) >= reader->expected) complete(reader->all);
    };
    loop.add_reader(other, on_readable);
    bool all = co_await arrives(reader->all, "every datagram at the peer");
    loop.remove_reader(other);
    if (!all) co_return;
    for (int i = 0; i < sent; ++i) {
      EXPECT_EQ(reader->got[i], "datagram " + std::to_string(i)) << "after " << direct << " direct";
    }
    EXPECT_EQ(t->get_write_buffer_size(), 0u);
    EXPECT_EQ(p->count("RW"), 1);
    EXPECT_LE(p->buffer_at_resume, 1000u);
    co_await close_and_wait(*t, *p);
  }(pair[0], pair[1]));
  ::close(pair[1]);
}

TEST_P(UdpDatagram, CloseFlushesTheBufferFirstAbortDropsIt) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  int pair2[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair2), 0);
  run([](int mine, int other, int mine2, int other2) -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.sock = mine};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    int sent = 0;
    while (t->get_write_buffer_size() == 0) t->sendto("x" + std::to_string(sent++));
    t->close();
    EXPECT_TRUE(t->is_closing());
    // Not lost yet: the buffer waits for the peer.
    co_await sleep(0);
    co_await sleep(0);
    EXPECT_EQ(p->count("CL"), 0);
    int got = 0;
    auto drain = [other, &got] {
      char buf[64];
      while (::recv(other, buf, sizeof buf, 0) > 0) ++got;
    };
    loop.add_reader(other, drain);
    bool lost = co_await arrives(p->lost, "connection_lost after the flush");
    loop.remove_reader(other);
    drain();
    EXPECT_TRUE(lost);
    EXPECT_EQ(got, sent) << "close() sent every buffered datagram";
    EXPECT_EQ(p->error, nullptr);

    DatagramEndpointOptions options2{.sock = mine2};
    auto [t2, p2] = co_await loop.create_datagram_endpoint(make_recorder, options2);
    while (t2->get_write_buffer_size() == 0) t2->sendto("y");
    t2->abort();
    EXPECT_EQ(t2->get_write_buffer_size(), 0u);
    EXPECT_TRUE(t2->is_closing());
    co_await arrives(p2->lost, "connection_lost after abort");
    EXPECT_EQ(p2->error, nullptr);
    EXPECT_EQ(p2->calls, (Calls{"CM", "CL"}));
  }(pair[0], pair[1], pair2[0], pair2[1]));
  ::close(pair[1]);
  ::close(pair2[1]);
}

// An ICMP "port unreachable" answering a datagram on a connected socket
// comes back as ECONNREFUSED: error_received, not a closed transport.
TEST_P(UdpDatagram, PortUnreachableGoesToErrorReceived) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", unused_udp_port())};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    t->sendto("anyone?");
    if (!co_await p->wait_errors(1)) co_return;
    EXPECT_EQ(errno_of(p->errors[0]), ECONNREFUSED) << describe(p->errors[0]);
    EXPECT_FALSE(t->is_closing());
    // Still usable: another datagram, another refusal.
    t->sendto("still there?");
    co_await p->wait_errors(2);
    EXPECT_EQ(p->count("CL"), 0);
    co_await close_and_wait(*t, *p);
    EXPECT_EQ(p->error, nullptr);
  }());
}

TEST_P(UdpDatagram, OversizedDatagramGoesToErrorReceived) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] = co_await loop.create_datagram_endpoint(make_echo, server_options);
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", server->sockname().port())};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    t->sendto(std::string(70000, 'x'));  // more than a UDP datagram can carry
    EXPECT_EQ(p->errors.size(), 0u) << "error_received never runs inside sendto";
    if (!co_await p->wait_errors(1)) co_return;
    EXPECT_EQ(errno_of(p->errors[0]), EMSGSIZE) << describe(p->errors[0]);
    EXPECT_FALSE(t->is_closing());
    t->sendto("small");
    if (!co_await p->wait_datagrams(1)) co_return;
    EXPECT_EQ(p->datagrams[0].data, "small");
    co_await close_and_wait(*t, *p);
    co_await close_and_wait(*server, *server_proto);
  }());
}

TEST_P(UdpDatagram, LargestDatagramArrivesWhole) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, server_options);
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", server->sockname().port())};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    std::string big = tcp_test::pattern(65507);  // 65535 - IP and UDP headers
    int size = 1 << 20;
    setsockopt(tcp_test::fd_of(*server), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    t->sendto(big);
    if (!co_await server_proto->wait_datagrams(1)) co_return;
    EXPECT_EQ(server_proto->datagrams[0].data, big);
    co_await close_and_wait(*t, *p);
    co_await close_and_wait(*server, *server_proto);
  }());
}

TEST_P(UdpDatagram, SendtoAfterCloseIsIgnoredThenLogged) {
  std::vector<std::string> lines;
  set_logger([&lines](std::string_view line) { lines.emplace_back(line); });
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, server_options);
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", server->sockname().port())};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    co_await close_and_wait(*t, *p);
    // The transport the caller kept stays safe after connection_lost.
    for (int i = 0; i < 7; ++i) t->sendto("into the void");
    EXPECT_EQ(t->get_write_buffer_size(), 0u);
    EXPECT_TRUE(t->is_closing());
    EXPECT_FALSE(t->get_extra_info("socket").has_value());
    t->close();  // twice: harmless
    t->abort();
    co_await close_and_wait(*server, *server_proto);
    EXPECT_TRUE(server_proto->datagrams.empty());
  }());
  set_logger(nullptr);
  // asyncio counts the close as the first lost write and warns from the 5th on.
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "socket.send() raised exception."), 3);
}

TEST_P(UdpDatagram, ClosingTheLoopReleasesOpenEndpoints) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    co_await loop.create_datagram_endpoint(make_recorder, options);
    co_await loop.create_datagram_endpoint(make_recorder, options);
  }());
  loop_->close();  // the fixture checks that no descriptor is left
}

// The loop closing while datagrams wait for a full socket: on io_uring the
// queue's front is the kernel's (a sendmsg in flight, as is the recvmsg),
// so the loop cancels both and waits for their completions before the
// transport's buffers go (AddressSanitizer and LeakSanitizer would see
// either freed under the kernel or kept forever).
TEST_P(UdpDatagram, ClosingTheLoopWithDatagramsQueuedReleasesThem) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  std::shared_ptr<DatagramTransport> kept;
  run([](int mine, std::shared_ptr<DatagramTransport>& kept) -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.sock = mine};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    while (t->get_write_buffer_size() == 0) t->sendto("queued");
    t->sendto("and one more");
    co_await sleep(0);  // the queue's front goes to the kernel
    EXPECT_GT(t->get_write_buffer_size(), 0u);
    kept = t;
  }(pair[0], kept));
  loop_->close();
  EXPECT_TRUE(kept->is_closing());
  EXPECT_EQ(kept->get_write_buffer_size(), 0u);
  kept->sendto("dropped");  // a reference kept after the loop closed stays safe
  kept.reset();
  ::close(pair[1]);
}

}  // namespace
