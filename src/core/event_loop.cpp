// EventLoop's public methods: running, stopping, scheduling, tasks, debug.

#include "aiocpp/event_loop.hpp"

#include "core/loop_impl.hpp"
#include "core/signal_handlers.hpp"

namespace aiocpp {

namespace detail {
LoopImpl& impl_of(EventLoop& loop) noexcept { return Access::impl(loop); }
// The loop running on this thread (set by run_forever).
thread_local EventLoop* running_loop = nullptr;
}  // namespace detail

EventLoop::EventLoop(LoopOptions options)
    : impl_(std::make_unique<detail::LoopImpl>(*this, options)) {}

EventLoop::~EventLoop() {
  if (impl_->closed || is_running()) return;
  try {
    close();
  } catch (const RuntimeError&) {
    // Bound to another thread (LoopOptions::io_uring_single_thread) with
    // operations in flight: a destructor closes anyway, leaking what the
    // kernel may still write into rather than freeing it.
    impl_->backend->abandon_thread();
    close();
  }
}

void EventLoop::run_forever() {
  auto& s = *impl_;
  s.check_open();
  if (is_running()) throw RuntimeError("This event loop is already running");
  if (detail::running_loop) {
    throw RuntimeError("Cannot run the event loop while another loop is running");
  }
  s.backend->check_run_here();
  s.thread_id = std::this_thread::get_id();
  detail::running_loop = this;
  struct Reset {
    detail::LoopImpl& s;
    ~Reset() {
      s.stopping = false;
      s.thread_id = {};
      detail::running_loop = nullptr;
    }
  } reset{s};
  while (true) {
    s.run_once();
    if (s.stopping) break;
  }
}

void EventLoop::run_until_done(detail::FutureBase& future) {
  impl_->check_open();
  if (is_running()) throw RuntimeError("This event loop is already running");
  if (&future.loop() != this) {
    throw ValueError("The future belongs to a different loop than the one to run it");
  }
  // Stops the loop when the future completes (asyncio's _run_until_complete_cb).
  std::uint64_t id = future.add_done_callback([this] { stop(); });
  try {
    run_forever();
  } catch (...) {
    future.remove_done_callback(id);
    throw;
  }
  future.remove_done_callback(id);
  if (!future.done()) throw RuntimeError("Event loop stopped before Future completed.");
}

void EventLoop::stop() { impl_->stopping = true; }

bool EventLoop::is_running() const { return impl_->thread_id != std::thread::id{}; }

bool EventLoop::is_closed() const { return impl_->closed; }
Backend EventLoop::backend() const noexcept { return impl_->backend_kind; }

void EventLoop::close() {
  auto& s = *impl_;
  if (is_running()) throw RuntimeError("Cannot close a running event loop");
  if (s.closed) return;
  s.backend->check_close_here();
  s.closed = true;
  // From here on no other thread can queue a callback or wake the backend.
  s.threadsafe->close();
  // Pending tasks can never finish now: free their coroutines, which breaks
  // the task -> awaited future -> callback -> task cycles.
  for (auto& task : s.pending_tasks()) task->abandon();
  s.drop_pending_callbacks();
  s.shutdown_default_executor();
  s.release_resources();  // transports still open
  if (s.signals) s.signals->remove_all();
  s.backend->close();
}

double EventLoop::time() const { return impl_->time(); }

detail::HandleState* EventLoop::new_handle() {
  impl_->check_open();
  if (impl_->debug) impl_->check_thread();
  detail::HandleState* state = detail::HandleState::make();
  state->loop = this;
  return state;
}

Handle EventLoop::schedule_soon(detail::HandleState* state) {
  state->refs = 2;  // one for the ready queue, one for the Handle
  impl_->push_ready(state);
  return detail::Access::handle(detail::Ref<detail::HandleState>::adopt(state));
}

Handle EventLoop::schedule_soon_threadsafe(detail::HandleState* state) {
  state->loop = this;
  state->shared = true;  // the caller's thread and the loop's both hold it
  state->refs = 2;
  if (!impl_->threadsafe->push(state)) {
    state->refs = 1;
    detail::Ref<detail::HandleState> discard = detail::Ref<detail::HandleState>::adopt(state);
    throw RuntimeError("Event loop is closed");
  }
  return detail::Access::handle(detail::Ref<detail::HandleState>::adopt(state));
}

std::shared_ptr<detail::LoopReply> EventLoop::reserve_reply(detail::HandleState* state) {
  state->refs = 1;  // the thread-safe queue's, until it is sent and run
  impl_->threadsafe->reserve(state);
  return std::make_shared<detail::LoopReply>(impl_->threadsafe, state);
}

TimerHandle EventLoop::schedule_at(detail::HandleState* state, double when) {
  state->is_timer = true;
  state->when = when;
  state->refs = 2;
  impl_->push_timer(state);
  return TimerHandle(detail::Ref<detail::HandleState>::adopt(state));
}

void EventLoop::schedule_task(detail::TaskBase& task, std::string name) {
  impl_->check_open();
  if (!name.empty()) task.set_name(std::move(name));
  if (impl_->task_factory) {
    Task<void> view = detail::Access::erased_task(&task);
    impl_->task_factory(*this, view);
    if (task.scheduled()) return;
  }
  task.schedule(*this);
}

void EventLoop::set_task_factory(TaskFactory factory) { impl_->task_factory = std::move(factory); }

const TaskFactory& EventLoop::get_task_factory() const { return impl_->task_factory; }

std::vector<Task<void>> EventLoop::all_tasks() const {
  std::vector<Task<void>> out;
  for (auto& t : impl_->pending_tasks()) out.push_back(detail::Access::erased_task(t.get()));
  return out;
}

void EventLoop::set_debug(bool enabled) { impl_->debug = enabled; }
bool EventLoop::get_debug() const { return impl_->debug; }
double EventLoop::slow_callback_duration() const { return impl_->slow_callback_duration; }
void EventLoop::set_slow_callback_duration(double seconds) {
  impl_->slow_callback_duration = seconds;
}

// --- The current thread's loop ---------------------------------------------------

namespace {
thread_local std::shared_ptr<EventLoop> thread_loop;
thread_local bool set_event_loop_called = false;
}  // namespace

std::shared_ptr<EventLoop> new_event_loop(LoopOptions options) {
  return std::make_shared<EventLoop>(options);
}

EventLoop& get_running_loop() {
  if (!detail::running_loop) throw RuntimeError("no running event loop");
  return *detail::running_loop;
}

EventLoop& get_event_loop() {
  if (detail::running_loop) return *detail::running_loop;
  if (!thread_loop) {
    // As asyncio 3.11's policy: a loop is made only while set_event_loop
    // was never called on this thread; after set_event_loop(nullptr) (which
    // aiocpp::run does at its end) there is no current loop.
    if (set_event_loop_called) throw RuntimeError("There is no current event loop in thread");
    thread_loop = new_event_loop();
  }
  return *thread_loop;
}

void set_event_loop(std::shared_ptr<EventLoop> loop) {
  thread_loop = std::move(loop);
  set_event_loop_called = true;
}

}  // namespace aiocpp
