// The remote command client of seed 000 (RemoteCmdClient_factory.py), for
// remote_cmd_server: sends the token ($REMOTE_CMD_TOKEN or --token-file), then
// each line of stdin as a command, printing each answer as it arrives. Ends at
// the end of stdin, after "exit", or when the server closes the connection.
//
//   $ REMOTE_CMD_TOKEN=secret remote_cmd_client --port 8888
//   date
//   Sun Nov 22 07:00:00 UTC 2026
//   %% exit 0

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

// Prints what the server sends; completes `answered` at each status line.
class CmdClientProtocol : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override {
    transport_ = &transport;
    answered = aiocpp::get_running_loop().create_future<bool>();
  }

  void data_received(std::string_view data) override {
    std::cout << data << std::flush;
    pending_ += data;
    // An answer ends with a line starting "%% "; "%% refused: wrong token" or
    // an over-long line also ends the connection, reported below.
    for (std::size_t newline; (newline = pending_.find('\n')) != std::string::npos;) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (line.rfind("%% ", 0) == 0) {
        last_status = line;
        if (!answered.done()) answered.set_result(true);
      }
    }
  }

  void connection_lost(std::exception_ptr) override {
    std::cout << "The server closed the connection" << std::endl;
    if (!answered.done()) answered.set_result(false);
    lost = true;
  }

  // Waits for the next answer; false once the connection is gone.
  aiocpp::Task<bool> next_answer() {
    bool more = co_await answered;
    if (more && !lost) answered = aiocpp::get_running_loop().create_future<bool>();
    co_return more && !lost;
  }

  aiocpp::Future<bool> answered;
  std::string last_status;  // the last "%% ..." line
  bool lost = false;

 private:
  aiocpp::Transport* transport_ = nullptr;
  std::string pending_;
};

std::optional<std::string> read_line() {
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  return line;
}

aiocpp::Task<int> amain(examples::Args args, std::string token) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  auto factory = [] { return std::make_shared<CmdClientProtocol>(); };
  auto [transport, protocol] = co_await loop.create_connection(factory, args.host, args.port);
  transport->write(token + "\n");
  if (!co_await protocol->next_answer() || protocol->last_status != "%% welcome") co_return 1;
  for (;;) {
    // stdin may block: read it on the executor, as asyncio programs do.
    std::optional<std::string> line = co_await loop.run_in_executor(nullptr, read_line);
    if (!line) break;
    transport->write(*line + "\n");
    if (*line == "exit" || !co_await protocol->next_answer()) break;
  }
  transport->close();
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --token-file FILE is ours; the rest is the examples' --host / --port.
  std::string token;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--token-file" && i + 1 < argc) {
      std::ifstream in(argv[++i]);
      std::getline(in, token);
      continue;
    }
    rest.push_back(argv[i]);
  }
  examples::Args args = examples::parse_args(
      static_cast<int>(rest.size()), rest.data(), "127.0.0.1", 8888,
      "Seed 000's remote command client: sends the token ($REMOTE_CMD_TOKEN or\n"
      "--token-file FILE), then each line of stdin as a command.");
  if (token.empty()) {
    if (const char* env = std::getenv("REMOTE_CMD_TOKEN")) token = env;
  }
  if (token.empty()) {
    std::cerr << "Error: no token: set REMOTE_CMD_TOKEN or give --token-file" << std::endl;
    return 2;
  }
  try {
    return aiocpp::run(amain(args, token), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
}
