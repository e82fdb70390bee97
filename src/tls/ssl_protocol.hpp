#pragma once
// SSLProtocol: TLS as a protocol layered over any stream transport, as
// asyncio's sslproto. The transport below sees an ordinary Protocol (records
// in, records out); the application's protocol above sees an ordinary
// Transport (SSLTransport). OpenSSL runs over two BIOs of ours
// (record_bios.hpp): it reads records straight out of what the transport
// received, and writes them into a string that goes to transport.write().
// Only the public Transport / Protocol
// interfaces are used, so TCP, Unix sockets, pipes and any backend work.
//
// States, as asyncio's:
//   unwrapped -> do_handshake -> wrapped -> flushing -> shutdown -> unwrapped
// do_handshake: until the handshake completes (or fails, or times out);
// wrapped: application data both ways; flushing: close() was called (or the
// peer sent close_notify): what was received is still delivered; shutdown:
// our close_notify is out, waiting for the peer's (up to the shutdown timeout).

#include <deque>
#include <memory>
#include <string>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/ssl.hpp"
#include "tls/record_bios.hpp"

struct bio_st;

namespace aiocpp::detail {

class SSLTransport;

// asyncio's defaults (constants.SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT,
// FLOW_CONTROL_HIGH_WATER_SSL_WRITE / _READ).
inline constexpr double ssl_handshake_timeout_default = 60.0;
inline constexpr double ssl_shutdown_timeout_default = 30.0;
inline constexpr std::size_t ssl_write_high_water_default = 512 * 1024;
inline constexpr std::size_t ssl_read_high_water_default = 256 * 1024;

class SSLProtocol final : public Protocol, public std::enable_shared_from_this<SSLProtocol> {
 public:
  struct Options {
    bool server_side = false;
    std::string server_hostname{};  // SNI and the name checked; empty: neither
    double handshake_timeout = ssl_handshake_timeout_default;
    double shutdown_timeout = ssl_shutdown_timeout_default;
    // false for start_tls: the application's protocol is already connected.
    bool call_connection_made = true;
  };

  // `waiter` (may be invalid) completes once the handshake is done and the
  // application's connection_made has returned, or fails with the cause.
  SSLProtocol(EventLoop& loop, std::shared_ptr<SSLContext> context,
              std::shared_ptr<BaseProtocol> app_protocol, const Options& options,
              Future<void> waiter);
  ~SSLProtocol() override;

  // The application's transport.
  std::shared_ptr<SSLTransport> app_transport() const { return app_transport_; }

  // --- The transport below calls these ----------------------------------------
  void connection_made(Transport& transport) override;
  void connection_lost(std::exception_ptr error) override;
  void data_received(std::string_view data) override;
  bool eof_received() override;
  void pause_writing() override;
  void resume_writing() override;

  // --- SSLTransport calls these ---------------------------------------------------
  void write_appdata(std::string_view data);
  void start_shutdown();  // close()
  void abort();
  void pause_app_reading() { app_reading_paused_ = true; }
  void resume_app_reading();
  bool app_reading_paused() const { return app_reading_paused_; }
  std::size_t write_buffer_size() const;
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low);
  std::pair<std::size_t, std::size_t> write_buffer_limits() const {
    return {low_water_, high_water_};
  }
  std::any get_extra_info(std::string_view name, std::any default_value) const;
  Transport* transport() const { return transport_; }
  std::shared_ptr<BaseProtocol> app_protocol() const { return app_protocol_; }
  void set_app_protocol(std::shared_ptr<BaseProtocol> protocol);
  // loop.sendfile's fallback (SSLTransport's SendfileTarget).
  Future<void> make_empty_waiter();
  void reset_empty_waiter() noexcept;
  bool sendfile_running() const { return sendfile_running_; }

 private:
  enum class State { unwrapped, do_handshake, wrapped, flushing, shutdown };
  // Where the application's protocol is: asyncio's AppProtocolState.
  enum class AppState { init, connected, eof, lost };

  void start_handshake();
  void process_incoming();
  void do_handshake();
  void on_handshake_complete(std::exception_ptr error);
  void check_handshake_timeout();
  void check_shutdown_timeout();
  void do_flush();
  void do_shutdown();
  void on_shutdown_complete(std::exception_ptr error);
  void do_write();
  void process_outgoing();
  void do_read();
  bool read_into_app();
  void call_eof_received();
  void control_app_writing();
  void check_drained();
  void control_ssl_reading();
  void fatal_error(std::exception_ptr error, const char* message);
  void wakeup_waiter(std::exception_ptr error);
  // Runs an application callback; an exception from it is fatal.
  template <class F>
  bool call_app(const char* message, F&& f);

  EventLoop& loop_;
  std::shared_ptr<SSLContext> context_;
  std::shared_ptr<BaseProtocol> app_protocol_;
  Protocol* app_stream_ = nullptr;            // app_protocol_ as a Protocol, or
  BufferedProtocol* app_buffered_ = nullptr;  // as a BufferedProtocol
  std::shared_ptr<SSLTransport> app_transport_;
  Options options_;
  Future<void> waiter_;
  // Lifetime: the transport below is ours from connection_made until
  // connection_lost, as for any protocol.
  Transport* transport_ = nullptr;
  // Declared before ssl_, whose BIOs point to them.
  RecordSource incoming_;  // the peer's records, not yet read by OpenSSL
  std::string outgoing_;   // records for the transport below
  ssl_st* ssl_ = nullptr;
  State state_ = State::unwrapped;
  AppState app_state_ = AppState::init;
  // The first fatal error: what the application's connection_lost receives
  // once the transport below, closed or aborted, reports its own loss.
  std::exception_ptr error_;
  std::deque<std::string> write_backlog_;  // data written before the handshake ended
  std::size_t write_backlog_size_ = 0;
  std::size_t high_water_ = ssl_write_high_water_default;
  std::size_t low_water_ = ssl_write_high_water_default / 4;
  bool app_writing_paused_ = false;
  bool app_reading_paused_ = false;
  bool ssl_writing_paused_ = false;  // the transport below is full
  bool ssl_reading_paused_ = false;  // we paused the transport below
  bool eof_received_ = false;
  bool peer_closed_ = false;  // the peer's close_notify arrived
  std::size_t writes_after_close_ = 0;
  Future<void> empty_waiter_;  // sendfile's: see make_empty_waiter
  bool sendfile_running_ = false;
  TimerHandle handshake_timer_;
  TimerHandle shutdown_timer_;
  std::unique_ptr<char[]> read_buffer_;  // a Protocol's plaintext, one record or more
};

}  // namespace aiocpp::detail
