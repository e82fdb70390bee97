#pragma once
// One kernel operation of a sock_* call (or a poll), with every buffer the
// kernel uses while it runs: the caller's buffers may go as soon as its
// awaitable is cancelled, so the kernel never sees them.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>

#include "aiocpp/future.hpp"
#include "aiocpp/socket_address.hpp"
#include "proactor/completion.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

// Lifetime: keep_ holds the operation from its submission to its
// completion, and with it buffer_, address_ and msg_, which the kernel
// reads or writes until then. The caller only hears the result, through
// done_; cancelling done_ asks the kernel to cancel the operation.
class SockOp final : public Completion {
 public:
  SockOp(UringBackend& backend, std::size_t size)
      : backend_(backend), buffer_(new char[size ? size : 1]), size_(size) {}

  // Submits the operation `prep` prepares and returns its result (a
  // negative errno on failure) as a future.
  template <class Prep>
  static Future<int> run(const std::shared_ptr<SockOp>& op, Prep&& prep) {
    op->done_ = op->backend_.loop().loop.template create_future<int>();
    op->backend_.submit(op.get(), std::forward<Prep>(prep));
    op->keep_ = op;
    std::weak_ptr<SockOp> weak = op;
    op->done_.add_done_callback([weak] {
      auto self = weak.lock();
      if (self && self->keep_ && self->done_.cancelled() && !self->backend_.closed()) {
        self->backend_.cancel(self.get());
      }
    });
    return op->done_;
  }

  void complete(int res, std::uint32_t) override {
    std::shared_ptr<SockOp> last = std::move(keep_);  // freed on return
    if (backend_.closed() || done_.done()) {
      // Nobody waits: an accepted connection would leak.
      if (closes_result_fd && res >= 0) ::close(res);
      return;
    }
    done_.set_result(res);
  }

  char* buffer() noexcept { return buffer_.get(); }
  std::size_t size() const noexcept { return size_; }
  SocketAddress& address() noexcept { return address_; }
  socklen_t* address_length() noexcept { return &address_length_; }
  // A msghdr over buffer() and address(), for recvmsg / sendmsg.
  msghdr* message(socklen_t name_length) noexcept {
    iov_.iov_base = buffer_.get();
    iov_.iov_len = size_;
    msg_ = msghdr{};
    msg_.msg_name = address_.data();
    msg_.msg_namelen = name_length;
    msg_.msg_iov = &iov_;
    msg_.msg_iovlen = 1;
    return &msg_;
  }
  const msghdr& message() const noexcept { return msg_; }

  // An accept: a descriptor that completes after the caller left is closed.
  bool closes_result_fd = false;

 private:
  UringBackend& backend_;
  std::unique_ptr<char[]> buffer_;
  std::size_t size_;
  SocketAddress address_;
  socklen_t address_length_ = SocketAddress::capacity();
  iovec iov_{};
  msghdr msg_{};
  Future<int> done_;
  std::shared_ptr<SockOp> keep_;
};

}  // namespace aiocpp::detail
