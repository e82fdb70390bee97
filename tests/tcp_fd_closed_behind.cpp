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
// one echo.
Task<Pair> echo_then_close_behind() {
  Pair pair = co_await connect_pair([](Recorder& p) { p.echo = true; });
  pair.transport->write("before");
  co_await arrives(pair.client->bytes.at_least(6), "the echo before the close");
  EXPECT_EQ(::close(fd_of(*pair.transport)), 0);
  co_return pair;
}

// The end of each test: connection_lost came once, and the socket itself is
// gone (the user's close dropped the last reference once the transport's
// operations ended): the server's side sees it.
Task<void> lost_once_and_gone(Pair& pair) {
  EXPECT_EQ(std::count(pair.client->calls.begin(), pair.client->calls.end(), "CL"), 1);
  co_await arrives(pair.peer->lost, "the server's connection_lost");
  pair.server->close();
  co_await pair.server->wait_closed();
}

// `act` is the transport's next operation. With `peer_writes`, the server's
// side then sends a few bytes (which a receive still in flight on io_uring
// delivers before the next receive fails).
Task<void> close_behind_then(std::function<void(Transport&)> act, bool peer_writes = false) {
  Pair pair = co_await echo_then_close_behind();
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
  co_await lost_once_and_gone(pair);
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

// asyncio's write_eof shuts the socket down at once when nothing is
// buffered and raises what shutdown raised: EBADF here. The peer then sees
// the end of the stream, as the user's close made it: on io_uring only once
// the receive in flight, which holds the socket, is gone.
Task<void> write_eof_after_close_behind() {
  Pair pair = co_await echo_then_close_behind();
  int err = 0;
  try {
    pair.transport->write_eof();
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EBADF);
  co_await arrives(pair.peer->eof, "the server's eof_received");
  pair.transport->close();
  co_await arrives(pair.client->lost, "the client's connection_lost");
  co_await lost_once_and_gone(pair);
}

TEST_P(TcpFdClosedBehind, WriteEofRaisesEBADFAndThePeerSeesTheEnd) {
  FdLeakCheck fds;
  run_bounded(write_eof_after_close_behind());
}

}  // namespace
