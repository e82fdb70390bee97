// Misuse of streams and queues, with asyncio 3.11's answers: a write after
// close() is dropped by the transport (no exception, nothing sent) and the
// following drain() raises ConnectionResetError; a write after write_eof()
// is a RuntimeError; Queue(maxsize) takes any
// integer, and maxsize <= 0 means unbounded.

#include <system_error>

#include "aiocpp/aiocpp.hpp"
#include "test_support.hpp"

using namespace aiocpp;

namespace {

class StreamsMisuse : public aiocpp::testing::LoopTest {};

Task<void> echo_line_then_close(std::shared_ptr<StreamReader> reader,
                                std::shared_ptr<StreamWriter> writer) {
  std::string line = co_await reader->readline();
  writer->write(line);
  (void)co_await reader->read();  // until the client closes
  writer->close();
  co_await writer->wait_closed();
}

TEST_F(StreamsMisuse, WriteAfterCloseIsDroppedAndDrainRaisesConnectionReset) {
  run([]() -> Task<void> {
    std::shared_ptr<Server> server = co_await start_server(echo_line_then_close, "127.0.0.1", 0);
    int port = server->sockets().at(0).getsockname().port();
    auto [reader, writer] = co_await open_connection("127.0.0.1", port);
    writer->write("before\n");
    EXPECT_EQ(co_await reader->readline(), "before\n");
    writer->close();
    EXPECT_TRUE(writer->is_closing());
    EXPECT_NO_THROW(writer->write("after\n")) << "asyncio's transport ignores it";
    bool reset = false;
    try {
      co_await writer->drain();
    } catch (const std::system_error& e) {
      reset = e.code() == std::errc::connection_reset;
    }
    EXPECT_TRUE(reset) << "drain() after close reports the lost connection";
    co_await writer->wait_closed();
    // As in asyncio, write() after write_eof() is a RuntimeError (checked first).
    auto [reader2, writer2] = co_await open_connection("127.0.0.1", port);
    writer2->write_eof();
    EXPECT_THROW(writer2->write("late"), RuntimeError);
    writer2->close();
    co_await writer2->wait_closed();
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_F(StreamsMisuse, QueueMaxsizeTakesAnyIntegerAndNonPositiveIsUnbounded) {
  run([]() -> Task<void> {
    for (long maxsize : {0L, -1L, -100L}) {
      Queue<int> q(maxsize);
      EXPECT_EQ(q.maxsize(), maxsize);
      for (int i = 0; i < 1000; ++i) q.put_nowait(i);
      EXPECT_FALSE(q.full());
      EXPECT_EQ(q.qsize(), 1000u);
    }
    Queue<int> one(1);
    one.put_nowait(1);
    EXPECT_TRUE(one.full());
    EXPECT_THROW(one.put_nowait(2), QueueFull);
    co_return;
  }());
}

}  // namespace
