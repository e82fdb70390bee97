// The scheduling core of the loop: asyncio's BaseEventLoop._run_once.

#include "core/loop_impl.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "core/backend_choice.hpp"
#include "core/signal_handlers.hpp"
#include "posix/sigpipe.hpp"

namespace aiocpp::detail {

namespace {

// Timer heap order: earliest deadline first; ties in scheduling order.
bool later(const HandleState* a, const HandleState* b) noexcept {
  if (a->when != b->when) return a->when > b->when;
  return a->order > b->order;
}

// asyncio compacts the heap when over this many timers and over half of them
// are cancelled.
constexpr std::size_t min_timers_to_compact = 100;

}  // namespace

LoopImpl::LoopImpl(EventLoop& owner, LoopOptions options) : loop(owner) {
  ignore_sigpipe_once();
  ChosenBackend chosen = make_backend(*this, options);
  backend = std::move(chosen.io);
  backend_kind = chosen.kind;
  threadsafe = std::make_shared<ThreadsafeQueue>(*backend);
}

LoopImpl::~LoopImpl() {
  threadsafe->close();
  drop_pending_callbacks();
}

double LoopImpl::time() const noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void LoopImpl::check_open() const {
  if (closed) throw RuntimeError("Event loop is closed");
}

void LoopImpl::check_thread() const {
  if (thread_id != std::thread::id{} && thread_id != std::this_thread::get_id()) {
    throw RuntimeError(
        "Non-thread-safe operation invoked on an event loop other than the current one");
  }
}

void LoopImpl::push_timer(HandleState* handle) {
  handle->order = ++timer_order_;
  handle->in_heap = true;
  timers_.push_back(handle);
  std::push_heap(timers_.begin(), timers_.end(), later);
}

void LoopImpl::compact_timers() {
  std::size_t kept = 0;
  for (HandleState* h : timers_) {
    if (h->cancelled) {
      h->in_heap = false;
      h->release();
    } else {
      timers_[kept++] = h;
    }
  }
  timers_.resize(kept);
  std::make_heap(timers_.begin(), timers_.end(), later);
  cancelled_timers_ = 0;
}

void LoopImpl::move_due_timers(double now) {
  while (!timers_.empty()) {
    HandleState* h = timers_.front();
    if (!h->cancelled && h->when > now) break;
    std::pop_heap(timers_.begin(), timers_.end(), later);
    timers_.pop_back();
    h->in_heap = false;
    if (h->cancelled) {
      if (cancelled_timers_ > 0) --cancelled_timers_;
      h->release();
      continue;
    }
    ready_next_.push_back(h);  // the queue's reference moves with it
  }
}

void LoopImpl::run_handle(HandleState* h) {
  if (!debug) {
    h->run();
    return;
  }
  double start = time();
  h->run();
  double took = time() - start;
  if (took >= slow_callback_duration) {
    char line[160];
    std::snprintf(line, sizeof line, "Executing %s took %.3f seconds",
                  Access::handle(Ref<HandleState>(h)).repr().c_str(), took);
    log_error(line);
  }
}

void LoopImpl::run_once() {
  if (before_poll) before_poll(before_poll_arg);
  if (timers_.size() > min_timers_to_compact && cancelled_timers_ * 2 > timers_.size()) {
    compact_timers();
  }
  if (threadsafe->pending()) threadsafe->take(ready_next_);

  double timeout = -1;
  if (!ready_next_.empty() || stopping) {
    timeout = 0;
  } else {
    while (!timers_.empty() && timers_.front()->cancelled) {
      std::pop_heap(timers_.begin(), timers_.end(), later);
      HandleState* h = timers_.back();
      timers_.pop_back();
      h->in_heap = false;
      if (cancelled_timers_ > 0) --cancelled_timers_;
      h->release();
    }
    if (!timers_.empty()) timeout = std::max(0.0, timers_.front()->when - time());
  }

  backend->poll(timeout);

  if (threadsafe->pending()) threadsafe->take(ready_next_);
  if (!timers_.empty()) move_due_timers(time());

  // Only what is ready now runs now; what these callbacks schedule waits for
  // the next iteration.
  ready_now_.swap(ready_next_);
  for (std::size_t i = 0; i < ready_now_.size(); ++i) {
    HandleState* h = ready_now_[i];
    if (!h->cancelled) run_handle(h);
    h->release();
  }
  ready_now_.clear();
}

void LoopImpl::register_task(TaskBase* task) noexcept { tasks_.push_front(task); }

void LoopImpl::unregister_task(TaskBase* task) noexcept { tasks_.remove(task); }

std::vector<Ref<TaskBase>> LoopImpl::pending_tasks() const {
  std::vector<Ref<TaskBase>> out;
  for (TaskBase* t = tasks_.front(); t; t = IntrusiveList<TaskBase>::next(t)) out.emplace_back(t);
  return out;
}

Executor& LoopImpl::default_executor() {
  if (executor_shutdown_called) throw RuntimeError("Executor shutdown has been called");
  if (!default_executor_) default_executor_ = std::make_shared<ThreadPoolExecutor>();
  return *default_executor_;
}

void LoopImpl::shutdown_default_executor() noexcept {
  executor_shutdown_called = true;
  if (default_executor_) default_executor_->shutdown(true);
}

void LoopImpl::drop_pending_callbacks() noexcept {
  // Releasing a handle may destroy a task, which may cancel timers: take the
  // containers first so nothing is modified while it is walked.
  for (int round = 0; round < 8; ++round) {
    std::vector<HandleState*> doomed;
    doomed.swap(ready_next_);
    doomed.insert(doomed.end(), ready_now_.begin(), ready_now_.end());
    ready_now_.clear();
    for (HandleState* h : timers_) h->in_heap = false;
    doomed.insert(doomed.end(), timers_.begin(), timers_.end());
    timers_.clear();
    cancelled_timers_ = 0;
    threadsafe->take_all(doomed);
    if (doomed.empty()) return;
    for (HandleState* h : doomed) h->release();
  }
}

}  // namespace aiocpp::detail
