// Bad input from the network against an aiocpp TLS server: garbage instead
// of a ClientHello, a plaintext HTTP request, an alert before and after the
// handshake, a record larger than TLS allows, a record cut short by the FIN,
// data after close_notify, and a valid session whose every byte arrives in a
// write of its own (which must work). Each bad connection ends, within a
// bounded time, with an SSLError naming OpenSSL's reason while a concurrent
// well-behaved client on the same server keeps being served; no descriptor
// is left behind (LoopTest's check).
//
// The server side is connect_accepted_socket(ssl=...), whose awaiting call
// (or the protocol's connection_lost) receives the error, so the test can
// assert on the reason; a create_server(ssl=...) server takes every attack
// in turn at the end. The attacker is OpenSSL on memory BIOs over a raw
// socket, so it can send what a sound TLS stack never would.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

constexpr double kTimeout = 5.0;

// A TLS client on OpenSSL's memory BIOs over a non-blocking socket: what it
// sends is whatever the test hands to send(), records or not.
class RawTLSClient {
 public:
  explicit RawTLSClient(EventLoop& loop)
      : loop_(loop),
        fd_(detail::make_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
  }
  ~RawTLSClient() {
    SSL_free(ssl_);  // frees both BIOs
    SSL_CTX_free(ctx_);
  }
  RawTLSClient(const RawTLSClient&) = delete;
  RawTLSClient& operator=(const RawTLSClient&) = delete;

  int fd() const { return fd_.get(); }
  SSL* ssl() const { return ssl_; }

  Task<void> connect(int port) { co_await loop_.sock_connect(fd_.get(), "127.0.0.1", port); }

  // What OpenSSL has written and not yet sent.
  std::string take_output() {
    char* data = nullptr;
    long size = BIO_get_mem_data(out_, &data);
    std::string bytes(data, static_cast<std::size_t>(std::max(size, 0L)));
    (void)BIO_reset(out_);
    return bytes;
  }

  // Sends `bytes` whole, or one byte per write, each after a turn of the
  // loop so that the server reads them one at a time.
  Task<void> send(std::string bytes, bool bytewise = false) {
    if (!bytewise) {
      co_await loop_.sock_sendall(fd_.get(), std::move(bytes));
      co_return;
    }
    for (char c : bytes) {
      std::string one(1, c);
      co_await loop_.sock_sendall(fd_.get(), std::move(one));
      co_await sleep(0);
    }
  }

  // Receives into the incoming BIO; false on EOF.
  Task<bool> receive() {
    std::string data = co_await loop_.sock_recv(fd_.get(), 65536);
    if (data.empty()) co_return false;
    BIO_write(in_, data.data(), static_cast<int>(data.size()));
    co_return true;
  }

  Task<void> handshake(bool bytewise = false) {
    for (;;) {
      int result = SSL_do_handshake(ssl_);
      co_await send(take_output(), bytewise);
      if (result == 1) co_return;
      if (SSL_get_error(ssl_, result) != SSL_ERROR_WANT_READ) {
        throw std::runtime_error("test client's handshake failed");
      }
      if (!co_await receive()) throw std::runtime_error("EOF during the test client's handshake");
    }
  }

  // `text` as application data records.
  std::string seal(std::string_view text) {
    SSL_write(ssl_, text.data(), static_cast<int>(text.size()));
    return take_output();
  }

  // Sends `text` and reads back as many bytes (from an echo server).
  Task<std::string> echo(std::string text, bool bytewise = false) {
    co_await send(seal(text), bytewise);
    std::string got;
    char buffer[4096];
    while (got.size() < text.size()) {
      int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) {
        got.append(buffer, static_cast<std::size_t>(n));
      } else if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ || !co_await receive()) {
        throw std::runtime_error("test client: the echo did not come back");
      }
    }
    co_return got;
  }

  // The application data that arrives until the server's close_notify or
  // the connection's end.
  Task<std::string> read_to_end() {
    std::string got;
    char buffer[4096];
    for (;;) {
      int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) {
        got.append(buffer, static_cast<std::size_t>(n));
      } else if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ || !co_await receive()) {
        co_return got;
      }
    }
  }

  // Reads (and drops) until the server closes or resets the connection.
  Task<void> until_closed() {
    try {
      while (!(co_await loop_.sock_recv(fd_.get(), 65536)).empty()) {
      }
    } catch (const std::system_error&) {
      // ECONNRESET: the server aborted, which ends the connection as well.
    }
  }

 private:
  EventLoop& loop_;
  detail::UniqueFd fd_;
  SSL_CTX* ctx_ = SSL_CTX_new(TLS_client_method());
  SSL* ssl_ = SSL_new(ctx_);
  BIO* in_ = BIO_new(BIO_s_mem());   // owned by ssl_
  BIO* out_ = BIO_new(BIO_s_mem());  // owned by ssl_
};

// --- The attacks --------------------------------------------------------------------
// Each sends its bad input on a connected client; the server is to end the
// connection with `reason` (empty: ends it cleanly, without an error).

struct Attack {
  const char* name;
  Task<void> (*run)(RawTLSClient&);
  const char* reason;
};

// A record header: content type, TLS 1.2's version, length.
std::string record_header(unsigned char type, std::size_t length) {
  return {static_cast<char>(type), 3, 3, static_cast<char>(length >> 8),
          static_cast<char>(length & 0xff)};
}

Task<void> garbage_hello(RawTLSClient& client) {
  std::string garbage;
  for (int i = 0; i < 64; ++i) garbage += static_cast<char>(i * 37 + 11);
  co_await client.send(garbage);
}

Task<void> http_request(RawTLSClient& client) {
  co_await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

// A fatal (2) handshake_failure (40) alert record, in clear.
std::string fatal_alert() { return record_header(21, 2) + std::string{2, 40}; }

// The alert instead of a ClientHello: not a message the server can expect.
Task<void> alert_instead_of_hello(RawTLSClient& client) { co_await client.send(fatal_alert()); }

// The alert in answer to the server's first flight, as a client that
// rejects the server's certificate sends it (TLS 1.3 allows it in clear
// there): the server reports the alert.
Task<void> alert_during_handshake(RawTLSClient& client) {
  SSL_do_handshake(client.ssl());
  co_await client.send(client.take_output());  // the ClientHello
  co_await client.receive();                   // the ServerHello, at least
  co_await client.send(fatal_alert());
}

// The alert after the handshake, as one on the path (who has
// no keys) would inject it.
Task<void> alert_after_handshake(RawTLSClient& client) {
  co_await client.handshake();
  co_await client.send(fatal_alert());
}

// An application data record of 20 KiB: TLS allows 16 KiB plus 256 bytes of
// expansion (RFC 8446, 5.2); OpenSSL refuses its header (record_overflow).
Task<void> huge_record(RawTLSClient& client) {
  co_await client.handshake();
  constexpr std::size_t length = 20 * 1024;
  co_await client.send(record_header(23, length) + std::string(length, 'x'));
}

// A record less its last 5 bytes, then the FIN.
Task<void> truncated_record(RawTLSClient& client) {
  co_await client.handshake();
  std::string record = client.seal("never seen whole");
  record.resize(record.size() - 5);
  co_await client.send(record);
  ::shutdown(client.fd(), SHUT_WR);
}

// close_notify, then a record: RFC 8446 (6.1) says to ignore data after
// it, so it is neither delivered (echoed) nor an error: the connection ends
// cleanly.
Task<void> data_after_close_notify(RawTLSClient& client) {
  co_await client.handshake();
  SSL_shutdown(client.ssl());
  std::string close_notify = client.take_output();
  SSL_set_shutdown(client.ssl(), 0);  // OpenSSL then seals more, in sequence
  std::string data = client.seal("after the end");
  co_await client.send(close_notify + data);
  std::string echoed = co_await client.read_to_end();
  EXPECT_EQ(echoed, "") << "data after close_notify was delivered";
}

// Not an attack: a valid session whose every byte comes in a write of its
// own, which must work; the client then closes with close_notify.
Task<void> bytewise_session(RawTLSClient& client) {
  co_await client.handshake(true);
  std::string echoed = co_await client.echo("one byte at a time", true);
  EXPECT_EQ(echoed, "one byte at a time");
  SSL_shutdown(client.ssl());
  co_await client.send(client.take_output(), true);
}

const Attack kAttacks[] = {
    {"GarbageInsteadOfClientHello", garbage_hello, "WRONG_VERSION_NUMBER"},
    {"PlaintextHTTPRequest", http_request, "HTTP_REQUEST"},
    {"AlertInsteadOfClientHello", alert_instead_of_hello, "UNEXPECTED_MESSAGE"},
    {"AlertDuringHandshake", alert_during_handshake, "SSLV3_ALERT_HANDSHAKE_FAILURE"},
    {"AlertAfterHandshake", alert_after_handshake, "BAD_RECORD_TYPE"},
    {"HugeRecord", huge_record, "PACKET_LENGTH_TOO_LONG"},
    {"TruncatedRecordThenEOF", truncated_record, "UNEXPECTED_EOF_WHILE_READING"},
    {"DataAfterCloseNotify", data_after_close_notify, ""},
    {"OneBytePieces", bytewise_session, ""},
};

// --- The server ---------------------------------------------------------------------

// Echoes, and completes `lost` with how the connection ended.
struct EchoUntilLost : TLSEcho {
  Future<void> lost;
  explicit EchoUntilLost(Future<void> f) : lost(std::move(f)) {}
  void connection_lost(std::exception_ptr error) override {
    if (error) {
      lost.set_exception(error);
    } else {
      lost.set_result();
    }
  }
};

// Serves the accepted `sock` with TLS; returns how the connection ended:
// the error of the handshake or of connection_lost, or null.
Task<std::exception_ptr> serve_tls(EventLoop& loop, int sock) {
  Future<void> lost = loop.create_future<void>();
  auto factory = [lost] { return std::make_shared<EchoUntilLost>(lost); };
  AcceptedSocketOptions options;
  options.ssl = server_context();
  options.ssl_handshake_timeout = kTimeout;
  try {
    co_await loop.connect_accepted_socket(factory, sock, options);
    co_await lost;
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

// Connects `client` to `listener` and serves the server's end with TLS.
Task<Task<std::exception_ptr>> connect_served(EventLoop& loop, int listener, int port,
                                              RawTLSClient& client) {
  Task<std::pair<int, SocketAddress>> accepting = loop.create_task(loop.sock_accept(listener));
  co_await client.connect(port);
  std::pair<int, SocketAddress> accepted = co_await accepting;
  co_return loop.create_task(serve_tls(loop, accepted.first));
}

std::string reason_of(const std::exception_ptr& error) {
  if (!error) return "";
  try {
    std::rethrow_exception(error);
  } catch (const SSLError& e) {
    return e.reason();
  } catch (const std::exception& e) {
    return std::string("not an SSLError: ") + e.what();
  }
}

// A well-behaved client and `attack` on one server, concurrently. Returns
// the reason the attacked connection ended with.
Task<std::string> under_attack(EventLoop& loop, const Attack& attack) {
  detail::UniqueFd listener = detail::make_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  SocketAddress any = SocketAddress::from_ip("127.0.0.1", 0);
  if (::bind(listener.get(), any.data(), any.size()) != 0 || ::listen(listener.get(), 8) != 0) {
    throw std::system_error(errno, std::generic_category(), "bind/listen");
  }
  SocketAddress bound;
  bound.set_size(SocketAddress::capacity());
  socklen_t length = SocketAddress::capacity();
  ::getsockname(listener.get(), bound.data(), &length);
  bound.set_size(length);
  int port = bound.port();

  RawTLSClient good(loop);
  Task<std::exception_ptr> good_served = co_await connect_served(loop, listener.get(), port, good);
  co_await good.handshake();
  std::string before = co_await good.echo("before");
  EXPECT_EQ(before, "before");

  RawTLSClient bad(loop);
  Task<std::exception_ptr> bad_served = co_await connect_served(loop, listener.get(), port, bad);
  co_await attack.run(bad);
  std::exception_ptr error = co_await wait_for(bad_served, kTimeout);
  co_await wait_for(bad.until_closed(), kTimeout);  // the server closed its end

  std::string after = co_await good.echo("after");
  EXPECT_EQ(after, "after") << "the other client is still served";
  SSL_shutdown(good.ssl());
  co_await good.send(good.take_output());
  std::exception_ptr good_error = co_await wait_for(good_served, kTimeout);
  EXPECT_EQ(reason_of(good_error), "");
  co_return reason_of(error);
}

class TLSBadInputTest : public LoopTest, public ::testing::WithParamInterface<Attack> {};

TEST_P(TLSBadInputTest, EndsThatConnectionOnly) {
  const Attack& attack = GetParam();
  EXPECT_EQ(run(under_attack(*loop_, attack), 20), attack.reason);
}

INSTANTIATE_TEST_SUITE_P(Attacks, TLSBadInputTest, ::testing::ValuesIn(kAttacks),
                         [](const ::testing::TestParamInfo<Attack>& info) {
                           return std::string(info.param.name);
                         });

// create_server(ssl=...) takes every attack in turn, one client echoing
// throughout, and each bad connection is closed.
Task<void> server_outlives_attacks(EventLoop& loop) {
  auto factory = [] { return std::make_shared<TLSEcho>(); };
  ServerOptions options;
  options.ssl = server_context();
  options.ssl_handshake_timeout = kTimeout;
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
  int port = server->sockets().at(0).getsockname().port();
  RawTLSClient good(loop);
  co_await good.connect(port);
  co_await good.handshake();
  for (const Attack& attack : kAttacks) {
    RawTLSClient bad(loop);
    co_await bad.connect(port);
    co_await attack.run(bad);
    co_await wait_for(bad.until_closed(), kTimeout);
    std::string text = attack.name;
    std::string echoed = co_await good.echo(text);
    EXPECT_EQ(echoed, text) << "after " << attack.name;
  }
  server->close();
  server->abort_clients();
  co_await server->wait_closed();
}

class TLSServerUnderAttackTest : public LoopTest {};

TEST_F(TLSServerUnderAttackTest, CreateServerOutlivesEveryAttack) {
  run(server_outlives_attacks(*loop_), 60);
}

}  // namespace
