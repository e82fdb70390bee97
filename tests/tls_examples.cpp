// The TLS examples against each other: tls_echo_client talks to
// tls_echo_server with certificates made at run time, prints what seed 004's
// client prints, and refuses a server it cannot verify.

#include <signal.h>

#include <regex>
#include <string>

#include "child_output.hpp"
#include "tls_helpers.hpp"

namespace {

using namespace aiocpp::testing;

std::string example_path(const std::string& name) {
  return std::string(AIOCPP_EXAMPLES_DIR) + "/" + name;
}

class TLSExamplesTest : public ::testing::Test {
 protected:
  FdLeakCheck fd_check_;
};

// Starts tls_echo_server on a kernel-chosen port; returns its port.
int start_server(std::unique_ptr<ChildProcess>& server, Output*& output,
                 std::unique_ptr<Output>& holder) {
  const Certificates& certs = Certificates::get();
  server = spawn({example_path("tls_echo_server"), "--cert", certs.server_cert, "--key",
                  certs.server_key, "--port", "0"});
  holder = std::make_unique<Output>(*server);
  output = holder.get();
  std::string port = output->wait_for(std::regex(R"(Serving on \('127\.0\.0\.1', (\d+)\))"), 10);
  return port.empty() ? -1 : std::stoi(port);
}

TEST_F(TLSExamplesTest, ClientEchoesThroughServer) {
  std::unique_ptr<ChildProcess> server;
  std::unique_ptr<Output> holder;
  Output* output = nullptr;
  int port = start_server(server, output, holder);
  ASSERT_GT(port, 0) << output->text();

  auto client = spawn({example_path("tls_echo_client"), "--cafile", Certificates::get().ca,
                       "--host", "127.0.0.1", "--port", std::to_string(port)});
  std::string printed = client->read_all(10);
  int status = client->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status) << "\n" << printed;
  // The seed's three lines, the last one only after a clean TLS close.
  EXPECT_EQ(printed,
            "Data sent: 'Hello World!'\n"
            "Data received: 'Hello World!'\n"
            "The server closed the connection\n");
  EXPECT_TRUE(output->wait_for("Close the client socket", 10)) << output->text();
  EXPECT_NE(output->text().find("Data received: 'Hello World!'"), std::string::npos);

  ::kill(server->pid, SIGTERM);
  status = server->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status) << "\n" << output->text();
}

TEST_F(TLSExamplesTest, ClientRefusesAnUntrustedServer) {
  std::unique_ptr<ChildProcess> server;
  std::unique_ptr<Output> holder;
  Output* output = nullptr;
  int port = start_server(server, output, holder);
  ASSERT_GT(port, 0) << output->text();

  // No --cafile: the system's CAs, which never signed the test CA.
  auto client = spawn({example_path("tls_echo_client"), "--port", std::to_string(port)});
  std::string printed = client->read_all(10);
  int status = client->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << describe_status(status);
  EXPECT_NE(printed.find("Error: [SSL: CERTIFICATE_VERIFY_FAILED]"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("Data received"), std::string::npos) << printed;

  ::kill(server->pid, SIGTERM);
  status = server->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status) << "\n" << output->text();
}

TEST_F(TLSExamplesTest, HelpNamesTheTLSOptions) {
  auto server = spawn({example_path("tls_echo_server"), "--help"});
  std::string help = server->read_all(10);
  EXPECT_EQ(server->wait(), 0);
  EXPECT_NE(help.find("--cert FILE"), std::string::npos) << help;
  EXPECT_NE(help.find("--key FILE"), std::string::npos) << help;
  auto client = spawn({example_path("tls_echo_client"), "--help"});
  help = client->read_all(10);
  EXPECT_EQ(client->wait(), 0);
  EXPECT_NE(help.find("--cafile FILE"), std::string::npos) << help;
  // Without a certificate the server refuses to start, as argparse would.
  auto bare = spawn({example_path("tls_echo_server"), "--port", "0"});
  std::string printed = bare->read_all(10);
  EXPECT_EQ(WEXITSTATUS(bare->wait()), 2) << printed;
  EXPECT_NE(printed.find("--cert is required"), std::string::npos) << printed;
}

}  // namespace
