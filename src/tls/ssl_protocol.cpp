// SSLProtocol: asyncio's sslproto state machine over OpenSSL, on the BIOs of
// record_bios.hpp (see ssl_protocol.hpp for the states).

#include "tls/ssl_protocol.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

#include "aiocpp/errors.hpp"
#include "posix/socket_ops.hpp"
#include "tls/ssl_errors.hpp"
#include "tls/ssl_transport.hpp"

namespace aiocpp::detail {

namespace {

// A Protocol's plaintext goes here before data_received: up to this many
// bytes (several records) per call.
constexpr std::size_t read_chunk = 64 * 1024;
// asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES.
constexpr std::size_t writes_after_close_warning = 5;

bool is_ip_address(const std::string& host) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

bool is_retry(int err) { return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE; }

// SSL_get_error reads OpenSSL's (per-thread) error queue, which must be
// empty before the call it judges. Clearing visits all 16 slots (about 300
// instructions even when empty, four times per echo); peeking is a tenth.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

bool is_os_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

SSLProtocol::SSLProtocol(EventLoop& loop, std::shared_ptr<SSLContext> context,
                         std::shared_ptr<BaseProtocol> app_protocol, const Options& options,
                         Future<void> waiter)
    : loop_(loop), context_(std::move(context)), options_(options), waiter_(std::move(waiter)) {
  if (!context_) throw ValueError("an SSLContext is required");
  if (context_->server_side() != options_.server_side) {
    throw ValueError(options_.server_side
                         ? "Cannot create a server socket with a PROTOCOL_TLS_CLIENT context"
                         : "Cannot create a client socket with a PROTOCOL_TLS_SERVER context");
  }
  if (!options_.server_side && context_->check_hostname() && options_.server_hostname.empty()) {
    throw ValueError("check_hostname requires server_hostname");
  }
  set_app_protocol(std::move(app_protocol));
  if (!options_.call_connection_made) app_state_ = AppState::connected;

  ssl_ = SSL_new(context_->native_handle());
  if (!ssl_) throw std::bad_alloc();
  try {
    BIO* in = make_source_bio(incoming_);
    SSL_set0_rbio(ssl_, in);  // owned by ssl_ from here
    SSL_set0_wbio(ssl_, make_sink_bio(outgoing_));
  } catch (...) {
    SSL_free(ssl_);
    throw;
  }
  if (options_.server_side) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    const std::string& host = options_.server_hostname;
    if (!host.empty()) {
      bool ip = is_ip_address(host);
      // SNI names hosts, never addresses (RFC 6066).
      if (!ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
      if (context_->check_hostname()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (ip) {
          X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
        } else {
          X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
        }
      }
    }
  }
  app_transport_ = std::make_shared<SSLTransport>(*this);
}

SSLProtocol::~SSLProtocol() {
  handshake_timer_.cancel();
  shutdown_timer_.cancel();
  app_transport_->detach();
  SSL_free(ssl_);  // frees both BIOs (incoming_ and outgoing_ are still alive)
}

void SSLProtocol::set_app_protocol(std::shared_ptr<BaseProtocol> protocol) {
  Protocol* stream = dynamic_cast<Protocol*>(protocol.get());
  BufferedProtocol* buffered = dynamic_cast<BufferedProtocol*>(protocol.get());
  if (!stream && !buffered) {
    throw TypeError("a TLS transport's protocol must be a Protocol or a BufferedProtocol");
  }
  app_protocol_ = std::move(protocol);
  app_stream_ = stream;
  app_buffered_ = stream ? nullptr : buffered;
}

template <class F>
bool SSLProtocol::call_app(const char* message, F&& f) {
  try {
    f();
    return true;
  } catch (...) {
    fatal_error(std::current_exception(), message);
    return false;
  }
}

// --- The transport below -------------------------------------------------------------

void SSLProtocol::connection_made(Transport& transport) {
  transport_ = &transport;
  start_handshake();
}

void SSLProtocol::connection_lost(std::exception_ptr error) {
  auto self = shared_from_this();
  write_backlog_.clear();
  write_backlog_size_ = 0;
  app_transport_->mark_closed();
  std::exception_ptr cause = error_ ? error_ : error;
  if (app_state_ == AppState::connected || app_state_ == AppState::eof) {
    app_state_ = AppState::lost;
    try {
      app_protocol_->connection_lost(cause);
    } catch (...) {
      ExceptionContext context;
      context.message = "Exception in callback protocol.connection_lost()";
      context.exception = std::current_exception();
      context.protocol = app_protocol_;
      loop_.call_exception_handler(context);
    }
  }
  bool handshaking = state_ == State::do_handshake;
  state_ = State::unwrapped;
  transport_ = nullptr;
  if (empty_waiter_.valid() && !empty_waiter_.done()) {
    empty_waiter_.set_exception(
        std::make_exception_ptr(OSError(ECONNRESET, "Connection is closed by peer")));
  }
  handshake_timer_.cancel();
  shutdown_timer_.cancel();
  if (!cause && handshaking) {
    cause =
        std::make_exception_ptr(OSError(ECONNRESET, "Connection lost during the SSL handshake"));
  }
  wakeup_waiter(cause ? cause : std::make_exception_ptr(OSError(ECONNRESET, "Connection lost")));
}

void SSLProtocol::data_received(std::string_view data) {
  if (state_ == State::unwrapped) return;  // after a fatal error: nothing more is read
  auto self = shared_from_this();
  // OpenSSL reads the records out of `data` itself; what it leaves (a
  // record's first part, or all while the application has paused reading)
  // is kept before `data` goes.
  incoming_.offer(data);
  process_incoming();
  incoming_.keep_rest();
  control_ssl_reading();
}

// Moves the state machine on with what `incoming_` now holds (more bytes,
// or the peer's EOF).
void SSLProtocol::process_incoming() {
  switch (state_) {
    case State::do_handshake:
      do_handshake();
      break;
    case State::wrapped:
      do_read();
      break;
    case State::flushing:
      do_flush();
      break;
    case State::shutdown:
      do_shutdown();
      break;
    case State::unwrapped:
      break;
  }
}

bool SSLProtocol::eof_received() {
  auto self = shared_from_this();
  eof_received_ = true;
  // Whatever is still to be read must now end with the peer's close_notify:
  // without it, reading fails with OpenSSL's "unexpected eof while reading"
  // (a truncation attack looks exactly like this).
  incoming_.set_eof();
  if (state_ == State::do_handshake) {
    on_handshake_complete(std::make_exception_ptr(
        OSError(ECONNRESET, "Connection lost: the peer closed during the SSL handshake")));
    return false;
  }
  if (state_ == State::wrapped && app_reading_paused_)
    return true;  // resume_reading reads the rest
  process_incoming();
  return false;
}

void SSLProtocol::pause_writing() { ssl_writing_paused_ = true; }

void SSLProtocol::resume_writing() {
  auto self = shared_from_this();
  ssl_writing_paused_ = false;
  process_outgoing();
}

// --- Handshake ------------------------------------------------------------------------

void SSLProtocol::start_handshake() {
  state_ = State::do_handshake;
  std::weak_ptr<SSLProtocol> weak = weak_from_this();
  handshake_timer_ = loop_.call_later(options_.handshake_timeout, [weak] {
    if (auto self = weak.lock()) self->check_handshake_timeout();
  });
  do_handshake();
}

void SSLProtocol::check_handshake_timeout() {
  if (state_ != State::do_handshake) return;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", options_.handshake_timeout);
  std::string message = std::string("SSL handshake is taking longer than ") + seconds +
                        " seconds: aborting the connection";
  fatal_error(std::make_exception_ptr(OSError(ECONNABORTED, message)), message.c_str());
}

void SSLProtocol::do_handshake() {
  clear_errors();
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    process_outgoing();  // the last flight (and a TLS 1.3 server's tickets)
    on_handshake_complete(nullptr);
    return;
  }
  int err = SSL_get_error(ssl_, result);
  if (is_retry(err)) {
    process_outgoing();
    return;
  }
  std::exception_ptr error = ssl_error(err, ssl_, "SSL handshake failed");
  process_outgoing();  // the alert, so that the peer learns why
  on_handshake_complete(error);
}

void SSLProtocol::on_handshake_complete(std::exception_ptr error) {
  handshake_timer_.cancel();
  if (error) {
    fatal_error(error, "SSL handshake failed");
    return;
  }
  state_ = State::wrapped;
  if (app_state_ == AppState::init) {
    app_state_ = AppState::connected;
    bool made = call_app("Fatal error: protocol.connection_made() call failed.", [this] {
      if (app_stream_) {
        app_stream_->connection_made(static_cast<Transport&>(*app_transport_));
      } else {
        app_buffered_->connection_made(static_cast<Transport&>(*app_transport_));
      }
    });
    if (!made) return;
  }
  wakeup_waiter(nullptr);
  do_write();  // what the application wrote meanwhile (start_tls)
  do_read();   // records that came with the handshake's last flight
}

// --- Shutdown -----------------------------------------------------------------------

void SSLProtocol::start_shutdown() {
  if (state_ == State::flushing || state_ == State::shutdown || state_ == State::unwrapped) return;
  auto self = shared_from_this();
  app_transport_->mark_closed();
  if (state_ == State::do_handshake) {
    abort();
    return;
  }
  state_ = State::flushing;
  std::weak_ptr<SSLProtocol> weak = weak_from_this();
  shutdown_timer_ = loop_.call_later(options_.shutdown_timeout, [weak] {
    if (auto self = weak.lock()) self->check_shutdown_timeout();
  });
  do_flush();
}

void SSLProtocol::check_shutdown_timeout() {
  if (state_ != State::flushing && state_ != State::shutdown) return;
  if (!error_) error_ = std::make_exception_ptr(TimeoutError("SSL shutdown timed out"));
  state_ = State::unwrapped;
  if (transport_) transport_->abort();
}

void SSLProtocol::do_flush() {
  do_read();
  if (state_ != State::flushing) return;  // failed meanwhile
  do_write();
  if (state_ != State::flushing) return;
  state_ = State::shutdown;
  do_shutdown();
}

void SSLProtocol::do_shutdown() {
  if (state_ != State::shutdown) return;
  // The application has closed: what the peer still sends before its
  // close_notify is read and dropped.
  char scratch[4096];
  while (!peer_closed_) {
    clear_errors();
    int result = SSL_read(ssl_, scratch, sizeof scratch);
    if (result > 0) continue;
    int err = SSL_get_error(ssl_, result);
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
    } else if (is_retry(err)) {
      break;
    } else if (eof_received_) {
      // The peer left after (or instead of) our close_notify without its
      // own: the connection is over either way, as asyncio treats it.
      clear_errors();
      break;
    } else {
      on_shutdown_complete(ssl_error(err, ssl_, "SSL shutdown failed"));
      return;
    }
  }
  clear_errors();
  int result = SSL_shutdown(ssl_);
  process_outgoing();
  if (result == 1 || eof_received_) {
    on_shutdown_complete(nullptr);
    return;
  }
  if (result == 0) return;  // our close_notify is out; the peer's is awaited
  int err = SSL_get_error(ssl_, result);
  if (is_retry(err)) return;
  on_shutdown_complete(ssl_error(err, ssl_, "SSL shutdown failed"));
}

void SSLProtocol::on_shutdown_complete(std::exception_ptr error) {
  shutdown_timer_.cancel();
  if (error) {
    fatal_error(error, "SSL shutdown failed");
    return;
  }
  call_eof_received();
  if (transport_) transport_->close();  // flushes our close_notify first
}

void SSLProtocol::abort() {
  app_transport_->mark_closed();
  state_ = State::unwrapped;
  if (transport_) transport_->abort();
}

// --- Outgoing -----------------------------------------------------------------------

void SSLProtocol::write_appdata(std::string_view data) {
  if (data.empty()) return;
  if (state_ == State::flushing || state_ == State::shutdown || state_ == State::unwrapped) {
    if (++writes_after_close_ == writes_after_close_warning) {
      log_error("SSL connection is closed");
    }
    return;
  }
  if (state_ == State::do_handshake || !write_backlog_.empty()) {
    write_backlog_.emplace_back(data);
    write_backlog_size_ += data.size();
    control_app_writing();
    return;
  }
  // Wrapped with nothing waiting: encrypt straight from the caller's bytes.
  while (!data.empty()) {
    int n = static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX));
    clear_errors();
    int result = SSL_write(ssl_, data.data(), n);
    if (result <= 0) {
      int err = SSL_get_error(ssl_, result);
      if (!is_retry(err)) {
        fatal_error(ssl_error(err, ssl_, "SSL write failed"), "Fatal error on SSL protocol");
        return;
      }
      write_backlog_.emplace_back(data);
      write_backlog_size_ += data.size();
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(result));
  }
  process_outgoing();
}

void SSLProtocol::do_write() {
  while (!write_backlog_.empty()) {
    std::string& front = write_backlog_.front();
    clear_errors();
    int result = SSL_write(ssl_, front.data(), static_cast<int>(front.size()));
    if (result <= 0) {
      int err = SSL_get_error(ssl_, result);
      if (is_retry(err)) break;
      fatal_error(ssl_error(err, ssl_, "SSL write failed"), "Fatal error on SSL protocol");
      return;
    }
    write_backlog_size_ -= front.size();
    write_backlog_.pop_front();  // whole: partial writes are off
  }
  process_outgoing();
}

void SSLProtocol::process_outgoing() {
  if (!ssl_writing_paused_ && transport_ && !outgoing_.empty()) {
    // The transport sends what the socket takes and copies the rest; the
    // string keeps its capacity for the next records.
    transport_->write(outgoing_);
    outgoing_.clear();
  }
  control_app_writing();
}

std::size_t SSLProtocol::write_buffer_size() const {
  return outgoing_.size() + write_backlog_size_;
}

void SSLProtocol::set_write_buffer_limits(std::optional<std::size_t> high,
                                          std::optional<std::size_t> low) {
  std::size_t h = high ? *high : (low ? 4 * *low : ssl_write_high_water_default);
  std::size_t l = low ? *low : h / 4;
  if (h < l) {
    throw ValueError("high (" + std::to_string(h) + ") must be >= low (" + std::to_string(l) +
                     ") must be >= 0");
  }
  high_water_ = h;
  low_water_ = l;
  control_app_writing();
}

Future<void> SSLProtocol::make_empty_waiter() {
  if (sendfile_running_) throw RuntimeError("Empty waiter is already set");
  empty_waiter_ = loop_.create_future<void>();
  sendfile_running_ = true;
  if (!transport_) {
    empty_waiter_.set_exception(
        std::make_exception_ptr(OSError(ECONNRESET, "Connection is closed by peer")));
  }
  check_drained();
  return empty_waiter_;
}

void SSLProtocol::reset_empty_waiter() noexcept {
  sendfile_running_ = false;
  empty_waiter_ = Future<void>();
}

// Completes sendfile's waiter once our records are all in the transport
// below and it is not over its high-water mark (it says when it drops below
// its low-water mark; it says nothing when it is empty).
void SSLProtocol::check_drained() {
  if (!empty_waiter_.valid() || empty_waiter_.done()) return;
  if (write_buffer_size() == 0 && !ssl_writing_paused_) empty_waiter_.set_result();
}

void SSLProtocol::control_app_writing() {
  check_drained();
  std::size_t size = write_buffer_size();
  bool pause = size >= high_water_ && !app_writing_paused_;
  bool resume = size <= low_water_ && app_writing_paused_;
  if (!pause && !resume) return;
  app_writing_paused_ = pause;
  try {
    if (pause) {
      app_protocol_->pause_writing();
    } else {
      app_protocol_->resume_writing();
    }
  } catch (...) {
    ExceptionContext context;
    context.message =
        pause ? "protocol.pause_writing() failed" : "protocol.resume_writing() failed";
    context.exception = std::current_exception();
    context.transport = app_transport_;
    context.protocol = app_protocol_;
    loop_.call_exception_handler(context);
  }
}

// --- Incoming -----------------------------------------------------------------------

void SSLProtocol::resume_app_reading() {
  if (!app_reading_paused_) return;
  app_reading_paused_ = false;
  // Later, not on the caller's stack: no callback re-enters the application.
  std::weak_ptr<SSLProtocol> weak = weak_from_this();
  loop_.call_soon([weak] {
    auto self = weak.lock();
    if (!self) return;
    if (self->state_ == State::wrapped) {
      self->do_read();
    } else if (self->state_ == State::flushing) {
      self->do_flush();
    } else if (self->state_ == State::shutdown) {
      self->do_shutdown();
    }
    if (self->eof_received_ && self->state_ == State::wrapped && self->transport_) {
      self->transport_->close();  // the peer's EOF was held for us
    }
    self->control_ssl_reading();
  });
}

void SSLProtocol::do_read() {
  if (state_ != State::wrapped && state_ != State::flushing) return;
  if (app_reading_paused_) return;
  read_into_app();
}

// Decrypts into the application's buffer (BufferedProtocol) or ours
// (Protocol) until OpenSSL needs more records, the application pauses or
// closes, or the peer's close_notify arrives.
bool SSLProtocol::read_into_app() {
  for (;;) {
    if ((state_ != State::wrapped && state_ != State::flushing) || app_reading_paused_) return true;
    std::span<char> target;
    if (app_buffered_) {
      bool ok = call_app("Fatal error: protocol.get_buffer() call failed.", [&] {
        target = app_buffered_->get_buffer(0);
        if (target.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
      });
      if (!ok) return false;
    } else {
      if (!read_buffer_) read_buffer_ = std::make_unique<char[]>(read_chunk);
      target = std::span<char>(read_buffer_.get(), read_chunk);
    }
    std::size_t got = 0;
    int result = 1;
    bool drained = false;
    while (got < target.size()) {
      clear_errors();
      int n = static_cast<int>(std::min<std::size_t>(target.size() - got, INT_MAX));
      result = SSL_read(ssl_, target.data() + got, n);
      if (result <= 0) break;
      got += static_cast<std::size_t>(result);
      // Nothing left to decrypt: as good as the WANT_READ another SSL_read
      // would return (at the peer's EOF, that call must still be made).
      drained = incoming_.size() == 0 && !SSL_has_pending(ssl_) && !incoming_.eof();
      if (drained || app_buffered_) break;  // a BufferedProtocol: one record at a time
    }
    int err = result <= 0 ? SSL_get_error(ssl_, result)
              : drained   ? SSL_ERROR_WANT_READ
                          : SSL_ERROR_NONE;
    std::exception_ptr failure;
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_ZERO_RETURN && !is_retry(err)) {
      failure = ssl_error(err, ssl_, "SSL read failed");
    }
    if (got > 0) {
      bool ok = app_buffered_ ? call_app("Fatal error: protocol.buffer_updated() call failed.",
                                         [&] { app_buffered_->buffer_updated(got); })
                              : call_app("Fatal error: protocol.data_received() call failed.", [&] {
                                  app_stream_->data_received(std::string_view(target.data(), got));
                                });
      if (!ok) return false;
    }
    if (err == SSL_ERROR_NONE) continue;  // the buffer filled up: more may be waiting
    if (is_retry(err)) {
      process_outgoing();  // a TLS 1.3 key update's answer, say
      return true;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      call_eof_received();
      start_shutdown();
      return true;
    }
    if (state_ == State::wrapped || state_ == State::flushing) {
      fatal_error(failure, "Fatal error on SSL transport");
    }
    return false;
  }
}

void SSLProtocol::call_eof_received() {
  if (app_state_ != AppState::connected) return;
  app_state_ = AppState::eof;
  bool keep_open = false;
  call_app("Error calling eof_received()", [&] {
    keep_open = app_stream_ ? app_stream_->eof_received() : app_buffered_->eof_received();
  });
  if (keep_open) log_error("returning true from eof_received() has no effect when using ssl");
}

void SSLProtocol::control_ssl_reading() {
  if (!transport_) return;
  std::size_t size = incoming_.size();
  if (size >= ssl_read_high_water_default && !ssl_reading_paused_) {
    ssl_reading_paused_ = true;
    transport_->pause_reading();
  } else if (size <= ssl_read_high_water_default / 4 && ssl_reading_paused_) {
    ssl_reading_paused_ = false;
    transport_->resume_reading();
  }
}

// --- Errors ----------------------------------------------------------------------------

void SSLProtocol::fatal_error(std::exception_ptr error, const char* message) {
  if (!error_) error_ = error;
  bool handshaking = state_ == State::do_handshake;
  state_ = State::unwrapped;
  handshake_timer_.cancel();
  shutdown_timer_.cancel();
  app_transport_->mark_closed();
  // OSErrors (SSLError among them) are the network's doing, not a bug:
  // asyncio reports only the others.
  if (!is_os_error(error)) {
    ExceptionContext context;
    context.message = message;
    context.exception = error;
    context.transport = app_transport_;
    context.protocol = app_protocol_;
    loop_.call_exception_handler(context);
  }
  if (transport_) {
    // A failed handshake closes (our alert goes out first); anything else
    // aborts, as asyncio's _force_close.
    if (handshaking) {
      transport_->close();
    } else {
      transport_->abort();
    }
  }
  wakeup_waiter(error);
}

void SSLProtocol::wakeup_waiter(std::exception_ptr error) {
  if (!waiter_.valid() || waiter_.done()) return;
  if (error) {
    waiter_.set_exception(error);
  } else {
    waiter_.set_result();
  }
}

// --- Extra info ------------------------------------------------------------------------

std::any SSLProtocol::get_extra_info(std::string_view name, std::any default_value) const {
  if (name == "sslcontext") return context_;
  if (name == "ssl_object") return SSLObject(ssl_);
  bool connected = SSL_is_init_finished(ssl_);
  if (name == "peercert") {
    return connected ? std::any(SSLObject(ssl_).getpeercert_der()) : default_value;
  }
  if (name == "cipher") return connected ? std::any(SSLObject(ssl_).cipher()) : default_value;
  if (name == "compression") {
    return std::optional<std::string>();  // off (SSL_OP_NO_COMPRESSION): Python's None
  }
  if (transport_) return transport_->get_extra_info(name, std::move(default_value));
  return default_value;
}

}  // namespace aiocpp::detail
