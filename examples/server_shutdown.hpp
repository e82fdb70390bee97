#pragma once
// Stopping a server promptly, for the examples that run the loop with
// run_forever() and so cannot rely on a cancelled serve_forever() doing it.
//
// server.close() only stops accepting, and wait_closed() then waits for every
// client to leave: a single idle client would keep the program alive for as
// long as it likes. So after close(), close_clients() asks every connection
// to close once its buffered output is sent, and abort_clients() drops those
// still open after a short grace period (a client that does not read would
// otherwise hold its connection open forever).

#include <memory>

#include "aiocpp/aiocpp.hpp"

namespace examples {

inline aiocpp::Task<void> shut_down(std::shared_ptr<aiocpp::Server> server,
                                    double grace = aiocpp::serve_forever_grace_period) {
  server->close();
  server->close_clients();
  auto abort_clients = [server] { server->abort_clients(); };
  aiocpp::TimerHandle timer = aiocpp::get_running_loop().call_later(grace, abort_clients);
  co_await server->wait_closed();
  timer.cancel();
}

}  // namespace examples
