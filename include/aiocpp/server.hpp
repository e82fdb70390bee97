#pragma once
// asyncio.Server: what create_server returns. Owns the listening sockets.

#include <exception>
#include <memory>
#include <vector>

#include "aiocpp/socket_address.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

class EventLoop;

// How long a cancelled serve_forever() lets its clients flush what they have
// to send before it aborts them, in seconds.
inline constexpr double serve_forever_grace_period = 0.25;

class Server : public std::enable_shared_from_this<Server> {
 public:
  virtual ~Server() = default;

  virtual EventLoop& get_loop() const = 0;
  // Stops listening and closes the listening sockets; connections already
  // accepted stay open. Safe to call twice.
  virtual void close() = 0;
  // Completes once the server is closed and every connection it accepted is gone.
  virtual Task<void> wait_closed() = 0;
  // Starts accepting (a no-op when already serving).
  virtual Task<void> start_serving() = 0;
  // Accepts until cancelled; then closes the server, close_clients(),
  // abort_clients() on those still open after serve_forever_grace_period,
  // waits for them to be gone and re-raises CancelledError. Ended by close()
  // instead, it leaves the clients alone and waits for them as wait_closed
  // does. RuntimeError if already serving forever or closed.
  virtual Task<void> serve_forever() = 0;
  // Python 3.13's additions: close() (or abort()) every connection this
  // server accepted that is still open. Call close() first, so that no new
  // connection slips in meanwhile.
  virtual void close_clients() = 0;
  virtual void abort_clients() = 0;
  virtual bool is_serving() const = 0;
  virtual std::vector<TransportSocket> sockets() const = 0;
};

// `async with server: ...`: runs `body()`, then closes the server and waits
// for it to close, whether the body returned or threw.
template <class Body>
Task<void> async_with(std::shared_ptr<Server> server, Body body) {
  std::exception_ptr error;
  try {
    co_await body();
  } catch (...) {
    error = std::current_exception();
  }
  server->close();
  co_await server->wait_closed();
  if (error) std::rethrow_exception(error);
}

}  // namespace aiocpp
