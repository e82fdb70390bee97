// connect_read_pipe and connect_write_pipe: asyncio's pipe transports on
// pipes, FIFOs and ptys; the check against regular files; flow control; EOF;
// the reader going away; release when the loop closes.

#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>

#include "pipe_helpers.hpp"

namespace {

using namespace pipe_test;
using aiocpp::testing::BackendLoopTest;

using Calls = std::vector<std::string>;

auto recorder() { return std::make_shared<PipeRecorder>(); }

class PipeTransports : public BackendLoopTest {
 protected:
  void SetUp() override { AIOCPP_SKIP_UNLESS_BACKEND_HAS(aiocpp::testing::Feature::pipes); }
};
AIOCPP_TEST_ON_ALL_BACKENDS(PipeTransports);

TEST_P(PipeTransports, ReadPipeDeliversDataThenEofThenConnectionLost) {
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [transport, protocol] = co_await get_running_loop().connect_read_pipe(recorder, r);
    EXPECT_EQ(protocol->calls, (Calls{"CM"}));
    EXPECT_EQ(protocol->reader, transport.get());
    EXPECT_TRUE(transport->is_reading());
    EXPECT_EQ(std::any_cast<int>(transport->get_extra_info("pipe")), r);
    EXPECT_TRUE(fcntl(r, F_GETFL) & O_NONBLOCK) << "the descriptor is made non-blocking";
    EXPECT_EQ(::write(w, "hello ", 6), 6);
    co_await arrives(protocol->at_least(6), "the first chunk");
    EXPECT_EQ(::write(w, "world", 5), 5);
    ::close(w);
    co_await arrives(protocol->lost, "connection_lost");
    EXPECT_EQ(protocol->received, "hello world");
    EXPECT_EQ(protocol->calls, (Calls{"CM", "DR", "ER", "CL"}));
    EXPECT_EQ(protocol->error, nullptr);
    EXPECT_TRUE(transport->is_closing());
    EXPECT_FALSE(transport->is_reading());
  }());
}

TEST_P(PipeTransports, RegularFilesAreRejectedAndLeftToTheCaller) {
  char path[] = "/tmp/aiocpp-pipe-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  run([](int fd) -> Task<void> {
    EventLoop& loop = get_running_loop();
    try {
      co_await loop.connect_read_pipe(recorder, fd);
      ADD_FAILURE() << "a regular file was accepted for reading";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Pipe transport is for pipes/sockets only.");
    }
    try {
      co_await loop.connect_write_pipe(recorder, fd);
      ADD_FAILURE() << "a regular file was accepted for writing";
    } catch (const ValueError& e) {
      EXPECT_STREQ(e.what(), "Pipe transport is only for pipes, sockets and character devices");
    }
  }(fd));
  EXPECT_NE(fcntl(fd, F_GETFD), -1) << "still open: the caller's to close";
  EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  ::close(fd);
}

TEST_P(PipeTransports, ReadPipeNeedsAStreamProtocol) {
  auto [r, w] = make_pipe();
  run([](int r) -> Task<void> {
    auto base = [] { return std::make_shared<BaseProtocol>(); };
    try {
      co_await get_running_loop().connect_read_pipe(base, r);
      ADD_FAILURE() << "a BaseProtocol cannot receive data";
    } catch (const TypeError& e) {  // a std::invalid_argument, as ValueError
      EXPECT_NE(std::string(e.what()).find("needs a Protocol"), std::string::npos) << e.what();
    }
  }(r));
  ::close(r);
  ::close(w);
}

TEST_P(PipeTransports, PauseReadingStopsDeliveryUntilResumed) {
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [transport, protocol] = co_await get_running_loop().connect_read_pipe(recorder, r);
    transport->pause_reading();
    EXPECT_FALSE(transport->is_reading());
    EXPECT_EQ(::write(w, "abc", 3), 3);
    for (int i = 0; i < 5; ++i) co_await sleep(0);
    EXPECT_EQ(protocol->received, "") << "paused, yet data was delivered";
    transport->resume_reading();
    EXPECT_TRUE(transport->is_reading());
    co_await arrives(protocol->at_least(3), "data after resume_reading");
    EXPECT_EQ(protocol->received, "abc");
    transport->close();
    transport->close();  // twice is harmless
    co_await arrives(protocol->lost, "connection_lost");
    EXPECT_EQ(protocol->calls, (Calls{"CM", "DR", "CL"}));
    ::close(w);
  }());
}

TEST_P(PipeTransports, AFailingDataReceivedIsReportedAndClosesThePipe) {
  record_reports();
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [transport, protocol] = co_await get_running_loop().connect_read_pipe(recorder, r);
    protocol->throw_on_data = true;
    EXPECT_EQ(::write(w, "x", 1), 1);
    co_await arrives(protocol->lost, "connection_lost");
    EXPECT_EQ(describe(protocol->error), "boom") << "the protocol's own exception";
    ::close(w);
  }());
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Fatal error: protocol.data_received() call failed.");
}

TEST_P(PipeTransports, WritePipeWritesAtOnceAndCloseMeansEof) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [r, w] = make_pipe();
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, r);
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, w);
    EXPECT_EQ(out->writer, writer.get());
    EXPECT_TRUE(writer->can_write_eof());
    writer->write("abc");
    EXPECT_EQ(writer->get_write_buffer_size(), 0u) << "an empty buffer: written at once";
    writer->writelines({"de", "", "f"});
    EXPECT_EQ(writer->get_write_buffer_size(), 0u);
    writer->close();
    EXPECT_TRUE(writer->is_closing());
    writer->write("ignored after close");
    co_await arrives(in->lost, "EOF at the reader");
    co_await arrives(out->lost, "the writer's connection_lost");
    EXPECT_EQ(in->received, "abcdef");
    EXPECT_EQ(out->calls, (Calls{"CM", "CL"}));
    EXPECT_EQ(out->error, nullptr);
  }());
}

TEST_P(PipeTransports, WritePipeBuffersPausesAndResumesAtTheWatermarks) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [r, w] = make_pipe();
    fcntl(w, F_SETPIPE_SZ, 4096);
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, w);
    EXPECT_EQ(writer->get_write_buffer_limits(),
              (std::pair<std::size_t, std::size_t>(16384, 65536)));
    const std::string data = pattern(1 << 20);
    std::size_t offset = 0;
    while (writer->get_write_buffer_size() == 0 && offset < data.size()) {
      writer->write(std::string_view(data).substr(offset, 1000));
      offset += 1000;
    }
    EXPECT_GT(writer->get_write_buffer_size(), 0u) << "nobody reads: the pipe fills";
    EXPECT_EQ(out->calls, (Calls{"CM"}));
    writer->write(std::string_view(data).substr(offset, 70000));
    offset += 70000;
    EXPECT_EQ(out->calls, (Calls{"CM", "PW"}));
    std::vector<std::string_view> rest;
    for (std::size_t at = offset; at < data.size(); at += 100003) {
      rest.push_back(std::string_view(data).substr(at, 100003));
    }
    writer->writelines(rest);
    out->resumed = loop.create_future<void>();
    // Now read it all back through a read pipe on the same loop.
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, r);
    co_await arrives(in->at_least(data.size()), "all the data", 30);
    EXPECT_TRUE(in->received == data) << "data corrupted or reordered";
    co_await arrives(out->resumed, "resume_writing");
    EXPECT_EQ(out->calls, (Calls{"CM", "PW", "RW"}));
    EXPECT_EQ(writer->get_write_buffer_size(), 0u);
    writer->set_write_buffer_limits(100);
    EXPECT_EQ(writer->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>(25, 100)));
    EXPECT_THROW(writer->set_write_buffer_limits(1, 2), ValueError);
    writer->close();
    co_await arrives(in->lost, "EOF");
  }());
}

TEST_P(PipeTransports, TheReaderClosingIsNoticedWithoutWriting) {
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [writer, out] = co_await get_running_loop().connect_write_pipe(recorder, w);
    ::close(r);
    co_await arrives(out->lost, "connection_lost when the reader left");
    EXPECT_EQ(out->error, nullptr) << "nothing was buffered: a clean close";
    EXPECT_TRUE(writer->is_closing());
    for (int i = 0; i < 10; ++i) writer->write("after the end");  // ignored, no crash
  }());
}

TEST_P(PipeTransports, WritingToAPipeWithoutReaderIsABrokenPipe) {
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [writer, out] = co_await get_running_loop().connect_write_pipe(recorder, w);
    ::close(r);
    writer->write("nobody reads this");  // EPIPE at once, not SIGPIPE
    co_await arrives(out->lost, "connection_lost");
    EXPECT_EQ(errno_of(out->error), EPIPE);
  }());
}

TEST_P(PipeTransports, TheReaderLeavingWithDataBufferedIsABrokenPipe) {
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [writer, out] = co_await get_running_loop().connect_write_pipe(recorder, w);
    writer->write(pattern(1 << 20));
    EXPECT_GT(writer->get_write_buffer_size(), 0u);
    ::close(r);
    co_await arrives(out->lost, "connection_lost");
    EXPECT_EQ(errno_of(out->error), EPIPE);
    EXPECT_EQ(writer->get_write_buffer_size(), 0u);
  }());
}

TEST_P(PipeTransports, AbortDropsTheBuffer) {
  run([]() -> Task<void> {
    auto [r, w] = make_pipe();
    auto [writer, out] = co_await get_running_loop().connect_write_pipe(recorder, w);
    writer->write(pattern(1 << 20));
    EXPECT_GT(writer->get_write_buffer_size(), 0u);
    writer->abort();
    EXPECT_EQ(writer->get_write_buffer_size(), 0u);
    co_await arrives(out->lost, "connection_lost");
    EXPECT_EQ(out->error, nullptr);
    ::close(r);
  }());
}

TEST_P(PipeTransports, WriteEofFlushesFirst) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [r, w] = make_pipe();
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, w);
    const std::string data = pattern(300000);
    writer->write(data);
    writer->write_eof();
    writer->write_eof();
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, r);
    co_await arrives(in->lost, "EOF after all the data");
    EXPECT_TRUE(in->received == data);
    co_await arrives(out->lost, "the writer's connection_lost");
    EXPECT_EQ(out->error, nullptr);
  }());
}

// asyncio drops (and counts) a write made after write_eof(); the data
// buffered before it must still go out, and connection_lost still come.
TEST_P(PipeTransports, AWriteAfterWriteEofIsDroppedAndTheRestStillFlushes) {
  run([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [r, w] = make_pipe();
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, w);
    const std::string data = pattern(300000);  // more than the pipe holds
    writer->write(data);
    writer->write_eof();
    writer->write("dropped");
    EXPECT_TRUE(writer->is_closing());
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, r);
    co_await arrives(in->lost, "EOF after all the data");
    EXPECT_TRUE(in->received == data);
    co_await arrives(out->lost, "the writer's connection_lost");
    EXPECT_EQ(out->error, nullptr);
  }());
}

TEST_P(PipeTransports, Fifos) {
  char dir[] = "/tmp/aiocpp-fifo-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  run([](std::string path) -> Task<void> {
    EventLoop& loop = get_running_loop();
    int r = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    int w = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, r);
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, w);
    writer->write("through a fifo");
    writer->close();
    co_await arrives(in->lost, "EOF");
    EXPECT_EQ(in->received, "through a fifo");
  }(path));
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_P(PipeTransports, PtysAreCharacterDevicesAndTheirHangUpIsQuiet) {
  record_reports();
  int master, slave;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  run([](int master, int slave) -> Task<void> {
    EventLoop& loop = get_running_loop();
    int master_w = fcntl(master, F_DUPFD_CLOEXEC, 0);
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, master);
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, master_w);
    EXPECT_EQ(::write(slave, "out\n", 4), 4);
    co_await arrives(in->at_least(5), "output of the pty");
    EXPECT_EQ(in->received, "out\r\n");
    writer->write("in\n");  // becomes the terminal's input
    char buf[16] = {};
    pollfd p{slave, POLLIN, 0};
    for (int i = 0; i < 100 && poll(&p, 1, 0) == 0; ++i) co_await sleep(0.01);
    EXPECT_EQ(::read(slave, buf, sizeof buf), 3);
    EXPECT_STREQ(buf, "in\n");
    writer->close();
    co_await arrives(out->lost, "the writer's connection_lost");
    ::close(slave);  // the master now reads EIO
    co_await arrives(in->lost, "connection_lost after the hang-up");
    EXPECT_EQ(errno_of(in->error), EIO);
  }(master, slave));
  EXPECT_TRUE(reports_.empty()) << "EIO on a pty is how it hangs up, not an error to report";
}

TEST_P(PipeTransports, SocketsWorkAsPipesToo) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  run([](int a, int b) -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, a);
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, b);
    writer->write("over a socket");
    co_await arrives(in->at_least(13), "the data");
    EXPECT_EQ(in->received, "over a socket");
    reader->close();  // the write side notices its peer going away
    co_await arrives(out->lost, "the writer's connection_lost");
    EXPECT_EQ(out->error, nullptr);
  }(sv[0], sv[1]));
}

TEST_P(PipeTransports, AFailingConnectionMadeFailsTheCallAndClosesTheDescriptor) {
  record_reports();
  struct Failing : PipeRecorder {
    void connection_made(ReadTransport&) override { throw std::runtime_error("no"); }
  };
  auto [r, w] = make_pipe();
  run([](int r) -> Task<void> {
    auto failing = [] { return std::make_shared<Failing>(); };
    try {
      co_await get_running_loop().connect_read_pipe(failing, r);
      ADD_FAILURE() << "connect_read_pipe succeeded";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "no");
    }
    co_await sleep(0);
    co_await sleep(0);
  }(r));
  EXPECT_EQ(fcntl(r, F_GETFD), -1) << "the transport owned the descriptor and closed it";
  ::close(w);
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Fatal error: protocol.connection_made() call failed.");
}

TEST_P(PipeTransports, ClosingTheLoopReleasesOpenPipes) {
  auto [r, w] = make_pipe();
  auto [r2, w2] = make_pipe();
  std::shared_ptr<ReadTransport> kept;
  run([](int r, int w2, std::shared_ptr<ReadTransport>& kept) -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto [reader, in] = co_await loop.connect_read_pipe(recorder, r);
    auto [writer, out] = co_await loop.connect_write_pipe(recorder, w2);
    writer->write(pattern(1 << 20));  // stays buffered
    kept = reader;
  }(r, w2, kept));
  loop_->close();
  EXPECT_TRUE(kept->is_closing());
  kept->pause_reading();  // a reference kept after the loop closed stays safe
  kept.reset();
  ::close(w);
  ::close(r2);
}

}  // namespace
