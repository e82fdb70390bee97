// Performance rule 1 (DESIGN.md) for datagrams: the steady-state UDP echo
// path makes zero heap allocations per datagram, receiving (into the loop's
// buffer, the sender's address on the stack) and sending (sendto straight
// from the caller's bytes while the socket has room).
//
// As in perf_zero_alloc.cpp, this executable replaces the global operator
// new / delete with versions that count while counting is on. A client
// endpoint (connected: sendto without an address) and an echo server
// endpoint (unconnected: sendto back to the sender's address) share one loop
// over 127.0.0.1; each datagram is answered from inside datagram_received,
// so no future or task is involved per message. After a warm-up, 1000
// round trips of 1 KiB must allocate nothing.

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "alloc_counter.hpp"
#include "test_support.hpp"

namespace {

using namespace aiocpp;

constexpr std::size_t message_size = 1024;
constexpr int warmup_round_trips = 200;
constexpr int counted_round_trips = 1000;

class EchoServer : public DatagramProtocol {
 public:
  void connection_made(DatagramTransport& transport) override { transport_ = &transport; }
  void datagram_received(std::string_view data, const SocketAddress& from) override {
    transport_->sendto(data, from);
  }

 private:
  DatagramTransport* transport_ = nullptr;
};

// Sends a datagram, checks its echo, sends again, `rounds` times; counts the
// allocations of all but the first round trip when asked to.
class PingClient : public DatagramProtocol {
 public:
  PingClient() : message_(message_size, '\0') {
    for (std::size_t i = 0; i < message_.size(); ++i) message_[i] = static_cast<char>(i % 251);
  }
  void connection_made(DatagramTransport& transport) override { transport_ = &transport; }

  void run(int rounds, bool count, Future<void> done) {
    remaining_ = rounds;
    count_ = count;
    done_ = std::move(done);
    transport_->sendto(message_);
  }

  void datagram_received(std::string_view data, const SocketAddress&) override {
    if (data != message_) corrupt_ = true;
    --remaining_;
    if (count_ && remaining_ == counted_round_trips) {
      start_counting();
    }
    if (remaining_ > 0) {
      transport_->sendto(message_);
      return;
    }
    if (count_) {
      counted_ = stop_counting().allocations;
    }
    if (!done_.done()) done_.set_result();
  }
  void error_received(std::exception_ptr) override { errors_ = true; }

  std::size_t counted() const { return counted_; }
  bool corrupt() const { return corrupt_; }
  bool errors() const { return errors_; }

 private:
  std::string message_;
  DatagramTransport* transport_ = nullptr;
  Future<void> done_;
  int remaining_ = 0;
  bool count_ = false;
  bool corrupt_ = false;
  bool errors_ = false;
  std::size_t counted_ = 0;
};

struct Result {
  std::size_t allocations = 0;
  bool corrupt = false;
  bool errors = false;
};

Task<Result> echo_allocations() {
  EventLoop& loop = get_running_loop();
  auto server_factory = [] { return std::make_shared<EchoServer>(); };
  DatagramEndpointOptions server_options{.local_addr = std::pair<std::string, int>("127.0.0.1", 0)};
  auto server = co_await loop.create_datagram_endpoint(server_factory, server_options);
  auto client_factory = [] { return std::make_shared<PingClient>(); };
  DatagramEndpointOptions client_options{
      .remote_addr = std::pair<std::string, int>("127.0.0.1", server.transport->sockname().port())};
  auto client = co_await loop.create_datagram_endpoint(client_factory, client_options);

  Future<void> warmed_up = loop.create_future<void>();
  client.protocol->run(warmup_round_trips, false, warmed_up);
  co_await warmed_up;
  Future<void> counted = loop.create_future<void>();
  client.protocol->run(counted_round_trips + 1, true, counted);
  co_await counted;

  Result result{client.protocol->counted(), client.protocol->corrupt(), client.protocol->errors()};
  client.transport->close();
  server.transport->close();
  co_await sleep(0);  // connection_lost runs
  co_return result;
}

AIOCPP_BACKEND_SUITE_NEEDING(PerfUdpZeroAlloc, Feature::datagrams);

TEST_P(PerfUdpZeroAlloc, CounterIsInEffect) {
  start_counting();
  auto* p = new std::string(100, 'x');
  asm volatile("" : : "g"(p) : "memory");
  delete p;
  EXPECT_GE(stop_counting().allocations, 1u);
}

TEST_P(PerfUdpZeroAlloc, DatagramEchoMakesNoAllocationPerMessage) {
  aiocpp::testing::FdLeakCheck fd_check;
  Result result = run_bounded(echo_allocations(), 30.0);
  EXPECT_FALSE(result.corrupt) << "the echo did not return the datagram sent";
  EXPECT_FALSE(result.errors) << "error_received during the echo";
  EXPECT_EQ(result.allocations, 0u) << "heap allocations in " << counted_round_trips
                                    << " UDP round trips of " << message_size << " bytes";
}

}  // namespace
