// TLS with Python's ssl + asyncio (/usr/bin/python3) on the other end, both
// directions: from the first byte, and with start_tls in the middle of a
// plaintext conversation.

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
  std::vector<std::string> argv = {python(), "-c", python_client, std::to_string(port),
                                   Certificates::get().ca};
  *printed = co_await client_output(loop, argv);
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

// An asyncio client of a plaintext conversation: "STARTTLS", "OK", then
// loop.start_tls (through StreamWriter.start_tls) and a line echoed over TLS.
constexpr const char* python_starttls_client = R"(
import asyncio, ssl, sys
async def main(port, cafile):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(b'STARTTLS\n')
    assert await reader.readline() == b'OK\n'
    ctx = ssl.create_default_context(cafile=cafile)
    await writer.start_tls(ctx, server_hostname='localhost')
    writer.write(b'secret\n')
    print((await reader.readline()).decode().strip(), writer.get_extra_info('ssl_object').version())
    writer.close()
    await writer.wait_closed()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
)";

// The asyncio server of the same conversation: prints its port, answers
// "STARTTLS" with "OK", upgrades, echoes one line over TLS, closes.
constexpr const char* python_starttls_server = R"(
import asyncio, ssl, sys
async def serve(reader, writer):
    assert await reader.readline() == b'STARTTLS\n'
    writer.write(b'OK\n')
    await writer.drain()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    await writer.start_tls(ctx)
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(serve, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.sleep(10)
asyncio.run(main())
)";

Task<void> serve_python_starttls_client(EventLoop& loop, std::string* printed) {
  std::shared_ptr<StartTLSServer> protocol;
  auto factory = [&] {
    protocol = std::make_shared<StartTLSServer>(&loop, &protocol);
    return protocol;
  };
  auto server = co_await loop.create_server(factory, "127.0.0.1", 0);
  int port = server->sockets().at(0).getsockname().port();
  std::vector<std::string> argv = {python(), "-c", python_starttls_client, std::to_string(port),
                                   Certificates::get().ca};
  *printed = co_await client_output(loop, argv);
  server->close();
  co_await server->wait_closed();
}

TEST_F(TLSInteropTest, PythonClientStartsTlsWithAiocppServer) {
  std::string printed;
  run(serve_python_starttls_client(*loop_, &printed), 20);
  EXPECT_EQ(printed, "secret TLSv1.3\n");
}

TEST_F(TLSInteropTest, AiocppClientStartsTlsWithPythonServer) {
  const Certificates& certs = Certificates::get();
  auto child = spawn({python(), "-c", python_starttls_server, certs.server_cert, certs.server_key});
  int port = std::stoi(child->read_line(10.0));
  EXPECT_EQ(run(start_tls_client(*loop_, port, "secret\n"), 20), "secret\n");
  child->kill();
  child->wait();
}

}  // namespace
