// echo_client's twin in the streams style (asyncio.open_connection): the
// same bytes on the wire and the same printed lines, so it pairs with
// echo_server or seed 004's Python server alike. docs/guide.md sets the two
// styles side by side; the Python it mirrors:
//
//   async def main(host, port):
//       reader, writer = await asyncio.open_connection(host, port)
//       message = 'Hello World!'
//       writer.write(message.encode())
//       print('Data sent: {!r}'.format(message))
//       while data := await reader.read(100):
//           print('Data received: {!r}'.format(data.decode()))
//       print('The server closed the connection')
//       writer.close()
//       await writer.wait_closed()

#include <iostream>
#include <string>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

aiocpp::Task<> amain(examples::Args args) {
  auto [reader, writer] = co_await aiocpp::open_connection(args.host, args.port);
  std::string message = "Hello World!";
  writer->write(message);
  std::cout << "Data sent: " << examples::py_repr(message) << std::endl;
  // read(100) returns what has arrived, and "" at EOF: the server's close.
  while (true) {
    std::string data = co_await reader->read(100);
    if (data.empty()) break;
    std::cout << "Data received: " << examples::py_repr(data) << std::endl;
  }
  std::cout << "The server closed the connection" << std::endl;
  writer->close();
  co_await writer->wait_closed();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "TCP echo client from seed 004, in the streams style (open_connection,\n"
      "reader.read, writer.write): sends 'Hello World!', prints the reply and\n"
      "waits until the server closes the connection. Pair it with echo_server.");
  try {
    aiocpp::run(amain(args), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
