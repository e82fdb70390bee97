#pragma once
// What both aiocpp echo peers share: serve a protocol on 127.0.0.1 until
// SIGINT/SIGTERM or until the byte budget of --requests is spent, as a user
// of aiocpp would write it (create_server, serve_forever, cancel to stop).
//
// The stop signals arrive through a signalfd watched with add_reader, not
// through a signal thread (as the examples' StopSignals does): a second
// thread would switch glibc's recv/send to their multi-threaded path (about
// 60 more instructions per echo for the cancellation bookkeeping) and the
// other servers here are single-threaded too.

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "aiocpp/aiocpp.hpp"
#include "peer_args.hpp"

namespace peers {

// Counts echoed bytes and stops the server when the budget is spent.
class Budget {
 public:
  static Budget& instance() {
    static Budget budget;
    return budget;
  }
  // The budget if --requests set one, else null: a protocol keeps this
  // pointer, so that a timed run (no budget) touches no global per message,
  // as the raw servers count in a local.
  static Budget* active() { return instance().limit_ != 0 ? &instance() : nullptr; }
  void echoed(std::size_t n) {  // through active(), so limit_ is set
    total_ += n;
    if (total_ >= limit_) [[unlikely]]
      spent();
  }
  [[gnu::noinline]] void spent() {
    if (serving_ && !serving_->done()) serving_->cancel();
  }
  std::uint64_t limit_ = 0, total_ = 0;
  aiocpp::Task<>* serving_ = nullptr;
};

// What a peer serves: a function that starts its server on 127.0.0.1:port.
using StartServer = aiocpp::Task<std::shared_ptr<aiocpp::Server>> (*)(int port);

template <class Protocol>
aiocpp::Task<std::shared_ptr<aiocpp::Server>> start_protocol(int port) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  co_return co_await loop.create_server([] { return std::make_shared<Protocol>(); }, "127.0.0.1",
                                        port);
}

inline aiocpp::Task<> serve(Args args, StartServer start) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  std::shared_ptr<aiocpp::Server> server = co_await start(args.port);
  announce_port(server->sockets().at(0).getsockname().port());
  aiocpp::Task<> serving = loop.create_task(server->serve_forever());
  Budget::instance().limit_ = args.stop_after_bytes;
  Budget::instance().serving_ = &serving;
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  int signals = signalfd(-1, &stop_set, SFD_NONBLOCK | SFD_CLOEXEC);
  auto on_signal = [serving, signals]() mutable {
    signalfd_siginfo info;
    (void)!read(signals, &info, sizeof info);  // consumed, or it stays readable
    serving.cancel();
  };
  loop.add_reader(signals, on_signal);
  try {
    co_await serving;
  } catch (const aiocpp::CancelledError&) {
    // Stopped by a signal or the budget: serve_forever closed the server.
  }
  loop.remove_reader(signals);
  close(signals);
  Budget::instance().serving_ = nullptr;
}

// Blocks the stop signals (before any thread starts, so that they reach
// only the signalfd) and serves until stopped.
inline int main_with(Args args, StartServer start) {
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_set, nullptr);
  try {
    aiocpp::run(serve(args, start));
  } catch (const std::exception& e) {
    std::cerr << "aiocpp peer: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

template <class Protocol>
int main_for(int argc, char** argv) {
  return main_with(parse_args(argc, argv), start_protocol<Protocol>);
}

}  // namespace peers
