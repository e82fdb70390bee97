#pragma once
// What an io_uring submission queue entry points at: its user_data is a
// Completion*, called once per completion queue entry the operation posts.

#include <cstdint>

namespace aiocpp::detail {

// Lifetime: whoever submits an operation keeps its Completion alive until
// the operation's final completion (the one without IORING_CQE_F_MORE),
// even when it was cancelled: the kernel may still post to it until then.
class Completion {
 public:
  // `res` is the operation's result (a negative errno on failure); `flags`
  // the CQE's (IORING_CQE_F_MORE: a multishot operation continues).
  virtual void complete(int res, std::uint32_t flags) = 0;

 protected:
  ~Completion() = default;
};

}  // namespace aiocpp::detail
