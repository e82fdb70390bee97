// poem_client's twin in the streams style (asyncio.open_connection): the
// same bytes on the wire and the same printed lines, so it pairs with
// poem_server or seed 001's Python server alike. docs/guide.md sets the two
// styles side by side; the Python it mirrors (seed 001's client.py, with the
// protocol's callbacks turned into one coroutine):
//
//   async def main():
//       print(word_title)
//       reader, writer = await asyncio.open_connection('127.0.0.1', 8888)
//       message = word_list[0]
//       print('message: ', message)
//       writer.write(message.encode())
//       while data := await reader.read(1024):
//           print('Data received: {!r}'.format(data.decode()))
//           try:
//               message = find_next(data.decode())
//           except (IndexError, ValueError):
//               message = input('input message:')
//           writer.write(message.encode())
//           print('Data sent: {!r}'.format(message))
//       print('The server closed the connection')
//       print('Stop the event loop')
//       writer.close()
//
// As in poem_client, the end of stdin closes the connection (where input()
// would raise EOFError), and the client then ends as when the server closes.

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

const std::string word_title = "我们一起来背诵 <<荷叶杯·记得那年花下>>";
const std::vector<std::string> word_list = {
    "记得那年花下", "深夜", "初识谢娘时", "水堂西面画帘垂", "携手暗相期",
    "惆怅晓莺残月", "相别", "从此隔音尘", "如今俱是异乡人", "相见更无因"};

// word_list[word_list.index(data) + 1]
std::string find_next(std::string_view data) {
  auto it = std::find(word_list.begin(), word_list.end(), data);
  if (it == word_list.end()) throw std::out_of_range("ValueError: not in list");
  if (it + 1 == word_list.end()) throw std::out_of_range("IndexError: list index out of range");
  return *(it + 1);
}

aiocpp::Task<> amain(examples::Args args) {
  std::cout << word_title << std::endl;
  auto [reader, writer] = co_await aiocpp::open_connection(args.host, args.port);
  std::string message = word_list[0];
  std::cout << "message:  " << message << std::endl;  // print('message: ', message)
  writer->write(message);
  while (true) {
    std::string data = co_await reader->read(1024);
    if (data.empty()) break;  // "" at EOF: the server closed
    std::cout << "Data received: " << examples::py_repr(data) << std::endl;
    try {
      message = find_next(data);
    } catch (const std::out_of_range&) {  // IndexError, ValueError
      std::optional<std::string> line = examples::input("input message:");
      if (!line) break;  // the end of stdin: close, as poem_client does
      message = *line;
    }
    writer->write(message);
    std::cout << "Data sent: " << examples::py_repr(message) << std::endl;
  }
  std::cout << "The server closed the connection" << std::endl;
  std::cout << "Stop the event loop" << std::endl;
  writer->close();
  co_await writer->wait_closed();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "Poem client from seed 001 in the streams style (open_connection,\n"
      "reader.read, writer.write): sends the first line of <<荷叶杯·记得那年花下>>\n"
      "and answers each line with the next one; for the last line or an unknown\n"
      "one it reads the answer from stdin. Pair it with poem_server.");
  try {
    aiocpp::run(amain(args), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
