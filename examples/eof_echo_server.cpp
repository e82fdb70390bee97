// Echo server answering EOF with EOF: seed 002 (PyMOTW's
// asyncio_echo_server_protocol.py, "使用抽象类 Protocol 实现异步 I/O").
// Logs to stderr in the seed's logging format '%(name)s: %(message)s':
//
//   asyncio: Using selector: EpollSelector   (Using proactor: IoUringProactor on io_uring)
//   main: starting up on localhost port 10000
//   EchoServer_::1_56353: connection accepted
//   EchoServer_::1_56353: received b'This is the message. It will be sent in parts.'
//   EchoServer_::1_56353: sent b'This is the message. It will be sent in parts.'
//   EchoServer_::1_56353: received EOF
//   EchoServer_::1_56353: closing
//
// The "starting up" line gives the port actually bound (the same as the seed's
// unless --port 0 asks the kernel to choose). SIGINT / SIGTERM stop the loop,
// as KeyboardInterrupt ends run_forever() in the seed; then the server closes,
// and so do its clients (see server_shutdown.hpp).
//
// Where it differs from the seed: it honours flow control. The seed echoes
// whatever arrives whether or not the client reads the echo, so a client that
// sends without reading makes the server buffer without bound; here reading
// pauses while the transport's write buffer is above its high-water mark
// (pause_writing) and resumes once it has drained below the low one
// (resume_writing).

#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"
#include "server_shutdown.hpp"

namespace {

using examples::Log;

const Log log_main{"main"};

class EchoServer : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override {
    transport_ = &transport;
    aiocpp::SocketAddress address = transport.peername();
    log_.name = "EchoServer_" + address.host() + "_" + std::to_string(address.port());
    log_.debug("connection accepted");
  }

  void data_received(std::string_view data) override {
    log_.debug("received " + examples::py_bytes_repr(data));
    transport_->write(data);
    log_.debug("sent " + examples::py_bytes_repr(data));
  }

  bool eof_received() override {
    log_.debug("received EOF");
    if (transport_->can_write_eof()) transport_->write_eof();
    return false;  // the seed returns None: the transport closes once the echo is flushed
  }

  // Flow control: stop taking in what cannot be sent back yet.
  void pause_writing() override { transport_->pause_reading(); }
  void resume_writing() override { transport_->resume_reading(); }

  void connection_lost(std::exception_ptr error) override {
    if (error) {
      log_.error("ERROR: " + examples::py_error_str(error));
    } else {
      log_.debug("closing");
    }
  }

 private:
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  Log log_;
};

}  // namespace

int main(int argc, char** argv) {
  examples::block_stop_signals();
  examples::Args args = examples::parse_args(
      argc, argv, "localhost", 10000,
      "Echo server from seed 002 (PyMOTW asyncio_echo_server_protocol.py, via\n"
      "\"使用抽象类 Protocol 实现异步 I/O\"): echoes everything it receives and answers\n"
      "the client's EOF with write_eof(). Logs every event to stderr. Serves until\n"
      "SIGINT or SIGTERM.");

  aiocpp::EventLoop& event_loop = examples::event_loop(args);
  Log{"asyncio"}.debug(examples::loop_debug_line(event_loop));  // at DEBUG level, as asyncio

  std::shared_ptr<aiocpp::Server> server;
  try {
    auto factory = event_loop.create_server([] { return std::make_shared<EchoServer>(); },
                                            args.host, args.port);
    server = event_loop.run_until_complete(std::move(factory));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    event_loop.close();
    return 1;
  }
  int port = server->sockets().empty() ? args.port : server->sockets()[0].getsockname().port();
  log_main.debug("starting up on " + args.host + " port " + std::to_string(port));

  {
    examples::StopSignals stop(event_loop, [&event_loop] { event_loop.stop(); });
    event_loop.run_forever();
  }
  // finally:
  log_main.debug("closing server");
  event_loop.run_until_complete(examples::shut_down(server));
  log_main.debug("closing event loop");
  event_loop.close();
  return 0;
}
