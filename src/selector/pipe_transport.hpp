#pragma once
// The selector backend's pipe transports (asyncio's _UnixReadPipeTransport
// and _UnixWritePipeTransport): what they share with every backend's is in
// ReadPipeBase / WritePipeBase; what is theirs is reading and writing on
// epoll's readiness.

#include <cstdint>
#include <memory>

#include "core/pipe_transport_base.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"

namespace aiocpp::detail {

class ReadPipeTransport final : public ReadPipeBase, public IoWatcher {
 public:
  ReadPipeTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol)
      : ReadPipeBase(backend.loop(), fd, std::move(protocol)), backend_(backend) {}
  ~ReadPipeTransport() override { interest_.close(backend_, fd_); }

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<ReadPipeTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  void on_io(std::uint32_t events) override;

 private:
  // TransportLifecycle
  void update_watching() override;
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }

  EpollBackend& backend_;
  EpollInterest interest_;
};

class WritePipeTransport final : public WritePipeBase, public IoWatcher {
 public:
  WritePipeTransport(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol)
      : WritePipeBase(backend.loop(), fd, std::move(protocol)), backend_(backend) {}
  ~WritePipeTransport() override { interest_.close(backend_, fd_); }

  // Schedules connection_made, then starts watching, then completes `waiter`.
  void start(std::shared_ptr<WritePipeTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  void on_io(std::uint32_t events) override;

 private:
  // TransportLifecycle
  void update_watching() override;
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }

  void write_ready();

  EpollBackend& backend_;
  EpollInterest interest_;
};

}  // namespace aiocpp::detail
