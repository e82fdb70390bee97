// A transport's descriptor closed behind the loop's back (the user's own
// ::close on get_extra_info("socket")): the transport's next operation on it
// fails with EBADF and the transport closes with that error, on either
// backend: no hang, no crash, connection_lost once.
//
// Neither backend can notice the close by itself: epoll forgets a closed
// descriptor without an event, and on io_uring the receive in flight holds
// the kernel's own reference to the socket (so data the peer sends still
// arrives through it; the next receive is the operation that fails).

#include "tcp_helpers.hpp"

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

AIOCPP_BACKEND_SUITE(TcpFdClosedBehind);

// A connection whose client descriptor is closed behind its transport after
// one echo; `act` is the transport's next operation. With `peer_writes`, the
// server's side then sends a few bytes (which a receive still in flight on
// io_uring delivers before the next receive fails).
Task<void> close_behind_then(std::function<void(Transport&)> act, bool peer_writes = false) {
  Pair pair = co_await connect_pair([](Recorder& p) { p.echo = true; });
  pair.transport->write("before");
  co_await arrives(pair.client->bytes.at_least(6), "the echo before the close");

  EXPECT_EQ(::close(fd_of(*pair.transport)), 0);
  act(*pair.transport);
  if (peer_writes) {
    pair.peer->echo = false;
    pair.peer->transport->write("late");
  }
  if (co_await arrives(pair.client->lost, "connection_lost after the descriptor was closed")) {
    EXPECT_EQ(errno_of(pair.client->error), EBADF) << describe(pair.client->error);
  }
  // What did arrive came in order: a receive still in flight may have
  // brought the late bytes before the next one failed.
  if (peer_writes)
    EXPECT_TRUE(pair.client->received == "before" || pair.client->received == "beforelate")
        << pair.client->received;
  EXPECT_TRUE(pair.transport->is_closing());
  EXPECT_EQ(std::count(pair.client->calls.begin(), pair.client->calls.end(), "CL"), 1);
  // The socket itself is gone (the user's close dropped the last reference
  // once the transport's operations ended): the server's side sees it.
  co_await arrives(pair.peer->lost, "the server's connection_lost");
  pair.server->close();
  co_await pair.server->wait_closed();
}

TEST_P(TcpFdClosedBehind, WriteFailsWithEBADFAndClosesTheTransport) {
  FdLeakCheck fds;
  run_bounded(close_behind_then([](Transport& t) { t.write("after"); }));
}

TEST_P(TcpFdClosedBehind, ResumeReadingFailsWithEBADFAndClosesTheTransport) {
  FdLeakCheck fds;
  run_bounded(close_behind_then(
      [](Transport& t) {
        t.pause_reading();
        t.resume_reading();
      },
      backend() == Backend::io_uring));
}

}  // namespace
