// TLS failures, each reaching the awaiting call or connection_lost with an
// error that names it: an untrusted certificate, a wrong host name, a
// handshake that never ends, a peer speaking plaintext, a close without
// close_notify. Bounded in time, no descriptor left behind.

#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

class TLSErrorTest : public LoopTest {};

int port_of(const std::shared_ptr<Server>& server) {
  return server->sockets().at(0).getsockname().port();
}

// Connects with `context` to a TLS server over `server_ctx`, returning the
// exception create_connection threw (null if none).
Task<std::exception_ptr> failed_connect(EventLoop& loop, std::shared_ptr<SSLContext> server_ctx,
                                        std::shared_ptr<SSLContext> context, std::string hostname) {
  auto factory = [] { return std::make_shared<TLSEcho>(); };
  ServerOptions server_options;
  server_options.ssl = std::move(server_ctx);
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0, server_options);
  ConnectionOptions options;
  options.ssl = std::move(context);
  options.server_hostname = hostname;
  std::exception_ptr error;
  try {
    auto client = [] { return std::make_shared<TLSEcho>(); };
    auto connection =
        co_await loop.create_connection(client, "127.0.0.1", port_of(server), options);
    connection.transport->abort();
  } catch (...) {
    error = std::current_exception();
  }
  server->close();
  co_await server->wait_closed();
  co_return error;
}

TEST_F(TLSErrorTest, UntrustedCertificateIsACertVerificationError) {
  auto untrusted = SSLContext::create_default_context(Purpose::CLIENT_AUTH);
  untrusted->load_cert_chain(Certificates::get().self_signed_cert,
                             Certificates::get().self_signed_key);
  std::exception_ptr error = run(failed_connect(*loop_, untrusted, client_context(), "localhost"));
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SSLCertVerificationError& e) {
    EXPECT_EQ(e.reason(), "CERTIFICATE_VERIFY_FAILED");
    EXPECT_NE(std::string(e.what()).find("self-signed certificate"), std::string::npos) << e.what();
  }
}

TEST_F(TLSErrorTest, WrongHostNameIsACertVerificationError) {
  std::exception_ptr error =
      run(failed_connect(*loop_, server_context(), client_context(), "example.com"));
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SSLCertVerificationError& e) {
    EXPECT_NE(std::string(e.what()).find("hostname mismatch"), std::string::npos) << e.what();
  }
}

TEST_F(TLSErrorTest, MisusedArgumentsAreValueErrors) {
  auto task = [](EventLoop& loop) -> Task<void> {
    auto client = [] { return std::make_shared<TLSEcho>(); };
    ConnectionOptions no_host;
    no_host.ssl = client_context();
    no_host.sock = 0;  // never reached
    EXPECT_THROW(co_await loop.create_connection(client, no_host), ValueError);
    ConnectionOptions plain;
    plain.ssl_handshake_timeout = 1.0;
    EXPECT_THROW(co_await loop.create_connection(client, "127.0.0.1", 1, plain), ValueError);
  };
  run(task(*loop_));
}

// A plain server that says nothing (or `greeting`) and keeps the socket open.
struct Silent : Protocol {
  std::string greeting;
  explicit Silent(std::string g) : greeting(std::move(g)) {}
  void connection_made(Transport& t) override {
    if (!greeting.empty()) t.write(greeting);
  }
};

Task<std::exception_ptr> connect_to_plain(EventLoop& loop, std::string greeting, double timeout) {
  auto factory = [greeting] { return std::make_shared<Silent>(greeting); };
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0);
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  options.ssl_handshake_timeout = timeout;
  std::exception_ptr error;
  try {
    auto client = [] { return std::make_shared<TLSEcho>(); };
    auto connection =
        co_await loop.create_connection(client, "127.0.0.1", port_of(server), options);
    connection.transport->abort();
  } catch (...) {
    error = std::current_exception();
  }
  server->abort_clients();
  server->close();
  co_await server->wait_closed();
  co_return error;
}

TEST_F(TLSErrorTest, HandshakeTimeoutAbortsTheConnection) {
  std::exception_ptr error = run(connect_to_plain(*loop_, "", 0.2));
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNABORTED);
    EXPECT_NE(std::string(e.what()).find("SSL handshake is taking longer than 0.2 seconds"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(TLSErrorTest, PeerSpeakingPlaintextIsAnSSLError) {
  std::exception_ptr error = run(connect_to_plain(*loop_, "HTTP/1.1 400 Bad Request\r\n\r\n", 5));
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SSLError& e) {
    EXPECT_EQ(e.reason(), "WRONG_VERSION_NUMBER") << e.what();
  }
}

// The server's application aborts: the TCP connection ends without
// close_notify, which the client reports as an SSLError (a truncation).
struct AbortOnData : Protocol {
  Transport* transport = nullptr;
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view) override { transport->abort(); }
};

Task<std::exception_ptr> lost_without_close_notify(EventLoop& loop) {
  auto factory = [] { return std::make_shared<AbortOnData>(); };
  ServerOptions server_options;
  server_options.ssl = server_context();
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0, server_options);
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto client = [&] { return std::make_shared<TLSCollector>(1, done, lost); };
  ConnectionOptions options;
  options.ssl = client_context();
  auto connection = co_await loop.create_connection(client, "localhost", port_of(server), options);
  connection.transport->write("bye");
  std::exception_ptr error;
  try {
    co_await lost;
  } catch (...) {
    error = std::current_exception();
  }
  try {
    co_await done;
  } catch (...) {
  }
  server->close();
  co_await server->wait_closed();
  co_return error;
}

TEST_F(TLSErrorTest, CloseWithoutCloseNotifyIsAnSSLError) {
  std::exception_ptr error = run(lost_without_close_notify(*loop_));
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SSLError& e) {
    EXPECT_EQ(e.reason(), "UNEXPECTED_EOF_WHILE_READING") << e.what();
  }
}

}  // namespace

namespace {

TEST_F(TLSErrorTest, ExpiredCertificateIsACertVerificationError) {
  auto expired = SSLContext::create_default_context(Purpose::CLIENT_AUTH);
  expired->load_cert_chain(Certificates::get().expired_cert, Certificates::get().expired_key);
  std::exception_ptr error = run(failed_connect(*loop_, expired, client_context(), "localhost"));
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SSLCertVerificationError& e) {
    EXPECT_EQ(e.reason(), "CERTIFICATE_VERIFY_FAILED");
    EXPECT_EQ(e.verify_code(), 10);  // X509_V_ERR_CERT_HAS_EXPIRED
    EXPECT_NE(std::string(e.what()).find("certificate has expired"), std::string::npos) << e.what();
  }
}

}  // namespace
