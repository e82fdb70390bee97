// The server examples stop promptly: on SIGTERM they close the server, then
// its clients (close_clients, then abort_clients after a grace period), and
// exit cleanly even with a thousand idle clients connected (and, for the
// echoing server, one that floods it and never reads).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "child_output.hpp"
#include "test_support.hpp"

namespace {

using aiocpp::testing::describe_status;
using aiocpp::testing::exited_cleanly;
using aiocpp::testing::FdLeakCheck;
using aiocpp::testing::now;
using aiocpp::testing::Output;

constexpr std::size_t kClients = 1000;

std::string example_path(const std::string& name) {
  return std::string(AIOCPP_EXAMPLES_DIR) + "/" + name;
}

struct ServerCase {
  std::string name;
  std::vector<std::string> args;
  std::string ready;           // a regex whose first group is the port
  std::string per_connection;  // what the server prints for each accepted connection
  bool flood = false;          // also connect a client that sends much and never reads
};

void PrintTo(const ServerCase& c, std::ostream* os) { *os << c.name; }

const std::string kToken = "/tmp/aiocpp_shutdown_token_" + std::to_string(getpid());

const ServerCase kCases[] = {
    {"echo_server",
     {"--host", "127.0.0.1", "--port", "0"},
     R"(Serving on \('127\.0\.0\.1', (\d+)\))",
     "Connection from"},
    {"eof_echo_server",
     {"--host", "127.0.0.1", "--port", "0"},
     R"(main: starting up on \S+ port (\d+))",
     "connection accepted",
     true},
    {"serve_forever",
     {"--port", "0"},
     R"(Serving on \('127\.0\.0\.1', (\d+)\))",
     "Connection from"},
    {"poem_server", {"--port", "0"}, R"(Serving on \('127\.0\.0\.1', (\d+)\))", "Connection from"},
    {"remote_cmd_server",
     {"--port", "0", "--token-file", kToken, "--allow", "echo ...", "--run-as", "nobody",
      "--workdir", "/tmp"},
     R"(Serving on \('127\.0\.0\.1', (\d+)\))",
     "Connection from"},
};

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Sends until the kernel takes no more (the server no longer reads), within
// a deadline, reading the server's log meanwhile so that it never blocks on it.
void flood(int fd, Output& output, double timeout) {
  std::string chunk(64 * 1024, 'x');
  double deadline = now() + timeout;
  double full_since = 0;
  while (now() < deadline) {
    output.read_for(0.01);
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      full_since = 0;
    } else if (full_since == 0) {
      full_since = now();
    } else if (now() - full_since > 0.3) {
      return;  // full for 300 ms: the server stopped reading
    }
  }
  ADD_FAILURE() << "the server kept reading what it could not send back";
}

class ServerShutdown : public ::testing::TestWithParam<ServerCase> {};

TEST_P(ServerShutdown, SigtermWithAThousandIdleClientsExitsPromptly) {
  FdLeakCheck fds;
  const ServerCase& c = GetParam();
  if (access(example_path(c.name).c_str(), X_OK) != 0) GTEST_SKIP() << c.name << " is not built";
  std::ofstream(kToken) << "s3cret\n";
  std::vector<std::string> argv = {example_path(c.name)};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  // stdin stays open and empty (poem_server waits on it without blocking anyone).
  auto server = aiocpp::testing::spawn(argv, true);
  Output output(*server);
  std::string port_text = output.wait_for(std::regex(c.ready), 10);
  ASSERT_FALSE(port_text.empty()) << output.text();
  int port = std::stoi(port_text);

  // In batches, so that the listen backlog never overflows (a dropped
  // handshake would be retried only a second later).
  std::vector<int> clients;
  while (clients.size() < kClients) {
    for (int i = 0; i < 100; ++i) clients.push_back(connect_to(port));
    ASSERT_TRUE(output.wait_for_count(c.per_connection, clients.size(), 20))
        << output.occurrences(c.per_connection) << " of " << clients.size() << " accepted";
  }
  if (c.flood) {
    clients.push_back(connect_to(port));
    ASSERT_TRUE(output.wait_for_count(c.per_connection, clients.size(), 20));
    flood(clients.back(), output, 20);
  }

  double start = now();
  kill(server->pid, SIGTERM);
  EXPECT_TRUE(output.read_to_eof(10));
  int status = server->wait(10);
  double elapsed = now() - start;
  std::printf("%s: exited %.3f s after SIGTERM with %zu clients connected\n", c.name.c_str(),
              elapsed, clients.size());
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
  EXPECT_LT(elapsed, 5.0);
  for (int fd : clients) close(fd);
  if (server->stdin_fd >= 0) {
    close(server->stdin_fd);
    server->stdin_fd = -1;
  }
  std::remove(kToken.c_str());
}

INSTANTIATE_TEST_SUITE_P(Examples, ServerShutdown, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ServerCase>& info) {
                           return info.param.name;
                         });

}  // namespace
