// The libuv echo server, written as libuv is meant to be used: alloc_cb hands
// out one reused buffer (the bytes leave before the next read), uv_try_write
// sends the echo at once, and only what the kernel refuses is copied into a
// uv_write request, the one heap allocation, under back-pressure only.

#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "peer_args.hpp"

namespace {

constexpr std::size_t kBufferSize = 256 * 1024;  // asyncio's read size, as everywhere here
char g_buffer[kBufferSize];
std::uint64_t g_echoed = 0, g_stop_after = 0;
uv_loop_t* g_loop = nullptr;

struct WriteRequest {
  uv_write_t req;
  uv_buf_t buf;  // owns a copy of the refused bytes
};

void on_close(uv_handle_t* handle) { std::free(handle); }

// Only under a --requests budget, as the aiocpp peers count.
void count(std::size_t n) {
  if (g_stop_after == 0) return;
  g_echoed += n;
  if (g_echoed >= g_stop_after) uv_stop(g_loop);
}

void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(g_buffer, kBufferSize);
}

void on_written(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteRequest*>(req);
  if (status == 0) count(w->buf.len);
  std::free(w->buf.base);
  std::free(w);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_close);
    return;
  }
  if (nread == 0) return;
  uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(nread));
  int n = uv_try_write(stream, &out, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_close);
    return;
  }
  count(static_cast<std::size_t>(n));
  if (n < nread) {
    auto* w = static_cast<WriteRequest*>(std::malloc(sizeof(WriteRequest)));
    std::size_t rest = static_cast<std::size_t>(nread - n);
    w->buf = uv_buf_init(static_cast<char*>(std::malloc(rest)), static_cast<unsigned>(rest));
    std::memcpy(w->buf.base, buf->base + n, rest);
    uv_write(&w->req, stream, &w->buf, 1, on_written);
  }
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* client = static_cast<uv_tcp_t*>(std::malloc(sizeof(uv_tcp_t)));
  uv_tcp_init(g_loop, client);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(client), on_close);
    return;
  }
  client->data = nullptr;  // see close_any
  uv_tcp_nodelay(client, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(client), on_alloc, on_read);
}

void on_signal(uv_signal_t*, int) { uv_stop(g_loop); }

void close_any(uv_handle_t* handle, void*) {
  if (uv_is_closing(handle)) return;
  // Clients were malloc'ed; the server and signal handles live on main's stack.
  bool heap = handle->type == UV_TCP && handle->data == nullptr;
  uv_close(handle, heap ? on_close : nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);
  g_stop_after = args.stop_after_bytes;
  g_loop = uv_default_loop();

  uv_tcp_t server;
  uv_tcp_init(g_loop, &server);
  server.data = &server;  // marks the one TCP handle that is not on the heap
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", args.port, &addr);
  int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 1024, on_connection);
  if (rc != 0) {
    std::fprintf(stderr, "libuv: listen: %s\n", uv_strerror(rc));
    return 1;
  }
  int len = sizeof addr;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);

  uv_signal_t sigint, sigterm;
  uv_signal_init(g_loop, &sigint);
  uv_signal_init(g_loop, &sigterm);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  peers::announce_port(ntohs(addr.sin_port));

  uv_run(g_loop, UV_RUN_DEFAULT);
  uv_walk(g_loop, close_any, nullptr);
  uv_run(g_loop, UV_RUN_DEFAULT);  // runs the close callbacks
  return uv_loop_close(g_loop) == 0 ? 0 : 1;
}
