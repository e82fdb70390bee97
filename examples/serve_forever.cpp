// Server.serve_forever(): seed 003 ("Event loop", the Server object section).
// The seed serves with start_server() and a client_connected coroutine that
// reads one line; streams do not exist yet, so a small Protocol plays that
// part: it reads one line, prints it and closes the connection.
//
//   Serving on ('127.0.0.1', 40123)
//   Connection from ('127.0.0.1', 54321)
//   Line received: b'hello\n'
//
// As in the seed's main('127.0.0.1', 0), the default port is 0: the kernel
// picks one and the "Serving on" line tells which. SIGINT / SIGTERM cancel
// serve_forever(), as Ctrl+C does under asyncio.run.

#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

// What client_connected does with `await reader.readline()`: collects bytes up
// to the first newline (kept, as readline() keeps it) or EOF.
class ReadLineProtocol : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override {
    transport_ = &transport;
    std::cout << "Connection from " << transport.peername().to_string() << std::endl;
  }

  void data_received(std::string_view data) override {
    if (done_) return;
    buffer_ += data;
    if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
      finish(buffer_.substr(0, newline + 1));
    }
  }

  bool eof_received() override {
    if (!done_) finish(buffer_);  // readline() returns what is left at EOF
    return false;
  }

 private:
  void finish(const std::string& line) {
    done_ = true;
    std::cout << "Line received: " << examples::py_bytes_repr(line) << std::endl;
    transport_->close();
  }

  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  std::string buffer_;
  bool done_ = false;
};

aiocpp::Task<> amain(examples::Args args) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  std::shared_ptr<aiocpp::Server> srv = co_await loop.create_server(
      [] { return std::make_shared<ReadLineProtocol>(); }, args.host, args.port);
  std::cout << "Serving on " << srv->sockets().at(0).getsockname().to_string() << std::endl;

  aiocpp::Task<> serving = loop.create_task(srv->serve_forever());
  examples::StopSignals stop(loop, [serving]() mutable { serving.cancel(); });
  try {
    co_await serving;
  } catch (const aiocpp::CancelledError&) {
    // Stopped by a signal: serve_forever() has closed the server.
  }
  co_await srv->wait_closed();
}

}  // namespace

int main(int argc, char** argv) {
  examples::block_stop_signals();
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 0,
      "serve_forever from seed 003 (\"Event loop\", the Server object section):\n"
      "a server that serves forever; each connection sends one line, which is\n"
      "printed before the connection is closed. Port 0 (the default) lets the\n"
      "kernel choose; the \"Serving on\" line tells which. Stops on SIGINT or SIGTERM.");
  try {
    aiocpp::run(amain(args));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
