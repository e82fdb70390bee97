#pragma once
// The Server that create_server returns (asyncio.Server).

#include <unistd.h>

#include <unordered_set>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/server.hpp"

namespace aiocpp::detail {

class ServerImpl final : public Server {
 public:
  // Takes ownership of the bound (not yet listening) sockets.
  ServerImpl(EventLoop& loop, std::vector<int> sockets, ProtocolFactory factory, int backlog);
  ~ServerImpl() override;

  EventLoop& get_loop() const override { return loop_; }
  void close() override;
  Task<void> wait_closed() override;
  Task<void> start_serving() override;
  Task<void> serve_forever() override;
  bool is_serving() const override { return serving_; }
  std::vector<TransportSocket> sockets() const override;

  // Starts listening and accepting at once (create_server's start_serving=true).
  void start_serving_now();
  // A connection accepted on one of this server's sockets, whatever the
  // backend: a protocol from the factory and a transport from
  // `make_transport(fd, protocol)` (the backend's, started by it). A failure
  // reaches the exception handler, and `fd` is closed unless a transport
  // already owned it.
  template <class MakeTransport>
  void accepted(int fd, MakeTransport make_transport) noexcept;
  // A unix server removes its socket file on close, if the file is still
  // the socket it bound (same device and inode).
  void remove_on_close(std::string path, unsigned long device, unsigned long inode) {
    unix_path_ = std::move(path);
    unix_device_ = device;
    unix_inode_ = inode;
  }
  // Transports of accepted connections report in and out.
  void attach(Transport* transport) { clients_.insert(transport); }
  void detach(Transport* transport) noexcept;
  void close_clients() override;
  void abort_clients() override;

 private:
  static Task<void> serve_forever_impl(std::shared_ptr<ServerImpl> self);
  static Task<void> wait_closed_impl(std::shared_ptr<ServerImpl> self);
  void wake_waiters();

  EventLoop& loop_;
  std::vector<int> sockets_;
  ProtocolFactory factory_;
  int backlog_;
  bool closed_ = false;
  bool serving_ = false;
  bool waiters_done_ = false;  // closed and every connection gone
  // Lifetime: a transport detaches itself before it is destroyed.
  std::unordered_set<Transport*> clients_;
  std::vector<Future<void>> waiters_;
  Future<void> serving_forever_;
  std::string unix_path_;
  unsigned long unix_device_ = 0;
  unsigned long unix_inode_ = 0;

  void report_accept_failure(int fd) noexcept;
};

template <class MakeTransport>
void ServerImpl::accepted(int fd, MakeTransport make_transport) noexcept {
  std::shared_ptr<BaseProtocol> protocol;
  try {
    protocol = factory_();
    if (!protocol) throw ValueError("the protocol factory returned no protocol");
    make_transport(fd, std::move(protocol));
  } catch (...) {
    report_accept_failure(fd);
    if (!protocol) ::close(fd);  // else the transport owned and closed it
  }
}

}  // namespace aiocpp::detail
