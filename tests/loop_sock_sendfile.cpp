// loop.sock_sendfile: the kernel's sendfile, the read-and-send fallback, and
// asyncio's argument checks.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "core/sendfile.hpp"
#include "posix/socket_ops.hpp"
#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::detail::UniqueFd;
using aiocpp::testing::BackendLoopTest;
using aiocpp::testing::byte_pattern;
using aiocpp::testing::SocketPair;
using aiocpp::testing::temp_file_with;

// Reads from `fd` until `total` bytes or end of file.
Task<std::string> read_all(EventLoop& loop, int fd, std::size_t total) {
  std::string got;
  while (got.size() < total) {
    std::string chunk = co_await loop.sock_recv(fd, 256 * 1024);
    if (chunk.empty()) break;
    got += chunk;
  }
  co_return got;
}

class SockSendfile : public BackendLoopTest {
 protected:
  // Sends with sock_sendfile while a reader drains the other end.
  std::pair<std::size_t, std::string> transfer(int file, std::int64_t offset,
                                               std::optional<std::size_t> count, bool fallback,
                                               std::size_t expected) {
    SocketPair pair;
    Task<std::string> reader = loop_->create_task(read_all(*loop_, pair.b.get(), expected));
    std::size_t sent = run(loop_->sock_sendfile(pair.a.get(), file, offset, count, fallback));
    return {sent, run(std::move(reader))};
  }
};
AIOCPP_TEST_ON_ALL_BACKENDS(SockSendfile);

TEST_P(SockSendfile, SendsAWholeFileLargerThanTheSocketBuffers) {
  std::string content = byte_pattern(3 << 20);
  UniqueFd file = temp_file_with(content);
  auto [sent, got] = transfer(file.get(), 0, std::nullopt, false, content.size());
  EXPECT_EQ(sent, content.size());
  EXPECT_TRUE(got == content);
  EXPECT_EQ(lseek(file.get(), 0, SEEK_CUR), static_cast<off_t>(content.size()))
      << "the file position ends after what was sent";
}

TEST_P(SockSendfile, OffsetAndCountSelectTheBytes) {
  std::string content = byte_pattern(100000);
  UniqueFd file = temp_file_with(content);
  auto [sent, got] = transfer(file.get(), 1000, 5000, false, 5000);
  EXPECT_EQ(sent, 5000u);
  EXPECT_EQ(got, content.substr(1000, 5000));
  EXPECT_EQ(lseek(file.get(), 0, SEEK_CUR), 6000);
}

TEST_P(SockSendfile, AnEmptyFileSendsNothing) {
  UniqueFd file = temp_file_with("");
  SocketPair pair;
  EXPECT_EQ(run(loop_->sock_sendfile(pair.a.get(), file.get())), 0u);
}

TEST_P(SockSendfile, APipeIsNotARegularFileSoTheFallbackReadsIt) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  {
    UniqueFd write_end(fds[1]);
    ASSERT_EQ(write(write_end.get(), "through a pipe", 14), 14);
  }
  auto [sent, got] = transfer(read_end.get(), 0, std::nullopt, true, 14);
  EXPECT_EQ(sent, 14u);
  EXPECT_EQ(got, "through a pipe");
}

TEST_P(SockSendfile, WithoutFallbackAPipeIsSendfileNotAvailable) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  SocketPair pair;
  EXPECT_THROW(run(loop_->sock_sendfile(pair.a.get(), read_end.get(), 0, std::nullopt, false)),
               SendfileNotAvailableError);
}

TEST_P(SockSendfile, FallbackHonoursOffsetAndCount) {
  // The public API picks sendfile(2) for regular files, so drive the
  // fallback directly, on the same kind of file.
  std::string content = byte_pattern(700000);
  UniqueFd file = temp_file_with(content);
  SocketPair pair;
  Task<std::string> reader = loop_->create_task(read_all(*loop_, pair.b.get(), 300000));
  EventLoop* loop = loop_.get();
  int sock = pair.a.get();
  auto send = [loop, sock](std::string chunk) {
    return loop->sock_sendall(sock, std::move(chunk));
  };
  EXPECT_EQ(run(detail::sendfile_fallback(*loop_, file.get(), 123, 300000, send)), 300000u);
  EXPECT_EQ(run(std::move(reader)), content.substr(123, 300000));
  EXPECT_EQ(lseek(file.get(), 0, SEEK_CUR), 123 + 300000);
}

TEST_P(SockSendfile, ArgumentsAreCheckedInAsynciosWords) {
  SocketPair stream;
  SocketPair datagram(SOCK_DGRAM);
  UniqueFd file = temp_file_with("abc");
  auto expect_value_error = [&](auto task, const std::string& message) {
    try {
      run(std::move(task));
      ADD_FAILURE() << "accepted: " << message;
    } catch (const ValueError& e) {
      EXPECT_EQ(e.what(), message);
    }
  };
  expect_value_error(loop_->sock_sendfile(datagram.a.get(), file.get()),
                     "only SOCK_STREAM type sockets are supported");
  expect_value_error(loop_->sock_sendfile(stream.a.get(), file.get(), 0, 0),
                     "count must be a positive integer (got 0)");
  expect_value_error(loop_->sock_sendfile(stream.a.get(), file.get(), -1),
                     "offset must be a non-negative integer (got -1)");
}

TEST_P(SockSendfile, APeerThatGoesAwayMidTransferIsAnOsError) {
  std::string content = byte_pattern(8 << 20);
  UniqueFd file = temp_file_with(content);
  SocketPair pair;
  Task<std::size_t> sending = loop_->create_task(loop_->sock_sendfile(pair.a.get(), file.get()));
  run_once();
  run_once();
  ASSERT_FALSE(sending.done()) << "8 MiB cannot fit the socket buffers";
  pair.b = UniqueFd();
  try {
    run(std::move(sending));
    FAIL() << "sent to a closed peer";
  } catch (const std::system_error& e) {
    EXPECT_TRUE(e.code().value() == EPIPE || e.code().value() == ECONNRESET) << e.what();
  }
  off_t position = lseek(file.get(), 0, SEEK_CUR);
  EXPECT_GT(position, 0) << "the position reflects what was sent";
  EXPECT_LT(position, static_cast<off_t>(content.size()));
}

TEST_P(SockSendfile, CancellingLeavesTheFilePositionAfterWhatWasSent) {
  std::string content = byte_pattern(8 << 20);
  UniqueFd file = temp_file_with(content);
  SocketPair pair;
  Task<std::size_t> sending = loop_->create_task(loop_->sock_sendfile(pair.a.get(), file.get()));
  run_once();
  run_once();
  ASSERT_FALSE(sending.done());
  sending.cancel();
  run_once();
  run_once();
  EXPECT_TRUE(sending.cancelled());
  EXPECT_FALSE(loop_->remove_writer(pair.a.get()));
  std::string received;
  char buffer[65536];
  for (ssize_t n; (n = read(pair.b.get(), buffer, sizeof buffer)) > 0;) received.append(buffer, n);
  EXPECT_EQ(lseek(file.get(), 0, SEEK_CUR), static_cast<off_t>(received.size()));
  EXPECT_TRUE(received == content.substr(0, received.size()));
}

}  // namespace
