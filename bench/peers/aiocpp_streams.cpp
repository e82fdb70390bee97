// aiocpp's streams echo, as asyncio code writes one: start_server runs a
// client_connected coroutine per connection that reads each message, writes
// it back and drains. With --size it reads whole messages with
// readexactly(size) (as a length-prefixed protocol reads what its header
// announced; the instruction and system-call counts run this way); without
// it, as the timed matrix starts its servers once for every size, whatever
// has arrived, up to 64 KiB, with read(n) (bench/peers/asyncio_echo.py's
// streams variant does the same). Both read into one string that keeps its
// capacity: nothing is allocated per message.

#include "aiocpp_serve.hpp"

namespace {

std::size_t message_size = 0;

aiocpp::Task<> client_connected(std::shared_ptr<aiocpp::StreamReader> reader,
                                std::shared_ptr<aiocpp::StreamWriter> writer) {
  peers::Budget* budget = peers::Budget::active();
  std::string message;  // reused: its capacity stays, so no allocation per message
  try {
    for (;;) {
      if (message_size != 0) {
        co_await reader->readexactly(static_cast<long>(message_size), message);
      } else {
        co_await reader->read(64 * 1024, message);
        if (message.empty()) break;  // EOF
      }
      writer->write(message);
      co_await writer->drain();
      if (budget) budget->echoed(message.size());
    }
  } catch (const aiocpp::IncompleteReadError&) {
    // The client closed between messages (or within one): done.
  } catch (const std::system_error&) {
    // Reset by the client.
  }
  writer->close();
}

aiocpp::Task<std::shared_ptr<aiocpp::Server>> start(int port, aiocpp::ServerOptions options) {
  return aiocpp::start_server(client_connected, "127.0.0.1", port, options);
}

}  // namespace

int main(int argc, char** argv) {
  message_size = peers::parse_args(argc, argv, true).size;  // main_with parses again: same result
  return peers::main_with(argc, argv, start);
}
