// A Server's life: start_serving, close, wait_closed, serve_forever, async_with.

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

void echo(Recorder& p) { p.echo = true; }

// Whether a blocking connect to 127.0.0.1:`port` is refused.
bool refused(int port) {
  int fd = raw_connect(port);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return errno == ECONNREFUSED;
}

Task<bool> echoes(Transport& t, Recorder& p, std::string text) {
  std::size_t before = p.bytes.count();
  t.write(text);
  co_return co_await arrives(p.bytes.at_least(before + text.size()), "echo of " + text);
}

AIOCPP_BACKEND_SUITE(TcpServerLifecycle);

TEST_P(TcpServerLifecycle, StartServingLater) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor(echo);
    auto server =
        co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0, {.start_serving = false});
    EXPECT_FALSE(server->is_serving());
    int port = port_of(*server);
    EXPECT_NE(port, 0) << "bound before serving";
    EXPECT_TRUE(refused(port)) << "not listening yet";
    co_await server->start_serving();
    EXPECT_TRUE(server->is_serving());
    co_await server->start_serving();  // again: a no-op
    auto [transport, client] = co_await loop.create_connection(make_echo, "127.0.0.1", port);
    client->echo = false;
    EXPECT_TRUE(co_await echoes(*transport, *client, "served"));
    transport->close();
    co_await arrives(client->lost, "client connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpServerLifecycle, CloseStopsAcceptingButKeepsConnections) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor(echo);
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int port = port_of(*server);
    auto [transport, client] = co_await loop.create_connection(make_echo, "127.0.0.1", port);
    client->echo = false;
    auto peer = co_await acceptor.nth(0);
    if (!peer) co_return;

    server->close();
    server->close();  // twice: harmless
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty());
    EXPECT_TRUE(refused(port)) << "a closed server must not accept";
    Task<void> closed = loop.create_task(server->wait_closed());
    // The accepted connection carries on; wait_closed waits for it.
    EXPECT_TRUE(co_await echoes(*transport, *client, "still here"));
    EXPECT_FALSE(closed.done()) << "wait_closed returned while a connection is open";
    EXPECT_FALSE(peer->transport->is_closing());
    co_await server->start_serving();  // a closed server stays closed
    EXPECT_FALSE(server->is_serving());

    transport->close();
    co_await arrives(peer->lost, "server connection_lost");
    co_await arrives(closed, "wait_closed after the last connection");
    co_await arrives(client->lost, "client connection_lost");
    co_await server->wait_closed();  // once closed, returns at once
  }());
}

TEST_P(TcpServerLifecycle, WaitClosedWaitsForClose) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    Acceptor<> acceptor;
    auto server = co_await get_running_loop().create_server(acceptor.factory(), "127.0.0.1", 0);
    Task<void> closed = get_running_loop().create_task(server->wait_closed());
    for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
    EXPECT_FALSE(closed.done());
    server->close();
    co_await arrives(closed, "wait_closed after close");
  }());
}

TEST_P(TcpServerLifecycle, CancellingServeForeverClosesTheServer) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor(echo);
    auto server =
        co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0, {.start_serving = false});
    int port = port_of(*server);
    Task<void> forever = loop.create_task(server->serve_forever());
    co_await aiocpp::sleep(0);
    EXPECT_TRUE(server->is_serving()) << "serve_forever starts serving";
    auto [transport, client] = co_await loop.create_connection(make_echo, "127.0.0.1", port);
    client->echo = false;
    EXPECT_TRUE(co_await echoes(*transport, *client, "forever"));
    transport->close();
    co_await arrives(client->lost, "client connection_lost");

    // A second serve_forever, while the first runs, is an error.
    bool second_refused = false;
    try {
      co_await server->serve_forever();
    } catch (const RuntimeError&) {
      second_refused = true;
    }
    EXPECT_TRUE(second_refused);

    forever.cancel();
    bool cancelled = false;
    try {
      co_await forever;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled) << "serve_forever must end with CancelledError";
    EXPECT_TRUE(forever.cancelled());
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty());
    EXPECT_TRUE(refused(port));
    // ... and a closed server cannot serve forever again.
    bool closed_refused = false;
    try {
      co_await server->serve_forever();
    } catch (const RuntimeError&) {
      closed_refused = true;
    }
    EXPECT_TRUE(closed_refused);
  }());
}

// As in asyncio, Server.close() cancels a running serve_forever.
TEST_P(TcpServerLifecycle, CloseEndsServeForever) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor;
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    Task<void> forever = loop.create_task(server->serve_forever());
    co_await aiocpp::sleep(0);
    EXPECT_FALSE(forever.done());
    server->close();
    bool cancelled = false;
    try {
      co_await forever;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(server->is_serving());
  }());
}

TEST_P(TcpServerLifecycle, AsyncWithClosesTheServer) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Acceptor<> acceptor(echo);
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    int port = port_of(*server);
    auto body = [port]() -> Task<void> {
      auto [transport, client] =
          co_await get_running_loop().create_connection(make_echo, "127.0.0.1", port);
      client->echo = false;
      EXPECT_TRUE(co_await echoes(*transport, *client, "inside"));
      transport->close();
      co_await arrives(client->lost, "client connection_lost");
    };
    co_await async_with(server, body);
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty());
    EXPECT_TRUE(refused(port));

    // A body that throws: the server is closed all the same, the error propagates.
    auto server2 = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto failing = []() -> Task<void> {
      co_await aiocpp::sleep(0);
      throw std::runtime_error("body failed");
    };
    std::string error;
    try {
      co_await async_with(server2, failing);
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "body failed");
    EXPECT_FALSE(server2->is_serving());
    EXPECT_TRUE(server2->sockets().empty());
  }());
}

// Closing a loop (not through aiocpp::run) while a task still waits in
// wait_closed for a closed server with an open connection: the loop releases
// the connection; nothing may run any more, and nothing may terminate.
TEST_P(TcpServerLifecycle, ClosingTheLoopWithAPendingWaitClosed) {
  FdLeakCheck fds;
  auto loop = new_event_loop(loop_options());
  Task<void> waiting;
  loop->run_until_complete([](Task<void>* waiting) -> Task<void> {
    auto pair = co_await connect_pair();
    pair.server->close();
    *waiting = get_running_loop().create_task(pair.server->wait_closed());
    co_await aiocpp::sleep(0);
  }(&waiting));
  EXPECT_FALSE(waiting.done());
  loop->close();  // "Task was destroyed but it is pending!" is expected here
}

}  // namespace

namespace {

// Two clients connected to one server; the server's protocols in `peers`.
struct TwoClients {
  std::shared_ptr<Server> server;
  std::vector<std::shared_ptr<Recorder>> clients;
  std::vector<std::shared_ptr<Recorder>> peers;
};

Task<TwoClients> connect_two() {
  auto& loop = get_running_loop();
  Acceptor<> acceptor;
  TwoClients out;
  out.server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
  auto factory = [] { return std::make_shared<Recorder>(); };
  for (std::size_t i = 0; i < 2; ++i) {
    auto c = co_await loop.create_connection(factory, "127.0.0.1", port_of(*out.server));
    out.clients.push_back(c.protocol);
    out.peers.push_back(co_await acceptor.nth(i));
  }
  co_return out;
}

}  // namespace

TEST_P(TcpServerLifecycle, CloseClientsClosesEveryAcceptedConnectionAfterItsBufferDrains) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    TwoClients t = co_await connect_two();
    t.peers[0]->transport->write("last words");
    t.server->close();
    Task<void> closed = get_running_loop().create_task(t.server->wait_closed());
    co_await aiocpp::sleep(0);
    EXPECT_FALSE(closed.done()) << "3.12 semantics: connections are still open";
    t.server->close_clients();
    for (auto& p : t.peers) co_await arrives(p->lost, "server side connection_lost");
    for (auto& c : t.clients) co_await arrives(c->eof, "client sees EOF");
    EXPECT_EQ(t.clients[0]->received, "last words") << "close() flushes, unlike abort()";
    co_await arrives(closed, "wait_closed once the clients are gone");
    for (auto& c : t.clients) c->transport->close();
    for (auto& c : t.clients) co_await arrives(c->lost, "client connection_lost");
  }());
}

TEST_P(TcpServerLifecycle, AbortClientsResetsEveryAcceptedConnection) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    TwoClients t = co_await connect_two();
    t.server->close();
    t.server->abort_clients();
    for (auto& p : t.peers) {
      co_await arrives(p->lost, "server side connection_lost");
      EXPECT_EQ(p->error, nullptr) << "abort() reports no error of its own";
    }
    for (auto& c : t.clients) co_await arrives(c->lost, "client connection_lost");
    co_await t.server->wait_closed();
    t.server->close_clients();  // nothing left: a no-op
  }());
}
