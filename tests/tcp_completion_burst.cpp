// Bursts of completions larger than io_uring's completion queue (2,048
// entries for the backend's 1,024-entry ring): 3,000 connections accepted,
// then read, then closed, each burst arriving while the loop is not
// reaping. The kernel keeps what does not fit on its overflow list (and
// ends the multishot accept, which the listener arms again); nothing may be
// lost: every connection is made, every byte echoed, every connection_lost
// called. The selector runs the same bursts through epoll.

#include <fcntl.h>
#include <sys/resource.h>

#include <cstring>

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

constexpr std::size_t kConnections = 3000;

// What the server's protocols count together.
struct Tally {
  std::size_t bytes = 0, lost = 0;
  std::size_t want_bytes = 0, want_lost = 0;
  Future<void> bytes_reached, all_lost;

  void check() {
    if (bytes >= want_bytes) complete(bytes_reached);
    if (lost >= want_lost) complete(all_lost);
  }
};

class CountingEcho : public Protocol {
 public:
  explicit CountingEcho(std::shared_ptr<Tally> tally) : tally_(std::move(tally)) {}
  void connection_made(Transport& t) override { transport_ = &t; }
  void data_received(std::string_view data) override {
    transport_->write(data);
    tally_->bytes += data.size();
    tally_->check();
  }
  void connection_lost(std::exception_ptr) override {
    ++tally_->lost;
    tally_->check();
  }

 private:
  Transport* transport_ = nullptr;
  std::shared_ptr<Tally> tally_;
};

// Waits until the server's protocols have counted `bytes` in all.
Task<bool> server_received(std::shared_ptr<Tally> tally, std::size_t bytes) {
  tally->want_bytes = bytes;
  tally->bytes_reached = get_running_loop().create_future<void>();
  tally->check();
  co_return co_await arrives(tally->bytes_reached, std::to_string(bytes) + " bytes at the server",
                             30.0);
}

// Reads `want.size()` bytes from client `fd` through the loop and compares.
Task<void> expect_echo(int fd, std::string want) {
  std::string got;
  char buffer[256];
  while (got.size() < want.size()) {
    std::size_t n = co_await get_running_loop().sock_recv_into(fd, std::span<char>(buffer));
    if (n == 0) break;
    got.append(buffer, n);
  }
  EXPECT_EQ(got, want) << "client on fd " << fd;
}

std::string payload(std::size_t i) {
  std::string text = "connection " + std::to_string(i) + ": ";
  text.resize(100, char('a' + i % 26));
  return text;
}

Task<void> bursts() {
  auto tally = std::make_shared<Tally>();
  auto factory = [tally] { return std::make_shared<CountingEcho>(tally); };
  ServerOptions options{.backlog = 4096};  // named first (GCC 12; see README)
  auto server = co_await get_running_loop().create_server(factory, "127.0.0.1", 0, options);
  int port = port_of(*server);

  // 1. Connected and written to without yielding to the loop: the kernel's
  // accept queue holds them all, and the accepts complete in one go.
  std::vector<detail::UniqueFd> clients;
  for (std::size_t i = 0; i < kConnections; ++i) {
    clients.emplace_back(raw_connect(port));
    EXPECT_GE(clients.back().get(), 0) << "connect " << i << ": " << std::strerror(errno);
    if (clients.back().get() < 0) co_return;
    EXPECT_EQ(::send(clients.back().get(), "x", 1, MSG_NOSIGNAL), 1);
    ::fcntl(clients.back().get(), F_SETFL, O_NONBLOCK);
  }
  if (!co_await server_received(tally, kConnections)) co_return;
  for (auto& fd : clients) co_await expect_echo(fd.get(), "x");

  // 2. Every connection's receive completes at once.
  for (std::size_t i = 0; i < kConnections; ++i) {
    std::string text = payload(i);
    EXPECT_EQ(::send(clients[i].get(), text.data(), text.size(), MSG_NOSIGNAL), 100);
  }
  if (!co_await server_received(tally, kConnections * 101)) co_return;
  for (std::size_t i = 0; i < kConnections; ++i) co_await expect_echo(clients[i].get(), payload(i));

  // 3. Every connection ends at once (EOF, and the server closes).
  tally->want_lost = kConnections;
  tally->all_lost = get_running_loop().create_future<void>();
  clients.clear();
  co_await arrives(tally->all_lost, "every server connection_lost", 30.0);
  EXPECT_EQ(tally->lost, kConnections);
  server->close();
  co_await server->wait_closed();
}

AIOCPP_BACKEND_SUITE(TcpCompletionBurst);

TEST_P(TcpCompletionBurst, NoCompletionOfABurstLargerThanTheQueueIsLost) {
  // Two descriptors per connection in this process, the server's and the client's.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  rlim_t need = 2 * kConnections + 256;
  if (limit.rlim_cur < need) {
    if (limit.rlim_max < need) GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is under " << need;
    limit.rlim_cur = need;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  FdLeakCheck fds;
  run_bounded(bursts(), 90.0);
}

}  // namespace
