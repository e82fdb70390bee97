// The StreamReader's protocol is a BufferedProtocol: the transport receives
// straight into the reader's buffer (get_buffer / buffer_updated), and a read
// that takes a whole large message into the caller's string trades the two
// strings. Over real sockets, on every backend and over TLS: large messages,
// one at a time and several in a burst, come back byte for byte, and the
// reader still pauses its transport past twice its limit and resumes it once
// read down to the limit (asyncio's flow control).

#include <memory>
#include <string>

#include "aiocpp/aiocpp.hpp"
#include "test_support.hpp"
#include "tls_helpers.hpp"

namespace {

using aiocpp::StreamReader;
using aiocpp::StreamWriter;
using aiocpp::Task;
using aiocpp::testing::client_context;
using aiocpp::testing::server_context;

constexpr long message_size = 100 * 1024;

// Message `i`: its bytes depend on i, so a stale or shifted buffer shows.
std::string message(int i) {
  std::string m(message_size, '\0');
  for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<char>((k * 7 + i * 13) % 251);
  return m;
}

Task<void> echo(std::shared_ptr<StreamReader> reader, std::shared_ptr<StreamWriter> writer) {
  std::string m;  // reused: the reads that take a whole message swap with it
  try {
    for (;;) {
      co_await reader->readexactly(message_size, m);
      writer->write(m);
      co_await writer->drain();
    }
  } catch (const aiocpp::IncompleteReadError&) {
    // The client closed.
  }
  writer->close();
}

// One message at a time, then bursts of three (the reader then holds more
// than one message, and reads copy instead of swapping). Returns how many
// echoes differed from what was sent.
Task<int> echo_rounds(aiocpp::ServerOptions server_options,
                      aiocpp::ConnectionOptions client_options) {
  std::shared_ptr<aiocpp::Server> server =
      co_await aiocpp::start_server(echo, "127.0.0.1", 0, server_options);
  int port = server->sockets().at(0).getsockname().port();
  aiocpp::Streams s = co_await aiocpp::open_connection("127.0.0.1", port, client_options);
  int wrong = 0;
  std::string got;
  for (int i = 0; i < 8; ++i) {
    s.writer->write(message(i));
    co_await s.writer->drain();
    co_await s.reader->readexactly(message_size, got);
    if (got != message(i)) ++wrong;
  }
  for (int burst = 0; burst < 4; ++burst) {
    for (int i = 0; i < 3; ++i) s.writer->write(message(100 + burst * 3 + i));
    co_await s.writer->drain();
    for (int i = 0; i < 3; ++i) {
      co_await s.reader->readexactly(message_size, got);
      if (got != message(100 + burst * 3 + i)) ++wrong;
    }
  }
  s.writer->close();
  co_await s.writer->wait_closed();
  server->close();
  co_await server->wait_closed();
  co_return wrong;
}

AIOCPP_BACKEND_SUITE(StreamsLentBuffer);

TEST_P(StreamsLentBuffer, LargeMessagesComeBackByteForByte) {
  aiocpp::testing::FdLeakCheck fd_check;
  EXPECT_EQ(run_bounded(echo_rounds({}, {}), 30.0), 0) << "echoes that differ from the message";
}

TEST_P(StreamsLentBuffer, LargeMessagesComeBackByteForByteOverTls) {
  aiocpp::testing::FdLeakCheck fd_check;
  aiocpp::ServerOptions server_options;
  server_options.ssl = server_context();
  aiocpp::ConnectionOptions client_options;
  client_options.ssl = client_context();
  client_options.server_hostname = "localhost";
  EXPECT_EQ(run_bounded(echo_rounds(server_options, client_options), 30.0), 0)
      << "echoes that differ from the message";
}

// --- Flow control ----------------------------------------------------------------

constexpr long small_limit = 1024;
constexpr std::size_t sent_size = 256 * 1024;

struct FlowResult {
  bool paused = false;   // the transport stopped reading before anything was read
  bool resumed = false;  // ... and reads again once the reader caught up
  bool intact = false;
};

Task<FlowResult> pause_past_twice_the_limit() {
  FlowResult result;
  aiocpp::Future<void> done = aiocpp::get_running_loop().create_future<void>();
  std::string sent(sent_size, '\0');
  for (std::size_t k = 0; k < sent.size(); ++k) sent[k] = static_cast<char>(k % 253);
  aiocpp::ClientConnected late_reader = [&](std::shared_ptr<StreamReader> reader,
                                            std::shared_ptr<StreamWriter> writer) -> Task<void> {
    auto* transport = dynamic_cast<aiocpp::ReadTransport*>(&writer->transport());
    // Nothing is read until the buffer passed twice the limit and paused
    // the transport (the test's timeout ends this loop if it never does).
    while (transport->is_reading()) co_await aiocpp::yield_now();
    result.paused = true;
    std::string got = co_await reader->readexactly(static_cast<long>(sent_size));
    result.intact = got == sent;
    result.resumed = transport->is_reading();
    writer->close();
    done.set_result();
  };
  aiocpp::ServerOptions options;  // named: GCC 12 and braced temporaries in co_await
  std::shared_ptr<aiocpp::Server> server =
      co_await aiocpp::start_server(late_reader, "127.0.0.1", 0, options, small_limit);
  int port = server->sockets().at(0).getsockname().port();
  aiocpp::Streams s = co_await aiocpp::open_connection("127.0.0.1", port);
  s.writer->write(sent);
  co_await done;
  s.writer->close();
  co_await s.writer->wait_closed();
  server->close();
  co_await server->wait_closed();
  co_return result;
}

TEST_P(StreamsLentBuffer, TheReaderPausesItsTransportPastTwiceTheLimitAndResumes) {
  aiocpp::testing::FdLeakCheck fd_check;
  FlowResult result = run_bounded(pause_past_twice_the_limit(), 30.0);
  EXPECT_TRUE(result.paused);
  EXPECT_TRUE(result.intact) << "the bytes read differ from the bytes sent";
  EXPECT_TRUE(result.resumed) << "reading down to the limit resumes the transport";
}

}  // namespace
