// TCP echo server: seed 004 ("传输和协议", the asyncio documentation's
// EchoServerProtocol). For each connection it prints the peer, echoes the
// first data it receives and closes the connection.
//
//   $ echo_server                      $ echo_client
//   Connection from ('127.0.0.1', 54321)
//   Data received: 'Hello World!'
//   Send: 'Hello World!'
//   Close the client socket
//
// With --port 0 the kernel picks the port, which is then printed to stderr as
// "Serving on ('127.0.0.1', PORT)" (the seed has a fixed port and prints nothing).
// SIGINT / SIGTERM cancel serve_forever(), as Ctrl+C does under asyncio.run.

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

aiocpp::Task<> amain(examples::Args args) {
  // Get a reference to the event loop as we plan to use low-level APIs.
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();

  std::shared_ptr<aiocpp::Server> server = co_await loop.create_server(
      [] { return std::make_shared<EchoServerProtocol>(); }, args.host, args.port);
  if (args.port == 0) {
    std::cerr << "Serving on " << server->sockets().at(0).getsockname().to_string() << std::endl;
  }

  // async with server: await server.serve_forever()
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
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "TCP echo server from seed 004 (asyncio docs' EchoServerProtocol, via\n"
      "\"传输和协议\"): prints each connection's peer, echoes the first data it\n"
      "receives, then closes the connection. Serves until SIGINT or SIGTERM.\n"
      "With --port 0 the chosen port is printed to stderr.");
  try {
    aiocpp::run(amain(args));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
