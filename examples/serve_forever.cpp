// Server.serve_forever(): seed 003 ("Event loop", the Server object section),
// line for line on streams, as the seed writes it:
//
//   async def client_connected(reader, writer):
//       await reader.readline()
//
//   async def main(host, port):
//       srv = await asyncio.start_server(client_connected, host, port)
//       await srv.serve_forever()
//
// What it prints, so that a run shows what happened:
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

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

aiocpp::Task<> client_connected(std::shared_ptr<aiocpp::StreamReader> reader,
                                std::shared_ptr<aiocpp::StreamWriter> writer) {
  std::cout << "Connection from " << writer->transport().peername().to_string() << std::endl;
  std::string line = co_await reader->readline();
  std::cout << "Line received: " << examples::py_bytes_repr(line) << std::endl;
  writer->close();
  co_await writer->wait_closed();
}

aiocpp::Task<> amain(examples::Args args) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  std::shared_ptr<aiocpp::Server> srv =
      co_await aiocpp::start_server(client_connected, args.host, args.port);
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
    aiocpp::run(amain(args), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
