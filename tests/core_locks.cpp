// asyncio's locks: Event, Lock, Semaphore, BoundedSemaphore, Condition,
// Barrier. FIFO wake-ups, and the wake-up that a waiter cancelled between
// being woken and running passes on (asyncio's test_locks, ported by behaviour).

#include <string>
#include <vector>

#include "aiocpp/locks.hpp"
#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Locks : public aiocpp::testing::LoopTest {
 protected:
  template <class T>
  T run(Task<T> t) {
    // Bounded: a lost wake-up fails the test instead of hanging it.
    auto bounded = [](Task<T> t) -> Task<T> { co_return co_await wait_for(std::move(t), 5.0); };
    return loop_->run_until_complete(bounded(std::move(t)));
  }
};

// Lets every ready task run until it blocks (deterministic: no clock involved).
Task<void> settle(int rounds = 5) {
  for (int i = 0; i < rounds; ++i) co_await yield_now();
}

template <class L>
Task<void> take_and_log(L& lock, std::vector<int>& log, int id) {
  co_await lock.acquire();
  log.push_back(id);
}

TEST_F(Locks, EventWakesEveryWaiterAndStaysSetUntilCleared) {
  auto body = []() -> Task<void> {
    Event ev;
    int woken = 0;
    auto waiter = [](Event& ev, int& woken) -> Task<void> {
      co_await ev.wait();
      ++woken;
    };
    Task<void> a = get_running_loop().create_task(waiter(ev, woken));
    Task<void> b = get_running_loop().create_task(waiter(ev, woken));
    co_await settle();
    EXPECT_EQ(woken, 0);
    EXPECT_FALSE(ev.is_set());
    ev.set();
    co_await a;
    co_await b;
    EXPECT_EQ(woken, 2);
    co_await ev.wait();  // set: returns at once
    ev.clear();
    EXPECT_FALSE(ev.is_set());
  };
  run(body());
}

TEST_F(Locks, EventWaiterCancelledLeavesNoWaiterBehind) {
  auto body = []() -> Task<void> {
    Event ev;
    Task<void> t = get_running_loop().create_task(ev.wait());
    co_await settle();
    t.cancel();
    co_await settle();
    EXPECT_TRUE(t.cancelled());
    ev.set();
  };
  run(body());
}

TEST_F(Locks, LockIsExclusiveAndWakesWaitersInFifoOrder) {
  auto body = []() -> Task<void> {
    Lock lock;
    std::vector<int> log;
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());
    EventLoop& loop = get_running_loop();
    Task<void> t1 = loop.create_task(take_and_log(lock, log, 1));
    Task<void> t2 = loop.create_task(take_and_log(lock, log, 2));
    Task<void> t3 = loop.create_task(take_and_log(lock, log, 3));
    co_await settle();
    EXPECT_TRUE(log.empty());
    for (int i = 0; i < 3; ++i) {
      lock.release();
      co_await settle();
    }
    co_await t1;
    co_await t2;
    co_await t3;
    EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock.locked());
  };
  run(body());
}

TEST_F(Locks, ReleasingAnUnlockedLockIsARuntimeError) {
  Lock lock;
  EXPECT_THROW(lock.release(), RuntimeError);
}

TEST_F(Locks, LockWaiterWokenThenCancelledPassesTheLockToTheNextWaiter) {
  auto body = []() -> Task<void> {
    Lock lock;
    std::vector<int> log;
    co_await lock.acquire();
    EventLoop& loop = get_running_loop();
    Task<void> t1 = loop.create_task(take_and_log(lock, log, 1));
    Task<void> t2 = loop.create_task(take_and_log(lock, log, 2));
    co_await settle();
    lock.release();  // wakes t1 ...
    t1.cancel();     // ... which is cancelled before it can run
    co_await settle();
    EXPECT_TRUE(t1.cancelled());
    co_await t2;  // t2 must not hang: the wake-up was passed on
    EXPECT_EQ(log, (std::vector<int>{2}));
    EXPECT_TRUE(lock.locked());
  };
  run(body());
}

TEST_F(Locks, LockWaiterCancelledWhileWaitingDoesNotTakeTheLock) {
  auto body = []() -> Task<void> {
    Lock lock;
    std::vector<int> log;
    co_await lock.acquire();
    Task<void> t1 = get_running_loop().create_task(take_and_log(lock, log, 1));
    co_await settle();
    t1.cancel();
    co_await settle();
    EXPECT_TRUE(t1.cancelled());
    lock.release();
    EXPECT_FALSE(lock.locked());
    auto held = co_await hold(lock);  // free for the next comer
    EXPECT_TRUE(lock.locked());
  };
  run(body());
}

TEST_F(Locks, HoldReleasesAtTheEndOfTheScope) {
  auto body = []() -> Task<void> {
    Lock lock;
    {
      auto held = co_await hold(lock);
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
  };
  run(body());
}

TEST_F(Locks, SemaphoreCountsAndWaitsAtZero) {
  auto body = []() -> Task<void> {
    Semaphore sem(2);
    std::vector<int> log;
    co_await sem.acquire();
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.value(), 0);
    EventLoop& loop = get_running_loop();
    Task<void> t1 = loop.create_task(take_and_log(sem, log, 1));
    Task<void> t2 = loop.create_task(take_and_log(sem, log, 2));
    co_await settle();
    EXPECT_TRUE(log.empty());
    sem.release();
    co_await t1;
    EXPECT_EQ(log, (std::vector<int>{1}));
    sem.release();
    co_await t2;
    EXPECT_EQ(log, (std::vector<int>{1, 2}));
  };
  run(body());
}

TEST_F(Locks, SemaphoreWaiterWokenThenCancelledPassesTheUnitOn) {
  auto body = []() -> Task<void> {
    Semaphore sem(0);
    std::vector<int> log;
    EventLoop& loop = get_running_loop();
    Task<void> t1 = loop.create_task(take_and_log(sem, log, 1));
    Task<void> t2 = loop.create_task(take_and_log(sem, log, 2));
    Task<void> t3 = loop.create_task(take_and_log(sem, log, 3));
    co_await settle();
    sem.release();  // reserved for t1 ...
    t1.cancel();    // ... cancelled before it runs
    co_await settle();
    EXPECT_TRUE(t1.cancelled());
    co_await t2;
    EXPECT_EQ(log, (std::vector<int>{2}));
    EXPECT_FALSE(t3.done());
    EXPECT_EQ(sem.value(), 0);
    sem.release();
    co_await t3;
    EXPECT_EQ(log, (std::vector<int>{2, 3}));
  };
  run(body());
}

TEST_F(Locks, SemaphoreRefusesANegativeValue) { EXPECT_THROW(Semaphore(-1), ValueError); }

TEST_F(Locks, BoundedSemaphoreReleasedTooOftenIsAValueError) {
  auto body = []() -> Task<void> {
    BoundedSemaphore sem(1);
    EXPECT_THROW(sem.release(), ValueError);
    co_await sem.acquire();
    sem.release();
    EXPECT_THROW(sem.release(), ValueError);
    EXPECT_EQ(sem.value(), 1);
  };
  run(body());
}

TEST_F(Locks, ConditionNotifyWakesWaitersInOrderWithTheLockHeld) {
  auto body = []() -> Task<void> {
    Condition cond;
    std::vector<int> log;
    auto waiter = [](Condition& cond, std::vector<int>& log, int id) -> Task<void> {
      auto held = co_await hold(cond);
      co_await cond.wait();
      EXPECT_TRUE(cond.locked());
      log.push_back(id);
    };
    EventLoop& loop = get_running_loop();
    Task<void> t1 = loop.create_task(waiter(cond, log, 1));
    Task<void> t2 = loop.create_task(waiter(cond, log, 2));
    Task<void> t3 = loop.create_task(waiter(cond, log, 3));
    co_await settle();
    EXPECT_FALSE(cond.locked()) << "wait() releases the lock";
    {
      auto held = co_await hold(cond);
      cond.notify(1);
    }
    co_await settle();
    EXPECT_EQ(log, (std::vector<int>{1}));
    {
      auto held = co_await hold(cond);
      cond.notify_all();
    }
    co_await t2;
    co_await t3;
    EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
  };
  run(body());
}

TEST_F(Locks, ConditionWaitForReturnsOnceThePredicateHolds) {
  auto body = []() -> Task<void> {
    Condition cond;
    int value = 0;
    auto waiter = [](Condition& cond, int& value) -> Task<bool> {
      auto held = co_await hold(cond);
      std::function<bool()> ready = [&value] { return value == 2; };
      co_return co_await cond.wait_for(ready);
    };
    Task<bool> t = get_running_loop().create_task(waiter(cond, value));
    for (int i = 1; i <= 2; ++i) {
      co_await settle();
      EXPECT_FALSE(t.done());
      auto held = co_await hold(cond);
      value = i;
      cond.notify();
    }
    EXPECT_TRUE(co_await t);
  };
  run(body());
}

TEST_F(Locks, ConditionRequiresTheLockToWaitOrNotify) {
  auto body = []() -> Task<void> {
    Condition cond;
    EXPECT_THROW(cond.notify(), RuntimeError);
    bool threw = false;
    try {
      co_await cond.wait();
    } catch (const RuntimeError&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
  };
  run(body());
}

TEST_F(Locks, ConditionWaiterNotifiedThenCancelledPassesTheNotificationOn) {
  auto body = []() -> Task<void> {
    Lock lock;
    Condition cond(lock);
    std::vector<int> log;
    auto waiter = [](Condition& cond, std::vector<int>& log, int id) -> Task<void> {
      auto held = co_await hold(cond);
      co_await cond.wait();
      log.push_back(id);
    };
    EventLoop& loop = get_running_loop();
    Task<void> t1 = loop.create_task(waiter(cond, log, 1));
    Task<void> t2 = loop.create_task(waiter(cond, log, 2));
    co_await settle();
    {
      auto held = co_await hold(cond);
      cond.notify(1);  // wakes t1 ...
      t1.cancel();     // ... which is cancelled before it runs
    }
    co_await t2;
    EXPECT_TRUE(t1.cancelled());
    EXPECT_EQ(log, (std::vector<int>{2}));
    EXPECT_FALSE(lock.locked()) << "the cancelled waiter gave the lock back";
  };
  run(body());
}

TEST_F(Locks, ConditionWaitCancelledComesBackWithTheLockHeld) {
  auto body = []() -> Task<void> {
    Condition cond;
    bool locked_in_handler = false;
    auto waiter = [](Condition& cond, bool& locked) -> Task<void> {
      co_await cond.acquire();
      try {
        co_await cond.wait();
      } catch (const CancelledError&) {
        locked = cond.locked();
        cond.release();
        throw;
      }
    };
    Task<void> t = get_running_loop().create_task(waiter(cond, locked_in_handler));
    co_await settle();
    t.cancel();
    co_await settle();
    EXPECT_TRUE(t.cancelled());
    EXPECT_TRUE(locked_in_handler);
  };
  run(body());
}

Task<void> barrier_party(Barrier& barrier, std::vector<std::size_t>& indices) {
  indices.push_back(co_await barrier.wait());
}

TEST_F(Locks, BarrierReleasesThePartiesTogetherWithDistinctIndices) {
  auto body = []() -> Task<void> {
    Barrier barrier(3);
    std::vector<std::size_t> indices;
    EventLoop& loop = get_running_loop();
    Task<void> a = loop.create_task(barrier_party(barrier, indices));
    Task<void> b = loop.create_task(barrier_party(barrier, indices));
    co_await settle();
    EXPECT_EQ(barrier.n_waiting(), 2u);
    EXPECT_TRUE(indices.empty());
    co_await barrier_party(barrier, indices);
    co_await a;
    co_await b;
    std::sort(indices.begin(), indices.end());
    EXPECT_EQ(indices, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(barrier.n_waiting(), 0u);
    // Reusable: a second round works as well.
    indices.clear();
    Task<void> c = loop.create_task(barrier_party(barrier, indices));
    Task<void> d = loop.create_task(barrier_party(barrier, indices));
    co_await barrier_party(barrier, indices);
    co_await c;
    co_await d;
    EXPECT_EQ(indices.size(), 3u);
  };
  run(body());
}

TEST_F(Locks, BarrierAbortBreaksWaitersAndLaterCallers) {
  auto body = []() -> Task<void> {
    Barrier barrier(3);
    std::vector<std::size_t> indices;
    Task<void> a = get_running_loop().create_task(barrier_party(barrier, indices));
    co_await settle();
    co_await barrier.abort();
    EXPECT_TRUE(barrier.broken());
    bool broke = false;
    try {
      co_await a;
    } catch (const BrokenBarrierError&) {
      broke = true;
    }
    EXPECT_TRUE(broke);
    broke = false;
    try {
      co_await barrier.wait();
    } catch (const BrokenBarrierError&) {
      broke = true;
    }
    EXPECT_TRUE(broke);
  };
  run(body());
}

TEST_F(Locks, BarrierResetBreaksCurrentWaitersAndRefills) {
  auto body = []() -> Task<void> {
    Barrier barrier(2);
    std::vector<std::size_t> indices;
    Task<void> a = get_running_loop().create_task(barrier_party(barrier, indices));
    co_await settle();
    co_await barrier.reset();
    bool broke = false;
    try {
      co_await a;
    } catch (const BrokenBarrierError&) {
      broke = true;
    }
    EXPECT_TRUE(broke);
    EXPECT_FALSE(barrier.broken());
    Task<void> b = get_running_loop().create_task(barrier_party(barrier, indices));
    co_await barrier_party(barrier, indices);
    co_await b;
    EXPECT_EQ(indices.size(), 2u);
  };
  run(body());
}

TEST_F(Locks, BarrierRefusesZeroParties) { EXPECT_THROW(Barrier(0), ValueError); }

}  // namespace
