// asyncio.TaskGroup (3.11): abort on the first failure, gather the errors,
// and undo the group's own cancellation of its parent when it exits.

#include "aiocpp/taskgroups.hpp"

namespace aiocpp {

namespace {

bool is_cancellation(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

// Python's "base" errors (SystemExit, KeyboardInterrupt) are not grouped.
bool is_base_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const KeyboardInterrupt&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

namespace detail {

void TaskGroupState::abort() {
  aborting = true;
  // cancel() may run callbacks later, never now: iterating is safe.
  for (auto& [id, cancel] : tasks) cancel();
}

void TaskGroupState::on_task_done(std::uint64_t id, bool cancelled, std::exception_ptr error) {
  for (auto it = tasks.begin(); it != tasks.end(); ++it) {
    if (it->first == id) {
      tasks.erase(it);
      break;
    }
  }
  if (on_completed && tasks.empty() && !on_completed->done()) on_completed->set_result();
  if (cancelled || !error) return;
  errors.push_back(error);
  if (is_base_error(error) && !base_error) base_error = error;
  if (parent.done()) {
    ExceptionContext context;
    context.message = "Task has errored out but its parent task is already completed";
    context.exception = error;
    loop->call_exception_handler(context);
    return;
  }
  if (!aborting && !parent_cancel_requested) {
    // The first failure: stop the siblings, and the body through its task.
    abort();
    parent_cancel_requested = true;
    parent.cancel();
  }
}

}  // namespace detail

TaskGroup::TaskGroup() : state_(std::make_shared<detail::TaskGroupState>()) {
  state_->parent = current_task();
  if (!state_->parent.valid()) throw RuntimeError("TaskGroup must be used inside a task");
  state_->loop = &get_running_loop();
}

TaskGroup::~TaskGroup() {
  if (!state_->exiting && !state_->tasks.empty()) state_->abort();
}

Task<void> TaskGroup::wait(std::exception_ptr body_error) {
  std::shared_ptr<detail::TaskGroupState> s = state_;
  if (s->exiting) throw RuntimeError("TaskGroup has already been exited");
  s->exiting = true;

  bool body_cancelled = body_error && is_cancellation(body_error);
  std::exception_ptr propagate_cancellation = body_cancelled ? body_error : nullptr;
  if (body_error && is_base_error(body_error) && !s->base_error) s->base_error = body_error;
  if (body_error && !s->aborting) s->abort();

  while (!s->tasks.empty()) {
    Future<void> completed = s->loop->create_future<void>();
    s->on_completed = completed;
    try {
      co_await completed;
    } catch (const CancelledError&) {
      // Cancelled from outside while waiting: cancel the tasks, keep
      // waiting for them, and re-raise the cancellation afterwards.
      if (!s->aborting) {
        propagate_cancellation = std::current_exception();
        s->abort();
      }
    }
    s->on_completed.reset();
  }

  // Our own cancel() of the parent is not the caller's business: undo it
  // (after the wait, so that a failure during the wait is counted too).
  if (s->parent_cancel_requested && s->parent.uncancel() == 0) propagate_cancellation = nullptr;

  if (s->base_error) std::rethrow_exception(s->base_error);
  if (propagate_cancellation && s->errors.empty()) std::rethrow_exception(propagate_cancellation);
  if (body_error && !body_cancelled) s->errors.push_back(body_error);
  if (!s->errors.empty()) {
    std::vector<std::exception_ptr> errors = std::move(s->errors);
    s->errors.clear();
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors));
  }
}

}  // namespace aiocpp
