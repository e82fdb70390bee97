#pragma once
// aiocpp::run and aiocpp::Runner: asyncio.run and asyncio.Runner.
// aiocpp::run creates a loop, runs the task to completion,
// cancels whatever tasks are left, shuts down the default executor and closes
// the loop. RuntimeError when called while a loop is running on this thread.
// On the main thread, while SIGINT has its default action, the first Ctrl-C
// cancels the main task (and run throws KeyboardInterrupt if that ends it);
// a second Ctrl-C has the default action again. A KeyboardInterrupt that
// escapes main() ends the process as CPython does: by SIGINT under its
// default action (the shell sees status 130), not by std::abort.

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

struct RunOptions {
  bool debug = false;
  LoopOptions loop{};
};

// asyncio.Runner (3.11): runs several coroutines on one loop, which it
// makes on first use and closes in close() or its destructor (asyncio's
// `with asyncio.Runner() as runner:`). Each run() handles Ctrl-C as
// aiocpp::run does.
//
//   aiocpp::Runner runner;
//   runner.run(setup());
//   int n = runner.run(work());
//   // ~Runner: the leftover tasks cancelled, the executor shut down, the loop closed
class Runner {
 public:
  struct Options {
    std::optional<bool> debug;  // the loop's debug mode, when given
    // Makes the loop; then it is not set as the thread's event loop, as in
    // asyncio. Default: new_event_loop(loop), set as the thread's loop.
    std::function<std::shared_ptr<EventLoop>()> loop_factory;
    LoopOptions loop{};  // for the default factory
  };

  Runner() : Runner(Options{}) {}
  explicit Runner(Options options) : options_(std::move(options)) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner() { close(); }

  // Runs `main` to completion on the runner's loop and returns its result.
  // RuntimeError when a loop is already running on this thread or the
  // runner is closed.
  template <class T>
  T run(Task<T> main);
  // Cancels the leftover tasks, shuts the default executor down and closes
  // the loop; a no-op unless the loop was made, and after the first call.
  void close() noexcept;
  // The runner's loop, made on first use; RuntimeError once closed.
  EventLoop& get_loop();

 private:
  enum class State { created, initialized, closed };
  EventLoop& start_run();
  Options options_;
  State state_ = State::created;
  bool set_event_loop_ = false;
  std::shared_ptr<EventLoop> loop_;
};

namespace detail {
// RuntimeError("<what> cannot be called from a running event loop").
void check_not_running(const char* what);
// Cancels every pending task of `loop` and runs the loop until they finish.
void cancel_all_tasks(EventLoop& loop);
// Everything asyncio.run does after the main task, in its order; the
// thread's event loop is unset when `unset_event_loop`.
void finish_run(EventLoop& loop, bool unset_event_loop = true) noexcept;
std::shared_ptr<EventLoop> start_run(const RunOptions& options);

// While it lives, SIGINT cancels `main` (see above) and is counted; run()
// asks it whether the main task's cancellation came from Ctrl-C.
class SigintCancels {
 public:
  SigintCancels(EventLoop& loop, TaskBase& main);
  ~SigintCancels();
  SigintCancels(const SigintCancels&) = delete;
  SigintCancels& operator=(const SigintCancels&) = delete;
  // asyncio's rule: KeyboardInterrupt when Ctrl-C came and no other
  // cancellation of the main task is pending (its uncancel() gives 0).
  bool keyboard_interrupt(TaskBase& main) const;

 private:
  EventLoop& loop_;
  bool installed_ = false;
  std::shared_ptr<int> interrupts_;
};
}  // namespace detail

template <class T>
T Runner::run(Task<T> main) {
  EventLoop& loop = start_run();
  Task<T> task = loop.create_task(std::move(main));
  detail::TaskBase& state = *detail::Access::task(task);
  detail::SigintCancels sigint(loop, state);
  try {
    if constexpr (std::is_void_v<T>) {
      loop.run_until_complete(task);
    } else {
      return loop.run_until_complete(task);
    }
  } catch (const CancelledError&) {
    if (sigint.keyboard_interrupt(state)) throw KeyboardInterrupt();
    throw;
  }
}

// asyncio.run: a Runner for one coroutine.
template <class T>
T run(Task<T> main, RunOptions options = {}) {
  detail::check_not_running("aiocpp::run()");
  Runner runner(Runner::Options{.debug = options.debug, .loop_factory = {}, .loop = options.loop});
  return runner.run(std::move(main));
}

}  // namespace aiocpp
