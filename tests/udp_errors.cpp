// create_datagram_endpoint's error paths, in asyncio's words where asyncio
// has them: bad addresses, unsupported families, sock with other options,
// reuse_address, sendto to the wrong address, protocol methods that throw,
// and cancellation. None of them may leave a descriptor behind (LoopTest).

#include <fcntl.h>

#include "udp_helpers.hpp"

namespace {

using namespace udp_test;

class UdpErrors : public aiocpp::testing::BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::datagrams); }
};
AIOCPP_TEST_ON_ALL_BACKENDS(UdpErrors);

// Runs create_datagram_endpoint with `options` and returns the exception it
// failed with (null if it succeeded, after closing what it made).
Task<std::exception_ptr> failure_of(DatagramEndpointOptions options) {
  auto& loop = get_running_loop();
  std::exception_ptr error;
  std::shared_ptr<DatagramTransport> made;
  std::shared_ptr<DgramRecorder> proto;
  try {
    auto c = co_await loop.create_datagram_endpoint(make_recorder, options);
    made = c.transport;
    proto = c.protocol;
  } catch (...) {
    error = std::current_exception();
  }
  if (made) co_await close_and_wait(*made, *proto);
  co_return error;
}

template <class E>
std::string message_of(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const E& ex) {
    return ex.what();
  } catch (...) {
    return "<another exception: " + describe(e) + ">";
  }
  return "<no exception>";
}

TEST_P(UdpErrors, ReuseAddressIsRejected) {
  auto e = run(failure_of({.local_addr = addr("127.0.0.1", 0), .reuse_address = true}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "Passing `reuse_address=True` is no longer supported, as the usage of SO_REUSEPORT "
            "in UDP poses a significant security concern.");
  // false is what asyncio does anyway: accepted.
  EXPECT_EQ(run(failure_of({.local_addr = addr("127.0.0.1", 0), .reuse_address = false})), nullptr);
}

TEST_P(UdpErrors, SockWithOtherOptions) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto e = run(failure_of({.local_addr = addr("127.0.0.1", 0), .sock = fd}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "socket modifier keyword arguments can not be used when sock is specified. "
            "(local_addr=('127.0.0.1', 0))");
  e = run(failure_of({.remote_addr = addr("127.0.0.1", 9),
                      .family = AF_INET,
                      .reuse_port = true,
                      .allow_broadcast = true,
                      .sock = fd}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "socket modifier keyword arguments can not be used when sock is specified. "
            "(remote_addr=('127.0.0.1', 9), family=2, reuse_port=True, allow_broadcast=True)");
  e = run(failure_of({.local_path = "/tmp/x", .sock = fd}));
  EXPECT_NE(message_of<std::invalid_argument>(e).find("(local_path='/tmp/x')"), std::string::npos);
  // The socket stays the caller's when the call fails.
  EXPECT_GE(::fcntl(fd, F_GETFD), 0);
  ::close(fd);
}

TEST_P(UdpErrors, SockMustBeADatagramSocket) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto e = run(failure_of({.sock = fd}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "A UDP Socket was expected, got fd " + std::to_string(fd));
  ::close(fd);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  e = run(failure_of({.sock = pipe_fds[0]}));
  EXPECT_EQ(errno_of(e), ENOTSOCK) << describe(e);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_P(UdpErrors, NoAddressNeedsAFamily) {
  auto e = run(failure_of({}));
  EXPECT_EQ(message_of<std::invalid_argument>(e), "unexpected address family");
}

TEST_P(UdpErrors, UnsupportedFamilies) {
  // A family the kernel has no datagram sockets for.
  auto e = run(failure_of({.family = 12345}));
  EXPECT_EQ(errno_of(e), EAFNOSUPPORT) << describe(e);
  // (host, port) for AF_UNIX, paths for AF_INET, and both at once.
  e = run(failure_of({.local_addr = addr("127.0.0.1", 0), .family = AF_UNIX}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "string is expected: AF_UNIX endpoints take local_path / remote_path");
  e = run(failure_of({.local_path = "/tmp/x", .family = AF_INET}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "local_path / remote_path need family AF_UNIX, got family=2");
  e = run(failure_of({.local_addr = addr("127.0.0.1", 0), .remote_path = "/tmp/x"}));
  EXPECT_EQ(message_of<std::invalid_argument>(e),
            "local_path / remote_path and local_addr / remote_addr can not be mixed");
  // A family getaddrinfo does not know for a (host, port).
  e = run(failure_of({.local_addr = addr("127.0.0.1", 0), .family = 12345}));
  EXPECT_NE(errno_of(e), 0) << describe(e);
}

TEST_P(UdpErrors, BadAddresses) {
  // A name that does not resolve: getaddrinfo's error category.
  auto e = run(failure_of({.local_addr = addr("no-such-host.invalid", 0)}));
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& ex) {
    EXPECT_EQ(ex.code().category(), gai_category()) << ex.what();
  } catch (...) {
    ADD_FAILURE() << "expected a gaierror, got " << describe(e);
  }
  e = run(failure_of({.remote_addr = addr("127.0.0.1", 70000)}));
  EXPECT_EQ(errno_of(e), EINVAL) << describe(e);
  // A local IPv4 and a remote IPv6 address have no family in common.
  e = run(failure_of({.local_addr = addr("127.0.0.1", 0), .remote_addr = addr("::1", 9)}));
  EXPECT_EQ(message_of<std::invalid_argument>(e), "can not get address information");
  // An address of another host cannot be bound.
  e = run(failure_of({.local_addr = addr("192.0.2.1", 0)}));
  EXPECT_EQ(errno_of(e), EADDRNOTAVAIL) << describe(e);
  // Nobody at this path.
  std::string path = temp_socket_path();
  e = run(failure_of({.remote_path = path}));
  EXPECT_EQ(errno_of(e), ENOENT) << describe(e);
  remove_temp(path);
}

TEST_P(UdpErrors, AddressInUse) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    DatagramEndpointOptions same_port{.local_addr = addr("127.0.0.1", t->sockname().port())};
    auto e = co_await failure_of(same_port);
    EXPECT_EQ(errno_of(e), EADDRINUSE) << describe(e);
    EXPECT_NE(describe(e).find(t->sockname().to_string()), std::string::npos) << describe(e);
    co_await close_and_wait(*t, *p);
  }());
}

TEST_P(UdpErrors, SendtoWithTheWrongAddress) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] =
        co_await loop.create_datagram_endpoint(make_recorder, server_options);
    int port = server->sockname().port();
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", port)};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    try {
      t->sendto("x", SocketAddress::from_ip("127.0.0.1", port + 1 > 65535 ? 1 : port + 1));
      ADD_FAILURE() << "sendto to another address was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()),
                "Invalid address: must be None or ('127.0.0.1', " + std::to_string(port) + ")");
    }
    // Empty data is ignored before the address is looked at, as asyncio does.
    EXPECT_NO_THROW(t->sendto("", SocketAddress::from_ip("127.0.0.1", 1)));
    // Unconnected, with no address at all: nowhere to send.
    DatagramEndpointOptions unconnected{.local_addr = addr("127.0.0.1", 0)};
    auto [u, u_proto] = co_await loop.create_datagram_endpoint(make_recorder, unconnected);
    EXPECT_THROW(u->sendto("x"), std::invalid_argument);
    EXPECT_FALSE(u->is_closing());
    co_await close_and_wait(*u, *u_proto);
    co_await close_and_wait(*t, *p);
    co_await close_and_wait(*server, *server_proto);
    EXPECT_TRUE(server_proto->datagrams.empty());
  }());
}

// A protocol whose methods throw on demand.
class Throwing : public DgramRecorder {
 public:
  bool in_connection_made = false;
  bool in_datagram_received = false;
  bool in_error_received = false;
  void connection_made(DatagramTransport& t) override {
    DgramRecorder::connection_made(t);
    if (in_connection_made) throw std::runtime_error("boom in connection_made");
  }
  void datagram_received(std::string_view data, const SocketAddress& from) override {
    DgramRecorder::datagram_received(data, from);
    if (in_datagram_received) throw std::runtime_error("boom in datagram_received");
  }
  void error_received(std::exception_ptr e) override {
    DgramRecorder::error_received(e);
    if (in_error_received) throw std::runtime_error("boom in error_received");
  }
};

TEST_P(UdpErrors, DatagramReceivedThrowingClosesThatEndpointOnly) {
  record_reports();
  run([](std::vector<ExceptionContext>* reports) -> Task<void> {
    auto& loop = get_running_loop();
    auto make_throwing = [] {
      auto p = std::make_shared<Throwing>();
      p->in_datagram_received = true;
      return p;
    };
    DatagramEndpointOptions server_options{.local_addr = addr("127.0.0.1", 0)};
    auto [server, server_proto] =
        co_await loop.create_datagram_endpoint(make_throwing, server_options);
    auto [bystander, bystander_proto] =
        co_await loop.create_datagram_endpoint(make_echo, server_options);
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    auto [client, client_proto] = co_await loop.create_datagram_endpoint(make_recorder, options);
    client->sendto("trigger", server->sockname());
    if (!co_await arrives(server_proto->lost, "connection_lost of the throwing protocol"))
      co_return;
    EXPECT_EQ(describe(server_proto->error), "boom in datagram_received");
    EXPECT_EQ(server_proto->calls, (std::vector<std::string>{"CM", "DR", "CL"}));
    EXPECT_TRUE(server->is_closing());
    if (reports->size() != 1u) {
      ADD_FAILURE() << reports->size() << " reports";
      co_return;
    }
    EXPECT_EQ((*reports)[0].message, "Fatal error: protocol.datagram_received() call failed.");
    EXPECT_EQ(describe((*reports)[0].exception), "boom in datagram_received");
    EXPECT_EQ((*reports)[0].transport, server);
    EXPECT_EQ((*reports)[0].protocol, server_proto);
    // The other endpoint carries on.
    client->sendto("still fine", bystander->sockname());
    if (!co_await client_proto->wait_datagrams(1)) co_return;
    EXPECT_EQ(client_proto->datagrams[0].data, "still fine");
    co_await close_and_wait(*client, *client_proto);
    co_await close_and_wait(*bystander, *bystander_proto);
  }(&reports_));
}

TEST_P(UdpErrors, ErrorReceivedThrowingIsFatal) {
  record_reports();
  run([](std::vector<ExceptionContext>* reports) -> Task<void> {
    auto& loop = get_running_loop();
    auto make_throwing = [] {
      auto p = std::make_shared<Throwing>();
      p->in_error_received = true;
      return p;
    };
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", unused_udp_port())};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_throwing, options);
    t->sendto("refused");
    if (!co_await arrives(p->lost, "connection_lost")) co_return;
    EXPECT_EQ(describe(p->error), "boom in error_received");
    if (reports->size() != 1u) {
      ADD_FAILURE() << reports->size() << " reports";
      co_return;
    }
    EXPECT_EQ((*reports)[0].message, "Fatal error: protocol.error_received() call failed.");
  }(&reports_));
}

TEST_P(UdpErrors, ConnectionMadeThrowingFailsTheCall) {
  record_reports();
  auto e = run([]() -> Task<std::exception_ptr> {
    auto& loop = get_running_loop();
    auto make_throwing = [] {
      auto p = std::make_shared<Throwing>();
      p->in_connection_made = true;
      return p;
    };
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    std::exception_ptr error;
    try {
      co_await loop.create_datagram_endpoint(make_throwing, options);
    } catch (...) {
      error = std::current_exception();
    }
    co_await sleep(0);  // let connection_lost run
    co_await sleep(0);
    co_return error;
  }());
  EXPECT_EQ(describe(e), "boom in connection_made");
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Fatal error: protocol.connection_made() call failed.");
}

TEST_P(UdpErrors, FactoryReturningNothing) {
  auto e = run([]() -> Task<std::exception_ptr> {
    auto& loop = get_running_loop();
    auto none = [] { return std::shared_ptr<DgramRecorder>(); };
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    try {
      co_await loop.create_datagram_endpoint(none, options);
    } catch (...) {
      co_return std::current_exception();
    }
    co_return nullptr;
  }());
  EXPECT_EQ(message_of<std::invalid_argument>(e), "the protocol factory returned no protocol");
}

TEST_P(UdpErrors, SetProtocolNeedsADatagramProtocol) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    EXPECT_THROW(t->set_protocol(std::make_shared<Protocol>()), std::invalid_argument);
    EXPECT_EQ(t->get_protocol(), p);
    EXPECT_THROW(t->set_write_buffer_limits(10, 20), std::invalid_argument);
    auto replacement = make_recorder();
    t->set_protocol(replacement);
    t->close();
    co_await arrives(replacement->lost, "connection_lost of the new protocol");
    EXPECT_EQ(p->count("CL"), 0);
  }());
}

// Cancelled while the name is being resolved: nothing was opened.
TEST_P(UdpErrors, CancelledWhileResolving) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    int made = 0;
    auto factory = [&made] {
      ++made;
      return make_recorder();
    };
    DatagramEndpointOptions options{.local_addr = addr("localhost", 0), .family = AF_INET};
    auto creating = loop.create_task(loop.create_datagram_endpoint(factory, options));
    co_await sleep(0);
    EXPECT_FALSE(creating.done());
    creating.cancel();
    bool cancelled = false;
    try {
      co_await creating;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(made, 0);
  }());
}

// Cancelled after the transport exists, before the call returned: the
// transport is closed and its protocol sees connection_lost.
TEST_P(UdpErrors, CancelledWhileStarting) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    std::shared_ptr<DgramRecorder> proto;
    auto factory = [&proto] {
      proto = make_recorder();
      return proto;
    };
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    auto creating = loop.create_task(loop.create_datagram_endpoint(factory, options));
    while (!proto) co_await sleep(0);  // the transport exists; connection_made is scheduled
    EXPECT_FALSE(creating.done());
    creating.cancel();
    bool cancelled = false;
    try {
      co_await creating;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    co_await arrives(proto->lost, "connection_lost of the cancelled endpoint");
    EXPECT_EQ(proto->error, nullptr);
    EXPECT_EQ(proto->calls, (std::vector<std::string>{"CM", "CL"})) << "in asyncio's order";
  }());
}

}  // namespace
