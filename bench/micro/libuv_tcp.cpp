// libuv peer of aiocpp_tcp.cpp: a TCP echo round trip over 127.0.0.1, server
// and client in one loop, one iteration = one round trip, KeepRunning() called
// from the client's read callback.
//
// This is idiomatic libuv with no allocation per message: reads go into a
// per-connection buffer handed out by alloc_cb (libuv's reads are what
// aiocpp's BufferedProtocol does), and writes use uv_write with a uv_write_t
// owned by the connection. uv_write, like aiocpp's transport.write, tries to
// send at once when nothing is queued; its completion callback comes on the
// next iteration. In a ping-pong only one write per connection is ever in
// flight, so one request per connection is enough (checked below).
// Both sides set TCP_NODELAY, as aiocpp's transports do.

#include <benchmark/benchmark.h>
#include <uv.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

struct Bench;

struct Connection {
  uv_tcp_t tcp;
  uv_write_t write_req;
  bool writing = false;
  char buffer[64 * 1024];
  Bench* bench = nullptr;
};

struct Bench {
  benchmark::State* state = nullptr;
  uv_loop_t loop;
  uv_tcp_t listener;
  Connection server;  // the accepted connection
  Connection client;
  uv_connect_t connect_req;
  std::string message;
  std::size_t received = 0;
  bool accepted = false;
  bool connected = false;
  bool failed = false;
};

Bench* bench_of(uv_handle_t* h) { return static_cast<Connection*>(h->data)->bench; }

void alloc_cb(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(handle->data);
  *buf = uv_buf_init(c->buffer, sizeof c->buffer);
}

void write_cb(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  c->writing = false;
  if (status < 0 && status != UV_ECANCELED) c->bench->failed = true;
}

void send(Connection& c, const char* data, std::size_t size) {
  if (c.writing) {  // never in a ping-pong; would need a request per write
    c.bench->failed = true;
    return;
  }
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(size));
  c.writing = true;
  c.write_req.data = &c;
  if (uv_write(&c.write_req, reinterpret_cast<uv_stream_t*>(&c.tcp), &buf, 1, write_cb) != 0) {
    c.writing = false;
    c.bench->failed = true;
  }
}

void close_all(Bench& b) {
  uv_close(reinterpret_cast<uv_handle_t*>(&b.client.tcp), nullptr);
  if (b.accepted) uv_close(reinterpret_cast<uv_handle_t*>(&b.server.tcp), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&b.listener), nullptr);
}

// The client: sends the next ping while the benchmark wants more.
void next(Bench& b) {
  if (!b.failed && b.state->KeepRunning()) {
    send(b.client, b.message.data(), b.message.size());
  } else {
    close_all(b);
  }
}

void server_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  Bench& b = *bench_of(reinterpret_cast<uv_handle_t*>(stream));
  if (nread > 0) {
    send(b.server, buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0) {
    uv_read_stop(stream);
  }
}

void client_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  Bench& b = *bench_of(reinterpret_cast<uv_handle_t*>(stream));
  if (nread < 0) {
    b.failed = true;
    uv_read_stop(stream);
    return;
  }
  b.received += static_cast<std::size_t>(nread);
  if (b.received < b.message.size()) return;
  b.received -= b.message.size();
  next(b);
}

void on_connection(uv_stream_t* listener, int status) {
  auto& b = *static_cast<Bench*>(listener->data);
  if (status < 0 || b.accepted) {
    b.failed = true;
    return;
  }
  uv_tcp_init(&b.loop, &b.server.tcp);
  b.server.tcp.data = &b.server;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&b.server.tcp)) != 0) {
    b.failed = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&b.server.tcp), nullptr);
    return;
  }
  b.accepted = true;
  uv_tcp_nodelay(&b.server.tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&b.server.tcp), alloc_cb, server_read_cb);
}

void on_connect(uv_connect_t* req, int status) {
  auto& b = *static_cast<Bench*>(req->data);
  if (status < 0) {
    b.failed = true;
    return;
  }
  b.connected = true;
  uv_tcp_nodelay(&b.client.tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&b.client.tcp), alloc_cb, client_read_cb);
}

void tcp_echo(benchmark::State& state) {
  auto b = std::make_unique<Bench>();
  b->state = &state;
  b->message.assign(static_cast<std::size_t>(state.range(0)), 'x');
  b->server.bench = b->client.bench = b.get();
  uv_loop_init(&b->loop);

  uv_tcp_init(&b->loop, &b->listener);
  b->listener.data = b.get();
  sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_bind(&b->listener, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (uv_listen(reinterpret_cast<uv_stream_t*>(&b->listener), 100, on_connection) != 0) {
    state.SkipWithError("uv_listen failed");
  }
  sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&b->listener, reinterpret_cast<sockaddr*>(&bound), &len);
  addr.sin_port = reinterpret_cast<sockaddr_in*>(&bound)->sin_port;

  uv_tcp_init(&b->loop, &b->client.tcp);
  b->client.tcp.data = &b->client;
  b->connect_req.data = b.get();
  uv_tcp_connect(&b->connect_req, &b->client.tcp, reinterpret_cast<const sockaddr*>(&addr),
                 on_connect);
  while (!b->failed && !(b->connected && b->accepted)) uv_run(&b->loop, UV_RUN_ONCE);

  if (b->failed) {
    state.SkipWithError("could not connect");
    close_all(*b);
  } else {
    next(*b);  // KeepRunning() starts the clock
  }
  uv_run(&b->loop, UV_RUN_DEFAULT);  // until close_all() has closed everything
  if (b->failed) state.SkipWithError("the echo failed");
  if (uv_loop_close(&b->loop) != 0) std::abort();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0) * 2);
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("libuv/tcp_echo", tcp_echo)->Arg(64)->UseRealTime();
  return true;
}();

}  // namespace
