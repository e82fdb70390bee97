#pragma once
// The selector backend's stream socket transport (asyncio's
// _SelectorSocketTransport): reads on readiness into the loop's buffer,
// writes at once when nothing is buffered, buffers the rest.

#include <memory>

#include "aiocpp/transports.hpp"
#include "core/byte_buffer.hpp"
#include "core/loop_impl.hpp"
#include "core/sendfile.hpp"
#include "core/transport_lifecycle.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"

namespace aiocpp::detail {

class ServerImpl;

// Aligned to a cache line so that what every message touches is two whole
// lines, which EpollBackend::poll prefetches: the first holds the vptrs and
// the lifecycle's conn_lost_ / closing_; the third, this class's own
// per-message members (fd_ to buffer_). The lifecycle's colder state fills
// the second. IoWatcher comes first among the bases, so that epoll calls
// on_io with no this-adjusting thunk.
class alignas(64) SocketTransport final : public IoWatcher,
                                          public Transport,
                                          public SendfileTarget,
                                          public TransportLifecycle {
 public:
  SocketTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol,
                  std::shared_ptr<ServerImpl> server, const SocketAddress* peer);
  ~SocketTransport() override;

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<SocketTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  // BaseTransport
  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closing_; }
  void close() override { begin_close(); }
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }
  SocketAddress peername() const override { return peername_; }
  SocketAddress sockname() const override { return sockname_; }

  // ReadTransport
  bool is_reading() const override { return !paused_ && !closing_; }
  void pause_reading() override;
  void resume_reading() override;

  // WriteTransport
  void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                               std::optional<std::size_t> low = std::nullopt) override {
    set_flow_limits(high, low);
  }
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override {
    return flow_limits();
  }
  std::size_t get_write_buffer_size() const override { return buffer_.size(); }
  [[gnu::hot]] void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> chunks) override;
  void write_eof() override;
  bool can_write_eof() const override { return true; }
  void abort() override { force_close(nullptr); }
  bool accepts_writes() const override {
    return !closing_ && !conn_lost_ && !eof_ && !sendfile_running_;
  }

  [[gnu::hot]] void on_io(std::uint32_t events) override;

  // SendfileTarget (loop.sendfile)
  Future<void> make_empty_waiter() override;
  void reset_empty_waiter() noexcept override {
    empty_waiter_ = Future<void>();
    sendfile_running_ = false;
  }
  Task<std::size_t> sendfile(int file, std::int64_t offset,
                             std::optional<std::size_t> count) override;

 private:
  // TransportLifecycle
  void call_connection_made() override;
  const char* connection_made_error_message() const noexcept override;
  void connection_made_done() override;
  void update_watching() override;
  std::size_t write_buffer_size() const noexcept override { return buffer_.size(); }
  void drop_write_buffer() noexcept override { buffer_.clear(); }
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }
  void before_connection_lost() noexcept override;
  void released() noexcept override;

  [[gnu::hot]] void read_ready();
  [[gnu::noinline]] void refuse_protocol();    // neither a Protocol nor a BufferedProtocol
  [[gnu::noinline]] void read_ended(int err);  // recv() gave 0 (EOF) or -1 (err)
  void read_into_buffered_protocol();
  [[gnu::noinline]] void send_fell_short(std::string_view data, ssize_t sent, int err);
  [[gnu::noinline]] void buffer_more(std::string_view data);
  [[gnu::noinline]] void lost_write();
  void on_eof();
  void write_ready();
  void fail_sendfile_waiters(std::exception_ptr error) noexcept;
  // Completes when the socket is writable again after sendfile(2) would block.
  Future<void> wait_writable();

  // protocol_ as the kind of protocol it is, for the calls only that kind has
  // (data_received, get_buffer...): null when it is neither.
  Protocol* stream_protocol() const noexcept {
    return kind_ == ProtocolKind::stream ? static_cast<Protocol*>(reader_) : nullptr;
  }
  BufferedProtocol* buffered_protocol() const noexcept {
    return kind_ == ProtocolKind::buffered ? static_cast<BufferedProtocol*>(reader_) : nullptr;
  }

  // Member order is for the cache: what every message touches comes first,
  // in the object's third line (see alignas above); the two addresses (256
  // bytes, read only by get_extra_info) come last.
  int fd_;
  EpollInterest interest_;
  bool started_reading_ = false;  // connection_made has run
  bool eof_ = false;              // write_eof() was called
  bool read_eof_ = false;         // the peer's EOF was kept half-open: stop reading
  bool paused_ = false;           // pause_reading()
  // While loop.sendfile runs (asyncio's _empty_waiter): write() is refused,
  // and empty_waiter_ completes once the buffer has drained.
  bool sendfile_running_ = false;
  enum class ProtocolKind : std::uint8_t { other, stream, buffered };
  ProtocolKind kind_ = ProtocolKind::other;
  // protocol_.get(), kept here among the per-message members (protocol_
  // itself is cold); read through stream_protocol() and buffered_protocol().
  BaseProtocol* reader_ = nullptr;
  char* read_buffer_;  // the backend's: no loop state per read
  ByteBuffer buffer_;
  Future<void> empty_waiter_;     // see sendfile_running_
  Future<void> writable_waiter_;  // sendfile(2) would block: wait for EPOLLOUT
  EpollBackend& backend_;
  // A server's accepted connection is counted by it until connection_lost.
  std::shared_ptr<ServerImpl> server_;
  SocketAddress peername_;
  SocketAddress sockname_;
};

}  // namespace aiocpp::detail
