#pragma once
// What both aiocpp echo peers share: serve a protocol on 127.0.0.1 until
// SIGINT/SIGTERM or until the byte budget of --requests is spent, as a user
// of aiocpp would write it (create_server, serve_forever, cancel to stop).

#include <iostream>
#include <memory>
#include <optional>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"  // StopSignals: the examples' clean stop on a signal
#include "peer_args.hpp"

namespace peers {

// Counts echoed bytes and stops the server when the budget is spent.
class Budget {
 public:
  static Budget& instance() {
    static Budget budget;
    return budget;
  }
  void echoed(std::size_t n) {
    total_ += n;
    if (limit_ != 0 && total_ >= limit_ && serving_ && !serving_->done()) serving_->cancel();
  }
  std::uint64_t limit_ = 0, total_ = 0;
  aiocpp::Task<>* serving_ = nullptr;
};

template <class Protocol>
aiocpp::Task<> serve(Args args) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  std::shared_ptr<aiocpp::Server> server = co_await loop.create_server(
      [] { return std::make_shared<Protocol>(); }, "127.0.0.1", args.port);
  announce_port(server->sockets().at(0).getsockname().port());
  aiocpp::Task<> serving = loop.create_task(server->serve_forever());
  Budget::instance().limit_ = args.stop_after_bytes;
  Budget::instance().serving_ = &serving;
  examples::StopSignals stop(loop, [serving]() mutable { serving.cancel(); });
  try {
    co_await serving;
  } catch (const aiocpp::CancelledError&) {
    // Stopped by a signal or the budget: serve_forever closed the server.
  }
  Budget::instance().serving_ = nullptr;
}

template <class Protocol>
int main_for(int argc, char** argv) {
  examples::block_stop_signals();
  Args args = parse_args(argc, argv);
  try {
    aiocpp::run(serve<Protocol>(args));
  } catch (const std::exception& e) {
    std::cerr << "aiocpp peer: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace peers
