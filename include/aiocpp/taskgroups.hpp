#pragma once
// asyncio.TaskGroup (3.11) in C++.
//
// Python's `async with TaskGroup() as tg: <body>` has two exits, the body
// returning and the body raising, and __aexit__ must see which. C++ cannot
// co_await inside a catch block, so the natural shape is a function that
// runs the body and then does __aexit__'s work:
//
//   auto body = [&](aiocpp::TaskGroup& tg) -> aiocpp::Task<> {
//     tg.create_task(fetch(a));
//     tg.create_task(fetch(b));
//     co_return;
//   };
//   co_await aiocpp::TaskGroup::run(body);  // every task done, or ExceptionGroup
//
// The body is named before the co_await: a capturing lambda written inside
// a co_await expression is destroyed twice by GCC 12 (README). run() keeps
// its own copy of the body alive until the body's coroutine has finished.
//
// The object form is there too, for a body that is plain code:
//
//   aiocpp::TaskGroup tg;      // entered here (inside a task)
//   tg.create_task(fetch(a));
//   co_await tg.wait();        // __aexit__ without an exception
//
// Semantics (3.11): the first task that fails cancels the other tasks and
// the body (through a cancel() of the parent task, undone by uncancel()
// when the group exits); every failure, the body's included, comes out in
// one ExceptionGroup; a cancellation of the parent from outside is
// propagated once the tasks are done; KeyboardInterrupt is raised alone.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aiocpp/errors.hpp"
#include "aiocpp/event_loop.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/tasks.hpp"

namespace aiocpp {

namespace detail {

// Shared by the group and its tasks' done callbacks, so a callback that
// runs after the group object is gone stays safe.
struct TaskGroupState {
  EventLoop* loop = nullptr;
  Task<void> parent;
  // The tasks not done yet: an id and how to cancel it.
  std::vector<std::pair<std::uint64_t, std::function<void()>>> tasks;
  std::uint64_t next_id = 1;
  std::vector<std::exception_ptr> errors;
  std::exception_ptr base_error;  // KeyboardInterrupt: raised alone
  std::optional<Future<void>> on_completed;
  bool exiting = false;
  bool aborting = false;
  bool parent_cancel_requested = false;

  void on_task_done(std::uint64_t id, bool cancelled, std::exception_ptr error);
  void abort();
};

}  // namespace detail

class TaskGroup {
 public:
  // Enters the group: the running task becomes its parent. RuntimeError
  // outside a task.
  TaskGroup();
  // A group left without wait() (its body threw past it) cancels the tasks
  // still running; nobody is left to wait for them.
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Schedules `task` in the group. RuntimeError once the group is shutting
  // down (a task failed) or finished.
  template <class T>
  Task<T> create_task(Task<T> task, std::string name = {});

  // __aexit__: waits for every task. `body_error` is the exception the body
  // raised, if any. Throws ExceptionGroup, KeyboardInterrupt or
  // CancelledError as 3.11 does; RuntimeError when called twice.
  Task<void> wait(std::exception_ptr body_error = nullptr);

  // `async with TaskGroup() as tg: await body(tg)`.
  template <class Body>
  requires std::invocable<Body&, TaskGroup&>
  static Task<void> run(Body body) {
    TaskGroup tg;
    std::exception_ptr error;
    try {
      co_await body(tg);
    } catch (...) {
      error = std::current_exception();
    }
    co_await tg.wait(error);
  }

 private:
  std::shared_ptr<detail::TaskGroupState> state_;
};

template <class T>
Task<T> TaskGroup::create_task(Task<T> task, std::string name) {
  detail::TaskGroupState& s = *state_;
  if (s.exiting && s.tasks.empty()) throw RuntimeError("TaskGroup is finished");
  if (s.aborting) throw RuntimeError("TaskGroup is shutting down");
  Task<T> t = s.loop->create_task(std::move(task), std::move(name));
  std::uint64_t id = s.next_id++;
  s.tasks.emplace_back(id, [t]() mutable { (void)t.cancel(); });
  t.add_done_callback([state = state_, id](Future<T>& done) {
    bool cancelled = done.cancelled();
    state->on_task_done(id, cancelled, cancelled ? nullptr : done.exception());
  });
  return t;
}

}  // namespace aiocpp
