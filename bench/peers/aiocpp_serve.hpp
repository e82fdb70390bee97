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

#include <cstdio>
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

// What a peer serves: a function that starts its server on 127.0.0.1:port
// with `options` (create_server for a protocol, start_server for streams).
using StartServer =
    aiocpp::Task<std::shared_ptr<aiocpp::Server>> (*)(int port, aiocpp::ServerOptions options);

template <class Protocol>
aiocpp::Task<std::shared_ptr<aiocpp::Server>> start_protocol(int port,
                                                             aiocpp::ServerOptions options) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  co_return co_await loop.create_server([] { return std::make_shared<Protocol>(); }, "127.0.0.1",
                                        port, options);
}

// With `ssl`, the server speaks TLS (create_server's ssl=).
inline aiocpp::Task<> serve(Args args, StartServer start, std::shared_ptr<aiocpp::SSLContext> ssl) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  aiocpp::ServerOptions options;
  options.ssl = std::move(ssl);
  std::shared_ptr<aiocpp::Server> server = co_await start(args.port, options);
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

// Blocks the stop signals (first, so that they reach only the signalfd),
// then serves what `start` starts until stopped. `args` from parse_args(argc, argv, true).
// --loop-option NAME: one of LoopOptions' io_uring switches, so that a duel
// can compare a binary with and without it (scripts/benchlib/peers.py).
inline void set_loop_option(aiocpp::LoopOptions& loop, const std::string& name) {
  if (name.empty()) return;
  if (name == "io_uring_single_thread") {
    loop.io_uring_single_thread = true;
  } else if (name == "no_io_uring_buffer_ring") {
    loop.io_uring_buffer_ring = false;
  } else {
    throw aiocpp::ValueError("unknown loop option '" + name +
                             "': io_uring_single_thread, no_io_uring_buffer_ring");
  }
}

inline int main_with(int argc, char** argv, StartServer start,
                     std::shared_ptr<aiocpp::SSLContext> ssl = nullptr) {
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_set, nullptr);
  Args args = parse_args(argc, argv, true);
  aiocpp::RunOptions options;
  try {
    if (!args.backend.empty()) options.loop.backend = aiocpp::backend_from_name(args.backend);
    set_loop_option(options.loop, args.loop_option);
  } catch (const aiocpp::ValueError& e) {
    std::cerr << argv[0] << ": error: " << e.what() << std::endl;
    return 2;
  }
  try {
    // Made here first, so that a backend the kernel refuses is a skip (with
    // the reason) for the runner, not a failure.
    aiocpp::new_event_loop(options.loop)->close();
  } catch (const std::exception& e) {
    std::printf("skip: %s\n", e.what());
    return 0;
  }
  try {
    aiocpp::run(serve(args, start, std::move(ssl)), options);
  } catch (const std::exception& e) {
    std::cerr << "aiocpp peer: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

template <class Protocol>
int main_for(int argc, char** argv, std::shared_ptr<aiocpp::SSLContext> ssl = nullptr) {
  return main_with(argc, argv, start_protocol<Protocol>, std::move(ssl));
}

}  // namespace peers
