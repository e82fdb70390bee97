// Issue 14, item 1: the steady-state streams echo makes zero heap
// allocations per message. A server started with start_server runs
// client_connected (readexactly into its string, write, drain); a client
// from open_connection writes 1 KiB, drains and reads the echo back with
// readexactly, on the same loop over 127.0.0.1. After a warm-up, the
// allocations of 1000 further round trips are counted (tests/alloc_counter.hpp)
// and must be 0: the reads complete without a coroutine frame, a wait
// reuses a recycled waiter future, and the strings keep their capacity.
// The read that returns a new string (readexactly(n)) is counted too: it
// allocates the string the caller asked for and nothing else.

#include <memory>
#include <string>

#include "aiocpp/streams.hpp"
#include "alloc_counter.hpp"
#include "test_support.hpp"

namespace {

using aiocpp::StreamReader;
using aiocpp::StreamWriter;
using aiocpp::Task;

constexpr long message_size = 1024;
constexpr int warmup_round_trips = 200;
constexpr int counted_round_trips = 1000;

Task<void> echo(std::shared_ptr<StreamReader> reader, std::shared_ptr<StreamWriter> writer) {
  std::string message;
  try {
    for (;;) {
      co_await reader->readexactly(message_size, message);
      writer->write(message);
      co_await writer->drain();
    }
  } catch (const aiocpp::IncompleteReadError&) {
    // The client closed.
  }
  writer->close();
}

struct EchoResult {
  Counts counts;
  bool corrupt = false;
};

// `rounds` round trips; the allocations of all but the first are counted
// when `count` (the first only starts the phase, as in perf_zero_alloc).
// With `returned`, the client reads with readexactly(n), which returns a
// new string each time.
Task<void> ping(StreamReader& reader, StreamWriter& writer, const std::string& message, int rounds,
                bool count, bool returned, EchoResult& result) {
  std::string echoed;
  for (int i = 0; i < rounds; ++i) {
    if (count && i == 1) start_counting();
    writer.write(message);
    co_await writer.drain();
    if (returned) {
      echoed = co_await reader.readexactly(message_size);
    } else {
      co_await reader.readexactly(message_size, echoed);
    }
    if (echoed != message) result.corrupt = true;
  }
  if (count) result.counts = stop_counting();
}

Task<EchoResult> echo_allocations(bool returned) {
  std::shared_ptr<aiocpp::Server> server = co_await aiocpp::start_server(echo, "127.0.0.1", 0);
  int port = server->sockets().at(0).getsockname().port();
  aiocpp::Streams streams = co_await aiocpp::open_connection("127.0.0.1", port);
  std::string message(message_size, '\0');
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>(i % 251);

  EchoResult result;
  co_await ping(*streams.reader, *streams.writer, message, warmup_round_trips, false, returned,
                result);
  co_await ping(*streams.reader, *streams.writer, message, counted_round_trips + 1, true, returned,
                result);

  streams.writer->close();
  co_await streams.writer->wait_closed();
  server->close();
  co_await server->wait_closed();
  co_return result;
}

AIOCPP_BACKEND_SUITE(PerfStreamsZeroAlloc);

TEST_P(PerfStreamsZeroAlloc, StreamsEchoMakesNoAllocationPerMessage) {
  aiocpp::testing::FdLeakCheck fd_check;
  EchoResult result = run_bounded(echo_allocations(false), 30.0);
  EXPECT_FALSE(result.corrupt) << "the echo did not return the bytes sent";
  if (result.counts.allocations != 0) print_first_stack();
  EXPECT_EQ(result.counts.allocations, 0u)
      << "heap allocations in " << counted_round_trips << " streams round trips of " << message_size
      << " bytes (the first one's stack is on stderr)";
  EXPECT_EQ(result.counts.deallocations, 0u);
}

TEST_P(PerfStreamsZeroAlloc, ReturningReadAllocatesOnlyTheStringItReturns) {
  aiocpp::testing::FdLeakCheck fd_check;
  EchoResult result = run_bounded(echo_allocations(true), 30.0);
  EXPECT_FALSE(result.corrupt);
  if (result.counts.allocations != counted_round_trips) print_first_stack();
  EXPECT_EQ(result.counts.allocations, static_cast<std::size_t>(counted_round_trips))
      << "one allocation per round trip: the returned string";
}

}  // namespace
