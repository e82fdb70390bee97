// Threads: call_soon_threadsafe wake-ups, and the per-thread loop registry
// (get_running_loop, get_event_loop, set_event_loop, new_event_loop).

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class LoopThreads : public aiocpp::testing::LoopTest {};

TEST_F(LoopThreads, CallSoonThreadsafeWakesALoopSleepingOnALongTimer) {
  loop_->call_later(30, [] { ADD_FAILURE() << "the 30 s timer fired"; });
  std::jthread thread;
  loop_->call_soon([&] {
    thread = std::jthread([this] {
      // Not waiting for an event: only gives the loop time to enter its 30 s wait.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      loop_->call_soon_threadsafe([this] { loop_->stop(); });
    });
  });
  double start = now();
  run_until_stopped(60);
  double elapsed = now() - start;
  EXPECT_LT(elapsed, 10.0) << "call_soon_threadsafe did not wake the loop";
}

TEST_F(LoopThreads, RepeatedWakeUpsPingPongWithAnotherThread) {
  // Each round: the thread posts a callback, then waits for the loop to answer.
  // Between rounds the loop goes back to sleep on a 30 s timer.
  constexpr int rounds = 50;
  loop_->call_later(30, [] { ADD_FAILURE() << "the 30 s timer fired"; });
  std::vector<std::promise<void>> acks(rounds);
  int handled = 0;
  std::atomic<bool> timed_out{false};
  std::jthread thread([&] {
    for (int i = 0; i < rounds; ++i) {
      loop_->call_soon_threadsafe([&, i] {
        ++handled;
        acks[i].set_value();
      });
      if (acks[i].get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        timed_out = true;
        break;
      }
    }
    loop_->call_soon_threadsafe([this] { loop_->stop(); });
  });
  double start = now();
  run_until_stopped(60);
  thread.join();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(handled, rounds);
  EXPECT_LT(now() - start, 20.0);
}

TEST_F(LoopThreads, ManyThreadsManyCallsEachRunExactlyOnceInPerThreadOrder) {
  constexpr int threads = 8;
  constexpr int calls = 2000;
  std::vector<int> counts(threads * calls, 0);  // touched on the loop thread only
  std::vector<int> last_seen(threads, -1);
  int total = 0;
  bool in_order = true;
  std::latch start(threads);
  std::vector<std::jthread> workers;
  loop_->call_soon([&] {
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < calls; ++i) {
          loop_->call_soon_threadsafe(
              [&](int t, int i) {
                ++counts[t * calls + i];
                if (i <= last_seen[t]) in_order = false;
                last_seen[t] = i;
                if (++total == threads * calls) loop_->stop();
              },
              t, i);
        }
      });
    }
  });
  run_until_stopped();
  for (auto& w : workers) w.join();
  EXPECT_EQ(total, threads * calls);
  EXPECT_TRUE(in_order) << "calls from one thread ran out of order";
  for (int i = 0; i < threads * calls; ++i) {
    ASSERT_EQ(counts[i], 1) << "call " << i % calls << " of thread " << i / calls;
  }
}

TEST_F(LoopThreads, LoopsOfTwoThreadsTalkThroughCallSoonThreadsafe) {
  auto other = new_event_loop();
  std::promise<void> other_started;
  std::jthread other_thread([&] {
    other->call_soon([&] { other_started.set_value(); });
    other->run_forever();
  });
  ASSERT_EQ(other_started.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  std::thread::id answered_on;
  loop_->call_soon([&] {
    other->call_soon_threadsafe([&] {
      EXPECT_EQ(&get_running_loop(), other.get());
      auto id = std::this_thread::get_id();
      loop_->call_soon_threadsafe([&, id] {
        answered_on = id;
        loop_->stop();
      });
    });
  });
  run_until_stopped();
  std::thread::id other_id = other_thread.get_id();
  other->call_soon_threadsafe([&] { other->stop(); });
  other_thread.join();
  other->close();
  EXPECT_EQ(answered_on, other_id);
}

TEST_F(LoopThreads, GetRunningLoopThrowsOutsideARunningLoop) {
  EXPECT_THROW(get_running_loop(), RuntimeError);
  EventLoop* inside = nullptr;
  bool other_thread_threw = false;
  loop_->call_soon([&] {
    inside = &get_running_loop();
    // The loop running on this thread is not running on another one.
    std::thread([&] {
      try {
        get_running_loop();
      } catch (const RuntimeError&) {
        other_thread_threw = true;
      }
    }).join();
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_EQ(inside, loop_.get());
  EXPECT_TRUE(other_thread_threw);
  EXPECT_THROW(get_running_loop(), RuntimeError);
}

TEST_F(LoopThreads, SetEventLoopIsPerThread) {
  set_event_loop(loop_);
  EXPECT_EQ(&get_event_loop(), loop_.get());
  auto other = new_event_loop();
  EventLoop* seen_in_thread = nullptr;
  std::thread([&] {
    set_event_loop(other);
    seen_in_thread = &get_event_loop();
    set_event_loop(nullptr);
  }).join();
  EXPECT_EQ(seen_in_thread, other.get());
  EXPECT_EQ(&get_event_loop(), loop_.get());
  set_event_loop(nullptr);
  other->close();
}

TEST_F(LoopThreads, GetEventLoopPrefersTheRunningLoop) {
  auto other = new_event_loop();
  set_event_loop(other);
  EventLoop* seen = nullptr;
  loop_->call_soon([&] {
    seen = &get_event_loop();
    loop_->stop();
  });
  run_until_stopped();
  EXPECT_EQ(seen, loop_.get());
  EXPECT_EQ(&get_event_loop(), other.get());
  set_event_loop(nullptr);
  other->close();
}

TEST_F(LoopThreads, GetEventLoopInAThreadWithoutOneGivesTheSameNewLoopEachTime) {
  EventLoop* first = nullptr;
  EventLoop* second = nullptr;
  bool fresh = false;
  std::thread([&] {
    first = &get_event_loop();
    second = &get_event_loop();
    fresh = !first->is_running() && !first->is_closed();
    set_event_loop(nullptr);
  }).join();
  EXPECT_NE(first, nullptr);
  EXPECT_EQ(first, second);
  EXPECT_NE(first, loop_.get());
  EXPECT_TRUE(fresh);
}

TEST_F(LoopThreads, NewEventLoopGivesDistinctFreshLoops) {
  auto a = new_event_loop();
  auto b = new_event_loop();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a.get(), b.get());
  EXPECT_NE(a.get(), loop_.get());
  for (auto* l : {a.get(), b.get()}) {
    EXPECT_FALSE(l->is_running());
    EXPECT_FALSE(l->is_closed());
    EXPECT_FALSE(l->get_debug());
  }
  // new_event_loop does not make the loop current.
  EXPECT_THROW(get_running_loop(), RuntimeError);
  a->close();
  b->close();
}

}  // namespace
