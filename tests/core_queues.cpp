// asyncio's queues: Queue, LifoQueue, PriorityQueue; maxsize, the _nowait
// forms, task_done / join, and wake-ups passed on by cancelled waiters
// (asyncio's test_queues, ported by behaviour).

#include <string>
#include <utility>
#include <vector>

#include "aiocpp/queues.hpp"
#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Queues : public aiocpp::testing::LoopTest {
 protected:
  template <class T>
  T run(Task<T> t) {
    // Bounded: a lost wake-up fails the test instead of hanging it.
    auto bounded = [](Task<T> t) -> Task<T> { co_return co_await wait_for(std::move(t), 5.0); };
    return loop_->run_until_complete(bounded(std::move(t)));
  }
};

Task<void> settle(int rounds = 5) {
  for (int i = 0; i < rounds; ++i) co_await yield_now();
}

TEST_F(Queues, QueueIsFirstInFirstOut) {
  Queue<int> q;
  for (int i : {3, 1, 2}) q.put_nowait(i);
  EXPECT_EQ(q.qsize(), 3u);
  EXPECT_EQ(q.get_nowait(), 3);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_TRUE(q.empty());
}

TEST_F(Queues, LifoQueueIsLastInFirstOut) {
  LifoQueue<int> q;
  for (int i : {3, 1, 2}) q.put_nowait(i);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.get_nowait(), 3);
}

TEST_F(Queues, PriorityQueueGivesTheSmallestFirstLikeHeapq) {
  PriorityQueue<std::pair<int, std::string>> q;
  q.put_nowait({2, "b"});
  q.put_nowait({0, "z"});
  q.put_nowait({1, "a"});
  q.put_nowait({1, "0"});
  EXPECT_EQ(q.get_nowait().second, "z");
  EXPECT_EQ(q.get_nowait().second, "0");
  EXPECT_EQ(q.get_nowait().second, "a");
  EXPECT_EQ(q.get_nowait().second, "b");
}

TEST_F(Queues, NowaitFormsRaiseQueueFullAndQueueEmpty) {
  Queue<int> q(1);
  EXPECT_EQ(q.maxsize(), 1);
  EXPECT_THROW(q.get_nowait(), QueueEmpty);
  q.put_nowait(1);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(2), QueueFull);
  Queue<int> unbounded(0);
  for (int i = 0; i < 1000; ++i) unbounded.put_nowait(i);
  EXPECT_FALSE(unbounded.full());
}

TEST_F(Queues, GetWaitsForAnItemAndPutWaitsForRoom) {
  auto body = []() -> Task<void> {
    Queue<int> q(1);
    EventLoop& loop = get_running_loop();
    Task<int> getter = loop.create_task(q.get());
    co_await settle();
    EXPECT_FALSE(getter.done());
    co_await q.put(7);
    EXPECT_EQ(co_await getter, 7);

    co_await q.put(1);
    Task<void> putter = loop.create_task(q.put(2));
    co_await settle();
    EXPECT_FALSE(putter.done()) << "full: put waits";
    EXPECT_EQ(co_await q.get(), 1);
    co_await putter;
    EXPECT_EQ(co_await q.get(), 2);
  };
  run(body());
}

TEST_F(Queues, GettersAreServedInFifoOrder) {
  auto body = []() -> Task<void> {
    Queue<int> q;
    std::vector<std::pair<int, int>> log;  // (getter, item)
    auto getter = [](Queue<int>& q, std::vector<std::pair<int, int>>& log, int id) -> Task<void> {
      log.emplace_back(id, co_await q.get());
    };
    EventLoop& loop = get_running_loop();
    Task<void> g1 = loop.create_task(getter(q, log, 1));
    Task<void> g2 = loop.create_task(getter(q, log, 2));
    co_await settle();
    q.put_nowait(10);
    q.put_nowait(20);
    co_await g1;
    co_await g2;
    EXPECT_EQ(log, (std::vector<std::pair<int, int>>{{1, 10}, {2, 20}}));
  };
  run(body());
}

TEST_F(Queues, GetterWokenThenCancelledPassesTheItemToTheNextGetter) {
  auto body = []() -> Task<void> {
    Queue<int> q;
    EventLoop& loop = get_running_loop();
    Task<int> g1 = loop.create_task(q.get());
    Task<int> g2 = loop.create_task(q.get());
    co_await settle();
    q.put_nowait(42);  // wakes g1 ...
    g1.cancel();       // ... cancelled before it runs
    EXPECT_EQ(co_await g2, 42);
    EXPECT_TRUE(g1.cancelled());
    EXPECT_TRUE(q.empty());
  };
  run(body());
}

// asyncio's getter loops (`while self.empty(): await getter`): woken, but
// the item was taken by get_nowait() before it ran, it waits again at the
// end of the line, behind the getters that came after it.
TEST_F(Queues, GetterWokenButRobbedWaitsAgainBehindLaterGetters) {
  auto body = []() -> Task<void> {
    Queue<int> q;
    EventLoop& loop = get_running_loop();
    Task<int> g1 = loop.create_task(q.get());
    co_await settle();
    Task<int> g2 = loop.create_task(q.get());
    co_await settle();
    q.put_nowait(1);               // wakes g1 ...
    EXPECT_EQ(q.get_nowait(), 1);  // ... whose item is gone before it runs
    co_await settle();
    EXPECT_FALSE(g1.done()) << "a robbed getter waits again";
    q.put_nowait(2);
    q.put_nowait(3);
    EXPECT_EQ(co_await g2, 2) << "g2 is now first in line";
    EXPECT_EQ(co_await g1, 3);
  };
  run(body());
}

// The same for a putter whose room was taken by put_nowait().
TEST_F(Queues, PutterWokenButRobbedWaitsAgainBehindLaterPutters) {
  auto body = []() -> Task<void> {
    Queue<int> q(1);
    q.put_nowait(0);
    EventLoop& loop = get_running_loop();
    Task<void> p1 = loop.create_task(q.put(1));
    co_await settle();
    Task<void> p2 = loop.create_task(q.put(2));
    co_await settle();
    EXPECT_EQ(q.get_nowait(), 0);  // room: wakes p1 ...
    q.put_nowait(9);               // ... whose room is gone before it runs
    co_await settle();
    EXPECT_FALSE(p1.done()) << "a robbed putter waits again";
    std::vector<int> got;
    for (int i = 0; i < 3; ++i) {
      got.push_back(co_await q.get());
      co_await settle();
    }
    co_await p1;
    co_await p2;
    EXPECT_EQ(got, (std::vector<int>{9, 2, 1}));
  };
  run(body());
}

TEST_F(Queues, PutterWokenThenCancelledPassesTheRoomToTheNextPutter) {
  auto body = []() -> Task<void> {
    Queue<int> q(1);
    q.put_nowait(0);
    EventLoop& loop = get_running_loop();
    Task<void> p1 = loop.create_task(q.put(1));
    Task<void> p2 = loop.create_task(q.put(2));
    co_await settle();
    EXPECT_EQ(q.get_nowait(), 0);  // wakes p1 ...
    p1.cancel();                   // ... cancelled before it runs
    co_await p2;
    EXPECT_TRUE(p1.cancelled());
    EXPECT_EQ(q.get_nowait(), 2);
  };
  run(body());
}

TEST_F(Queues, JoinWaitsUntilEveryItemIsMarkedDone) {
  auto body = []() -> Task<void> {
    Queue<int> q;
    co_await q.join();  // nothing put: returns at once
    q.put_nowait(1);
    q.put_nowait(2);
    Task<void> joiner = get_running_loop().create_task(q.join());
    co_await settle();
    (void)q.get_nowait();
    q.task_done();
    co_await settle();
    EXPECT_FALSE(joiner.done());
    (void)q.get_nowait();
    q.task_done();
    co_await joiner;
    EXPECT_THROW(q.task_done(), ValueError);
  };
  run(body());
}

TEST_F(Queues, ProducersAndConsumersMoveEveryItemOnce) {
  auto body = []() -> Task<void> {
    Queue<int> q(3);
    long sum = 0;
    auto producer = [](Queue<int>& q, int from) -> Task<void> {
      for (int i = from; i < from + 100; ++i) co_await q.put(i);
    };
    auto consumer = [](Queue<int>& q, long& sum) -> Task<void> {
      for (;;) {
        sum += co_await q.get();
        q.task_done();
      }
    };
    EventLoop& loop = get_running_loop();
    Task<void> c1 = loop.create_task(consumer(q, sum));
    Task<void> c2 = loop.create_task(consumer(q, sum));
    co_await gather(producer(q, 0), producer(q, 100));
    co_await q.join();
    c1.cancel();
    c2.cancel();
    co_await settle();
    EXPECT_EQ(sum, 199L * 200 / 2);
  };
  run(body());
}

}  // namespace
