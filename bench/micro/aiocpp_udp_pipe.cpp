// Datagrams and pipes on each backend, side by side (issue 15): a UDP echo
// round trip over 127.0.0.1 (a connected client and an unconnected echo
// server in one loop, everything in protocol callbacks), and the throughput
// of one pipe (a writer pumping 64 KiB chunks under flow control, a reader
// counting them). The argument picks the backend: 0 selector, 1 io_uring.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "aiocpp/aiocpp.hpp"

namespace {

using aiocpp::DatagramTransport;
using aiocpp::EventLoop;
using aiocpp::Future;
using aiocpp::SocketAddress;
using aiocpp::Task;

aiocpp::LoopOptions backend(const benchmark::State& state) {
  return {.backend = state.range(0) == 0 ? aiocpp::Backend::selector : aiocpp::Backend::io_uring};
}

// --- UDP echo ----------------------------------------------------------------------

class EchoServer : public aiocpp::DatagramProtocol {
 public:
  void connection_made(DatagramTransport& transport) override { transport_ = &transport; }
  void datagram_received(std::string_view data, const SocketAddress& from) override {
    transport_->sendto(data, from);
  }

 private:
  DatagramTransport* transport_ = nullptr;
};

class PingClient : public aiocpp::DatagramProtocol {
 public:
  PingClient(benchmark::State& state, Future<void> done, std::size_t size)
      : state_(state), done_(std::move(done)), message_(size, 'x') {}
  void connection_made(DatagramTransport& transport) override { transport_ = &transport; }
  void next() {
    if (state_.KeepRunning()) {
      transport_->sendto(message_);
    } else if (!done_.done()) {
      done_.set_result();
    }
  }
  void datagram_received(std::string_view, const SocketAddress&) override { next(); }

 private:
  benchmark::State& state_;
  Future<void> done_;
  std::string message_;
  DatagramTransport* transport_ = nullptr;
};

Task<> udp_echo_task(benchmark::State& state, EventLoop& loop) {
  // Named locals, not temporaries inside co_await (GCC 12, see README).
  aiocpp::DatagramEndpointOptions server_options;
  server_options.local_addr = std::pair<std::string, int>("127.0.0.1", 0);
  auto server_factory = [] { return std::make_shared<EchoServer>(); };
  auto server = co_await loop.create_datagram_endpoint(server_factory, server_options);
  aiocpp::DatagramEndpointOptions client_options;
  client_options.remote_addr =
      std::pair<std::string, int>("127.0.0.1", server.transport->sockname().port());
  Future<void> done = loop.create_future<void>();
  std::size_t size = 1024;
  auto client_factory = [&state, done, size] {
    return std::make_shared<PingClient>(state, done, size);
  };
  auto client = co_await loop.create_datagram_endpoint(client_factory, client_options);
  client.protocol->next();  // KeepRunning() starts the clock
  co_await done;
  client.transport->close();
  server.transport->close();
}

void udp_echo(benchmark::State& state) {
  EventLoop loop(backend(state));
  try {
    loop.run_until_complete(udp_echo_task(state, loop));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  state.SetItemsProcessed(state.iterations());
  loop.close();
}

// --- pipe throughput ---------------------------------------------------------------

constexpr std::size_t chunk_size = 64 * 1024;

class Pump : public aiocpp::Protocol {
 public:
  explicit Pump(benchmark::State& state) : state_(state), chunk_(chunk_size, 'p') {}
  using aiocpp::Protocol::connection_made;
  void connection_made(aiocpp::WriteTransport& transport) override { transport_ = &transport; }
  // Writes while the transport takes more; closes once the benchmark is done.
  void pump() {
    while (!paused_ && transport_ && !transport_->is_closing()) {
      if (!state_.KeepRunning()) {
        transport_->close();
        return;
      }
      transport_->write(chunk_);
    }
  }
  void pause_writing() override { paused_ = true; }
  void resume_writing() override {
    paused_ = false;
    pump();
  }

 private:
  benchmark::State& state_;
  std::string chunk_;
  aiocpp::WriteTransport* transport_ = nullptr;
  bool paused_ = false;
};

class Sink : public aiocpp::Protocol {
 public:
  explicit Sink(Future<void> done) : done_(std::move(done)) {}
  void data_received(std::string_view data) override { bytes_ += data.size(); }
  void connection_lost(std::exception_ptr) override {
    if (!done_.done()) done_.set_result();
  }
  std::size_t bytes() const { return bytes_; }

 private:
  Future<void> done_;
  std::size_t bytes_ = 0;
};

Task<std::size_t> pipe_task(benchmark::State& state, EventLoop& loop) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw aiocpp::RuntimeError("pipe2 failed");
  Future<void> done = loop.create_future<void>();
  auto sink_factory = [done] { return std::make_shared<Sink>(done); };
  auto reader = co_await loop.connect_read_pipe(sink_factory, fds[0]);
  auto pump_factory = [&state] { return std::make_shared<Pump>(state); };
  auto writer = co_await loop.connect_write_pipe(pump_factory, fds[1]);
  writer.protocol->pump();
  co_await done;
  co_return reader.protocol->bytes();
}

void pipe_throughput(benchmark::State& state) {
  EventLoop loop(backend(state));
  std::size_t bytes = 0;
  try {
    bytes = loop.run_until_complete(pipe_task(state, loop));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  loop.close();
}

// AIOCPP_BENCH_ITERATIONS=N runs each benchmark exactly N times, once: what
// `strace -c` needs to count system calls per datagram (two counts' difference).
void configure(benchmark::internal::Benchmark* b) {
  b->ArgName("io_uring")->Arg(0)->Arg(1)->UseRealTime();
  if (const char* n = std::getenv("AIOCPP_BENCH_ITERATIONS")) b->Iterations(std::atoll(n));
}

[[maybe_unused]] const bool registered = [] {
  configure(benchmark::RegisterBenchmark("aiocpp/udp_echo_1KiB", udp_echo));
  configure(benchmark::RegisterBenchmark("aiocpp/pipe_64KiB_chunks", pipe_throughput));
  return true;
}();

}  // namespace
