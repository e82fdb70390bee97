// aiocpp's streams echo, as asyncio code writes one: start_server runs a
// client_connected coroutine per connection that reads each message with
// readexactly, writes it back and drains. It needs the message size
// (--size), as a length-prefixed protocol would read it from a header.

#include "aiocpp_serve.hpp"

namespace {

std::size_t message_size = 0;

aiocpp::Task<> client_connected(std::shared_ptr<aiocpp::StreamReader> reader,
                                std::shared_ptr<aiocpp::StreamWriter> writer) {
  peers::Budget* budget = peers::Budget::active();
  std::string message;  // reused: its capacity stays, so no allocation per message
  try {
    for (;;) {
      co_await reader->readexactly(static_cast<long>(message_size), message);
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

aiocpp::Task<std::shared_ptr<aiocpp::Server>> start(int port) {
  return aiocpp::start_server(client_connected, "127.0.0.1", port);
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);
  if (args.size == 0) {
    std::fprintf(stderr, "%s: --size BYTES is required (the message size it reads)\n", argv[0]);
    return 2;
  }
  message_size = args.size;
  return peers::main_with(args, start);
}
