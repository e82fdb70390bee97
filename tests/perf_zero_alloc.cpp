// Performance rule 1 (DESIGN.md): the steady-state echo path makes zero heap
// allocations per message, with a Protocol server and with a BufferedProtocol
// server, over TCP and over TLS.
//
// This file replaces the global operator new / delete (every variant: plain,
// array, sized, aligned, nothrow) with versions that count while counting is
// switched on. A client and an echo server share one loop over 127.0.0.1:
// the client writes 1 KiB, the server echoes it from its protocol callback
// with transport.write, the client waits for the whole echo and writes again,
// all inside protocol callbacks (no future per message). After a warm-up the
// client counts the allocations of 1000 further round trips, which must be 0.
// When one happens, the first such allocation's stack is printed to stderr
// (raw frames: resolve them with `addr2line -Cfe <test binary> 0x...` or
// in gdb: break '(anonymous namespace)::counted_allocation').
//
// The replacement coexists with AddressSanitizer: ASan's own operator new is
// overridden by the executable's, and our versions allocate with malloc, which
// ASan still checks. The first test proves the counter sees allocations made
// anywhere (the test, the aiocpp library), so a zero cannot come from a
// replacement that is not in effect.

#include <execinfo.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>

#include "alloc_counter.hpp"
#include "test_support.hpp"
#include "tls_helpers.hpp"

namespace {

// Over TLS only aiocpp's allocations count: OpenSSL's go through
// CRYPTO_malloc, and with SSL_MODE_RELEASE_BUFFERS (ssl_context.cpp says why)
// it takes a record buffer per message from malloc's cache-warm free list.

using aiocpp::Future;
using aiocpp::Task;
using aiocpp::Transport;

// --- The echo --------------------------------------------------------------------------

constexpr std::size_t message_size = 1024;
constexpr int warmup_round_trips = 200;
constexpr int counted_round_trips = 1000;

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

// Writes a message, waits for its whole echo (checking every byte), writes
// it again. run() does `rounds` round trips; with `count`, it counts the
// allocations of all but the first (which only starts the phase).
class PingClient : public aiocpp::Protocol {
 public:
  PingClient() : message_(message_size, '\0') {
    for (std::size_t i = 0; i < message_.size(); ++i) message_[i] = static_cast<char>(i % 251);
  }

  void connection_made(Transport& transport) override { transport_ = &transport; }

  void run(int rounds, bool count, Future<void> done) {
    remaining_ = rounds;
    count_ = count;
    done_ = std::move(done);
    received_ = 0;
    transport_->write(message_);
  }

  void data_received(std::string_view data) override {
    if (received_ + data.size() > message_.size() ||
        std::memcmp(data.data(), message_.data() + received_, data.size()) != 0) {
      corrupt_ = true;
    }
    received_ += data.size();
    if (received_ < message_.size()) return;
    received_ = 0;
    --remaining_;
    if (count_ && remaining_ == counted_round_trips) start_counting();
    if (remaining_ > 0) {
      transport_->write(message_);
      return;
    }
    if (count_) counts_ = stop_counting();
    if (!done_.done()) done_.set_result();
  }

  void connection_lost(std::exception_ptr) override {
    if (counting.load()) counts_ = stop_counting();
    if (done_.valid() && !done_.done()) {
      done_.set_exception(aiocpp::RuntimeError("connection lost during the echo"));
    }
  }

  Counts counts() const { return counts_; }
  bool corrupt() const { return corrupt_; }

 private:
  std::string message_;
  Transport* transport_ = nullptr;
  Future<void> done_;
  std::size_t received_ = 0;
  int remaining_ = 0;
  bool count_ = false;
  bool corrupt_ = false;
  Counts counts_;
};

struct EchoResult {
  Counts counts;
  bool corrupt = false;
};

// With `tls`, both ends speak TLS (create_server's and create_connection's
// ssl=), so that the count covers SSLProtocol on both sides.
template <class Server>
Task<EchoResult> echo_allocations(bool tls) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  auto server_factory = [] { return std::make_shared<Server>(); };
  aiocpp::ServerOptions server_options;
  aiocpp::ConnectionOptions client_options;
  if (tls) {
    server_options.ssl = aiocpp::testing::server_context();
    client_options.ssl = aiocpp::testing::client_context();
    client_options.server_hostname = "localhost";
  }
  std::shared_ptr<aiocpp::Server> server =
      co_await loop.create_server(server_factory, "127.0.0.1", 0, server_options);
  int port = server->sockets().at(0).getsockname().port();
  auto client_factory = [] { return std::make_shared<PingClient>(); };
  auto connection =
      co_await loop.create_connection(client_factory, "127.0.0.1", port, client_options);
  std::shared_ptr<PingClient> client = connection.protocol;

  Future<void> warmed_up = loop.create_future<void>();
  client->run(warmup_round_trips, false, warmed_up);
  co_await warmed_up;

  Future<void> counted = loop.create_future<void>();
  client->run(counted_round_trips + 1, true, counted);
  co_await counted;

  EchoResult result{client->counts(), client->corrupt()};
  connection.transport->close();
  server->close();
  co_await server->wait_closed();
  co_return result;
}

template <class Server>
void expect_zero_allocations(aiocpp::LoopOptions loop, bool tls = false) {
  aiocpp::testing::FdLeakCheck fd_check;
  EchoResult result = aiocpp::testing::run_bounded(echo_allocations<Server>(tls), 30.0, loop);
  EXPECT_FALSE(result.corrupt) << "the echo did not return the bytes sent";
  if (result.counts.allocations != 0) print_first_stack();
  EXPECT_EQ(result.counts.allocations, 0u)
      << "heap allocations in " << counted_round_trips << " round trips of " << message_size
      << " bytes (the first one's stack is on stderr)";
  EXPECT_EQ(result.counts.deallocations, 0u)
      << "heap deallocations in " << counted_round_trips << " round trips";
}

AIOCPP_BACKEND_SUITE(PerfZeroAlloc);

TEST_P(PerfZeroAlloc, CounterSeesEveryKindOfAllocation) {
  struct alignas(64) Aligned {
    char bytes[64];
  };
  // escape() keeps the compiler from removing a new / delete pair.
  auto escape = [](auto* p) {
    asm volatile("" : : "g"(p) : "memory");
    return p;
  };
  start_counting();
  delete escape(new int(1));
  delete[] escape(new int[3]);
  delete escape(new Aligned);
  delete[] escape(new Aligned[2]);
  delete escape(new (std::nothrow) int(2));
  std::string long_string(1000, 'x');  // through std::allocator
  Counts in_test = stop_counting();
  EXPECT_EQ(in_test.allocations, 6u);
  EXPECT_EQ(in_test.deallocations, 5u);  // the string is still alive

  // Allocations made inside the aiocpp library are seen too.
  start_counting();
  auto loop = aiocpp::new_event_loop(loop_options());
  loop->close();
  loop.reset();
  Counts in_library = stop_counting();
  EXPECT_GT(in_library.allocations, 0u);
  EXPECT_EQ(in_library.allocations, in_library.deallocations);
}

TEST_P(PerfZeroAlloc, ProtocolEchoMakesNoAllocationPerMessage) {
  expect_zero_allocations<EchoServer>(loop_options());
}

TEST_P(PerfZeroAlloc, BufferedProtocolEchoMakesNoAllocationPerMessage) {
  expect_zero_allocations<BufferedEchoServer>(loop_options());
}

TEST_P(PerfZeroAlloc, TLSProtocolEchoMakesNoAllocationPerMessage) {
  expect_zero_allocations<EchoServer>(loop_options(), true);
}

TEST_P(PerfZeroAlloc, TLSBufferedProtocolEchoMakesNoAllocationPerMessage) {
  expect_zero_allocations<BufferedEchoServer>(loop_options(), true);
}

// --- Pipes: a write pipe feeding a read pipe on the same loop ----------------------------

// Reads each message back from the pipe and writes the next one, from
// data_received, like PingClient.
class PipePing : public aiocpp::Protocol {
 public:
  void data_received(std::string_view data) override {
    received_ += data.size();
    if (received_ < message.size()) return;
    received_ = 0;
    --remaining;
    if (count && remaining == counted_round_trips) start_counting();
    if (remaining > 0) {
      writer->write(message);
      return;
    }
    if (count) counts = stop_counting();
    if (!done.done()) done.set_result();
  }

  std::string message = std::string(message_size, 'p');
  aiocpp::WriteTransport* writer = nullptr;
  Future<void> done;
  int remaining = 0;
  bool count = false;
  Counts counts;

 private:
  std::size_t received_ = 0;
};

Task<Counts> pipe_allocations() {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  auto ping_factory = [] { return std::make_shared<PipePing>(); };
  auto reading = co_await loop.connect_read_pipe(ping_factory, fds[0]);
  auto base_factory = [] { return std::make_shared<aiocpp::BaseProtocol>(); };
  auto writing = co_await loop.connect_write_pipe(base_factory, fds[1]);
  std::shared_ptr<PipePing> ping = reading.protocol;
  ping->writer = writing.transport.get();
  for (bool count : {false, true}) {
    ping->done = loop.create_future<void>();
    ping->count = count;
    ping->remaining = count ? counted_round_trips + 1 : warmup_round_trips;
    ping->writer->write(ping->message);
    co_await ping->done;
  }
  writing.transport->close();
  co_await aiocpp::sleep(0);
  co_return ping->counts;
}

TEST_P(PerfZeroAlloc, PipeReadsAndWritesMakeNoAllocationPerMessage) {
  AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::pipes);
  aiocpp::testing::FdLeakCheck fd_check;
  Counts counts = run_bounded(pipe_allocations(), 30.0);
  if (counts.allocations != 0) print_first_stack();
  EXPECT_EQ(counts.allocations, 0u) << "heap allocations in " << counted_round_trips
                                    << " pipe round trips (the first one's stack is on stderr)";
  EXPECT_EQ(counts.deallocations, 0u);
}

}  // namespace
