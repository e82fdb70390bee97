// loop.sendfile over a TLS transport. This kernel has no kernel TLS (no
// "tls" upper-layer protocol), so sendfile(2) cannot encrypt and the file
// goes through the TLS transport's write(), chunk by chunk, each after the
// previous one drained: asyncio's fallback for its SSL transport. Without
// `fallback` the call says why it cannot send natively.

#include <fcntl.h>
#include <unistd.h>

#include "tls_helpers.hpp"

namespace {

using namespace aiocpp;
using namespace aiocpp::testing;

class TLSSendfileTest : public LoopTest {};

// A TLS server that collects what one client sends; sends `content` with
// loop.sendfile over the client's TLS transport and returns what arrived,
// and the file's position afterwards.
struct Sent {
  std::size_t returned = 0;
  std::string received;
  off_t position = 0;
};

Task<Sent> send_file_over_tls(EventLoop& loop, std::string content, bool fallback,
                              std::exception_ptr* error) {
  Future<std::string> done = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto collector = [&] { return std::make_shared<TLSCollector>(content.size(), done, lost); };
  ServerOptions server_options;
  server_options.ssl = server_context();
  auto server = co_await loop.create_server(collector, "127.0.0.1", 0, server_options);
  int port = server->sockets().at(0).getsockname().port();
  auto client = [] { return std::make_shared<TLSEcho>(); };
  ConnectionOptions options;
  options.ssl = client_context();
  options.server_hostname = "localhost";
  auto connection = co_await loop.create_connection(client, "127.0.0.1", port, options);
  detail::UniqueFd file = temp_file_with(content);
  Sent sent;
  try {
    sent.returned =
        co_await loop.sendfile(connection.transport, file.get(), 0, std::nullopt, fallback);
    sent.received = co_await wait_for(done, 20.0);
  } catch (...) {
    *error = std::current_exception();
  }
  sent.position = ::lseek(file.get(), 0, SEEK_CUR);
  connection.transport->close();
  server->close();
  server->abort_clients();
  co_await server->wait_closed();
  co_return sent;
}

TEST_F(TLSSendfileTest, FallsBackToWritingThroughTLS) {
  // More than the fallback's 256 KiB chunks and the TLS layer's write
  // high-water mark: the transfer waits for the transport below to drain.
  std::string content = byte_pattern(3 << 20);
  std::exception_ptr error;
  Sent sent = run(send_file_over_tls(*loop_, content, true, &error), 30);
  ASSERT_FALSE(error);
  EXPECT_EQ(sent.returned, content.size());
  EXPECT_TRUE(sent.received == content) << "the bytes received differ from the file's";
  EXPECT_EQ(sent.position, static_cast<off_t>(content.size()));
}

TEST_F(TLSSendfileTest, WithoutFallbackSaysThereIsNoKernelTLS) {
  std::exception_ptr error;
  Sent sent = run(send_file_over_tls(*loop_, "abc", false, &error), 30);
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const SendfileNotAvailableError& e) {
    EXPECT_NE(std::string(e.what()).find("kernel TLS"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sent.position, 0);
}

}  // namespace
