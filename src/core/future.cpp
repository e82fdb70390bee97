// Future state transitions and done callbacks (asyncio.Future).

#include "aiocpp/future.hpp"

#include <cstdio>
#include <string_view>

#include "aiocpp/event_loop.hpp"
#include "core/free_list.hpp"

namespace aiocpp::detail {

namespace {
thread_local FreeList<1024> free_waiters;
}  // namespace

void* allocate_waiter_state(std::size_t size) {
  if (void* block = free_waiters.pop()) return block;
  return ::operator new(size);
}

void free_waiter_state(void* block) noexcept {
  if (!free_waiters.push(block)) ::operator delete(block);
}

FutureBase::~FutureBase() { report_unretrieved("Future"); }

void FutureBase::report_unretrieved(const char* what) noexcept {
  if (!log_traceback_ || !exception_ || !loop_) return;
  log_traceback_ = false;
  ExceptionContext context;
  context.message = std::string(what) + " exception was never retrieved";
  context.exception = exception_;
  loop_->call_exception_handler(context);
}

bool FutureBase::cancel(std::string message) {
  log_traceback_ = false;  // asyncio clears it first: a failed future cancelled is not reported
  if (state_ != State::pending) return false;
  cancel_message_ = std::move(message);
  finish(true);
  return true;
}

void FutureBase::throw_if_done(const char* what) const {
  if (is_task_) throw RuntimeError(std::string("Task does not support ") + what + " operation");
  if (state_ == State::pending) return;
  std::string state = state_ == State::cancelled ? "CANCELLED" : "FINISHED";
  throw InvalidStateError(std::string(what) + "(): " + kind() + " is already " + state);
}

void FutureBase::set_exception(std::exception_ptr error) {
  throw_if_done("set_exception");
  if (!error) throw ValueError("set_exception() needs an exception");
  exception_ = std::move(error);
  log_traceback_ = true;
  finish(false);
}

void FutureBase::finish_with_result() { finish(false); }

std::exception_ptr FutureBase::exception() {
  if (state_ == State::cancelled) throw CancelledError(cancel_message_);
  if (state_ == State::pending) throw InvalidStateError("Exception is not set.");
  log_traceback_ = false;
  return exception_;
}

void FutureBase::check_result() {
  if (state_ == State::finished) {
    log_traceback_ = false;
    if (exception_) std::rethrow_exception(exception_);
    return;
  }
  if (state_ == State::cancelled) throw CancelledError(cancel_message_);
  throw InvalidStateError("Result is not ready.");
}

void FutureBase::finish(bool cancelled_state) {
  state_ = cancelled_state ? State::cancelled : State::finished;
  schedule_callbacks();
}

std::uint64_t FutureBase::add_done_callback(Callback callback) {
  std::uint64_t id = next_callback_id_++;
  if (state_ != State::pending) {
    loop_->call_soon(std::move(callback));
    return id;
  }
  if (!first_callback_.fn && more_callbacks_.empty()) {  // keeps callbacks in order
    first_callback_ = Entry{id, std::move(callback)};
  } else {
    more_callbacks_.push_back(Entry{id, std::move(callback)});
  }
  return id;
}

std::size_t FutureBase::remove_done_callback(std::uint64_t id) {
  std::size_t removed = 0;
  if (first_callback_.fn && first_callback_.id == id) {
    first_callback_.fn.reset();
    ++removed;
  }
  for (auto it = more_callbacks_.begin(); it != more_callbacks_.end();) {
    if (it->id == id) {
      it = more_callbacks_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

void FutureBase::schedule_callbacks() {
  if (first_callback_.fn) {
    Callback fn = std::move(first_callback_.fn);
    if (loop_) loop_->call_soon(std::move(fn));
  }
  if (!more_callbacks_.empty()) {
    std::vector<Entry> callbacks = std::move(more_callbacks_);
    more_callbacks_.clear();
    if (loop_) {
      for (auto& entry : callbacks) loop_->call_soon(std::move(entry.fn));
    }
  }
}

void FutureBase::clear_callbacks() noexcept {
  first_callback_.fn.reset();
  more_callbacks_.clear();
}

}  // namespace aiocpp::detail

namespace aiocpp {

bool AnyFuture::is_task() const { return base_ && std::string_view(base_->kind()) == "Task"; }

std::string AnyFuture::repr() const {
  if (!base_) return "<no future>";
  char buf[64];
  std::snprintf(buf, sizeof buf, "<%s %p>", base_->kind(), static_cast<void*>(base_.get()));
  return buf;
}

}  // namespace aiocpp
