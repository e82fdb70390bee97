// poem_server reads the keyboard through the loop: while one client waits
// for a line of stdin, the others are served.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "child_output.hpp"
#include "test_support.hpp"

namespace {

using aiocpp::testing::describe_status;
using aiocpp::testing::exited_cleanly;
using aiocpp::testing::FdLeakCheck;
using aiocpp::testing::Output;

std::string example_path(const std::string& name) {
  return std::string(AIOCPP_EXAMPLES_DIR) + "/" + name;
}

// What the server sends next (one recv, bounded by SO_RCVTIMEO).
std::string receive(int fd) {
  char buf[256];
  ssize_t n = aiocpp::testing::recv_retrying(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

TEST(PoemServer, OtherClientsAreServedWhileOneWaitsForTheKeyboard) {
  FdLeakCheck fds;
  if (access(example_path("poem_server").c_str(), X_OK) != 0) GTEST_SKIP();
  auto server = aiocpp::testing::spawn({example_path("poem_server"), "--port", "0"}, true);
  Output output(*server);
  std::string port_text = output.wait_for(std::regex(R"(Serving on \('127\.0\.0\.1', (\d+)\))"));
  ASSERT_FALSE(port_text.empty()) << output.text();
  int port = std::stoi(port_text);

  // The first client sends the poem's last line: the answer must come from stdin,
  // which stays open with nothing written.
  int waiting = aiocpp::testing::connect_loopback(port);
  const std::string last = "相见更无因";
  ASSERT_EQ(send(waiting, last.data(), last.size(), 0), static_cast<ssize_t>(last.size()));
  ASSERT_TRUE(output.wait_for("input the message:")) << output.text();

  // Meanwhile a second client is served.
  int other = aiocpp::testing::connect_loopback(port);
  const std::string first = "记得那年花下";
  ASSERT_EQ(send(other, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  EXPECT_EQ(receive(other), "深夜");

  // The keyboard's line goes to the client that asked.
  const std::string typed = "再见\n";
  ASSERT_EQ(write(server->stdin_fd, typed.data(), typed.size()),
            static_cast<ssize_t>(typed.size()));
  EXPECT_EQ(receive(waiting), "再见");

  close(waiting);
  close(other);
  kill(server->pid, SIGTERM);
  EXPECT_TRUE(output.read_to_eof());
  int status = server->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status) << "\n" << output.text();
  close(server->stdin_fd);
  server->stdin_fd = -1;
}

}  // namespace
