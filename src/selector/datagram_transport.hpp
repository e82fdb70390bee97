#pragma once
// The selector backend's datagram transport (asyncio's
// _SelectorDatagramTransport): one datagram per readiness event, read into
// the loop's buffer; sendto() sends at once and queues whole datagrams only
// when the socket is full (DatagramTransportBase), sending them in order on
// writability.

#include <memory>
#include <optional>

#include "core/datagram_transport_base.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"

namespace aiocpp::detail {

class SelectorDatagramTransport final : public DatagramTransportBase, public IoWatcher {
 public:
  SelectorDatagramTransport(EpollBackend& backend, int fd,
                            std::shared_ptr<DatagramProtocol> protocol,
                            std::optional<SocketAddress> address)
      : DatagramTransportBase(backend.loop(), fd, std::move(protocol), std::move(address)),
        backend_(backend) {}
  ~SelectorDatagramTransport() override { interest_.close(backend_, fd_); }

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<SelectorDatagramTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  void on_io(std::uint32_t events) override;

 private:
  // TransportLifecycle
  void update_watching() override;
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }
  // DatagramTransportBase: the queue is sent on writability.
  void queued() override { update_watching(); }

  void read_ready();
  void write_ready();

  EpollBackend& backend_;
  EpollInterest interest_;
};

}  // namespace aiocpp::detail
