// eof_echo_client's twin in the streams style (asyncio.open_connection):
// the same bytes on the wire (three messages, then write_eof) and the same
// log lines, so it pairs with eof_echo_server or seed 002's Python server
// alike. docs/guide.md sets the two styles side by side; the Python it
// mirrors (PyMOTW's own streams version of the seed, with the protocol
// twin's log lines):
//
//   async def echo_client(address, messages):
//       log = logging.getLogger('EchoClient')
//       reader, writer = await asyncio.open_connection(*address)
//       log.debug('connectiong to {} port {}'.format(*writer.get_extra_info('peername')))
//       for msg in messages:
//           writer.write(msg)
//           log.debug('sending {!r}'.format(msg))
//       if writer.can_write_eof():
//           writer.write_eof()
//       await writer.drain()
//       while data := await reader.read(128):
//           log.debug('received {!r}'.format(data))
//       log.debug('received EOF')
//       writer.close()
//
//   event_loop = asyncio.get_event_loop()
//   try:
//       log.debug('waiting for client to complete')
//       event_loop.run_until_complete(echo_client(SERVER_ADDRESS, MESSAGES))
//   finally:
//       log.debug('closing event loop')
//       event_loop.close()

#include <any>
#include <iostream>
#include <string>
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

aiocpp::Task<> echo_client(std::string host, int port, const std::vector<std::string>& messages) {
  const Log log{"EchoClient"};
  auto [reader, writer] = co_await aiocpp::open_connection(host, port);
  auto peer = std::any_cast<aiocpp::SocketAddress>(writer->get_extra_info("peername"));
  log.debug("connectiong to " + peer.host() + " port " + std::to_string(peer.port()));
  for (const std::string& msg : messages) {
    writer->write(msg);
    log.debug("sending " + examples::py_bytes_repr(msg));
  }
  if (writer->can_write_eof()) writer->write_eof();
  co_await writer->drain();
  while (true) {
    std::string data = co_await reader->read(128);
    if (data.empty()) break;  // "" at EOF: the server's write_eof
    log.debug("received " + examples::py_bytes_repr(data));
  }
  log.debug("received EOF");
  writer->close();
  co_await writer->wait_closed();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Args args = examples::parse_args(
      argc, argv, "localhost", 10000,
      "Echo client from seed 002 in the streams style (open_connection,\n"
      "writer.write_eof, reader.read): sends three messages and an EOF, logs the\n"
      "echo to stderr and exits once the server's EOF arrives. Pair it with\n"
      "eof_echo_server.");

  aiocpp::EventLoop& event_loop = examples::event_loop(args);
  Log{"asyncio"}.debug(examples::loop_debug_line(event_loop));  // at DEBUG level, as asyncio
  const Log log_main{"main"};
  int status = 0;
  try {
    log_main.debug("waiting for client to complete");
    event_loop.run_until_complete(echo_client(args.host, args.port, MESSAGES));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    status = 1;
  }
  // finally:
  log_main.debug("closing event loop");
  event_loop.close();
  return status;
}
