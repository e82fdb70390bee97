// asyncio's streams: StreamReader's buffer and read operations, the
// protocol that feeds it and does the writer's flow control
// (StreamReaderProtocol + FlowControlMixin), StreamWriter, and the
// functions that open connections and servers with them.

#include "aiocpp/streams.hpp"

#include <cerrno>
#include <system_error>
#include <utility>

#include "aiocpp/tasks.hpp"
#include "core/flow_control.hpp"

namespace aiocpp {

// --- StreamReader ----------------------------------------------------------------

StreamReader::StreamReader(long limit) : limit_(limit) {
  if (limit <= 0) throw ValueError("Limit cannot be <= 0");
}

void StreamReader::set_exception(std::exception_ptr error) {
  exception_ = std::move(error);
  wakeup_waiter();
}

void StreamReader::wakeup_waiter() {
  if (waiter_ && !waiter_->done()) waiter_->set_result();
}

void StreamReader::feed_eof() {
  eof_ = true;
  wakeup_waiter();
}

void StreamReader::feed_data(std::string_view data) {
  if (data.empty()) return;
  buffer_.append(data);
  wakeup_waiter();
  // Past twice the limit, stop reading until the application catches up.
  if (transport_ && !paused_ && buffered() > 2 * static_cast<std::size_t>(limit_)) {
    transport_->pause_reading();
    paused_ = true;
  }
}

void StreamReader::maybe_resume_transport() {
  if (paused_ && buffered() <= static_cast<std::size_t>(limit_)) {
    paused_ = false;
    if (transport_) transport_->resume_reading();
  }
}

void StreamReader::discard(std::size_t n) {
  start_ += n;
  if (start_ == buffer_.size()) {
    buffer_.clear();  // keeps its capacity: the next message reuses it
    start_ = 0;
  } else if (start_ >= 4096 && start_ > buffer_.size() / 2) {
    // The consumed prefix is most of the buffer: drop it. Each byte moves
    // at most once per halving, so the cost stays linear.
    buffer_.erase(0, start_);
    start_ = 0;
  }
}

std::string StreamReader::take(std::size_t n) {
  std::string out(buffer_.data() + start_, n);
  discard(n);
  return out;
}

Task<void> StreamReader::wait_for_data(const char* function) {
  if (waiter_) {
    throw RuntimeError(std::string(function) +
                       "() called while another coroutine is already waiting for incoming data");
  }
  if (eof_) throw RuntimeError(std::string(function) + "() called after EOF");  // cannot happen
  // A paused transport with an unsatisfied reader would wait forever.
  if (paused_) {
    paused_ = false;
    if (transport_) transport_->resume_reading();
  }
  waiter_ = get_running_loop().create_future<void>();
  Future<void> waiter = *waiter_;
  try {
    co_await waiter;
  } catch (...) {
    waiter_.reset();
    throw;
  }
  waiter_.reset();
  if (exception_) std::rethrow_exception(exception_);
}

Task<std::string> StreamReader::read(long n) {
  if (exception_) std::rethrow_exception(exception_);
  if (n == 0) co_return std::string();
  if (n < 0) {
    // Everything until EOF.
    while (!eof_) co_await wait_for_data("read");
    std::string all = take(buffered());
    maybe_resume_transport();
    co_return all;
  }
  if (buffered() == 0 && !eof_) co_await wait_for_data("read");
  std::string data = take(std::min<std::size_t>(static_cast<std::size_t>(n), buffered()));
  maybe_resume_transport();
  co_return data;
}

Task<std::string> StreamReader::readexactly(long n) {
  if (n < 0) throw ValueError("readexactly size can not be less than zero");
  if (exception_) std::rethrow_exception(exception_);
  if (n == 0) co_return std::string();
  auto wanted = static_cast<std::size_t>(n);
  while (buffered() < wanted) {
    if (eof_) {
      std::string partial = take(buffered());
      throw IncompleteReadError(std::move(partial), wanted);
    }
    co_await wait_for_data("readexactly");
  }
  std::string data = take(wanted);
  maybe_resume_transport();
  co_return data;
}

Task<std::string> StreamReader::readuntil(std::string separator) {
  const std::size_t seplen = separator.size();
  if (seplen == 0) throw ValueError("Separator should be at least one-byte string");
  if (exception_) std::rethrow_exception(exception_);
  const auto limit = static_cast<std::size_t>(limit_);
  // Where the search resumes: the bytes before it cannot start a match.
  std::size_t offset = 0;
  std::size_t found;
  for (;;) {
    std::size_t buflen = buffered();
    if (buflen - offset >= seplen) {
      found = view().find(separator, offset);
      if (found != std::string_view::npos) break;
      offset = buflen + 1 - seplen;
      if (offset > limit) {
        throw LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
      }
    }
    if (eof_) {
      std::string partial = take(buffered());
      throw IncompleteReadError(std::move(partial), IncompleteReadError::undefined);
    }
    co_await wait_for_data("readuntil");
  }
  if (found > limit) {
    throw LimitOverrunError("Separator is found, but chunk is longer than limit", found);
  }
  std::string chunk = take(found + seplen);
  maybe_resume_transport();
  co_return chunk;
}

Task<std::string> StreamReader::readline() {
  std::string separator = "\n";
  std::string line;
  std::optional<LimitOverrunError> overrun;
  try {
    line = co_await readuntil(separator);
  } catch (const IncompleteReadError& e) {
    co_return e.partial();
  } catch (const LimitOverrunError& e) {
    overrun = e;
  }
  if (overrun) {
    // Drop the over-long line (through its newline when it arrived).
    if (view().substr(overrun->consumed()).starts_with(separator)) {
      discard(overrun->consumed() + separator.size());
    } else {
      discard(buffered());
    }
    maybe_resume_transport();
    throw ValueError(overrun->what());
  }
  co_return line;
}

// --- The protocol ----------------------------------------------------------------

namespace detail {

// asyncio's StreamReaderProtocol with FlowControlMixin: feeds the reader,
// tracks pause_writing / resume_writing for drain(), and on a server runs
// client_connected for the connection (the task lives as long as it runs:
// this protocol holds it, and the transport holds this protocol).
class StreamProtocol : public Protocol,
                       public FlowControl,
                       public std::enable_shared_from_this<StreamProtocol> {
 public:
  StreamProtocol(std::shared_ptr<StreamReader> reader, ClientConnected client_connected)
      : reader_(std::move(reader)),
        client_connected_(std::move(client_connected)),
        loop_(&get_running_loop()),
        closed_(loop_->create_future<void>()) {}

  void connection_made(Transport& transport) override {
    reader_->set_transport(&transport);
    if (!client_connected_) return;
    auto shared = std::dynamic_pointer_cast<Transport>(transport.shared_from_this());
    auto writer = std::make_shared<StreamWriter>(shared, shared_from_this(), reader_);
    task_ = loop_->create_task(client_connected_(reader_, std::move(writer)));
    std::weak_ptr<Transport> weak = shared;
    task_.add_done_callback([weak, loop = loop_](Future<void>& done) {
      if (done.cancelled()) return;
      std::exception_ptr error = done.exception();
      if (!error) return;
      ExceptionContext context;
      context.message = "Unhandled exception in client_connected_cb";
      context.exception = error;
      if (auto t = weak.lock()) {
        context.transport = t;
        t->close();
      }
      loop->call_exception_handler(context);
    });
  }

  void connection_lost(std::exception_ptr error) override {
    if (error) {
      reader_->set_exception(error);
    } else {
      reader_->feed_eof();
    }
    reader_->set_transport(nullptr);
    if (!closed_.done()) {
      if (error) {
        closed_.set_exception(error);
        (void)closed_.exception();  // wait_closed() re-raises it; not "never retrieved"
      } else {
        closed_.set_result();
      }
    }
    flow_connection_lost(error);
  }

  void data_received(std::string_view data) override { reader_->feed_data(data); }
  bool eof_received() override {
    reader_->feed_eof();
    return true;  // half-open: the writer may still write and close itself
  }

  void pause_writing() override { flow_pause_writing(); }
  void resume_writing() override { flow_resume_writing(); }
  Future<void> close_waiter() const override { return closed_; }

 private:
  std::shared_ptr<StreamReader> reader_;
  ClientConnected client_connected_;
  EventLoop* loop_;
  Future<void> closed_;
  Task<void> task_;
};

}  // namespace detail

// --- StreamWriter ----------------------------------------------------------------

StreamWriter::StreamWriter(std::shared_ptr<WriteTransport> transport,
                           std::shared_ptr<detail::FlowControl> protocol,
                           std::shared_ptr<StreamReader> reader)
    : transport_(std::move(transport)),
      protocol_(std::move(protocol)),
      reader_(std::move(reader)) {}

Task<void> StreamWriter::wait_closed() {
  Future<void> closed = protocol_->close_waiter();
  co_await closed;
}

bool StreamWriter::DrainAwaiter::await_ready() {
  StreamWriter& w = writer_;
  if ((!w.reader_ || !w.reader_->exception()) && !w.transport_->is_closing() &&
      w.protocol_->drain_ready()) {
    return true;
  }
  slow_.emplace(w.drain_slow());
  return false;
}

Task<void> StreamWriter::drain_slow() {
  if (reader_) {
    if (std::exception_ptr error = reader_->exception()) std::rethrow_exception(error);
  }
  // Closing: let connection_lost run first, so that drain() then reports it.
  if (transport_->is_closing()) co_await yield_now();
  co_await protocol_->drain_helper();
}

// --- Opening connections and servers ------------------------------------------------

Task<Streams> open_connection(std::string host, int port, ConnectionOptions options, long limit) {
  EventLoop& loop = get_running_loop();
  auto reader = std::make_shared<StreamReader>(limit);
  auto factory = [reader] { return std::make_shared<detail::StreamProtocol>(reader, nullptr); };
  auto connection = co_await loop.create_connection(factory, std::move(host), port, options);
  auto writer = std::make_shared<StreamWriter>(connection.transport, connection.protocol, reader);
  co_return Streams{reader, writer};
}

Task<std::shared_ptr<Server>> start_server(ClientConnected client_connected, std::string host,
                                           int port, ServerOptions options, long limit) {
  if (limit <= 0) throw ValueError("Limit cannot be <= 0");
  EventLoop& loop = get_running_loop();
  auto factory = [client_connected, limit] {
    return std::make_shared<detail::StreamProtocol>(std::make_shared<StreamReader>(limit),
                                                    client_connected);
  };
  co_return co_await loop.create_server(factory, std::move(host), port, options);
}

Task<Streams> open_unix_connection(std::string path, long limit) {
  EventLoop& loop = get_running_loop();
  auto reader = std::make_shared<StreamReader>(limit);
  auto factory = [reader] { return std::make_shared<detail::StreamProtocol>(reader, nullptr); };
  auto connection = co_await loop.create_unix_connection(factory, std::move(path));
  auto writer = std::make_shared<StreamWriter>(connection.transport, connection.protocol, reader);
  co_return Streams{reader, writer};
}

Task<std::shared_ptr<Server>> start_unix_server(ClientConnected client_connected, std::string path,
                                                UnixServerOptions options, long limit) {
  if (limit <= 0) throw ValueError("Limit cannot be <= 0");
  EventLoop& loop = get_running_loop();
  auto factory = [client_connected, limit] {
    return std::make_shared<detail::StreamProtocol>(std::make_shared<StreamReader>(limit),
                                                    client_connected);
  };
  co_return co_await loop.create_unix_server(factory, std::move(path), options);
}

}  // namespace aiocpp
