// The Asio echo server (standalone Asio, one thread), in the style of Asio's
// own async_tcp_echo_server example: each connection owns a buffer and
// alternates async_read_some and async_write of what was read. Handlers are
// small, so Asio recycles their memory: no allocation per message.
// Built a second time with AIOCPP_PEER_TLS as peer_asio_tls: the same echo
// over asio::ssl::stream, after its async_handshake.

#define ASIO_STANDALONE
#include <asio.hpp>
#include <cstdio>
#include <memory>

#include "peer_args.hpp"
#ifdef AIOCPP_PEER_TLS
#include <asio/ssl.hpp>

#include "tls_credentials.hpp"
#endif

namespace {

using asio::ip::tcp;
#ifdef AIOCPP_PEER_TLS
using Stream = asio::ssl::stream<tcp::socket>;
#else
using Stream = tcp::socket;
#endif

std::uint64_t g_echoed = 0, g_stop_after = 0;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Stream socket, asio::io_context& io) : socket_(std::move(socket)), io_(io) {}

  void start() {
#ifdef AIOCPP_PEER_TLS
    auto self = shared_from_this();
    socket_.async_handshake(asio::ssl::stream_base::server, [this, self](std::error_code ec) {
      if (!ec) read();
    });
#else
    read();
#endif
  }

  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buffer_.get(), kBufferSize),
                            [this, self](std::error_code ec, std::size_t n) {
                              if (!ec) write(n);
                            });
  }

 private:
  static constexpr std::size_t kBufferSize = 256 * 1024;

  void write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(buffer_.get(), n),
                      [this, self](std::error_code ec, std::size_t written) {
                        if (ec) return;
                        if (g_stop_after) {  // only under a --requests budget
                          g_echoed += written;
                          if (g_echoed >= g_stop_after) io_.stop();
                        }
                        read();
                      });
  }

  Stream socket_;
  asio::io_context& io_;
  std::unique_ptr<char[]> buffer_{new char[kBufferSize]};
};

#ifdef AIOCPP_PEER_TLS
asio::ssl::context* g_tls = nullptr;
Stream make_stream(tcp::socket socket) { return Stream(std::move(socket), *g_tls); }
#else
Stream make_stream(tcp::socket socket) { return socket; }
#endif

void accept(tcp::acceptor& acceptor, asio::io_context& io) {
  acceptor.async_accept([&acceptor, &io](std::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(make_stream(std::move(socket)), io)->start();
    }
    accept(acceptor, io);
  });
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);
  g_stop_after = args.stop_after_bytes;
  try {
#ifdef AIOCPP_PEER_TLS
    asio::ssl::context tls(asio::ssl::context::tls_server);
    peers::use_bench_credentials(tls.native_handle());
    g_tls = &tls;
#endif
    asio::io_context io(1);  // one thread: Asio may skip its locking
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                             static_cast<unsigned short>(args.port)));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](std::error_code, int) { io.stop(); });
    accept(acceptor, io);
    peers::announce_port(acceptor.local_endpoint().port());
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio: %s\n", e.what());
    return 1;
  }
  return 0;
}
