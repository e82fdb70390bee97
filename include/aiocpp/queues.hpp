#pragma once
// asyncio's queues (asyncio.queues): Queue (FIFO), PriorityQueue (smallest
// first, as heapq) and LifoQueue, with maxsize, task_done and join. Not
// thread-safe, as in asyncio: use them from the tasks of one loop.
//
// put() waits while the queue is full and get() while it is empty; the
// _nowait forms throw QueueFull / QueueEmpty instead. A getter or putter
// that was woken but cancelled before it ran passes the wake-up on.

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "aiocpp/detail/waiter_queue.hpp"
#include "aiocpp/errors.hpp"
#include "aiocpp/locks.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

// asyncio.QueueEmpty: get_nowait() on an empty queue.
class QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("QueueEmpty: the queue is empty") {}
};
// asyncio.QueueFull: put_nowait() on a full queue.
class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("QueueFull: the queue is full") {}
};

namespace detail {

// What does not depend on the item type: the waiters, the count of
// unfinished tasks and the event join() waits on.
class QueueBase {
 public:
  // maxsize <= 0: unbounded.
  explicit QueueBase(long maxsize) : maxsize_(maxsize) { finished_.set(); }
  long maxsize() const noexcept { return maxsize_; }
  // Marks one item taken by get() as processed; ValueError if called more
  // often than items were put.
  void task_done();
  // Waits until every item put has been marked done.
  Task<void> join();

 protected:
  void item_added();
  WaiterQueue getters_;
  WaiterQueue putters_;

 private:
  long maxsize_;
  std::size_t unfinished_tasks_ = 0;
  Event finished_;
};

template <class T>
struct FifoStore {
  std::deque<T> items;
  void push(T item) { items.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items.front());
    items.pop_front();
    return item;
  }
  std::size_t size() const noexcept { return items.size(); }
};

template <class T>
struct LifoStore {
  std::vector<T> items;
  void push(T item) { items.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items.back());
    items.pop_back();
    return item;
  }
  std::size_t size() const noexcept { return items.size(); }
};

// A binary heap giving the smallest item first under `Less`, like heapq.
template <class T, class Less>
struct HeapStore {
  std::vector<T> items;
  // std::*_heap build a max-heap under their comparator: invert it.
  static bool greater(const T& a, const T& b) { return Less{}(b, a); }
  void push(T item) {
    items.push_back(std::move(item));
    std::push_heap(items.begin(), items.end(), greater);
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(), greater);
    T item = std::move(items.back());
    items.pop_back();
    return item;
  }
  std::size_t size() const noexcept { return items.size(); }
};

}  // namespace detail

template <class T, class Store>
class BasicQueue : public detail::QueueBase {
 public:
  // Any integer, as asyncio 3.11 accepts: maxsize <= 0 is unbounded, never
  // a ValueError (asyncio has no check to imitate).
  explicit BasicQueue(long maxsize = 0) : QueueBase(maxsize) {}

  std::size_t qsize() const noexcept { return store_.size(); }
  bool empty() const noexcept { return store_.size() == 0; }
  bool full() const noexcept {
    return maxsize() > 0 && store_.size() >= static_cast<std::size_t>(maxsize());
  }

  void put_nowait(T item) {
    if (full()) throw QueueFull();
    store_.push(std::move(item));
    item_added();
    getters_.pop_and_wake();
  }
  T get_nowait() {
    if (empty()) throw QueueEmpty();
    T item = store_.pop();
    putters_.pop_and_wake();
    return item;
  }

  class Put;
  class Get;
  // Waits for room, then puts (an awaitable without a coroutine frame,
  // converting to a Task<void>).
  Put put(T item) { return Put(*this, std::move(item)); }
  // Waits for an item, then takes it (converts to a Task<T>).
  Get get() { return Get(*this); }

 private:
  static bool is_full(void* queue) { return static_cast<BasicQueue*>(queue)->full(); }
  static bool is_empty(void* queue) { return static_cast<BasicQueue*>(queue)->empty(); }

  Store store_;
};

template <class T, class Store>
class BasicQueue<T, Store>::Put : public detail::ConvertibleToTask<Put, void> {
 public:
  Put(BasicQueue& queue, T item) : queue_(&queue), item_(std::move(item)) {}
  bool await_ready() {
    if (queue_->full()) return false;
    queue_->put_nowait(std::move(item_));
    return true;
  }
  void await_suspend(std::coroutine_handle<> waiter) {
    wait_.suspend(queue_->putters_, waiter, &BasicQueue::is_full, queue_);
  }
  void await_resume() {
    if (!wait_.waited()) return;  // put in await_ready
    try {
      wait_.finish();
    } catch (const CancelledError&) {
      // Woken for room, but cancelled before it ran: the room goes to the
      // next putter in line.
      if (!queue_->full() && wait_.woken()) queue_->putters_.pop_and_wake();
      throw;
    }
    queue_->put_nowait(std::move(item_));
  }

 private:
  BasicQueue* queue_;
  T item_;
  detail::QueuedWait wait_;
};

template <class T, class Store>
class BasicQueue<T, Store>::Get : public detail::ConvertibleToTask<Get, T> {
 public:
  explicit Get(BasicQueue& queue) noexcept : queue_(&queue) {}
  bool await_ready() const noexcept { return !queue_->empty(); }
  void await_suspend(std::coroutine_handle<> waiter) {
    wait_.suspend(queue_->getters_, waiter, &BasicQueue::is_empty, queue_);
  }
  T await_resume() {
    if (wait_.waited()) {
      try {
        wait_.finish();
      } catch (const CancelledError&) {
        // Woken for an item, but cancelled before it ran: the item goes to
        // the next getter in line.
        if (!queue_->empty() && wait_.woken()) queue_->getters_.pop_and_wake();
        throw;
      }
    }
    return queue_->get_nowait();
  }

 private:
  BasicQueue* queue_;
  detail::QueuedWait wait_;
};

// asyncio.Queue: first in, first out.
template <class T>
using Queue = BasicQueue<T, detail::FifoStore<T>>;
// asyncio.LifoQueue: last in, first out.
template <class T>
using LifoQueue = BasicQueue<T, detail::LifoStore<T>>;
// asyncio.PriorityQueue: the smallest item first (a (priority, data) pair
// orders as Python's tuples do).
template <class T, class Less = std::less<T>>
using PriorityQueue = BasicQueue<T, detail::HeapStore<T, Less>>;

}  // namespace aiocpp
