#pragma once
// The proactor's stream socket transport (asyncio's
// _ProactorSocketTransport): one receive always in flight while reading (a
// multishot receive into the loop's buffer ring, or, without one, a receive
// into a buffer of the transport's own), and the write buffer handed to the
// kernel by a send whose bytes stay untouched until it completes.

#include <memory>
#include <vector>

#include "aiocpp/transports.hpp"
#include "core/byte_buffer.hpp"
#include "core/sendfile.hpp"
#include "core/transport_lifecycle.hpp"
#include "proactor/completion.hpp"
#include "proactor/ops_in_flight.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

class ServerImpl;

class ProactorSocketTransport final : public Transport,
                                      public SendfileTarget,
                                      public TransportLifecycle {
 public:
  ProactorSocketTransport(UringBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol,
                          std::shared_ptr<ServerImpl> server);
  ~ProactorSocketTransport() override;

  void start(std::shared_ptr<ProactorSocketTransport> self, Future<void> waiter) {
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
  std::size_t get_write_buffer_size() const override { return write_buffer_size(); }
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> chunks) override;
  void write_eof() override;
  bool can_write_eof() const override { return true; }
  void abort() override { force_close(nullptr); }
  bool accepts_writes() const override {
    return !closing_ && !conn_lost_ && !eof_ && !sendfile_running_;
  }

  // SendfileTarget (loop.sendfile)
  Future<void> make_empty_waiter() override;
  void reset_empty_waiter() noexcept override {
    empty_waiter_ = Future<void>();
    sendfile_running_ = false;
  }
  Task<std::size_t> sendfile(int file, std::int64_t offset,
                             std::optional<std::size_t> count) override;

 private:
  // The two operations a transport keeps in flight, each completing here.
  struct RecvOp final : Completion {
    ProactorSocketTransport* owner;
    void complete(int res, std::uint32_t flags) override { owner->recv_done(res, flags); }
  };
  // One receive's result: bytes (or 0 for EOF) and where they are: a slice
  // of the loop's ring, or (no slice) own_buffer_.
  struct Received {
    int res;
    BufferRing::Slice slice;
  };
  struct SendOp final : Completion {
    ProactorSocketTransport* owner;
    void complete(int res, std::uint32_t) override { owner->send_done(res); }
  };

  // TransportLifecycle
  void call_connection_made() override;
  const char* connection_made_error_message() const noexcept override;
  void connection_made_done() override;
  void update_watching() override;
  std::size_t write_buffer_size() const noexcept override {
    return buffer_.size() + (send_dropped_ ? 0 : sending_.size());
  }
  void drop_write_buffer() noexcept override;
  void close_descriptor() noexcept override;
  void forget_descriptor() noexcept override { close_descriptor(); }
  void before_connection_lost() noexcept override;
  void released() noexcept override;

  void submit_recv();
  void submit_send();
  void recv_done(int res, std::uint32_t flags);
  void send_done(int res);
  void received(Received r);
  void deliver(const char* data, std::size_t n);
  void deliver_buffered(const char* data, std::size_t n);
  void deliver_pending();
  void give_back(Received r) noexcept;
  void give_back_pending() noexcept;
  void on_eof();
  void cancel_ops() noexcept;
  void cancel_recv() noexcept;
  bool wants_reading() const noexcept {
    return started_reading_ && !paused_ && !closing_ && !read_eof_ && conn_lost_ == 0;
  }

  int fd_;
  UringBackend& backend_;
  // protocol_ as the kind it is (set_protocol), null when it is not.
  BufferedProtocol* buffered_ = nullptr;
  Protocol* stream_ = nullptr;
  RecvOp recv_op_;
  SendOp send_op_;
  bool recv_in_flight_ = false;
  bool recv_multishot_ = false;   // the receive in flight picks from the ring
  bool ring_ran_dry_ = false;     // the next receive uses own_buffer_ once
  bool recv_cancelling_ = false;  // a cancellation of it is on its way
  bool send_in_flight_ = false;
  bool started_reading_ = false;
  bool eof_ = false;       // write_eof() was called
  bool read_eof_ = false;  // the peer's EOF was kept half-open
  bool paused_ = false;
  bool send_dropped_ = false;  // abort(): the bytes in flight no longer count
  bool sendfile_running_ = false;
  // What came while reading was paused (a multishot receive may bring
  // several before its cancellation lands): delivered in order on
  // resume_reading. Lifetime: ring slices listed here are the transport's
  // until delivered or released (give_back_pending).
  std::vector<Received> pending_;
  // Lifetime: the kernel writes into own_buffer_ from a single receive's
  // submission to its completion; the transport outlives it through ops_.
  // Made at the first receive that needs it (no ring, or the ring ran dry;
  // then freed again once that receive's bytes are delivered).
  static constexpr std::size_t own_buffer_size = 64 * 1024;
  std::unique_ptr<char[]> own_buffer_;
  // Lifetime: the kernel reads sending_ from a send's submission to its
  // completion; nothing appends to it meanwhile (writes go to buffer_),
  // nothing consumes or clears it before that completion (its block goes
  // back to the thread's pool when it drains: ByteBuffer), and the
  // transport outlives it through ops_.
  ByteBuffer sending_;
  ByteBuffer buffer_;  // written while a send is in flight
  // A write smaller than this goes through the ring: copied into buffer_,
  // its send is submitted with the loop's next wait (io_uring_enter), one
  // system call for every transport's sends and receives where send(2)
  // would be one per write. As asyncio's proactor transports, its bytes
  // count in get_write_buffer_size() until the send completes. A larger
  // write is tried at once, sparing the copy.
  static constexpr std::size_t send_at_once_from = 16 * 1024;
  // Lifetime: keeps the transport (so its buffers) alive while any
  // operation is in flight, past connection_lost or the loop's close, until
  // the last one's completion.
  OpsInFlight ops_;
  Future<void> empty_waiter_;
  std::shared_ptr<ServerImpl> server_;
  SocketAddress peername_;
  SocketAddress sockname_;
};

}  // namespace aiocpp::detail
