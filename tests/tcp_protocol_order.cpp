// The order in which a TCP transport calls its protocol (asyncio's
// CM -> DR* -> ER? -> CL), for Protocol and BufferedProtocol, and what an
// exception escaping a protocol method does: it closes that connection only.

#include <stdexcept>
#include <tuple>

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

using Calls = std::vector<std::string>;

// Schedules a callback that records "soon" from inside the protocol factory:
// if connection_made is scheduled too (as asyncio does), "soon" comes first.
void record_soon(std::shared_ptr<Recorder> p) {
  get_running_loop().call_soon([p] { p->calls.push_back("soon"); });
}

AIOCPP_BACKEND_SUITE(TcpProtocolOrder);

TEST_P(TcpProtocolOrder, ProtocolCallsInOrderAndConnectionMadeIsScheduled) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto factory = [] {
      auto p = std::make_shared<Recorder>();
      record_soon(p);
      return p;
    };
    auto [transport, client] =
        co_await loop.create_connection(factory, "127.0.0.1", port_of(*server));
    // create_connection completes only after connection_made has run.
    EXPECT_EQ(client->calls, (Calls{"soon", "CM"}));
    EXPECT_EQ(client->transport, transport.get());

    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    transport->write("hello");
    transport->write_eof();
    // eof_received returns false: the server's transport closes by itself.
    if (!co_await arrives(peer->lost, "server connection_lost")) co_return;
    EXPECT_EQ(peer->received, "hello");
    EXPECT_EQ(peer->squeezed(), (Calls{"CM", "DR", "ER", "CL"}));
    EXPECT_FALSE(peer->error) << describe(peer->error);

    if (!co_await arrives(client->lost, "client connection_lost")) co_return;
    EXPECT_EQ(client->squeezed(), (Calls{"soon", "CM", "ER", "CL"}));
    EXPECT_FALSE(client->error) << describe(client->error);
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpProtocolOrder, ServerConnectionMadeIsScheduledAfterTheFactory) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor([](Recorder& p) {
      Recorder* raw = &p;  // kept alive by the acceptor
      get_running_loop().call_soon([raw] { raw->calls.push_back("soon"); });
    });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    EXPECT_EQ(peer->calls, (Calls{"soon", "CM"}));
    transport->close();
    co_await arrives(peer->lost, "server connection_lost");
    co_await arrives(client->lost, "client connection_lost");
    EXPECT_EQ(peer->squeezed(), (Calls{"soon", "CM", "ER", "CL"}));
    server->close();
    co_await server->wait_closed();
  }());
}

// A BufferedProtocol with a deliberately small buffer, so that one message
// takes many get_buffer / buffer_updated pairs.
class BufferedRecorder : public BufferedProtocol {
 public:
  BufferedRecorder()
      : made(get_running_loop().create_future<void>()),
        lost(get_running_loop().create_future<void>()) {}
  void connection_made(Transport& t) override {
    calls.push_back("CM");
    transport = &t;
    complete(made);
    if (throw_in == "CM") throw std::runtime_error("boom in CM");
  }
  std::span<char> get_buffer(std::size_t) override {
    calls.push_back("GB");
    if (throw_in == "GB") throw std::runtime_error("boom in GB");
    if (empty_buffer) return {};
    return std::span<char>(buffer_, sizeof buffer_);
  }
  void buffer_updated(std::size_t n) override {
    calls.push_back("BU");
    EXPECT_LE(n, sizeof buffer_);
    received.append(buffer_, n);
    bytes.add(n);
    if (throw_in == "BU") throw std::runtime_error("boom in BU");
  }
  bool eof_received() override {
    calls.push_back("ER");
    return false;
  }
  void connection_lost(std::exception_ptr e) override {
    calls.push_back("CL");
    error = e;
    complete(lost);
  }

  Transport* transport = nullptr;
  Calls calls;
  std::string received;
  ByteWaiter bytes;
  std::exception_ptr error;
  std::string throw_in;
  bool empty_buffer = false;
  Future<void> made, lost;

 private:
  char buffer_[7];
};

TEST_P(TcpProtocolOrder, BufferedProtocolCallsInOrder) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<BufferedRecorder> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    const std::string message = pattern(1000);
    transport->write(message);
    transport->write_eof();
    co_await arrives(peer->lost, "server connection_lost");
    EXPECT_EQ(peer->received, message);
    EXPECT_FALSE(peer->error) << describe(peer->error);
    // CM, then (GB BU)+ pairs, then GB (the read that found EOF), ER, CL.
    const Calls& c = peer->calls;
    EXPECT_GE(c.size(), 5u);
    if (c.size() < 5) co_return;
    EXPECT_EQ(c.front(), "CM");
    EXPECT_EQ(c[c.size() - 3], "GB");
    EXPECT_EQ(c[c.size() - 2], "ER");
    EXPECT_EQ(c.back(), "CL");
    std::size_t updates = 0;
    for (std::size_t i = 1; i + 3 < c.size(); i += 2) {
      EXPECT_EQ(c[i], "GB") << "call " << i;
      EXPECT_EQ(c[i + 1], "BU") << "call " << i + 1;
      ++updates;
    }
    EXPECT_GE(updates, message.size() / 7);
    co_await arrives(client->lost, "client connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpProtocolOrder, EofReceivedTrueKeepsTheConnectionHalfOpen) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor([](Recorder& p) { p.keep_open_on_eof = true; });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    client->echo = false;
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    transport->write("ping");
    transport->write_eof();
    if (!co_await arrives(peer->eof, "server eof_received")) co_return;
    EXPECT_FALSE(peer->transport->is_closing());
    // Still open for writing: the client gets what we send after its EOF.
    peer->transport->write("pong after eof");
    if (!co_await arrives(client->bytes.at_least(14), "data after the client's write_eof")) {
      co_return;
    }
    EXPECT_EQ(client->received, "pong after eof");
    EXPECT_FALSE(peer->lost.done());
    peer->transport->close();
    co_await arrives(peer->lost, "server connection_lost");
    co_await arrives(client->lost, "client connection_lost");
    EXPECT_EQ(peer->received, "ping");
    EXPECT_EQ(peer->squeezed(), (Calls{"CM", "DR", "ER", "CL"}));
    EXPECT_EQ(client->squeezed(), (Calls{"CM", "DR", "ER", "CL"}));
    server->close();
    co_await server->wait_closed();
  }());
}

// --- Exceptions escaping protocol methods ----------------------------------------------

class Thrower : public Recorder {
 public:
  void connection_made(Transport& t) override {
    Recorder::connection_made(t);
    if (throw_in == "CM") throw std::runtime_error("boom in CM");
  }
  void data_received(std::string_view data) override {
    Recorder::data_received(data);
    if (throw_in == "DR") throw std::runtime_error("boom in DR");
  }
  bool eof_received() override {
    bool keep = Recorder::eof_received();
    if (throw_in == "ER") throw std::runtime_error("boom in ER");
    return keep;
  }
  std::string throw_in;
};

struct ThrowCase {
  const char* where;  // "CM", "DR", "ER" (Protocol) or "GB", "BU" (BufferedProtocol)
  const char* message;
};

void PrintTo(const ThrowCase& c, std::ostream* os) { *os << c.where; }

// Each case on each backend.
class TcpProtocolException
    : public ::testing::TestWithParam<std::tuple<ThrowCase, aiocpp::Backend>> {};

// The first accepted connection throws in `where`; a second one, open at the
// same time, keeps working both ways.
template <class P>
Task<void> check_exception_closes_only_that_connection(ThrowCase tc) {
  auto& loop = get_running_loop();
  auto log = HandlerLog::install();
  int made = 0;
  Acceptor<P> acceptor([&made, tc](P& p) {
    if (made++ == 0) p.throw_in = tc.where;
  });
  auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
  const int port = port_of(*server);
  auto [bad_transport, bad_client] = co_await loop.create_connection(make_echo, "127.0.0.1", port);
  bad_client->echo = false;
  auto bad = co_await acceptor.nth(0);
  if (!bad) co_return;
  auto [good_transport, good_client] =
      co_await loop.create_connection(make_echo, "127.0.0.1", port);
  good_client->echo = false;
  auto good = co_await acceptor.nth(1);
  if (!good) co_return;
  good->transport->write("before");  // echoed by no one: just data for the client

  if (std::string(tc.where) == "ER") {
    bad_transport->write_eof();
  } else if (std::string(tc.where) != "CM") {
    bad_transport->write("trigger");
  }
  if (!co_await arrives(bad->lost, "connection_lost of the failing connection")) co_return;
  EXPECT_EQ(describe(bad->error), std::string("boom in ") + tc.where);
  EXPECT_EQ(bad->calls.back(), "CL");
  const ExceptionContext* context = log->find(tc.message);
  EXPECT_NE(context, nullptr) << "no exception handler call with message: " << tc.message;
  if (context) {
    EXPECT_EQ(context->message, tc.message);
    EXPECT_EQ(context->exception, bad->error);
    EXPECT_EQ(dynamic_cast<Transport*>(context->transport.get()), bad->transport);
    EXPECT_EQ(context->protocol.get(), static_cast<BaseProtocol*>(bad.get()));
  }
  log->contexts.clear();  // holds the transport and protocol
  // The peer of the failed connection sees it closed.
  co_await arrives(bad_client->lost, "the failing connection's client connection_lost");

  // The other connection still works both ways.
  good_transport->write("still alive");
  co_await arrives(good->bytes.at_least(11), "data on the other connection");
  co_await arrives(good_client->bytes.at_least(6), "data from the other connection");
  EXPECT_EQ(good_client->received, "before");
  EXPECT_FALSE(good->lost.done());
  good_transport->close();
  co_await arrives(good->lost, "the other connection's connection_lost");
  EXPECT_FALSE(good->error) << describe(good->error);
  co_await arrives(good_client->lost, "the other client's connection_lost");
  server->close();
  co_await server->wait_closed();
}

TEST_P(TcpProtocolException, ClosesThatConnectionOnly) {
  FdLeakCheck fds;
  auto [tc, backend] = GetParam();
  std::string skip = aiocpp::testing::backend_skip_reason(backend);
  if (!skip.empty()) GTEST_SKIP() << skip;
  LoopOptions loop{.backend = backend};
  bool buffered = std::string(tc.where) == "GB" || std::string(tc.where) == "BU";
  if (buffered) {
    aiocpp::testing::run_bounded(check_exception_closes_only_that_connection<BufferedRecorder>(tc),
                                 10.0, loop);
  } else {
    aiocpp::testing::run_bounded(check_exception_closes_only_that_connection<Thrower>(tc), 10.0,
                                 loop);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tcp, TcpProtocolException,
    ::testing::Combine(
        ::testing::Values(ThrowCase{"CM", "Fatal error: protocol.connection_made() call failed."},
                          ThrowCase{"DR", "Fatal error: protocol.data_received() call failed."},
                          ThrowCase{"ER", "Fatal error: protocol.eof_received() call failed."},
                          ThrowCase{"GB", "Fatal error: protocol.get_buffer() call failed."},
                          ThrowCase{"BU", "Fatal error: protocol.buffer_updated() call failed."}),
        ::testing::ValuesIn(aiocpp::testing::all_backends())),
    [](const ::testing::TestParamInfo<TcpProtocolException::ParamType>& info) {
      // "CM_selector": gtest allows no '/' inside a parameter's name.
      return std::string(std::get<0>(info.param).where) + "_" +
             std::string(aiocpp::backend_name(std::get<1>(info.param)));
    });

TEST_P(TcpProtocolOrder, EmptyBufferFromGetBufferIsAFatalError) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<BufferedRecorder> acceptor([](BufferedRecorder& p) { p.empty_buffer = true; });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    transport->write("x");
    co_await arrives(peer->lost, "server connection_lost");
    EXPECT_NE(describe(peer->error).find("empty buffer"), std::string::npos)
        << describe(peer->error);
    EXPECT_NE(log->find("Fatal error: protocol.get_buffer() call failed."), nullptr);
    log->contexts.clear();
    co_await arrives(client->lost, "client connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpProtocolOrder, ConnectionMadeThrowingFailsCreateConnection) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    std::shared_ptr<Thrower> thrower;
    auto factory = [&thrower] {
      thrower = std::make_shared<Thrower>();
      thrower->throw_in = "CM";
      return thrower;
    };
    std::string failure;
    try {
      co_await loop.create_connection(factory, "127.0.0.1", port_of(*server));
    } catch (const std::runtime_error& e) {
      failure = e.what();
    }
    EXPECT_EQ(failure, "boom in CM");
    if (!thrower) co_return;
    co_await arrives(thrower->lost, "connection_lost after the failed connection_made");
    EXPECT_EQ(describe(thrower->error), "boom in CM");
    EXPECT_NE(log->find("Fatal error: protocol.connection_made() call failed."), nullptr);
    log->contexts.clear();
    auto peer = co_await acceptor.nth(0);
    if (peer) co_await arrives(peer->lost, "server connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

class ThrowsInConnectionLost : public Recorder {
 public:
  void connection_lost(std::exception_ptr e) override {
    Recorder::connection_lost(e);
    throw std::runtime_error("boom in CL");
  }
};

// asyncio calls connection_lost from a plain callback: what it throws goes to
// the exception handler, and the socket is closed all the same.
TEST_P(TcpProtocolOrder, ConnectionLostThrowingStillReleasesTheConnection) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<ThrowsInConnectionLost> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;
    transport->close();
    co_await arrives(peer->lost, "server connection_lost");
    co_await arrives(log->called, "the exception handler");
    EXPECT_EQ(log->contexts.size(), 1u);
    if (!log->contexts.empty()) EXPECT_EQ(describe(log->contexts[0].exception), "boom in CL");
    log->contexts.clear();
    server->close();
    // The server counts the connection as gone.
    Task<void> closed = loop.create_task(server->wait_closed());
    co_await arrives(closed, "wait_closed");
    co_await arrives(client->lost, "client connection_lost");
  }());
}

}  // namespace

// A stream transport calls data_received or get_buffer / buffer_updated: a
// protocol that is neither a Protocol nor a BufferedProtocol (asyncio fails
// on its first data_received) is refused before any byte is read.
class NotAStreamProtocol : public aiocpp::DatagramProtocol {
 public:
  Future<void> lost = get_running_loop().create_future<void>();
  std::exception_ptr error;
  void connection_lost(std::exception_ptr e) override {
    error = e;
    complete(lost);
  }
};

constexpr const char* wrong_kind =
    "Fatal error: the protocol is neither a Protocol nor a BufferedProtocol.";

TEST_P(TcpProtocolOrder, ProtocolOfTheWrongKindFailsCreateConnection) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto protocol = std::make_shared<NotAStreamProtocol>();
    // Not a lambda inside the co_await expression: GCC 12 destroys its
    // captures twice there (README, "A GCC 12 bug to know about").
    ProtocolFactory factory = [protocol] { return protocol; };
    std::string failure;
    try {
      co_await loop.create_connection(factory, "127.0.0.1", port_of(*server));
    } catch (const aiocpp::TypeError& e) {
      failure = e.what();
    }
    EXPECT_NE(failure.find("Protocol or a BufferedProtocol"), std::string::npos) << failure;
    co_await arrives(protocol->lost, "connection_lost of the refused protocol");
    EXPECT_EQ(describe(protocol->error), failure);
    EXPECT_NE(log->find(wrong_kind), nullptr);
    log->contexts.clear();
    auto peer = co_await acceptor.nth(0);
    if (peer) co_await arrives(peer->lost, "server connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpProtocolOrder, ServerProtocolOfTheWrongKindClosesThatConnection) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    auto refused = std::make_shared<NotAStreamProtocol>();
    ProtocolFactory factory = [refused] { return refused; };  // outside co_await: GCC 12
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0);
    auto [transport, client] =
        co_await loop.create_connection(make_echo, "127.0.0.1", port_of(*server));
    transport->write("never read");
    co_await arrives(refused->lost, "connection_lost of the refused protocol");
    EXPECT_NE(describe(refused->error).find("Protocol or a BufferedProtocol"), std::string::npos)
        << describe(refused->error);
    co_await arrives(client->lost, "the client's connection_lost");
    EXPECT_NE(log->find(wrong_kind), nullptr);
    log->contexts.clear();
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpProtocolOrder, SetProtocolOfTheWrongKindFailsAtTheNextData) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto log = HandlerLog::install();
    Pair pair = co_await connect_pair();
    if (!pair.peer) co_return;
    auto refused = std::make_shared<NotAStreamProtocol>();
    pair.peer->transport->set_protocol(refused);
    pair.transport->write("x");
    co_await arrives(refused->lost, "connection_lost of the new protocol");
    EXPECT_NE(describe(refused->error).find("Protocol or a BufferedProtocol"), std::string::npos)
        << describe(refused->error);
    EXPECT_NE(log->find(wrong_kind), nullptr);
    log->contexts.clear();
    co_await arrives(pair.client->lost, "the client's connection_lost");
    pair.server->close();
    co_await pair.server->wait_closed();
  }());
}
