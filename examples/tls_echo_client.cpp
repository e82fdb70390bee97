// TLS echo client: seed 004's echo client ("传输和协议", the asyncio
// documentation's EchoClientProtocol) with `ssl=` on create_connection. It
// verifies the server's certificate against --cafile (or the system's CAs)
// and its name against --host, as Python's default context does.
//
//   $ tls_echo_client --cafile ca.pem
//   Data sent: 'Hello World!'
//   Data received: 'Hello World!'
//   The server closed the connection
//
// A failed handshake (an untrusted certificate, a wrong name) ends it with
// "Error: [SSL: CERTIFICATE_VERIFY_FAILED] ..." and status 1.

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
    std::string message = examples::py_repr(data);
    std::cout << "Data received: " << message << std::endl;
  }

  void connection_lost(std::exception_ptr error) override {
    // Over TLS a close without close_notify is an error (a truncation
    // attack looks the same), so it is told apart from the seed's clean close.
    if (error) {
      on_con_lost_.set_exception(error);  // main prints it
      return;
    }
    std::cout << "The server closed the connection" << std::endl;
    on_con_lost_.set_result(true);
  }

 private:
  std::string message_;
  aiocpp::Future<bool> on_con_lost_;
};

aiocpp::Task<> amain(examples::Args args, std::shared_ptr<aiocpp::SSLContext> context) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();

  aiocpp::Future<bool> on_con_lost = loop.create_future<bool>();
  std::string message = "Hello World!";

  // server_hostname defaults to the host, as in asyncio: SNI and the name
  // the certificate must carry.
  aiocpp::ConnectionOptions options;
  options.ssl = context;
  auto factory = [&] { return std::make_shared<EchoClientProtocol>(message, on_con_lost); };
  auto [transport, protocol] =
      co_await loop.create_connection(factory, args.host, args.port, options);

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
  std::string cafile;
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "TLS echo client: seed 004's echo client (asyncio docs' EchoClientProtocol)\n"
      "over TLS. Sends 'Hello World!', prints the reply and waits until the server\n"
      "closes the connection. Pair it with tls_echo_server.",
      {{"--cafile", "FILE", "CA certificates to trust, PEM (default: the system's)", &cafile}});
  try {
    std::optional<std::string> trusted;
    if (!cafile.empty()) trusted = cafile;
    auto context =
        aiocpp::SSLContext::create_default_context(aiocpp::Purpose::SERVER_AUTH, trusted);
    aiocpp::run(amain(args, context), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
