// One loop per core: `echo_server --workers 2` serves one port from two
// loops on two threads (reuse_port), the kernel spreads the connections over
// both, and SIGTERM stops both cleanly, idle clients and all; on each backend.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

#include "child_output.hpp"
#include "test_support.hpp"

namespace {

using aiocpp::testing::describe_status;
using aiocpp::testing::exited_cleanly;
using aiocpp::testing::FdLeakCheck;
using aiocpp::testing::Output;

// SO_REUSEPORT picks a listener by a hash of the connection's addresses: with
// this many connections, all on one of two workers has odds of 2^-31.
constexpr int kClients = 32;
constexpr int kIdleClients = 8;

std::string echo_server_path() { return std::string(AIOCPP_EXAMPLES_DIR) + "/echo_server"; }

// One seed 004 exchange: "Hello World!" echoed, then the server's close.
std::string exchange(int port) {
  int fd = aiocpp::testing::connect_loopback(port, 5);
  std::string echoed;
  if (aiocpp::testing::send_retrying(fd, "Hello World!", 12) == 12) {
    char buf[64];
    ssize_t n;
    while ((n = aiocpp::testing::recv_retrying(fd, buf, sizeof buf)) > 0) {
      echoed.append(buf, static_cast<size_t>(n));
    }
    if (n < 0) echoed += " (no EOF)";
  }
  close(fd);
  return echoed;
}

AIOCPP_BACKEND_SUITE(EchoWorkers);

TEST_P(EchoWorkers, ConnectionsSpreadOverTheLoopsAndSigtermStopsThemAll) {
  FdLeakCheck fds;
  if (access(echo_server_path().c_str(), X_OK) != 0) GTEST_SKIP() << "echo_server is not built";
  auto server = aiocpp::testing::spawn({echo_server_path(), "--port", "0", "--workers", "2",
                                        "--backend", std::string(aiocpp::backend_name(backend()))},
                                       true);
  Output output(*server);
  std::string port_text =
      output.wait_for(std::regex(R"(Serving on \('127\.0\.0\.1', (\d+)\) with 2 workers)"), 10);
  ASSERT_FALSE(port_text.empty()) << output.text();
  int port = std::stoi(port_text);

  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(exchange(port), "Hello World!") << "client " << i << "; output:\n" << output.text();
    output.read_for(0);  // keep the pipe from filling
  }
  ASSERT_TRUE(output.wait_for_count("Close the client socket\n", kClients, 10)) << output.text();
  // Idle clients still connected when the signal comes: every worker must
  // close its own (after serve_forever's grace period) and still exit.
  std::vector<int> idle;
  for (int i = 0; i < kIdleClients; ++i) idle.push_back(aiocpp::testing::connect_loopback(port));
  ASSERT_TRUE(output.wait_for_count("Connection from", kClients + kIdleClients, 10))
      << output.text();

  double start = aiocpp::testing::now();
  kill(server->pid, SIGTERM);
  EXPECT_TRUE(output.read_to_eof(10));
  int status = server->wait(10);
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status) << "; output:\n" << output.text();
  EXPECT_LT(aiocpp::testing::now() - start, 5.0);
  for (int fd : idle) {
    char byte;
    EXPECT_EQ(aiocpp::testing::recv_retrying(fd, &byte, 1), 0) << "an idle client was not closed";
    close(fd);
  }

  std::string text = output.text();
  std::regex served(R"(worker (\d+) served (\d+) connections)");
  std::vector<int> counts(2, -1);  // of the exchanges and the idle clients
  for (auto it = std::sregex_iterator(text.begin(), text.end(), served);
       it != std::sregex_iterator(); ++it) {
    std::size_t worker = std::stoul((*it)[1]);
    ASSERT_LT(worker, counts.size()) << text;
    counts[worker] = std::stoi((*it)[2]);
  }
  EXPECT_EQ(counts[0] + counts[1], kClients + kIdleClients) << text;
  EXPECT_GT(counts[0], 0) << "worker 0 served nobody:\n" << text;
  EXPECT_GT(counts[1], 0) << "worker 1 served nobody:\n" << text;
  if (server->stdin_fd >= 0) {
    close(server->stdin_fd);
    server->stdin_fd = -1;
  }
}

TEST(EchoWorkersArguments, ABadWorkerCountExitsWithStatus2) {
  FdLeakCheck fds;
  if (access(echo_server_path().c_str(), X_OK) != 0) GTEST_SKIP() << "echo_server is not built";
  for (const char* bad : {"0", "two", "-1", "3x"}) {
    auto server =
        aiocpp::testing::spawn({echo_server_path(), "--port", "0", "--workers", bad}, true);
    Output output(*server);
    EXPECT_TRUE(output.read_to_eof(10));
    int status = server->wait(10);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << describe_status(status);
    EXPECT_NE(output.text().find("--workers"), std::string::npos) << output.text();
    close(server->stdin_fd);
    server->stdin_fd = -1;
  }
}

}  // namespace
