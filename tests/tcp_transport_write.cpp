// The writing side of a TCP transport: write / writelines, buffering under a
// full socket, flow control (pause_writing / resume_writing at the
// watermarks), close / abort / write_eof and what comes after them.

#include <mutex>

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

using Calls = std::vector<std::string>;

// A small kernel send buffer, so that a few hundred KiB fill the way to a
// peer that does not read. (Shrinking the reader's SO_RCVBUF after the
// handshake would make the kernel drop segments and stall on retransmits.)
void shrink_buffers(Transport& writer, Transport&) {
  int small = 4096;
  setsockopt(fd_of(writer), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
}

void pause_peer(Recorder& p) { p.pause_on_connect = true; }

AIOCPP_BACKEND_SUITE(TcpTransportWrite);

// The selector tries send() at once, as asyncio's selector transports: a
// small write never touches the buffer. io_uring hands small writes to the
// ring, to go with the loop's next submission (one system call for all), and
// counts them in the buffer until the send completes, as asyncio's proactor
// transports do; either way they arrive whole and in order.
TEST_P(TcpTransportWrite, SmallWritesAreSentAtOnceOrWithTheNextSubmission) {
  FdLeakCheck fds;
  run_bounded([](Backend backend) -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    Transport& t = *pair.transport;
    const bool ring = backend == Backend::io_uring;
    t.write("abc");
    EXPECT_EQ(t.get_write_buffer_size(), ring ? 3u : 0u);
    t.writelines({"de", "", "f"});
    EXPECT_EQ(t.get_write_buffer_size(), ring ? 6u : 0u);
    t.write("");
    co_await arrives(pair.peer->bytes.at_least(6), "all the data");
    EXPECT_EQ(pair.peer->received, "abcdef");
    EXPECT_EQ(pair.client->pause_writing_calls, 0);
    co_await pair.close();
  }(GetParam()));
}

// asyncio's writelines is write(b"".join(...)): one send however many chunks
// there are (at once on the selector, with the next submission on io_uring).
TEST_P(TcpTransportWrite, WritelinesOfManyChunksIsOneSend) {
  FdLeakCheck fds;
  run_bounded([](Backend backend) -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    std::vector<std::string> many;
    std::string expected;
    for (int i = 0; i < 100; ++i) many.push_back(std::to_string(i) + ",");
    for (auto& m : many) expected += m;
    std::vector<std::string_view> views(many.begin(), many.end());
    pair.transport->writelines(views);
    EXPECT_EQ(pair.transport->get_write_buffer_size(),
              backend == Backend::io_uring ? expected.size() : 0u);
    co_await arrives(pair.peer->bytes.at_least(expected.size()), "all the data");
    EXPECT_EQ(pair.peer->received, expected);
    co_await pair.close();
  }(GetParam()));
}

TEST_P(TcpTransportWrite, BigWritesAreBufferedAndArriveIntactInOrder) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair(pause_peer);
    if (!pair.peer) co_return;
    Transport& t = *pair.transport;
    shrink_buffers(t, *pair.peer->transport);
    const std::string data = pattern(4 << 20);
    std::size_t offset = fill_until_buffered(t, data, 0);
    EXPECT_GT(t.get_write_buffer_size(), 0u) << "the peer does not read: writes must buffer";
    // The rest in odd sizes, through write and writelines in turn.
    for (bool lines = false; offset < data.size(); lines = !lines) {
      std::size_t n = std::min<std::size_t>(100003, data.size() - offset);
      std::string_view piece = std::string_view(data).substr(offset, n);
      if (lines) {
        t.writelines({piece.substr(0, n / 3), piece.substr(n / 3)});
      } else {
        t.write(piece);
      }
      offset += n;
    }
    EXPECT_GT(t.get_write_buffer_size(), data.size() / 2);
    EXPECT_EQ(pair.client->pause_writing_calls, 1);
    int big = 1 << 20;  // drain faster than through 4 KiB
    setsockopt(fd_of(t), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    pair.peer->transport->resume_reading();
    co_await arrives(pair.peer->bytes.at_least(data.size()), "all the data", 30);
    EXPECT_EQ(pair.peer->received.size(), data.size());
    EXPECT_TRUE(pair.peer->received == data) << "data corrupted or reordered";
    EXPECT_EQ(t.get_write_buffer_size(), 0u);
    EXPECT_EQ(pair.client->resume_writing_calls, 1);
    co_await pair.close();
  }());
}

TEST_P(TcpTransportWrite, PausesAboveTheDefaultHighWaterMarkAndResumesAtTheLow) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair(pause_peer);
    if (!pair.peer) co_return;
    Transport& t = *pair.transport;
    Recorder& client = *pair.client;
    EXPECT_EQ(t.get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>(16384, 65536)));
    EXPECT_EQ(t.get_write_buffer_limit_high(), 65536u);
    shrink_buffers(t, *pair.peer->transport);
    const std::string data = pattern(1 << 20);
    std::size_t offset = fill_until_buffered(t, data, 0, 1000);
    std::size_t buffered = t.get_write_buffer_size();
    EXPECT_GT(buffered, 0u);
    EXPECT_LE(buffered, 1000u);
    // Exactly at the high-water mark: not yet paused (asyncio pauses above it).
    t.write(std::string_view(data).substr(offset, 65536 - buffered));
    offset += 65536 - buffered;
    EXPECT_EQ(t.get_write_buffer_size(), 65536u);
    EXPECT_EQ(client.pause_writing_calls, 0);
    t.write(std::string_view(data).substr(offset++, 1));
    EXPECT_EQ(client.pause_writing_calls, 1);
    EXPECT_EQ(client.buffer_at_pause, 65537u);
    t.write(std::string_view(data).substr(offset, 10000));  // no second pause
    offset += 10000;
    EXPECT_EQ(client.pause_writing_calls, 1);

    pair.peer->transport->resume_reading();
    if (!co_await arrives(client.resumed, "resume_writing")) co_return;
    EXPECT_LE(client.buffer_at_resume, 16384u);
    EXPECT_EQ(client.resume_writing_calls, 1);
    EXPECT_EQ(client.squeezed(), (Calls{"CM", "PW", "RW"}));
    co_await arrives(pair.peer->bytes.at_least(offset), "all the data");
    EXPECT_TRUE(pair.peer->received == data.substr(0, offset));
    co_await pair.close();
  }());
}

TEST_P(TcpTransportWrite, CustomWriteBufferLimits) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair(pause_peer);
    if (!pair.peer) co_return;
    Transport& t = *pair.transport;
    using Limits = std::pair<std::size_t, std::size_t>;  // (low, high)
    t.set_write_buffer_limits(1000, 100);
    EXPECT_EQ(t.get_write_buffer_limits(), Limits(100, 1000));
    t.set_write_buffer_limits(4000);  // low defaults to high / 4
    EXPECT_EQ(t.get_write_buffer_limits(), Limits(1000, 4000));
    t.set_write_buffer_limits(std::nullopt, 500);  // high defaults to 4 * low
    EXPECT_EQ(t.get_write_buffer_limits(), Limits(500, 2000));
    t.set_write_buffer_limits(0, 0);
    EXPECT_EQ(t.get_write_buffer_limits(), Limits(0, 0));
    EXPECT_THROW(t.set_write_buffer_limits(10, 20), ValueError);
    EXPECT_THROW(t.set_write_buffer_limits(99, 100), ValueError);
    EXPECT_EQ(t.get_write_buffer_limits(), Limits(0, 0)) << "a rejected call changes nothing";
    t.set_write_buffer_limits();
    EXPECT_EQ(t.get_write_buffer_limits(), Limits(16384, 65536));

    t.set_write_buffer_limits(3000, 1000);
    shrink_buffers(t, *pair.peer->transport);
    const std::string data = pattern(1 << 20);
    std::size_t offset = fill_until_buffered(t, data, 0, 100);
    while (t.get_write_buffer_size() <= 2500) {
      t.write(std::string_view(data).substr(offset, 100));
      offset += 100;
    }
    EXPECT_EQ(pair.client->pause_writing_calls, 0) << t.get_write_buffer_size();
    // Lowering the high-water mark below what is buffered pauses at once.
    t.set_write_buffer_limits(2000);
    EXPECT_EQ(pair.client->pause_writing_calls, 1);
    pair.peer->transport->resume_reading();
    if (!co_await arrives(pair.client->resumed, "resume_writing")) co_return;
    EXPECT_LE(pair.client->buffer_at_resume, 500u);
    co_await arrives(pair.peer->bytes.at_least(offset), "all the data");
    EXPECT_TRUE(pair.peer->received == data.substr(0, offset));
    co_await pair.close();
  }());
}

// Writes `total` bytes in `chunk`s, obeying pause_writing, then closes.
class Producer : public Recorder {
 public:
  void connection_made(Transport& t) override {
    Recorder::connection_made(t);
    produce();
  }
  void pause_writing() override {
    Recorder::pause_writing();
    paused = true;
  }
  void resume_writing() override {
    Recorder::resume_writing();
    paused = false;
    produce();
  }
  void produce() {
    while (!paused && sent < data.size()) {
      std::size_t n = std::min(chunk, data.size() - sent);
      transport->write(std::string_view(data).substr(sent, n));
      sent += n;
      max_buffered = std::max(max_buffered, transport->get_write_buffer_size());
    }
    if (sent == data.size() && !transport->is_closing()) transport->close();
  }
  std::string data;
  std::size_t chunk = 0;
  std::size_t sent = 0;
  std::size_t max_buffered = 0;
  bool paused = false;
};

// A reader that takes one read per loop iteration at most, and not at all
// until the writer has paused.
class SlowReader : public Recorder {
 public:
  void data_received(std::string_view data) override {
    Recorder::data_received(data);
    transport->pause_reading();
    get_running_loop().call_soon([this] {
      if (!lost.done()) transport->resume_reading();
    });
  }
};

TEST_P(TcpTransportWrite, SlowReaderKeepsTheWriterBounded) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    const std::size_t chunk = 5000;
    Acceptor<Producer> acceptor([chunk](Producer& p) {
      p.data = pattern(8 << 20, 3);
      p.chunk = chunk;
      p.keep_data = false;
    });
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    auto factory = [] {
      auto p = std::make_shared<SlowReader>();
      p->pause_on_connect = true;
      return p;
    };
    auto [transport, reader] =
        co_await loop.create_connection(factory, "127.0.0.1", port_of(*server));
    auto writer = co_await acceptor.nth(0);
    if (!writer) co_return;
    // The reader starts once the writer has been told to pause.
    EXPECT_GE(writer->pause_writing_calls, 1);
    transport->resume_reading();
    if (!co_await arrives(reader->lost, "the whole stream", 30)) co_return;
    EXPECT_TRUE(reader->received == writer->data) << reader->received.size() << " bytes arrived";
    EXPECT_FALSE(reader->error) << describe(reader->error);
    EXPECT_LE(writer->max_buffered, 65536 + chunk);
    EXPECT_GE(writer->resume_writing_calls, 1);
    int balance = 0;  // pause and resume strictly alternate, pause first
    for (auto& c : writer->calls) {
      if (c == "PW") EXPECT_EQ(++balance, 1);
      if (c == "RW") EXPECT_EQ(--balance, 0);
    }
    co_await arrives(writer->lost, "writer connection_lost");
    server->close();
    co_await server->wait_closed();
  }());
}

TEST_P(TcpTransportWrite, CloseFlushesTheBufferFirst) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair({}, pause_peer);
    if (!pair.peer) co_return;
    Transport& t = *pair.peer->transport;
    shrink_buffers(t, *pair.transport);
    const std::string data = pattern(1 << 20, 5);
    t.write(std::string_view(data).substr(fill_until_buffered(t, data, 0)));
    EXPECT_GT(t.get_write_buffer_size(), 0u);
    t.close();
    EXPECT_TRUE(t.is_closing());
    EXPECT_FALSE(pair.peer->lost.done());
    pair.transport->resume_reading();
    co_await arrives(pair.client->lost, "client connection_lost");
    EXPECT_TRUE(pair.client->received == data) << pair.client->received.size() << " bytes";
    EXPECT_EQ(pair.client->squeezed(), (Calls{"CM", "DR", "ER", "CL"}));
    co_await arrives(pair.peer->lost, "server connection_lost");
    EXPECT_FALSE(pair.peer->error) << describe(pair.peer->error);
    EXPECT_EQ(pair.peer->squeezed(), (Calls{"CM", "PW", "RW", "CL"}));
    co_await pair.close();
  }());
}

// On io_uring the rest of the buffer is a send waiting in the kernel: a
// close() a few iterations later stops the reading but must let that send
// finish (a cancelled send lost the tail of the stream).
TEST_P(TcpTransportWrite, CloseWhileASendWaitsInTheKernelStillFlushes) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair({}, pause_peer);
    if (!pair.peer) co_return;
    Transport& t = *pair.peer->transport;
    shrink_buffers(t, *pair.transport);
    const std::string data = pattern(1 << 20, 6);
    t.write(std::string_view(data).substr(fill_until_buffered(t, data, 0)));
    EXPECT_GT(t.get_write_buffer_size(), 0u);
    for (int i = 0; i < 3; ++i) co_await aiocpp::sleep(0);  // the send is submitted and waits
    t.close();
    pair.transport->resume_reading();
    co_await arrives(pair.client->lost, "client connection_lost");
    EXPECT_TRUE(pair.client->received == data) << pair.client->received.size() << " bytes";
    co_await arrives(pair.peer->lost, "server connection_lost");
    EXPECT_FALSE(pair.peer->error) << describe(pair.peer->error);
    co_await pair.close();
  }());
}

TEST_P(TcpTransportWrite, AbortDropsTheBuffer) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair({}, pause_peer);
    if (!pair.peer) co_return;
    Transport& t = *pair.peer->transport;
    shrink_buffers(t, *pair.transport);
    const std::string data = pattern(1 << 20, 7);
    t.write(std::string_view(data).substr(fill_until_buffered(t, data, 0)));
    EXPECT_GT(t.get_write_buffer_size(), 0u);
    t.abort();
    EXPECT_TRUE(t.is_closing());
    EXPECT_EQ(t.get_write_buffer_size(), 0u);
    if (!co_await arrives(pair.peer->lost, "connection_lost after abort")) co_return;
    EXPECT_FALSE(pair.peer->error) << describe(pair.peer->error);
    pair.transport->resume_reading();
    co_await arrives(pair.client->lost, "client connection_lost");
    EXPECT_LT(pair.client->received.size(), data.size());
    EXPECT_TRUE(data.compare(0, pair.client->received.size(), pair.client->received) == 0);
    int err = errno_of(pair.client->error);
    EXPECT_TRUE(!pair.client->error || err == ECONNRESET) << describe(pair.client->error);
    co_await pair.close();
  }());
}

struct LogCapture {
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  LogCapture() {
    set_logger([lines = lines](std::string_view line) { lines->emplace_back(line); });
  }
  ~LogCapture() { set_logger(nullptr); }
};

TEST_P(TcpTransportWrite, WriteAfterCloseIsIgnored) {
  FdLeakCheck fds;
  LogCapture log;
  run_bounded([](LogCapture* log) -> Task<void> {
    auto pair = co_await connect_pair();
    if (!pair.peer) co_return;
    Transport& t = *pair.peer->transport;
    t.close();
    for (int i = 0; i < 7; ++i) t.write("ignored");
    t.writelines({"also", "ignored"});
    EXPECT_EQ(t.get_write_buffer_size(), 0u);
    co_await arrives(pair.client->lost, "client connection_lost");
    EXPECT_EQ(pair.client->received, "");
    // asyncio warns once a closed transport has been written to 5 times.
    bool warned = false;
    for (auto& l : *log->lines) warned |= l.find("socket.send() raised exception.") != l.npos;
    EXPECT_TRUE(warned);
    co_await pair.close();
  }(&log));
}

TEST_P(TcpTransportWrite, WriteAfterWriteEofThrows) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair([](Recorder& p) { p.keep_open_on_eof = true; });
    if (!pair.peer) co_return;
    Transport& t = *pair.transport;
    EXPECT_TRUE(t.can_write_eof());
    t.write("last");
    t.write_eof();
    t.write_eof();  // twice: harmless
    EXPECT_THROW(t.write("more"), RuntimeError);
    EXPECT_THROW(t.writelines({"more"}), RuntimeError);
    EXPECT_FALSE(t.is_closing());
    co_await arrives(pair.peer->eof, "server eof_received");
    EXPECT_EQ(pair.peer->received, "last");
    co_await pair.close();
  }());
}

TEST_P(TcpTransportWrite, WriteEofFlushesThenHalfClosesBothWays) {
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto pair = co_await connect_pair(
        [](Recorder& p) {
          p.keep_open_on_eof = true;
          p.pause_on_connect = true;
        },
        [](Recorder& p) { p.keep_open_on_eof = true; });
    if (!pair.peer) co_return;
    Transport& client = *pair.transport;
    Transport& server = *pair.peer->transport;
    shrink_buffers(client, server);
    const std::string data = pattern(1 << 20, 9);
    client.write(std::string_view(data).substr(fill_until_buffered(client, data, 0)));
    EXPECT_GT(client.get_write_buffer_size(), 0u);
    client.write_eof();  // after the buffer drains
    server.resume_reading();
    if (!co_await arrives(pair.peer->eof, "server eof_received")) co_return;
    EXPECT_TRUE(pair.peer->received == data) << pair.peer->received.size() << " bytes";
    // The server can still answer, then half-closes its side too.
    server.write("answer");
    server.write_eof();
    if (!co_await arrives(pair.client->eof, "client eof_received")) co_return;
    EXPECT_EQ(pair.client->received, "answer");
    EXPECT_FALSE(client.is_closing());
    EXPECT_FALSE(server.is_closing());
    co_await pair.close();
    EXPECT_EQ(pair.peer->squeezed(), (Calls{"CM", "DR", "ER", "CL"}));
    EXPECT_EQ(pair.client->squeezed(), (Calls{"CM", "PW", "RW", "DR", "ER", "CL"}));
  }());
}

}  // namespace
