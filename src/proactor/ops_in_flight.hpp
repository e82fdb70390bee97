#pragma once
// What keeps a proactor transport alive while the kernel holds its buffers:
// a count of its operations in flight, and a reference to the transport
// from the first one's submission to the last one's completion (past
// connection_lost, past the loop's close).

#include <memory>

#include "aiocpp/transports.hpp"
#include "proactor/completion.hpp"
#include "proactor/uring_backend.hpp"

namespace aiocpp::detail {

class OpsInFlight {
 public:
  // An operation of the transport `self` was submitted.
  void started(const std::shared_ptr<BaseTransport>& self) {
    if (count_++ == 0) keep_ = self;
  }
  // Last thing a completion does: it may free the transport (and this).
  void finished() noexcept {
    if (--count_ == 0) {
      std::shared_ptr<BaseTransport> last = std::move(keep_);
    }
  }
  // Asks the kernel to cancel `op`; its completion still comes. Nothing to
  // do once the backend closed: its close() cancels and reaps everything.
  static void cancel(UringBackend& backend, Completion* op) noexcept {
    if (backend.closed()) return;
    try {
      backend.cancel(op);
    } catch (...) {
      // The submission queue is full even after a submit: the operation
      // ends by itself, or with the loop.
    }
  }

 private:
  int count_ = 0;
  // Lifetime: the transport, while count_ > 0.
  std::shared_ptr<BaseTransport> keep_;
};

}  // namespace aiocpp::detail
