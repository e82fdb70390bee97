// create_unix_server, create_unix_connection and connect_accepted_socket.

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>

#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::testing::FdLeakCheck;

// Echoes everything; records what it saw.
struct Echo : Protocol {
  Transport* transport = nullptr;
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override { transport->write(data); }
};

// Collects what comes back and completes when `expected` bytes arrived.
struct Collector : Protocol {
  std::size_t expected;
  Future<std::string> done;
  std::string got;
  Collector(std::size_t n, Future<std::string> f) : expected(n), done(std::move(f)) {}
  void data_received(std::string_view data) override {
    got += data;
    if (got.size() >= expected && !done.done()) done.set_result(got);
  }
  void connection_lost(std::exception_ptr) override {
    if (!done.done()) done.set_result(got);
  }
};

std::string temp_socket_path() {
  char dir[] = "/tmp/aiocpp-unix-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/sock";
}

void remove_temp(const std::string& path) {
  ::unlink(path.c_str());
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

AIOCPP_BACKEND_SUITE(UnixSockets);

TEST_P(UnixSockets, ServerAndConnectionEchoAndTheFileIsRemovedOnClose) {
  FdLeakCheck fds;
  std::string path = temp_socket_path();
  run_bounded([](std::string path) -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto server = co_await loop.create_unix_server([] { return std::make_shared<Echo>(); }, path);
    EXPECT_TRUE(exists(path));
    EXPECT_EQ(server->sockets().at(0).getsockname().host(), path);
    Future<std::string> done = loop.create_future<std::string>();
    auto factory = [done] { return std::make_shared<Collector>(5, done); };
    auto [transport, protocol] = co_await loop.create_unix_connection(factory, path);
    EXPECT_EQ(transport->peername().host(), path);
    transport->write("hello");
    EXPECT_EQ(co_await done, "hello");
    transport->close();
    server->close();
    co_await server->wait_closed();
    EXPECT_FALSE(exists(path)) << "the server removes its socket file when it closes";
  }(path));
  remove_temp(path);
}

TEST_P(UnixSockets, AStaleSocketFileIsReplaced) {
  FdLeakCheck fds;
  std::string path = temp_socket_path();
  {  // a socket file nobody listens on any more
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    SocketAddress address = SocketAddress::from_unix_path(path);
    ASSERT_EQ(bind(fd, address.data(), address.size()), 0);
    close(fd);
  }
  ASSERT_TRUE(exists(path));
  run_bounded([](std::string path) -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto server = co_await loop.create_unix_server([] { return std::make_shared<Echo>(); }, path);
    EXPECT_TRUE(server->is_serving());
    server->close();
    co_await server->wait_closed();
  }(path));
  remove_temp(path);
}

TEST_P(UnixSockets, ErrorsNameThePathAndLeakNothing) {
  FdLeakCheck fds;
  std::string path = temp_socket_path();
  run_bounded([](std::string path) -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto echo = [] { return std::make_shared<Echo>(); };
    try {
      co_await loop.create_unix_connection(echo, path);
      ADD_FAILURE() << "connected to a path nobody listens on";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    UnixServerOptions both{.sock = 0};
    EXPECT_THROW(co_await loop.create_unix_server(echo, path, both), std::invalid_argument);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    UnixServerOptions wrong{.sock = tcp};
    EXPECT_THROW(co_await loop.create_unix_server(echo, wrong), std::invalid_argument);
    close(tcp);
  }(path));
  remove_temp(path);
}

TEST_P(UnixSockets, ConnectAcceptedSocketAndExistingSockets) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    int pair[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    // One end served as if accepted elsewhere, the other as a unix connection.
    auto [server_side, echo] =
        co_await loop.connect_accepted_socket([] { return std::make_shared<Echo>(); }, pair[0]);
    Future<std::string> done = loop.create_future<std::string>();
    auto factory = [done] { return std::make_shared<Collector>(3, done); };
    auto [client, collector] = co_await loop.create_unix_connection(factory, pair[1]);
    client->write("abc");
    EXPECT_EQ(co_await done, "abc");
    client->close();
    server_side->close();
    co_await aiocpp::sleep(0);
    co_await aiocpp::sleep(0);
  }());
}

}  // namespace
