// libFuzzer target for the TLS record path (issue 13, item 8): arbitrary
// bytes arrive as the peer's side of a connection, through SSLProtocol, over
// a fake in-memory transport below. The first byte chooses
//   bit 0: our role (server or client);
//   bit 1: when the bytes come: during the handshake, or once a real
//          handshake with a well-behaved peer (another SSLProtocol) is done;
//   bit 2: in the established phase, whether the bytes are raw records or
//          the peer's plaintext, encrypted by it (so they reach the
//          application);
//   bit 3: whether the peer's EOF follows;
//   bit 4: whether our application closes at the end;
//   bits 5 and 6, both set: the established session comes from a full
//          handshake; otherwise the client resumes a session (a TLS 1.3
//          ticket) that a full handshake made once per process. Resumption
//          skips the certificate, its signature and its verification: an
//          established run costs 1.9 ms of CPU instead of 2.6 under ASan
//          (a run during the handshake, 0.35 ms); the records that follow
//          are the same either way.
// The rest is cut into pieces whose sizes the bytes themselves give, so a
// record split anywhere is tried too. Anything may fail; nothing may crash,
// leak or trip a sanitizer.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tls/ssl_protocol.hpp"
#include "tls/ssl_transport.hpp"
#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;

// Keeps what the protocol above writes; never fails, never calls back.
struct MemoryTransport final : Transport {
  std::shared_ptr<BaseProtocol> protocol;
  std::string written;
  bool closed = false;
  std::any get_extra_info(std::string_view, std::any d = {}) const override { return d; }
  bool is_closing() const override { return closed; }
  void close() override { closed = true; }
  void set_protocol(std::shared_ptr<BaseProtocol> p) override { protocol = std::move(p); }
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol; }
  bool is_reading() const override { return true; }
  void pause_reading() override {}
  void resume_reading() override {}
  void set_write_buffer_limits(std::optional<std::size_t>, std::optional<std::size_t>) override {}
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override { return {0, 0}; }
  std::size_t get_write_buffer_size() const override { return 0; }
  void write(std::string_view data) override { written += data; }
  void writelines(std::span<const std::string_view> chunks) override {
    for (auto c : chunks) written += c;
  }
  void write_eof() override {}
  bool can_write_eof() const override { return false; }
  void abort() override { closed = true; }
};

// The application: echoes, as a server would, so writes run too.
struct App : Protocol {
  Transport* transport = nullptr;
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override { transport->write(data); }
};

struct Side {
  std::shared_ptr<detail::SSLProtocol> tls;
  std::shared_ptr<MemoryTransport> below = std::make_shared<MemoryTransport>();
  std::shared_ptr<App> app = std::make_shared<App>();

  // A client given a session offers it for resumption.
  Side(EventLoop& loop, bool server, SSL_SESSION* session = nullptr) {
    detail::SSLProtocol::Options options;
    options.server_side = server;
    options.server_hostname = server ? "" : "localhost";
    // Made once: loading the certificates costs more than a run.
    static const auto server_context = aiocpp::testing::server_context();
    static const auto client_context = aiocpp::testing::client_context();
    auto context = server ? server_context : client_context;
    tls = std::make_shared<detail::SSLProtocol>(loop, context, app, options, Future<void>());
    if (session && !server) {
      // A copy per run: a run that ends uncleanly spoils the session it used.
      SSL_SESSION* copy = SSL_SESSION_dup(session);
      SSL_set_session(ssl(), copy);
      SSL_SESSION_free(copy);
    }
    below->protocol = tls;
    tls->connection_made(*below);  // a client's ClientHello goes out here
  }
  std::string take() { return std::exchange(below->written, std::string()); }
  ssl_st* ssl() const {
    return std::any_cast<SSLObject>(tls->get_extra_info("ssl_object", {})).native_handle();
  }
  void end() {
    if (!below->closed) below->closed = true;
    tls->connection_lost(nullptr);
  }
};

// Runs what the protocols scheduled (resume_reading's call_soon).
void spin(EventLoop& loop) {
  loop.call_soon([&loop] { loop.stop(); });
  loop.run_forever();
}

// A real handshake, flights passed both ways until neither side speaks (the
// server's tickets included: the client reads them with the last flight).
void handshake(Side& a, Side& b) {
  for (int round = 0; round < 16; ++round) {
    std::string to_b = a.take(), to_a = b.take();
    if (to_b.empty() && to_a.empty()) break;
    if (!to_b.empty()) b.tls->data_received(to_b);
    if (!to_a.empty()) a.tls->data_received(to_a);
  }
}

// The client's session after one full handshake, for the runs that resume.
SSL_SESSION* resumable_session(EventLoop& loop) {
  static const std::unique_ptr<SSL_SESSION, void (*)(SSL_SESSION*)> session = [&loop] {
    Side client(loop, false), server(loop, true);
    handshake(client, server);
    // A copy: OpenSSL marks a session not resumable when its connection
    // ends without close_notify, as this one does.
    SSL_SESSION* s = SSL_SESSION_dup(SSL_get0_session(client.ssl()));
    if (!s || !SSL_SESSION_is_resumable(s)) std::abort();  // the fuzzer would test nothing
    client.end();
    server.end();
    spin(loop);
    return std::unique_ptr<SSL_SESSION, void (*)(SSL_SESSION*)>(s, SSL_SESSION_free);
  }();
  return session.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static std::shared_ptr<EventLoop> loop = new_event_loop();
  if (size == 0) return 0;
  const uint8_t mode = bytes[0];
  bool server = mode & 1, established = mode & 2, encrypted = mode & 4, eof = mode & 8,
       close = mode & 16, full_handshake = (mode & 0x60) == 0x60;
  std::string_view input(reinterpret_cast<const char*>(bytes + 1), size - 1);

  SSL_SESSION* session = established && !full_handshake ? resumable_session(*loop) : nullptr;
  Side us(*loop, server, session);
  std::unique_ptr<Side> peer;
  if (established) {
    peer = std::make_unique<Side>(*loop, !server, session);
    handshake(us, *peer);
  }
  while (!input.empty()) {
    // The first byte of each piece gives its length (1..256).
    std::size_t n = std::min<std::size_t>(input.size(), static_cast<uint8_t>(input[0]) + 1u);
    std::string_view piece = input.substr(0, n);
    input.remove_prefix(n);
    if (established && encrypted) {
      peer->app->transport->write(piece);
      std::string records = peer->take();
      us.tls->data_received(records);
    } else {
      us.tls->data_received(piece);
    }
    us.take();
    spin(*loop);
  }
  if (eof) us.tls->eof_received();
  if (close && us.app->transport) us.app->transport->close();
  spin(*loop);
  us.end();
  if (peer) peer->end();
  spin(*loop);
  return 0;
}
