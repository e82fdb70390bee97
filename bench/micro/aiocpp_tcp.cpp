// A TCP echo round trip over 127.0.0.1, server and client in one loop: the
// client writes a message, the server echoes it from data_received (or
// buffer_updated), the client waits for the whole echo and writes again. One
// iteration = one round trip. Everything happens in protocol callbacks: the
// benchmark's KeepRunning() is called from the client's data_received, so
// nothing but the echo itself is timed. The peer is libuv_tcp.cpp.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "aiocpp/aiocpp.hpp"

namespace {

using aiocpp::EventLoop;
using aiocpp::Future;
using aiocpp::Task;
using aiocpp::Transport;

class EchoServer : public aiocpp::Protocol {
 public:
  void connection_made(Transport& transport) override { transport_ = &transport; }
  void data_received(std::string_view data) override { transport_->write(data); }

 private:
  Transport* transport_ = nullptr;
};

class BufferedEchoServer : public aiocpp::BufferedProtocol {
 public:
  void connection_made(Transport& transport) override { transport_ = &transport; }
  std::span<char> get_buffer(std::size_t) override { return buffer_; }
  void buffer_updated(std::size_t nbytes) override {
    transport_->write(std::string_view(buffer_.data(), nbytes));
  }

 private:
  Transport* transport_ = nullptr;
  std::array<char, 64 * 1024> buffer_{};
};

class PingClient : public aiocpp::Protocol {
 public:
  PingClient(benchmark::State& state, Future<void> done, std::size_t size)
      : state_(state), done_(std::move(done)), message_(size, 'x') {}

  void connection_made(Transport& transport) override { transport_ = &transport; }

  // Sends the next ping while the benchmark wants more; completes `done` after.
  void next() {
    if (state_.KeepRunning()) {
      transport_->write(message_);
    } else if (!done_.done()) {
      done_.set_result();
    }
  }

  void data_received(std::string_view data) override {
    received_ += data.size();
    if (received_ < message_.size()) return;
    received_ -= message_.size();
    next();
  }

  void connection_lost(std::exception_ptr) override {
    if (!done_.done()) done_.set_exception(aiocpp::RuntimeError("connection lost"));
  }

 private:
  benchmark::State& state_;
  Future<void> done_;
  std::string message_;
  std::size_t received_ = 0;
  Transport* transport_ = nullptr;
};

template <class Server>
Task<> echo(benchmark::State& state, EventLoop& loop, std::size_t size) {
  auto server_factory = [] { return std::make_shared<Server>(); };
  std::shared_ptr<aiocpp::Server> server =
      co_await loop.create_server(server_factory, "127.0.0.1", 0);
  int port = server->sockets().at(0).getsockname().port();

  Future<void> done = loop.create_future<void>();
  auto client_factory = [&state, done, size] {
    return std::make_shared<PingClient>(state, done, size);
  };
  auto connection = co_await loop.create_connection(client_factory, "127.0.0.1", port);
  connection.protocol->next();  // KeepRunning() starts the clock
  co_await done;

  connection.transport->close();
  server->close();
  co_await server->wait_closed();
}

template <class Server>
void tcp_echo(benchmark::State& state) {
  EventLoop loop;
  try {
    loop.run_until_complete(echo<Server>(state, loop, static_cast<std::size_t>(state.range(0))));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0) * 2);
  loop.close();
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("aiocpp/tcp_echo", tcp_echo<EchoServer>)->Arg(64)->UseRealTime();
  benchmark::RegisterBenchmark("aiocpp/tcp_echo_buffered", tcp_echo<BufferedEchoServer>)
      ->Arg(64)
      ->UseRealTime();
  return true;
}();

}  // namespace
