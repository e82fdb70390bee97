// TCP echo client: seed 004 ("传输和协议", the asyncio documentation's
// EchoClientProtocol). Sends "Hello World!", prints what comes back and waits
// until the server closes the connection.
//
//   Data sent: 'Hello World!'
//   Data received: 'Hello World!'
//   The server closed the connection

#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

class EchoClientProtocol : public aiocpp::Protocol {
 public:
  EchoClientProtocol(std::string message, aiocpp::Future<bool> on_con_lost)
      : message_(std::move(message)), on_con_lost_(std::move(on_con_lost)) {}

  void connection_made(aiocpp::Transport& transport) override {
    transport.write(message_);
    std::cout << "Data sent: " << examples::py_repr(message_) << std::endl;
  }

  void data_received(std::string_view data) override {
    std::string message = examples::py_repr(data);  // data.decode() first: it may throw
    std::cout << "Data received: " << message << std::endl;
  }

  void connection_lost(std::exception_ptr) override {
    std::cout << "The server closed the connection" << std::endl;
    on_con_lost_.set_result(true);
  }

 private:
  std::string message_;
  aiocpp::Future<bool> on_con_lost_;
};

aiocpp::Task<> amain(examples::Args args) {
  // Get a reference to the event loop as we plan to use low-level APIs.
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();

  aiocpp::Future<bool> on_con_lost = loop.create_future<bool>();
  std::string message = "Hello World!";

  auto [transport, protocol] = co_await loop.create_connection(
      [&] { return std::make_shared<EchoClientProtocol>(message, on_con_lost); }, args.host,
      args.port);

  // Wait until the protocol signals that the connection is lost and close the transport.
  try {
    co_await on_con_lost;
  } catch (...) {
    transport->close();
    throw;
  }
  transport->close();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "TCP echo client from seed 004 (asyncio docs' EchoClientProtocol, via\n"
      "\"传输和协议\"): sends 'Hello World!', prints the reply and waits until the\n"
      "server closes the connection. Pair it with echo_server.");
  try {
    aiocpp::run(amain(args), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
