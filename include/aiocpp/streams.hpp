#pragma once
// asyncio's streams: StreamReader / StreamWriter over a stream transport,
// and open_connection / start_server (TCP) and open_unix_connection /
// start_unix_server (AF_UNIX) to get them.
//
//   Task<> client_connected(std::shared_ptr<aiocpp::StreamReader> reader,
//                           std::shared_ptr<aiocpp::StreamWriter> writer) {
//     std::string line = co_await reader->readline();
//     writer->write(line);
//     co_await writer->drain();
//     writer->close();
//     co_await writer->wait_closed();
//   }
//   auto server = co_await aiocpp::start_server(client_connected, "127.0.0.1", 8888);
//
// Reader and writer are shared: the client_connected task (kept by the
// connection's protocol until it finishes) and the caller may both hold them.
//
// The reader's buffer is one std::string with a read offset: bytes are
// appended as they arrive and consumed from the front by moving the offset,
// and the consumed prefix is dropped only when it is most of the buffer, so
// reading a long line or a large message copies each byte O(1) times, and
// readuntil() resumes its search where the previous one stopped.

#include <any>
#include <cstddef>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aiocpp/errors.hpp"
#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/server.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/transports.hpp"

namespace aiocpp {

// asyncio's default limit for a line or a readuntil() chunk: 64 KiB.
inline constexpr long stream_default_limit = 64 * 1024;

class StreamReader {
 public:
  // ValueError for a limit <= 0.
  explicit StreamReader(long limit = stream_default_limit);
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // Up to `n` bytes (at least one unless at EOF); n < 0 reads until EOF.
  Task<std::string> read(long n = -1);
  // One line, '\n' included; at EOF the partial line (maybe empty). A line
  // longer than the limit is a ValueError (and is discarded).
  Task<std::string> readline();
  // Exactly `n` bytes; IncompleteReadError (with what was read) at EOF first.
  Task<std::string> readexactly(long n);
  // Up to and including `separator`. LimitOverrunError (consumed() bytes
  // stay buffered) past the limit; IncompleteReadError at EOF first.
  Task<std::string> readuntil(std::string separator = "\n");

  bool at_eof() const noexcept { return eof_ && buffered() == 0; }
  long limit() const noexcept { return limit_; }
  std::exception_ptr exception() const noexcept { return exception_; }

  // What the protocol calls (public, as asyncio's are).
  void set_exception(std::exception_ptr error);
  void set_transport(ReadTransport* transport) noexcept { transport_ = transport; }
  void feed_data(std::string_view data);
  void feed_eof();

 private:
  std::size_t buffered() const noexcept { return buffer_.size() - start_; }
  std::string_view view() const noexcept { return std::string_view(buffer_).substr(start_); }
  std::string take(std::size_t n);  // removes and returns the first n bytes
  void discard(std::size_t n);
  void maybe_resume_transport();
  void wakeup_waiter();
  Task<void> wait_for_data(const char* function);

  long limit_;
  std::string buffer_;     // unread bytes are buffer_[start_, size)
  std::size_t start_ = 0;  // consumed prefix, dropped lazily
  bool eof_ = false;
  bool paused_ = false;                 // we paused the transport's reading
  ReadTransport* transport_ = nullptr;  // valid until connection_lost
  std::optional<Future<void>> waiter_;
  std::exception_ptr exception_;
};

namespace detail {
class FlowControl;
}

class StreamWriter {
 public:
  // `transport` is a socket's transport or a child's stdin pipe; `protocol`
  // is the one behind it, which tracks flow control; `reader` (null for a
  // pipe) is the same connection's reader, whose error drain() raises.
  StreamWriter(std::shared_ptr<WriteTransport> transport,
               std::shared_ptr<detail::FlowControl> protocol, std::shared_ptr<StreamReader> reader);
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  WriteTransport& transport() const noexcept { return *transport_; }
  void write(std::string_view data) { transport_->write(data); }
  void writelines(std::span<const std::string_view> chunks) { transport_->writelines(chunks); }
  void writelines(std::initializer_list<std::string_view> chunks) {
    transport_->writelines(chunks);
  }
  bool can_write_eof() const { return transport_->can_write_eof(); }
  void write_eof() { transport_->write_eof(); }
  void close() { transport_->close(); }
  bool is_closing() const { return transport_->is_closing(); }
  std::any get_extra_info(std::string_view name, std::any default_value = {}) const {
    return transport_->get_extra_info(name, std::move(default_value));
  }
  // Completes once the connection is lost; throws its error if it had one.
  Task<void> wait_closed();

  // What drain() returns: ready at once (no allocation) while the transport
  // is not paused and nothing failed; otherwise a task that waits.
  class DrainAwaiter {
   public:
    explicit DrainAwaiter(StreamWriter& writer) : writer_(writer) {}
    bool await_ready();
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> waiter) {
      awaiter_.emplace(*slow_);
      return awaiter_->await_suspend(waiter);
    }
    void await_resume() {
      if (awaiter_) awaiter_->await_resume();
    }

   private:
    StreamWriter& writer_;
    std::optional<Task<void>> slow_;
    std::optional<Task<void>::Awaiter> awaiter_;
  };
  // Waits until the transport's write buffer is below its low-water mark.
  // Throws the reader's exception, or ConnectionResetError (a system_error)
  // once the connection is lost.
  DrainAwaiter drain() { return DrainAwaiter(*this); }

 private:
  Task<void> drain_slow();
  std::shared_ptr<WriteTransport> transport_;
  std::shared_ptr<detail::FlowControl> protocol_;
  std::shared_ptr<StreamReader> reader_;
};

// What open_connection returns: `auto [reader, writer] = co_await open_connection(...)`.
struct Streams {
  std::shared_ptr<StreamReader> reader;
  std::shared_ptr<StreamWriter> writer;
};

// The coroutine start_server runs for each connection.
using ClientConnected =
    std::function<Task<void>(std::shared_ptr<StreamReader>, std::shared_ptr<StreamWriter>)>;

Task<Streams> open_connection(std::string host, int port, ConnectionOptions options = {},
                              long limit = stream_default_limit);
// Serves with a new task running `client_connected(reader, writer)` per
// connection. An exception escaping it goes to the loop's exception handler
// and closes that connection.
Task<std::shared_ptr<Server>> start_server(ClientConnected client_connected, std::string host,
                                           int port, ServerOptions options = {},
                                           long limit = stream_default_limit);
Task<Streams> open_unix_connection(std::string path, long limit = stream_default_limit);
Task<std::shared_ptr<Server>> start_unix_server(ClientConnected client_connected, std::string path,
                                                UnixServerOptions options = {},
                                                long limit = stream_default_limit);

}  // namespace aiocpp
