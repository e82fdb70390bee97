#pragma once
// The selector backend's pipe transports (asyncio's _UnixReadPipeTransport
// and _UnixWritePipeTransport): a pipe, FIFO, socket or character device
// (a pty, say) wrapped for reading or for writing.

#include <cstdint>
#include <functional>
#include <memory>

#include "aiocpp/transports.hpp"
#include "core/byte_buffer.hpp"
#include "core/loop_impl.hpp"
#include "core/write_flow.hpp"
#include "selector/epoll_backend.hpp"

namespace aiocpp::detail {

// What both pipe transports share: the descriptor and its epoll registration,
// the protocol, and the lifetime from start() until connection_lost.
class PipeCore : public IoWatcher, public LoopResource {
 public:
  PipeCore(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  ~PipeCore();

  void release_on_loop_close() noexcept override;

 protected:
  // Schedules `made` (which calls connection_made), then `started` and then
  // completes `waiter` (asyncio's order: reading starts after connection_made).
  void start(std::shared_ptr<BaseTransport> self, Future<void> waiter, std::function<void()> made);
  // Brings the epoll registration in line with `events` (0: not watched).
  void watch(std::uint32_t events) noexcept;
  std::uint32_t watched() const noexcept { return events_; }
  void schedule_connection_lost(std::exception_ptr error);
  void call_connection_lost(std::exception_ptr error);
  void report(const char* message, std::exception_ptr error);
  std::any extra_info(std::string_view name, std::any default_value) const;
  // Called once connection_made has returned: start watching.
  virtual void started() = 0;

  EpollBackend& backend_;
  LoopImpl& loop_;
  int fd_;
  std::shared_ptr<BaseProtocol> protocol_;
  // Lifetime: the loop's own reference, from start() until connection_lost
  // has returned (or the loop closes).
  std::shared_ptr<BaseTransport> self_;

 private:
  std::uint32_t events_ = 0;
  bool registered_ = false;
  bool tracked_ = false;  // in the loop's list of resources
};

class ReadPipeTransport final : public ReadTransport, public PipeCore {
 public:
  ReadPipeTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  void start(std::shared_ptr<ReadPipeTransport> self, Future<void> waiter);

  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override {
    return extra_info(name, std::move(default_value));
  }
  bool is_closing() const override { return closing_ || fd_ < 0; }
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  bool is_reading() const override { return !paused_ && !closing_; }
  void pause_reading() override;
  void resume_reading() override;

  void on_io(std::uint32_t events) override;

 private:
  void started() override;
  void fatal_error(std::exception_ptr error, const char* message);
  void close_with(std::exception_ptr error);

  Protocol* stream_protocol_ = nullptr;
  bool closing_ = false;
  bool paused_ = false;
  bool reading_ = false;  // connection_made has run
};

class WritePipeTransport final : public WriteTransport, public PipeCore {
 public:
  WritePipeTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol);
  void start(std::shared_ptr<WritePipeTransport> self, Future<void> waiter);

  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override {
    return extra_info(name, std::move(default_value));
  }
  bool is_closing() const override { return closing_ || fd_ < 0; }
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override { protocol_ = protocol; }
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                               std::optional<std::size_t> low = std::nullopt) override;
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override {
    return flow_.limits();
  }
  std::size_t get_write_buffer_size() const override { return buffer_.size(); }
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> chunks) override;
  void write_eof() override;
  bool can_write_eof() const override { return true; }
  void abort() override { close_with(nullptr); }

  void on_io(std::uint32_t events) override;

 private:
  void started() override;
  bool writable_now();  // false when the transport no longer takes data
  void wrote(std::string_view rest);
  void write_ready();
  void peer_closed();
  void fatal_error(std::exception_ptr error, const char* message);
  void close_with(std::exception_ptr error);
  void update_events() noexcept;

  ByteBuffer buffer_;
  WriteFlowControl flow_;
  int conn_lost_ = 0;
  bool closing_ = false;     // close() or write_eof() was called
  bool watch_peer_ = false;  // a FIFO or socket: readiness to read means the reader left
  bool started_ = false;     // connection_made has run
};

}  // namespace aiocpp::detail
