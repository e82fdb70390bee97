// loop.sendfile on a TCP transport: sendfile(2) after the buffer drains,
// reading paused and write() refused meanwhile, and the fallback.

#include <fcntl.h>

#include "tcp_helpers.hpp"

namespace {

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

AIOCPP_BACKEND_SUITE(TcpSendfile);

TEST_P(TcpSendfile, SendsTheFileAfterWhatWasBufferedAndRefusesWritesMeanwhile) {
  FdLeakCheck fds;
  run_bounded(
      []() -> Task<void> {
        auto& loop = get_running_loop();
        // The peer does not read until the checks below are done, so the
        // transfer (32 MiB: more than the socket buffers hold) cannot finish
        // before them.
        std::string content = aiocpp::testing::byte_pattern(32 << 20);
        int file = aiocpp::testing::temp_file_with(content).release();
        auto not_reading = [](Recorder& r) { r.pause_on_connect = true; };
        Pair pair = co_await connect_pair(not_reading);
        std::string before(1 << 20, 'b');  // more than one send() takes at once
        pair.transport->write(before);
        EXPECT_TRUE(pair.transport->is_reading());

        Task<std::size_t> sending = loop.create_task(loop.sendfile(pair.transport, file));
        for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
        EXPECT_FALSE(sending.done());
        EXPECT_FALSE(pair.transport->is_reading()) << "reading pauses during the transfer";
        EXPECT_FALSE(pair.transport->accepts_writes());
        try {
          pair.transport->write("sneaked in");
          ADD_FAILURE() << "write() during sendfile was accepted";
        } catch (const RuntimeError& e) {
          EXPECT_STREQ(e.what(), "unable to write; sendfile is in progress");
        }
        pair.peer->transport->resume_reading();
        EXPECT_EQ(co_await sending, content.size());
        EXPECT_TRUE(pair.transport->is_reading()) << "and resumes after it";
        EXPECT_TRUE(pair.transport->accepts_writes());
        EXPECT_EQ(lseek(file, 0, SEEK_CUR), static_cast<off_t>(content.size()));
        pair.transport->write("after");
        std::size_t total = before.size() + content.size() + 5;
        co_await arrives(pair.peer->bytes.at_least(total), "all the bytes");
        EXPECT_TRUE(pair.peer->received == before + content + "after") << "in order, intact";
        close(file);
        co_await pair.close();
      }(),
      30);
}

TEST_P(TcpSendfile, OffsetAndCount) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    std::string content = aiocpp::testing::byte_pattern(100000);
    int file = aiocpp::testing::temp_file_with(content).release();
    Pair pair = co_await connect_pair();
    EXPECT_EQ(co_await loop.sendfile(pair.transport, file, 10, 20000), 20000u);
    co_await arrives(pair.peer->bytes.at_least(20000), "the selected bytes");
    EXPECT_EQ(pair.peer->received, content.substr(10, 20000));
    EXPECT_EQ(lseek(file, 0, SEEK_CUR), 20010);
    close(file);
    co_await pair.close();
  }());
}

TEST_P(TcpSendfile, APipeGoesThroughTheFallbackUnlessItIsDisabled) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    Pair pair = co_await connect_pair();
    for (bool fallback : {false, true}) {
      int fds[2];
      EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
      EXPECT_EQ(write(fds[1], "piped", 5), 5);
      close(fds[1]);
      if (fallback) {
        EXPECT_EQ(co_await loop.sendfile(pair.transport, fds[0], 0, std::nullopt, true), 5u);
        co_await arrives(pair.peer->bytes.at_least(5), "the piped bytes");
        EXPECT_EQ(pair.peer->received, "piped");
        EXPECT_TRUE(pair.transport->is_reading());
      } else {
        EXPECT_THROW(co_await loop.sendfile(pair.transport, fds[0], 0, std::nullopt, false),
                     SendfileNotAvailableError);
        EXPECT_TRUE(pair.transport->is_reading());
        pair.transport->write("");  // writes are allowed again
      }
      close(fds[0]);
    }
    co_await pair.close();
  }());
}

TEST_P(TcpSendfile, ClosingTransportsAndBadArgumentsAreRefused) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    int file = aiocpp::testing::temp_file_with("abc").release();
    Pair pair = co_await connect_pair();
    EXPECT_THROW(co_await loop.sendfile(pair.transport, file, 0, 0), ValueError);
    EXPECT_THROW(co_await loop.sendfile(pair.transport, file, -5), ValueError);
    pair.transport->close();
    try {
      co_await loop.sendfile(pair.transport, file);
      ADD_FAILURE() << "sendfile on a closing transport";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Transport is closing");
    }
    close(file);
    co_await pair.close();
  }());
}

TEST_P(TcpSendfile, APeerThatResetsMidTransferFailsTheTransferNotTheLoop) {
  FdLeakCheck fds;
  run_bounded(
      []() -> Task<void> {
        auto& loop = get_running_loop();
        std::string content = aiocpp::testing::byte_pattern(32 << 20);
        int file = aiocpp::testing::temp_file_with(content).release();
        // The peer does not read, so the transfer must wait; then it resets.
        auto no_reading = [](Recorder& r) { r.pause_on_connect = true; };
        Pair pair = co_await connect_pair(no_reading);
        Task<std::size_t> sending = loop.create_task(loop.sendfile(pair.transport, file));
        for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);
        EXPECT_FALSE(sending.done()) << "32 MiB cannot fit the socket buffers";
        pair.peer->transport->abort();
        std::exception_ptr failure;
        try {
          co_await sending;
        } catch (...) {
          failure = std::current_exception();
        }
        EXPECT_TRUE(failure) << "the transfer reports the reset";
        co_await arrives(pair.client->lost, "the client's connection_lost");
        off_t position = lseek(file, 0, SEEK_CUR);
        EXPECT_LT(position, static_cast<off_t>(content.size()));
        close(file);
        co_await pair.close();
      }(),
      30);
}

}  // namespace
