// Poem client: seed 001 ("asyncio Protocol", client.py). Sends the first line
// of the poem <<荷叶杯·记得那年花下>> and answers each line the server sends
// with the next one; for the last line or an unknown one it asks for the
// answer on stdin (the seed's input()). Stops the loop when the connection is lost.
//
//   我们一起来背诵 <<荷叶杯·记得那年花下>>
//   message:  记得那年花下
//   Data received: '深夜'
//   Data sent: '初识谢娘时'
//   ...
//   The server closed the connection
//   Stop the event loop
//
// At the end of stdin the client closes the connection (the seed's input()
// would raise EOFError there), which stops the loop as a lost connection does.

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

class EchoClientProtocol : public aiocpp::Protocol {
 public:
  EchoClientProtocol(aiocpp::EventLoop& loop, bool& lost) : loop_(loop), lost_(lost) {
    std::cout << word_title_ << std::endl;
  }

  void connection_made(aiocpp::Transport& transport) override {
    transport_ = &transport;
    const std::string& message = word_list_[index_];
    std::cout << "message:  " << message << std::endl;  // print('message: ', message)
    transport_->write(message);
  }

  void data_received(std::string_view data) override {
    std::string received = examples::py_repr(data);  // data.decode() first: it may throw
    std::cout << "Data received: " << received << std::endl;
    std::string message;
    try {
      message = find_next(data);
    } catch (const std::out_of_range&) {  // IndexError, ValueError
      std::optional<std::string> line = examples::input("input message:");
      if (!line) {
        transport_->close();
        return;
      }
      message = *line;
    }
    transport_->write(message);
    std::cout << "Data sent: " << examples::py_repr(message) << std::endl;
  }

  void connection_lost(std::exception_ptr) override {
    std::cout << "The server closed the connection" << std::endl;
    std::cout << "Stop the event loop" << std::endl;
    lost_ = true;
    loop_.stop();
  }

 private:
  // self.word_list[self.word_list.index(data) + 1]
  std::string find_next(std::string_view data) const {
    auto it = std::find(word_list_.begin(), word_list_.end(), data);
    if (it == word_list_.end()) throw std::out_of_range("ValueError: not in list");
    if (it + 1 == word_list_.end()) throw std::out_of_range("IndexError: list index out of range");
    return *(it + 1);
  }

  aiocpp::EventLoop& loop_;
  bool& lost_;                              // tells main() that connection_lost has run
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  std::string word_title_ = "我们一起来背诵 <<荷叶杯·记得那年花下>>";
  std::vector<std::string> word_list_ = {
      "记得那年花下", "深夜", "初识谢娘时", "水堂西面画帘垂", "携手暗相期",
      "惆怅晓莺残月", "相别", "从此隔音尘", "如今俱是异乡人", "相见更无因"};
  std::size_t index_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "Poem client from seed 001 (\"asyncio Protocol\", client.py): sends the first\n"
      "line of <<荷叶杯·记得那年花下>> and answers each line with the next one; for the\n"
      "last line or an unknown one it reads the answer from stdin. Stops when the\n"
      "connection is lost. Pair it with poem_server.");

  aiocpp::EventLoop& loop = examples::event_loop(args);
  bool lost = false;
  auto coro = loop.create_connection(
      [&] { return std::make_shared<EchoClientProtocol>(loop, lost); }, args.host, args.port);
  try {
    loop.run_until_complete(std::move(coro));
  } catch (const std::exception& e) {
    if (!lost) {  // (else: connection_lost's stop() ended run_until_complete early)
      std::cerr << "Error: " << e.what() << std::endl;
      loop.close();
      return 1;
    }
  }
  // The seed's race: a connection lost within run_until_complete's last
  // iteration calls loop.stop() when that stop is already pending, and the
  // seed's run_forever() would then never return. Not calling it then is the
  // one change to the seed's flow.
  if (!lost) loop.run_forever();
  loop.close();
  return 0;
}
