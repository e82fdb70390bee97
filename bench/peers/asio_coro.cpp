// The Asio coroutine echo server (standalone Asio, one thread): what Asio's
// C++20 coroutine examples write, and the peer of aiocpp's streams echo
// (peers/aiocpp_streams.cpp). The acceptor and each connection are
// coroutines started with co_spawn; a connection awaits async_read and
// async_write with use_awaitable.
//
// With --size it reads whole messages with async_read of exactly that many
// bytes (the streams echo's readexactly); without it, as the timed matrix
// starts its servers once for every size, whatever has arrived, up to
// 64 KiB, with async_read_some (the streams echo's read(n)). Asio recycles
// the frames of its awaitable operations through a per-thread cache, so the
// steady state allocates no more than the streams echo does.

#define ASIO_STANDALONE
#include <asio.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "peer_args.hpp"

namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

std::uint64_t g_echoed = 0, g_stop_after = 0;
std::size_t g_message_size = 0;  // --size: read whole messages of this size
asio::io_context* g_io = nullptr;

awaitable<void> echo(tcp::socket socket) {
  constexpr std::size_t kBufferSize = 64 * 1024;
  std::size_t size = g_message_size != 0 ? g_message_size : kBufferSize;
  std::unique_ptr<char[]> buffer(new char[size]);
  try {
    for (;;) {
      std::size_t n;
      if (g_message_size != 0) {
        n = co_await asio::async_read(socket, asio::buffer(buffer.get(), size), use_awaitable);
      } else {
        n = co_await socket.async_read_some(asio::buffer(buffer.get(), size), use_awaitable);
      }
      co_await asio::async_write(socket, asio::buffer(buffer.get(), n), use_awaitable);
      if (g_stop_after) {  // only under a --requests budget
        g_echoed += n;
        if (g_echoed >= g_stop_after) g_io->stop();
      }
    }
  } catch (const std::system_error&) {
    // EOF (between or within messages) or a reset: the connection is done.
  }
}

awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);
  g_stop_after = args.stop_after_bytes;
  g_message_size = args.size;
  try {
    asio::io_context io(1);  // one thread: Asio may skip its locking
    g_io = &io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                             static_cast<unsigned short>(args.port)));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](std::error_code, int) { io.stop(); });
    asio::co_spawn(io, listen(acceptor), asio::detached);
    peers::announce_port(acceptor.local_endpoint().port());
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_coro: %s\n", e.what());
    return 1;
  }
  return 0;
}
