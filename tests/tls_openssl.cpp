// TLS with OpenSSL's own command-line peers (Debian's `openssl`, installed
// by scripts/bootstrap): aiocpp's client against `openssl s_server`, and
// `openssl s_client` against aiocpp's server, in TLS 1.2 and TLS 1.3, plain,
// with ALPN and with a client certificate. Each
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

// What a connection negotiated, as aiocpp's side saw it.
struct Negotiated {
  std::string version;
  std::optional<std::string> alpn;
  std::string peercert;  // DER; empty when the peer sent none
};

Negotiated negotiated(Transport& transport) {
  auto ssl = std::any_cast<SSLObject>(transport.get_extra_info("ssl_object"));
  return {ssl.version(), ssl.selected_alpn_protocol(), ssl.getpeercert_der()};
}

// `openssl s_server -rev` (which answers each line reversed) for one
// connection, with `extra` arguments; its port, or 0 when it did not start.
struct SServer {
  std::unique_ptr<ChildProcess> child;
  std::unique_ptr<Output> output;
  int port = 0;
  explicit SServer(const std::vector<std::string>& extra) {
    const Certificates& certs = Certificates::get();
    std::vector<std::string> argv = {"/usr/bin/openssl",
                                     "s_server",
                                     "-accept",
                                     "127.0.0.1:0",
                                     "-cert",
                                     certs.server_cert,
                                     "-key",
                                     certs.server_key,
                                     "-rev",
                                     "-naccept",
                                     "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child = spawn(argv);
    output = std::make_unique<Output>(*child);
    std::string found = output->wait_for(std::regex(R"(ACCEPT 127\.0\.0\.1:(\d+))"), 10);
    if (!found.empty()) port = std::stoi(found);
  }
};

// aiocpp's client (over `context`) sends a line to s_server, then closes
// with close_notify.
Task<void> talk_to_s_server(EventLoop& loop, int port, std::shared_ptr<SSLContext> context,
                            std::string* answer, Negotiated* seen) {
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto factory = [&] { return std::make_shared<TLSCollector>(13, done, lost); };
  ConnectionOptions options;
  options.ssl = std::move(context);
  options.server_hostname = "localhost";
  auto connection = co_await loop.create_connection(factory, "127.0.0.1", port, options);
  *seen = negotiated(*connection.transport);
  connection.transport->write("hello aiocpp\n");
  *answer = co_await done;
  connection.transport->close();
  co_await lost;  // null: a clean close
}

TEST_P(TLSOpenSSLTest, AiocppClientToOpenSSLServer) {
  SServer server({GetParam().flag});
  ASSERT_NE(server.port, 0) << server.output->text();
  std::string answer;
  Negotiated seen;
  run(talk_to_s_server(*loop_, server.port, client_context(), &answer, &seen), 20);
  EXPECT_EQ(answer, "ppcoia olleh\n");
  EXPECT_EQ(seen.version, GetParam().name);
  EXPECT_EQ(server.child->wait(), 0) << server.output->text();  // -naccept 1: done after us
}

// Echoes the first data, notes what was negotiated, closes (seed 004's server).
struct EchoOnceAndClose : Protocol {
  Negotiated* seen;
  Transport* transport = nullptr;
  explicit EchoOnceAndClose(Negotiated* s) : seen(s) {}
  void connection_made(Transport& t) override {
    transport = &t;
    *seen = negotiated(t);
  }
  void data_received(std::string_view data) override {
    transport->write(data);
    transport->close();
  }
};

// `openssl s_client` with `extra` arguments against aiocpp's server over
// `context`; returns what s_client printed.
Task<void> serve_s_client(EventLoop& loop, std::shared_ptr<SSLContext> context,
                          std::vector<std::string> extra, std::string* printed, Negotiated* seen) {
  auto factory = [seen] { return std::make_shared<EchoOnceAndClose>(seen); };
  ServerOptions options;
  options.ssl = std::move(context);
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
  int port = server->sockets().at(0).getsockname().port();
  // -quiet: only the application's data on stdout, and stdin's end does not
  // end the connection (the server's close_notify does).
  std::vector<std::string> argv = {"/usr/bin/openssl",
                                   "s_client",
                                   "-connect",
                                   "127.0.0.1:" + std::to_string(port),
                                   "-CAfile",
                                   Certificates::get().ca,
                                   "-verify_return_error",
                                   "-verify_hostname",
                                   "localhost",
                                   "-servername",
                                   "localhost",
                                   "-quiet"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  *printed = co_await client_output(loop, argv, "hello from s_client\n");
  server->close();
  co_await server->wait_closed();
}

TEST_P(TLSOpenSSLTest, OpenSSLClientToAiocppServer) {
  std::string printed;
  Negotiated seen;
  run(serve_s_client(*loop_, server_context(), {GetParam().flag}, &printed, &seen), 20);
  EXPECT_NE(printed.find("hello from s_client\n"), std::string::npos) << printed;
  EXPECT_EQ(seen.version, GetParam().name);
}

// ALPN: s_server picks from what aiocpp's client offers, and aiocpp's
// server picks from what s_client offers.
TEST_P(TLSOpenSSLTest, AlpnWithOpenSSLServer) {
  SServer server({GetParam().flag, "-alpn", "http/1.1"});
  ASSERT_NE(server.port, 0) << server.output->text();
  auto context = client_context();
  context->set_alpn_protocols({"h2", "http/1.1"});
  std::string answer;
  Negotiated seen;
  run(talk_to_s_server(*loop_, server.port, context, &answer, &seen), 20);
  EXPECT_EQ(answer, "ppcoia olleh\n");
  EXPECT_EQ(seen.alpn, "http/1.1");
  EXPECT_EQ(server.child->wait(), 0) << server.output->text();
}

TEST_P(TLSOpenSSLTest, AlpnWithOpenSSLClient) {
  auto context = server_context();
  context->set_alpn_protocols({"h2"});
  std::string printed;
  Negotiated seen;
  run(serve_s_client(*loop_, context, {GetParam().flag, "-alpn", "http/1.1,h2"}, &printed, &seen),
      20);
  EXPECT_NE(printed.find("hello from s_client\n"), std::string::npos) << printed;
  EXPECT_EQ(seen.alpn, "h2");
}

// Client certificates: s_client presents one to aiocpp's server, which
// requires it; aiocpp's client presents one to `s_server -Verify 1`.
TEST_P(TLSOpenSSLTest, OpenSSLClientPresentsACertificate) {
  const Certificates& certs = Certificates::get();
  auto context = server_context();
  context->load_verify_locations(certs.ca);
  context->set_verify_mode(VerifyMode::CERT_REQUIRED);
  std::string printed;
  Negotiated seen;
  std::vector<std::string> extra = {GetParam().flag, "-cert", certs.client_cert, "-key",
                                    certs.client_key};
  run(serve_s_client(*loop_, context, extra, &printed, &seen), 20);
  EXPECT_NE(printed.find("hello from s_client\n"), std::string::npos) << printed;
  EXPECT_FALSE(seen.peercert.empty()) << "the server saw no client certificate";
}

TEST_P(TLSOpenSSLTest, AiocppClientPresentsACertificate) {
  const Certificates& certs = Certificates::get();
  SServer server({GetParam().flag, "-Verify", "1", "-CAfile", certs.ca, "-verify_return_error"});
  ASSERT_NE(server.port, 0) << server.output->text();
  auto context = client_context();
  context->load_cert_chain(certs.client_cert, certs.client_key);
  std::string answer;
  Negotiated seen;
  run(talk_to_s_server(*loop_, server.port, context, &answer, &seen), 20);
  EXPECT_EQ(answer, "ppcoia olleh\n");
  EXPECT_EQ(server.child->wait(), 0) << server.output->text();
  server.output->read_to_eof();
  // s_server prints the chain it verified.
  EXPECT_NE(server.output->text().find("CN = aiocpp-client"), std::string::npos)
      << server.output->text();
}

}  // namespace
