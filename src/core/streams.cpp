// asyncio's streams: StreamReader's buffer and read operations, the
// protocol that feeds it and does the writer's flow control
// (StreamReaderProtocol + FlowControlMixin), StreamWriter, and the
// functions that open connections and servers with them.

#include "aiocpp/streams.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "aiocpp/tasks.hpp"
#include "core/flow_control.hpp"
#include "core/resize_for_overwrite.hpp"

namespace aiocpp {

// --- StreamReader ----------------------------------------------------------------

StreamReader::StreamReader(long limit) : limit_(limit) {
  if (limit <= 0) throw ValueError("Limit cannot be <= 0");
}

StreamReader::~StreamReader() {
  if (pending_) pending_->reader_ = nullptr;
}

void StreamReader::set_exception(std::exception_ptr error) {
  exception_ = std::move(error);
  wakeup_waiter();
}

void StreamReader::wakeup_waiter() {
  if (pending_ && !waiter_->done() && pending_->can_finish()) waiter_->set_result();
}

void StreamReader::feed_eof() {
  eof_ = true;
  wakeup_waiter();
}

// Free space the transport is offered when it names no size: what is free
// if that is at least min_lend (the rest of a message that arrived in parts,
// or a caller's string traded in by a read), else lend_size, for which a
// recv(2) takes a burst of segments at once. (Lending 16 KiB made 100 KiB
// messages take seven receives, reads, writes and drains each.)
constexpr std::size_t lend_size = 64 * 1024;
constexpr std::size_t min_lend = 4 * 1024;
// From this size on, a read that takes the whole buffer into a caller's
// string may swap the two strings instead of copying (swap_beats_copy).
constexpr std::size_t swap_from = 4 * 1024;

namespace {

// Whether trading buffers with `out` beats copying n bytes into it. `out`
// becomes the reader's free space, as large as its size (or the last offer,
// when its capacity allows: take()). A caller that reuses its string for
// messages of one size then trades the same two strings back and forth, or,
// with its read already waiting, keeps one (lend_into): no copy, no
// allocation.
bool swap_beats_copy(std::size_t n, const std::string& out) {
  return n >= swap_from && out.capacity() >= n && out.size() >= min_lend;
}

// Grows `s` to `offer` bytes if its capacity allows, without writing them
// (take() says why an offer must not shrink). Whether `s` now holds `offer`.
bool grow_to_offer(std::string& s, std::size_t offer) {
  if (s.size() >= offer) return true;
  if (s.capacity() < offer) return false;
  detail::resize_for_overwrite(s, offer);  // within the capacity: no throw
  return true;
}

}  // namespace

void StreamReader::feed_data(std::string_view data) {
  if (data.empty()) return;
  make_room(data.size());
  std::memcpy(buffer_.data() + end_, data.data(), data.size());
  end_ += data.size();
  data_arrived();
}

std::span<char> StreamReader::get_buffer(std::size_t size_hint) {
  if (start_ == end_) start_ = end_ = 0;
  if (buffer_.size() - end_ < (size_hint != 0 ? size_hint : min_lend)) {
    make_room(size_hint != 0 ? size_hint : lend_size);
  }
  offered_ = buffer_.size() - end_;
  return {buffer_.data() + end_, offered_};
}

void StreamReader::buffer_updated(std::size_t nbytes) {
  if (nbytes == 0) return;
  end_ += nbytes;
  data_arrived();
}

void StreamReader::make_room(std::size_t wanted) {
  if (start_ == end_) start_ = end_ = 0;
  if (buffer_.size() - end_ >= wanted) return;
  const std::size_t live = end_ - start_;
  if (start_ >= live) {
    // The consumed prefix is at least what stays: moving the live bytes to
    // the front costs no more than the reads that consumed it, so each byte
    // is moved O(1) times.
    std::memmove(buffer_.data(), buffer_.data() + start_, live);
    start_ = 0;
    end_ = live;
    if (buffer_.size() - end_ >= wanted) return;
  }
  // Within the capacity, only what is wanted; past it, doubling, so that
  // reallocations stay linear.
  std::size_t size = end_ + wanted;
  if (size > buffer_.capacity()) size = std::max(size, 2 * buffer_.size());
  detail::resize_for_overwrite(buffer_, size);
}

void StreamReader::data_arrived() {
  wakeup_waiter();
  // Past twice the limit, stop reading until the application catches up;
  // not while a read still waits for more (asyncio's would resume it).
  if (transport_ && !paused_ && buffered() > 2 * static_cast<std::size_t>(limit_) &&
      (!pending_ || waiter_->done())) {
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
  if (start_ == end_) start_ = end_ = 0;  // the next bytes go to the front
}

void StreamReader::take(std::size_t n, std::string& out) {
  if (start_ == 0 && n == end_ && swap_beats_copy(n, out)) {
    // All that is buffered, into a caller's reused string that is large
    // enough: trade buffers instead of copying. Neither side allocates later.
    out.swap(buffer_);
    out.resize(n);  // shrinks: no fill
    start_ = end_ = 0;
    // The reader's new free space is as large as the caller's last result:
    // after a short receive (two servers sharing a CPU: 4-10 KiB) every later
    // offer would be shorter still, 10 receives per 100 KiB message instead of
    // 2. Where the capacity allows, the next offer is as large as the last.
    grow_to_offer(buffer_, offered_);
    return;
  }
  out.assign(buffer_.data() + start_, n);
  discard(n);
}

StreamReader::Read StreamReader::read(long n) {
  return Read(*this, Read::Kind::read, n, {}, nullptr);
}
StreamReader::Read StreamReader::readline() {
  return Read(*this, Read::Kind::readline, 0, "\n", nullptr);
}
StreamReader::Read StreamReader::readexactly(long n) {
  return Read(*this, Read::Kind::readexactly, n, {}, nullptr);
}
StreamReader::Read StreamReader::readuntil(std::string separator) {
  return Read(*this, Read::Kind::readuntil, 0, std::move(separator), nullptr);
}
StreamReader::ReadInto StreamReader::read(long n, std::string& into) {
  return ReadInto(*this, Read::Kind::read, n, {}, &into);
}
StreamReader::ReadInto StreamReader::readline(std::string& into) {
  return ReadInto(*this, Read::Kind::readline, 0, "\n", &into);
}
StreamReader::ReadInto StreamReader::readexactly(long n, std::string& into) {
  return ReadInto(*this, Read::Kind::readexactly, n, {}, &into);
}
StreamReader::ReadInto StreamReader::readuntil(std::string separator, std::string& into) {
  return ReadInto(*this, Read::Kind::readuntil, 0, std::move(separator), &into);
}

// --- One read ------------------------------------------------------------------------

StreamReader::Read::Read(Read&& other) noexcept
    : reader_(other.reader_),
      n_(other.n_),
      separator_(std::move(other.separator_)),
      into_(other.into_),
      offset_(other.offset_),
      kind_(other.kind_) {}

StreamReader::Read::~Read() { leave_reader(); }

// The reader forgets this read (it finished, or its frame is destroyed).
void StreamReader::Read::leave_reader() noexcept {
  if (reader_ && reader_->pending_ == this) {
    reader_->pending_ = nullptr;
    reader_->waiter_.reset();
  }
}

bool StreamReader::Read::can_finish() {
  if (!reader_) return true;  // finish_into reports it
  StreamReader& r = *reader_;
  // Bad arguments and a stored exception raise at once, as asyncio's do.
  if (kind_ == Kind::readexactly && n_ < 0) return true;
  if ((kind_ == Kind::readuntil || kind_ == Kind::readline) && separator_.empty()) return true;
  if (r.exception_ || r.eof_) return true;
  std::size_t buffered = r.buffered();
  switch (kind_) {
    case Kind::read:
      return n_ == 0 || (n_ > 0 && buffered > 0);
    case Kind::readexactly:
      return buffered >= static_cast<std::size_t>(n_);
    case Kind::readuntil:
    case Kind::readline: {
      // asyncio's search loop: a found separator or a chunk past the limit
      // finishes; the bytes before `offset_` cannot start a match.
      const std::size_t seplen = separator_.size();
      if (buffered >= offset_ + seplen) {
        if (r.view().find(separator_, offset_) != std::string_view::npos) return true;
        offset_ = buffered + 1 - seplen;
      }
      return offset_ > static_cast<std::size_t>(r.limit_);
    }
  }
  return false;
}

bool StreamReader::Read::await_ready() {
  if (!reader_ || can_finish()) return true;
  // Another read already waits: finish at once, raising (see finish_into).
  busy_ = reader_->pending_ != nullptr;
  return busy_;
}

void StreamReader::Read::await_suspend(std::coroutine_handle<> waiter) {
  StreamReader& r = *reader_;
  // A paused transport with an unsatisfied reader would wait forever.
  if (r.paused_) {
    r.paused_ = false;
    if (r.transport_) r.transport_->resume_reading();
  }
  r.waiter_.emplace(get_running_loop().create_future<void>());
  r.pending_ = this;
  try {
    task_ = detail::suspend_current_task(*detail::Access::state(*r.waiter_), waiter);
  } catch (...) {
    leave_reader();
    throw;
  }
  lend_into();
}

// While a read into a caller's string waits on an empty buffer, that string
// becomes the receive space: the bytes land where take() hands them back (it
// trades the strings again), so a loop reusing one string keeps one buffer
// hot instead of two in turn. Safe at any time outside get_buffer() /
// buffer_updated(): no transport keeps a lent span across calls.
void StreamReader::Read::lend_into() noexcept {
  StreamReader& r = *reader_;
  // Only a string the caller can trade back.
  if (!into_ || r.start_ != r.end_ || r.buffer_.size() < min_lend) return;
  // It must offer as much as the last offer did (take() says why): a string
  // shorter than that, as the last part of a message is, grows to it within
  // its capacity. (The 100 KiB echo reads 64 + 36 KiB: the other way it
  // received into two buffers in turn, 0.93x Asio's requests/s at 100
  // connections.)
  const std::size_t size = into_->size();
  if (size < min_lend || !grow_to_offer(*into_, std::max(min_lend, r.offered_))) return;
  lent_size_ = size;
  r.buffer_.swap(*into_);
  r.start_ = r.end_ = 0;
  lent_ = true;
}

// A read that ends with nothing received gives the caller's string back, as
// it was.
void StreamReader::Read::unlend_into() noexcept {
  if (!std::exchange(lent_, false) || !reader_) return;
  StreamReader& r = *reader_;
  if (r.start_ != r.end_) return;
  r.buffer_.swap(*into_);
  into_->resize(lent_size_);  // shrinks: no allocation
}

namespace {
const char* read_name(int kind) {
  static const char* const names[] = {"read", "readexactly", "readuntil", "readline"};
  return names[kind];
}
}  // namespace

void StreamReader::Read::finish_into(std::string& out) {
  if (task_) {
    // Woken (or cancelled): the reader forgets this read before anything throws.
    std::optional<Future<void>> waiter;
    if (reader_) waiter = std::move(reader_->waiter_);
    leave_reader();
    unlend_into();
    detail::TaskBase* task = std::exchange(task_, nullptr);
    detail::resume_current_task(task);  // CancelledError if cancelled meanwhile
    if (waiter) waiter->result();       // CancelledError if the wait was cancelled
  }
  if (!reader_) throw RuntimeError("the StreamReader was destroyed during the read");
  StreamReader& r = *reader_;
  if (kind_ == Kind::readexactly && n_ < 0) {
    throw ValueError("readexactly size can not be less than zero");
  }
  if ((kind_ == Kind::readuntil || kind_ == Kind::readline) && separator_.empty()) {
    throw ValueError("Separator should be at least one-byte string");
  }
  if (r.exception_) std::rethrow_exception(r.exception_);
  if (busy_) {
    throw RuntimeError(std::string(read_name(static_cast<int>(kind_))) +
                       "() called while another coroutine is already waiting for incoming data");
  }
  if (!can_finish()) {
    // Only when another coroutine took the bytes this read was woken for.
    throw RuntimeError(std::string(read_name(static_cast<int>(kind_))) +
                       "() woken, but another coroutine read the data first");
  }
  switch (kind_) {
    case Kind::read:
      if (n_ == 0) {
        out.clear();
        return;
      }
      if (n_ < 0) {
        r.take(r.buffered(), out);  // at EOF
      } else {
        r.take(std::min<std::size_t>(static_cast<std::size_t>(n_), r.buffered()), out);
      }
      r.maybe_resume_transport();
      return;
    case Kind::readexactly: {
      const auto wanted = static_cast<std::size_t>(n_);
      if (r.buffered() < wanted) {
        std::string partial;
        r.take(r.buffered(), partial);
        throw IncompleteReadError(std::move(partial), wanted);
      }
      r.take(wanted, out);
      r.maybe_resume_transport();
      return;
    }
    case Kind::readuntil:
      finish_readuntil(out);
      return;
    case Kind::readline:
      try {
        finish_readuntil(out);
      } catch (IncompleteReadError& e) {
        out = e.partial();
      } catch (const LimitOverrunError& e) {
        // Drop the over-long line (through its newline when it arrived).
        if (r.view().substr(e.consumed()).starts_with(separator_)) {
          r.discard(e.consumed() + separator_.size());
        } else {
          r.discard(r.buffered());
        }
        r.maybe_resume_transport();
        throw ValueError(e.what());
      }
      return;
  }
}

// One pass of asyncio's readuntil loop over what is buffered now; can_finish
// said it ends: with the separator, past the limit, or at EOF.
void StreamReader::Read::finish_readuntil(std::string& out) {
  StreamReader& r = *reader_;
  const auto limit = static_cast<std::size_t>(r.limit_);
  const std::size_t seplen = separator_.size();
  const std::size_t buflen = r.buffered();
  std::size_t found = std::string_view::npos;
  if (buflen >= offset_ + seplen) {
    found = r.view().find(separator_, offset_);
    if (found == std::string_view::npos) offset_ = buflen + 1 - seplen;
  }
  if (found == std::string_view::npos) {
    if (offset_ > limit) {
      throw LimitOverrunError("Separator is not found, and chunk exceed the limit", offset_);
    }
    std::string partial;  // at EOF
    r.take(buflen, partial);
    throw IncompleteReadError(std::move(partial), IncompleteReadError::undefined);
  }
  if (found > limit) {
    throw LimitOverrunError("Separator is found, but chunk is longer than limit", found);
  }
  r.take(found + seplen, out);
  r.maybe_resume_transport();
}

// --- The protocol ----------------------------------------------------------------

namespace detail {

// asyncio's StreamReaderProtocol with FlowControlMixin: feeds the reader,
// tracks pause_writing / resume_writing for drain(), and on a server runs
// client_connected for the connection (the task lives as long as it runs:
// this protocol holds it, and the transport holds this protocol).
class StreamProtocol : public BufferedProtocol,
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

  // The transport receives straight into the reader's buffer.
  std::span<char> get_buffer(std::size_t size_hint) override {
    return reader_->get_buffer(size_hint);
  }
  void buffer_updated(std::size_t nbytes) override { reader_->buffer_updated(nbytes); }
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
  if ((!w.reader_ || !w.reader_->exception()) && !w.transport_->is_closing()) {
    if (w.protocol_->drain_ready()) return true;
    if (w.protocol_->only_paused()) {
      // The steady state of a writer faster than its reader: wait for
      // resume_writing on a recycled waiter, without a coroutine frame.
      paused_id_ = w.protocol_->add_drain_waiter(paused_);
      return false;
    }
  }
  slow_.emplace(w.drain_slow());
  return false;
}

std::coroutine_handle<> StreamWriter::DrainAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  if (slow_) {
    awaiter_.emplace(*slow_);
    return awaiter_->await_suspend(waiter);
  }
  try {
    task_ = detail::suspend_current_task(*detail::Access::state(*paused_), waiter);
  } catch (...) {
    leave_protocol();
    throw;
  }
  return std::noop_coroutine();
}

void StreamWriter::DrainAwaiter::finish_wait() {
  if (awaiter_) {
    awaiter_->await_resume();
    return;
  }
  // Woken (or cancelled): unregister before anything throws, as asyncio's
  // _drain_helper removes its waiter in `finally`.
  leave_protocol();
  detail::resume_current_task(std::exchange(task_, nullptr));  // CancelledError if cancelled
  paused_->result();  // CancelledError if the wait itself was cancelled
  writer_.protocol_->rethrow_lost_error();
}

void StreamWriter::DrainAwaiter::leave_protocol() noexcept {
  if (paused_id_ != 0) writer_.protocol_->remove_drain_waiter(std::exchange(paused_id_, 0));
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
