// A TCP transport's state and surroundings: extra info, socket options,
// pause_reading / resume_reading, set_protocol, a peer that resets the
// connection, and a transport kept after connection_lost.

#include <stdexcept>

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

using Calls = std::vector<std::string>;

AIOCPP_BACKEND_SUITE(TcpTransportState);

TEST_P(TcpTransportState, ExtraInfoAndTypedAddresses) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    Transport& client = *pair.transport;
    Transport& server = *pair.peer->transport;
    SocketAddress listening = pair.server->sockets()[0].getsockname();

    auto peername = std::any_cast<SocketAddress>(client.get_extra_info("peername"));
    auto sockname = std::any_cast<SocketAddress>(client.get_extra_info("sockname"));
    EXPECT_EQ(peername, listening);
    EXPECT_EQ(peername.to_string(), "('127.0.0.1', " + std::to_string(listening.port()) + ")");
    EXPECT_EQ(client.peername(), peername);
    EXPECT_EQ(client.sockname(), sockname);
    EXPECT_EQ(sockname.host(), "127.0.0.1");
    EXPECT_NE(sockname.port(), 0);
    // The server's view is the mirror image.
    EXPECT_EQ(server.peername(), sockname);
    EXPECT_EQ(server.sockname(), peername);
    EXPECT_EQ(std::any_cast<SocketAddress>(server.get_extra_info("peername")), sockname);

    auto sock = std::any_cast<TransportSocket>(client.get_extra_info("socket"));
    EXPECT_GE(sock.fileno(), 0);
    EXPECT_EQ(sock.family(), AF_INET);
    EXPECT_EQ(sock.getsockname(), sockname);
    EXPECT_EQ(sock.getpeername(), peername);

    // Unknown keys (and keys of other transports) give the default.
    EXPECT_FALSE(client.get_extra_info("sslcontext").has_value());
    EXPECT_EQ(std::any_cast<int>(client.get_extra_info("no such key", 42)), 42);
    EXPECT_EQ(client.get_protocol().get(), static_cast<BaseProtocol*>(pair.client.get()));
    co_await pair.close();
  }());
}

TEST_P(TcpTransportState, TcpNoDelayIsSetOnBothEnds) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    for (Transport* t : {pair.transport.get(), pair.peer->transport}) {
      int value = 0;
      socklen_t len = sizeof value;
      EXPECT_EQ(getsockopt(fd_of(*t), IPPROTO_TCP, TCP_NODELAY, &value, &len), 0);
      EXPECT_NE(value, 0);
    }
    co_await pair.close();
  }());
}

// Sends "ping" on a second connection and waits for the echo: by then, what
// was sent before on the first connection has reached the server's socket.
Task<bool> round_trip(Transport& t, Recorder& p) {
  std::size_t before = p.bytes.count();
  t.write("ping");
  co_return co_await arrives(p.bytes.at_least(before + 4), "echo round trip");
}

TEST_P(TcpTransportState, PauseAndResumeReading) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto pair = co_await connect_pair([](Recorder& p) { p.echo = true; });
    if (!pair.peer) co_return;
    auto [probe, probe_client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*pair.server));
    probe_client->echo = false;
    Transport& server = *pair.peer->transport;
    EXPECT_TRUE(server.is_reading());
    server.pause_reading();
    server.pause_reading();  // twice: harmless
    EXPECT_FALSE(server.is_reading());
    pair.transport->write("while paused");
    for (int i = 0; i < 3; ++i) {
      if (!co_await round_trip(*probe, *probe_client)) co_return;
    }
    EXPECT_EQ(pair.peer->received, "") << "data_received while paused";
    server.resume_reading();
    server.resume_reading();
    EXPECT_TRUE(server.is_reading());
    co_await arrives(pair.peer->bytes.at_least(12), "data after resume_reading");
    EXPECT_EQ(pair.peer->received, "while paused");
    co_await arrives(pair.client->bytes.at_least(12), "the echo");
    EXPECT_EQ(pair.client->received, "while paused");
    server.close();
    EXPECT_FALSE(server.is_reading()) << "a closing transport is not reading";
    probe->close();
    co_await arrives(probe_client->lost, "probe connection_lost");
    co_await pair.close();
  }());
}

TEST_P(TcpTransportState, SetProtocolRedirectsTheConnection) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    Transport& server = *pair.peer->transport;
    auto replacement = std::make_shared<Recorder>();
    replacement->transport = &server;
    server.set_protocol(replacement);
    EXPECT_EQ(server.get_protocol(), replacement);
    pair.transport->write("for the new protocol");
    co_await arrives(replacement->bytes.at_least(20), "data for the new protocol");
    EXPECT_EQ(replacement->received, "for the new protocol");
    pair.transport->close();
    co_await arrives(replacement->lost, "connection_lost of the new protocol");
    EXPECT_EQ(replacement->calls, (Calls{"DR", "ER", "CL"}));
    EXPECT_EQ(pair.peer->squeezed(), (Calls{"CM"}));
    co_await arrives(pair.client->lost, "client connection_lost");
    pair.server->close();
    co_await pair.server->wait_closed();
  }());
}

// accepts_writes() says whether write() would take bytes: not after
// write_eof() (write() raises), nor once closing (write() drops them).
TEST_P(TcpTransportState, AcceptsWritesUntilWriteEofOrClose) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    Transport& client = *pair.transport;
    Transport& server = *pair.peer->transport;
    EXPECT_TRUE(client.accepts_writes());
    EXPECT_TRUE(server.accepts_writes());
    client.write_eof();
    EXPECT_FALSE(client.accepts_writes());
    EXPECT_THROW(client.write("x"), RuntimeError);
    EXPECT_TRUE(server.accepts_writes()) << "the peer's half is still open";
    server.close();
    EXPECT_FALSE(server.accepts_writes());
    co_await pair.close();
  }());
}

TEST_P(TcpTransportState, CallsAfterConnectionLostAreHarmless) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    std::shared_ptr<Transport> t = pair.transport;
    SocketAddress peername = t->peername();
    co_await pair.close();
    EXPECT_TRUE(t->is_closing());
    EXPECT_FALSE(t->is_reading());
    EXPECT_FALSE(t->accepts_writes());
    t->write("x");
    t->writelines({"y", "z"});
    t->write_eof();
    t->pause_reading();
    t->resume_reading();
    t->set_write_buffer_limits(100, 10);
    t->close();
    t->abort();
    EXPECT_EQ(t->get_write_buffer_size(), 0u);
    EXPECT_FALSE(t->get_extra_info("socket").has_value()) << "the socket is closed";
    EXPECT_EQ(t->peername(), peername);
    for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
    EXPECT_EQ(pair.client->squeezed(), (Calls{"CM", "CL"}));
  }());
}

// A protocol whose flow-control callbacks throw.
class ThrowingFlowControl : public Recorder {
 public:
  void pause_writing() override {
    Recorder::pause_writing();
    throw std::runtime_error("boom in pause_writing");
  }
  void resume_writing() override {
    Recorder::resume_writing();
    throw std::runtime_error("boom in resume_writing");
  }
};

TEST_P(TcpTransportState, FlowControlExceptionsAreReportedAndTheConnectionGoesOn) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<> acceptor([](Recorder& p) { p.pause_on_connect = true; });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto factory = [] { return std::make_shared<ThrowingFlowControl>(); };
    auto [transport, client] =
        co_await loop.create_connection(factory, "127.0.0.1", port_of(*server));
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    transport->set_write_buffer_limits(100);
    int small = 4096;
    setsockopt(fd_of(*transport), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const std::string data = pattern(1 << 20);
    transport->write(std::string_view(data).substr(fill_until_buffered(*transport, data, 0)));
    EXPECT_EQ(client->pause_writing_calls, 1);
    const ExceptionContext* paused = log->find("protocol.pause_writing() failed");
    EXPECT_NE(paused, nullptr);
    if (paused) {
      EXPECT_EQ(describe(paused->exception), "boom in pause_writing");
      EXPECT_EQ(paused->transport.get(), static_cast<BaseTransport*>(transport.get()));
      EXPECT_EQ(paused->protocol.get(), static_cast<BaseProtocol*>(client.get()));
    }
    peer->transport->resume_reading();
    co_await arrives(client->resumed, "resume_writing");
    co_await arrives(peer->bytes.at_least(data.size()), "all the data");
    EXPECT_TRUE(peer->received == data);
    EXPECT_NE(log->find("protocol.resume_writing() failed"), nullptr);
    EXPECT_FALSE(transport->is_closing());
    log->contexts.clear();
    transport->close();
    co_await arrives(peer->lost, "server connection_lost");
    co_await arrives(client->lost, "client connection_lost");
    EXPECT_FALSE(client->error) << describe(client->error);
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpTransportState, CloseAndAbortTwiceAreHarmless) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    pair.transport->close();
    pair.transport->close();
    pair.transport->abort();
    pair.peer->transport->abort();
    pair.peer->transport->abort();
    pair.peer->transport->close();
    co_await arrives(pair.client->lost, "client connection_lost");
    co_await arrives(pair.peer->lost, "server connection_lost");
    for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);  // room for a late duplicate
    EXPECT_EQ(std::count(pair.client->calls.begin(), pair.client->calls.end(), "CL"), 1);
    EXPECT_EQ(std::count(pair.peer->calls.begin(), pair.peer->calls.end(), "CL"), 1);
    co_await pair.close();
  }());
}

// --- A peer that resets the connection ----------------------------------------------------

TEST_P(TcpTransportState, PeerResetArrivesAsConnectionLostWithECONNRESET) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int raw = raw_connect(port_of(*server));
    EXPECT_GE(raw, 0);
    if (raw < 0) co_return;
    auto peer = co_await acceptor.nth(0);
    if (!peer) {
      ::close(raw);
      co_return;
    }
    reset_close(raw);
    if (!co_await arrives(peer->lost, "connection_lost after the reset")) co_return;
    EXPECT_EQ(errno_of(peer->error), ECONNRESET) << describe(peer->error);
    EXPECT_EQ(peer->squeezed(), (Calls{"CM", "CL"}));
    // An OS error on a connection is not a bug: asyncio does not report it.
    EXPECT_TRUE(log->contexts.empty()) << log->contexts.front().message;
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpTransportState, PeerResetWhileWritingArrivesAsConnectionLost) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<> acceptor([](Recorder& p) { p.pause_on_connect = true; });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int raw = raw_connect(port_of(*server));
    EXPECT_GE(raw, 0);
    if (raw < 0) co_return;
    auto peer = co_await acceptor.nth(0);
    if (!peer) {
      ::close(raw);
      co_return;
    }
    // The raw peer never reads: the server's writes end up buffered, with
    // the transport waiting for the socket to become writable.
    int small = 4096;
    setsockopt(fd_of(*peer->transport), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const std::string data = pattern(1 << 20);
    fill_until_buffered(*peer->transport, data, 0);
    EXPECT_GT(peer->transport->get_write_buffer_size(), 0u);
    reset_close(raw);
    if (!co_await arrives(peer->lost, "connection_lost after the reset")) co_return;
    int err = errno_of(peer->error);
    EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << describe(peer->error);
    EXPECT_EQ(peer->transport->get_write_buffer_size(), 0u);
    EXPECT_TRUE(log->contexts.empty()) << log->contexts.front().message;
    server->close();
    co_await server->wait_closed();
  }());
}

// A connection reset before the loop even accepted it: accept may return it
// or not; either way nothing crashes, nothing leaks, and the server goes on.
TEST_P(TcpTransportState, ResetBeforeAcceptIsHandled) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor([](Recorder& p) { p.echo = true; });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    for (int i = 0; i < 5; ++i) {
      int raw = raw_connect(port_of(*server));
      EXPECT_GE(raw, 0);
      if (raw >= 0) reset_close(raw);
    }
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    client->echo = false;
    transport->write("after the resets");
    co_await arrives(client->bytes.at_least(16), "echo after the resets");
    EXPECT_EQ(client->received, "after the resets");
    // Accepts are in order: everything before ours has been handled by now.
    for (std::size_t i = 0; i + 1 < acceptor.count(); ++i) {
      auto reset = co_await acceptor.nth(i);
      if (!reset) continue;
      co_await arrives(reset->lost, "connection_lost of a reset connection");
      int err = errno_of(reset->error);
      EXPECT_TRUE(!reset->error || err == ECONNRESET) << describe(reset->error);
      EXPECT_EQ(reset->calls.front(), "CM");
      EXPECT_EQ(reset->calls.back(), "CL");
    }
    transport->close();
    co_await arrives(client->lost, "client connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

// A connection nobody closed when the loop closes: asyncio's transport closes
// its socket once it is garbage (with a ResourceWarning); here the loop's own
// reference would otherwise keep transport, protocol and socket forever.
TEST_P(TcpTransportState, ConnectionsLeftOpenDoNotOutliveTheLoop) {
  FdLeakCheck fds;
  auto kept = run_bounded([]() -> Task<std::shared_ptr<Transport>> {
    auto pair = co_await connect_pair();
    EXPECT_TRUE(pair.peer);
    // No close: the loop closes with both ends (and the server) open.
    co_return pair.transport;
  }());
  // A reference kept past the loop stays safe to use, and does nothing.
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->is_closing());
  kept->write("x");
  kept->pause_reading();
  kept->resume_reading();
  kept->write_eof();
  kept->close();
  kept->abort();
  EXPECT_FALSE(kept->get_extra_info("socket").has_value());
}

}  // namespace
