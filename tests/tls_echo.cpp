// TLS between two aiocpp endpoints: echo over TCP and Unix sockets, Protocol
// and BufferedProtocol, TLS 1.2 and 1.3, ALPN, a client certificate, the
// transport's extra info, and start_tls in the middle of a plaintext talk.

#include <unistd.h>

#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

class TLSEchoTest : public LoopTest {};

int port_of(const std::shared_ptr<Server>& server) {
  return server->sockets().at(0).getsockname().port();
}

// A BufferedProtocol echo: TLS decrypts straight into its buffer.
struct BufferedEcho : BufferedProtocol {
  Transport* transport = nullptr;
  char buffer[1024];
  void connection_made(Transport& t) override { transport = &t; }
  std::span<char> get_buffer(std::size_t) override { return buffer; }
  void buffer_updated(std::size_t n) override { transport->write(std::string_view(buffer, n)); }
};

// Sends `message` over TLS to 127.0.0.1:port and returns the echo; checks
// the close is clean (close_notify both ways).
Task<std::string> echo_once(EventLoop& loop, int port, std::string message,
                            std::shared_ptr<SSLContext> context, std::string* version = nullptr,
                            std::optional<std::string>* alpn = nullptr) {
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  std::size_t size = message.size();
  auto factory = [&] { return std::make_shared<TLSCollector>(size, done, lost); };
  ConnectionOptions options;
  options.ssl = context;
  options.server_hostname = "localhost";
  auto [transport, protocol] = co_await loop.create_connection(factory, "127.0.0.1", port, options);
  auto object = std::any_cast<SSLObject>(transport->get_extra_info("ssl_object"));
  if (version) *version = object.version();
  if (alpn) *alpn = object.selected_alpn_protocol();
  EXPECT_FALSE(transport->can_write_eof());
  EXPECT_TRUE(std::any_cast<std::shared_ptr<SSLContext>>(transport->get_extra_info("sslcontext")) ==
              context);
  EXPECT_FALSE(std::any_cast<std::string>(transport->get_extra_info("peercert")).empty());
  EXPECT_EQ(transport->peername().port(), port);
  transport->write(message);
  std::string got = co_await done;
  transport->close();
  EXPECT_TRUE(transport->is_closing());
  co_await lost;  // null: a clean TLS shutdown
  co_return got;
}

TEST_F(TLSEchoTest, TcpEchoWithProtocol) {
  auto task = [](EventLoop& loop) -> Task<void> {
    auto factory = [] { return std::make_shared<TLSEcho>(); };
    ServerOptions options;
    options.ssl = server_context();
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
    std::string message = byte_pattern(100000);
    std::string got = co_await echo_once(loop, port_of(server), message, client_context());
    EXPECT_EQ(got, message);
    server->close();
    co_await server->wait_closed();
  };
  run(task(*loop_));
}

TEST_F(TLSEchoTest, UnixEchoWithBufferedProtocol) {
  auto task = [](EventLoop& loop) -> Task<void> {
    std::string path = "/tmp/aiocpp-tls-" + std::to_string(::getpid()) + ".sock";
    auto factory = [] { return std::make_shared<BufferedEcho>(); };
    UnixServerOptions server_options;
    server_options.ssl = server_context();
    auto server = co_await loop.create_unix_server(factory, path, server_options);
    Future<std::string> done = loop.create_future<std::string>();
    Future<void> lost = loop.create_future<void>();
    auto client = [&] { return std::make_shared<TLSCollector>(5, done, lost); };
    UnixConnectionOptions options;
    options.ssl = client_context();
    options.server_hostname = "localhost";
    auto [transport, protocol] = co_await loop.create_unix_connection(client, path, options);
    transport->write("hello");
    EXPECT_EQ(co_await done, "hello");
    transport->close();
    co_await lost;
    server->close();
    co_await server->wait_closed();
  };
  run(task(*loop_));
}

TEST_F(TLSEchoTest, Tls12AndTls13) {
  auto task = [](EventLoop& loop, TLSVersion version) -> Task<std::string> {
    auto factory = [] { return std::make_shared<TLSEcho>(); };
    ServerOptions options;
    options.ssl = server_context();
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
    auto context = client_context();
    context->set_minimum_version(version);
    context->set_maximum_version(version);
    EXPECT_EQ(context->maximum_version(), version);
    std::string seen;
    EXPECT_EQ(co_await echo_once(loop, port_of(server), "twelve or thirteen", context, &seen),
              "twelve or thirteen");
    server->close();
    co_await server->wait_closed();
    co_return seen;
  };
  EXPECT_EQ(run(task(*loop_, TLSVersion::TLSv1_2)), "TLSv1.2");
  EXPECT_EQ(run(task(*loop_, TLSVersion::TLSv1_3)), "TLSv1.3");
}

TEST_F(TLSEchoTest, AlpnPicksTheServersFirstChoiceTheClientOffers) {
  auto task = [](EventLoop& loop) -> Task<std::optional<std::string>> {
    auto factory = [] { return std::make_shared<TLSEcho>(); };
    ServerOptions options;
    options.ssl = server_context();
    options.ssl->set_alpn_protocols({"h2", "http/1.1"});
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
    auto context = client_context();
    context->set_alpn_protocols({"http/1.1", "h2"});
    std::optional<std::string> alpn;
    co_await echo_once(loop, port_of(server), "alpn", context, nullptr, &alpn);
    server->close();
    co_await server->wait_closed();
    co_return alpn;
  };
  EXPECT_EQ(run(task(*loop_)), std::optional<std::string>("h2"));
}

// The server requires a client certificate and sees the client's.
TEST_F(TLSEchoTest, ClientCertificate) {
  struct PeerCert : TLSEcho {
    std::string* seen;
    explicit PeerCert(std::string* s) : seen(s) {}
    void connection_made(Transport& t) override {
      TLSEcho::connection_made(t);
      *seen = std::any_cast<std::string>(t.get_extra_info("peercert"));
    }
  };
  auto task = [](EventLoop& loop) -> Task<std::string> {
    std::string seen;
    auto factory = [&seen] { return std::make_shared<PeerCert>(&seen); };
    ServerOptions options;
    options.ssl = server_context();
    options.ssl->load_verify_locations(Certificates::get().ca);
    options.ssl->set_verify_mode(VerifyMode::CERT_REQUIRED);
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
    auto context = client_context();
    context->load_cert_chain(Certificates::get().client_cert, Certificates::get().client_key);
    EXPECT_EQ(co_await echo_once(loop, port_of(server), "it is me", context), "it is me");
    server->close();
    co_await server->wait_closed();
    co_return seen;
  };
  EXPECT_FALSE(run(task(*loop_)).empty());
}

TEST_F(TLSEchoTest, StartTlsInTheMiddleOfAPlaintextConversation) {
  auto task = [](EventLoop& loop) -> Task<void> {
    std::shared_ptr<StartTLSServer> server_protocol;
    auto factory = [&] {
      server_protocol = std::make_shared<StartTLSServer>(&loop, &server_protocol);
      return server_protocol;
    };
    auto server = co_await loop.create_server(factory, "127.0.0.1", 0);
    std::string echoed = co_await start_tls_client(loop, port_of(server), "secret");
    EXPECT_EQ(echoed, "secret");
    server->close();
    co_await server->wait_closed();
  };
  run(task(*loop_));
}

}  // namespace
