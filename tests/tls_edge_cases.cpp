// TLS where peers misbehave or load it: a record cut short by the peer's
// FIN, a peer that never answers close_notify (the shutdown timeout), write
// flow control against a peer that stops reading, Server.close_clients()
// ending TLS connections with close_notify, and pipes as the transport below.

#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdint.h>

#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

class TLSEdgeTest : public LoopTest {};

int port_of(const std::shared_ptr<Server>& server) {
  return server->sockets().at(0).getsockname().port();
}

// A TLS server written by hand on OpenSSL's memory BIOs over a plain aiocpp
// connection, so that a test can do what a sound TLS stack never does: cut
// a record short, or ignore the client's close_notify.
struct HandMadeTLSServer : Protocol {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());   // owned by ssl
  BIO* out = BIO_new(BIO_s_mem());  // owned by ssl
  Transport* transport = nullptr;
  Future<void> handshaken;
  bool deaf = false;  // reads nothing more once set

  explicit HandMadeTLSServer(Future<void> f) : handshaken(std::move(f)) {
    const Certificates& certs = Certificates::get();
    SSL_use_certificate_chain_file(ssl, certs.server_cert.c_str());
    SSL_use_PrivateKey_file(ssl, certs.server_key.c_str(), SSL_FILETYPE_PEM);
    SSL_set_bio(ssl, in, out);
    SSL_set_accept_state(ssl);
  }
  ~HandMadeTLSServer() override {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  // Sends what OpenSSL wrote, less its last `cut` bytes.
  void flush(std::size_t cut = 0) {
    char* data = nullptr;
    long size = BIO_get_mem_data(out, &data);
    if (size > static_cast<long>(cut)) {
      transport->write(std::string_view(data, static_cast<std::size_t>(size) - cut));
    }
    (void)BIO_reset(out);
  }
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override {
    if (deaf) return;
    BIO_write(in, data.data(), static_cast<int>(data.size()));
    if (SSL_is_init_finished(ssl)) return;
    bool done = SSL_do_handshake(ssl) == 1;
    flush();  // the next flight (and TLS 1.3's session tickets)
    if (done && !handshaken.done()) handshaken.set_result();
  }
  // `text` as one record less its last `cut` bytes, then the FIN.
  void send_truncated(std::string_view text, std::size_t cut) {
    SSL_write(ssl, text.data(), static_cast<int>(text.size()));
    flush(cut);
    transport->close();
  }
};

struct HandMade {
  std::shared_ptr<Server> server;
  // Filled by the factory for the one connection (not the server: the
  // factory would then own its own server).
  std::shared_ptr<std::shared_ptr<HandMadeTLSServer>> slot;
  HandMadeTLSServer& protocol() const { return **slot; }
};

Task<HandMade> start_hand_made(EventLoop& loop, Future<void> handshaken) {
  HandMade made{nullptr, std::make_shared<std::shared_ptr<HandMadeTLSServer>>()};
  auto slot = made.slot;
  auto factory = [slot, handshaken] {
    *slot = std::make_shared<HandMadeTLSServer>(handshaken);
    return *slot;
  };
  made.server = co_await loop.create_server(factory, "127.0.0.1", 0);
  co_return made;
}

Task<void> truncated_record(EventLoop& loop, std::exception_ptr* error, std::string* got) {
  Future<void> handshaken = loop.create_future<void>();
  HandMade peer = co_await start_hand_made(loop, handshaken);
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto factory = [&] { return std::make_shared<TLSCollector>(1, done, lost); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  auto connection =
      co_await loop.create_connection(factory, "127.0.0.1", port_of(peer.server), options);
  co_await handshaken;
  peer.protocol().send_truncated("never seen whole", 5);
  try {
    co_await lost;
  } catch (...) {
    *error = std::current_exception();
  }
  try {
    co_await done;  // failed as `lost` was: retrieved, so nothing is logged
  } catch (...) {
  }
  *got = std::static_pointer_cast<TLSCollector>(connection.protocol)->got;
  peer.server->close();
  co_await peer.server->wait_closed();
}

TEST_F(TLSEdgeTest, TruncatedRecordIsAnSSLError) {
  std::exception_ptr error;
  std::string got;
  run(truncated_record(*loop_, &error, &got));
  EXPECT_EQ(got, "");  // a record is delivered whole or not at all
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SSLError& e) {
    EXPECT_EQ(e.reason(), "UNEXPECTED_EOF_WHILE_READING") << e.what();
  }
}

Task<void> shutdown_timeout(EventLoop& loop, std::exception_ptr* error, double* waited) {
  Future<void> handshaken = loop.create_future<void>();
  HandMade peer = co_await start_hand_made(loop, handshaken);
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto factory = [&] { return std::make_shared<TLSCollector>(1, done, lost); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  options.ssl_shutdown_timeout = 0.2;
  auto connection =
      co_await loop.create_connection(factory, "127.0.0.1", port_of(peer.server), options);
  co_await handshaken;
  peer.protocol().deaf = true;  // our close_notify goes unanswered
  double start = loop.time();
  connection.transport->close();
  try {
    co_await lost;
  } catch (...) {
    *error = std::current_exception();
  }
  *waited = loop.time() - start;
  try {
    co_await done;  // failed as `lost` was
  } catch (...) {
  }
  peer.server->close();
  peer.server->abort_clients();
  co_await peer.server->wait_closed();
}

TEST_F(TLSEdgeTest, UnansweredCloseNotifyEndsAfterTheShutdownTimeout) {
  std::exception_ptr error;
  double waited = 0;
  run(shutdown_timeout(*loop_, &error, &waited));
  EXPECT_GE(waited, 0.19);
  EXPECT_LT(waited, 5.0);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), TimeoutError);
}

// Counts what arrives; reads only once told to. `all` completes once
// `expected` bytes came.
struct SlowReader : Protocol {
  std::size_t received = 0;
  std::size_t expected = SIZE_MAX;
  Future<void> all;
  Transport* transport = nullptr;
  explicit SlowReader(Future<void> f) : all(std::move(f)) {}
  void connection_made(Transport& t) override {
    transport = &t;
    t.pause_reading();
  }
  void data_received(std::string_view data) override {
    received += data.size();
    expect(expected);
  }
  void expect(std::size_t n) {
    expected = n;
    if (received >= expected && !all.done()) all.set_result();
  }
};

// Tracks pause_writing / resume_writing.
struct Flooder : Protocol {
  bool paused = false;
  int pauses = 0;
  Future<void> resumed;
  explicit Flooder(Future<void> f) : resumed(std::move(f)) {}
  void pause_writing() override {
    paused = true;
    ++pauses;
  }
  void resume_writing() override {
    paused = false;
    if (!resumed.done()) resumed.set_result();
  }
};

Task<void> flow_control(EventLoop& loop) {
  auto reader = std::make_shared<std::shared_ptr<SlowReader>>();
  Future<void> all = loop.create_future<void>();
  auto server_factory = [reader, all] { return *reader = std::make_shared<SlowReader>(all); };
  ServerOptions server_options;
  server_options.ssl = server_context();
  auto server = co_await loop.create_server(server_factory, "127.0.0.1", 0, server_options);
  Future<void> resumed = loop.create_future<void>();
  auto factory = [resumed] { return std::make_shared<Flooder>(resumed); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  auto [transport, protocol] =
      co_await loop.create_connection(factory, "127.0.0.1", port_of(server), options);
  auto flooder = std::static_pointer_cast<Flooder>(protocol);
  transport->set_write_buffer_limits(256 * 1024);
  EXPECT_EQ(transport->get_write_buffer_limits(),
            (std::pair<std::size_t, std::size_t>{64 * 1024, 256 * 1024}));
  // Writes until TLS says stop: the peer reads nothing, so the socket's
  // buffer, then the transport's below, then TLS's fill up. The loop runs
  // between writes so that the transport below can flush and pause.
  const std::string chunk = byte_pattern(64 * 1024);
  std::size_t sent = 0;
  while (!flooder->paused && sent < 256u * 1024 * 1024) {
    transport->write(chunk);
    sent += chunk.size();
    co_await sleep(0);
  }
  EXPECT_TRUE(flooder->paused) << "no pause_writing after " << sent << " bytes";
  EXPECT_GE(transport->get_write_buffer_size(), 256u * 1024);
  EXPECT_EQ(flooder->pauses, 1);
  // The peer reads again: the buffer drains, resume_writing comes, and
  // every byte arrives.
  (*reader)->transport->resume_reading();
  co_await resumed;
  EXPECT_LE(transport->get_write_buffer_size(), 64u * 1024);
  (*reader)->expect(sent);
  co_await all;
  EXPECT_EQ((*reader)->received, sent);
  transport->close();
  server->close();
  co_await server->wait_closed();
}

TEST_F(TLSEdgeTest, WriteFlowControlUnderLoad) { run(flow_control(*loop_), 30); }

// close_clients() closes a TLS connection as its application would: with
// close_notify, so the client's connection_lost is clean.
Task<std::exception_ptr> close_clients(EventLoop& loop) {
  auto server_factory = [] { return std::make_shared<TLSEcho>(); };
  ServerOptions server_options;
  server_options.ssl = server_context();
  auto server = co_await loop.create_server(server_factory, "127.0.0.1", 0, server_options);
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto factory = [&] { return std::make_shared<TLSCollector>(4, done, lost); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  auto connection = co_await loop.create_connection(factory, "127.0.0.1", port_of(server), options);
  connection.transport->write("ping");
  std::string echoed = co_await done;  // the server's side is connected
  EXPECT_EQ(echoed, "ping");
  server->close();
  server->close_clients();
  std::exception_ptr error;
  try {
    co_await lost;
  } catch (...) {
    error = std::current_exception();
  }
  co_await server->wait_closed();
  co_return error;
}

TEST_F(TLSEdgeTest, CloseClientsSendsCloseNotify) {
  std::exception_ptr error = run(close_clients(*loop_));
  EXPECT_FALSE(error) << [&] {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }();
}

// --- Pipes below TLS -------------------------------------------------------------
// TLS needs one duplex Transport below it; a pair of pipes gives a read and a
// write transport. PipeDuplex joins them through the public interfaces only
// (as a user would for, say, a child's stdin / stdout), and start_tls puts
// TLS over it.
struct PipeDuplex : Transport {
  std::shared_ptr<ReadTransport> reader;
  std::shared_ptr<WriteTransport> writer;
  std::shared_ptr<BaseProtocol> protocol;  // start_tls sets its SSLProtocol
  bool closed = false;

  Protocol* stream() const { return dynamic_cast<Protocol*>(protocol.get()); }
  std::any get_extra_info(std::string_view name, std::any d = {}) const override {
    return reader->get_extra_info(name, std::move(d));
  }
  bool is_closing() const override { return closed; }
  void close() override {
    closed = true;
    writer->close();
    reader->close();
  }
  void set_protocol(std::shared_ptr<BaseProtocol> p) override { protocol = std::move(p); }
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol; }
  bool is_reading() const override { return reader->is_reading(); }
  void pause_reading() override { reader->pause_reading(); }
  void resume_reading() override { reader->resume_reading(); }
  void set_write_buffer_limits(std::optional<std::size_t> high,
                               std::optional<std::size_t> low) override {
    writer->set_write_buffer_limits(high, low);
  }
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override {
    return writer->get_write_buffer_limits();
  }
  std::size_t get_write_buffer_size() const override { return writer->get_write_buffer_size(); }
  void write(std::string_view data) override { writer->write(data); }
  void writelines(std::span<const std::string_view> chunks) override { writer->writelines(chunks); }
  void write_eof() override { writer->close(); }
  bool can_write_eof() const override { return true; }
  void abort() override {
    closed = true;
    writer->abort();
    reader->close();
  }
};

// The read pipe's protocol: hands everything to the duplex's protocol; the
// read side's end is the connection's end.
struct ReadSide : Protocol {
  std::weak_ptr<PipeDuplex> duplex;  // the pipe may outlive the test's duplex
  explicit ReadSide(std::weak_ptr<PipeDuplex> d) : duplex(std::move(d)) {}
  void data_received(std::string_view data) override {
    auto d = duplex.lock();
    if (Protocol* p = d ? d->stream() : nullptr) p->data_received(data);
  }
  bool eof_received() override {
    auto d = duplex.lock();
    if (Protocol* p = d ? d->stream() : nullptr) p->eof_received();
    return false;
  }
  void connection_lost(std::exception_ptr error) override {
    auto d = duplex.lock();
    if (!d) return;
    d->writer->close();
    if (d->protocol) d->protocol->connection_lost(error);
  }
};

// The write pipe's protocol: flow control goes up.
struct WriteSide : Protocol {
  std::weak_ptr<PipeDuplex> duplex;
  explicit WriteSide(std::weak_ptr<PipeDuplex> d) : duplex(std::move(d)) {}
  void pause_writing() override {
    if (auto d = duplex.lock()) d->protocol->pause_writing();
  }
  void resume_writing() override {
    if (auto d = duplex.lock()) d->protocol->resume_writing();
  }
};

Task<std::shared_ptr<PipeDuplex>> open_duplex(EventLoop& loop, int read_fd, int write_fd) {
  auto duplex = std::make_shared<PipeDuplex>();
  std::weak_ptr<PipeDuplex> weak = duplex;
  auto read_factory = [weak] { return std::make_shared<ReadSide>(weak); };
  auto write_factory = [weak] { return std::make_shared<WriteSide>(weak); };
  duplex->reader = (co_await loop.connect_read_pipe(read_factory, read_fd)).transport;
  duplex->writer = (co_await loop.connect_write_pipe(write_factory, write_fd)).transport;
  co_return duplex;
}

Task<std::shared_ptr<Transport>> upgrade(EventLoop& loop, std::shared_ptr<PipeDuplex> duplex,
                                         std::shared_ptr<Protocol> app, bool server_side) {
  StartTLSOptions options;
  options.server_side = server_side;
  if (!server_side) options.server_hostname = "localhost";
  // Named, not a temporary inside the co_await: GCC 12 would destroy it twice.
  std::shared_ptr<SSLContext> context = server_side ? server_context() : client_context();
  co_return co_await loop.start_tls(duplex, app, context, options);
}

Task<std::string> echo_over_pipes(EventLoop& loop) {
  int to_server[2], to_client[2];
  EXPECT_EQ(::pipe2(to_server, O_CLOEXEC | O_NONBLOCK), 0);
  EXPECT_EQ(::pipe2(to_client, O_CLOEXEC | O_NONBLOCK), 0);
  auto server_side = co_await open_duplex(loop, to_server[0], to_client[1]);
  auto client_side = co_await open_duplex(loop, to_client[0], to_server[1]);
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  std::string message = byte_pattern(200000);
  auto echo = std::make_shared<TLSEcho>();
  auto collector = std::make_shared<TLSCollector>(message.size(), done, lost);
  // start_tls made connection_made unnecessary: the protocols are live.
  // Both handshakes run at once, each waiting for the other's flights.
  Task<std::shared_ptr<Transport>> server_tls =
      loop.create_task(upgrade(loop, server_side, echo, true));
  std::shared_ptr<Transport> client_tls = co_await upgrade(loop, client_side, collector, false);
  std::shared_ptr<Transport> server_transport = co_await server_tls;
  echo->transport = server_transport.get();
  auto version = std::any_cast<SSLObject>(client_tls->get_extra_info("ssl_object")).version();
  EXPECT_EQ(version, "TLSv1.3");
  client_tls->write(message);
  std::string got = co_await done;
  client_tls->close();  // close_notify both ways, then both pipes close
  co_await lost;
  co_return got;
}

TEST_F(TLSEdgeTest, PipesAsTheTransportBelow) {
  std::string message = byte_pattern(200000);
  EXPECT_EQ(run(echo_over_pipes(*loop_), 20), message);
}

}  // namespace
