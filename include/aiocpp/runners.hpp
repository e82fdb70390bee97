#pragma once
// aiocpp::run: asyncio.run. Creates a loop, runs the task to completion,
// cancels whatever tasks are left, shuts down the default executor and closes
// the loop. RuntimeError when called while a loop is running on this thread.
// On the main thread, while SIGINT has its default action, the first Ctrl-C
// cancels the main task (and run throws KeyboardInterrupt if that ends it);
// a second Ctrl-C has the default action again. A KeyboardInterrupt that
// escapes main() ends the process as CPython does: by SIGINT under its
// default action (the shell sees status 130), not by std::abort.

#include <type_traits>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

struct RunOptions {
  bool debug = false;
  LoopOptions loop{};
};

namespace detail {
// Cancels every pending task of `loop` and runs the loop until they finish.
void cancel_all_tasks(EventLoop& loop);
// Everything asyncio.run does after the main task, in its order.
void finish_run(EventLoop& loop) noexcept;
std::shared_ptr<EventLoop> start_run(const RunOptions& options);
// Makes SIGINT cancel `main` (see above); the flag says whether it did.
std::shared_ptr<bool> cancel_on_sigint(EventLoop& loop, TaskBase& main);
}  // namespace detail

template <class T>
T run(Task<T> main, RunOptions options = {}) {
  std::shared_ptr<EventLoop> loop = detail::start_run(options);
  struct Finish {
    EventLoop& loop;
    ~Finish() { detail::finish_run(loop); }
  } finish{*loop};
  Task<T> task = loop->create_task(std::move(main));
  std::shared_ptr<bool> interrupted = detail::cancel_on_sigint(*loop, *detail::Access::task(task));
  try {
    if constexpr (std::is_void_v<T>) {
      loop->run_until_complete(std::move(task));
    } else {
      return loop->run_until_complete(std::move(task));
    }
  } catch (const CancelledError&) {
    if (*interrupted) throw KeyboardInterrupt();
    throw;
  }
}

}  // namespace aiocpp
