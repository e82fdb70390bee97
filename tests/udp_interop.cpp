// UDP against plain Python asyncio peers (tests/peers/udp_echo_*.py): our
// client with asyncio's echo server, and asyncio's client with our echo
// server, so both ends of create_datagram_endpoint stay wire-compatible.

#include "udp_helpers.hpp"

namespace {

using namespace udp_test;
using aiocpp::testing::python;
using aiocpp::testing::spawn;

std::string peer(const char* name) { return std::string(AIOCPP_TEST_DIR) + "/peers/" + name; }

class UdpInterop : public aiocpp::testing::BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::datagrams); }
};
AIOCPP_TEST_ON_ALL_BACKENDS(UdpInterop);

TEST_P(UdpInterop, OurClientAndAsyncioEchoServer) {
  auto child = spawn({python(), peer("udp_echo_server.py"), "--port", "0"});
  std::string line = child->read_line(10.0);
  ASSERT_EQ(line.rfind("Serving on ", 0), 0u) << "the peer said: " << line;
  int port = std::stoi(line.substr(11));
  run([](int port, aiocpp::testing::ChildProcess* child) -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.remote_addr = addr("127.0.0.1", port)};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_recorder, options);
    t->sendto("Hello World!");
    if (!co_await p->wait_datagrams(1)) co_return;
    t->sendto("quit");
    if (!co_await p->wait_datagrams(2)) co_return;
    EXPECT_EQ(p->datagrams[0].data, "Hello World!");
    EXPECT_EQ(p->datagrams[1].data, "quit");
    EXPECT_EQ(p->datagrams[0].from, t->peername());
    auto wait_exit = [child] { return child->wait(10.0); };
    int status = co_await loop.run_in_executor(nullptr, wait_exit);
    EXPECT_EQ(status, 0);
    co_await close_and_wait(*t, *p);
  }(port, child.get()));
}

TEST_P(UdpInterop, AsyncioClientAndOurEchoServer) {
  run([]() -> Task<void> {
    auto& loop = get_running_loop();
    DatagramEndpointOptions options{.local_addr = addr("127.0.0.1", 0)};
    auto [t, p] = co_await loop.create_datagram_endpoint(make_echo, options);
    auto child =
        spawn({python(), peer("udp_echo_client.py"), "--port", std::to_string(t->sockname().port()),
               "--message", "one", "--message", "two", "--message", "three"});
    aiocpp::testing::ChildProcess* c = child.get();
    auto read_all = [c] { return c->read_all(15.0); };
    std::string output = co_await loop.run_in_executor(nullptr, read_all);
    auto wait_exit = [c] { return c->wait(10.0); };
    int status = co_await loop.run_in_executor(nullptr, wait_exit);
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(output, "Received: one\nReceived: two\nReceived: three\n");
    EXPECT_EQ(p->datagrams.size(), 3u);
    co_await close_and_wait(*t, *p);
  }());
}

}  // namespace
