// Echo client that ends with EOF: seed 002 (PyMOTW's
// asyncio_echo_client_protocol.py, "使用抽象类 Protocol 实现异步 I/O").
// Sends three messages, then write_eof(), and logs the echo until the server's
// EOF. Logs to stderr in the seed's logging format '%(name)s: %(message)s':
//
//   asyncio: Using selector: EpollSelector   (Using proactor: IoUringProactor on io_uring)
//   main: waiting for client to complete
//   EchoClient: connectiong to ::1 port 10000
//   EchoClient: sending b'This is the message. '
//   EchoClient: sending b'It will be sent '
//   EchoClient: sending b'in parts.'
//   EchoClient: received b'This is the message. It will be sent in parts.'
//   EchoClient: received EOF
//   main: closing event loop
//
// The seed misspells connection_lost ("connnection_lost"), so it never
// completes when the server goes away without an EOF; here connection_lost
// completes the client too, logging "server closed connection" only then.

#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

const std::vector<std::string> MESSAGES = {
    "This is the message. ",
    "It will be sent ",
    "in parts.",
};

using examples::Log;

const Log log_main{"main"};

class EchoClient : public aiocpp::Protocol {
 public:
  EchoClient(std::vector<std::string> messages, aiocpp::Future<bool> future)
      : messages_(std::move(messages)), f_(std::move(future)) {}

  void connection_made(aiocpp::Transport& transport) override {
    transport_ = &transport;
    aiocpp::SocketAddress address = transport.peername();
    log_.debug("connectiong to " + address.host() + " port " + std::to_string(address.port()));
    // transport.writelines() would do too; write() lets us log each message.
    for (const std::string& msg : messages_) {
      transport.write(msg);
      log_.debug("sending " + examples::py_bytes_repr(msg));
    }
    if (transport.can_write_eof()) transport.write_eof();
  }

  void data_received(std::string_view data) override {
    log_.debug("received " + examples::py_bytes_repr(data));
  }

  bool eof_received() override {
    log_.debug("received EOF");
    transport_->close();
    if (!f_.done()) f_.set_result(true);
    return false;
  }

  void connection_lost(std::exception_ptr) override {
    if (!f_.done()) {
      log_.debug("server closed connection");
      f_.set_result(true);
    }
  }

 private:
  std::vector<std::string> messages_;
  aiocpp::Future<bool> f_;
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  Log log_{"EchoClient"};
};

}  // namespace

int main(int argc, char** argv) {
  examples::Args args = examples::parse_args(
      argc, argv, "localhost", 10000,
      "Echo client from seed 002 (PyMOTW asyncio_echo_client_protocol.py, via\n"
      "\"使用抽象类 Protocol 实现异步 I/O\"): sends three messages and an EOF, logs the\n"
      "echo to stderr and exits once the server's EOF arrives. Pair it with\n"
      "eof_echo_server.");

  aiocpp::EventLoop& event_loop = examples::event_loop(args);
  Log{"asyncio"}.debug(examples::loop_debug_line(event_loop));  // at DEBUG level, as asyncio

  aiocpp::Future<bool> client_completed = event_loop.create_future<bool>();
  auto client_factory = [client_completed] {
    return std::make_shared<EchoClient>(MESSAGES, client_completed);
  };
  auto factory_coroutine = event_loop.create_connection(client_factory, args.host, args.port);

  log_main.debug("waiting for client to complete");
  int status = 0;
  try {
    auto connection = event_loop.run_until_complete(std::move(factory_coroutine));
    event_loop.run_until_complete(client_completed);
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    status = 1;
  }
  // finally:
  log_main.debug("closing event loop");
  event_loop.close();
  return status;
}
