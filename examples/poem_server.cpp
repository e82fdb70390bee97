// Poem server: seed 001 ("asyncio Protocol", Server.py). Answers each line of
// the poem <<荷叶杯·记得那年花下>> with the next one; for the last line or an
// unknown one it asks for the answer on stdin (the seed's input()).
//
//   Serving on ('127.0.0.1', 8888)
//   Connection from ('127.0.0.1', 54321)
//   Data received: '记得那年花下'
//   Send: '深夜'
//
// Where it differs from the seed: the seed calls input() inside
// data_received, which blocks the whole event loop until a line is typed, so
// every other client waits too. Here stdin is connected to the loop as a read
// pipe (connect_read_pipe): a client that needs an answer waits for the next
// line of the keyboard (its own reading paused meanwhile) while the others
// are served. Waiting clients get the lines in the order they asked. When
// stdin cannot be watched by epoll (a regular file or /dev/null, which never
// block anyway), it is read the seed's way.
//
// At the end of stdin the connection that waited for an answer is closed
// (the seed's input() would raise EOFError there); the server keeps serving.
// SIGINT / SIGTERM stop the loop, as KeyboardInterrupt ends run_forever(); the
// server then closes, and so do its clients (see server_shutdown.hpp).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"
#include "server_shutdown.hpp"

namespace {

const char kPrompt[] = "input the message:";

// The keyboard (stdin), read by the loop. Lines typed before anyone asks are
// kept, in order; reading pauses while one is waiting for an asker, so a
// large file piped in is not read into memory at once.
class Keyboard : public aiocpp::Protocol {
 public:
  // Gets the next line, or nullopt at the end of stdin; returns false if the
  // asker has gone meanwhile, and the line then goes to the next one.
  using Answer = std::function<bool(std::optional<std::string>)>;

  // input(prompt), without blocking the loop: prints the prompt, and
  // `answer` gets the line when it comes.
  void ask(Answer answer) {
    std::cout << kPrompt << std::flush;
    if (!transport_) {  // stdin is not a pipe: read it the seed's way
      answer(examples::input(""));
      return;
    }
    waiting_.push_back(std::move(answer));
    deliver();
  }

  using aiocpp::Protocol::connection_made;  // the other transport kinds: unused here
  void connection_made(aiocpp::ReadTransport& transport) override { transport_ = &transport; }

  void data_received(std::string_view data) override {
    partial_ += data;
    for (std::size_t newline; (newline = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
    }
    deliver();
  }

  bool eof_received() override {
    if (!partial_.empty()) lines_.push_back(std::move(partial_));  // input() returns it too
    partial_.clear();
    ended_ = true;
    deliver();
    return false;
  }

  void connection_lost(std::exception_ptr) override {
    ended_ = true;
    transport_ = nullptr;
    deliver();
  }

  // Stops reading stdin (when the server stops).
  void close() {
    if (transport_) transport_->close();
  }

 private:
  void deliver() {
    while (!waiting_.empty() && (!lines_.empty() || ended_)) {
      Answer answer = std::move(waiting_.front());
      waiting_.pop_front();
      if (lines_.empty()) {
        answer(std::nullopt);
      } else if (answer(lines_.front())) {
        lines_.pop_front();
      }
    }
    if (!transport_ || transport_->is_closing()) return;
    if (lines_.empty()) {
      transport_->resume_reading();
    } else {
      transport_->pause_reading();  // nobody asks yet: read on when someone does
    }
  }

  aiocpp::ReadTransport* transport_ = nullptr;  // valid until connection_lost
  std::string partial_;
  std::deque<std::string> lines_;
  std::deque<Answer> waiting_;
  bool ended_ = false;
};

class EchoServerClientProtocol : public aiocpp::Protocol,
                                 public std::enable_shared_from_this<EchoServerClientProtocol> {
 public:
  explicit EchoServerClientProtocol(std::shared_ptr<Keyboard> keyboard)
      : keyboard_(std::move(keyboard)) {}

  void connection_made(aiocpp::Transport& transport) override {
    aiocpp::SocketAddress peername = transport.peername();
    std::cout << "Connection from " << peername.to_string() << std::endl;
    transport_ = &transport;
  }

  void data_received(std::string_view data) override {
    std::string message = examples::py_repr(data);  // data.decode(), then {!r}
    std::cout << "Data received: " << message << std::endl;
    try {
      send(find_next(data));
    } catch (const std::out_of_range&) {  // IndexError, ValueError
      // This client's next lines wait until the keyboard has answered.
      transport_->pause_reading();
      std::weak_ptr<EchoServerClientProtocol> self = weak_from_this();
      keyboard_->ask([self](std::optional<std::string> line) {
        auto protocol = self.lock();
        if (!protocol || !protocol->transport_) return false;  // gone: not for this one
        protocol->answered(line);
        return true;
      });
    }
  }

  void connection_lost(std::exception_ptr) override { transport_ = nullptr; }

 private:
  void answered(const std::optional<std::string>& line) {
    if (!line) {  // the end of stdin, where input() raises EOFError
      transport_->close();
      return;
    }
    try {
      send(*line);
    } catch (const aiocpp::ValueError& e) {  // not UTF-8, as input() refuses it
      std::cerr << "Error: " << e.what() << std::endl;
      transport_->close();
      return;
    }
    transport_->resume_reading();
  }

  void send(const std::string& reply) {
    std::cout << "Send: " << examples::py_repr(reply) << std::endl;
    transport_->write(reply);
  }

  // self.word_list[self.word_list.index(data) + 1]
  std::string find_next(std::string_view data) const {
    auto it = std::find(word_list_.begin(), word_list_.end(), data);
    if (it == word_list_.end()) throw std::out_of_range("ValueError: not in list");
    if (it + 1 == word_list_.end()) throw std::out_of_range("IndexError: list index out of range");
    return *(it + 1);
  }

  std::shared_ptr<Keyboard> keyboard_;
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  std::string word_title_ = "我们一起来背诵 <<荷叶杯·记得那年花下>>";
  std::vector<std::string> word_list_ = {
      "记得那年花下", "深夜", "初识谢娘时", "水堂西面画帘垂", "携手暗相期",
      "惆怅晓莺残月", "相别", "从此隔音尘", "如今俱是异乡人", "相见更无因"};
};

// Connects stdin to the loop. A copy of fd 0 is given to the transport, so
// that fd 0 itself stays open if stdin turns out not to be a pipe.
void connect_keyboard(aiocpp::EventLoop& loop, const std::shared_ptr<Keyboard>& keyboard) {
  int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return;
  try {
    auto factory = [keyboard] { return keyboard; };
    loop.run_until_complete(loop.connect_read_pipe(factory, fd));
  } catch (const std::exception&) {
    // A regular file or /dev/null: epoll cannot watch it. Keyboard::ask reads it directly.
    ::close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  examples::block_stop_signals();
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 8888,
      "Poem server from seed 001 (\"asyncio Protocol\", Server.py): answers each\n"
      "line of <<荷叶杯·记得那年花下>> with the next line; for the last line or an\n"
      "unknown one it reads the answer from stdin, without keeping the other\n"
      "clients waiting. Serves until SIGINT or SIGTERM.");

  aiocpp::EventLoop& loop = examples::event_loop(args);
  auto keyboard = std::make_shared<Keyboard>();
  // Each client connection will create a new protocol instance
  auto coro = loop.create_server(
      [keyboard] { return std::make_shared<EchoServerClientProtocol>(keyboard); }, args.host,
      args.port);
  std::shared_ptr<aiocpp::Server> server;
  try {
    server = loop.run_until_complete(std::move(coro));
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    loop.close();
    return 1;
  }
  connect_keyboard(loop, keyboard);

  // Serve requests until Ctrl+C is pressed
  std::cout << "Serving on " << server->sockets().at(0).getsockname().to_string() << std::endl;
  {
    examples::StopSignals stop(loop, [&loop] { loop.stop(); });
    loop.run_forever();
  }

  // Close the server, then its clients, and stop reading the keyboard.
  loop.run_until_complete(examples::shut_down(server));
  keyboard->close();
  loop.run_until_complete(aiocpp::sleep(0));  // lets the pipe transport finish closing
  loop.close();
  return 0;
}
