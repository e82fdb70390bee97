#pragma once
// The one door from the library's own code into the internals of the public
// types (a future's shared state, a task's, a handle's, a loop's LoopImpl).
// The public classes keep these members private and befriend Access alone,
// so that no user-facing method hands out an internal pointer; the library
// (src/, the inline templates of the public headers, the Python binding)
// goes through here. Applications have no reason to name it.
//
// Each function is defined beside the class it opens, in that class's header.

namespace aiocpp {

class EventLoop;
class Handle;
class AnyFuture;
template <class T>
class Future;
template <class T>
class Task;

namespace detail {

class FutureBase;
class TaskBase;
class LoopImpl;
struct HandleState;
class LoopReply;
template <class T>
class Ref;

struct Access {
  // future.hpp
  template <class T>
  static FutureBase* state(const Future<T>& future) noexcept;
  // A Future<T> sharing `state`, a future or task whose result is a T.
  template <class T, class S>
  static Future<T> future_of(S* state);
  static FutureBase* state(const AnyFuture& future) noexcept;
  static AnyFuture any_future(FutureBase* state);

  // task.hpp
  template <class T>
  static TaskBase* task(const Task<T>& task) noexcept;
  // A result-less view of any task (task factories, all_tasks(), current_task()).
  static Task<void> erased_task(TaskBase* task);

  // handle.hpp
  static HandleState* state(const Handle& handle) noexcept;
  static Handle handle(Ref<HandleState> state);

  // event_loop.hpp
  static LoopImpl& impl(EventLoop& loop) noexcept;
  // A reply that runs `callback` on `loop`'s thread once sent from any
  // thread (see loop_reply.hpp). Loop thread only.
  template <class F>
  static auto reply_on_loop(EventLoop& loop, F&& callback);
};

}  // namespace detail
}  // namespace aiocpp
