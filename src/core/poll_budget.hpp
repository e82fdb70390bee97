#pragma once
// How many zero-timeout polls a loop makes before a wait that may sleep.
//
// A loop that sleeps whenever its ready connections are served loses to one
// that keeps going while I/O keeps coming: on a loaded machine the sleeper
// wakes up behind whatever took its CPU meanwhile, and its peer pays for
// waking it (bench/README.md, "Polling before sleeping": a TLS echo at 1 KiB,
// 10 connections, closed loop, went from 0.55 to 1.33 times Asio's
// requests/s). But a poll that finds nothing is a wasted system call: under
// a steady offered load below saturation every message arrives after the
// loop has gone idle, and a floor of 4 polls made aiocpp's Python echo at
// 15,000 requests/s enter epoll_wait 5.3 times per wake-up where uvloop did
// once.
//
// So the budget adapts: doubled (up to 64) each time the polls find events,
// halved each time they do not, down to none. At none, every 16th wait that
// follows I/O tries one poll, so that traffic which would reward polling is
// noticed again (a poll that finds events restarts the budget at 2).
// Backend-neutral: the epoll and io_uring loops both ask it.

#include <algorithm>

namespace aiocpp::detail {

class PollBudget {
 public:
  static constexpr int max_polls = 64;
  static constexpr unsigned probe_every = 16;

  // How many polls to try before the coming wait may sleep (0: none).
  int polls() noexcept {
    if (budget_ > 0) return budget_;
    return ++waits_without_polls_ % probe_every == 0 ? 1 : 0;
  }

  // After trying polls() > 0 polls: whether one of them found events.
  void polled(bool found) noexcept {
    budget_ = found ? std::min(std::max(budget_, 1) * 2, max_polls) : budget_ / 2;
  }

  int budget() const noexcept { return budget_; }

 private:
  int budget_ = max_polls;
  unsigned waits_without_polls_ = 0;
};

}  // namespace aiocpp::detail
