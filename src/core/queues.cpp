// The item-type-independent part of asyncio's queues: the unfinished-task
// count behind join(). (Waiting for room or an item: BasicQueue's Put and
// Get, over detail::QueuedWait.)

#include "aiocpp/queues.hpp"

namespace aiocpp::detail {

void QueueBase::item_added() {
  ++unfinished_tasks_;
  finished_.clear();
}

void QueueBase::task_done() {
  if (unfinished_tasks_ == 0) throw ValueError("task_done() called too many times");
  if (--unfinished_tasks_ == 0) finished_.set();
}

Task<void> QueueBase::join() {
  if (unfinished_tasks_ > 0) co_await finished_.wait();
}

}  // namespace aiocpp::detail
