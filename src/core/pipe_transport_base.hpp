#pragma once
// What every backend's pipe transports share (asyncio's
// _UnixReadPipeTransport and _UnixWritePipeTransport): a pipe, FIFO, socket
// or character device (a pty, say) wrapped for reading or for writing; the
// protocol calls, EOF, writes tried at once and buffered with flow control,
// the reader leaving. A backend says how bytes move (readiness, or
// operations in flight) through update_watching().

#include <cstdint>
#include <memory>

#include "aiocpp/transports.hpp"
#include "core/byte_buffer.hpp"
#include "core/transport_lifecycle.hpp"

namespace aiocpp::detail {

class ReadPipeBase : public ReadTransport, public TransportLifecycle {
 public:
  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closing_ || fd_ < 0; }
  void close() override { begin_close(); }
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  bool is_reading() const override { return !paused_ && !closing_; }
  void pause_reading() override;
  void resume_reading() override;

 protected:
  ReadPipeBase(LoopImpl& loop, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~ReadPipeBase() = default;

  // TransportLifecycle
  void call_connection_made() override;
  void connection_made_done() override;
  void released() noexcept override { stream_protocol_ = nullptr; }
  // EIO is how a pty reports that its other side closed: not worth reporting.
  // Other OS errors of a read pipe are (asyncio's _UnixReadPipeTransport).
  bool is_quiet(const std::exception_ptr& error) const noexcept override;

  // Bytes came: data_received (a failing call is fatal).
  void deliver(std::string_view data);
  // The writer is gone: eof_received, then connection_lost (a pipe cannot
  // stay half-open), both from the loop.
  void on_eof();
  // A read failed with `err`.
  void read_failed(int err);

  int fd_;
  Protocol* stream_protocol_ = nullptr;  // protocol_ as a Protocol, if it is one
  bool paused_ = false;
  bool reading_ = false;  // connection_made has run
};

class WritePipeBase : public WriteTransport, public TransportLifecycle {
 public:
  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closing_ || fd_ < 0; }
  // All a write pipe needs to close: no more writes, then connection_lost.
  void close() override { begin_close(); }
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override { protocol_ = protocol; }
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                               std::optional<std::size_t> low = std::nullopt) override {
    set_flow_limits(high, low);
  }
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override {
    return flow_limits();
  }
  std::size_t get_write_buffer_size() const override { return write_buffer_size(); }
  // Written at once when nothing waits; the rest is buffered.
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> chunks) override;
  void write_eof() override { begin_close(); }
  bool can_write_eof() const override { return true; }
  void abort() override { force_close(nullptr); }

 protected:
  WritePipeBase(LoopImpl& loop, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~WritePipeBase() = default;

  // TransportLifecycle
  void call_connection_made() override;
  void connection_made_done() override;
  std::size_t write_buffer_size() const noexcept override { return buffer_.size(); }
  void drop_write_buffer() noexcept override { buffer_.clear(); }

  // The reader is gone (a FIFO or socket turned readable, or reported an error).
  void peer_closed();
  // A write failed with `err`.
  void write_failed(int err, const char* operation);
  // Some of the buffer was written: once all of it is, resume the protocol
  // and finish a close.
  void after_write();

  int fd_;
  ByteBuffer buffer_;        // what the pipe did not take yet
  bool watch_peer_ = false;  // a FIFO or socket: readiness to read means the reader left
  bool started_ = false;     // connection_made has run

 private:
  bool writable_now();  // false when the transport no longer takes data
  void wrote(std::string_view rest);
};

}  // namespace aiocpp::detail
