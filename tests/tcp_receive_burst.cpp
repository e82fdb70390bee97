// Many connections' bytes arriving at once. On io_uring each multishot
// receive takes its bytes from the loop's ring of buffers (4 MiB); the
// connections that find it empty (ENOBUFS) read once into a buffer of their
// own. On both backends every connection gets all of its bytes, in order,
// exactly once.

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

constexpr int kConnections = 400;
constexpr std::size_t kMessage = 16 * 1024;  // 400 of them: more than the ring's 4 MiB

// Connection i's bytes: its number, then a pattern.
std::string message(std::size_t i) {
  std::string m = pattern(kMessage, static_cast<unsigned>(i));
  std::string number = std::to_string(i) + ":";
  m.replace(0, number.size(), number);
  return m;
}

// Completes `all` once every connection has received kMessage bytes.
struct Burst {
  int complete_count = 0;
  Future<void> all = get_running_loop().create_future<void>();
};

class Collector : public Protocol {
 public:
  std::shared_ptr<Burst> burst;
  std::string received;
  Future<void> made = get_running_loop().create_future<void>();
  Future<void> lost = get_running_loop().create_future<void>();

  void connection_made(Transport&) override { complete(made); }
  void data_received(std::string_view data) override {
    received.append(data);
    if (received.size() == kMessage && ++burst->complete_count == kConnections) {
      complete(burst->all);
    }
  }
  void connection_lost(std::exception_ptr) override { complete(lost); }
};

AIOCPP_BACKEND_SUITE(TcpReceiveBurst);

TEST_P(TcpReceiveBurst, MoreConnectionsThanRingBuffersAllGetTheirBytes) {
  FdLeakCheck fds;
  run_bounded(
      []() -> Task<void> {
        EventLoop& loop = get_running_loop();
        auto burst = std::make_shared<Burst>();
        Acceptor<Collector> acceptor([burst](Collector& c) { c.burst = burst; });
        auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
        std::vector<int> clients;
        for (int i = 0; i < kConnections; ++i) {
          int fd = raw_connect(port_of(*server));
          EXPECT_GE(fd, 0) << "client " << i;
          if (fd < 0) break;
          clients.push_back(fd);
          // The selector accepts only while the loop runs: stay within the backlog.
          if (clients.size() % 50 == 0 && !co_await acceptor.nth(clients.size() - 1)) break;
        }
        bool all_accepted = static_cast<int>(clients.size()) == kConnections &&
                            co_await acceptor.nth(kConnections - 1) != nullptr;
        if (all_accepted) {
          // Every receive is armed once the loop has gone round once more.
          for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
          // All sent from one step of the loop: the next wait sees every arrival.
          for (std::size_t i = 0; i < clients.size(); ++i) {
            std::string m = message(i);
            EXPECT_EQ(::send(clients[i], m.data(), m.size(), MSG_NOSIGNAL),
                      static_cast<ssize_t>(kMessage));
          }
          if (co_await arrives(burst->all, "every connection's bytes", 20)) {
            // The i-th accepted is not necessarily the i-th client: compare as sets.
            std::vector<std::string> expected, got;
            for (std::size_t i = 0; i < clients.size(); ++i) {
              expected.push_back(message(i));
              got.push_back((co_await acceptor.nth(i))->received);
            }
            std::sort(expected.begin(), expected.end());
            std::sort(got.begin(), got.end());
            EXPECT_TRUE(expected == got) << "some connection's bytes were lost or mixed";
          }
        }
        for (int fd : clients) ::close(fd);
        for (std::size_t i = 0; i < acceptor.count(); ++i) {
          auto c = co_await acceptor.nth(i);
          if (c) co_await arrives(c->lost, "server connection_lost");
        }
        server->close();
        co_await server->wait_closed();
      }(),
      60);
}

}  // namespace
