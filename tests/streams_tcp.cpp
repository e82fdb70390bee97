// Streams over real sockets: start_server / open_connection (TCP, loopback)
// and their AF_UNIX twins, drain() under flow control and after a reset,
// client_connected failures, and interop with Python asyncio streams
// programs (/usr/bin/python3) on either side.

#include <unistd.h>

#include <string>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Streams : public aiocpp::testing::LoopTest {
 protected:
  Streams() { record_reports(); }
  template <class T>
  T run(Task<T> t, double limit = 10.0) {
    auto bounded = [](Task<T> t, double limit) -> Task<T> {
      co_return co_await wait_for(std::move(t), limit);
    };
    return loop_->run_until_complete(bounded(std::move(t), limit));
  }
};

// Echoes lines until EOF, then closes.
Task<void> echo_lines(std::shared_ptr<StreamReader> reader, std::shared_ptr<StreamWriter> writer) {
  for (;;) {
    std::string line = co_await reader->readline();
    if (line.empty()) break;
    writer->write(line);
    co_await writer->drain();
  }
  writer->close();
  co_await writer->wait_closed();
}

int port_of(const std::shared_ptr<Server>& server) {
  return server->sockets().at(0).getsockname().port();
}

Task<void> talk(std::shared_ptr<StreamReader> reader, std::shared_ptr<StreamWriter> writer) {
  for (int i = 0; i < 3; ++i) {
    std::string msg = "line " + std::to_string(i) + "\n";
    writer->write(msg);
    co_await writer->drain();
    EXPECT_EQ(co_await reader->readline(), msg);
  }
  EXPECT_TRUE(writer->can_write_eof());
  writer->write_eof();
  EXPECT_EQ(co_await reader->read(), "") << "the server closes after our EOF";
  EXPECT_TRUE(reader->at_eof());
  writer->close();
  EXPECT_TRUE(writer->is_closing());
  co_await writer->wait_closed();
}

TEST_F(Streams, StartServerAndOpenConnectionEchoLinesOverTcp) {
  auto body = []() -> Task<void> {
    std::shared_ptr<Server> server = co_await start_server(echo_lines, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(server));
    auto peer = std::any_cast<SocketAddress>(writer->get_extra_info("peername"));
    EXPECT_EQ(peer.port(), port_of(server));
    co_await talk(reader, writer);
    server->close();
    co_await server->wait_closed();
  };
  run(body());
}

TEST_F(Streams, StartUnixServerAndOpenUnixConnectionEchoLines) {
  auto body = []() -> Task<void> {
    std::string path = "/tmp/aiocpp-streams-" + std::to_string(getpid()) + ".sock";
    std::shared_ptr<Server> server = co_await start_unix_server(echo_lines, path);
    auto [reader, writer] = co_await open_unix_connection(path);
    co_await talk(reader, writer);
    server->close();
    co_await server->wait_closed();
    EXPECT_NE(access(path.c_str(), F_OK), 0) << "the socket file is removed";
  };
  run(body());
}

TEST_F(Streams, DrainWaitsWhileThePeerDoesNotReadAndResumesWhenItDoes) {
  auto body = []() -> Task<void> {
    Event server_may_read;
    Future<std::size_t> received = get_running_loop().create_future<std::size_t>();
    ClientConnected slow_reader = [&](std::shared_ptr<StreamReader> reader,
                                      std::shared_ptr<StreamWriter> writer) -> Task<void> {
      co_await server_may_read.wait();
      std::string all = co_await reader->read();
      received.set_result(all.size());
      writer->close();
    };
    std::shared_ptr<Server> server = co_await start_server(slow_reader, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(server));
    writer->transport().set_write_buffer_limits(1024);
    std::string chunk(64 * 1024, 'x');
    std::size_t sent = 0;
    // Write until the kernel's buffers are full and ours is over its mark.
    while (writer->transport().get_write_buffer_size() <= 1024) {
      writer->write(chunk);
      sent += chunk.size();
      co_await yield_now();
      if (sent > (512u << 20)) {
        ADD_FAILURE() << "the transport never paused";
        break;
      }
    }
    Task<void> draining = get_running_loop().create_task(
        [](StreamWriter& w) -> Task<void> { co_await w.drain(); }(*writer));
    co_await yield_now();
    co_await yield_now();
    EXPECT_FALSE(draining.done()) << "paused: drain() waits";
    server_may_read.set();
    co_await draining;
    writer->close();
    EXPECT_EQ(co_await received, sent);
    co_await writer->wait_closed();
    server->close();
    co_await server->wait_closed();
  };
  run(body(), 30.0);
}

TEST_F(Streams, DrainAfterThePeerResetTheConnectionRaises) {
  auto body = []() -> Task<void> {
    ClientConnected aborter = [](std::shared_ptr<StreamReader>,
                                 std::shared_ptr<StreamWriter> writer) -> Task<void> {
      writer->transport().abort();
      co_return;
    };
    std::shared_ptr<Server> server = co_await start_server(aborter, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(server));
    try {
      (void)co_await reader->read();  // EOF or ECONNRESET: the connection is gone
    } catch (const std::system_error&) {
    }
    bool raised = false;
    for (int i = 0; i < 100 && !raised; ++i) {
      writer->write("data");
      try {
        co_await writer->drain();
        // On io_uring a small write goes out with the loop's next wait, and
        // its error comes with its completion: let the loop turn.
        co_await aiocpp::sleep(0);
      } catch (const std::system_error&) {
        raised = true;
      }
    }
    EXPECT_TRUE(raised);
    writer->close();
    try {
      co_await writer->wait_closed();
    } catch (const std::system_error&) {
    }
    server->close();
    co_await server->wait_closed();
  };
  run(body());
}

TEST_F(Streams, AnExceptionFromClientConnectedIsReportedAndClosesTheConnection) {
  auto body = []() -> Task<void> {
    ClientConnected failing = [](std::shared_ptr<StreamReader>,
                                 std::shared_ptr<StreamWriter>) -> Task<void> {
      co_await yield_now();
      throw std::runtime_error("handler failed");
    };
    std::shared_ptr<Server> server = co_await start_server(failing, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(server));
    EXPECT_EQ(co_await reader->read(), "");
    writer->close();
    co_await writer->wait_closed();
    server->close();
    co_await server->wait_closed();
  };
  run(body());
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].message, "Unhandled exception in client_connected_cb");
}

// --- Interop: Python asyncio streams on the other end ---------------------------

const char* kPythonEchoServer = R"(
import asyncio
async def echo(reader, writer):
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()
async def main():
    server = await asyncio.start_server(echo, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
)";

const char* kPythonClient = R"(
import asyncio, sys
async def main():
    reader, writer = await asyncio.open_connection('127.0.0.1', int(sys.argv[1]))
    for i in range(3):
        writer.write(f'python {i}\n'.encode())
        await writer.drain()
        print((await reader.readline()).decode(), end='', flush=True)
    writer.write_eof()
    assert await reader.read() == b''
    writer.close()
    await writer.wait_closed()
    print('done', flush=True)
asyncio.run(main())
)";

TEST_F(Streams, CppClientTalksToAPythonAsyncioStreamsServer) {
  auto python = aiocpp::testing::spawn({"/usr/bin/python3", "-c", kPythonEchoServer});
  int port = std::stoi(python->read_line());
  auto body = [](int port) -> Task<void> {
    auto [reader, writer] = co_await open_connection("127.0.0.1", port);
    co_await talk(reader, writer);
  };
  run(body(port));
  python->kill();
}

TEST_F(Streams, PythonAsyncioStreamsClientTalksToACppServer) {
  auto body = []() -> Task<std::string> {
    std::shared_ptr<Server> server = co_await start_server(echo_lines, "127.0.0.1", 0);
    std::shared_ptr<aiocpp::testing::ChildProcess> python = aiocpp::testing::spawn(
        {"/usr/bin/python3", "-c", kPythonClient, std::to_string(port_of(server))});
    auto read_all = [python] { return python->read_all(10.0); };
    std::string output = co_await get_running_loop().run_in_executor(nullptr, read_all);
    EXPECT_EQ(python->wait(10.0), 0);
    server->close();
    co_await server->wait_closed();
    co_return output;
  };
  EXPECT_EQ(run(body()), "python 0\npython 1\npython 2\ndone\n");
}

}  // namespace
