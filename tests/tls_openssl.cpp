// TLS with OpenSSL's own command-line peers (Debian's `openssl`, installed
// by scripts/bootstrap): aiocpp's client against `openssl s_server`, and
// `openssl s_client` against aiocpp's server, in TLS 1.2 and TLS 1.3. Each
// peer is a child process killed by its ChildProcess in every path.

#include <regex>

#include "child_output.hpp"
#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

// The openssl CLI forces the version; SSLObject::version() must agree.
struct Version {
  const char* flag;
  const char* name;
};
const Version kVersions[] = {{"-tls1_2", "TLSv1.2"}, {"-tls1_3", "TLSv1.3"}};
void PrintTo(const Version& v, std::ostream* os) { *os << v.name; }

class TLSOpenSSLTest : public LoopTest, public ::testing::WithParamInterface<Version> {};

INSTANTIATE_TEST_SUITE_P(Versions, TLSOpenSSLTest, ::testing::ValuesIn(kVersions),
                         [](const auto& info) { return std::string(info.param.flag + 1); });

// aiocpp's client sends a line to `s_server -rev` (which answers each line
// reversed), then closes with close_notify.
Task<void> talk_to_s_server(EventLoop& loop, int port, std::string* answer, std::string* version) {
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto factory = [&] { return std::make_shared<TLSCollector>(13, done, lost); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  auto connection = co_await loop.create_connection(factory, "127.0.0.1", port, options);
  *version = std::any_cast<SSLObject>(connection.transport->get_extra_info("ssl_object")).version();
  connection.transport->write("hello aiocpp\n");
  *answer = co_await done;
  connection.transport->close();
  co_await lost;  // null: a clean close
}

TEST_P(TLSOpenSSLTest, AiocppClientToOpenSSLServer) {
  const Certificates& certs = Certificates::get();
  auto server = spawn({"/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", certs.server_cert,
                       "-key", certs.server_key, GetParam().flag, "-rev", "-naccept", "1"});
  Output output(*server);
  std::string port = output.wait_for(std::regex(R"(ACCEPT 127\.0\.0\.1:(\d+))"), 10);
  ASSERT_FALSE(port.empty()) << output.text();
  std::string answer, version;
  run(talk_to_s_server(*loop_, std::stoi(port), &answer, &version), 20);
  EXPECT_EQ(answer, "ppcoia olleh\n");
  EXPECT_EQ(version, GetParam().name);
  EXPECT_EQ(server->wait(), 0) << output.text();  // -naccept 1: done after us
}

// Echoes the first data, notes the TLS version, closes (seed 004's server).
struct EchoOnceAndClose : Protocol {
  std::string* version;
  Transport* transport = nullptr;
  explicit EchoOnceAndClose(std::string* v) : version(v) {}
  void connection_made(Transport& t) override {
    transport = &t;
    *version = std::any_cast<SSLObject>(t.get_extra_info("ssl_object")).version();
  }
  void data_received(std::string_view data) override {
    transport->write(data);
    transport->close();
  }
};

Task<void> serve_s_client(EventLoop& loop, const char* flag, std::string* printed,
                          std::string* version) {
  auto factory = [version] { return std::make_shared<EchoOnceAndClose>(version); };
  ServerOptions options;
  options.ssl = server_context();
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
  int port = server->sockets().at(0).getsockname().port();
  // -quiet: only the application's data on stdout, and stdin's end does not
  // end the connection (the server's close_notify does).
  auto client = spawn({"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                       "-CAfile", Certificates::get().ca, "-verify_return_error",
                       "-verify_hostname", "localhost", "-servername", "localhost", flag, "-quiet"},
                      true);
  feed_stdin(*client, "hello from s_client\n");
  // The child's output is read while the loop serves it: wait in the executor.
  ChildProcess* raw = client.get();
  auto read = [raw] { return raw->read_all(10.0); };
  *printed = co_await loop.run_in_executor(nullptr, read);
  EXPECT_EQ(client->wait(), 0) << *printed;
  server->close();
  co_await server->wait_closed();
}

TEST_P(TLSOpenSSLTest, OpenSSLClientToAiocppServer) {
  std::string printed, version;
  run(serve_s_client(*loop_, GetParam().flag, &printed, &version), 20);
  EXPECT_NE(printed.find("hello from s_client\n"), std::string::npos) << printed;
  EXPECT_EQ(version, GetParam().name);
}

}  // namespace
