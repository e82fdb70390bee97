#pragma once
// The selector backend's datagram transport (asyncio's
// _SelectorDatagramTransport): one datagram per readiness event, read into
// the loop's buffer; sendto() sends at once and queues whole datagrams only
// when the socket is full, sending them in order on writability.

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "aiocpp/transports.hpp"
#include "core/loop_impl.hpp"
#include "core/transport_lifecycle.hpp"
#include "selector/epoll_backend.hpp"
#include "selector/epoll_interest.hpp"

namespace aiocpp::detail {

class SelectorDatagramTransport final : public DatagramTransport,
                                        public IoWatcher,
                                        public TransportLifecycle {
 public:
  // `address`: the remote address sendto() defaults to (create_datagram_endpoint's remote_addr).
  SelectorDatagramTransport(EpollBackend& backend, int fd,
                            std::shared_ptr<DatagramProtocol> protocol,
                            std::optional<SocketAddress> address);
  ~SelectorDatagramTransport() override;

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<SelectorDatagramTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

  // BaseTransport
  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closing_; }
  void close() override { begin_close(); }
  // ValueError unless `protocol` is a DatagramProtocol.
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }
  SocketAddress peername() const override { return peername_; }
  SocketAddress sockname() const override { return sockname_; }

  // DatagramTransport
  void sendto(std::string_view data,
              const std::optional<SocketAddress>& addr = std::nullopt) override;
  void abort() override { force_close(nullptr); }
  std::size_t get_write_buffer_size() const override { return buffer_size_; }
  void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                               std::optional<std::size_t> low = std::nullopt) override {
    set_flow_limits(high, low);
  }
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override {
    return flow_limits();
  }

  void on_io(std::uint32_t events) override;

 private:
  // A datagram the socket did not take yet.
  struct Pending {
    std::string data;
    SocketAddress address;  // empty: the connected peer
  };

  // TransportLifecycle
  void call_connection_made() override;
  void connection_made_done() override;
  void update_watching() override;
  std::size_t write_buffer_size() const noexcept override { return buffer_size_; }
  void drop_write_buffer() noexcept override;
  void close_descriptor() noexcept override { interest_.close(backend_, fd_); }
  void forget_descriptor() noexcept override { interest_.close_with_loop(fd_); }
  void released() noexcept override { datagram_protocol_ = nullptr; }

  void read_ready();
  void write_ready();
  // One send(to); returns 0 or the errno.
  int send_one(std::string_view data, const SocketAddress* address) noexcept;
  // Hands an OS error to protocol.error_received (a failing call is fatal).
  void report_error(int err, const char* operation);

  EpollBackend& backend_;
  int fd_;
  DatagramProtocol* datagram_protocol_ = nullptr;  // protocol_ as a DatagramProtocol
  std::optional<SocketAddress> address_;           // the only address sendto() accepts, if set
  SocketAddress peername_;                         // set when the socket is connected
  SocketAddress sockname_;
  std::deque<Pending> buffer_;
  std::size_t buffer_size_ = 0;
  EpollInterest interest_;
  bool started_reading_ = false;  // connection_made has run
};

}  // namespace aiocpp::detail
