// Poem server: seed 001 ("asyncio Protocol", Server.py). Answers each line of
// the poem <<荷叶杯·记得那年花下>> with the next one; for the last line or an
// unknown one it asks for the answer on stdin (the seed's input()).
//
//   Serving on ('127.0.0.1', 8888)
//   Connection from ('127.0.0.1', 54321)
//   Data received: '记得那年花下'
//   Send: '深夜'
//
// At the end of stdin the connection that waited for an answer is closed
// (the seed's input() would raise EOFError there); the server keeps serving.
// SIGINT / SIGTERM stop the loop, as KeyboardInterrupt ends run_forever().

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

class EchoServerClientProtocol : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override {
    aiocpp::SocketAddress peername = transport.peername();
    std::cout << "Connection from " << peername.to_string() << std::endl;
    transport_ = &transport;
  }

  void data_received(std::string_view data) override {
    std::string message = examples::py_repr(data);  // data.decode(), then {!r}
    std::cout << "Data received: " << message << std::endl;
    std::string reply;
    try {
      reply = find_next(data);
    } catch (const std::out_of_range&) {  // IndexError, ValueError
      std::optional<std::string> line = examples::input("input the message:");
      if (!line) {
        transport_->close();
        return;
      }
      reply = *line;
    }
    std::cout << "Send: " << examples::py_repr(reply) << std::endl;
    transport_->write(reply);
  }

 private:
  // self.word_list[self.word_list.index(data) + 1]
  std::string find_next(std::string_view data) const {
    auto it = std::find(word_list_.begin(), word_list_.end(), data);
    if (it == word_list_.end()) throw std::out_of_range("ValueError: not in list");
    if (it + 1 == word_list_.end()) throw std::out_of_range("IndexError: list index out of range");
    return *(it + 1);
  }

  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  std::string word_title_ = "我们一起来背诵 <<荷叶杯·记得那年花下>>";
  std::vector<std::string> word_list_ = {
      "记得那年花下", "深夜", "初识谢娘时", "水堂西面画帘垂", "携手暗相期",
      "惆怅晓莺残月", "相别", "从此隔音尘", "如今俱是异乡人", "相见更无因"};
};

}  // namespace

int main(int argc, char** argv) {
  examples::block_stop_signals();
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "Poem server from seed 001 (\"asyncio Protocol\", Server.py): answers each\n"
      "line of <<荷叶杯·记得那年花下>> with the next line; for the last line or an\n"
      "unknown one it reads the answer from stdin. Serves until SIGINT or SIGTERM.");

  aiocpp::EventLoop& loop = aiocpp::get_event_loop();
  // Each client connection will create a new protocol instance
  auto coro = loop.create_server([] { return std::make_shared<EchoServerClientProtocol>(); },
                                 args.host, args.port);
  std::shared_ptr<aiocpp::Server> server;
  try {
    server = loop.run_until_complete(std::move(coro));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    loop.close();
    return 1;
  }

  // Serve requests until Ctrl+C is pressed
  std::cout << "Serving on " << server->sockets().at(0).getsockname().to_string() << std::endl;
  {
    examples::StopSignals stop(loop, [&loop] { loop.stop(); });
    loop.run_forever();
  }

  // Close the server
  server->close();
  loop.run_until_complete(server->wait_closed());
  loop.close();
  return 0;
}
