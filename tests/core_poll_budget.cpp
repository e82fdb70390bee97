// The adaptive count of zero-timeout polls before a wait that may sleep
// (core/poll_budget.hpp): what it costs an idle loop, and how it returns
// when polling pays again.

#include <gtest/gtest.h>

#include "core/poll_budget.hpp"

namespace {

using aiocpp::detail::PollBudget;

// Polls made over `waits` waits that follow I/O, none of them finding events.
int polls_when_nothing_comes(PollBudget& budget, int waits) {
  int total = 0;
  for (int i = 0; i < waits; ++i) {
    int polls = budget.polls();
    total += polls;
    if (polls > 0) budget.polled(false);
  }
  return total;
}

TEST(PollBudget, StartsFullAndDoublesUpToItsCeilingWhilePollsFindEvents) {
  PollBudget budget;
  EXPECT_EQ(budget.polls(), PollBudget::max_polls);
  budget.polled(false);
  budget.polled(false);
  EXPECT_EQ(budget.polls(), PollBudget::max_polls / 4);
  for (int i = 0; i < 10; ++i) budget.polled(true);
  EXPECT_EQ(budget.polls(), PollBudget::max_polls);
}

// A steady load below saturation: every message arrives after the loop went
// idle. The polls must die out instead of costing a fixed toll per wake-up
// (a floor of 4 cost the Python echo 4 wasted system calls per message).
TEST(PollBudget, FallsToNoneWhenPollsFindNothingAndThenProbesOncePerSixteenWaits) {
  PollBudget budget;
  polls_when_nothing_comes(budget, 7);  // 64 32 16 8 4 2 1
  EXPECT_EQ(budget.budget(), 0);
  EXPECT_EQ(polls_when_nothing_comes(budget, 1600), 1600 / PollBudget::probe_every);
  EXPECT_EQ(budget.budget(), 0);
}

TEST(PollBudget, AProbeThatFindsEventsStartsPollingAgain) {
  PollBudget budget;
  polls_when_nothing_comes(budget, 7);
  int polls = 0;
  while ((polls = budget.polls()) == 0) {
  }
  EXPECT_EQ(polls, 1);
  budget.polled(true);
  EXPECT_EQ(budget.polls(), 2);
  budget.polled(true);
  EXPECT_EQ(budget.polls(), 4);
}

}  // namespace
