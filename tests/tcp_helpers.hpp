#pragma once
// Helpers shared by the tcp_*.cpp tests: a protocol that records its calls,
// a server-side acceptor that hands out the accepted protocols, raw sockets,
// and bounded waits on futures.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace tcp_test {

using namespace aiocpp;

inline constexpr double kTimeout = 5.0;

inline void complete(Future<void>& f) {
  if (f.valid() && !f.done()) f.set_result();
}

// A readable description of an exception_ptr.
inline std::string describe(const std::exception_ptr& e) {
  if (!e) return "null";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (const CancelledError&) {
    return "CancelledError";
  } catch (...) {
    return "unknown exception";
  }
}

// The errno a std::system_error carries, or 0 for anything else.
inline int errno_of(const std::exception_ptr& e) {
  if (!e) return 0;
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& ex) {
    return ex.code().value();
  } catch (...) {
    return 0;
  }
}

// Waits for `f` at most `timeout` seconds; on timeout records a failure
// naming `what` and returns false.
inline Task<bool> arrives(Future<void> f, std::string what, double timeout = kTimeout) {
  try {
    co_await wait_for(f, timeout);
  } catch (const TimeoutError&) {
    ADD_FAILURE() << what << ": did not happen within " << timeout << "s";
    co_return false;
  }
  co_return true;
}

// Counts bytes towards a threshold and completes a future once it is reached.
class ByteWaiter {
 public:
  void add(std::size_t n) {
    count_ += n;
    if (waiter_.valid() && !waiter_.done() && count_ >= want_) waiter_.set_result();
  }
  std::size_t count() const { return count_; }
  // Completes once `n` bytes have been counted in total.
  Future<void> at_least(std::size_t n) {
    want_ = n;
    waiter_ = get_running_loop().create_future<void>();
    if (count_ >= n) waiter_.set_result();
    return waiter_;
  }

 private:
  std::size_t count_ = 0;
  std::size_t want_ = 0;
  Future<void> waiter_;
};

// Records every call: "CM", "DR", "ER", "CL", "PW" (pause_writing), "RW".
class Recorder : public Protocol {
 public:
  Recorder()
      : made(get_running_loop().create_future<void>()),
        eof(get_running_loop().create_future<void>()),
        lost(get_running_loop().create_future<void>()) {}

  void connection_made(Transport& t) override {
    calls.push_back("CM");
    transport = &t;
    // A reference kept past connection_lost stays safe to use.
    kept = std::dynamic_pointer_cast<Transport>(t.shared_from_this());
    if (pause_on_connect) t.pause_reading();
    complete(made);
  }
  void data_received(std::string_view data) override {
    calls.push_back("DR");
    if (echo) transport->write(data);
    if (keep_data) received.append(data);
    bytes.add(data.size());
  }
  bool eof_received() override {
    calls.push_back("ER");
    complete(eof);
    return keep_open_on_eof;
  }
  void connection_lost(std::exception_ptr e) override {
    calls.push_back("CL");
    error = e;
    complete(lost);
  }
  void pause_writing() override {
    calls.push_back("PW");
    ++pause_writing_calls;
    buffer_at_pause = transport->get_write_buffer_size();
  }
  void resume_writing() override {
    calls.push_back("RW");
    ++resume_writing_calls;
    buffer_at_resume = transport->get_write_buffer_size();
    complete(resumed);
  }

  // The calls without the repeats of "DR": {"CM", "DR", "ER", "CL"}.
  std::vector<std::string> squeezed() const {
    std::vector<std::string> out;
    for (auto& c : calls) {
      if (c == "DR" && !out.empty() && out.back() == "DR") continue;
      out.push_back(c);
    }
    return out;
  }

  Transport* transport = nullptr;
  std::shared_ptr<Transport> kept;
  std::vector<std::string> calls;
  std::string received;
  ByteWaiter bytes;
  std::exception_ptr error;
  bool echo = false;
  bool keep_data = true;
  bool keep_open_on_eof = false;
  bool pause_on_connect = false;
  int pause_writing_calls = 0;
  int resume_writing_calls = 0;
  std::size_t buffer_at_pause = 0;
  std::size_t buffer_at_resume = 0;
  Future<void> made, eof, lost;
  Future<void> resumed = get_running_loop().create_future<void>();
};

inline std::shared_ptr<Recorder> make_echo() {
  auto p = std::make_shared<Recorder>();
  p->echo = true;
  return p;
}

// The server side of a test: the protocol factory keeps every protocol it
// made, and nth(i) waits for the i-th one to be connected.
template <class P = Recorder>
class Acceptor {
 public:
  struct State {
    std::vector<std::shared_ptr<P>> protocols;
    Future<void> arrived;
    std::function<void(P&)> setup;
  };

  explicit Acceptor(std::function<void(P&)> setup = {}) { state_->setup = std::move(setup); }

  ProtocolFactory factory() const {
    return [state = state_] {
      auto p = std::make_shared<P>();
      if (state->setup) state->setup(*p);
      state->protocols.push_back(p);
      complete(state->arrived);
      return p;
    };
  }

  std::size_t count() const { return state_->protocols.size(); }

  // The i-th accepted protocol, once its connection_made has run; null
  // (and a recorded failure) when it does not come in time.
  Task<std::shared_ptr<P>> nth(std::size_t i) {
    auto state = state_;
    while (state->protocols.size() <= i) {
      state->arrived = get_running_loop().create_future<void>();
      if (!co_await arrives(state->arrived, "accepting connection " + std::to_string(i))) {
        co_return nullptr;
      }
    }
    auto p = state->protocols[i];
    if (!co_await arrives(p->made, "server connection_made")) co_return nullptr;
    co_return p;
  }

 private:
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

inline int port_of(const Server& server) { return server.sockets().at(0).getsockname().port(); }

// The descriptor behind a transport.
inline int fd_of(const BaseTransport& t) {
  return std::any_cast<TransportSocket>(t.get_extra_info("socket")).fileno();
}

// Collects the contexts the loop's exception handler receives.
struct HandlerLog {
  std::vector<ExceptionContext> contexts;
  Future<void> called = get_running_loop().create_future<void>();

  static std::shared_ptr<HandlerLog> install() {
    auto log = std::make_shared<HandlerLog>();
    get_running_loop().set_exception_handler([log](EventLoop&, const ExceptionContext& context) {
      log->contexts.push_back(context);
      complete(log->called);
    });
    return log;
  }
  // The first context whose message contains `text`, or null.
  const ExceptionContext* find(std::string_view text) const {
    for (auto& c : contexts) {
      if (c.message.find(text) != std::string::npos) return &c;
    }
    return nullptr;
  }
};

// A client connected to a server of Recorders on 127.0.0.1.
struct Pair {
  std::shared_ptr<Server> server;
  std::shared_ptr<Transport> transport;  // the client's
  std::shared_ptr<Recorder> client;
  std::shared_ptr<Recorder> peer;  // the server's protocol for this connection

  // Closes both ends and the server, and waits for all of it.
  Task<void> close() {
    transport->close();
    if (peer) peer->transport->close();
    co_await arrives(client->lost, "client connection_lost");
    if (peer) co_await arrives(peer->lost, "server connection_lost");
    server->close();
    co_await server->wait_closed();
  }
};

inline Task<Pair> connect_pair(std::function<void(Recorder&)> server_setup = {},
                               std::function<void(Recorder&)> client_setup = {}) {
  auto& loop = get_running_loop();
  Acceptor<> acceptor(std::move(server_setup));
  Pair pair;
  pair.server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
  auto factory = [client_setup] {
    auto p = std::make_shared<Recorder>();
    if (client_setup) client_setup(*p);
    return p;
  };
  auto connection = co_await loop.create_connection(factory, "127.0.0.1", port_of(*pair.server));
  pair.transport = connection.transport;
  pair.client = connection.protocol;
  pair.peer = co_await acceptor.nth(0);
  co_return pair;
}

// Writes `chunk`-sized pieces of `data` from `offset` on until the transport
// starts buffering (the kernel's send buffer is full: the peer is not
// reading). Returns the new offset.
inline std::size_t fill_until_buffered(Transport& t, const std::string& data, std::size_t offset,
                                       std::size_t chunk = 65536) {
  while (t.get_write_buffer_size() == 0 && offset < data.size()) {
    std::size_t n = std::min(chunk, data.size() - offset);
    t.write(std::string_view(data).substr(offset, n));
    offset += n;
  }
  return offset;
}

// --- Raw sockets ---------------------------------------------------------------------

// A blocking socket connected to `host`:`port` (numeric); -1 on failure.
inline int raw_connect(int port, const char* host = "127.0.0.1") {
  SocketAddress address = SocketAddress::from_ip(host, port);
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, address.data(), address.size()) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Closes `fd` with SO_LINGER {on, 0}: the peer gets a reset, not a FIN.
inline void reset_close(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// Reads a blocking socket on a thread of its own until EOF, an error or a
// deadline, and completes `done` on the loop's thread.
class RawReader {
 public:
  RawReader(int fd, double timeout = kTimeout) : done(get_running_loop().create_future<void>()) {
    EventLoop* loop = &get_running_loop();
    Future<void> finished = done;
    thread_ = std::thread([this, fd, timeout, loop, finished]() mutable {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
      char buf[65536];
      while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
          timed_out = true;
          break;
        }
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
          error = errno;
          break;
        }
        if (n == 0) {
          eof = true;
          break;
        }
        data.append(buf, static_cast<std::size_t>(n));
      }
      loop->call_soon_threadsafe([finished]() mutable { complete(finished); });
    });
  }
  ~RawReader() { thread_.join(); }

  // Read these only once `done` has completed.
  std::string data;
  int error = 0;
  bool eof = false;
  bool timed_out = false;
  Future<void> done;

 private:
  std::thread thread_;
};

inline std::string pattern(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251 + seed) % 26);
  return s;
}

}  // namespace tcp_test
