// TLS echo server: seed 004's echo server ("传输和协议", the asyncio
// documentation's EchoServerProtocol) with `ssl=` on create_server. The
// protocol is the seed's, line for line: TLS is a layer under it, and its
// transport.close() sends close_notify before the connection ends.
//
//   $ tls_echo_server --cert server.pem --key server.key
//   Connection from ('127.0.0.1', 54321)
//   Data received: 'Hello World!'
//   Send: 'Hello World!'
//   Close the client socket
//
// Python's equivalent context:
//   ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
//   ctx.load_cert_chain(cert, key)
//   server = await loop.create_server(EchoServerProtocol, host, port, ssl=ctx)
//
// With --port 0 the kernel picks the port, printed to stderr as
// "Serving on ('127.0.0.1', PORT)". SIGINT / SIGTERM stop it.

#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

class EchoServerProtocol : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override {
    aiocpp::SocketAddress peername = transport.peername();
    std::cout << "Connection from " << peername.to_string() << std::endl;
    transport_ = &transport;
  }

  void data_received(std::string_view data) override {
    std::string message = examples::py_repr(data);  // data.decode(), then {!r}
    std::cout << "Data received: " << message << std::endl;

    std::cout << "Send: " << message << std::endl;
    transport_->write(data);

    std::cout << "Close the client socket" << std::endl;
    transport_->close();
  }

 private:
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
};

aiocpp::Task<> amain(examples::Args args, std::shared_ptr<aiocpp::SSLContext> context) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();

  aiocpp::ServerOptions options;
  options.ssl = context;
  auto factory = [] { return std::make_shared<EchoServerProtocol>(); };
  std::shared_ptr<aiocpp::Server> server =
      co_await loop.create_server(factory, args.host, args.port, options);
  if (args.port == 0) {
    std::cerr << "Serving on " << server->sockets().at(0).getsockname().to_string() << std::endl;
  }

  aiocpp::Task<> serving =
      loop.create_task(aiocpp::async_with(server, [server]() { return server->serve_forever(); }));
  examples::StopSignals stop(loop, [serving]() mutable { serving.cancel(); });
  try {
    co_await serving;
  } catch (const aiocpp::CancelledError&) {
    // Stopped by a signal: the server is closed, exit cleanly.
  }
}

}  // namespace

int main(int argc, char** argv) {
  examples::block_stop_signals();
  std::string cert, key;
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "TLS echo server: seed 004's echo server (asyncio docs' EchoServerProtocol)\n"
      "over TLS. Prints each connection's peer, echoes the first data it receives,\n"
      "then closes the connection (close_notify first). Serves until SIGINT or\n"
      "SIGTERM. With --port 0 the chosen port is printed to stderr.",
      {{"--cert", "FILE", "the server's certificate chain, PEM (required)", &cert},
       {"--key", "FILE", "its private key, PEM (default: in --cert)", &key}});
  if (cert.empty()) {
    std::cerr << argv[0] << ": error: --cert is required" << std::endl;
    return 2;
  }
  try {
    // A server's context: Purpose.CLIENT_AUTH, as in Python.
    auto context = aiocpp::SSLContext::create_default_context(aiocpp::Purpose::CLIENT_AUTH);
    context->load_cert_chain(cert, key);
    aiocpp::run(amain(args, context), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
