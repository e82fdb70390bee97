#pragma once
// The portable part of the event loop: ready queue, timers, the thread-safe
// queue, the task registry, exception handling and debug mode. Mirrors
// asyncio's BaseEventLoop; the I/O backend plugs in through IoBackend.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "aiocpp/detail/intrusive_list.hpp"
#include "aiocpp/event_loop.hpp"
#include "aiocpp/executor.hpp"
#include "core/backend.hpp"
#include "core/threadsafe_queue.hpp"

namespace aiocpp::detail {

class SignalHandlers;

// Something that holds itself alive for callbacks that can no longer run once
// the loop is closed (every transport). EventLoop::close()
// calls release_on_loop_close() on each one still tracked, newest first.
class LoopResource : public ListNode<LoopResource> {
 public:
  virtual void release_on_loop_close() noexcept = 0;

 protected:
  ~LoopResource() = default;
};

class LoopImpl {
 public:
  LoopImpl(EventLoop& loop, LoopOptions options);
  ~LoopImpl();

  EventLoop& loop;
  std::unique_ptr<IoBackend> backend;
  aiocpp::Backend backend_kind = aiocpp::Backend::selector;  // which one `backend` is
  // Created by the first add_signal_handler; destroyed before the backend.
  std::unique_ptr<SignalHandlers> signals;

  // --- scheduling -----------------------------------------------------------
  void push_ready(HandleState* handle) noexcept { ready_next_.push_back(handle); }
  void push_timer(HandleState* handle);
  void timer_cancelled() noexcept { ++cancelled_timers_; }
  [[gnu::hot]] void run_once();
  void check_open() const;
  void check_thread() const;  // debug mode: calls from another thread are errors

  double time() const noexcept;

  // Other threads' way in (call_soon_threadsafe, executor replies).
  std::shared_ptr<ThreadsafeQueue> threadsafe;

  // --- state -------------------------------------------------------------------
  // Atomic because other threads may ask is_closed(); what they may do with a
  // closed loop is decided under the thread-safe queue's lock, not by this.
  std::atomic<bool> closed{false};
  bool stopping = false;
  std::thread::id thread_id{};  // of run_forever, while running
  // Called at the start of every iteration, before the wait's timeout is
  // decided (the Python binding sends the writes its callbacks gathered).
  void (*before_poll)(void* arg) = nullptr;
  void* before_poll_arg = nullptr;
  bool debug = false;
  double slow_callback_duration = 0.1;
  ExceptionHandler exception_handler;
  TaskFactory task_factory;

  // --- tasks ---------------------------------------------------------------------
  void register_task(TaskBase* task) noexcept;
  void unregister_task(TaskBase* task) noexcept;
  std::vector<Ref<TaskBase>> pending_tasks() const;

  // The default executor (created on first use) and its shutdown.
  Executor& default_executor();
  void shutdown_default_executor() noexcept;
  std::shared_ptr<Executor> default_executor_;
  bool executor_shutdown_called = false;

  void drop_pending_callbacks() noexcept;

  // --- pipes and subprocesses ---------------------------------------------------------
  void track(LoopResource* resource) noexcept;
  void untrack(LoopResource* resource) noexcept;
  void release_resources() noexcept;
  // --- end pipes and subprocesses -----------------------------------------------------

 private:
  void move_due_timers(double now);
  void compact_timers();
  void run_handle(HandleState* handle);

  std::vector<HandleState*> ready_now_;   // the batch being run (owned references)
  std::vector<HandleState*> ready_next_;  // scheduled during it: run next iteration
  std::vector<HandleState*> timers_;      // binary heap by (when, order)
  std::size_t cancelled_timers_ = 0;
  std::uint64_t timer_order_ = 0;

  IntrusiveList<TaskBase> tasks_;          // pending tasks (asyncio.all_tasks)
  IntrusiveList<LoopResource> resources_;  // live transports
};

LoopImpl& impl_of(EventLoop& loop) noexcept;

}  // namespace aiocpp::detail
