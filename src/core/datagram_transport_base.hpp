#pragma once
// What every backend's datagram transport shares (asyncio's
// _SelectorDatagramTransport and _ProactorDatagramTransport agree on it):
// the protocol, the addresses, sendto()'s checks, its try-at-once and its
// queue of whole datagrams with flow control, and how errors reach
// error_received. A backend says how a datagram is received and how the
// queue is sent (readiness, or an operation in flight).

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "aiocpp/transports.hpp"
#include "core/transport_lifecycle.hpp"

namespace aiocpp::detail {

class DatagramTransportBase : public DatagramTransport, public TransportLifecycle {
 public:
  // Room for the largest datagram either backend reads at once (a unix
  // datagram may exceed UDP's 64 KiB); a longer one is truncated.
  static constexpr std::size_t max_datagram_size = 256 * 1024;

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

 protected:
  // A datagram the socket did not take yet.
  struct Pending {
    std::string data;
    SocketAddress address;  // empty: the connected peer
  };

  // `address`: the remote address sendto() defaults to (create_datagram_endpoint's remote_addr).
  DatagramTransportBase(LoopImpl& loop, int fd, std::shared_ptr<DatagramProtocol> protocol,
                        std::optional<SocketAddress> address);
  ~DatagramTransportBase() = default;

  // TransportLifecycle
  void call_connection_made() override;
  void connection_made_done() override;
  std::size_t write_buffer_size() const noexcept override { return buffer_size_; }
  void drop_write_buffer() noexcept override;
  void released() noexcept override { datagram_protocol_ = nullptr; }

  // One send(to) from the caller's bytes, now; returns 0 or the errno.
  int send_one(std::string_view data, const SocketAddress* address) noexcept;
  // A datagram came from `sender`: datagram_received (a failing call is
  // fatal). Inline: it is the receive path's one call per datagram.
  void deliver(std::string_view data, const SocketAddress& sender) {
    try {
      datagram_protocol_->datagram_received(data, sender);
    } catch (...) {
      fatal_error(std::current_exception(),
                  "Fatal error: protocol.datagram_received() call failed.");
    }
  }
  // Hands an OS error to protocol.error_received (a failing call is fatal).
  void report_error(int err, const char* operation);
  // The queue's front datagram went (err == 0) or failed with `err`: it is
  // dropped either way, as asyncio drops a datagram sendto failed on.
  void front_done(int err);
  // After sending from the queue: resume the protocol, and once it is
  // empty stop waiting to send and finish a close.
  void after_sending();
  // A datagram was queued: start sending the queue if it is not being sent.
  virtual void queued() = 0;

  int fd_;
  DatagramProtocol* datagram_protocol_ = nullptr;  // protocol_ as a DatagramProtocol
  std::optional<SocketAddress> address_;           // the only address sendto() accepts, if set
  SocketAddress peername_;                         // set when the socket is connected
  SocketAddress sockname_;
  std::deque<Pending> buffer_;
  std::size_t buffer_size_ = 0;
  bool started_reading_ = false;  // connection_made has run
};

}  // namespace aiocpp::detail
