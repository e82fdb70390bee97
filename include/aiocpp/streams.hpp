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
// The reader's buffer is one std::string with a live range: the transport
// receives straight into its free tail (the reader's protocol is a
// BufferedProtocol, so a socket's bytes are copied once, by the kernel),
// reads consume from the front by moving an offset, and the consumed prefix
// is moved out of the way only when the tail is too small and the prefix at
// least as large as what stays, so reading a long line or a large message
// copies each byte O(1) times, and readuntil() resumes its search where the
// previous one stopped.

#include <any>
#include <coroutine>
#include <cstddef>
#include <cstdint>
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
  class Read;
  class ReadInto;

  // ValueError for a limit <= 0.
  explicit StreamReader(long limit = stream_default_limit);
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;
  ~StreamReader();

  // Each read returns an awaitable (Read) rather than a coroutine: awaited
  // with enough bytes buffered it completes at once, and when it must wait it
  // allocates no coroutine frame; its state lives in the awaiting frame. It
  // also converts to a Task<std::string> (create_task(reader.readline()),
  // wait_for(reader.readexactly(4), 1.0)).

  // Up to `n` bytes (at least one unless at EOF); n < 0 reads until EOF.
  Read read(long n = -1);
  // One line, '\n' included; at EOF the partial line (maybe empty). A line
  // longer than the limit is a ValueError (and is discarded).
  Read readline();
  // Exactly `n` bytes; IncompleteReadError (with what was read) at EOF first.
  Read readexactly(long n);
  // Up to and including `separator`. LimitOverrunError (consumed() bytes
  // stay buffered) past the limit; IncompleteReadError at EOF first.
  Read readuntil(std::string separator = "\n");

  // The same four, storing the bytes in `into` (replacing its contents)
  // instead of returning a new string: `into` keeps its capacity, so a loop
  // reading messages into one string allocates nothing per message. While
  // such a read waits, `into`'s storage may be the receive space: a read
  // that is cancelled or raises before any byte arrived leaves `into` as it
  // was; one that raises after bytes arrived leaves its contents unspecified.
  ReadInto read(long n, std::string& into);
  ReadInto readline(std::string& into);
  ReadInto readexactly(long n, std::string& into);
  ReadInto readuntil(std::string separator, std::string& into);

  bool at_eof() const noexcept { return eof_ && buffered() == 0; }
  long limit() const noexcept { return limit_; }
  std::exception_ptr exception() const noexcept { return exception_; }

  // What the protocol calls (public, as asyncio's are).
  void set_exception(std::exception_ptr error);
  void set_transport(ReadTransport* transport) noexcept { transport_ = transport; }
  void feed_data(std::string_view data);
  void feed_eof();
  // The zero-copy form of feed_data (BufferedProtocol's pair): free space at
  // the end of the buffer, at least `size_hint` bytes (0: the reader's
  // choice), valid until the next call on the reader; then buffer_updated(n)
  // says that its first n bytes were filled.
  std::span<char> get_buffer(std::size_t size_hint);
  void buffer_updated(std::size_t nbytes);

 private:
  friend class Read;
  std::size_t buffered() const noexcept { return end_ - start_; }
  std::string_view view() const noexcept {
    return std::string_view(buffer_.data() + start_, end_ - start_);
  }
  // At least `wanted` bytes of free space after end_.
  void make_room(std::size_t wanted);
  // After bytes were added at end_: wakes the read, pauses the transport.
  void data_arrived();
  // Removes the first n bytes into `out` (replacing its contents).
  void take(std::size_t n, std::string& out);
  void discard(std::size_t n);
  void maybe_resume_transport();
  // Wakes the waiting read if it can now finish (with bytes or an error).
  void wakeup_waiter();

  long limit_;
  // Unread bytes are buffer_[start_, end_); [end_, size) is free space, lent
  // to the transport. The string's size is how much of it is usable; it
  // grows without writing the added bytes where the standard library allows
  // (detail::resize_for_overwrite), which the transport then overwrites.
  std::string buffer_;
  std::size_t start_ = 0;  // consumed prefix, moved out of the way lazily
  std::size_t end_ = 0;
  std::size_t offered_ = 0;  // the free space get_buffer() offered last
  bool eof_ = false;
  bool paused_ = false;                 // we paused the transport's reading
  ReadTransport* transport_ = nullptr;  // valid until connection_lost
  Read* pending_ = nullptr;             // the read that waits for data, if any
  std::optional<Future<void>> waiter_;  // what its task waits on
  std::exception_ptr exception_;
};

// One read operation of a StreamReader, as asyncio's read methods are
// coroutines: awaiting it checks the buffer and finishes at once when it can;
// otherwise its task waits until the reader has what this read needs (the
// bytes, EOF or an error), and the read finishes when the task resumes. The
// bytes stay in the reader until then, so a cancelled read loses nothing.
class StreamReader::Read {
 public:
  using task_type = Task<std::string>;

  Read(Read&& other) noexcept;
  Read& operator=(Read&&) = delete;
  ~Read();

  bool await_ready();
  void await_suspend(std::coroutine_handle<> waiter);
  std::string await_resume() {
    std::string out;
    finish_into(out);
    return out;
  }

  // As a task of its own (create_task, wait_for, gather).
  operator Task<std::string>() && { return run(std::move(*this)); }  // NOLINT: as a coroutine
  Task<std::string> task() && { return run(std::move(*this)); }

 protected:
  friend class StreamReader;
  enum class Kind : std::uint8_t { read, readexactly, readuntil, readline };
  Read(StreamReader& reader, Kind kind, long n, std::string separator, std::string* into) noexcept
      : reader_(&reader), n_(n), separator_(std::move(separator)), into_(into), kind_(kind) {}

  // Whether this read can finish now: with bytes, or by raising.
  bool can_finish();
  // Finishes the read into `out`; throws what asyncio's would.
  void finish_into(std::string& out);
  void finish_readuntil(std::string& out);
  void leave_reader() noexcept;
  void lend_into() noexcept;
  void unlend_into() noexcept;
  static Task<std::string> run(Read read) { co_return co_await read; }

  StreamReader* reader_;
  long n_;
  std::string separator_;
  std::string* into_;                 // ReadInto's destination
  std::size_t offset_ = 0;            // readuntil: where the next search starts
  std::size_t lent_size_ = 0;         // *into_'s size before it was lent
  detail::TaskBase* task_ = nullptr;  // the task that waited, if it did
  Kind kind_;
  bool busy_ = false;  // another read was already waiting
  bool lent_ = false;  // *into_ is the reader's receive space while this read waits
};

// A read whose bytes go into the caller's string; awaiting it gives nothing.
class StreamReader::ReadInto : public StreamReader::Read {
 public:
  using task_type = Task<void>;
  ReadInto(ReadInto&&) noexcept = default;
  void await_resume() { finish_into(*into_); }
  operator Task<void>() && { return run(std::move(*this)); }  // NOLINT: as a coroutine
  Task<void> task() && { return run(std::move(*this)); }

 private:
  friend class StreamReader;
  using Read::Read;
  static Task<void> run(ReadInto read) { co_await read; }
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
  // is not paused and nothing failed. While it is paused, the task waits on
  // a waiter future registered with the protocol (recycled: no allocation
  // either). What is rarer (a reader error, a closing transport, a lost
  // connection) runs as a task that may allocate.
  class DrainAwaiter {
   public:
    explicit DrainAwaiter(StreamWriter& writer) : writer_(writer) {}
    DrainAwaiter(const DrainAwaiter&) = delete;
    DrainAwaiter& operator=(const DrainAwaiter&) = delete;
    ~DrainAwaiter() { leave_protocol(); }
    bool await_ready();
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> waiter);
    void await_resume() {
      if (awaiter_ || paused_) finish_wait();  // (nothing to do when ready at once)
    }

   private:
    void finish_wait();
    void leave_protocol() noexcept;

    StreamWriter& writer_;
    std::optional<Task<void>> slow_;
    std::optional<Task<void>::Awaiter> awaiter_;
    std::optional<Future<void>> paused_;  // the waiter the protocol wakes
    std::uint64_t paused_id_ = 0;         // its registration, 0 once removed
    detail::TaskBase* task_ = nullptr;    // the task that waits on it
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
