#pragma once
// The proactor's pipe transports (asyncio's _ProactorReadPipeTransport and
// _ProactorWritePipeTransport): one read always in flight into a buffer the
// transport owns; writes tried at once, the rest handed to the kernel by a
// write whose bytes stay untouched until it completes. What they share with
// the selector's is in ReadPipeBase / WritePipeBase.
//
// A descriptor that is not ready answers EAGAIN when the kernel cannot wait
// on it for us (a non-blocking tty, say): the operation then waits with a
// one-shot poll, on the same Completion, and is tried again.

#include <memory>

#include "core/byte_buffer.hpp"
#include "core/pipe_transport_base.hpp"
#include "proactor/completion.hpp"
#include "proactor/ops_in_flight.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

class ProactorReadPipeTransport final : public ReadPipeBase {
 public:
  ProactorReadPipeTransport(UringBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~ProactorReadPipeTransport() override;

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<ProactorReadPipeTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  // The read in flight stays: what it brings waits for resume_reading.
  void resume_reading() override;

 private:
  struct ReadOp final : Completion {
    ProactorReadPipeTransport* owner;
    void complete(int res, std::uint32_t) override { owner->read_done(res); }
  };

  // TransportLifecycle
  void update_watching() override;
  void close_descriptor() noexcept override;
  void forget_descriptor() noexcept override { close_descriptor(); }

  void submit(bool poll);
  void read_done(int res);
  void deliver_pending();

  UringBackend& backend_;
  ReadOp read_op_;
  bool in_flight_ = false;
  bool polling_ = false;  // the operation in flight is the poll, not the read
  // What came while paused, for resume_reading: n + 1 bytes, or 1 for EOF.
  std::size_t pending_ = 0;
  // Lifetime: the kernel writes into read_buffer_ from a read's submission
  // to its completion; the transport outlives it through ops_.
  static constexpr std::size_t read_buffer_size = 64 * 1024;
  std::unique_ptr<char[]> read_buffer_{new char[read_buffer_size]};
  OpsInFlight ops_;
};

class ProactorWritePipeTransport final : public WritePipeBase {
 public:
  ProactorWritePipeTransport(UringBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~ProactorWritePipeTransport() override;

  // Schedules connection_made, then starts watching, then completes `waiter`.
  void start(std::shared_ptr<ProactorWritePipeTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

 private:
  struct WriteOp final : Completion {
    ProactorWritePipeTransport* owner;
    void complete(int res, std::uint32_t) override { owner->write_done(res); }
  };
  struct PeerWatch final : Completion {
    ProactorWritePipeTransport* owner;
    void complete(int res, std::uint32_t) override { owner->peer_watch_done(res); }
  };

  // TransportLifecycle
  void update_watching() override;
  std::size_t write_buffer_size() const noexcept override {
    return buffer_.size() + (write_dropped_ ? 0 : sending_.size());
  }
  void drop_write_buffer() noexcept override;
  void close_descriptor() noexcept override;
  void forget_descriptor() noexcept override { close_descriptor(); }

  void submit_write(bool poll);
  void write_done(int res);
  void peer_watch_done(int res);
  // Not conn_lost_: a write pipe counts writes dropped after write_eof()
  // there, while what was buffered before still goes out.
  bool stopped() const noexcept { return lost_ != Lost::no || fd_ < 0; }

  UringBackend& backend_;
  WriteOp write_op_;
  PeerWatch peer_watch_;
  bool write_in_flight_ = false;
  bool write_polling_ = false;  // the write operation in flight is its poll
  bool write_dropped_ = false;  // abort() or a fatal error: sending_ no longer counts
  bool peer_watch_in_flight_ = false;
  // Lifetime: the kernel reads sending_ from a write's submission to its
  // completion; nothing appends to it meanwhile (writes go to buffer_),
  // nothing consumes or clears it before that completion (its block goes
  // back to the thread's pool when it drains: ByteBuffer), and the
  // transport outlives it through ops_.
  ByteBuffer sending_;
  OpsInFlight ops_;
};

}  // namespace aiocpp::detail
