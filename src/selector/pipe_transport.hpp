#pragma once
// The selector backend's pipe transports (asyncio's _UnixReadPipeTransport
// and _UnixWritePipeTransport): a pipe, FIFO, socket or character device
// (a pty, say) wrapped for reading or for writing. Their life is the shared
// TransportLifecycle's; what is theirs is how bytes move.

#include <cstdint>
#include <memory>

#include "aiocpp/transports.hpp"
#include "core/byte_buffer.hpp"
#include "core/transport_lifecycle.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"

namespace aiocpp::detail {

class ReadPipeTransport final : public ReadTransport, public IoWatcher, public TransportLifecycle {
 public:
  ReadPipeTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~ReadPipeTransport() override { interest_.close(backend_, fd_); }

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<ReadPipeTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closing_ || fd_ < 0; }
  void close() override { begin_close(); }
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  bool is_reading() const override { return !paused_ && !closing_; }
  void pause_reading() override;
  void resume_reading() override;

  void on_io(std::uint32_t events) override;

 private:
  // TransportLifecycle
  void call_connection_made() override;
  void connection_made_done() override;
  void update_watching() override;
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }
  void released() noexcept override { stream_protocol_ = nullptr; }
  // EIO is how a pty reports that its other side closed: not worth reporting.
  // Other OS errors of a read pipe are (asyncio's _UnixReadPipeTransport).
  bool is_quiet(const std::exception_ptr& error) const noexcept override;

  EpollBackend& backend_;
  int fd_;
  EpollInterest interest_;
  Protocol* stream_protocol_ = nullptr;  // protocol_ as a Protocol, if it is one
  bool paused_ = false;
  bool reading_ = false;  // connection_made has run
};

class WritePipeTransport final : public WriteTransport,
                                 public IoWatcher,
                                 public TransportLifecycle {
 public:
  WritePipeTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~WritePipeTransport() override { interest_.close(backend_, fd_); }

  // Schedules connection_made, then starts watching, then completes `waiter`.
  void start(std::shared_ptr<WritePipeTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

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
  std::size_t get_write_buffer_size() const override { return buffer_.size(); }
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> chunks) override;
  void write_eof() override { begin_close(); }
  bool can_write_eof() const override { return true; }
  void abort() override { force_close(nullptr); }

  void on_io(std::uint32_t events) override;

 private:
  // TransportLifecycle
  void call_connection_made() override;
  void connection_made_done() override;
  void update_watching() override;
  std::size_t write_buffer_size() const noexcept override { return buffer_.size(); }
  void drop_write_buffer() noexcept override { buffer_.clear(); }
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }

  bool writable_now();  // false when the transport no longer takes data
  void wrote(std::string_view rest);
  void write_ready();
  void peer_closed();

  EpollBackend& backend_;
  int fd_;
  EpollInterest interest_;
  ByteBuffer buffer_;
  bool watch_peer_ = false;  // a FIFO or socket: readiness to read means the reader left
  bool started_ = false;     // connection_made has run
};

}  // namespace aiocpp::detail
