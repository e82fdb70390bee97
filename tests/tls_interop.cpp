// TLS with Python's ssl + asyncio (/usr/bin/python3) on the other end, both
// directions.

#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

class TLSInteropTest : public LoopTest {};

// An asyncio client: sends a line over TLS, prints the echo.
constexpr const char* python_client = R"(
import asyncio, ssl, sys
async def main(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    reader, writer = await asyncio.open_connection('127.0.0.1', port, ssl=ctx,
                                                   server_hostname='localhost')
    writer.write(b'hello from python\n')
    print((await reader.readline()).decode().strip(), writer.get_extra_info('ssl_object').version())
    writer.close()
    await writer.wait_closed()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
)";

// An asyncio echo server: prints its port, echoes one line, closes.
constexpr const char* python_server = R"(
import asyncio, ssl, sys
async def echo(reader, writer):
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()
async def main(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = await asyncio.start_server(echo, '127.0.0.1', 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.sleep(10)
asyncio.run(main(sys.argv[1], sys.argv[2]))
)";

Task<void> serve_python_client(EventLoop& loop, std::string* printed) {
  auto factory = [] { return std::make_shared<TLSEcho>(); };
  ServerOptions options;
  options.ssl = server_context();
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0, options);
  int port = server->sockets().at(0).getsockname().port();
  auto child = spawn({python(), "-c", python_client, std::to_string(port), Certificates::get().ca});
  // The child reads its answer while the loop serves it: wait in the executor.
  ChildProcess* raw = child.get();
  auto read = [raw] { return raw->read_all(10.0); };
  *printed = co_await loop.run_in_executor(nullptr, read);
  EXPECT_EQ(child->wait(), 0);
  server->close();
  co_await server->wait_closed();
}

TEST_F(TLSInteropTest, PythonClientToAiocppServer) {
  std::string printed;
  run(serve_python_client(*loop_, &printed), 20);
  EXPECT_EQ(printed, "hello from python TLSv1.3\n");
}

Task<std::string> talk_to_python_server(EventLoop& loop, int port) {
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto client = [&] { return std::make_shared<TLSCollector>(1000, done, lost); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  auto connection = co_await loop.create_connection(client, "127.0.0.1", port, options);
  connection.transport->write("hello from aiocpp\n");
  // The server closes after its echo: a clean TLS close ends `done`.
  std::string got = co_await done;
  co_await lost;
  co_return got;
}

TEST_F(TLSInteropTest, AiocppClientToPythonServer) {
  const Certificates& certs = Certificates::get();
  auto child = spawn({python(), "-c", python_server, certs.server_cert, certs.server_key});
  int port = std::stoi(child->read_line(10.0));
  EXPECT_EQ(run(talk_to_python_server(*loop_, port), 20), "hello from aiocpp\n");
  child->kill();
  child->wait();
}

}  // namespace
