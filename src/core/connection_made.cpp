#include "core/connection_made.hpp"

namespace aiocpp::detail {

Task<void> wait_connection_made(Future<void> waiter, std::shared_ptr<BaseTransport> transport) {
  std::exception_ptr failed;
  try {
    co_await waiter;
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) {
    transport->close();
    std::rethrow_exception(failed);
  }
}

}  // namespace aiocpp::detail
