#pragma once
// The last steps every create_* / connect_* method shares: call the protocol
// factory, and wait for the new transport's connection_made.

#include <functional>
#include <memory>

#include "aiocpp/errors.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/transports.hpp"

namespace aiocpp::detail {

// ValueError when the factory returns no protocol.
template <class P>
std::shared_ptr<P> make_protocol(const std::function<std::shared_ptr<P>()>& factory) {
  std::shared_ptr<P> protocol = factory();
  if (!protocol) throw ValueError("the protocol factory returned no protocol");
  return protocol;
}

// Waits for `waiter`, which the transport completes after connection_made.
// If that fails or the wait is cancelled, closes the transport, as asyncio
// does, and rethrows.
Task<void> wait_connection_made(Future<void> waiter, std::shared_ptr<BaseTransport> transport);

}  // namespace aiocpp::detail
