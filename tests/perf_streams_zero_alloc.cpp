// Issue 14, item 1: the steady-state streams echo makes zero heap
// allocations per message. A server started with start_server runs
// client_connected (readexactly into its string, write, drain); a client
// from open_connection writes 1 KiB, drains and reads the echo back with
// readexactly, on the same loop over 127.0.0.1. After a warm-up, the
// allocations of 1000 further round trips are counted (tests/alloc_counter.hpp)
// and must be 0: the reads complete without a coroutine frame, a wait
// reuses a recycled waiter future, and the strings keep their capacity.
// The read that returns a new string (readexactly(n)) is counted too: it
// allocates the string the caller asked for and nothing else. Last, the
// paused path of drain(): a writer faster than its reader waits in drain()
// for resume_writing every message, and that allocates nothing either.

#include <sys/socket.h>

#include <any>
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

// --- drain() while the transport is paused ---------------------------------------------

// Each request (one byte) is answered with a message far larger than the
// server's high-water mark, through socket buffers made small: the write
// leaves most of the message in the transport's buffer, the transport pauses
// and drain() waits until the client (the slow reader) has taken enough.
// Below ByteBuffer::kept_capacity (256 KiB), which a transport's write
// buffer keeps: a larger burst is given back, and then allocated again.
constexpr long big_message_size = 192 * 1024;
constexpr std::size_t high_water = 64 * 1024;
constexpr int paused_warmup_rounds = 20;
constexpr int paused_counted_rounds = 200;

// Fixed SO_SNDBUF / SO_RCVBUF (no autotuning), far below a message: the
// kernel cannot take a whole one. (A few KiB would do too, but such small
// TCP windows stall on delayed acknowledgements.)
void shrink_socket_buffers(const StreamWriter& writer) {
  auto sock = std::any_cast<aiocpp::TransportSocket>(writer.get_extra_info("socket"));
  int size = 16 * 1024;
  setsockopt(sock.fileno(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt(sock.fileno(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

struct PausedResult {
  Counts counts;
  int paused_drains = 0;  // answers after which the transport was paused
  bool corrupt = false;
};

Task<void> answer_big(std::shared_ptr<StreamReader> reader, std::shared_ptr<StreamWriter> writer,
                      PausedResult& result) {
  shrink_socket_buffers(*writer);
  writer->transport().set_write_buffer_limits(high_water, high_water / 4);
  std::string message(big_message_size, 'x'), request;
  try {
    for (;;) {
      co_await reader->readexactly(1, request);
      writer->write(message);
      if (writer->transport().get_write_buffer_size() > high_water) ++result.paused_drains;
      co_await writer->drain();
    }
  } catch (const aiocpp::IncompleteReadError&) {
    // The client closed.
  }
  writer->close();
}

Task<void> request_big(StreamReader& reader, StreamWriter& writer, int rounds, bool count,
                       PausedResult& result) {
  std::string answer;
  for (int i = 0; i < rounds; ++i) {
    if (count && i == 1) {
      start_counting();
      result.paused_drains = 0;
    }
    writer.write("?");
    co_await writer.drain();
    co_await reader.readexactly(big_message_size, answer);
    if (answer.size() != static_cast<std::size_t>(big_message_size) ||
        answer.find_first_not_of('x') != std::string::npos) {
      result.corrupt = true;
    }
  }
  if (count) result.counts = stop_counting();
}

Task<PausedResult> paused_drain_allocations() {
  PausedResult result;
  auto client_connected = [&result](std::shared_ptr<StreamReader> reader,
                                    std::shared_ptr<StreamWriter> writer) {
    return answer_big(std::move(reader), std::move(writer), result);
  };
  std::shared_ptr<aiocpp::Server> server =
      co_await aiocpp::start_server(client_connected, "127.0.0.1", 0);
  int port = server->sockets().at(0).getsockname().port();
  aiocpp::Streams streams = co_await aiocpp::open_connection("127.0.0.1", port);
  shrink_socket_buffers(*streams.writer);

  co_await request_big(*streams.reader, *streams.writer, paused_warmup_rounds, false, result);
  co_await request_big(*streams.reader, *streams.writer, paused_counted_rounds + 1, true, result);

  streams.writer->close();
  co_await streams.writer->wait_closed();
  server->close();
  co_await server->wait_closed();
  co_return result;
}

TEST_P(PerfStreamsZeroAlloc, DrainWhilePausedMakesNoAllocation) {
  aiocpp::testing::FdLeakCheck fd_check;
  PausedResult result = run_bounded(paused_drain_allocations(), 30.0);
  EXPECT_FALSE(result.corrupt) << "the client did not read the bytes the server wrote";
  // Every counted answer paused the transport: the test measures the
  // paused path, not the fast one.
  EXPECT_EQ(result.paused_drains, paused_counted_rounds);
  if (result.counts.allocations != 0) print_first_stack();
  EXPECT_EQ(result.counts.allocations, 0u)
      << "heap allocations in " << paused_counted_rounds << " drain() calls that waited "
      << "(the first one's stack is on stderr)";
}

}  // namespace
