#pragma once
// The proactor's datagram transport (asyncio's _ProactorDatagramTransport):
// one recvmsg always in flight into a buffer the transport owns; sendto()
// sends at once (DatagramTransportBase) and, when the socket is full, the
// queue is sent in order by one sendmsg at a time through the ring.

#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>
#include <optional>

#include "core/datagram_transport_base.hpp"
#include "proactor/completion.hpp"
#include "proactor/ops_in_flight.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

class ProactorDatagramTransport final : public DatagramTransportBase {
 public:
  ProactorDatagramTransport(UringBackend& backend, int fd,
                            std::shared_ptr<DatagramProtocol> protocol,
                            std::optional<SocketAddress> address);
  ~ProactorDatagramTransport() override;

  // Schedules connection_made, then starts reading, then completes `waiter`.
  void start(std::shared_ptr<ProactorDatagramTransport> self, Future<void> waiter) {
    TransportLifecycle::start(std::move(self), std::move(waiter));
  }

 private:
  struct RecvOp final : Completion {
    ProactorDatagramTransport* owner;
    void complete(int res, std::uint32_t) override { owner->recv_done(res); }
  };
  struct SendOp final : Completion {
    ProactorDatagramTransport* owner;
    void complete(int res, std::uint32_t) override { owner->send_done(res); }
  };

  // TransportLifecycle
  void update_watching() override;
  void drop_write_buffer() noexcept override;
  void close_descriptor() noexcept override;
  void forget_descriptor() noexcept override { close_descriptor(); }
  // DatagramTransportBase: the queue's front goes to the kernel.
  void queued() override {
    if (!send_in_flight_) submit_send();
  }

  void submit_recv();
  void submit_send();
  void recv_done(int res);
  void send_done(int res);

  UringBackend& backend_;
  RecvOp recv_op_;
  SendOp send_op_;
  bool recv_in_flight_ = false;
  bool send_in_flight_ = false;
  bool send_dropped_ = false;  // abort() or the loop's close: the front is no longer ours to send
  // Lifetime: the kernel writes into read_buffer_, from_ and recv_msg_ (its
  // msg_namelen) from a recvmsg's submission to its completion; the
  // transport outlives it through ops_.
  std::unique_ptr<char[]> read_buffer_{new char[max_datagram_size]};
  SocketAddress from_;
  iovec recv_iov_{};
  msghdr recv_msg_{};
  // Lifetime: the kernel reads buffer_.front() (its bytes and address),
  // send_iov_ and send_msg_ from a sendmsg's submission to its completion:
  // the front stays queued until then (even when dropped: send_dropped_), a
  // deque's push_back moves none of its elements, and the transport
  // outlives it through ops_.
  iovec send_iov_{};
  msghdr send_msg_{};
  OpsInFlight ops_;
};

}  // namespace aiocpp::detail
