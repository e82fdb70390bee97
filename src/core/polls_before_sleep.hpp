#pragma once
// Polling before sleeping, shared by both backends (EpollBackend::poll,
// UringBackend::poll).
//
// A loop that sleeps in the kernel whenever its ready connections are served
// loses to one that keeps going: on a loaded machine the sleeper wakes up
// behind whatever took its CPU meanwhile, and its peer pays for waking it.
// So while I/O keeps coming, a wait that could sleep first polls a few times
// without waiting (epoll_wait with a zero timeout; on io_uring an
// io_uring_enter that submits and reaps without waiting). It showed on a TLS
// echo at 1 KiB, 10 connections in a closed loop: Asio, whose handler queue
// makes it poll between handlers, slept in epoll_wait about once per 70
// requests and aiocpp once per 16, and in a duel Asio served 1.8 times
// aiocpp's requests/s; with these polls aiocpp serves 1.33 times Asio's
// (bench/README.md, "Polling before sleeping"). The number of polls adapts:
// doubled (up to 64) while they find events, halved (down to 4) when they do
// not, so that a lone ping-pong connection, whose peer answers later than the
// polls last, costs a few polls per message, not 64.

#include <algorithm>

namespace aiocpp::detail {

class PollsBeforeSleep {
 public:
  static constexpr int min_polls = 4, max_polls = 64;

  // Before a wait of `timeout` seconds: while the last wait found events and
  // this one could sleep, calls `poll_now()` (a poll that does not wait;
  // true when it found events) until one finds events or the budget is
  // spent. Returns whether one found events: the wait is then not needed.
  template <class PollNow>
  bool poll_first(double timeout, PollNow&& poll_now) {
    if (timeout == 0 || !busy_) return false;
    bool found = false;
    for (int i = 0; i < budget_ && !found; ++i) found = poll_now();
    budget_ = found ? std::min(budget_ * 2, max_polls) : std::max(budget_ / 2, min_polls);
    return found;
  }

  // After the wait (or the polls that made it unnecessary): whether this
  // iteration found events. A zero-timeout poll that found nothing says
  // nothing about the traffic.
  void found(double timeout, bool events) noexcept {
    if (events || timeout != 0) busy_ = events;
  }

 private:
  bool busy_ = false;
  int budget_ = max_polls;
};

}  // namespace aiocpp::detail
